#!/bin/bash
# End-to-end test of the gateway (VNGW): two tenants with the same addresses on two hosts reach an external
# host through a third host that is their gateway, which source-NATs them to each tenant's public address,
# maps a floating IP to one VM, and learns its way out by BGP (BIRD 2) from a border router.
#
#   t1a 10.1.0.1 (vrf 1), t2a 10.1.0.1 (vrf 2) - h1 --+
#                                                      rt -- h3 gateway (AS 65001) 192.0.2.1 == 192.0.2.2 br (AS 65000)
#   t1b 10.1.0.2 (vrf 1), t2b 10.1.0.2 (vrf 2) - h2 --+          203.0.113.1 br -- (MTU 1400) -- ext 203.0.113.10
#
# h1 and h2 send each tenant's 0.0.0.0/0 through a tunnel to the gateway with the gateway's per-VRF label; the
# gateway's VRFs route 0.0.0.0/0 'via external' and the VMs' /32s back through tunnels. Tenant 1 (XDP path)
# leaves as 198.51.100.1, tenant 2 (TC path, offloads on) as 198.51.100.2; t1b has the floating IP
# 198.51.100.11. The border originates the default route the gateway's kernel learns by eBGP; the gateway
# announces 198.51.100.0/24 to it. Checked with real packets (ping, TCP transfers with digests, UDP, tshark on
# the external host, counters):
#   - BGP: the gateway's only way out is the default route BIRD installed; the border learned the public prefix;
#   - both tenants (same private address) ping the external host at once and it sees 198.51.100.1 and .2;
#     TCP transfers (XDP and TC paths) intact, UDP both ways, `nat list -j` shows the connections per tenant;
#   - the floating IP: reachable from outside by ping, TCP and UDP (t1b sees the real source); t1b's own
#     outbound leaves as 198.51.100.11 and makes no connection entry; tenant 2 reaches it too (hairpin);
#   - PMTU through NAT: the border's Fragmentation Needed (link MTU 1400) reaches the VM, whose route gets
#     mtu 1400 (both tenants);
#   - withdrawing the border's default route takes it out of the gateway's kernel: outbound traffic stops as
#     counted external_unreachable drops with nothing sent back into the underlay; restoring it restores traffic;
#   - expiry: with timeout-udp 2 a UDP connection leaves `nat list` within seconds and `nat gc` sweeps it;
#   - a flood of new UDP connections fills a 512-entry table (nat_table_full counted, new connections refused)
#     while a TCP connection opened before keeps carrying data both ways; once the flood's entries expire and
#     are swept, new connections work again.
#
# Run as root after make: bash selftests/e2e_gateway.sh. Prints ok/FAIL lines and "N passed, N failed"; exit 0
# only when everything passed, 4 when BIRD (Debian's bird2, `make deps`) or another tool is missing.
# VR_VERBOSE=1 shows commands, VR_KEEP=1 keeps the BIRD logs and captures (kept anyway when something failed).

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vr_require_root
vr_require_bird
vr_require_cmds ip nsenter ethtool ping jq socat ss sha256sum dumpcap tshark
vr_require_build "$VRCTL"
vr_require_bpffs
vr_tmp_init gateway
vr_trap_cleanup

START=$SECONDS
echo "# gateway (VNGW) test, run $VR_ID, temporary files in $VR_TMP"

# ------------------------------------------------------------------ the plan

VR_TOPO_VMS="t1a t2a t1b t2b"
GW=h3
declare -A VRF_LABEL=([1]=1001 [2]=1002)        # the gateway's per-VRF labels
declare -A SNAT_IP=([1]=198.51.100.1 [2]=198.51.100.2)
FIP_IP=198.51.100.11                            # -> t1b (vrf 1, 10.1.0.2)
PUBLIC_NET=198.51.100.0/24
GW_EXT_IP=192.0.2.1
BR_GW_IP=192.0.2.2
BR_EXT_IP=203.0.113.1
EXT_IP=203.0.113.10
EXT_MTU=1400
NAT_ENTRIES=512                                 # 256 connections
AS_GW=65001
AS_BR=65000
# Devices: the gateway's external NIC (in h3), the border's end of that link, the border's end of the link to
# the external host (whose end is eth0).
GW_DEV=vr${VR_ID}x
BR_GW_DEV=vr${VR_ID}g
BR_EXT_DEV=vr${VR_ID}e

# ------------------------------------------------------------------ the external side and BIRD

