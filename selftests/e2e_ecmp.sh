#!/bin/bash
# End-to-end test of ECMP through the control plane: an anycast address. Four hosts (h1..h4) around lib.sh's
# underlay router, one vrouter-controller on the router's loopback and one vrouter-agent per host. A client
# VM c1 on h1 and three server VMs s2, s3, s4 on h2, h3, h4 that all have the address 10.1.0.9 in the same
# virtual network (and x3 on h3, another VM there), every one of them added only through the agents' port
# API. Checked: with s2 and s4 up, h3 (x3's host) reaches 10.1.0.9 by an ECMP route of h2 and h4; s3's port
# add on h3 takes the address from that learned route (its own route wins); the controller sends h1 one item
# for 10.1.0.9/32 with the three next hops, and h1 installs it as an ECMP route (a composite nexthop) of three
# tunnels with the servers' labels, while h2..h4 keep their own local route; 96 UDP flows
# from c1 (distinct source ports) reach all three servers, each with a fair share, and every flow reaches
# one server only; a SIGKILL + restart of h1's agent keeps the group (adopted, then refreshed: the same group,
# every flow still at its server); deleting the port on h3 leaves a composite of h2 and h4 in which the flows
# of s2 and s4 stay where they were and only those of s3 move (and h3 reaches 10.1.0.9 by the learned ECMP
# route again); deleting the one on h4 leaves a plain tunnel to h2, which then gets every flow. About 10 s.
#
# Run as root after make: bash selftests/e2e_ecmp.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/ctl_lib.sh"


vr_require_root
vr_require_cmds ip nsenter ethtool ping jq socat ss
vr_require_build "$VRCTL" "$AGENT" "$CONTROLLER"
vr_require_bpffs
vr_tmp_init ecmp
vr_trap_cleanup

echo "# ECMP control-plane end-to-end test, run $VR_ID, temporary files in $VR_TMP"
t_start=$SECONDS

VR_TOPO_HOSTS="h1 h2 h3 h4"
VR_HOST_IP+=([h4]=198.18.4.2)
VR_RT_IP+=([h4]=198.18.4.1)
HOLD=3
STALE=3
CTL_IP=198.18.255.1
VN=default-domain:admin:vn1
ANYCAST=10.1.0.9
UDP_PORT=7000
FLOWS=96
ROUNDS=4
SERVERS="s2 s3 s4"
VMS="c1 x3 $SERVERS"
VR_VM_HOST+=([c1]=h1 [x3]=h3 [s2]=h2 [s3]=h3 [s4]=h4)
VR_VM_IP+=([c1]=10.1.0.1 [x3]=10.1.0.3 [s2]=$ANYCAST [s3]=$ANYCAST [s4]=$ANYCAST)
for vm in $VMS; do
	VR_VM_VRF[$vm]=1
	VR_VM_KIND[$vm]=veth
	VR_VM_MODE[$vm]=tc
done

port_add() {
	local vm=$1
	pctl "${VR_VM_HOST[$vm]}" add "$(vr_vif_dev "$vm")" vrf 1 mac "$(vr_vm_mac "$vm")" ip "${VR_VM_IP[$vm]}" \
		vn "$VN" gw "$VR_GW" mtu "$VR_VM_MTU" mode "${VR_VM_MODE[$vm]}"
}

