#!/bin/bash
# The last step of `make bench`: gathers what the parts wrote under $VR_BUILD/bench/ into one file,
# results.json (every part's JSON under its name, plus a summary of the headline figures and every ratio
# against its target), prints that summary, and draws bench.png with gnuplot: packet rate per path beside
# its baselines, per-packet cost against the route table's size, and TCP throughput per underlay.
#
# Parts (each optional: a part that did not run is reported as missing):
#   pps.json (bench_pps.sh), gw.json (bench_gw.sh), cost.json (test_datapath --cost), fabric-xdp/tcp.json and
#   fabric-tc/tcp.json (bench_tcp.sh), control.json (bench_control.sh), scale.json (bench_scale).
# Run after the parts: bash selftests/bench_report.sh (make bench does). Needs jq and gnuplot.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=${VR_BENCH_OUT:-$VR_BUILD/bench}
out=$dir/results.json
png=$dir/bench.png
vr_require_cmds jq gnuplot

part() { if [ -s "$dir/$1" ] && jq -e . "$dir/$1" >/dev/null 2>&1; then cat "$dir/$1"; else echo null; fi; }

jq -n \
	--argjson pps "$(part pps.json)" \
	--argjson gw "$(part gw.json)" \
	--argjson cost "$(part cost.json)" \
	--argjson tcp_xdp "$(part fabric-xdp/tcp.json)" \
	--argjson tcp_tc "$(part fabric-tc/tcp.json)" \
	--argjson control "$(part control.json)" \
	--argjson scale "$(part scale.json)" \
	--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg kernel "$(uname -r)" --argjson cpus "$(nproc)" '
