#!/bin/bash
# End-to-end test of bpf-vrouter in network namespaces: two vRouter hosts joined by an underlay router, two
# tenants with the same addresses on both hosts, one VM behind a real tap (tapvm). It checks what a VM sees
# (pings, a TCP transfer, tenant isolation), what the underlay carries (tshark decodes MPLS-in-UDP), what the
# kernel reports (bpftool) and what vrouterctl reports (counters, JSON, usage errors).
#
# Run as root after make: bash selftests/e2e.sh. Prints ok/FAIL lines and "N passed, N failed"; exit 0 only
# when everything passed, 4 when nothing could be tested here. VR_VERBOSE=1 shows commands, VR_KEEP=1 keeps
# the logs and captures (they are kept anyway when something failed).

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vr_require_root
vr_require_cmds ip nsenter ethtool ping jq sha256sum
vr_require_build "$VRCTL" "$TAPVM"
vr_require_bpffs
vr_tmp_init e2e
vr_trap_cleanup

START=$SECONDS
echo "# bpf-vrouter end-to-end test, run $VR_ID, temporary files in $VR_TMP"

# ------------------------------------------------------------------ tapvm on its own

tapvm_err=$("$TAPVM" "vr${VR_ID}x" "/run/netns/vr$VR_ID-none" eth0 2>&1)
vr_check_eq "tapvm: a missing network namespace is a clear error, exit 1" \
	"1 tapvm: network namespace /run/netns/vr$VR_ID-none: No such file or directory" "$? $tapvm_err"
vr_check "tapvm: bad usage exits 2" bash -c "'$TAPVM' onlyone >/dev/null 2>&1; [ \$? = 2 ]"

# ------------------------------------------------------------------ topology

vr_topo_up
echo "# topology up in $((SECONDS - START)) s: hosts $(vr_ns h1) $(vr_ns h2), router $(vr_ns rt)," \
	"labels: $(for vm in $VR_TOPO_VMS; do printf '%s=%s ' "$vm" "${VR_VM_LABEL[$vm]}"; done)"

H1NS=$(vr_ns h1)

# ------------------------------------------------------------------ first packet: the monitor resolves the underlay

vr_check_eq "h1 has no underlay neighbour before the first tunnelled packet" "" \
	"$(ip -n "$H1NS" neigh show "${VR_RT_IP[h1]}" | grep lladdr)"
vr_check "first packet t1a -> t1b gets through within 10 s (monitor resolves the underlay neighbour)" \
	vr_ping_wait t1a "${VR_VM_IP[t1b]}" 10
vr_check_range "h1 datapath reported the missing neighbour (drops.unresolved_neigh)" 1 inf \
	"$(vr_drop_stat h1 unresolved_neigh)"
vr_check_match "h1 now has the router as underlay neighbour" "lladdr .*(REACHABLE|STALE|DELAY|PROBE)" \
	"$(ip -n "$H1NS" neigh show "${VR_RT_IP[h1]}")"
vr_check_match "monitor on h1 logged the neighbour it resolved" "${VR_RT_IP[h1]//./\\.}" \
	"$(cat "$VR_TMP/monitor-h1.log")"

# ------------------------------------------------------------------ pings

vr_check "ping same host, tenant 1, veth -> tap (t1a -> t1c)" vr_ping t1a "${VR_VM_IP[t1c]}"
vr_check "ping same host, tenant 1, tap -> veth (t1c -> t1a)" vr_ping t1c "${VR_VM_IP[t1a]}"
vr_check "ping same host, tenant 2, veth -> veth (t2a -> t2c)" vr_ping t2a "${VR_VM_IP[t2c]}"
vr_check "ping across hosts, tenant 1 (t1a -> t1b)" vr_ping t1a "${VR_VM_IP[t1b]}"
vr_check "ping across hosts, tenant 1, tap VM (t1c -> t1b)" vr_ping t1c "${VR_VM_IP[t1b]}"
vr_check "ping across hosts, tenant 1, to the tap VM (t1b -> t1c)" vr_ping t1b "${VR_VM_IP[t1c]}"
vr_check "ping across hosts, tenant 2 (t2a -> t2b)" vr_ping t2a "${VR_VM_IP[t2b]}"
vr_check "ping across hosts, tenant 2 (t2d -> t2c)" vr_ping t2d "${VR_VM_IP[t2c]}"
# VMs reach off-subnet addresses through the gateway: one such packet makes t1a resolve it.
vr_in t1a ping -n -q -c 1 -W 1 10.2.0.1 >/dev/null 2>&1
vr_check_match "t1a resolved its gateway $VR_GW to the vRouter MAC" "lladdr 00:00:5e:00:01:00" \
	"$(ip -n "$(vr_ns t1a)" neigh show "$VR_GW")"
