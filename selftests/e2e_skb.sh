#!/bin/bash
# End-to-end test of the skb path (vifs in mode tc) and of MTU handling, on the two-host topology of lib.sh:
# GSO super-packets from a hypervisor-style tap (virtio-net header, TSO, checksum offload) are tunnelled
# and arrive intact; iperf3 TCP bulk completes without a retransmission storm; a capture on an underlay
# that segments like a wire shows MPLS-in-UDP segments with valid outer and inner checksums; a packet too
# big for the tunnel gets ICMP "fragmentation needed" with the tunnel MTU (XDP and TC paths), ping -M do
# and the VM's route cache learn it, and TCP from a VM whose MTU is too large adapts and completes.
#
# Run as root after make: bash selftests/e2e_skb.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vr_require_root
vr_require_cmds ip nsenter ethtool ping jq sha256sum socat ss tshark iperf3
vr_require_build "$VRCTL" "$TAPVM"
vr_require_bpffs
vr_tmp_init e2e-skb
vr_trap_cleanup

START=$SECONDS
echo "# bpf-vrouter skb path / MTU test, run $VR_ID, fabric mode ${VR_FABRIC_MODE:-default}, temporary files in $VR_TMP"
vr_topo_up
if [ -n "${VR_FABRIC_MODE:-}" ]; then
	vr_check_eq "h2's fabric runs XDP only in fabric mode xdp" \
		"$([ "$VR_FABRIC_MODE" = xdp ] && echo 1 || echo 0)" \
		"$(vr_nsenter h2 bpftool -j net show dev "$(vr_fabric_dev h2)" | jq -r '[.[0].xdp[]?] | length')"
fi
vr_check "tunnel up: t2a -> t2b" vr_ping_wait t2a "${VR_VM_IP[t2b]}" 10
vr_check "tunnel up: t1a -> t1b" vr_ping_wait t1a "${VR_VM_IP[t1b]}" 10
vr_check_eq "t2c's vif is a tap in mode tc" "tap tc" \
	"$(vrctl h1 -j vif list | jq -r --arg n "$(vr_vif_dev t2c)" '.[] | select(.name == $n) | "\(.kind) \(.mode)"')"

# ------------------------------------------------------------------ GSO from a hypervisor-style tap

rx0=$(vr_vif_stat h1 t2c rx_packets) rxb0=$(vr_vif_stat h1 t2c rx_bytes)
vr_check "TCP 8 MiB from the virtio-net tap VM across hosts (t2c -> t2b), intact" vr_tcp_transfer t2c t2b 5101 8
pkts=$(($(vr_vif_stat h1 t2c rx_packets) - rx0)) bytes=$(($(vr_vif_stat h1 t2c rx_bytes) - rxb0))
avg=$((bytes / (pkts ? pkts : 1)))
echo "# t2c's vif received $pkts frames, $bytes bytes: $avg bytes per frame"
vr_check_range "GSO super-packets arrived on the tap vif (average frame > 3000 bytes, MTU 1468)" 3000 inf "$avg"
vr_check "TCP 8 MiB to the virtio-net tap VM across hosts (t2b -> t2c), intact" vr_tcp_transfer t2b t2c 5102 8

# ------------------------------------------------------------------ iperf3 bulk TCP through the tunnel

iperf_run() {   # iperf_run FROM TO SECONDS: JSON of an iperf3 run from FROM to TO
	local from=$1 to=$2 secs=$3
	vr_in "$to" iperf3 -s -1 -B "${VR_VM_IP[$to]}" -p 5201 >/dev/null 2>&1 9>&- &
	local pid=$!
	vr_register_pid "$pid"
	vr_wait_until 5 bash -c "ip netns exec '$(vr_ns "$to")' ss -Htln 'sport = :5201' | grep LISTEN >/dev/null"
	vr_in "$from" iperf3 -c "${VR_VM_IP[$to]}" -p 5201 -t "$secs" -J 2>/dev/null
	wait "$pid" 2>/dev/null
}
json=$(iperf_run t2a t2b 3)
sent=$(jq -r '.end.sum_sent.bytes // 0' <<<"$json")
recv=$(jq -r '.end.sum_received.bytes // 0' <<<"$json")
retr=$(jq -r '.end.sum_sent.retransmits // -1' <<<"$json")
gbps=$(jq -r '(.end.sum_received.bits_per_second // 0) / 1e9 | . * 100 | floor / 100' <<<"$json")
echo "# iperf3 t2a -> t2b (mode tc, offloads on): $gbps Gbit/s, $recv bytes received, $retr retransmits"
vr_check_range "iperf3 t2a -> t2b moved more than 100 MB in 3 s" 100000000 inf "$recv"
# sum_sent counts what was written to the socket, some of it still in flight when the run ends.
vr_check_range "iperf3 t2a -> t2b: the receiver got at least 90% of what was sent ($sent bytes)" \
	$((sent * 9 / 10)) "$sent" "$recv"
# Segments are ~1400 bytes: a storm would be thousands; a handful at slow start is normal.
vr_check_range "iperf3 t2a -> t2b: no retransmission storm (< 0.1% of segments)" 0 $((recv / 1400 / 1000)) "$retr"

# ------------------------------------------------------------------ checksums on an underlay like a wire

# Segmentation and checksums in software on the hosts' fabric NICs: what crosses the router is what a wire
# would carry, with every checksum final.
for h in $VR_TOPO_HOSTS; do
	vr_must vr_nsenter "$h" ethtool -K "$(vr_fabric_dev "$h")" tso off gso off tx off
