#!/bin/bash
# End-to-end test of route leaking between virtual networks (vrouter-controller --route-target): two hosts
# (h1, h2) around lib.sh's underlay router, one vrouter-controller in the router namespace and one
# vrouter-agent per host. Three virtual networks with their own subnets: vn-a (VRF 1, 10.1.0.0/24), vn-b
# (VRF 2, 10.2.0.0/24) and vn-c (VRF 3, 10.3.0.0/24), one VM of each on each host, attached only through the
# agents' port API. The controller exports and imports vn-a's and vn-b's targets mutually; vn-c exports and
# imports a target nobody else has. Checked: h2's vn-b table holds a1's /32 as a tunnel to h1 with a1's own
# label (the next hop as published in vn-a), the other direction too, and all six tables are exactly what
# leaking gives (nothing of vn-c anywhere else); a VM of vn-a pings a VM of vn-b across
# hosts both ways (the far vRouter's per-interface label delivers straight into the VM); vn-c's VMs reach each
# other but neither vn-a nor vn-b, nor they vn-c, and vn-c's tables hold no 10.1/10.2 route; a port deleted
# in vn-a leaves vn-b's table on the other host too. Same-host leaking is not checked: the controller never
# reflects a route back to the agent that published it, so a1 -> b1 on h1 would need the agent to leak locally.
#
# Run as root after make: bash selftests/e2e_leak.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/ctl_lib.sh"


vr_require_root
vr_require_cmds ip nsenter ethtool ping jq
vr_require_build "$VRCTL" "$AGENT" "$CONTROLLER"
vr_require_bpffs
vr_tmp_init leak
vr_trap_cleanup

echo "# route-leaking end-to-end test, run $VR_ID, temporary files in $VR_TMP"
t_start=$SECONDS

VR_TOPO_HOSTS="h1 h2"
HOLD=3
STALE=3
CTL_IP=198.18.255.1
declare -A VN=([1]=default-domain:admin:vn-a [2]=default-domain:admin:vn-b [3]=default-domain:admin:vn-c)
declare -A GW=([1]=10.1.0.254 [2]=10.2.0.254 [3]=10.3.0.254)

VMS="a1 a2 b1 b2 c1 c2"
VR_VM_HOST+=([a1]=h1 [a2]=h2 [b1]=h1 [b2]=h2 [c1]=h1 [c2]=h2)
VR_VM_VRF+=([a1]=1 [a2]=1 [b1]=2 [b2]=2 [c1]=3 [c2]=3)
VR_VM_IP+=([a1]=10.1.0.1 [a2]=10.1.0.2 [b1]=10.2.0.1 [b2]=10.2.0.2 [c1]=10.3.0.1 [c2]=10.3.0.2)
for vm in $VMS; do
	VR_VM_KIND[$vm]=veth
	VR_VM_MODE[$vm]=tc
done
VR_VM_MODE[a1]=xdp
VR_VM_MODE[b2]=xdp

port_add() {
	local vm=$1 v=${VR_VM_VRF[$1]}
	pctl "${VR_VM_HOST[$vm]}" add "$(vr_vif_dev "$vm")" vrf "$v" mac "$(vr_vm_mac "$vm")" ip "${VR_VM_IP[$vm]}" \
		vn "${VN[$v]}" gw "${GW[$v]}" mtu "$VR_VM_MTU" mode "${VR_VM_MODE[$vm]}"
}
# routes H VRF: VRF's table on host H, one "PREFIX TYPE REMOTE LABEL" a line.
routes() {
	vrctl "$1" -j route show vrf "$2" 2>/dev/null | jq -r '.[] | "\(.prefix) \(.type) \(.remote // .dev // "") \(.label // "")"'
}
route_of() { routes "$1" "$2" | grep "^$3 "; }            # route_of H VRF PREFIX
has_route() { route_of "$@" >/dev/null; }
no_route() { ! has_route "$@" && vrctl "$1" route show vrf "$2" >/dev/null; }
# leaked_ok VM VRF: VM's /32 is in VRF (of another VN) on the other host, as a tunnel to VM's host with
# VM's label.
leaked_ok() {
	local vm=$1 h other
	h=${VR_VM_HOST[$vm]}
	for other in $VR_TOPO_HOSTS; do
		[ "$other" = "$h" ] && continue
		[ "$(route_of "$other" "$2" "${VR_VM_IP[$vm]}/32")" = \
			"${VR_VM_IP[$vm]}/32 tunnel ${VR_HOST_IP[$h]} $(port_label "$vm")" ] || return 1
	done
}