vr_check_match "t1a resolved a routed on-link address to the vRouter MAC" "lladdr 00:00:5e:00:01:00" \
	"$(ip -n "$(vr_ns t1a)" neigh show "${VR_VM_IP[t1b]}")"

# ------------------------------------------------------------------ counters follow the traffic

N=5
r1=$(vr_vif_stat h1 t1a rx_packets); t1=$(vr_vif_stat h1 t1a tx_packets); b1=$(vr_vif_stat h1 t1a rx_bytes)
r2=$(vr_vif_stat h2 t1b rx_packets); t2=$(vr_vif_stat h2 t1b tx_packets)
o2r=$(vr_vif_stat h2 t2b rx_packets); o2t=$(vr_vif_stat h2 t2b tx_packets)
vr_check "ping -c $N t1a -> t1b for the counters" vr_ping t1a "${VR_VM_IP[t1b]}" $N
vr_check_range "stats: t1a vif rx_packets moved by the $N requests" $N $((N + 3)) \
	$(($(vr_vif_stat h1 t1a rx_packets) - r1))
vr_check_range "stats: t1a vif rx_bytes moved by >= $N x 98" $((N * 98)) inf \
	$(($(vr_vif_stat h1 t1a rx_bytes) - b1))
vr_check_range "stats: t1a vif tx_packets moved by the $N replies" $N $((N + 3)) \
	$(($(vr_vif_stat h1 t1a tx_packets) - t1))
vr_check_range "stats: t1b vif (h2) tx_packets moved by the $N requests" $N $((N + 3)) \
	$(($(vr_vif_stat h2 t1b tx_packets) - t2))
vr_check_range "stats: t1b vif (h2) rx_packets moved by the $N replies" $N $((N + 3)) \
	$(($(vr_vif_stat h2 t1b rx_packets) - r2))
vr_check_unchanged "stats: tenant 2's 10.1.0.2 (t2b) saw none of it" "$o2r $o2t" \
	"$(vr_vif_stat h2 t2b rx_packets) $(vr_vif_stat h2 t2b tx_packets)"

# ------------------------------------------------------------------ TCP across hosts

if command -v socat >/dev/null && command -v ss >/dev/null; then
	vr_check "TCP 4 MiB across hosts, tenant 1 (t1a -> t1b), intact" vr_tcp_transfer t1a t1b 5001
	vr_check "TCP 4 MiB across hosts, tenant 2 (t2b -> t2a), intact" vr_tcp_transfer t2b t2a 5002
	vr_check "TCP 4 MiB across hosts from the tap VM (t1c -> t1b), intact" vr_tcp_transfer t1c t1b 5003
	vr_check "TCP 4 MiB same host, tenant 2 (t2c -> t2a), intact" vr_tcp_transfer t2c t2a 5004
else
	vr_skip "TCP transfers: socat or ss missing"
fi

# ------------------------------------------------------------------ tenant isolation

tenant2_counters() {   # every tenant-2 vif's rx and tx packets, both hosts
	local vm
	for vm in $VR_TOPO_VMS; do
		[ "${VR_VM_VRF[$vm]}" = 2 ] || continue
		printf '%s:%s/%s ' "$vm" "$(vr_vif_stat "${VR_VM_HOST[$vm]}" "$vm" rx_packets)" \
			"$(vr_vif_stat "${VR_VM_HOST[$vm]}" "$vm" tx_packets)"
	done
}

before=$(tenant2_counters)
arp0=$(vr_drop_stat h1 arp_no_route)
vr_check_fails "tenant 1 cannot reach 10.1.0.4, which exists only in tenant 2 (ARP)" vr_ping t1a "${VR_VM_IP[t2d]}" 2
vr_check_range "h1 refused to answer ARP for 10.1.0.4 in VRF 1 (drops.arp_no_route)" $((arp0 + 1)) inf \
	"$(vr_drop_stat h1 arp_no_route)"