# route_of H PREFIX: how host H reaches PREFIX in VRF 1: "ecmp GROUP ADDR:LABEL,ADDR:LABEL..." (the
# members, sorted), "tunnel ADDR:LABEL", "vif DEV", or "none".
route_of() {
	local r nhs
	r=$(vrctl "$1" -j route show vrf 1 | jq -c --arg p "$2" '[.[] | select(.prefix == $p)] | first // empty')
	[ -n "$r" ] || { echo none; return; }
	case $(jq -r .type <<<"$r") in
	ecmp)
		nhs=$(vrctl "$1" -j nexthop list)
		printf 'ecmp %s %s\n' "$(jq -r .group <<<"$r")" "$(jq -r --argjson m "$(jq -c .members <<<"$r")" \
			'[.[] | select(.nh as $id | any($m[]; . == $id)) | "\(.remote):\(.label)"] | sort | join(",")' <<<"$nhs")"
		;;
	tunnel) jq -r '"tunnel \(.remote):\(.label)"' <<<"$r" ;;
	vif) jq -r '"vif \(.dev)"' <<<"$r" ;;
	*) jq -r .type <<<"$r" ;;
	esac
}
members_of() { route_of "$@" | sed -E 's/^ecmp [0-9]+ //'; }      # members_of H PREFIX: without the group id
route_is() { [ "$(members_of "$1" "$2")" = "$3" ]; }               # route_is H PREFIX "ADDR:LABEL,..." | "tunnel ..."
member() { echo "${VR_HOST_IP[${VR_VM_HOST[$1]}]}:$(port_label "$1")"; }   # member VM: "ADDR:LABEL"
members() { local vm; for vm in "$@"; do member "$vm"; done | sort | paste -sd, -; }

# ------------------------------------------------------------------ topology, controller, agents, ports

vr_topo_underlay
vr_must ip -n "$(vr_ns rt)" addr add "$CTL_IP/32" dev lo
for vm in $VMS; do
	vr_topo_vm "$vm"
done
vr_bg controller rt "$CONTROLLER" -l "$CTL_IP" -p 5269 --hold "$HOLD" -v
vr_wait_until 5 bash -c "ip netns exec $(vr_ns rt) ss -Htln | grep -qF '$CTL_IP:5269 '" ||
	{ cat "$VR_TMP/controller.log" >&2; vr_die "vrouter-controller did not listen"; }
for h in $VR_TOPO_HOSTS; do
	vr_register_pindir "$(vr_ns "$h")" "$(vr_pindir "$h")"
	vr_agent_yaml "$h" debug "$HOLD" "$STALE" "$CTL_IP"
	agent_start "$h" 1 || vr_die "vrouter-agent on $h did not start serving"
done
for vm in c1 x3 s2 s4; do
	vr_check "port add $vm on ${VR_VM_HOST[$vm]} ($VN, ${VR_VM_IP[$vm]})" port_add "$vm"
done

# ------------------------------------------------------------------ a local port takes the address from a learned route

want=$(members s2 s4)
vr_check "h3 (no server yet): $ANYCAST/32 is an ECMP route of h2 and h4 ($want) (15 s)" \
	vr_wait_until 15 route_is h3 "$ANYCAST/32" "$want"
vr_check "x3 on h3 pings $ANYCAST" vr_ping_wait x3 "$ANYCAST" 10
vr_check "port add s3 on h3 ($VN, $ANYCAST): the port takes the address from the learned route" port_add s3
vr_check_eq "h3: $ANYCAST/32 is now s3's own route (the vif)" "vif $(vr_vif_dev s3)" "$(route_of h3 "$ANYCAST/32")"

# ------------------------------------------------------------------ the anycast address is an ECMP route on h1

want=$(members s2 s3 s4)
t0=$SECONDS
if vr_wait_until 15 route_is h1 "$ANYCAST/32" "$want"; then
	vr_pass "h1: $ANYCAST/32 is an ECMP route of 3 tunnels, to h2, h3 and h4 with the servers' labels ($want, $((SECONDS - t0)) s)"
else
	vr_failed "h1: $ANYCAST/32 is an ECMP route of 3 tunnels ($want): got '$(route_of h1 "$ANYCAST/32")'"
fi
for vm in $SERVERS; do
	vr_check_eq "${VR_VM_HOST[$vm]} keeps its own route to its server $vm (the vif)" \
		"vif $(vr_vif_dev "$vm")" "$(route_of "${VR_VM_HOST[$vm]}" "$ANYCAST/32")"