external_up() {
	local br ext
	vr_netns_add br
	vr_netns_add ext
	br=$(vr_ns br)
	ext=$(vr_ns ext)
	ip netns exec "$br" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
	vr_must ip link add "$GW_DEV" netns "$(vr_ns "$GW")" type veth peer name "$BR_GW_DEV" netns "$br"
	vr_must ip -n "$(vr_ns "$GW")" addr add "$GW_EXT_IP/30" dev "$GW_DEV"
	vr_must ip -n "$br" addr add "$BR_GW_IP/30" dev "$BR_GW_DEV"
	vr_must ip -n "$(vr_ns "$GW")" link set "$GW_DEV" up
	vr_must ip -n "$br" link set "$BR_GW_DEV" up
	# The gateway redirects translated packets into its external veth with XDP: the border's end must run
	# NAPI (PITFALLS.md). Its own packets to the gateway (BGP) must carry complete checksums: they meet
	# vr_ext_xdp, and XDP loses the "checksum still to compute" state.
	vr_must ip netns exec "$br" ethtool -K "$BR_GW_DEV" gro on tx off
	vr_must ip link add "$BR_EXT_DEV" netns "$br" type veth peer name eth0 netns "$ext"
	vr_must ip -n "$br" addr add "$BR_EXT_IP/24" dev "$BR_EXT_DEV"
	vr_must ip -n "$ext" addr add "$EXT_IP/24" dev eth0
	# The narrow link beyond the border: path MTU discovery through the NAT has something to find.
	vr_must ip -n "$br" link set "$BR_EXT_DEV" mtu "$EXT_MTU" up
	vr_must ip -n "$ext" link set eth0 mtu "$EXT_MTU" up
	# The external host's packets cross the gateway's XDP to the floating IP's VM: complete checksums.
	vr_must ip netns exec "$ext" ethtool -K eth0 tx off
	vr_must ip -n "$ext" route add default via "$BR_EXT_IP"
}

bird_conf_gw() {
	cat <<-EOF
	router id $GW_EXT_IP;
	log stderr all;
	protocol device { scan time 2; }
	# The learned routes into the kernel, where bpf_fib_lookup finds them; and the public prefix as a
	# blackhole (the aggregate's discard route: a packet to an unused public address must not go back out).
	protocol kernel { ipv4 { import none; export where source = RTS_BGP || proto = "public_net"; }; }
	protocol static public_net { ipv4; route $PUBLIC_NET blackhole; }
	protocol bgp border {
		local $GW_EXT_IP as $AS_GW;
		neighbor $BR_GW_IP as $AS_BR;
		hold time 6; keepalive time 2;
		connect delay time 1; connect retry time 2; error wait time 1, 4;
		ipv4 { import all; export where proto = "public_net"; };
	}
	EOF
}

bird_conf_br() {
	cat <<-EOF
	router id $BR_GW_IP;
	log stderr all;
	protocol device { scan time 2; }
	protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }
	# The default route the border offers its customer (disabled and enabled by the test).
	protocol static default4 { ipv4; route 0.0.0.0/0 blackhole; }
	protocol bgp customer {
		local $BR_GW_IP as $AS_BR;
		neighbor $GW_EXT_IP as $AS_GW;
		hold time 6; keepalive time 2;
		connect delay time 1; connect retry time 2; error wait time 1, 4;
		ipv4 { import all; export where proto = "default4"; };
	}
	EOF
}

bird_up() {
	local r
	bird_conf_gw >"$VR_TMP/bird-$GW.conf"
	bird_conf_br >"$VR_TMP/bird-br.conf"
	for r in "$GW" br; do
		vr_must bird -p -c "$VR_TMP/bird-$r.conf"
		# -f: stays in the foreground, so the registered pid is bird's own and cleanup ends it.
		vr_bg "bird-$r" "$r" bird -f -c "$VR_TMP/bird-$r.conf" -s "$VR_TMP/bird-$r.ctl" -P "$VR_TMP/bird-$r.pid"
	done
}

birdc_in() { local r=$1; shift; birdc -s "$VR_TMP/bird-$r.ctl" "$@"; }

gw_default() { ip -n "$(vr_ns "$GW")" route show default; }
gw_has_default() { [ -n "$(gw_default)" ]; }
gw_no_default() { [ -z "$(gw_default)" ]; }

# ------------------------------------------------------------------ the vRouters