# The same with the ARP step forced, so that IP packets to 10.1.0.4 do reach the vRouter in VRF 1.
vr_must ip -n "$(vr_ns t1a)" neigh replace "${VR_VM_IP[t2d]}" lladdr 00:00:5e:00:01:00 dev eth0 nud permanent
nr0=$(vr_drop_stat h1 no_route)
vr_check_fails "tenant 1 cannot reach 10.1.0.4 even with a forced ARP entry (IP)" vr_ping t1a "${VR_VM_IP[t2d]}" 2
vr_check_range "h1 dropped the packets for lack of a route in VRF 1 (drops.no_route)" $((nr0 + 2)) inf \
	"$(vr_drop_stat h1 no_route)"
vr_check_unchanged "no tenant-2 vif counter moved on either host" "$before" "$(tenant2_counters)"
# Same address, other tenant: tenant 2's 10.1.0.3 (t2c) answers t2d; tenant 1's 10.1.0.3 (the tap VM) sees nothing.
t1c0="$(vr_vif_stat h1 t1c rx_packets)/$(vr_vif_stat h1 t1c tx_packets)"
vr_check "tenant 2 reaches its own 10.1.0.3 across hosts (t2d -> t2c)" vr_ping t2d "${VR_VM_IP[t2c]}"
vr_check_unchanged "tenant 1's 10.1.0.3 (tap VM t1c) saw none of it" "$t1c0" \
	"$(vr_vif_stat h1 t1c rx_packets)/$(vr_vif_stat h1 t1c tx_packets)"

# ------------------------------------------------------------------ the bytes on the underlay

