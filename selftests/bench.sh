#!/usr/bin/env bash
# The benchmark driver behind `make bench`: runs each benchmark part in turn (the packet-rate comparison,
# bench_pps.sh; the gateway's packet rate against the kernel's MASQUERADE, bench_gw.sh; the TCP throughput
# comparison, bench_tcp.sh, once per fabric mode; the control plane, bench_control.sh) and exits non-zero when any part failed. Each part prints its own table and writes its
# JSON results under $VR_BUILD/bench/.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
export VR_BUILD=${VR_BUILD:-${BUILD:-$top/build}}

if [ "$(id -u)" -ne 0 ]; then
	echo "the benchmarks need root (network namespaces, XDP, bpffs)"
	exit 4
fi

rc=0
out=$VR_BUILD/bench
mkdir -p "$out"
# Results of an earlier run must not pass for this one's: every part writes its file afresh.
rm -f "$out"/pps.json "$out"/gw.json "$out"/cost.json "$out"/control.json "$out"/scale.json "$out"/results.json "$out"/bench.png \
	"$out"/fabric-xdp/tcp.json "$out"/fabric-tc/tcp.json
start=$(date +%s)
# Packet rate first (its figures suffer most from a busy machine): 64-byte frames on one core through
# bpf-vrouter (encap with 1 and 1M routes, decap, local) beside a bare XDP redirect, kernel VXLAN and kernel
# forwarding; results in $VR_BUILD/bench/pps.json.
echo "=== bench_pps.sh"
VR_BENCH_OUT="$out" bash "$here/bench_pps.sh" || rc=1
# The gateway (decap + source NAT + out by the host's routes) against the kernel's conntrack + MASQUERADE
# (plain and behind a VXLAN decap), 1,024 and 131,072 established flows, one core; about 60 s; gw.json.
echo "=== bench_gw.sh"
VR_BENCH_OUT="$out" bash "$here/bench_gw.sh" || rc=1
# Per-packet cost of every program and path (BPF_PROG_TEST_RUN, against an XDP_PASS program), and lookup +
# encap with 10, 10k and 1M routes: route cache, exact-match hash, LPM trie alone.
echo "=== test_datapath --cost"
VR_COST_JSON="$out/cost.json" "$VR_BUILD/test_datapath" --cost 100000 || rc=1
# TCP throughput once per fabric mode: XDP decapsulation before GRO (the default), and TC decapsulation
# (for underlays that deliver unsegmented GSO packets). Each run measures the kernel baselines beside it.
for fabric in xdp tc; do
	echo "=== bench_tcp.sh, fabric mode $fabric"
	# 3 runs of 3 s after 1 s of warm-up per cell keep make bench under 10 minutes (bench_tcp.sh alone: 5 s).
	VR_BENCH_TIME=${VR_TCP_TIME:-3} VR_FABRIC_MODE=$fabric VR_BENCH_OUT="$out/fabric-$fabric" \
		bash "$here/bench_tcp.sh" || rc=1
done
# Control plane: convergence of a port add across hosts, 1,000,000 routes from the controller into an agent
# (rate, agent and kernel memory per route), and libvrouter alone (route import of 1,000,000 routes).
echo "=== bench_control.sh"
bash "$here/bench_control.sh" || rc=1
# Scale last: its 65,536 devices are torn down by the kernel in the background after it ends, which would
# slow any part that came after it.
echo "=== bench_scale (4096 VRFs, 65,536 vifs, 1M routes, every label)"
"$VR_BUILD/bench_scale" -o "$out/scale.json" || rc=1
echo "=== report"
bash "$here/bench_report.sh" || rc=1
echo "make bench: $(($(date +%s) - start)) s, results in $out/results.json, chart in $out/bench.png"
exit "$rc"