# The gateway: the NAT table sized for the flood, per-VRF labels, the VMs' /32s through tunnels to their hosts,
# the external NIC, each tenant's public address and its way out.
gateway_vrouter() {
	local v vm h
	vr_register_pindir "$(vr_ns "$GW")" "$(vr_pindir "$GW")"
	vr_must vrctl "$GW" load fabric "$(vr_fabric_dev "$GW")" host-ip "${VR_HOST_IP[$GW]}" udp-port "$VR_UDP_PORT" \
		nat-entries "$NAT_ENTRIES"
	for v in 1 2; do
		vr_must vrctl "$GW" vrf add "$v" label "${VRF_LABEL[$v]}"
	done
	for vm in $VR_TOPO_VMS; do
		vr_must vrctl "$GW" route add "${VR_VM_IP[$vm]}/32" vrf "${VR_VM_VRF[$vm]}" \
			via tunnel "${VR_HOST_IP[${VR_VM_HOST[$vm]}]}" label "${VR_VM_LABEL[$vm]}"
	done
	vr_must vrctl "$GW" gateway set "$GW_DEV"
	for v in 1 2; do
		vr_must vrctl "$GW" nat snat set vrf "$v" "${SNAT_IP[$v]}"
		vr_must vrctl "$GW" route add 0.0.0.0/0 vrf "$v" via external
	done
	for h in h1 h2; do
		for v in 1 2; do
			vr_must vrctl "$h" route add 0.0.0.0/0 vrf "$v" via tunnel "${VR_HOST_IP[$GW]}" label "${VRF_LABEL[$v]}"
		done
	done
}

# ------------------------------------------------------------------ helpers

# Servers on the external host and in VMs that answer with the address they see the peer at.
# peer_tcp NS PORT / peer_udp NS PORT: one answer per connection or datagram ("from ADDR").
peer_tcp() {
	vr_bg "peer-tcp-$1-$2" "$1" socat "TCP-LISTEN:$2,reuseaddr,fork" SYSTEM:'echo from $SOCAT_PEERADDR'
}
peer_udp() {
	# The child reads the datagram it is handed (cat): a writer into a pipe nobody reads would fail and end
	# before the answer goes back.
	vr_bg "peer-udp-$1-$2" "$1" socat "UDP-RECVFROM:$2,fork" SYSTEM:'echo from $SOCAT_PEERADDR; cat >/dev/null'
}
listening() {   # listening NS PROTO(t|u) PORT
	vr_in "$1" ss -Hln"$2" "sport = :$3" | grep -q .
}
# ask_tcp NS ADDR PORT / ask_udp NS ADDR PORT: what such a server answered (UDP: one datagram each way, from
# a connected socket that takes answers from ADDR:PORT only).
ask_tcp() { vr_in "$1" timeout 5 socat -u "TCP:$2:$3,connect-timeout=3" - 2>/dev/null; }
ask_udp() {
	# head reads the whole datagram at once (bash's read would take one byte of it and lose the rest).
	vr_in "$1" timeout 5 bash -c 'exec 3<>"/dev/udp/$1/$2" && echo hello >&3 && timeout 3 head -n 1 <&3' \
		_ "$2" "$3" 2>/dev/null
}

# nat_conns JQ-FILTER [all]: the connections of `nat list -j` the filter selects, one line each.
nat_conns() {
	vrctl "$GW" -j nat list ${2:+"$2"} | jq -r ".[] | select($1) | \"\(.proto) vrf \(.vrf) \(.src) -> \(.dst) as \(.public)\""
}
nat_stat() { vrctl "$GW" -j nat stats | jq -r "$1"; }

# download VM PORT MIB: the external host serves MIB MiB of random data on PORT, VM connects out and fetches
# it; passes when VM's copy has the digest of the original.
download() {
	local vm=$1 port=$2 src=$VR_TMP/down-$1.src dst=$VR_TMP/down-$1.dst pid
	head -c $(($3 << 20)) /dev/urandom >"$src"
	vr_in ext timeout 30 socat -u "OPEN:$src" "TCP-LISTEN:$port,reuseaddr,bind=$EXT_IP" 2>"$VR_TMP/down-$vm.log" 9>&- &
	pid=$!
	vr_wait_until 5 listening ext t "$port" || { kill "$pid"; wait "$pid"; return 1; }
	vr_in "$vm" timeout 30 socat -u "TCP:$EXT_IP:$port,connect-timeout=5" "OPEN:$dst,creat,trunc" ||
		{ kill "$pid" 2>/dev/null; wait "$pid"; return 1; }
	wait "$pid" || return 1
	[ "$(sha256sum <"$src")" = "$(sha256sum <"$dst")" ]
}

# Packets a device received (namespace short name, device).
rx_packets() { ip -n "$(vr_ns "$1")" -j -s link show "$2" | jq -r '.[0].stats64.rx.packets'; }

# ------------------------------------------------------------------ bring it all up