capture_and_check() {
	local cap=$VR_TMP/underlay.pcapng fields want h1ip h2ip
	if ! vr_capture_start rt "$(vr_rt_dev h2)" "$cap"; then
		vr_failed "underlay capture did not start"
		_vr_show_output "$cap.log"
		return
	fi
	vr_ping t1a "${VR_VM_IP[t1b]}" 3
	vr_ping t2a "${VR_VM_IP[t2b]}" 3
	vr_capture_stop
	fields=$(tshark -n -r "$cap" -d "udp.port==$VR_UDP_PORT,mpls" -o ip.check_checksum:TRUE \
		-T fields -E separator=' ' -E aggregator=',' \
		-e ip.src -e ip.dst -e udp.dstport -e mpls.label -e mpls.bottom -e mpls.ttl -e icmp.type \
		-e ip.checksum.status -e icmp.checksum.status -e udp.srcport 2>"$VR_TMP/tshark-decode.log")
	printf '%s\n' "$fields" >"$VR_TMP/underlay.txt"
	# Fields: outer,inner source  outer,inner destination  UDP port  label  S bit  MPLS TTL  ICMP type
	# outer,inner IP checksum status  ICMP checksum status (1: verified good)  UDP source port
	h1ip=${VR_HOST_IP[h1]//./\\.}
	h2ip=${VR_HOST_IP[h2]//./\\.}
	want="^$h1ip,10\.1\.0\.1 $h2ip,10\.1\.0\.2 $VR_UDP_PORT ${VR_VM_LABEL[t1b]} 1 63 8 1,1 1 [0-9]+$"
	vr_check_match "underlay: tenant 1 echo request h1 -> h2 is MPLS-in-UDP/$VR_UDP_PORT, label ${VR_VM_LABEL[t1b]} (t1b), inner 10.1.0.1 -> 10.1.0.2" "$want" "$fields"
	want="^$h2ip,10\.1\.0\.2 $h1ip,10\.1\.0\.1 $VR_UDP_PORT ${VR_VM_LABEL[t1a]} 1 63 0 1,1 1 [0-9]+$"
	vr_check_match "underlay: tenant 1 echo reply h2 -> h1 carries label ${VR_VM_LABEL[t1a]} (t1a), inner 10.1.0.2 -> 10.1.0.1" "$want" "$fields"
	want="^$h1ip,10\.1\.0\.1 $h2ip,10\.1\.0\.2 $VR_UDP_PORT ${VR_VM_LABEL[t2b]} 1 63 8 1,1 1 [0-9]+$"
	vr_check_match "underlay: tenant 2's same inner addresses travel under label ${VR_VM_LABEL[t2b]} (t2b)" "$want" "$fields"
	vr_check_range "underlay: 12 tunnelled ICMP packets captured, all decoded as MPLS + IPv4 + ICMP" 12 12 \
		"$(printf '%s\n' "$fields" | grep -Ec " $VR_UDP_PORT [0-9]+ 1 63 [08] 1,1 1 [0-9]+$")"
	vr_check_eq "underlay: UDP source ports hashed into 49152..65535" "" \
		"$(printf '%s\n' "$fields" | awk 'NF && ($NF < 49152 || $NF > 65535) { print $NF }')"
}

if command -v tshark >/dev/null; then
	capture_and_check
else
	vr_skip "underlay capture: tshark missing"
fi

# ------------------------------------------------------------------ what the kernel sees

xdp_prog_on() {   # xdp_prog_on H DEV: the name of the XDP program attached to DEV in host H's namespace
	local id
	id=$(vr_nsenter "$1" bpftool -j net show dev "$2" |
		jq -r '[.[0].xdp[]? | (.id // .multi_attachments[0].id // empty)] | first // empty')
	[ -n "$id" ] || { echo none; return; }
	bpftool -j prog show id "$id" | jq -r '.name'
}

xdp_mode_on() {
	vr_nsenter "$1" bpftool -j net show dev "$2" |
		jq -r '[.[0].xdp[]? | (.mode // .multi_attachments[0].mode // empty)] | first // "none"'
}

if command -v bpftool >/dev/null; then
	for h in $VR_TOPO_HOSTS; do
		vr_check_eq "bpftool net: vr_fabric_xdp on $h's fabric $(vr_fabric_dev "$h")" vr_fabric_xdp \
			"$(xdp_prog_on "$h" "$(vr_fabric_dev "$h")")"
	done
	for vm in $VR_TOPO_VMS; do
		if [ "${VR_VM_MODE[$vm]}" = xdp ]; then
			vr_check_eq "bpftool net: vr_vif_xdp in native mode on ${VR_VM_HOST[$vm]}'s vif of $vm (${VR_VM_KIND[$vm]})" \
				"vr_vif_xdp driver" \
				"$(xdp_prog_on "${VR_VM_HOST[$vm]}" "$(vr_vif_dev "$vm")") $(xdp_mode_on "${VR_VM_HOST[$vm]}" "$(vr_vif_dev "$vm")")"
		else
			vr_check_eq "bpftool net: no XDP on ${VR_VM_HOST[$vm]}'s vif of $vm (mode tc)" "none" \
				"$(xdp_prog_on "${VR_VM_HOST[$vm]}" "$(vr_vif_dev "$vm")")"
		fi
		vr_check_match "bpftool net: vr_vif_tc on the ingress of ${VR_VM_HOST[$vm]}'s vif of $vm" \
			"$(vr_vif_dev "$vm")\(.*\) clsact/ingress vr_vif_tc" \
			"$(nsenter --net="/run/netns/$(vr_ns "${VR_VM_HOST[$vm]}")" bpftool net show)"
	done
	vr_check_eq "bpftool net: nothing attached to the router's devices" "none" "$(xdp_prog_on rt "$(vr_rt_dev h1)")"
	vr_check_match "bpftool prog show lists vr_vif_xdp and vr_fabric_xdp" "vr_fabric_xdp.*vr_vif_xdp|vr_vif_xdp.*vr_fabric_xdp" \
		"$(bpftool prog show | grep -Eo 'name vr_[a-z_]+' | tr '\n' ' ')"
	dump=$(bpftool map dump pinned "$(vr_pindir h1)/vr_vifs" 2>&1)
	vr_check_match "bpftool map dump pinned vr_vifs prints BTF-decoded fields" '"vif_id": [0-9]+' "$dump"
	vr_check_eq "bpftool: h1's vr_vifs holds its 4 vifs" 4 "$(printf '%s\n' "$dump" | grep -c '"vif_id"')"
	ifx=$(ip -n "$H1NS" -j link show "$(vr_vif_dev t1c)" | jq '.[0].ifindex')
	vr_check_match "bpftool: the tap vif's entry is keyed by its ifindex $ifx and in VRF 1" \
		"\"key\": $ifx,.*\"vrf_id\": 1," "$(bpftool -j map dump pinned "$(vr_pindir h1)/vr_vifs" |
			jq -c '.[] | {key: (.formatted.key // .key), vrf_id: (.formatted.value.vrf_id // .value.vrf_id)}' |
			sed 's/{"key":\([0-9]*\),"vrf_id":\([0-9]*\)}/"key": \1, "vrf_id": \2,/')"
else
	vr_skip "bpftool checks: bpftool missing"
fi

# ------------------------------------------------------------------ what vrouterctl reports

entry=$(vrctl h1 -j vif list | jq -c --arg n "$(vr_vif_dev t1a)" '.[] | select(.name == $n)')
vr_check_eq "vif list -j: t1a's vif has the configured vrf, mac, ip, gw, mtu" \
	"1 $(vr_vm_mac t1a) 10.1.0.1 $VR_GW $VR_VM_MTU" \
	"$(printf '%s' "$entry" | jq -r '"\(.vrf) \(.mac) \(.ip) \(.gw) \(.mtu)"')"
vr_check_eq "vif list -j: t1a's entry has every documented key" "" \
	"$(printf '%s' "$entry" | jq -r '[("name ifindex vif vrf mac ip gw mtu label" | split(" "))[] as $k | select(has($k) | not) | $k] | join(" ")')"
vr_check_match "route show vrf 1 on h1: t1b's /32 via a tunnel to h2" "10\.1\.0\.2/32.*${VR_HOST_IP[h2]//./\\.}" \
	"$(vrctl h1 route show vrf 1)"
vr_check_match "label show on h2 lists t1b's label" "(^|[^0-9])${VR_VM_LABEL[t1b]}([^0-9]|$)" "$(vrctl h2 label show)"
vr_check "stats -j is valid JSON with vifs and drops" \
	bash -c "nsenter --net=/run/netns/$H1NS '$VRCTL' -d '$(vr_pindir h1)' -j stats |
		jq -e '(.vifs | type == \"array\") and (.drops | type == \"object\") and (.vifs[0] | has(\"rx_packets\") and has(\"drops\"))'"

# Misuse: exit 2, one "Error:" line on stderr, nothing changed.
state() { vrctl h1 -j vif list; vrctl h1 -j route show; vrctl h1 -j vrf list; vrctl h1 -j label show; }
misuse() {   # misuse DESC ARGS...
	local desc=$1 rc err
	shift
	vrctl h1 "$@" >"$VR_TMP/misuse.out" 2>"$VR_TMP/misuse.err"
	rc=$?
	err=$(cat "$VR_TMP/misuse.err")
	if [ "$rc" = 2 ] && [ "$(wc -l <"$VR_TMP/misuse.err")" = 1 ] && [[ "$err" == "Error: "* ]]; then
		vr_pass "usage error, $desc: exit 2, '$err'"
	else
		vr_failed "usage error, $desc: want exit 2 and one 'Error:' line, got exit $rc: $err"
	fi
}
s0=$(state)
misuse "unknown object" frobnicate list
misuse "unknown command" vif frob
misuse "bad IP address" vif add "$(vr_vif_dev t1a)" vrf 1 mac 02:00:00:00:01:09 ip 10.1.0.300
misuse "bad prefix length" route add 10.9.9.0/33 vrf 1 discard
misuse "missing nexthop" route add 10.9.9.0/24 vrf 1
misuse "missing VRF id" vrf add
misuse "bad MAC" vif add "$(vr_vif_dev t1a)" vrf 1 mac 02:00:zz:00:01:09 ip 10.1.0.9
misuse "tunnel without label" route add 10.9.9.0/24 vrf 1 via tunnel 198.18.2.2
vr_check_eq "usage errors changed nothing (vifs, routes, VRFs, labels)" "$s0" "$(state)"

# ------------------------------------------------------------------ still forwarding at the end

vr_check "still forwarding at the end: t2b -> t2a" vr_ping t2b "${VR_VM_IP[t2a]}"
vr_check "still forwarding at the end: t1b -> t1c (tap)" vr_ping t1b "${VR_VM_IP[t1c]}"

echo "# runtime $((SECONDS - START)) s"
vr_summary
