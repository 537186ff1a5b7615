#!/bin/bash
# End-to-end test of MPLS-over-GRE (RFC 4023) on the two-host topology of lib.sh, every tunnel route added with
# `encap gre` and the VMs given the GRE tunnel MTU (1472: 28 bytes of overhead, where MPLS-in-UDP takes 32):
# pings and intact TCP transfers between VMs across hosts on the XDP path, the TC path and from a
# hypervisor-style tap with TSO (GSO super-packets encapsulated as GRE); a tshark decode of the underlay shows
# GRE (no flags, protocol 0x8847) + MPLS + inner ICMP/TCP and no MPLS-in-UDP; 1472-byte packets with DF fit
# and VMs with MTU 1500 get ICMP fragmentation needed with MTU 1472 (both paths); on an underlay that
# segments like a wire every GRE segment (TSO and UDP GSO from the VMs) has good checksums and fits 1514 bytes;
# the far host decapsulates in fabric mode tc too; a route switched to MPLS-in-UDP works beside the GRE ones
# (the fabric takes both).
#
# Run as root after make: bash selftests/e2e_gre.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vr_require_root
vr_require_cmds ip nsenter ethtool ping jq sha256sum socat ss tshark
vr_require_build "$VRCTL" "$TAPVM"
vr_require_bpffs
vr_tmp_init e2e-gre
vr_trap_cleanup

# Tenant 1 on the XDP path, tenant 2 on the TC path with a virtio-net tap (t2c) among its VMs.
VR_TOPO_VMS="t1a t1b t2a t2b t2c"
VR_TUNNEL_ENCAP=gre
VR_VM_MTU=1472
GRE_FILTER="ip proto 47 or udp port $VR_UDP_PORT"

START=$SECONDS
echo "# bpf-vrouter MPLS-over-GRE test, run $VR_ID, temporary files in $VR_TMP"
vr_topo_up
vr_check "tunnel up: t1a -> t1b (mode xdp)" vr_ping_wait t1a "${VR_VM_IP[t1b]}" 10
vr_check "tunnel up: t2a -> t2b (mode tc)" vr_ping_wait t2a "${VR_VM_IP[t2b]}" 10

# ------------------------------------------------------------------ the CLI shows the encapsulation

vr_check_eq "route show -j: t1b's /32 on h1 is a GRE tunnel to h2 with t1b's label" \
	"tunnel ${VR_HOST_IP[h2]} ${VR_VM_LABEL[t1b]} gre" \
	"$(vrctl h1 -j route show vrf 1 | jq -r --arg p "${VR_VM_IP[t1b]}/32" \
		'.[] | select(.prefix == $p) | "\(.type) \(.remote) \(.label) \(.encap)"')"
vr_check_match "route show: the text says 'encap gre'" \
	"${VR_VM_IP[t1b]//./\\.}/32 +[0-9]+ +tunnel ${VR_HOST_IP[h2]//./\\.} label ${VR_VM_LABEL[t1b]} encap gre" \
	"$(vrctl h1 route show vrf 1)"
vr_check_eq "nexthop list -j: every tunnel nexthop on h2 is GRE" "gre" \
	"$(vrctl h2 -j nexthop list | jq -r '[.[] | select(.type == "tunnel") | .encap] | unique | join(",")')"

# ------------------------------------------------------------------ traffic, decoded on the underlay