done
vr_check "c1 pings $ANYCAST (one of the servers answers)" vr_ping_wait c1 "$ANYCAST" 10
group1=$(route_of h1 "$ANYCAST/32" | awk '{ print $2 }')

# ------------------------------------------------------------------ many flows: spread, each on one server

# Receivers: every datagram a server receives, one line each, into rx-VM.
for vm in $SERVERS; do
	vr_bg "udp-$vm" "$vm" socat -u "UDP-RECV:$UDP_PORT,bind=$ANYCAST" "OPEN:$VR_TMP/rx-$vm,creat,append"
done
for vm in $SERVERS; do
	vr_wait_until 5 bash -c "ip netns exec $(vr_ns "$vm") ss -Huln | grep -q ':$UDP_PORT\\b'" ||
		vr_die "the UDP receiver in $vm did not start"
done

# The sender: FLOWS UDP sockets in c1 (distinct source ports: distinct flows) open for the whole test; for
# each file go-N that appears, ROUNDS datagrams on every flow ("flow I phase N round R"), then done-N.
vr_bg sender c1 bash -c '
	fds=()
	for ((i = 0; i < $3; i++)); do exec {fd}>"/dev/udp/$1/$2" || exit 1; fds+=("$fd"); done
	for ((p = 1; ; p++)); do
		while [ ! -e "$5/go-$p" ]; do [ -e "$5/stop" ] && exit 0; sleep 0.05; done
		for ((r = 0; r < $4; r++)); do
			for i in "${!fds[@]}"; do printf "flow %d phase %d round %d\n" "$i" "$p" "$r" >&"${fds[i]}"; done
			sleep 0.02
		done
		touch "$5/done-$p"
	done' _ "$ANYCAST" "$UDP_PORT" "$FLOWS" "$ROUNDS" "$VR_TMP"

received() { cat "$VR_TMP"/rx-s* 2>/dev/null | grep -c " phase $1 "; }
# phase N: send a phase and wait (bounded) until every datagram of it arrived somewhere
phase() {
	touch "$VR_TMP/go-$1"
	vr_wait_until 10 test -e "$VR_TMP/done-$1" || return 1
	vr_wait_until 3 bash -c "[ \$(cat $VR_TMP/rx-s* 2>/dev/null | grep -c ' phase $1 ') -ge $((FLOWS * ROUNDS)) ]"
	return 0
}
# flows_at VM N: the flows of phase N that reached VM, one per line, sorted as comm wants them
flows_at() { awk -v p="$2" '$4 == p { print $2 }' "$VR_TMP/rx-$1" 2>/dev/null | sort -u; }
# split_flows N: the flows of phase N that reached more than one server (the first 5; there should be none)
split_flows() {
	for vm in $SERVERS; do awk -v p="$1" -v vm="$vm" '$4 == p { print $2, vm }' "$VR_TMP/rx-$vm" 2>/dev/null; done |
		sort -u | awk '{ n[$1]++ } END { for (f in n) if (n[f] > 1) print f }' | sort -n | head -n 5 | paste -sd' ' -
}

vr_check "phase 1: c1 sends $FLOWS UDP flows x $ROUNDS datagrams to $ANYCAST" phase 1
vr_check_eq "phase 1: every datagram arrived" $((FLOWS * ROUNDS)) "$(received 1)"
declare -A AT1=()
for vm in $SERVERS; do
	AT1[$vm]=$(flows_at "$vm" 1)
	n=$(grep -c . <<<"${AT1[$vm]}")
	echo "#   $vm (${VR_VM_HOST[$vm]}): $n flows"
	vr_check_range "phase 1: $vm on ${VR_VM_HOST[$vm]} gets a fair share of the $FLOWS flows ($n, >= 15%)" \
		$((FLOWS * 15 / 100)) inf "$n"
done
vr_check_eq "phase 1: each flow reached one server only, all its datagrams" "" "$(split_flows 1)"

# ------------------------------------------------------------------ h1's agent SIGKILL + restart keeps the group

