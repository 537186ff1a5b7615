#!/bin/bash
# Control-plane benchmark (`make bench`, issue 4 item 5): two hosts (h1, h2) around lib.sh's underlay router,
# one vrouter-controller on the router's loopback, one vrouter-agent per host, started from generated YAML as
# in e2e_control.sh. Measured in one run:
#  1. convergence: from `vrouterctl port add` on h1 returning to the port's /32 being in h2's VRF map, for
#     100 ports added one after the other (median, p99, max); also from the moment port add was started;
#  2. install: a fake agent (bench_publisher publish, built from the agent's XMPP codec) publishes 1,000,000
#     /32 routes to the controller, which reflects them to h2's agent; measured from the first publish
#     written to the last route present in h2's VRF map, and the resulting routes/s. Around it: h2's agent
#     memory (VmRSS, VmHWM of /proc/PID/status) before and after, per route; the kernel memory per route,
#     from the maps' own accounting (bpftool's bytes_memlock of vr_host4 and vr_nexthops: the kernel's
#     map_mem_usage, which for the host-route hash, allocated per element, grows with its entries) and from
#     /proc/meminfo (Slab and MemAvailable deltas: machine-wide, so other processes' activity is in them);
#     the controller's memory; and the CPU time each process (publisher, controller, agent) spent;
#  3. libvrouter alone: `vrouterctl route import` of 1,000,000 /32 tunnel routes with distinct labels (so
#     1,000,000 nexthops) into a fresh datapath of its own, timed against the target of 2 s.
# The maps are read by bench_publisher watch/count straight from the pins (no CLI in the loop); each prints
# its mean polling period, the resolution of the figures. Prints a table and writes $VR_BUILD/bench/control.json
# (VR_BENCH_OUT overrides the folder).
#
# Knobs: VR_BENCH_PORTS (100), VR_BENCH_ROUTES (1000000), VR_BENCH_IMPORT_ROUTES (1000000; 0 skips part 3),
# VR_BENCH_INSTALL_TIMEOUT (120 s: a run that has not installed every route by then reports how many it had).

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENT=${AGENT:-$VR_BUILD/vrouter-agent}
CONTROLLER=${CONTROLLER:-$VR_BUILD/vrouter-controller}
PUBLISHER=${PUBLISHER:-$VR_BUILD/bench_publisher}
OUT=${VR_BENCH_OUT:-$VR_BUILD/bench}
NPORTS=${VR_BENCH_PORTS:-100}
NROUTES=${VR_BENCH_ROUTES:-1000000}
NIMPORT=${VR_BENCH_IMPORT_ROUTES:-1000000}
INSTALL_TIMEOUT=${VR_BENCH_INSTALL_TIMEOUT:-120}
IMPORT_TARGET_S=2

vr_require_root
vr_require_cmds ip nsenter jq ss bpftool
vr_require_build "$VRCTL" "$AGENT" "$CONTROLLER" "$PUBLISHER"
vr_require_bpffs
vr_tmp_init bench-control
vr_trap_cleanup

echo "# control-plane benchmark, run $VR_ID, temporary files in $VR_TMP"
t_start=$SECONDS
load0=$(vr_loadavg)
ticks0=$(vr_cpu_ticks)

VR_TOPO_HOSTS="h1 h2"
HOLD=30
XMPP_PORT=5269
CTL_IP=198.18.255.1
VN=default-domain:admin:vn1
VRF=1

sock() { echo "$VR_TMP/agent-$1.sock"; }
pctl() { local h=$1; shift; vrctl "$h" port -s "$(sock "$h")" "$@"; }
usec() { local t=${1/./}; echo "${t#0}"; }   # $EPOCHREALTIME -> microseconds
declare -A PID=()   # controller, agent-h1, agent-h2, publisher
# Process and kernel memory, CPU time.
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }   # status_kb PID VmRSS
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }   # utime + stime, in clock ticks
meminfo_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
memlock() { bpftool -j map show pinned "$1" 2>/dev/null | jq -r '.bytes_memlock // empty'; }   # memlock PIN
per_route() { awk -v a="$1" -v b="$2" -v m="$3" -v n="$4" 'BEGIN {   # per_route BEFORE AFTER UNIT_BYTES N
	if (a == "" || b == "" || n <= 0) print "null"; else printf "%.1f\n", (b - a) * m / n }'; }

