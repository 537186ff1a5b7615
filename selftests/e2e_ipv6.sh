#!/bin/bash
# End-to-end test of the IPv6 overlay on the two-host topology of lib.sh in dual stack (VR_DUAL_STACK: every VM
# has 10.1.0.X/24 and fd00:1::X/64, gateways 10.1.0.254 and fd00:1::fe; both tenants use the same addresses).
# VMs resolve the IPv6 gateway and each other by NDP (answered by the vRouter with its MAC); IPv4 and IPv6
# pings and intact TCP transfers cross hosts on the XDP path (veth, tap), the TC path (veth, and a virtio-net
# tap with TSO: IPv6 GSO super-packets encapsulated) first in MPLS-in-UDP, then with every tunnel route
# replaced by MPLS-over-GRE; tshark decodes the underlay both times (outer IPv4, the label of the far vif,
# inner IPv6 with ICMPv6 echo / TCP, hop limit in the MPLS TTL). Then: tenant isolation for IPv6 (an address of
# tenant 2 only is neither resolved nor reached from tenant 1), Packet Too Big to a VM whose MTU exceeds the
# tunnel's (its kernel caches the path MTU 1468), hop limit 1 dropped and counted.
#
# Run as root after make: bash selftests/e2e_ipv6.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vr_require_root
vr_require_cmds ip nsenter ethtool ping jq sha256sum socat ss tshark
vr_require_build "$VRCTL" "$TAPVM"
vr_require_bpffs
vr_tmp_init e2e-ipv6
vr_trap_cleanup

VR_DUAL_STACK=1
FILTER="ip proto 47 or udp port $VR_UDP_PORT"

START=$SECONDS
echo "# bpf-vrouter IPv6 overlay test, run $VR_ID, temporary files in $VR_TMP"
vr_topo_up
echo "# topology up in $((SECONDS - START)) s"
ip6_of() { vr_vm_ip6 "$1"; }

vr_check "IPv4 tunnel up: t1a -> t1b" vr_ping_wait t1a "${VR_VM_IP[t1b]}" 10
vr_check "IPv6 tunnel up: t1a -> t1b" vr_ping_wait t1a "$(ip6_of t1b)" 10
vr_check_eq "vif list -j: t1a's vif has its IPv6 address and gateway" "$(ip6_of t1a) $VR_GW6" \
	"$(vrctl h1 -j vif list | jq -r --arg n "$(vr_vif_dev t1a)" '.[] | select(.name == $n) | "\(.ip6) \(.gw6)"')"
vr_check_match "route show: t1b's /128 on h1 is a tunnel to h2 with t1b's label" \
	"$(ip6_of t1b)/128 +[0-9]+ +tunnel ${VR_HOST_IP[h2]//./\\.} label ${VR_VM_LABEL[t1b]}" \
	"$(vrctl h1 route show vrf 1)"

# ------------------------------------------------------------------ NDP: the vRouter answers for the gateway

for vm in t1a t2a; do
	# An off-link destination makes the VM resolve its default router.
	vr_in "$vm" ping -6 -n -q -c 1 -W 1 fd00:9::1 >/dev/null 2>&1
	vr_check_match "$vm ($(vr_vif_dev "$vm"), mode ${VR_VM_MODE[$vm]}) resolved its IPv6 gateway to the vRouter MAC, as a router" \
		"lladdr 00:00:5e:00:01:00 router" "$(ip -n "$(vr_ns "$vm")" -6 neigh show "$VR_GW6")"
done
vr_in t1a ping -n -q -c 1 -W 1 "$(ip6_of t1c)" >/dev/null 2>&1
vr_check_match "t1a resolves an on-link IPv6 neighbour (t1c, same host) to the vRouter MAC too" \
	"lladdr 00:00:5e:00:01:00" "$(ip -n "$(vr_ns t1a)" -6 neigh show "$(ip6_of t1c)")"

# ------------------------------------------------------------------ traffic in both encapsulations

