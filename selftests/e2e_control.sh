#!/bin/bash
# End-to-end test of the control plane: three hosts (h1, h2, h3) around lib.sh's underlay router, two
# vrouter-controllers in the router namespace (on addresses of its loopback) and one vrouter-agent per host
# peering with both. VMs of two tenants (vn1 and vn2, the same addresses in both) are attached ONLY through
# the agents' port API; no route is added by hand. Checked: every same-tenant pair across hosts pings once
# the routes have converged (bounded polls of 'route show -j', never a fixed sleep), cross-tenant never; a
# port delete on h1 withdraws its /32 on h2 and h3; SIGKILL + restart of h2's agent under a 20 pkt/s ping
# loses nothing and keeps the labels; one controller killed withdraws nothing; both killed: traffic keeps
# flowing on stale routes; both restarted: the agents reconnect, routes are refreshed and a port deleted
# meanwhile is swept everywhere.
#
# Run as root after make: bash selftests/e2e_control.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/ctl_lib.sh"


vr_require_root
vr_require_cmds ip nsenter ethtool ping jq
vr_require_build "$VRCTL" "$AGENT" "$CONTROLLER"
vr_require_bpffs
vr_tmp_init control
vr_trap_cleanup

echo "# control-plane end-to-end test, run $VR_ID, temporary files in $VR_TMP"
t_start=$SECONDS

VR_TOPO_HOSTS="h1 h2 h3"
HOLD=3
STALE=3
XMPP_PORT=5269
# The controllers listen on the router's loopback, inside the underlay's 198.18.0.0/15 that every host
# routes through the router.
CTL_IP=(198.18.255.1 198.18.255.2)
declare -A CTL_PID=()
declare -A VN=([1]=default-domain:admin:vn1 [2]=default-domain:admin:vn2)

# The VMs: tenant 1 (VRF 1, vn1, mode xdp) a1..a3 and tenant 2 (VRF 2, vn2, mode tc) b1..b3 with the same
# addresses, one of each per host; b4 (10.1.0.4) exists only in tenant 2; a5 (deleted on h1 with the
# controllers up) and a6 (deleted on h1 while they are down) are the ports whose withdrawal is checked.
VMS="a1 a2 a3 a5 a6 b1 b2 b3 b4"
VR_VM_HOST+=([a1]=h1 [a2]=h2 [a3]=h3 [a5]=h1 [a6]=h1 [b1]=h1 [b2]=h2 [b3]=h3 [b4]=h3)
VR_VM_VRF+=([a1]=1 [a2]=1 [a3]=1 [a5]=1 [a6]=1 [b1]=2 [b2]=2 [b3]=2 [b4]=2)
VR_VM_IP+=([a1]=10.1.0.1 [a2]=10.1.0.2 [a3]=10.1.0.3 [a5]=10.1.0.5 [a6]=10.1.0.6
	[b1]=10.1.0.1 [b2]=10.1.0.2 [b3]=10.1.0.3 [b4]=10.1.0.4)
for vm in $VMS; do
	VR_VM_KIND[$vm]=veth
	if [ "${VR_VM_VRF[$vm]}" = 1 ]; then VR_VM_MODE[$vm]=xdp; else VR_VM_MODE[$vm]=tc; fi
done


agent_config() {   # agent_config H: host H's YAML file, both controllers, short hold and stale timers
	vr_agent_yaml "$1" debug "$HOLD" "$STALE" "${CTL_IP[@]}"
}

controller_start() {   # controller_start I N: controller I (0, 1) on CTL_IP[I], log controller-I-N.log
	vr_bg "controller-$1-$2" rt "$CONTROLLER" -l "${CTL_IP[$1]}" -p "$XMPP_PORT" --hold "$HOLD" -v
	CTL_PID[$1]=$VR_BG_PID
	vr_wait_until 5 bash -c "ip netns exec $(vr_ns rt) ss -Htln | grep -qF '${CTL_IP[$1]}:$XMPP_PORT '"
}