cap=$VR_TMP/gre.pcapng
if vr_capture_start rt "$(vr_rt_dev h2)" "$cap" "$GRE_FILTER"; then
	vr_check "ping across hosts over GRE: t1a -> t1b (XDP path)" vr_ping t1a "${VR_VM_IP[t1b]}"
	vr_check "ping across hosts over GRE: t2a -> t2b (TC path)" vr_ping t2a "${VR_VM_IP[t2b]}"
	vr_check "ping across hosts over GRE: t2b -> t2c (to the virtio-net tap)" vr_ping t2b "${VR_VM_IP[t2c]}"
	vr_check "TCP 4 MiB t1a -> t1b over GRE (XDP path), intact" vr_tcp_transfer t1a t1b 5201 4
	vr_check "TCP 4 MiB t2a -> t2b over GRE (TC path, offloads on), intact" vr_tcp_transfer t2a t2b 5202 4
	rx0=$(vr_vif_stat h1 t2c rx_packets) rxb0=$(vr_vif_stat h1 t2c rx_bytes)
	vr_check "TCP 4 MiB t2c -> t2b over GRE (TSO from the virtio-net tap), intact" vr_tcp_transfer t2c t2b 5203 4
	pkts=$(($(vr_vif_stat h1 t2c rx_packets) - rx0)) bytes=$(($(vr_vif_stat h1 t2c rx_bytes) - rxb0))
	vr_check_range "GSO super-packets from the tap were encapsulated (average frame > 3000 bytes)" 3000 inf \
		$((bytes / (pkts ? pkts : 1)))
	vr_check "TCP 4 MiB t2b -> t2c over GRE, intact" vr_tcp_transfer t2b t2c 5204 4
	vr_capture_stop
	tshark -n -r "$cap" -T fields -E separator=' ' -e ip.proto -e gre.flags_and_version -e gre.proto \
		-e mpls.label -e mpls.bottom -e _ws.col.Protocol >"$VR_TMP/gre.txt" 2>"$VR_TMP/gre.log"
	n=$(grep -c . "$VR_TMP/gre.txt")
	echo "# captured $n frames between the router and h2"
	vr_check_eq "underlay: no MPLS-in-UDP (UDP $VR_UDP_PORT) at all" 0 \
		"$(tshark -n -r "$cap" -Y "udp.port == $VR_UDP_PORT" 2>/dev/null | grep -c .)"
	vr_check_eq "underlay: every frame is IPv4 proto 47, GRE without flags (version 0), protocol 0x8847, one label" \
		"" "$(awk '$1 !~ /^47,/ || $2 != "0x0000" || $3 != "0x8847" || $5 != "1" { print; exit }' "$VR_TMP/gre.txt")"
	vr_check_range "underlay: GRE + MPLS + inner ICMP seen (the pings, both ways)" 12 inf \
		"$(tshark -n -r "$cap" -Y "gre && mpls && icmp" 2>/dev/null | grep -c .)"
	vr_check_range "underlay: GRE + MPLS + inner TCP seen (the transfers)" 1000 inf \
		"$(tshark -n -r "$cap" -Y "gre && mpls && tcp" 2>/dev/null | grep -c .)"
	vr_check_match "underlay: the labels are the ones h2 gave t1b, t2b, t2c" \
		"^(${VR_VM_LABEL[t1b]}|${VR_VM_LABEL[t2b]}|${VR_VM_LABEL[t2c]}|${VR_VM_LABEL[t1a]}|${VR_VM_LABEL[t2a]})$" \
		"$(awk '{ print $4 }' "$VR_TMP/gre.txt" | sort -u)"
else
	vr_failed "underlay capture did not start"
fi

# ------------------------------------------------------------------ MTU: 28 bytes of overhead

vr_check "ping -M do with 1472 bytes (the GRE tunnel MTU, 4 more than MPLS-in-UDP's) gets through (XDP path)" \
	vr_in t1a ping -n -q -M do -s 1444 -c 2 -W 2 "${VR_VM_IP[t1b]}"
vr_check "ping -M do with 1472 bytes gets through (TC path)" \
	vr_in t2a ping -n -q -M do -s 1444 -c 2 -W 2 "${VR_VM_IP[t2b]}"
for vm in t1a t2a; do
	peer=${vm%a}b
	vr_must vr_nsenter "${VR_VM_HOST[$vm]}" ip link set "$(vr_vif_dev "$vm")" mtu 1500
	vr_must vr_in "$vm" ip link set eth0 mtu 1500
	fn0=$(vr_drop_stat h1 frag_needed)
	out=$(vr_in "$vm" ping -n -M do -s 1472 -c 1 -W 2 "${VR_VM_IP[$peer]}" 2>&1)
	vr_check_match "$vm (mode ${VR_VM_MODE[$vm]}): 1500 bytes with DF get ICMP frag needed, mtu 1472" "mtu = 1472" "$out"
	vr_check_range "$vm: counted as frag_needed" $((fn0 + 1)) inf "$(vr_drop_stat h1 frag_needed)"
	vr_must vr_in "$vm" ip route flush cache
	vr_check "$vm: TCP 2 MiB from a VM with MTU 1500 adapts to the GRE tunnel, intact" \
		vr_tcp_transfer "$vm" "$peer" $((5210 + ${VR_VM_VRF[$vm]})) 2
	vr_must vr_in "$vm" ip link set eth0 mtu "$VR_VM_MTU"
	vr_must vr_nsenter "${VR_VM_HOST[$vm]}" ip link set "$(vr_vif_dev "$vm")" mtu "$VR_VM_MTU"
	vr_must vr_in "$vm" ip route flush cache
done

# ------------------------------------------------------------------ GSO segmented as on a wire

for h in $VR_TOPO_HOSTS; do
	vr_must vr_nsenter "$h" ethtool -K "$(vr_fabric_dev "$h")" tso off gso off tx off
done
cap=$VR_TMP/wire.pcapng
if vr_capture_start rt "$(vr_rt_dev h2)" "$cap" "$GRE_FILTER"; then
	vr_check "TCP 2 MiB t2a -> t2b (TSO inside) across a wire-like underlay, intact" vr_tcp_transfer t2a t2b 5220 2
	vr_capture_stop
	tshark -n -r "$cap" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -Y "gre && tcp" -T fields \
		-E separator=' ' -E aggregator=',' -e frame.len -e mpls.label -e ip.checksum.status \
		-e tcp.checksum.status -e tcp.checksum >"$VR_TMP/wire.txt" 2>"$VR_TMP/wire.log"
	n=$(grep -c . "$VR_TMP/wire.txt")
	echo "# captured $n GRE TCP segments on the wire-like underlay"
	vr_check_range "wire: at least 1000 GRE TCP segments" 1000 inf "$n"
	vr_check_eq "wire: outer and inner IPv4 and TCP checksums good in every segment (labels t2b/t2a)" "" \
		"$(awk -v l="${VR_VM_LABEL[t2b]}" -v m="${VR_VM_LABEL[t2a]}" \
			'($2 != l && $2 != m) || $3 != "1,1" || ($4 != "1" && $5 != "0xffff") { print; exit }' "$VR_TMP/wire.txt")"
	vr_check_range "wire: data segments near full size (> 1400 bytes): at least 1000" 1000 inf \
		"$(awk -v l="${VR_VM_LABEL[t2b]}" '$2 == l && $1 > 1400' "$VR_TMP/wire.txt" | wc -l)"
	vr_check_eq "wire: no frame longer than 1514 bytes" "" "$(awk '$1 > 1514 { print; exit }' "$VR_TMP/wire.txt")"
