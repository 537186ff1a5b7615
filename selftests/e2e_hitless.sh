#!/bin/bash
# Hitless operations under load: a UDP flow at a fixed rate between VMs on two hosts (iperf3, ~6,000
# datagrams/s, numbered, so the receiver counts every loss), counted at both ends (iperf3's sent/lost and the
# vifs' counters: what h1 took from vm1 and what h2 handed to vm2), while the datapath is operated on: the programs reloaded over the running datapath
# (`vrouterctl load` again: links swapped atomically, TC filters replaced in place) on both hosts at once,
# route churn of unrelated prefixes in the flow's VRF (build/churn: 10,000 route adds and deletes a second),
# and another VM's vif added and deleted. Every operation gets its own run of the flow, and in each run the
# vRouters must lose nothing: every datagram vm1 sent is taken by h1's vif and handed to vm2 by h2's, no drop
# counter moves on either host, and whatever iperf3's receiver misses was dropped by vm2's own socket
# (UdpRcvbufErrors: a receiver too slow on a busy machine), after delivery.
#
#   vm1 10.1.0.1 (h1, mode tc) --- h1 == underlay router == h2 --- vm2 10.1.0.2 (h2, mode tc)
#
# Run as root after make: bash selftests/e2e_hitless.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHURN=${CHURN:-$VR_BUILD/churn}
RATE=${VR_HITLESS_RATE:-60M}    # iperf3 -b: 60 Mbit/s of 1200-byte datagrams, about 6,000 a second
SECS=${VR_HITLESS_SECONDS:-4}

vr_require_root
vr_require_cmds ip nsenter ethtool ping jq iperf3 timeout nstat bc paste
vr_require_build "$VRCTL" "$CHURN"
vr_require_bpffs
vr_tmp_init hitless
vr_trap_cleanup

VR_TOPO_VMS="vm1 vm2 vm3"
VR_VM_HOST+=([vm1]=h1 [vm2]=h2 [vm3]=h1)
VR_VM_VRF+=([vm1]=1 [vm2]=1 [vm3]=1)
VR_VM_IP+=([vm1]=10.1.0.1 [vm2]=10.1.0.2 [vm3]=10.1.0.3)
VR_VM_KIND+=([vm1]=veth [vm2]=veth [vm3]=veth)
VR_VM_MODE+=([vm1]=tc [vm2]=tc [vm3]=xdp)

echo "# hitless operations under load, run $VR_ID, temporary files in $VR_TMP"
vr_topo_up
vr_check "vm1 reaches vm2 before the test" vr_ping_wait vm1 "${VR_VM_IP[vm2]}" 10

# Not through vr_in (a function, so &'d it would be a subshell whose child a kill at cleanup misses).
ip netns exec "$(vr_ns vm2)" iperf3 -s -B "${VR_VM_IP[vm2]}" -p 5301 >"$VR_TMP/iperf3-server.log" 2>&1 9>&- &
vr_register_pid $!
vr_wait_until 5 bash -c "ip netns exec $(vr_ns vm2) ss -Htln 'sport = :5301' | grep -q LISTEN"

# vif counters of the flow: vm1's rx on h1, vm2's tx on h2.
flow_counters() {
	echo "$(vr_vif_stat h1 vm1 rx_packets) $(vr_vif_stat h2 vm2 tx_packets)" \
		"$(vr_in vm2 nstat -az UdpRcvbufErrors | awk '/UdpRcvbufErrors/ { print $2 }')" \
		"$(for h in h1 h2; do vrctl "$h" -j stats | jq '[.drops[]] | add'; done | paste -sd+ | bc)"
}

# hitless NAME CMD...: run the flow for SECS s, start CMD 1 s into it (in the background), then check that
# the receiver lost nothing and that both hosts' vifs counted what was sent.
hitless() {
	local name=$1 json sent lost before after op_pid op_rc
	shift
	before=$(flow_counters)
	vr_in vm1 timeout $((SECS + 10)) iperf3 -u -c "${VR_VM_IP[vm2]}" -B "${VR_VM_IP[vm1]}" -p 5301 -b "$RATE" \
		-l 1200 -t "$SECS" -J >"$VR_TMP/iperf3-$name.json" 2>&1 9>&- &
	local client=$!
	sleep 1
	"$@" >"$VR_TMP/op-$name.log" 2>&1 &
	op_pid=$!
	wait "$op_pid"
	op_rc=$?
	wait "$client"
	after=$(flow_counters)
	json=$VR_TMP/iperf3-$name.json
	sent=$(jq -r '.end.sum.packets // empty' "$json" 2>/dev/null)
	lost=$(jq -r '.end.sum.lost_packets // empty' "$json" 2>/dev/null)
	vr_check_eq "$name: the operation succeeded" 0 "$op_rc"
	[ "$op_rc" = 0 ] || sed 's/^/#   /' "$VR_TMP/op-$name.log" | tail -5
	vr_check_range "$name: the flow ran at its rate ($sent datagrams in ${SECS} s)" $((SECS * 5000)) inf "${sent:-0}"
	read -r rx0 tx0 sock0 drop0 <<<"$before"
	read -r rx1 tx1 sock1 drop1 <<<"$after"
	vr_check_range "$name: h1 took every datagram from vm1 (vif rx)" "${sent:-1}" $((${sent:-1} + 20)) $((rx1 - rx0))
	vr_check_range "$name: h2 handed every datagram to vm2 (vif tx)" "${sent:-1}" $((${sent:-1} + 20)) $((tx1 - tx0))
	vr_check_eq "$name: no drop counted on either vRouter" 0 $((drop1 - drop0))
	vr_check_eq "$name: what the receiver missed ($lost) was dropped by vm2's own socket after delivery" \
		"${lost:-missing}" $((sock1 - sock0))
}

hitless baseline true
reload_both() {
	vrctl h1 load fabric "$(vr_fabric_dev h1)" host-ip "${VR_HOST_IP[h1]}" &
	local p=$!
	vrctl h2 load fabric "$(vr_fabric_dev h2)" host-ip "${VR_HOST_IP[h2]}" || return 1
	wait "$p"
}
hitless reload reload_both
churn_h1() {
	nsenter --net="/run/netns/$(vr_ns h1)" "$CHURN" -d "$(vr_pindir h1)" -v 1 -r "${VR_HOST_IP[h2]}" -n 2000 -t 2 \
		-R 10000
}
hitless churn churn_h1
vr_check_match "churn: about 10,000 route changes a second in vm1's VRF" "changes/s" "$(cat "$VR_TMP/op-churn.log")"
vif_cycle() {
	vrctl h1 route del "${VR_VM_IP[vm3]}/32" vrf 1 &&
		vrctl h1 vif del "$(vr_vif_dev vm3)" &&
		vrctl h1 vif add "$(vr_vif_dev vm3)" vrf 1 mac "$(vr_vm_mac vm3)" ip "${VR_VM_IP[vm3]}" gw "$VR_GW" \
			mtu "$VR_VM_MTU" mode xdp &&
		vrctl h1 route add "${VR_VM_IP[vm3]}/32" vrf 1 via vif "$(vr_vif_dev vm3)"
}
hitless vif-cycle vif_cycle
vr_check "vm3 works again after its vif came back" vr_ping vm3 "${VR_VM_IP[vm1]}"

vr_summary