VR_TOPO_HOSTS="h1 h2 $GW"
vr_topo_underlay
# The link into the gateway behaves like a wire: the router completes pending checksums (CHECKSUM_PARTIAL of
# the mode-tc VMs, which keep their offloads) before the frame reaches the gateway, as a real NIC would. Over
# veths the pending state would travel into the gateway's XDP, which translates and redirects the packet and
# cannot finish that checksum.
vr_must ip netns exec "$(vr_ns rt)" ethtool -K "$(vr_rt_dev "$GW")" tx off
external_up
vr_check_fails "before BGP: the gateway's kernel has no route to the external host" \
	ip -n "$(vr_ns "$GW")" route get "$EXT_IP"
bird_up
for vm in $VR_TOPO_VMS; do
	vr_topo_vm "$vm"
done
# h1 and h2 as in lib.sh (each VM's /32 on both), then the gateway on its own terms.
VR_TOPO_HOSTS="h1 h2"
vr_topo_vrouters
VR_TOPO_HOSTS="h1 h2 $GW"
gateway_vrouter
vr_topo_monitors
echo "# namespaces, vRouters and BIRD up in $((SECONDS - START)) s"

# ------------------------------------------------------------------ BGP: the only way out

t0=$SECONDS
vr_check "bird on the gateway and the border answers" vr_wait_until 5 birdc_in br show status
if vr_wait_until 20 gw_has_default; then
	vr_pass "BGP up: the gateway's kernel learned a default route within 20 s (took $((SECONDS - t0)) s)"
else
	vr_failed "BGP up: no default route on the gateway after 20 s"
	{ birdc_in "$GW" show protocols all border; ip -n "$(vr_ns "$GW")" route; } 2>&1 | sed 's/^/#   /'
fi
vr_check_match "the gateway's default route is the border's, installed by bird" \
	"^default via ${BR_GW_IP//./\\.} dev $GW_DEV proto bird" "$(gw_default)"
vr_check_eq "the gateway has exactly one default route" 1 "$(gw_default | grep -c .)"
vr_check_match "the gateway's BGP session to the border is Established" "Established" \
	"$(birdc_in "$GW" show protocols border)"
vr_check_match "the gateway reaches the external host by that route only" "via ${BR_GW_IP//./\\.} dev $GW_DEV" \
	"$(ip -n "$(vr_ns "$GW")" route get "$EXT_IP")"
vr_check_match "the border learned the public prefix from the gateway by BGP" \
	"^${PUBLIC_NET//./\\.} via ${GW_EXT_IP//./\\.} dev $BR_GW_DEV proto bird" \
	"$(ip -n "$(vr_ns br)" route show "$PUBLIC_NET")"
vr_check_match "the gateway's kernel discards the unused rest of the public prefix (blackhole from bird)" \
	"^blackhole ${PUBLIC_NET//./\\.} proto bird" "$(ip -n "$(vr_ns "$GW")" route show "$PUBLIC_NET")"
vr_check_match "the gateway learned exactly one route from the border: the default" \
	"^0\.0\.0\.0/0 +unicast \[border [^]]*\] \* \(100\) \[AS${AS_BR}i\]$" \
	"$(birdc_in "$GW" show route protocol border | grep -E '^[0-9]')"

# ------------------------------------------------------------------ two tenants, one address, out by SNAT

vr_check "first packet t1a -> external host gets through within 10 s (monitors resolve the neighbours)" \
	vr_ping_wait t1a "$EXT_IP" 10
vr_check "first packet t2a -> external host gets through within 10 s" vr_ping_wait t2a "$EXT_IP" 10
vr_check "first packet t2b (h2) -> external host gets through within 10 s" vr_ping_wait t2b "$EXT_IP" 10