# ------------------------------------------------------------------ topology, controller, agents

vr_topo_underlay
vr_must ip -n "$(vr_ns rt)" addr add "$CTL_IP/32" dev lo
for vm in $VMS; do
	# Each VN its own subnet and gateway (the address the vRouter answers ARP for).
	VR_GW=${GW[${VR_VM_VRF[$vm]}]} vr_topo_vm "$vm"
done
vr_bg controller rt "$CONTROLLER" -l "$CTL_IP" -p 5269 --hold "$HOLD" -v \
	--route-target "${VN[1]}:export:target:64512:101" --route-target "${VN[1]}:import:target:64512:102" \
	--route-target "${VN[2]}:export:target:64512:102" --route-target "${VN[2]}:import:target:64512:101" \
	--route-target "${VN[3]}:export:target:64512:103" --route-target "${VN[3]}:import:target:64512:103"
vr_wait_until 5 bash -c "ip netns exec $(vr_ns rt) ss -Htln | grep -qF '$CTL_IP:5269 '" ||
	{ cat "$VR_TMP/controller.log" >&2; vr_die "vrouter-controller did not listen"; }
vr_check_match "the controller logs the import map (vn-a into vn-b)" \
	"route leaking: the routes of ${VN[1]} are reflected into ${VN[2]} \(target:64512:101\)" "$(cat "$VR_TMP/controller.log")"
for h in $VR_TOPO_HOSTS; do
	vr_register_pindir "$(vr_ns "$h")" "$(vr_pindir "$h")"
	vr_agent_yaml "$h" debug "$HOLD" "$STALE" "$CTL_IP"
	vr_bg "agent-$h" "$h" "$AGENT" -c "$VR_TMP/agent-$h.yaml" -f
	vr_wait_until 10 pctl "$h" list || { tail -n 20 "$VR_TMP/agent-$h.log" >&2; vr_die "vrouter-agent on $h did not start serving"; }
done
for vm in $VMS; do
	vr_check "port add $vm (${VR_VM_HOST[$vm]}, ${VN[${VR_VM_VRF[$vm]}]}, ${VR_VM_IP[$vm]})" port_add "$vm"
done

# ------------------------------------------------------------------ leaked routes in the tables

t0=$SECONDS
all_leaked() { leaked_ok a1 2 && leaked_ok a2 2 && leaked_ok b1 1 && leaked_ok b2 1; }
if vr_wait_until 15 all_leaked; then
	vr_pass "vn-a's /32s are in vn-b's table on the other host and vn-b's in vn-a's, as tunnels with the VMs' own labels ($((SECONDS - t0)) s)"
else
	vr_failed "leaked routes within 15 s"
	for h in $VR_TOPO_HOSTS; do for v in 1 2 3; do routes "$h" "$v" | sed "s/^/#   $h vrf $v: /"; done; done
fi
vr_check_eq "h2's vn-b route to a1: a tunnel to h1 with a1's label" \
	"10.1.0.1/32 tunnel ${VR_HOST_IP[h1]} $(port_label a1)" "$(route_of h2 2 10.1.0.1/32)"