agent_config() {   # one controller, logging at info (no line per received message)
	vr_agent_yaml "$1" info "$HOLD" "" "$CTL_IP"
}

# Port devices: veth pairs with both ends in the host's namespace (nothing sends on them; the port API only
# needs a device to make a vif of). Port i: device vr<ID>p<i>, IP 10.2.<i/250>.<i%250+1>.
pdev() { echo "vr${VR_ID}p$1"; }
pip() { echo "10.2.$(($1 / 250)).$(($1 % 250 + 1))"; }
pmac() { printf '02:00:00:%02x:%02x:%02x' "$2" $(($1 >> 8)) $(($1 & 255)); }
port_add() {   # port_add H I
	pctl "$1" add "$(pdev "$2")" vrf "$VRF" mac "$(pmac "$2" "${1#h}")" ip "$(pip "$2")" vn "$VN" \
		gw 10.2.255.254 mode tc
}
make_ports() {   # make_ports H FIRST LAST
	local i
	for ((i = $2; i <= $3; i++)); do
		echo "link add $(pdev "$i") type veth peer name vr${VR_ID}q$i"
		echo "link set $(pdev "$i") up"
		echo "link set vr${VR_ID}q$i up"
	done >"$VR_TMP/ports-$1.batch"
	vr_must ip -n "$(vr_ns "$1")" -batch "$VR_TMP/ports-$1.batch"
}

# ------------------------------------------------------------------ topology, controller, agents

vr_topo_underlay
vr_must ip -n "$(vr_ns rt)" addr add "$CTL_IP/32" dev lo
vr_bg controller rt "$CONTROLLER" -l "$CTL_IP" -p "$XMPP_PORT" --hold "$HOLD"
PID[controller]=$VR_BG_PID
vr_wait_until 5 bash -c "ip netns exec $(vr_ns rt) ss -Htln | grep -qF '$CTL_IP:$XMPP_PORT '" ||
	{ cat "$VR_TMP/controller.log" >&2; vr_die "vrouter-controller did not listen"; }
for h in $VR_TOPO_HOSTS; do
	vr_register_pindir "$(vr_ns "$h")" "$(vr_pindir "$h")"
	agent_config "$h"
	vr_bg "agent-$h" "$h" "$AGENT" -c "$VR_TMP/agent-$h.yaml" -f
	PID[agent-$h]=$VR_BG_PID
	vr_wait_until 10 pctl "$h" list || { tail -n 20 "$VR_TMP/agent-$h.log" >&2; vr_die "vrouter-agent on $h did not serve"; }
done
# Ports 1..NPORTS on h1 are measured; port 0 on each host subscribes its agent to vn1 beforehand.
make_ports h1 0 "$NPORTS"
make_ports h2 1000 1000
vr_must port_add h1 0
vr_must port_add h2 1000
vr_wait_until 15 bash -c "grep -q 'session up' '$VR_TMP/agent-h1.log' && grep -q 'session up' '$VR_TMP/agent-h2.log'" ||
	vr_die "the agents did not bring their sessions up"
# Both warm-up routes crossed: the subscriptions are in place on both sides.
vr_must vr_wait_until 15 "$PUBLISHER" watch "$(vr_pindir h2)" "$VRF" 1 "$(pip 0)/32"
vr_pass "controller, two agents, warm-up ports converged ($((SECONDS - t_start)) s)"

# ------------------------------------------------------------------ 1. convergence, port by port

prefixes=()
for ((i = 1; i <= NPORTS; i++)); do prefixes+=("$(pip "$i")/32"); done
vr_bg watch - "$PUBLISHER" watch "$(vr_pindir h2)" "$VRF" $((NPORTS * 2 + 30)) "${prefixes[@]}"
watch_pid=$VR_BG_PID
sleep 0.2
declare -A T_CALL=() T_RET=()
conv_fail=0
t0=$SECONDS
for ((i = 1; i <= NPORTS; i++)); do
	T_CALL[$i]=$(usec "$EPOCHREALTIME")
	if ! port_add h1 "$i" >/dev/null 2>"$VR_TMP/port-add.err"; then
		vr_failed "port add $i on h1: $(cat "$VR_TMP/port-add.err")"
		conv_fail=1
		break
	fi
	T_RET[$i]=$(usec "$EPOCHREALTIME")
	# Sequencing only (the next add waits for this route); the timestamp is the watcher's.
	if ! vr_wait_until 10 grep -q "^$(pip "$i")/32 " "$VR_TMP/watch.log"; then
		vr_failed "port $i's /32 did not reach h2 within 10 s"
		conv_fail=1
		break
	fi
done
conv_wall=$((SECONDS - t0))
wait "$watch_pid" 2>/dev/null
conv_ret=() conv_call=()
for ((i = 1; i <= NPORTS; i++)); do
	seen=$(awk -v p="$(pip "$i")/32" '$1 == p { print substr($2, 1, length($2) - 3) }' "$VR_TMP/watch.log")
	[ -n "$seen" ] && [ -n "${T_RET[$i]:-}" ] || continue
	conv_ret+=($((seen - T_RET[$i])))
	conv_call+=($((seen - T_CALL[$i])))
done
watch_period=$(awk '$1 == "polls" { print $4 }' "$VR_TMP/watch.log")
# stats US...: "median p99 max min" in ms (p99 by nearest rank).
stats() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
		if (!NR) { print "null null null null"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		r = int(NR * 0.99); if (r < NR * 0.99) r++
		printf "%.2f %.2f %.2f %.2f\n", m / 1000, v[r] / 1000, v[NR] / 1000, v[1] / 1000 }'
}
read -r c_med c_p99 c_max c_min <<<"$(stats "${conv_ret[@]}")"
read -r cc_med cc_p99 cc_max cc_min <<<"$(stats "${conv_call[@]}")"
vr_check_eq "convergence measured for all $NPORTS ports" "$NPORTS" "${#conv_ret[@]}"