port_add() {
	local vm=$1
	pctl "${VR_VM_HOST[$vm]}" add "$(vr_vif_dev "$vm")" vrf "${VR_VM_VRF[$vm]}" mac "$(vr_vm_mac "$vm")" \
		ip "${VR_VM_IP[$vm]}" vn "${VN[${VR_VM_VRF[$vm]}]}" gw "$VR_GW" mtu "$VR_VM_MTU" mode "${VR_VM_MODE[$vm]}"
}

# routes H VRF: the prefixes of VRF's table on host H, one per line ("10.1.0.2/32 tunnel 198.18.2.2 17"; the type name as vrouterctl prints it).
routes() {
	vrctl "$1" -j route show vrf "$2" 2>/dev/null | jq -r '.[] | "\(.prefix) \(.type) \(.remote // .dev // "") \(.label // "")"'
}
has_route() { routes "$1" "$2" | grep -q "^$3 "; }             # has_route H VRF PREFIX
no_route() { ! has_route "$@" && vrctl "$1" route show vrf "$2" >/dev/null; }
# The remote /32s VM's address should have on every other host.
remote_ok() {   # remote_ok VM: VM's /32 is in its VRF on every other host
	local h
	for h in $VR_TOPO_HOSTS; do
		[ "$h" = "${VR_VM_HOST[$1]}" ] && continue
		has_route "$h" "${VR_VM_VRF[$1]}" "${VR_VM_IP[$1]}/32" || return 1
	done
}
remote_gone() {   # remote_gone VM: VM's /32 is in its VRF on no other host
	local h
	for h in $VR_TOPO_HOSTS; do
		[ "$h" = "${VR_VM_HOST[$1]}" ] && continue
		no_route "$h" "${VR_VM_VRF[$1]}" "${VR_VM_IP[$1]}/32" || return 1
	done
}
all_remote_ok() { local vm; for vm in "$@"; do remote_ok "$vm" || return 1; done; }
snapshot() {   # all tables of all hosts, sorted: what "nothing withdrawn" compares
	local h v
	for h in $VR_TOPO_HOSTS; do for v in 1 2; do routes "$h" "$v" | sed "s/^/$h vrf$v /"; done; done | sort
}
# Log events of each host's current agent, counted against a baseline taken before a step: log_mark PATTERN
# records the counts, log_grew PATTERN N passes once every current agent log has N more matching lines.
declare -A LOG_BASE=()
log_count() { grep -Ec -- "$2" "${AGENT_LOG[$1]}"; }
log_mark() { local h; for h in $VR_TOPO_HOSTS; do LOG_BASE[$h]=$(log_count "$h" "$1"); done; }
log_grew() {
	local h
	for h in $VR_TOPO_HOSTS; do
		[ "$(log_count "$h" "$1")" -ge $((LOG_BASE[$h] + $2)) ] || return 1
	done
}
UP='xmpp .*: session up'
STALE_RE='learned route\(s\) kept as stale'

# ------------------------------------------------------------------ topology, controllers, agents

vr_topo_underlay
vr_must ip -n "$(vr_ns rt)" addr add "${CTL_IP[0]}/32" dev lo
vr_must ip -n "$(vr_ns rt)" addr add "${CTL_IP[1]}/32" dev lo
for vm in $VMS; do
	vr_topo_vm "$vm"
done
for i in 0 1; do
	controller_start "$i" 1 || { cat "$VR_TMP/controller-$i-1.log" >&2; vr_die "vrouter-controller $i did not listen"; }
done
for h in $VR_TOPO_HOSTS; do
	vr_register_pindir "$(vr_ns "$h")" "$(vr_pindir "$h")"
	agent_config "$h"
	agent_start "$h" 1 || vr_die "vrouter-agent on $h did not start serving"
	LOG_BASE[$h]=0
done
vr_pass "two controllers and three agents started"

for vm in $VMS; do
	vr_check "port add $vm (${VR_VM_HOST[$vm]}, ${VN[${VR_VM_VRF[$vm]}]}, ${VR_VM_IP[$vm]})" port_add "$vm"
done
vr_check "every agent has a session up with both controllers (10 s)" vr_wait_until 10 log_grew "$UP" 2

