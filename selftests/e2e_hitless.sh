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

vr_flow_server

vr_hitless baseline true
reload_both() {
	vrctl h1 load fabric "$(vr_fabric_dev h1)" host-ip "${VR_HOST_IP[h1]}" &
	local p=$!
	vrctl h2 load fabric "$(vr_fabric_dev h2)" host-ip "${VR_HOST_IP[h2]}" || return 1
	wait "$p"
}
vr_hitless reload reload_both
churn_h1() {
	nsenter --net="/run/netns/$(vr_ns h1)" "$CHURN" -d "$(vr_pindir h1)" -v 1 -r "${VR_HOST_IP[h2]}" -n 2000 -t 2 \
		-R 10000
}
vr_hitless churn churn_h1
vr_check_match "churn: about 10,000 route changes a second in vm1's VRF" "changes/s" "$(cat "$VR_TMP/op-churn.log")"
vif_cycle() {
	vrctl h1 route del "${VR_VM_IP[vm3]}/32" vrf 1 &&
		vrctl h1 vif del "$(vr_vif_dev vm3)" &&
		vrctl h1 vif add "$(vr_vif_dev vm3)" vrf 1 mac "$(vr_vm_mac vm3)" ip "${VR_VM_IP[vm3]}" gw "$VR_GW" \
			mtu "$VR_VM_MTU" mode xdp &&
		vrctl h1 route add "${VR_VM_IP[vm3]}/32" vrf 1 via vif "$(vr_vif_dev vm3)"
}
vr_hitless vif-cycle vif_cycle
vr_check "vm3 works again after its vif came back" vr_ping vm3 "${VR_VM_IP[vm1]}"

vr_summary