# ------------------------------------------------------------------ 2. install of routes from the controller

h2pin=$(vr_pindir h2)
base=$("$PUBLISHER" routes "$h2pin" "$VRF")
last_ip=$(awk -v n="$NROUTES" 'BEGIN { x = 10 * 16777216 + 128 * 65536 + n - 1
	printf "%d.%d.%d.%d", int(x / 16777216), int(x / 65536) % 256, int(x / 256) % 256, x % 256 }')
# Before: h2's agent, the controller, the maps, the machine.
sleep 0.3   # the agents' datapath handles (and their nexthop-table snapshots) are released when idle
rss0=$(status_kb "${PID[agent-h2]}" VmRSS) hwm0=$(status_kb "${PID[agent-h2]}" VmHWM)
crss0=$(status_kb "${PID[controller]}" VmRSS)
host4_0=$(memlock "$h2pin/vr_host4") nh_0=$(memlock "$h2pin/vr_nexthops")
slab0=$(meminfo_kb Slab) avail0=$(meminfo_kb MemAvailable)
acpu0=$(cpu_ticks "${PID[agent-h2]}") ccpu0=$(cpu_ticks "${PID[controller]}")
vr_bg count - "$PUBLISHER" count "$h2pin" "$VRF" $((base + NROUTES)) "$INSTALL_TIMEOUT" "$last_ip/32"
count_pid=$VR_BG_PID
vr_bg publisher rt "$PUBLISHER" publish "$CTL_IP" "$XMPP_PORT" "bench-pub-$VR_ID" "$VN" "$VRF" "$NROUTES" \
	10.128.0.0 198.18.9.9 100
