#!/bin/bash
# Hitless control-plane restarts under load: the fixed-rate UDP flow of e2e_hitless.sh (iperf3, ~6,000
# numbered datagrams/s, counted at both ends) between two VMs whose vifs and routes come only from the control
# plane: one vrouter-agent per host (ports added through the port API, no route added by hand) and one
# vrouter-controller on the underlay router. While the flow runs:
#   - the sending host's agent is SIGKILLed and restarted (it adopts the pinned vifs and learned routes),
#   - the same on the receiving host,
#   - the controller is stopped and restarted (graceful restart: both agents keep their learned routes as
#     stale, reconnect, get them again and sweep only what did not come back).
# In each case the vRouters lose nothing of the established flow: every datagram vm1 sent is taken by h1's vif
# and handed to vm2 by h2's, no drop counter moves on either host, whatever iperf3's receiver misses was
# dropped by vm2's own socket after delivery; and afterwards the learned routes are there again with the same
# labels (the restarted agent's session is up, the refreshed routes were not swept).
#
#   vm1 10.1.0.1 (h1, mode tc) --- h1 == router rt (controller 198.18.255.1) == h2 --- vm2 10.1.0.2 (h2, mode tc)
#
# Run as root after make: bash selftests/e2e_hitless_control.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/ctl_lib.sh"

RATE=${VR_HITLESS_RATE:-60M}    # iperf3 -b: 60 Mbit/s of 1200-byte datagrams, about 6,000 a second
SECS=${VR_HITLESS_SECONDS:-5}

vr_require_root
vr_require_cmds ip nsenter ethtool ping jq iperf3 timeout nstat bc paste ss
vr_require_build "$VRCTL" "$AGENT" "$CONTROLLER"
vr_require_bpffs
vr_tmp_init hitless-control
vr_trap_cleanup

echo "# hitless agent and controller restarts under load, run $VR_ID, temporary files in $VR_TMP"
t_start=$SECONDS

# Hold time: the controller keeps a dead agent's routes this long, so a restarted agent has that long to come
# back (it takes well under a second here). Stale timeout: how long an agent keeps routes the controller has
# not resent after a reconnect (End-of-RIB usually sweeps sooner).
HOLD=6
STALE=8
# The controller holds End-of-RIB back for this long after it starts, so that the agent reconnecting first does
# not sweep the stale route of the other, which has not republished yet (their reconnect backoff: 1 s, 2 s).
EOR_DELAY=4
CTL_IP=198.18.255.1
XMPP_PORT=5269
VN=default-domain:admin:vn1
VMS="vm1 vm2"
VR_TOPO_HOSTS="h1 h2"
VR_VM_HOST+=([vm1]=h1 [vm2]=h2)
VR_VM_VRF+=([vm1]=1 [vm2]=1)
VR_VM_IP+=([vm1]=10.1.0.1 [vm2]=10.1.0.2)
VR_VM_KIND+=([vm1]=veth [vm2]=veth)
VR_VM_MODE+=([vm1]=tc [vm2]=tc)

CTL_PID=""
CTL_LOG=""

controller_start() {   # controller_start N: the controller, log controller-N.log, wait until it listens
	vr_bg "controller-$1" rt "$CONTROLLER" -l "$CTL_IP" -p "$XMPP_PORT" --hold "$HOLD" \
		--eor-delay "$EOR_DELAY" -v
	CTL_PID=$VR_BG_PID
	CTL_LOG=$VR_TMP/controller-$1.log
	vr_wait_until 5 bash -c "ip netns exec $(vr_ns rt) ss -Htln | grep -qF '$CTL_IP:$XMPP_PORT '"
}

port_add() {
	local vm=$1
	pctl "${VR_VM_HOST[$vm]}" add "$(vr_vif_dev "$vm")" vrf "${VR_VM_VRF[$vm]}" mac "$(vr_vm_mac "$vm")" \
		ip "${VR_VM_IP[$vm]}" vn "$VN" gw "$VR_GW" mtu "$VR_VM_MTU" mode "${VR_VM_MODE[$vm]}"
}

# remote_route H VM: "TYPE REMOTE LABEL" of VM's /32 in host H's VRF table (empty if there is none).
remote_route() {
	vrctl "$1" -j route show vrf "${VR_VM_VRF[$2]}" 2>/dev/null |
		jq -r --arg p "${VR_VM_IP[$2]}/32" '.[] | select(.prefix == $p) | "\(.type) \(.remote // "") \(.label // "")"'
}
# The learned routes as they should be: vm2's /32 on h1 a tunnel to h2 with vm2's label, and the reverse.
routes_ok() {
	[ "$(remote_route h1 vm2)" = "tunnel ${VR_HOST_IP[h2]} ${LABEL[vm2]}" ] &&
		[ "$(remote_route h2 vm1)" = "tunnel ${VR_HOST_IP[h1]} ${LABEL[vm1]}" ]
}
# sessions_up H N: host H's current agent logged N or more sessions up.
sessions_up() { [ "$(grep -c 'xmpp .*: session up' "${AGENT_LOG[$1]}")" -ge "$2" ]; }
count_in() { grep -Ec -- "$2" "$1"; }   # count_in FILE REGEX

# ------------------------------------------------------------------ topology, controller, agents, ports

vr_topo_underlay
vr_must ip -n "$(vr_ns rt)" addr add "$CTL_IP/32" dev lo
for vm in $VMS; do
	vr_topo_vm "$vm"
done
controller_start 1 || { cat "$VR_TMP/controller-1.log" >&2; vr_die "vrouter-controller did not listen"; }
for h in $VR_TOPO_HOSTS; do
	vr_register_pindir "$(vr_ns "$h")" "$(vr_pindir "$h")"
	vr_agent_yaml "$h" debug "$HOLD" "$STALE" "$CTL_IP"
	agent_start "$h" 1 || vr_die "vrouter-agent on $h did not start serving"