done
cap=$VR_TMP/wire.pcapng
if vr_capture_start rt "$(vr_rt_dev h2)" "$cap"; then
	vr_check "TCP 2 MiB t2a -> t2b across a wire-like underlay, intact" vr_tcp_transfer t2a t2b 5103 2
	vr_capture_stop
	tshark -n -r "$cap" -d "udp.port==$VR_UDP_PORT,mpls" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
		-Y tcp -T fields -E separator=' ' -E aggregator=',' \
		-e frame.len -e mpls.label -e ip.checksum.status -e tcp.checksum.status -e udp.checksum -e tcp.checksum \
		>"$VR_TMP/wire.txt" 2>"$VR_TMP/wire.log"
	n=$(grep -c . "$VR_TMP/wire.txt")
	echo "# captured $n tunnelled TCP segments on the wire-like underlay"
	vr_check_range "wire: at least 1000 tunnelled TCP segments captured" 1000 inf "$n"
	# Data towards t2b carries t2b's label, ACKs back towards t2a carry t2a's. A TCP checksum that sums to
	# zero may be sent as 0xffff (the other zero of ones' complement), which tshark flags: it is good.
	vr_check_eq "wire: every segment is MPLS-in-UDP (labels ${VR_VM_LABEL[t2b]}/${VR_VM_LABEL[t2a]}), outer+inner IPv4 and TCP checksums good" \
		"" "$(awk -v l="${VR_VM_LABEL[t2b]}" -v m="${VR_VM_LABEL[t2a]}" \
			'($2 != l && $2 != m) || $3 != "1,1" || ($4 != "1" && $6 != "0xffff") { print; exit }' "$VR_TMP/wire.txt")"
	vr_check_range "wire: data segments towards t2b (label ${VR_VM_LABEL[t2b]}) near full size: at least 1000 of > 1400 bytes" \
		1000 inf "$(awk -v l="${VR_VM_LABEL[t2b]}" '$2 == l && $1 > 1400' "$VR_TMP/wire.txt" | wc -l)"
	vr_check_eq "wire: no frame longer than 1514 bytes (the underlay MTU holds)" "" \
		"$(awk '$1 > 1514 { print; exit }' "$VR_TMP/wire.txt")"
	vr_check_eq "wire: outer UDP checksum is zero (RFC 7510 over IPv4)" "" \
		"$(awk '$5 != "0x0000" { print; exit }' "$VR_TMP/wire.txt")"
else
	vr_failed "wire capture did not start"
fi
for h in $VR_TOPO_HOSTS; do
	vr_must vr_nsenter "$h" ethtool -K "$(vr_fabric_dev "$h")" tso on gso on tx on
done

# ------------------------------------------------------------------ MTU: ICMP fragmentation needed, PMTU

# VMs whose MTU (1500) is larger than the tunnel's (1500 - 32 = 1468), on both paths.
big_mtu() {   # big_mtu VM: both ends of VM's link at 1500
	vr_must vr_nsenter "${VR_VM_HOST[$1]}" ip link set "$(vr_vif_dev "$1")" mtu 1500
	vr_must vr_in "$1" ip link set eth0 mtu 1500
}
for vm in t1a t2a; do
	big_mtu "$vm"
	host=${VR_VM_HOST[$vm]}
	peer=${vm%a}b
	fn0=$(vr_drop_stat "$host" frag_needed)
	out=$(vr_in "$vm" ping -n -M do -s 1472 -c 1 -W 2 "${VR_VM_IP[$peer]}" 2>&1)
	vr_check_match "$vm (mode ${VR_VM_MODE[$vm]}): ping -M do with 1500 bytes gets ICMP frag needed, mtu 1468" \
		"mtu = 1468" "$out"
	vr_check_range "$vm: the vRouter counted it (drops.frag_needed)" $((fn0 + 1)) inf "$(vr_drop_stat "$host" frag_needed)"
	out=$(vr_in "$vm" ping -n -M do -s 1472 -c 1 -W 2 "${VR_VM_IP[$peer]}" 2>&1)
	vr_check_match "$vm: the next ping -M do is refused locally with the learnt MTU 1468" "mtu ?= ?1468" "$out"
	vr_check "$vm: ping -M do with 1468 bytes (the tunnel MTU) gets through" \
		vr_in "$vm" ping -n -q -M do -s 1440 -c 2 -W 2 "${VR_VM_IP[$peer]}"
	vr_must vr_in "$vm" ip route flush cache
	# UDP with DF (IP_PMTUDISC_DO) and a payload that only fits the VM's own MTU.
	head -c 1472 /dev/zero | vr_in "$vm" socat -u - "UDP4-SENDTO:${VR_VM_IP[$peer]}:9,mtudiscover=2" 2>/dev/null
	sleep 0.2
	vr_check_match "$vm: a DF UDP datagram of 1500 bytes taught the VM the tunnel MTU (route cache mtu 1468)" \
		"mtu 1468" "$(vr_in "$vm" ip route get "${VR_VM_IP[$peer]}")"
	vr_must vr_in "$vm" ip route flush cache
	vr_check "$vm: TCP 4 MiB from a VM with MTU 1500 adapts to the tunnel and arrives intact" \
		vr_tcp_transfer "$vm" "$peer" $((5110 + ${VR_VM_VRF[$vm]})) 4
done

vr_check "still forwarding at the end: t2b -> t2c (virtio-net tap)" vr_ping t2b "${VR_VM_IP[t2c]}"
echo "# runtime $((SECONDS - START)) s"
vr_summary
