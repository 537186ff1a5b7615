#!/bin/bash
# Control-plane benchmark (`make bench`, issue 4 item 5): two hosts (h1, h2) around lib.sh's underlay router,
# one vrouter-controller on the router's loopback, one vrouter-agent per host, started from generated YAML as
# in e2e_control.sh. Measured in one run:
#  1. convergence: from `vrouterctl port add` on h1 returning to the port's /32 being in h2's VRF map, for
#     100 ports added one after the other (median, p99, max); also from the moment port add was started;
#  2. install: a fake agent (bench_publisher publish, built from the agent's XMPP codec) publishes 100k /32
#     routes to the controller, which reflects them to h2's agent; measured from the first publish written
#     to the last route present in h2's VRF map, and the resulting routes/s.
# The maps are read by bench_publisher watch/count straight from the pins (no CLI in the loop); each prints
# its mean polling period, the resolution of the figures. Prints a table and writes $VR_BUILD/bench/control.json
# (VR_BENCH_OUT overrides the folder).
#
# Knobs: VR_BENCH_PORTS (100), VR_BENCH_ROUTES (100000), VR_BENCH_INSTALL_TIMEOUT (60 s: a run that has
# not installed every route by then reports how many it had).

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENT=${AGENT:-$VR_BUILD/vrouter-agent}
CONTROLLER=${CONTROLLER:-$VR_BUILD/vrouter-controller}
PUBLISHER=${PUBLISHER:-$VR_BUILD/bench_publisher}
OUT=${VR_BENCH_OUT:-$VR_BUILD/bench}
NPORTS=${VR_BENCH_PORTS:-100}
NROUTES=${VR_BENCH_ROUTES:-100000}
INSTALL_TIMEOUT=${VR_BENCH_INSTALL_TIMEOUT:-120}

vr_require_root
vr_require_cmds ip nsenter jq ss
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
vr_wait_until 5 bash -c "ip netns exec $(vr_ns rt) ss -Htln | grep -qF '$CTL_IP:$XMPP_PORT '" ||
	{ cat "$VR_TMP/controller.log" >&2; vr_die "vrouter-controller did not listen"; }
for h in $VR_TOPO_HOSTS; do
	vr_register_pindir "$(vr_ns "$h")" "$(vr_pindir "$h")"
	agent_config "$h"
	vr_bg "agent-$h" "$h" "$AGENT" -c "$VR_TMP/agent-$h.yaml" -f
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

base=$(vrctl h2 -j route show vrf "$VRF" | jq length)
vr_bg count - "$PUBLISHER" count "$(vr_pindir h2)" "$VRF" $((base + NROUTES)) "$INSTALL_TIMEOUT"
count_pid=$VR_BG_PID
vr_bg publisher rt "$PUBLISHER" publish "$CTL_IP" "$XMPP_PORT" "bench-pub-$VR_ID" "$VN" "$VRF" "$NROUTES" \
	10.128.0.0 198.18.9.9 100
pub_pid=$VR_BG_PID
wait "$count_pid"
count_rc=$?
t_first=$(awk '$1 == "first" { print $2 }' "$VR_TMP/publisher.log")
t_last=$(awk '$1 == "last" { print $2 }' "$VR_TMP/publisher.log")
t_reached=$(awk '$1 == "reached" { print $2 }' "$VR_TMP/count.log")
count_period=$(awk '$1 == "polls" { print $4 }' "$VR_TMP/count.log")
installed=$(($(vrctl h2 -j route show vrf "$VRF" | jq length) - base))
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
_vr_stop_pid "$pub_pid"

busy=$(vr_cpu_busy_pct "$ticks0" "$(vr_cpu_ticks)")

# ------------------------------------------------------------------ report

printf '\n%-58s %10s %10s %10s %10s\n' "control plane ($(nproc) CPUs, load $load0)" median p99 max min
printf '%-58s %10s %10s %10s %10s\n' "convergence, port add returned -> /32 in peer map (ms)" "$c_med" "$c_p99" "$c_max" "$c_min"
printf '%-58s %10s %10s %10s %10s\n' "convergence, port add started  -> /32 in peer map (ms)" "$cc_med" "$cc_p99" "$cc_max" "$cc_min"
printf '%-58s %10s\n' "  over ports (sequential adds; wall time $conv_wall s)" "${#conv_ret[@]}"
printf '%-58s %10s\n' "  map polling period (resolution, us)" "${watch_period:-?}"
printf '%-58s %10s\n' "install: routes published by a fake agent" "$NROUTES"
printf '%-58s %10s\n' "  first publish -> last route in peer map (s)" "$install_s"
printf '%-58s %10s\n' "  routes/s" "$rate"
printf '%-58s %10s\n' "  publisher done writing after (s)" "$publish_s"
printf '%-58s %10s\n' "  route count polling period (resolution, us)" "${count_period:-?}"
printf '%-58s %10s\n' "CPU busy over the run (%)" "$busy"

mkdir -p "$OUT"
jq -n --arg id "$VR_ID" --arg load "$load0" --argjson cpus "$(nproc)" --argjson busy "${busy:-null}" \
	--argjson ports "${#conv_ret[@]}" --argjson c_med "$c_med" --argjson c_p99 "$c_p99" --argjson c_max "$c_max" \
	--argjson c_min "$c_min" --argjson cc_med "$cc_med" --argjson cc_p99 "$cc_p99" --argjson cc_max "$cc_max" \
	--argjson cc_min "$cc_min" --argjson wres "${watch_period:-null}" --argjson n "$NROUTES" \
	--argjson installed "$installed" --argjson s "$install_s" --argjson rate "$rate" --argjson pub "$publish_s" \
	--argjson cres "${count_period:-null}" --argjson timeout "$INSTALL_TIMEOUT" '{
	run: $id, cpus: $cpus, loadavg_before: $load, cpu_busy_pct: $busy,
	convergence: { ports: $ports, from: "vrouterctl port add returned on h1", to: "/32 in h2 VRF map",
		median_ms: $c_med, p99_ms: $c_p99, max_ms: $c_max, min_ms: $c_min,
		from_call: { median_ms: $cc_med, p99_ms: $cc_p99, max_ms: $cc_max, min_ms: $cc_min },
		poll_period_us: $wres },
	install: { routes: $n, installed: $installed, timeout_s: $timeout, seconds: $s, routes_per_s: $rate,
		publisher_seconds: $pub, poll_period_us: $cres,
		from: "first publish written by the fake agent", to: "last route in h2 VRF map" } }' \
	>"$OUT/control.json" || vr_failed "writing $OUT/control.json"
echo "# results in $OUT/control.json; runtime $((SECONDS - t_start)) s"
[ "$conv_fail" = 0 ] || true
vr_summary