cap=$VR_TMP/ext-icmp.pcapng
if vr_capture_start ext eth0 "$cap" icmp; then
	vr_in t1a ping -n -q -c 5 -i 0.2 -W 2 "$EXT_IP" >"$VR_TMP/ping-t1a.txt" 2>&1 &
	p1=$!
	vr_in t2a ping -n -q -c 5 -i 0.2 -W 2 "$EXT_IP" >"$VR_TMP/ping-t2a.txt" 2>&1 &
	p2=$!
	wait $p1
	r1=$?
	wait $p2
	r2=$?
	vr_capture_stop
	vr_check_eq "t1a (tenant 1, 10.1.0.1) and t2a (tenant 2, 10.1.0.1) ping at once: t1a got its 5 replies" \
		"0 5 received" "$r1 $(grep -o '5 received' "$VR_TMP/ping-t1a.txt")"
	vr_check_eq "... and t2a got its 5 replies" "0 5 received" "$r2 $(grep -o '5 received' "$VR_TMP/ping-t2a.txt")"
	tshark -n -r "$cap" -T fields -e ip.src -e ip.dst -e icmp.type 2>/dev/null | sort | uniq -c |
		awk '{ print $2, $3, $4, $1 }' >"$VR_TMP/ext-icmp.txt"
	vr_check_eq "the external host saw 5 echo requests from ${SNAT_IP[1]} (tenant 1), 5 from ${SNAT_IP[2]}, no other" \
		"${SNAT_IP[1]} $EXT_IP 8 5|${SNAT_IP[2]} $EXT_IP 8 5" \
		"$(awk '$3 == 8' "$VR_TMP/ext-icmp.txt" | paste -sd'|')"
	vr_check_eq "... and answered each public address 5 times" "$EXT_IP ${SNAT_IP[1]} 0 5|$EXT_IP ${SNAT_IP[2]} 0 5" \
		"$(awk '$3 == 0' "$VR_TMP/ext-icmp.txt" | paste -sd'|')"
else
	vr_failed "capture on the external host did not start"
fi
want="icmp vrf 1 10.1.0.1 -> $EXT_IP as ${SNAT_IP[1]}|icmp vrf 2 10.1.0.1 -> $EXT_IP as ${SNAT_IP[2]}"
want+="|icmp vrf 2 10.1.0.2 -> $EXT_IP as ${SNAT_IP[2]}"
vr_check_eq "nat list -j: ICMP of 10.1.0.1 in vrf 1 as ${SNAT_IP[1]}, of 10.1.0.1 and .2 in vrf 2 as ${SNAT_IP[2]}" \
	"$want" "$(nat_conns '.proto == "icmp"' | sort -u | paste -sd'|')"
vr_check_eq "nat list -j: each tenant's 5-echo connection counted 5 requests out and 5 replies in" "1 5 5|2 5 5" \
	"$(vrctl "$GW" -j nat list | jq -r '.[] | select(.proto == "icmp" and .in_packets == 5) |
		"\(.vrf) \(.out_packets) \(.in_packets)"' | sort | paste -sd'|')"

# TCP and UDP: servers on the external host that say whom they see, and transfers with digests.
peer_tcp ext 5400
peer_udp ext 5401
vr_wait_until 5 listening ext t 5400 && vr_wait_until 5 listening ext u 5401 ||
	vr_die "the servers on the external host did not start"
vr_check_eq "TCP t1a -> external host: seen from tenant 1's public address" "from ${SNAT_IP[1]}" \
	"$(ask_tcp t1a "$EXT_IP" 5400)"
vr_check_eq "TCP t2a -> external host (TC path): seen from tenant 2's public address" "from ${SNAT_IP[2]}" \
	"$(ask_tcp t2a "$EXT_IP" 5400)"
vr_check_eq "UDP t1a -> external host and the answer back: seen from ${SNAT_IP[1]}" "from ${SNAT_IP[1]}" \
	"$(ask_udp t1a "$EXT_IP" 5401)"
vr_check_eq "UDP t2b (h2) -> external host and the answer back: seen from ${SNAT_IP[2]}" "from ${SNAT_IP[2]}" \
	"$(ask_udp t2b "$EXT_IP" 5401)"
vr_check "TCP 4 MiB t1a -> external host through SNAT (XDP path), intact" \
	_vr_tcp_transfer t1a ext "TCP-LISTEN:5201,reuseaddr,bind=$EXT_IP" "TCP:$EXT_IP:5201" 5201 4
vr_check "TCP 4 MiB t2b -> external host through SNAT (TC path, offloads on), intact" \
	_vr_tcp_transfer t2b ext "TCP-LISTEN:5202,reuseaddr,bind=$EXT_IP" "TCP:$EXT_IP:5202" 5202 4
vr_check "TCP 4 MiB external host -> t2a on a connection t2a opened (the bulk inbound through SNAT), intact" \
	download t2a 5203 4
vr_check_eq "nat list -j: the TCP transfers' connections, each tenant with its public address" \
	"tcp vrf 1 10.1.0.1 -> $EXT_IP as ${SNAT_IP[1]}|tcp vrf 2 10.1.0.2 -> $EXT_IP as ${SNAT_IP[2]}" \
	"$(nat_conns '.proto == "tcp" and (.dport == 5201 or .dport == 5202)' | sort -u | paste -sd'|')"