# The whole tables: vn-a and vn-b hold each other's remote /32s besides their own, never the ones of VMs on
# the same host in the other VN (not reflected back to their origin); vn-c holds its own only, and its
# routes are in no other table.
declare -A WANT=(
	[h1 1]="10.1.0.1/32 vif,10.1.0.2/32 tunnel,10.2.0.2/32 tunnel"
	[h1 2]="10.1.0.2/32 tunnel,10.2.0.1/32 vif,10.2.0.2/32 tunnel"
	[h1 3]="10.3.0.1/32 vif,10.3.0.2/32 tunnel"
	[h2 1]="10.1.0.1/32 tunnel,10.1.0.2/32 vif,10.2.0.1/32 tunnel"
	[h2 2]="10.1.0.1/32 tunnel,10.2.0.1/32 tunnel,10.2.0.2/32 vif"
	[h2 3]="10.3.0.1/32 tunnel,10.3.0.2/32 vif")
table() { routes "$1" "$2" | cut -d' ' -f1,2 | sort | paste -sd, -; }
tables_ok() {
	local h v
	for h in $VR_TOPO_HOSTS; do for v in 1 2 3; do [ "$(table "$h" "$v")" = "${WANT[$h $v]}" ] || return 1; done; done
}
vr_wait_until 10 tables_ok   # the same-VN routes may come a moment after the leaked ones
for h in $VR_TOPO_HOSTS; do
	for v in 1 2 3; do
		vr_check_eq "$h: the ${VN[$v]##*:} table (VRF $v) is exactly what leaking gives" "${WANT[$h $v]}" \
			"$(table "$h" "$v")"
	done
done
same_vn_ok() { has_route h1 1 10.1.0.2/32 && has_route h1 3 10.3.0.2/32; }
vr_check "same VN still reflected: a2's /32 in vn-a on h1, c2's in vn-c on h1" same_vn_ok

# ------------------------------------------------------------------ traffic

for pair in "a1 b2" "b2 a1" "a2 b1" "b1 a2" "a1 a2" "b1 b2" "c1 c2"; do
	set -- $pair
	vr_check "${VN[${VR_VM_VRF[$1]}]##*:} $1 (${VR_VM_HOST[$1]}) -> ${VN[${VR_VM_VRF[$2]}]##*:} $2 (${VR_VM_HOST[$2]}) ${VR_VM_IP[$2]}" \
		vr_ping_wait "$1" "${VR_VM_IP[$2]}" 10
done
vr_check "vn-a -> vn-b across hosts: 20 pings a1 -> b2, none lost" vr_ping a1 "${VR_VM_IP[b2]}" 20

# ------------------------------------------------------------------ the VN without the targets

vr_check_fails "vn-c c1 (h1) cannot reach vn-b's b2 (10.2.0.2)" vr_ping c1 "${VR_VM_IP[b2]}" 2
vr_check_fails "vn-c c1 (h1) cannot reach vn-a's a2 (10.1.0.2)" vr_ping c1 "${VR_VM_IP[a2]}" 2
vr_check_fails "vn-a a1 (h1) cannot reach vn-c's c2 (10.3.0.2)" vr_ping a1 "${VR_VM_IP[c2]}" 2
vr_check_fails "vn-b b1 (h1) cannot reach vn-c's c2 (10.3.0.2)" vr_ping b1 "${VR_VM_IP[c2]}" 2

# ------------------------------------------------------------------ a withdraw leaves the leaked copy too

vr_check "port del a1 on h1" pctl h1 del "$(vr_vif_dev a1)"
vr_check "a1's /32 leaves vn-b's table on h2 (10 s)" vr_wait_until 10 no_route h2 2 10.1.0.1/32
vr_check "and vn-a's table on h2" no_route h2 1 10.1.0.1/32
others_stay() { has_route h1 2 10.1.0.2/32 && vr_ping b1 "${VR_VM_IP[a2]}"; }
vr_check "a2's leaked /32 stays in vn-b on h1, b1 -> a2 still pings" others_stay

echo "# runtime $((SECONDS - t_start)) s"
ctl_logs_on_failure "$VR_TMP"/agent-*.log "$VR_TMP"/controller.log
vr_summary