# ------------------------------------------------------------------ convergence, pings, isolation

t0=$SECONDS
if vr_wait_until 15 all_remote_ok $VMS; then
	vr_pass "routes converged: every VM's /32 on every other host ($((SECONDS - t0)) s)"
else
	vr_failed "routes converged: every VM's /32 on every other host within 15 s"
	for h in $VR_TOPO_HOSTS; do routes "$h" 1 | sed "s/^/#   $h vrf 1: /"; routes "$h" 2 | sed "s/^/#   $h vrf 2: /"; done
fi
r=$(routes h1 1 | grep '^10.1.0.2/32 ')
vr_check_match "h1's route to a2 is a tunnel to h2 with a2's label" \
	"^10\.1\.0\.2/32 tunnel ${VR_HOST_IP[h2]//./\\.} $(port_label a2)\$" "$r"

for pair in "a1 a2" "a1 a3" "a2 a3" "b1 b2" "b1 b3" "b1 b4" "b2 b3" "b2 b4"; do
	set -- $pair
	vr_check "same tenant across hosts: $1 (${VR_VM_HOST[$1]}) -> $2 (${VR_VM_HOST[$2]}) ${VR_VM_IP[$2]}" \
		vr_ping_wait "$1" "${VR_VM_IP[$2]}" 10
done
vr_check_fails "cross tenant: a1 (tenant 1) cannot reach 10.1.0.4 (only in tenant 2)" vr_ping a1 10.1.0.4 2
vr_check_fails "cross tenant: a2 (tenant 1, h2) cannot reach 10.1.0.4 either" vr_ping a2 10.1.0.4 2
vr_check "cross tenant: 10.1.0.4/32 is in no tenant-1 table" \
	bash -c "! { $(declare -f routes vrctl vr_ns vr_pindir vr_debug); VR_ID=$VR_ID VR_BPFFS=$VR_BPFFS VRCTL=$VRCTL; \
		for h in h1 h2 h3; do routes \$h 1; done; } | grep -q '^10.1.0.4/32 '"

# ------------------------------------------------------------------ port delete propagates

vr_check "port del a5 on h1" pctl h1 del "$(vr_vif_dev a5)"
t0=$SECONDS
vr_check "port del on h1: 10.1.0.5/32 leaves h2's and h3's tables (10 s)" vr_wait_until 10 remote_gone a5
vr_log "#   withdrawn everywhere in $((SECONDS - t0)) s"
vr_check "and the other routes stay (a1, a6 still on h2 and h3)" all_remote_ok a1 a6

# ------------------------------------------------------------------ agent SIGKILL + restart under traffic

labels_before=$(pctl h2 list)
vr_in a1 ping -n -q -c 100 -i 0.05 -W 1 "${VR_VM_IP[a2]}" >"$VR_TMP/ping-agent-restart.log" 2>&1 9>&- &
ping_pid=$!
vr_register_pid "$ping_pid"
sleep 1
kill_quiet KILL "${AGENT_PID[h2]}"
vr_check "h2's agent restarted after SIGKILL" agent_start h2 2
wait "$ping_pid"
vr_check_match "ping a1 -> a2 (100 x 50 ms) across h2's agent SIGKILL + restart lost nothing" " 0% packet loss" \
	"$(cat "$VR_TMP/ping-agent-restart.log")"
vr_check_eq "h2's ports keep their labels (port list)" "$labels_before" "$(pctl h2 list)"
vr_check "h2's restarted agent is up with both controllers again (10 s)" \
	vr_wait_until 10 bash -c "[ \$(grep -c 'session up' '$VR_TMP/agent-h2-2.log') -ge 2 ]"
vr_check_eq "h2's restarted agent kept a2's label" "$(grep -o "name=$(vr_vif_dev a2) vif=[0-9]* label=[0-9]*" <<<"$labels_before" | sed 's/.*label=//')" "$(port_label a2)"
vr_check "after the restart every VM's /32 is still on every other host" all_remote_ok a1 a2 a3 a6 b1 b2 b3 b4
vr_check "ping a2 -> a3 and b2 -> b4 after the restart" \
	bash -c "$(declare -f vr_ping vr_in vr_ns); VR_ID=$VR_ID; vr_ping a2 ${VR_VM_IP[a3]} && vr_ping b2 ${VR_VM_IP[b4]}"