vr_check_eq "nat list -j: the UDP connections, answered through them" \
	"udp vrf 1 10.1.0.1 -> $EXT_IP as ${SNAT_IP[1]}|udp vrf 2 10.1.0.2 -> $EXT_IP as ${SNAT_IP[2]}" \
	"$(nat_conns '.proto == "udp" and .dport == 5401 and .in_packets >= 1' | sort -u | paste -sd'|')"

# ------------------------------------------------------------------ the floating IP

vr_must vrctl "$GW" nat fip add "$FIP_IP" vrf 1 ip "${VR_VM_IP[t1b]}"
vr_check_eq "nat fip list -j: $FIP_IP is t1b's (vrf 1, ${VR_VM_IP[t1b]})" "$FIP_IP 1 ${VR_VM_IP[t1b]}" \
	"$(vrctl "$GW" -j nat fip list | jq -r '.[] | "\(.public) \(.vrf) \(.ip)"')"
peer_tcp t1b 5500
peer_udp t1b 5501
vr_wait_until 5 listening t1b t 5500 && vr_wait_until 5 listening t1b u 5501 ||
	vr_die "the servers in t1b did not start"
vr_check "the external host pings the floating IP" vr_ping ext "$FIP_IP"
vr_check_eq "TCP external host -> floating IP: t1b sees the external host's own address" "from $EXT_IP" \
	"$(ask_tcp ext "$FIP_IP" 5500)"
vr_check_eq "UDP external host -> floating IP and t1b's answer back: t1b sees the external host's address" \
	"from $EXT_IP" "$(ask_udp ext "$FIP_IP" 5501)"
vr_check "TCP 4 MiB external host -> t1b through the floating IP, intact" \
	_vr_tcp_transfer ext t1b "TCP-LISTEN:5204,reuseaddr,bind=${VR_VM_IP[t1b]}" "TCP:$FIP_IP:5204" 5204 4
vr_check "TCP 2 MiB t1b -> external host from the floating IP, intact" \
	_vr_tcp_transfer t1b ext "TCP-LISTEN:5205,reuseaddr,bind=$EXT_IP" "TCP:$EXT_IP:5205" 5205 2
vr_check_eq "TCP t1b -> external host: leaves as the floating IP" "from $FIP_IP" "$(ask_tcp t1b "$EXT_IP" 5400)"
vr_check_eq "UDP t1b -> external host and back: leaves as the floating IP" "from $FIP_IP" \
	"$(ask_udp t1b "$EXT_IP" 5401)"
vr_check_eq "t2b (the same 10.1.0.2 in tenant 2) still leaves as tenant 2's SNAT address" "from ${SNAT_IP[2]}" \
	"$(ask_tcp t2b "$EXT_IP" 5400)"
vr_check_eq "hairpin: t2a (tenant 2) reaches t1b at its floating IP, seen from tenant 2's public address" \
	"from ${SNAT_IP[2]}" "$(ask_tcp t2a "$FIP_IP" 5500)"
vr_check_eq "nat list -j: t1b's traffic made no SNAT connection (the floating IP is stateless)" "" \
	"$(nat_conns ".vrf == 1 and .src == \"${VR_VM_IP[t1b]}\"")"

# ------------------------------------------------------------------ path MTU discovery through the NAT

# 1448 bytes fit the VM (1468), the tunnel and the gateway's link, not the 1400 beyond the border: the border's
# Fragmentation Needed goes to the public address and the gateway hands it to the right tenant's VM.
for vm in t1a t2a; do
	out=$(vr_in "$vm" ping -n -M do -s 1420 -c 1 -W 2 "$EXT_IP" 2>&1)
	vr_check_match "$vm (vrf ${VR_VM_VRF[$vm]}): 1448 bytes with DF get the border's Frag needed (mtu 1400) through NAT" \
		"From ${BR_GW_IP//./\\.} .*mtu = $EXT_MTU" "$out"
	vr_check_match "$vm: its kernel now has path MTU $EXT_MTU towards the external host" "mtu $EXT_MTU" \
		"$(vr_in "$vm" ip route get "$EXT_IP")"
	vr_check "$vm: 1400 bytes with DF get through" vr_in "$vm" ping -n -q -M do -s 1372 -c 2 -i 0.2 -W 2 "$EXT_IP"
done

# ------------------------------------------------------------------ the border withdraws the default route

vr_must birdc_in br disable default4
t0=$SECONDS
if vr_wait_until 10 gw_no_default; then
	vr_pass "border's default withdrawn: gone from the gateway's kernel within 10 s (took $((SECONDS - t0)) s)"