PID[publisher]=$VR_BG_PID
wait "$count_pid"
count_rc=$?
acpu1=$(cpu_ticks "${PID[agent-h2]}") ccpu1=$(cpu_ticks "${PID[controller]}") pcpu=$(cpu_ticks "${PID[publisher]}")
t_first=$(awk '$1 == "first" { print $2 }' "$VR_TMP/publisher.log")
t_last=$(awk '$1 == "last" { print $2 }' "$VR_TMP/publisher.log")
t_reached=$(awk '$1 == "reached" { print $2 }' "$VR_TMP/count.log")
t_seen=$(awk '$1 == "seen" { print $2 }' "$VR_TMP/count.log")
count_polls=$(awk '$1 == "polls" { print $2 }' "$VR_TMP/count.log")
count_period=$(awk '$1 == "polls" { print $6 }' "$VR_TMP/count.log")   # the confirming count's duration
# The agent installs in the order the routes were published, so the last prefix appearing is the end of the
# install, when the count right after it confirms that every route is there; else the confirming count's end.
[ "$count_polls" = 1 ] && [ -n "$t_seen" ] && t_reached=$t_seen
installed=$(($("$PUBLISHER" routes "$h2pin" "$VRF") - base))
install_s=null rate=null publish_s=null
[ -n "$t_first" ] && [ -n "$t_last" ] && publish_s=$(awk -v a="$t_first" -v b="$t_last" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
if [ "$count_rc" = 0 ] && [ -n "$t_first" ] && [ -n "$t_reached" ]; then
	install_s=$(awk -v a="$t_first" -v b="$t_reached" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	rate=$(awk -v n="$NROUTES" -v s="$install_s" 'BEGIN { printf "%.0f", n / s }')
	vr_pass "$NROUTES routes from the controller installed in h2's VRF map"
else
	vr_failed "$NROUTES routes installed within $INSTALL_TIMEOUT s (got $installed; $(tail -n 1 "$VR_TMP/count.log"))"
	# The rate so far: routes present at the timeout over the time since the first publish.
	read -r _ t_n t_ns < <(grep '^timeout ' "$VR_TMP/count.log")
	[ -n "${t_ns:-}" ] && [ -n "$t_first" ] &&
		rate=$(awk -v n="$((t_n - base))" -v a="$t_first" -v b="$t_ns" 'BEGIN { printf "%.0f", n * 1e9 / (b - a) }')
	tail -n 5 "$VR_TMP/publisher.log" "$VR_TMP/agent-h2.log" | sed 's/^/#   /'
fi
# After: once the agent has let its datapath handle go (datapath.h: at most VR_DP_MAX_HOLD_MS after the
# storm began, else VR_DP_LINGER_MS after its last use).
sleep 0.5
rss1=$(status_kb "${PID[agent-h2]}" VmRSS) hwm1=$(status_kb "${PID[agent-h2]}" VmHWM)
crss1=$(status_kb "${PID[controller]}" VmRSS)
host4_1=$(memlock "$h2pin/vr_host4") nh_1=$(memlock "$h2pin/vr_nexthops")
slab1=$(meminfo_kb Slab) avail1=$(meminfo_kb MemAvailable)
n_mem=$((installed > 0 ? installed : 0))
agent_rss_per_route=$(per_route "$rss0" "$rss1" 1024 "$n_mem")
ctl_rss_per_route=$(per_route "$crss0" "$crss1" 1024 "$n_mem")
host4_per_route=$(per_route "$host4_0" "$host4_1" 1 "$n_mem")
nh_per_route=$(per_route "$nh_0" "$nh_1" 1 "$n_mem")
slab_per_route=$(per_route "$slab0" "$slab1" 1024 "$n_mem")
avail_per_route=$(per_route "$avail1" "$avail0" 1024 "$n_mem")   # what became unavailable
tick=$(getconf CLK_TCK)
cpu_s() { awk -v a="$1" -v b="$2" -v t="$tick" 'BEGIN { if (a == "" || b == "") print "null"; else printf "%.2f\n", (b - a) / t }'; }
agent_cpu_s=$(cpu_s "$acpu0" "$acpu1") ctl_cpu_s=$(cpu_s "$ccpu0" "$ccpu1") pub_cpu_s=$(cpu_s 0 "$pcpu")
_vr_stop_pid "${PID[publisher]}"

# ------------------------------------------------------------------ 3. libvrouter alone: route import

imp_s=null imp_rate=null imp_n=0 imp_host4_per_route=null imp_nh_per_route=null
if [ "$NIMPORT" -gt 0 ]; then
	# A datapath of its own (host lv, its fabric a veth), so nothing else touches the maps meanwhile.
	vr_netns_add lv
	vr_must ip -n "$(vr_ns lv)" link add "vr${VR_ID}lf" type veth peer name "vr${VR_ID}lg"
	vr_must ip -n "$(vr_ns lv)" link set "vr${VR_ID}lf" up
	vr_must ip -n "$(vr_ns lv)" addr add 198.18.7.2/24 dev "vr${VR_ID}lf"
	vr_register_pindir "$(vr_ns lv)" "$(vr_pindir lv)"
	vr_must vrctl lv load fabric "vr${VR_ID}lf" host-ip 198.18.7.2
	vr_must vrctl lv vrf add 1
	awk -v n="$NIMPORT" 'BEGIN { for (i = 0; i < n; i++)
		printf "10.%d.%d.%d/32 vrf 1 via tunnel 198.18.2.2 label %d\n", 64 + int(i / 65536), int(i / 256) % 256, i % 256, 16 + i }' \
		>"$VR_TMP/import.routes"
	ih0=$(memlock "$(vr_pindir lv)/vr_host4") in0=$(memlock "$(vr_pindir lv)/vr_nexthops")
	t0=$(usec "$EPOCHREALTIME")
	if vrctl lv route import "$VR_TMP/import.routes" >"$VR_TMP/import.log" 2>&1; then
		t1=$(usec "$EPOCHREALTIME")
		imp_n=$("$PUBLISHER" routes "$(vr_pindir lv)" 1)
		imp_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')
		imp_rate=$(awk -v n="$imp_n" -v s="$imp_s" 'BEGIN { printf "%.0f", n / s }')
		vr_check_eq "route import: $NIMPORT routes in lv's VRF map" "$NIMPORT" "$imp_n"
		imp_host4_per_route=$(per_route "$ih0" "$(memlock "$(vr_pindir lv)/vr_host4")" 1 "$imp_n")
		imp_nh_per_route=$(per_route "$in0" "$(memlock "$(vr_pindir lv)/vr_nexthops")" 1 "$imp_n")
	else
		vr_failed "vrouterctl route import of $NIMPORT routes: $(tail -n 3 "$VR_TMP/import.log")"
	fi
	rm -f "$VR_TMP/import.routes"
fi

busy=$(vr_cpu_busy_pct "$ticks0" "$(vr_cpu_ticks)")

# ------------------------------------------------------------------ report

mb() { awk -v k="$1" 'BEGIN { if (k == "") print "?"; else printf "%.1f\n", k / 1024 }'; }
printf '\n%-58s %10s %10s %10s %10s\n' "control plane ($(nproc) CPUs, load $load0)" median p99 max min
printf '%-58s %10s %10s %10s %10s\n' "convergence, port add returned -> /32 in peer map (ms)" "$c_med" "$c_p99" "$c_max" "$c_min"
printf '%-58s %10s %10s %10s %10s\n' "convergence, port add started  -> /32 in peer map (ms)" "$cc_med" "$cc_p99" "$cc_max" "$cc_min"
printf '%-58s %10s\n' "  over ports (sequential adds; wall time $conv_wall s)" "${#conv_ret[@]}"
printf '%-58s %10s\n' "  map polling period (resolution, us)" "${watch_period:-?}"
printf '%-58s %10s\n' "install: routes published by a fake agent" "$NROUTES"
printf '%-58s %10s\n' "  first publish -> last route in peer map (s)" "$install_s"
printf '%-58s %10s\n' "  routes/s" "$rate"
printf '%-58s %10s\n' "  publisher done writing after (s)" "$publish_s"
printf '%-58s %10s\n' "  counting the VRF's routes to confirm took (us)" "${count_period:-?}"
printf '%-58s %10s\n' "  CPU time: publisher / controller / h2 agent (s)" "$pub_cpu_s / $ctl_cpu_s / $agent_cpu_s"
printf '%-58s %10s\n' "  h2 agent VmRSS before -> after (MiB)" "$(mb "$rss0") -> $(mb "$rss1")"
printf '%-58s %10s\n' "  h2 agent VmHWM before -> after (MiB)" "$(mb "$hwm0") -> $(mb "$hwm1")"
printf '%-58s %10s\n' "  h2 agent memory per route (VmRSS delta, bytes)" "$agent_rss_per_route"
printf '%-58s %10s\n' "  controller memory per route (VmRSS delta, bytes)" "$ctl_rss_per_route"
printf '%-58s %10s\n' "  kernel per route: vr_host4 memlock delta (bytes)" "$host4_per_route"
printf '%-58s %10s\n' "  kernel per route: vr_nexthops memlock delta (bytes)" "$nh_per_route"
printf '%-58s %10s\n' "  (vr_nexthops is an array: $(mb $((${nh_1:-0} / 1024))) MiB whatever it holds)" ""
printf '%-58s %10s\n' "  machine per route: Slab / MemAvailable delta (bytes)" "$slab_per_route / $avail_per_route"
printf '%-58s %10s\n' "libvrouter alone: vrouterctl route import, routes" "$imp_n"
printf '%-58s %10s\n' "  seconds (target: under $IMPORT_TARGET_S s)" "$imp_s"
printf '%-58s %10s\n' "  routes/s" "$imp_rate"
printf '%-58s %10s\n' "  kernel per route: vr_host4 / vr_nexthops memlock (bytes)" "$imp_host4_per_route / $imp_nh_per_route"
printf '%-58s %10s\n' "CPU busy over the run (%)" "$busy"

mkdir -p "$OUT"
jq -n --arg id "$VR_ID" --arg load "$load0" --argjson cpus "$(nproc)" --argjson busy "${busy:-null}" \
	--argjson ports "${#conv_ret[@]}" --argjson c_med "$c_med" --argjson c_p99 "$c_p99" --argjson c_max "$c_max" \
	--argjson c_min "$c_min" --argjson cc_med "$cc_med" --argjson cc_p99 "$cc_p99" --argjson cc_max "$cc_max" \
	--argjson cc_min "$cc_min" --argjson wres "${watch_period:-null}" --argjson n "$NROUTES" \
	--argjson installed "$installed" --argjson s "$install_s" --argjson rate "$rate" --argjson pub "$publish_s" \
	--argjson cres "${count_period:-null}" --argjson timeout "$INSTALL_TIMEOUT" \
	--argjson pub_cpu "$pub_cpu_s" --argjson ctl_cpu "$ctl_cpu_s" --argjson agent_cpu "$agent_cpu_s" \
	--argjson rss0 "${rss0:-null}" --argjson rss1 "${rss1:-null}" --argjson hwm0 "${hwm0:-null}" \
	--argjson hwm1 "${hwm1:-null}" --argjson rss_pr "$agent_rss_per_route" \
	--argjson crss0 "${crss0:-null}" --argjson crss1 "${crss1:-null}" --argjson crss_pr "$ctl_rss_per_route" \
	--argjson host4_0 "${host4_0:-null}" --argjson host4_1 "${host4_1:-null}" --argjson host4_pr "$host4_per_route" \
	--argjson nh_0 "${nh_0:-null}" --argjson nh_1 "${nh_1:-null}" --argjson nh_pr "$nh_per_route" \
	--argjson slab0 "${slab0:-null}" --argjson slab1 "${slab1:-null}" --argjson slab_pr "$slab_per_route" \
	--argjson avail0 "${avail0:-null}" --argjson avail1 "${avail1:-null}" --argjson avail_pr "$avail_per_route" \
	--argjson imp_want "$NIMPORT" --argjson imp_n "$imp_n" --argjson imp_s "$imp_s" --argjson imp_rate "$imp_rate" \
	--argjson imp_target "$IMPORT_TARGET_S" --argjson imp_host4_pr "$imp_host4_per_route" \
	--argjson imp_nh_pr "$imp_nh_per_route" '{
	run: $id, cpus: $cpus, loadavg_before: $load, cpu_busy_pct: $busy,
	convergence: { ports: $ports, from: "vrouterctl port add returned on h1", to: "/32 in h2 VRF map",
		median_ms: $c_med, p99_ms: $c_p99, max_ms: $c_max, min_ms: $c_min,
		from_call: { median_ms: $cc_med, p99_ms: $cc_p99, max_ms: $cc_max, min_ms: $cc_min },
		poll_period_us: $wres },
	install: { routes: $n, installed: $installed, timeout_s: $timeout, seconds: $s, routes_per_s: $rate,
		publisher_seconds: $pub, count_us: $cres,
		from: "first publish written by the fake agent",
		to: "last route in h2 VRF map (the last published prefix seen, all confirmed by the count after it)",
		cpu_seconds: { publisher: $pub_cpu, controller: $ctl_cpu, agent: $agent_cpu },
		agent_memory: { vmrss_kb_before: $rss0, vmrss_kb_after: $rss1, vmhwm_kb_before: $hwm0,
			vmhwm_kb_after: $hwm1, vmrss_bytes_per_route: $rss_pr },
		controller_memory: { vmrss_kb_before: $crss0, vmrss_kb_after: $crss1, vmrss_bytes_per_route: $crss_pr },
		kernel_memory: {
			how: "bpftool bytes_memlock (the kernel map_mem_usage) of the pinned maps, before and after",
			vr_host4_bytes_before: $host4_0, vr_host4_bytes_after: $host4_1, vr_host4_bytes_per_route: $host4_pr,
			vr_nexthops_bytes_before: $nh_0, vr_nexthops_bytes_after: $nh_1, vr_nexthops_bytes_per_route: $nh_pr },
		machine_memory: {
			how: "/proc/meminfo before and after (machine-wide: other processes are in it)",
			slab_kb_before: $slab0, slab_kb_after: $slab1, slab_bytes_per_route: $slab_pr,
			memavailable_kb_before: $avail0, memavailable_kb_after: $avail1,
			memavailable_drop_bytes_per_route: $avail_pr } },
	import: { tool: "vrouterctl route import (libvrouter vr_route_add_batch), fresh datapath",
		routes: $imp_want, installed: $imp_n, seconds: $imp_s, routes_per_s: $imp_rate, target_seconds: $imp_target,
		within_target: (if $imp_s == null then null else $imp_s < $imp_target end),
		kernel_memory: { vr_host4_bytes_per_route: $imp_host4_pr, vr_nexthops_bytes_per_route: $imp_nh_pr } } }' \
	>"$OUT/control.json" || vr_failed "writing $OUT/control.json"
echo "# results in $OUT/control.json; runtime $((SECONDS - t_start)) s"
[ "$conv_fail" = 0 ] || true
vr_summary