def cell($c): ($pps.results // [] | map(select(.cell == $c)) | .[0]);
def mpps($c): (cell($c) | if . then .mpps else null end);
def ratio($a; $b): (if $a != null and $b != null and $b > 0 then ($a / $b * 100 | round / 100) else null end);
def tcp($t; $mode; $variant): ($t.results // [] | map(select(.mode == $mode and .variant == $variant)) | .[0].median_gbps);
{
  date: $date, kernel: $kernel, cpus: $cpus,
  summary: {
    pps_mpps: (if $pps then ($pps.results | map({key: .cell, value: .mpps}) | from_entries) else null end),
    pps_ratios: ($pps.ratios // null),
    gateway_mpps: (if $gw then ($gw.results | map({key: .cell, value: .mpps}) | from_entries) else null end),
    gateway_ratios: ($gw.ratios // null),
    cost_ns: (if $cost then {paths: ($cost.rows | map({key: .path, value: .ns}) | from_entries), tables: $cost.tables} else null end),
    tcp_gbps: {
      fabric_xdp: {defaults: {ours: tcp($tcp_xdp; "defaults"; "vrouter"), vxlan: tcp($tcp_xdp; "defaults"; "vxlan"), plain: tcp($tcp_xdp; "defaults"; "plain")},
                   wire: {ours: tcp($tcp_xdp; "wire"; "vrouter"), vxlan: tcp($tcp_xdp; "wire"; "vxlan"), plain: tcp($tcp_xdp; "wire"; "plain")}},
      fabric_tc: {defaults: {ours: tcp($tcp_tc; "defaults"; "vrouter"), vxlan: tcp($tcp_tc; "defaults"; "vxlan"), plain: tcp($tcp_tc; "defaults"; "plain")},
                  wire: {ours: tcp($tcp_tc; "wire"; "vrouter"), vxlan: tcp($tcp_tc; "wire"; "vxlan"), plain: tcp($tcp_tc; "wire"; "plain")}}
    },
    control: $control,
    scale: $scale
  },
  parts: {pps: $pps, gateway: $gw, cost: $cost, tcp_fabric_xdp: $tcp_xdp, tcp_fabric_tc: $tcp_tc, control: $control, scale: $scale}
}' >"$out" || { echo "bench_report: could not write $out"; exit 1; }

echo "=== summary ($out)"
for p in pps.json gw.json cost.json fabric-xdp/tcp.json fabric-tc/tcp.json control.json scale.json; do
	[ -s "$dir/$p" ] || echo "  missing part: $p (that part did not run or failed)"
done
jq -r '.summary.pps_ratios // {} | to_entries[] | select((.value.ratio_per_cpu // .value.ratio) != null) |
	"  pps \(.key): \(.value.ratio_per_cpu // .value.ratio)x per core (target \(if .value.target then ">= \(.value.target)" else "-" end))"' "$out"
jq -r '.summary.gateway_ratios // {} | to_entries | sort_by(.key)[] | select(.value.ratio != null) |
	"  gateway \(.key | sub("/"; " flows / ")): \(.value.ratio)x (\(.value.ratio_per_cpu)x per core)"' "$out"
jq -r '.summary.cost_ns // empty | .tables[] |
	"  lookup+encap, \(.table) routes: \(.cached_ns) ns cached, \(.front_ns) ns hash, \(.trie_ns) ns trie only"' "$out"
jq -r '.summary.tcp_gbps | to_entries[] | .key as $f | .value | to_entries[] |
	"  tcp \($f) \(.key): ours \(.value.ours // "-" | tostring | .[0:5]) vxlan \(.value.vxlan // "-" | tostring | .[0:5]) plain \(.value.plain // "-" | tostring | .[0:5]) Gbit/s"' "$out"

# ---- the chart: three panels
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
jq -r '.parts.pps.results // [] | map(select(.cell | test("^(encap|decap|local)(-[abc1]|-big)?$")))[] | "\(.cell) \(.mpps)"' "$out" |
	awk '{ split($1, p, "-"); v = (p[2] == "" || p[2] == "1" || p[2] == "big") ? "ours" : p[2];
	       name = p[1]; if (p[2] == "big") name = "encap-1M";
	       val[name, v] = $2; if (!(name in seen)) { seen[name] = 1; order[++n] = name } }
	     END { for (i = 1; i <= n; i++) { k = order[i];
	       printf "%s %s %s %s %s\n", k, ((k, "ours") in val) ? val[k, "ours"] : "-", ((k, "a") in val) ? val[k, "a"] : "-",
	              ((k, "b") in val) ? val[k, "b"] : "-", ((k, "c") in val) ? val[k, "c"] : "-" } }' >"$tmp/pps.dat"
jq -r '.parts.cost.tables // [] | .[] | "\(.table) \(.cached_ns) \(.front_ns) \(.trie_ns)"' "$out" >"$tmp/cost.dat"
jq -r '.summary.tcp_gbps | to_entries[] | .key as $f | .value | to_entries[] |
	"\($f | sub("fabric_"; ""))/\(.key) \(.value.ours // "-") \(.value.vxlan // "-") \(.value.plain // "-")"' "$out" >"$tmp/tcp.dat"

gnuplot <<EOF 2>"$tmp/gnuplot.err" || { echo "bench_report: gnuplot failed:"; cat "$tmp/gnuplot.err"; exit 1; }
set terminal pngcairo size 1500,500 font ",10" noenhanced
set output "$png"
set datafile missing "-"
set multiplot layout 1,3 title "bpf-vrouter, make bench on $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%d)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key below
set grid ytics
set title "64-byte frames, one core (Mpps)"
set yrange [0:*]
plot "$tmp/pps.dat" using 2:xtic(1) title "bpf-vrouter", "" using 3 title "(a) bare XDP redirect", \
     "" using 4 title "(b) kernel VXLAN", "" using 5 title "(c) kernel forwarding"
set title "lookup + encap per packet vs routes in the VRF (ns, BPF_PROG_TEST_RUN)"
set style data linespoints
set logscale x
set xlabel "routes (/32)"
set yrange [0:*]
plot "$tmp/cost.dat" using 1:2 title "route cache hit" lw 2, "" using 1:3 title "exact-match hash" lw 2, \
     "" using 1:4 title "LPM trie only" lw 2
unset logscale x
unset xlabel
set style data histograms
set title "TCP VM -> remote VM (Gbit/s), fabric mode / underlay"
plot "$tmp/tcp.dat" using 2:xtic(1) title "bpf-vrouter", "" using 3 title "kernel VXLAN", "" using 4 title "kernel routing"
unset multiplot
EOF
echo "  chart: $png"