else
	vr_failed "border's default withdrawn: the gateway still has '$(gw_default)' after 10 s"
fi
vr_check_match "the BGP session stays up: the border still routes the public prefix to the gateway" \
	"^${PUBLIC_NET//./\\.} via ${GW_EXT_IP//./\\.}" "$(ip -n "$(vr_ns br)" route show "$PUBLIC_NET")"
eu0=$(vr_drop_stat "$GW" external_unreachable)
ttl0="$(vr_drop_stat h1 ttl_exceeded) $(vr_drop_stat "$GW" ttl_exceeded)"
up0=$(rx_packets rt "$(vr_rt_dev "$GW")")
vr_check_fails "without it t1a reaches nothing outside (3 echo requests, no answer)" \
	vr_in t1a ping -n -q -c 3 -i 0.2 -W 1 "$EXT_IP"
vr_check_eq "the gateway counted exactly those 3 requests as external_unreachable" 3 \
	"$(($(vr_drop_stat "$GW" external_unreachable) - eu0))"
vr_check_unchanged "no loop: no TTL drops on h1 or the gateway" "$ttl0" \
	"$(vr_drop_stat h1 ttl_exceeded) $(vr_drop_stat "$GW" ttl_exceeded)"
vr_check_range "no loop: the gateway sent (almost) nothing back into the underlay (ARP at most)" 0 2 \
	"$(($(rx_packets rt "$(vr_rt_dev "$GW")") - up0))"
vr_must birdc_in br enable default4
t0=$SECONDS
if vr_wait_until 10 gw_has_default; then
	vr_pass "border's default restored: back in the gateway's kernel within 10 s (took $((SECONDS - t0)) s)"
else
	vr_failed "border's default restored: no default route on the gateway after 10 s"
fi
vr_check_match "the restored default is bird's, via the border" "^default via ${BR_GW_IP//./\\.} .*proto bird" \
	"$(gw_default)"
vr_check "t1a reaches the external host again" vr_ping t1a "$EXT_IP"

# ------------------------------------------------------------------ connection expiry

vr_must vrctl "$GW" gateway set "$GW_DEV" timeout-udp 2
vr_check_eq "gateway show -j: external $GW_DEV, timeout_udp 2" "$GW_DEV 2" \
	"$(vrctl "$GW" -j gateway show | jq -r '"\(.external) \(.timeout_udp)"')"
# t2a's first UDP connection to that server.
EXPIRY_SEL='.proto == "udp" and .vrf == 2 and .src == "10.1.0.1" and .dport == 5401'
vr_check_eq "UDP t2a -> external host answered" "from ${SNAT_IP[2]}" "$(ask_udp t2a "$EXT_IP" 5401)"
vr_check_eq "nat list -j: its connection is there" "udp vrf 2 10.1.0.1 -> $EXT_IP as ${SNAT_IP[2]}" \
	"$(nat_conns "$EXPIRY_SEL")"
vr_check_range "... with at most the 2 s timeout to live" 0 2 \
	"$(vrctl "$GW" -j nat list | jq -r ".[] | select($EXPIRY_SEL) | .ttl")"
expiry_gone() { [ -z "$(nat_conns "$EXPIRY_SEL")" ]; }
t0=$SECONDS
if vr_wait_until 6 expiry_gone; then
	vr_pass "with timeout-udp 2 the idle connection leaves nat list (after about $((SECONDS - t0)) s)"
else
	vr_failed "with timeout-udp 2 the idle connection is still in nat list after 6 s"
fi
vr_check_eq "nat list all -j: still in the table, marked expired" "yes" \
	"$(vrctl "$GW" -j nat list all | jq -r ".[] | select($EXPIRY_SEL) | .expired")"
vr_check_range "nat gc removes expired connections" 1 inf "$(vrctl "$GW" -j nat gc | jq -r '.removed')"
vr_check_eq "nat list all -j: after the sweep it is gone from the table" "" "$(nat_conns "$EXPIRY_SEL" all)"
vr_check_eq "nat stats -j: no expired connection left, two entries per live one" "0 yes" \
	"$(nat_stat '"\(.expired) \(if .entries == 2 * .connections then "yes" else "no: \(.)" end)"')"
vr_must vrctl "$GW" gateway set "$GW_DEV"

# ------------------------------------------------------------------ a flood fills the table

