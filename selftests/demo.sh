#!/bin/bash
# make demo: builds the two-host, two-tenant topology of the end-to-end test (the same code, from lib.sh),
# shows what vrouterctl knows, pings across hosts in both tenants, shows the counters, and tears everything
# down. Run as root after make. DEMO_PAUSE=1 waits for Enter between steps.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vr_require_root
vr_require_cmds ip nsenter ethtool ping jq
vr_require_build "$VRCTL" "$TAPVM"
vr_require_bpffs
vr_tmp_init demo
vr_trap_cleanup

step() {
	vr_say "$*"
	if [ "${DEMO_PAUSE:-0}" = 1 ] && [ -t 0 ]; then
		read -r -p "   (Enter to go on) " _
	fi
}
show() {   # show H ARGS...: print the command as an operator would type it, then run it
	local h=$1
	shift
	printf '\n%s$ vrouterctl %s\n' "$h" "$*"
	vrctl "$h" "$@" | sed 's/^/    /'
}
demo_ping() {   # demo_ping VM TARGET_VM
	local from=$1 to=$2
	printf '\n%s (%s, tenant %s on %s)$ ping %s   # %s on %s\n' "$from" "${VR_VM_IP[$from]}" "${VR_VM_VRF[$from]}" \
		"${VR_VM_HOST[$from]}" "${VR_VM_IP[$to]}" "$to" "${VR_VM_HOST[$to]}"
	if vr_in "$from" ping -n -c 3 -i 0.2 -W 2 "${VR_VM_IP[$to]}" | sed 's/^/    /'; then
		DEMO_OK=$((DEMO_OK + 1))
	else
		DEMO_BAD=$((DEMO_BAD + 1))
	fi
}
DEMO_OK=0
DEMO_BAD=0

step "Building the topology (run $VR_ID)"
cat <<EOF
   Two hypervisor hosts, h1 (underlay ${VR_HOST_IP[h1]}) and h2 (${VR_HOST_IP[h2]}), in network namespaces,
   joined by a router namespace. Each host runs the XDP vRouter: vr_fabric_xdp on its underlay NIC and
   vr_vif_xdp on every VM-facing device. Two tenants (VRF 1 and VRF 2) use the SAME addresses:

     tenant 1: t1a 10.1.0.1 on h1, t1b 10.1.0.2 on h2, t1c 10.1.0.3 on h1 (a real tap, relayed by tapvm)
     tenant 2: t2a 10.1.0.1 on h1, t2b 10.1.0.2 on h2, t2c 10.1.0.3 on h1, t2d 10.1.0.4 on h2

   Each VM is a namespace with eth0, 10.1.0.X/24 and a default route via $VR_GW; the vRouter answers ARP
   for the gateway and for every address routed in the VM's VRF with its own MAC 00:00:5e:00:01:00.
   Between hosts, VM traffic travels as MPLS-in-UDP (port $VR_UDP_PORT): the label says which VM it is for.
EOF
t0=$SECONDS
vr_topo_up
echo "   done in $((SECONDS - t0)) s. The commands it ran on h1 were, for instance:"
cat <<EOF
     vrouterctl load fabric $(vr_fabric_dev h1) host-ip ${VR_HOST_IP[h1]}
     vrouterctl vrf add 1 ; vrouterctl vrf add 2
     vrouterctl vif add $(vr_vif_dev t1a) vrf 1 mac $(vr_vm_mac t1a) ip 10.1.0.1 gw $VR_GW mtu $VR_VM_MTU
     vrouterctl route add 10.1.0.1/32 vrf 1 via vif $(vr_vif_dev t1a)
     vrouterctl route add 10.1.0.2/32 vrf 1 via tunnel ${VR_HOST_IP[h2]} label ${VR_VM_LABEL[t1b]}   # t1b's label on h2
   and 'vrouterctl monitor' runs in the background on each host to resolve underlay neighbours.
EOF

step "The virtual interfaces: each vif got an MPLS label from its host"
show h1 vif list
show h2 vif list

step "The routes: local VMs via their vif, remote VMs via a tunnel to the other host with the remote label"
show h1 route show
show h2 route show vrf 2

step "Pings within a host and across hosts, in both tenants"
echo "   (the first packet to a new underlay neighbour waits for the monitor to resolve it)"
vr_ping_wait t1a "${VR_VM_IP[t1b]}" 10 >/dev/null
vr_ping_wait t1b "${VR_VM_IP[t1a]}" 10 >/dev/null
demo_ping t1a t1c
demo_ping t1a t1b
demo_ping t1c t1b
demo_ping t2a t2b
demo_ping t2d t2c

if command -v tshark >/dev/null; then
	step "What the underlay carries: the router's capture of t1a -> t1b and t2a -> t2b, decoded by tshark"
	cap=$VR_TMP/demo.pcapng
	if vr_capture_start rt "$(vr_rt_dev h1)" "$cap"; then
		vr_in t1a ping -n -q -c 1 -W 2 "${VR_VM_IP[t1b]}" >/dev/null
		vr_in t2a ping -n -q -c 1 -W 2 "${VR_VM_IP[t2b]}" >/dev/null
		vr_capture_stop
		printf '\nrt$ tshark -r underlay.pcapng -d udp.port==%s,mpls -T fields ...\n' "$VR_UDP_PORT"
		tshark -n -r "$cap" -d "udp.port==$VR_UDP_PORT,mpls" -T fields -E aggregator=, \
			-e ip.src -e ip.dst -e udp.srcport -e udp.dstport -e mpls.label -e icmp.type 2>/dev/null |
			awk -F'\t' 'BEGIN { printf "    %-13s %-13s %-5s %-5s %-5s %-22s %s\n", "outer src", "outer dst",
					"sport", "dport", "label", "inner src -> dst", "ICMP" }
				{ split($1, s, ","); split($2, d, ",")
				  printf "    %-13s %-13s %-5s %-5s %-5s %-22s %s\n", s[1], d[1], $3, $4, $5,
					s[2] " -> " d[2], $6 == 8 ? "echo request" : "echo reply" }'
		echo "   The same inner addresses, 10.1.0.1 <-> 10.1.0.2, in both tenants: only the MPLS label tells them"
		echo "   apart (h2 gave t1b label ${VR_VM_LABEL[t1b]} and t2b label ${VR_VM_LABEL[t2b]}; h1 gave t1a ${VR_VM_LABEL[t1a]} and t2a ${VR_VM_LABEL[t2a]})."
	fi
fi

step "Tenants are isolated: tenant 1's t1a pings 10.1.0.4, which exists only in tenant 2"
printf '\nt1a$ ping 10.1.0.4\n'
if vr_in t1a ping -n -c 2 -i 0.2 -W 1 10.1.0.4 | sed 's/^/    /'; then
	echo "   UNEXPECTED: tenant 1 reached tenant 2"
	DEMO_BAD=$((DEMO_BAD + 1))
else
	echo "   no answer, as it should be: VRF 1 has no route to 10.1.0.4 (see arp_no_route below)"
	DEMO_OK=$((DEMO_OK + 1))
fi

step "Counters: packets per vif and drops by reason"
show h1 stats
show h2 stats

step "Tearing down"
echo "   $DEMO_OK steps as expected, $DEMO_BAD not"
vr_cleanup
echo "   namespaces deleted, datapaths unloaded, pins removed."
[ "$DEMO_BAD" = 0 ]