else
	vr_failed "wire capture did not start"
fi
# UDP GSO (UDP_SEGMENT) from a VM on the TC path: encapsulated whole, segmented on the fabric as GRE.
if command -v python3 >/dev/null; then
	cat >"$VR_TMP/uso.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)   # IP_MTU_DISCOVER: IP_PMTUDISC_DO (DF)
s.setsockopt(17, 103, 1400)              # SOL_UDP, UDP_SEGMENT: datagrams of 1400 bytes
for i in range(20):
    s.sendto(bytes([i]) * (1400 * 10), (sys.argv[1], 9))
PY
	cap=$VR_TMP/uso.pcapng
	if vr_capture_start rt "$(vr_rt_dev h2)" "$cap" "$GRE_FILTER"; then
		vr_must vr_in t2a python3 "$VR_TMP/uso.py" "${VR_VM_IP[t2b]}"
		vr_capture_stop
		vr_check_eq "wire: 20 UDP GSO sends of 10 x 1400 bytes cross as 200 GRE segments of 1470 bytes, checksums good" \
			"200 1470 1,1 1" "$(tshark -n -r "$cap" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
				-Y "gre && udp && !icmp" -T fields -E separator=' ' -e frame.len -e ip.checksum.status \
				-e udp.checksum.status 2>/dev/null | sort | uniq -c | awk '{ $1 = $1; print }')"
	else
		vr_failed "UDP GSO capture did not start"
	fi
else
	vr_skip "UDP GSO over GRE: no python3 to send with UDP_SEGMENT"
fi
for h in $VR_TOPO_HOSTS; do
	vr_must vr_nsenter "$h" ethtool -K "$(vr_fabric_dev "$h")" tso on gso on tx on
done

# ------------------------------------------------------------------ both encapsulations, both fabric modes

# t1b's route on h1 goes back to MPLS-in-UDP: h2 decapsulates it beside the GRE it also receives.
vr_must vrctl h1 route del "${VR_VM_IP[t1b]}/32" vrf 1
vr_must vrctl h1 route add "${VR_VM_IP[t1b]}/32" vrf 1 via tunnel "${VR_HOST_IP[h2]}" label "${VR_VM_LABEL[t1b]}" encap udp
vr_check_eq "nexthop list -j on h1: both encapsulations in use" "gre,udp" \
	"$(vrctl h1 -j nexthop list | jq -r '[.[] | select(.type == "tunnel") | .encap] | unique | join(",")')"
vr_check "t1a -> t1b in MPLS-in-UDP, replies in GRE" vr_ping t1a "${VR_VM_IP[t1b]}"
vr_check "t2a -> t2b still in GRE" vr_ping t2a "${VR_VM_IP[t2b]}"

# h2 decapsulates in TC (fabric mode tc: no XDP on its fabric): GRE and UDP again.
vr_must vrctl h2 load fabric "$(vr_fabric_dev h2)" host-ip "${VR_HOST_IP[h2]}" udp-port "$VR_UDP_PORT" fabric-mode tc
vr_check_eq "h2's fabric runs no XDP in fabric mode tc" 0 \
	"$(vr_nsenter h2 bpftool -j net show dev "$(vr_fabric_dev h2)" | jq -r '[.[0].xdp[]?] | length')"
vr_check "fabric mode tc: ping t2a -> t2b over GRE" vr_ping t2a "${VR_VM_IP[t2b]}"
vr_check "fabric mode tc: ping t1a -> t1b over MPLS-in-UDP" vr_ping t1a "${VR_VM_IP[t1b]}"
vr_check "fabric mode tc: TCP 4 MiB t2c -> t2b over GRE (GSO), intact" vr_tcp_transfer t2c t2b 5230 4
vr_check "fabric mode tc: TCP 2 MiB t2b -> t2a over GRE, decapsulated on h1 in XDP, intact" \
	vr_tcp_transfer t2b t2a 5231 2

for h in $VR_TOPO_HOSTS; do
	for r in gre_unsupported malformed unknown_endpoint bad_label; do
		vr_check_eq "$h: no $r drops" 0 "$(vr_drop_stat "$h" "$r")"
	done
done
echo "# runtime $((SECONDS - START)) s"
vr_summary