# traffic ENCAP: pings both families, both tenants, both paths; TCP over IPv6 (and one IPv4 for company).
traffic() {
	local e=$1
	vr_check "[$e] IPv6 ping same host, tenant 1, veth -> tap (t1a -> t1c)" vr_ping t1a "$(ip6_of t1c)"
	vr_check "[$e] IPv6 ping across hosts, tenant 1, XDP path (t1a -> t1b)" vr_ping t1a "$(ip6_of t1b)"
	vr_check "[$e] IPv6 ping across hosts from the tap VM (t1c -> t1b)" vr_ping t1c "$(ip6_of t1b)"
	vr_check "[$e] IPv6 ping across hosts, tenant 2, TC path (t2a -> t2b)" vr_ping t2a "$(ip6_of t2b)"
	vr_check "[$e] IPv6 ping across hosts, tenant 2, to the virtio-net tap (t2d -> t2c)" vr_ping t2d "$(ip6_of t2c)"
	vr_check "[$e] IPv4 ping across hosts beside it (t1a -> t1b)" vr_ping t1a "${VR_VM_IP[t1b]}"
	vr_check "[$e] IPv4 ping across hosts, tenant 2 (t2a -> t2b)" vr_ping t2a "${VR_VM_IP[t2b]}"
	vr_check "[$e] TCP over IPv6, 4 MiB t1a -> t1b (XDP path), intact" vr_tcp_transfer6 t1a t1b 5301 4
	vr_check "[$e] TCP over IPv6, 4 MiB t2a -> t2b (TC path, offloads on), intact" vr_tcp_transfer6 t2a t2b 5302 4
	rx0=$(vr_vif_stat h1 t2c rx_packets) rxb0=$(vr_vif_stat h1 t2c rx_bytes)
	vr_check "[$e] TCP over IPv6, 4 MiB t2c -> t2b (TSO from the virtio-net tap), intact" vr_tcp_transfer6 t2c t2b 5303 4
	pkts=$(($(vr_vif_stat h1 t2c rx_packets) - rx0)) bytes=$(($(vr_vif_stat h1 t2c rx_bytes) - rxb0))
	vr_check_range "[$e] IPv6 GSO super-packets from the tap were encapsulated (average frame > 3000 bytes)" 3000 inf \
		$((bytes / (pkts ? pkts : 1)))
	vr_check "[$e] TCP over IPv6, 2 MiB t2b -> t2c, intact" vr_tcp_transfer6 t2b t2c 5304 2
	vr_check "[$e] TCP over IPv4, 2 MiB t1b -> t1a, intact" vr_tcp_transfer t1b t1a 5305 2
}