# ------------------------------------------------------------------ one controller of two killed

# Let the sweep of h2's adopted routes finish before the snapshot.
vr_wait_until $((STALE + 3)) grep -q 'swept' "$VR_TMP/agent-h2-2.log"
before=$(snapshot)
log_mark "$UP"
kill_quiet KILL "${CTL_PID[1]}"
# Longer than the hold time: whatever would be withdrawn for the lost session is by now.
sleep $((HOLD + 1))
vr_check_eq "controller 2 killed: nothing withdrawn on any host after its hold time" "$before" "$(snapshot)"
vr_check "controller 2 killed: a1 -> a3 and b1 -> b3 still ping" \
	bash -c "$(declare -f vr_ping vr_in vr_ns); VR_ID=$VR_ID; vr_ping a1 ${VR_VM_IP[a3]} && vr_ping b1 ${VR_VM_IP[b3]}"
vr_check "controller 2 restarted" controller_start 1 2
vr_check "the agents reconnect to controller 2 (15 s)" vr_wait_until 15 log_grew "$UP" 1

# ------------------------------------------------------------------ both controllers down: stale routes

before=$(snapshot)
log_mark "$STALE_RE"
kill_quiet KILL "${CTL_PID[0]}"
kill_quiet KILL "${CTL_PID[1]}"
vr_check "no controller: every agent keeps the routes of both sessions as stale (log, 10 s)" \
	vr_wait_until 10 log_grew "$STALE_RE" 2
vr_in a1 ping -n -q -c 50 -i 0.1 -W 1 "${VR_VM_IP[a3]}" >"$VR_TMP/ping-stale.log" 2>&1
vr_check_match "no controller: a1 -> a3 pings for 5 s on stale routes, nothing lost" " 0% packet loss" \
	"$(cat "$VR_TMP/ping-stale.log")"
vr_check "no controller: b2 -> b4 too" vr_ping b2 "${VR_VM_IP[b4]}"
vr_check_eq "no controller: every table unchanged" "$before" "$(snapshot)"
vr_check "port del a6 on h1 while no controller is up" pctl h1 del "$(vr_vif_dev a6)"
vr_check "a6's /32 stays (stale) on h2 and h3 while no controller can say otherwise" remote_ok a6

# ------------------------------------------------------------------ controllers back: refresh and sweep

log_mark "$UP"
vr_check "controller 1 restarted" controller_start 0 3
vr_check "controller 2 restarted" controller_start 1 3
t0=$SECONDS
vr_check "the agents reconnect to both controllers (20 s)" vr_wait_until 20 log_grew "$UP" 2
vr_check "after the reconnect a6's /32 is swept from h2 and h3 (EndOfRib or stale timer, 15 s)" \
	vr_wait_until 15 remote_gone a6
vr_log "#   reconnected and swept in $((SECONDS - t0)) s"
vr_check "the refreshed routes stay: every other VM's /32 on every other host" all_remote_ok a1 a2 a3 b1 b2 b3 b4
for h in h2 h3; do
	vr_check_match "$h's agent logged the removal of the swept 10.1.0.6/32" "learned route 10\.1\.0\.6/32 in vrf 1 removed" \
		"$(cat "${AGENT_LOG[$h]}")"
done
for pair in "a1 a2" "a3 a1" "b3 b1" "b4 b2"; do
	set -- $pair
	vr_check "after the controllers' restart: $1 -> $2 pings" vr_ping "$1" "${VR_VM_IP[$2]}"
done
vr_check_fails "after the controllers' restart: a1 cannot reach the deleted a6 (10.1.0.6)" vr_ping a1 10.1.0.6 1

echo "# runtime $((SECONDS - t_start)) s"
ctl_logs_on_failure "$VR_TMP"/agent-*.log "$VR_TMP"/controller-*.log
vr_summary