kill_quiet KILL "${AGENT_PID[h1]}"
vr_check "h1's agent restarted after SIGKILL" agent_start h1 2
vr_check "h1's restarted agent is up with the controller (10 s)" \
	vr_wait_until 10 grep -q 'session up' "${AGENT_LOG[h1]}"
vr_wait_until $((STALE + 3)) grep -q 'swept' "${AGENT_LOG[h1]}"
vr_check_eq "after the restart and the stale sweep: the same ECMP group with the same members" \
	"ecmp $group1 $want" "$(route_of h1 "$ANYCAST/32")"
vr_check "phase 2: the same flows again" phase 2
ok=1
for vm in $SERVERS; do [ "$(flows_at "$vm" 2)" = "${AT1[$vm]}" ] || ok=0; done
vr_check_eq "phase 2: every flow reached the same server as before the restart" 1 "$ok"

# ------------------------------------------------------------------ a member goes: only its flows move

vr_check "port del s3 on h3" pctl h3 del "$(vr_vif_dev s3)"
want=$(members s2 s4)
t0=$SECONDS
vr_check "h1: $ANYCAST/32 becomes an ECMP route of h2 and h4 ($want) (10 s)" \
	vr_wait_until 10 route_is h1 "$ANYCAST/32" "$want"
vr_log "#   replaced in $((SECONDS - t0)) s"
vr_check "phase 3: the same flows again" phase 3
vr_check_eq "phase 3: every datagram arrived" $((FLOWS * ROUNDS)) "$(received 3)"
vr_check_eq "phase 3: s3 (port deleted) got nothing" "" "$(flows_at s3 3)"
for vm in s2 s4; do
	stayed=$(comm -23 <(echo "${AT1[$vm]}") <(flows_at "$vm" 3) | grep -c .)
	vr_check_eq "phase 3: every flow $vm had stays at $vm ($(grep -c . <<<"${AT1[$vm]}") flows)" 0 "$stayed"
done
moved=$(comm -12 <(echo "${AT1[s3]}") <(flows_at s2 3 | cat - <(flows_at s4 3) | sort) | grep -c .)
vr_check_eq "phase 3: s3's $(grep -c . <<<"${AT1[s3]}") flows moved to s2 and s4, and only they did" \
	"$(grep -c . <<<"${AT1[s3]}") $FLOWS" \
	"$moved $(($(grep -c . <<<"$(flows_at s2 3)") + $(grep -c . <<<"$(flows_at s4 3)")))"
vr_check_eq "phase 3: each flow reached one server only" "" "$(split_flows 3)"
vr_check "h3: with s3 gone, $ANYCAST/32 is the learned ECMP route of h2 and h4 again (5 s)" \
	vr_wait_until 5 route_is h3 "$ANYCAST/32" "$want"
vr_check "x3 on h3 pings $ANYCAST again" vr_ping_wait x3 "$ANYCAST" 5

# ------------------------------------------------------------------ down to one: a plain tunnel, everything at h2

vr_check "port del s4 on h4" pctl h4 del "$(vr_vif_dev s4)"
vr_check "h1: $ANYCAST/32 becomes a plain tunnel to h2 ($(member s2)) (10 s)" \
	vr_wait_until 10 route_is h1 "$ANYCAST/32" "tunnel $(member s2)"
vr_check "phase 4: the same flows again" phase 4
vr_check_eq "phase 4: all $FLOWS flows reach s2 on h2" "$FLOWS" "$(flows_at s2 4 | grep -c .)"
vr_check_eq "phase 4: every datagram arrived" $((FLOWS * ROUNDS)) "$(received 4)"
touch "$VR_TMP/stop"

vr_check_eq "controller log: no session closed for a rule, bad input or a timeout" "" \
	"$(grep -E 'closed: .*such\)' "$VR_TMP/controller.log")"

echo "# runtime $((SECONDS - t_start)) s"
ctl_logs_on_failure "$VR_TMP"/agent-*.log "$VR_TMP"/controller.log
vr_summary