# A TCP connection opened before the flood: t1a sends a line, waits for the go, sends another; the external
# host echoes each line back.
vr_bg "echo-ext" ext socat "TCP-LISTEN:5600,reuseaddr" SYSTEM:'sed -u s/^/echo-/'
vr_wait_until 5 listening ext t 5600 || vr_die "the echo server on the external host did not start"
vr_bg "long-t1a" t1a bash -c '{ echo before; while [ ! -e "$1" ]; do sleep 0.1; done; echo after; } |
	socat -t 3 - "TCP:$2:5600,connect-timeout=3"' _ "$VR_TMP/go" "$EXT_IP"
long_pid=$VR_BG_PID
vr_check "an established TCP connection t1a -> external host echoes its first line" \
	vr_wait_until 5 grep -qx echo-before "$VR_TMP/long-t1a.log"

FLOOD=2000
vr_bg "sink" ext socat -u "UDP-RECV:5320,reuseaddr" "OPEN:$VR_TMP/sink.txt,creat,append"
vr_wait_until 5 listening ext u 5320 || vr_die "the UDP sink on the external host did not start"
conn0=$(nat_stat .connections)
full0=$(nat_stat .drops.nat_table_full)
t0=$SECONDS
# Every redirection to /dev/udp is a new socket with a new source port: a new connection each.
vr_in t2b bash -c 'for ((i = 0; i < $1; i++)); do echo "$i" >"/dev/udp/$2/5320"; done' _ "$FLOOD" "$EXT_IP" 2>/dev/null
sleep 0.3
echo "# $FLOOD new UDP connections sent from t2b in $((SECONDS - t0)) s"
stats=$(vrctl "$GW" -j nat stats)
admitted=$(($(jq -r .connections <<<"$stats") - conn0))
full=$(($(jq -r .drops.nat_table_full <<<"$stats") - full0))
delivered=$(grep -c . "$VR_TMP/sink.txt")
echo "# flood: $admitted connections admitted, $full refused as nat_table_full, $delivered datagrams delivered"
vr_check_range "nat stats -j: the table is full ($(jq -r '"\(.entries) of \(.max_entries)"' <<<"$stats") entries)" \
	$((NAT_ENTRIES - 2)) "$NAT_ENTRIES" "$(jq -r .entries <<<"$stats")"
vr_check_eq "nat stats -j: max_entries is the load's nat-entries" "$NAT_ENTRIES" "$(jq -r .max_entries <<<"$stats")"
vr_check_range "the flood got some connections before the table filled" 1 $((NAT_ENTRIES / 2)) "$admitted"
vr_check_range "the rest were refused and counted as nat_table_full" $(((FLOOD - NAT_ENTRIES / 2) * 9 / 10)) \
	"$FLOOD" "$full"
# At most what was not refused (a refused connection's datagram never leaves); at least most of the admitted
# ones (the sink's socket buffer may overflow in the burst).
vr_check_range "the external host received datagrams of admitted connections only" \
	$((admitted * 9 / 10)) $((FLOOD - full)) "$delivered"
full0=$(nat_stat .drops.nat_table_full)
vr_check_fails "while the table is full, a new connection (ping t1a -> external host) is refused" \
	vr_in t1a ping -n -q -c 1 -W 1 "$EXT_IP"
vr_check_range "... counted as nat_table_full" 1 inf "$(($(nat_stat .drops.nat_table_full) - full0))"
touch "$VR_TMP/go"
vr_check "the TCP connection opened before the flood ends cleanly" wait "$long_pid"
vr_check_eq "... and carried a line both ways after the flood" "echo-before echo-after" \
	"$(xargs <"$VR_TMP/long-t1a.log")"

# The flood's connections expire and are swept: new connections get through again.
vr_must vrctl "$GW" gateway set "$GW_DEV" timeout-udp 1
sleep 2.2
vr_check_range "nat gc sweeps the flood's expired connections" "$admitted" inf \
	"$(vrctl "$GW" -j nat gc | jq -r '.removed')"
vr_check "after the sweep t1a opens new connections again (ping)" vr_ping t1a "$EXT_IP"
vr_must vrctl "$GW" gateway set "$GW_DEV"

# ------------------------------------------------------------------ nothing went astray

echo "# gateway drops: $(vrctl "$GW" -j stats | jq -c '.drops | with_entries(select(.value > 0))')"

for r in malformed adjust_head_failed nexthop_invalid redirect_failed too_big nat_unsupported not_gateway \
	nat_no_snat; do
	vr_check_eq "gateway: no $r drops" 0 "$(vr_drop_stat "$GW" "$r")"
done
for h in h1 h2; do
	vr_check_eq "$h: no ttl_exceeded drops" 0 "$(vr_drop_stat "$h" ttl_exceeded)"
done
echo "# runtime $((SECONDS - START)) s"
vr_summary