done
for vm in $VMS; do
	vr_must port_add "$vm"
done
declare -A LABEL=([vm1]=$(port_label vm1) [vm2]=$(port_label vm2))
[[ "${LABEL[vm1]}${LABEL[vm2]}" =~ ^[0-9]+$ ]] || vr_die "no labels in 'port list' (${LABEL[vm1]}, ${LABEL[vm2]})"
vr_check "both routes learned from the controller: tunnels with the peer port's label (15 s)" vr_wait_until 15 routes_ok
vr_check "vm1 reaches vm2 before the test" vr_ping_wait vm1 "${VR_VM_IP[vm2]}" 10
vr_log "#   set up in $((SECONDS - t_start)) s"

vr_flow_server

vr_hitless baseline true

# ------------------------------------------------------------------ agent SIGKILL + restart, each host

# agent_restart H N: SIGKILL host H's agent, start it again (run N), and wait until its session is up and
# the routes it adopted as stale were resent (a sweep at End-of-RIB that removed nothing).
agent_restart() {
	local h=$1 n=$2
	echo "SIGKILL agent on $h (pid ${AGENT_PID[$h]})"
	kill_quiet KILL "${AGENT_PID[$h]}"
	agent_start "$h" "$n" || return 1
	echo "agent on $h serving again"
	vr_wait_until 3 sessions_up "$h" 1 || { echo "no session up"; return 1; }
	vr_wait_until 3 grep -q 'stale route(s) swept' "${AGENT_LOG[$h]}" || { echo "no sweep"; return 1; }
	echo "session up, End-of-RIB sweep done"
}

for h in h1 h2; do
	role=sender
	[ "$h" = h2 ] && role=receiver
	vr_hitless "agent-kill-$h" agent_restart "$h" 2
	vr_check_match "agent-kill-$h ($role): the restarted agent adopted its port with its label" \
		"^${LABEL[${h/h/vm}]}\$" "$(port_label "${h/h/vm}")"
	vr_check_match "agent-kill-$h: it adopted the learned route as stale and the controller's resend refreshed it" \
		": 0 stale route\(s\) swept" "$(cat "${AGENT_LOG[$h]}")"
	vr_check "agent-kill-$h: both learned routes are there, same tunnels and labels" routes_ok
done
# h1's graceful-restart window at the controller is over by now (h2's may not be; the end checks its routes).
vr_check_eq "agent kills: the controller kept each killed agent's route (graceful restart), twice" 2 \
	"$(count_in "$CTL_LOG" ': 1 route kept for [0-9]+ s \(graceful restart\)')"
vr_check_eq "agent kills: and withdrew none of them (each agent came back within the hold time)" 0 \
	"$(count_in "$CTL_LOG" 'withdrew')"

# ------------------------------------------------------------------ controller stop + start

declare -A UP0=() EOR=()
controller_restart() {
	local h
	for h in h1 h2; do
		UP0[$h]=$(grep -c 'xmpp .*: session up' "${AGENT_LOG[$h]}")
		EOR[$h]=$(grep -c 'EndOfRib: .* stale route(s) swept' "${AGENT_LOG[$h]}")
	done
	echo "SIGTERM controller (pid $CTL_PID)"
	kill_quiet TERM "$CTL_PID"
	vr_wait_until 3 bash -c "grep -q 'kept as stale' '${AGENT_LOG[h1]}' && grep -q 'kept as stale' '${AGENT_LOG[h2]}'" ||
		{ echo "the agents did not keep their routes as stale"; return 1; }
	echo "both agents keep their routes as stale"
	sleep 0.5
	controller_start 2 || return 1
	echo "controller listening again"
	for h in h1 h2; do
		vr_wait_until 4 sessions_up "$h" $((UP0[$h] + 1)) || { echo "$h: no session up"; return 1; }
	done
	echo "both sessions up again"
	for h in h1 h2; do
		vr_wait_until $((EOR_DELAY + 2)) bash -c "[ \$(grep -c 'EndOfRib: .* stale route(s) swept' '${AGENT_LOG[$h]}') -ge $((EOR[$h] + 1)) ]" ||
			{ echo "$h: no End-of-RIB"; return 1; }
	done
	echo "both agents got End-of-RIB and swept"
}
# Longer: the agents' reconnect backoff (1 s, then 2 s) and the End-of-RIB delay are part of the operation.
SECS=$((SECS + EOR_DELAY + 3)) vr_hitless controller-restart controller_restart
for h in h1 h2; do
	vr_check_match "controller-restart: $h's agent kept its learned route as stale while the controller was away" \
		"xmpp .*: 1 learned route\(s\) kept as stale" "$(cat "${AGENT_LOG[$h]}")"
done
vr_check_match "controller-restart: the new controller held End-of-RIB back for its start-up delay" \
	"End-of-RIB delay \($EOR_DELAY s\) over" "$(cat "$CTL_LOG")"
for h in h1 h2; do
	vr_check_eq "controller-restart: $h's sweep removed nothing (the route came back from the new controller)" \
		"0" "$(grep -o '[0-9]* stale route(s) swept' "${AGENT_LOG[$h]}" | tail -n 1 | cut -d' ' -f1)"
done
vr_check "controller-restart: both learned routes are there, same tunnels and labels" routes_ok
vr_check "vm2 reaches vm1 after all of it" vr_ping vm2 "${VR_VM_IP[vm1]}"

echo "# runtime $((SECONDS - t_start)) s"
ctl_logs_on_failure "$VR_TMP"/agent-*.log "$VR_TMP"/controller-*.log
vr_summary