# underlay ENCAP PCAP: what tshark decodes between the router and h2.
underlay() {
	local e=$1 cap=$2 txt=$VR_TMP/underlay-$1.txt want h1ip h2ip
	tshark -n -r "$cap" -d "udp.port==$VR_UDP_PORT,mpls" -T fields -E separator=' ' -E aggregator=',' \
		-e ip.proto -e ip.src -e ip.dst -e mpls.label -e mpls.bottom -e mpls.ttl -e ipv6.src -e ipv6.dst \
		-e ipv6.hlim -e icmpv6.type -e icmpv6.checksum.status \
		-Y "mpls && ipv6 && icmpv6.type == 128 || mpls && ipv6 && icmpv6.type == 129" \
		>"$txt" 2>"$VR_TMP/tshark-$e.log"
	h1ip=${VR_HOST_IP[h1]//./\\.}
	h2ip=${VR_HOST_IP[h2]//./\\.}
	proto=17
	[ "$e" = gre ] && proto=47
	want="^$proto $h1ip $h2ip ${VR_VM_LABEL[t1b]} 1 63 $(ip6_of t1a) $(ip6_of t1b) 63 128 1$"
	vr_check_match "[$e] underlay: t1a's ICMPv6 echo request h1 -> h2: outer IPv4 proto $proto, label ${VR_VM_LABEL[t1b]} (t1b), MPLS TTL = hop limit 63, checksum good" \
		"$want" "$(cat "$txt")"
	want="^$proto $h2ip $h1ip ${VR_VM_LABEL[t1a]} 1 63 $(ip6_of t1b) $(ip6_of t1a) 63 129 1$"
	vr_check_match "[$e] underlay: the echo reply h2 -> h1 carries t1a's label ${VR_VM_LABEL[t1a]}" "$want" "$(cat "$txt")"
	want="^$proto $h1ip $h2ip ${VR_VM_LABEL[t2b]} 1 63 $(ip6_of t2a) $(ip6_of t2b) 63 128 1$"
	vr_check_match "[$e] underlay: tenant 2's same IPv6 addresses travel under label ${VR_VM_LABEL[t2b]} (t2b)" "$want" \
		"$(cat "$txt")"
	vr_check_range "[$e] underlay: TCP over IPv6 inside MPLS seen (the transfers)" 1000 inf \
		"$(tshark -n -r "$cap" -d "udp.port==$VR_UDP_PORT,mpls" -Y "mpls && ipv6 && tcp" 2>/dev/null | grep -c .)"
	if [ "$e" = gre ]; then
		vr_check_eq "[$e] underlay: no MPLS-in-UDP left" 0 \
			"$(tshark -n -r "$cap" -Y "udp.port == $VR_UDP_PORT" 2>/dev/null | grep -c .)"
	else
		vr_check_eq "[$e] underlay: no GRE" 0 "$(tshark -n -r "$cap" -Y gre 2>/dev/null | grep -c .)"
	fi
}

for e in udp gre; do
	if [ "$e" = gre ]; then
		# Every tunnel route of both families, on both hosts, replaced in place by MPLS-over-GRE.
		for vm in $VR_TOPO_VMS; do
			for h in $VR_TOPO_HOSTS; do
				[ "$h" = "${VR_VM_HOST[$vm]}" ] && continue
				for p in "${VR_VM_IP[$vm]}/32" "$(ip6_of "$vm")/128"; do
					vr_must vrctl "$h" route replace "$p" vrf "${VR_VM_VRF[$vm]}" \
						via tunnel "${VR_HOST_IP[${VR_VM_HOST[$vm]}]}" label "${VR_VM_LABEL[$vm]}" encap gre
				done
			done
		done
		vr_check_eq "route show -j: t1b's /128 on h1 is now a GRE tunnel" "tunnel gre" \
			"$(vrctl h1 -j route show vrf 1 | jq -r --arg p "$(ip6_of t1b)/128" \
				'.[] | select(.prefix == $p) | "\(.type) \(.encap)"')"
	fi
	cap=$VR_TMP/underlay-$e.pcapng
	if vr_capture_start rt "$(vr_rt_dev h2)" "$cap" "$FILTER"; then
		traffic "$e"
		vr_capture_stop
		underlay "$e" "$cap"
	else
		vr_failed "[$e] underlay capture did not start"
	fi
done

# ------------------------------------------------------------------ tenant isolation over IPv6

nd0=$(vr_drop_stat h1 nd_no_route)
vr_check_fails "tenant 1 cannot reach fd00:1::4, which exists only in tenant 2 (NDP)" vr_ping t1a "$(ip6_of t2d)" 2
vr_check_range "h1 refused to answer the neighbour solicitation for it in VRF 1 (drops.nd_no_route)" \
	$((nd0 + 1)) inf "$(vr_drop_stat h1 nd_no_route)"
vr_must ip -n "$(vr_ns t1a)" -6 neigh replace "$(ip6_of t2d)" lladdr 00:00:5e:00:01:00 dev eth0 nud permanent
nr0=$(vr_drop_stat h1 no_route) t2d0=$(vr_vif_stat h2 t2d tx_packets)
vr_check_fails "... nor with a forced neighbour entry (IPv6 packets reach VRF 1 and find no route)" \
	vr_ping t1a "$(ip6_of t2d)" 2
vr_check_range "h1 dropped them for lack of a route in VRF 1 (drops.no_route)" $((nr0 + 2)) inf \
	"$(vr_drop_stat h1 no_route)"
vr_check_eq "tenant 2's fd00:1::4 (t2d) saw none of it" "$t2d0" "$(vr_vif_stat h2 t2d tx_packets)"

# ------------------------------------------------------------------ Packet Too Big, hop limit

# t1a's MTU raised above the tunnel's: a 1500-byte IPv6 packet with no room for the 28 bytes of GRE.
vr_must ip -n "$(vr_ns t1a)" link set eth0 mtu 1500
ptb0=$(vr_drop_stat h1 pkt_too_big)
vr_in t1a ping -6 -n -c 2 -i 0.3 -W 1 -s 1452 "$(ip6_of t1b)" >"$VR_TMP/ping-ptb.log" 2>&1
vr_check_range "h1 answered the 1500-byte IPv6 packet with Packet Too Big (drops.pkt_too_big)" $((ptb0 + 1)) inf \
	"$(vr_drop_stat h1 pkt_too_big)"
vr_check_match "t1a's kernel took it: the path MTU to t1b is the GRE tunnel's, 1472" "mtu 1472" \
	"$(ip -n "$(vr_ns t1a)" -6 route get "$(ip6_of t1b)")"
vr_check "t1a -> t1b, 1424 bytes of echo data (a 1472-byte packet) pass" \
	bash -c "ip netns exec $(vr_ns t1a) ping -6 -n -q -c 2 -i 0.3 -W 2 -s 1424 $(ip6_of t1b) | grep -q ' 0% packet loss'"
vr_must ip -n "$(vr_ns t1a)" link set eth0 mtu "$VR_VM_MTU"
ttl0=$(vr_drop_stat h1 ttl_exceeded)
vr_check_fails "hop limit 1 from t1a is not forwarded" vr_in t1a ping -6 -n -q -c 1 -W 1 -t 1 "$(ip6_of t1b)"
vr_check_range "h1 counted it (drops.ttl_exceeded)" $((ttl0 + 1)) inf "$(vr_drop_stat h1 ttl_exceeded)"

for h in $VR_TOPO_HOSTS; do
	for r in malformed unknown_endpoint bad_label inner_proto spoofed_ip spoofed_mac; do
		vr_check_eq "$h: no $r drops" 0 "$(vr_drop_stat "$h" "$r")"
	done
done
echo "# runtime $((SECONDS - START)) s"
vr_summary
