#!/bin/bash
# The gateway (VNGW) role through vrouterctl, on one host namespace: the NAT table's size (load nat-entries),
# the external NIC (gateway set/show/unset: the XDP link on the device, nat_config, refusals of the fabric, a
# vif or a missing device), source NAT per VRF (snat set/list/del and the public-address table, a shared
# address, port ranges), floating IPs (fip add/list/del across vr_fip, vr_fip_rev and vr_nat_addrs, every
# conflict refused with its reason), EXTERNAL nexthops in routes, and the connection table read back from
# entries written into the pinned vr_nat map with bpftool: pairing of the outbound and inbound entries, the
# timeout of each state, expiry by the kernel's jiffies, nat list / list all / stats, and nat gc.
#
# Run as root after make: bash selftests/e2e_nat_cli.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vr_require_root
vr_require_cmds ip nsenter jq bpftool awk
vr_require_build "$VRCTL"
vr_require_bpffs
vr_tmp_init natcli
vr_trap_cleanup

echo "# NAT CLI tests, run $VR_ID, temporary files in $VR_TMP"

h=h1
ns=$(vr_ns $h)
pin=$(vr_pindir "$h")
vr_netns_add "$h"
fab=$(vr_fabric_dev "$h")
vif=$(vr_vif_dev t1)
ext=$(vr_vif_dev x)
vr_must ip -n "$ns" link add "$fab" type veth peer name "${fab}p"
vr_must ip -n "$ns" link add "$vif" type veth peer name "${vif}p"
vr_must ip -n "$ns" link add "$ext" type veth peer name "${ext}p"
vr_must ip -n "$ns" addr add 198.18.1.2/24 dev "$fab"
vr_must ip -n "$ns" addr add 192.0.2.2/24 dev "$ext"
for d in "$fab" "${fab}p" "$vif" "${vif}p" "$ext" "${ext}p"; do vr_must ip -n "$ns" link set "$d" up; done
vr_register_pindir "$ns" "$pin"

in_ns() { nsenter --net="/run/netns/$ns" "$@"; }
dump() { in_ns bpftool -j map dump pinned "$pin/$1"; }
# bpftool prints raw bytes as "0xcb": a jq function that makes a number of one.
JQH='def hex: ltrimstr("0x") | ascii_downcase | explode | reduce .[] as $c (0; . * 16 + (if $c >= 97 then $c - 87 else $c - 48 end));'
# vr_nat_addrs as "ADDR=FLAGS ..." sorted (the key is a __be32, the value a __u32: raw bytes in the dump).
nat_addrs() {
	dump vr_nat_addrs | jq -r "$JQH"'.[] | "\(.key | map(hex) | map(tostring) | join("."))=\(.value[0] | hex)"' |
		sort | tr '\n' ' ' | sed 's/ $//'
}
# The name of the XDP program bpftool net shows on a device ("none" without one).
xdp_prog() {
	local id
	id=$(in_ns bpftool -j net show dev "$1" | jq -r '.[0].xdp[0].id // empty')
	[ -n "$id" ] && in_ns bpftool -j prog show id "$id" | jq -r .name || echo none
}
# Runs vrouterctl, keeps stderr and the exit code: "RC|STDERR".
rc_err() {
	local err rc
	err=$(vrctl "$h" "$@" 2>&1 >/dev/null)
	rc=$?
	echo "$rc|$err"
}

# ---- load: the NAT table's size
vr_check_fails "load nat-entries 1 is refused (two entries per connection)" \
	vrctl "$h" load fabric "$fab" host-ip 198.18.1.2 nat-entries 1
vr_check_eq "... and leaves nothing pinned" "no" "$([ -e "$pin/vr_nat" ] && echo yes || echo no)"
vr_must vrctl "$h" load fabric "$fab" host-ip 198.18.1.2 nat-entries 4096
vr_check_eq "load nat-entries 4096: vr_nat has 4096 entries" 4096 \
	"$(in_ns bpftool -j map show pinned "$pin/vr_nat" | jq .max_entries)"
vr_check "reload without nat-entries reuses the pinned table" vrctl "$h" load fabric "$fab"
vr_check "reload with another nat-entries keeps the pinned table" vrctl "$h" load fabric "$fab" nat-entries 8192
vr_check_eq "... which still has 4096 entries" 4096 \
	"$(in_ns bpftool -j map show pinned "$pin/vr_nat" | jq .max_entries)"
vr_must vrctl "$h" vrf add 1
vr_must vrctl "$h" vrf add 2
vr_must vrctl "$h" vif add "$vif" vrf 1 mac 02:00:00:00:01:01 ip 10.1.0.1

# ---- gateway
vr_check_match "gateway show before set: off, default timeouts" \
	"^gateway off.*timeouts: tcp 7440 s, tcp-transitory 240 s, udp 300 s, icmp 60 s$" \
	"$(vrctl "$h" gateway show | tr '\n' ' ' | sed 's/ $//')"
vr_check_eq "gateway show -j before set" "off 0 7440" \
	"$(vrctl "$h" -j gateway show | jq -r '"\(.gateway) \(.ifindex) \(.timeout_tcp)"')"
r=$(rc_err gateway set "$fab")
vr_check_match "gateway set on the fabric: exit 1, says it is the fabric" "^1\|.*is the fabric device" "$r"
r=$(rc_err gateway set "$vif")
vr_check_match "gateway set on a vif: exit 1, names the vif" "^1\|.*$vif is vif [0-9]+ of VRF 1" "$r"
r=$(rc_err gateway set nosuchdev0)
vr_check_match "gateway set on a missing device: exit 1" "^1\|.*external device nosuchdev0 does not exist" "$r"
r=$(rc_err gateway set "$ext" timeout-udp 0)
vr_check_match "gateway set timeout-udp 0: usage error (exit 2)" "^2\|.*timeout-udp: a timeout of 0" "$r"
r=$(rc_err gateway set "$ext" timeout-tcp 1w)
vr_check_match "gateway set timeout-tcp 1w: usage error (exit 2)" "^2\|.*not a number" "$r"
r=$(rc_err gateway set "$ext" timeout-icmp 5 timeout-icmp 6)
vr_check_match "gateway set with a timeout given twice: exit 2" "^2\|.*given twice" "$r"
r=$(rc_err gateway set)
vr_check_match "gateway set without a device: exit 2" "^2\|.*expected the external device" "$r"
vr_check_eq "nothing was written by the refused commands" "0" "$(dump vr_nat_config | jq '.[0].formatted.value.ext_ifindex')"

ext_idx=$(ip -n "$ns" -j link show "$ext" | jq '.[0].ifindex')
udp_timeout=300
if [ -e "$pin/prog_vr_ext_xdp" ]; then
	vr_check "gateway set $ext timeout-udp 30 timeout-icmp 20" vrctl "$h" gateway set "$ext" timeout-udp 30 timeout-icmp 20
	udp_timeout=30
	vr_check_eq "gateway show -j: on, the device, the timeouts (defaults where not given)" \
		"on $ext $ext_idx 7440 240 30 20" \
		"$(vrctl "$h" -j gateway show | jq -r '"\(.gateway) \(.external) \(.ifindex) \(.timeout_tcp) \(.timeout_tcp_transitory) \(.timeout_udp) \(.timeout_icmp)"')"
	vr_check_eq "nat_config in the map: ext_ifindex and timeouts" "$ext_idx 7440 240 30 20" \
		"$(dump vr_nat_config | jq -r '.[0].formatted.value | "\(.ext_ifindex) \(.timeout_tcp) \(.timeout_tcp_transitory) \(.timeout_udp) \(.timeout_icmp)"')"
	vr_check_eq "bpftool net: vr_ext_xdp on $ext" "vr_ext_xdp" \
		"$(xdp_prog "$ext")"
	link1=$(in_ns bpftool -j link show pinned "$pin/link_ext" | jq .id)
	vr_check "gateway set again (another timeout)" vrctl "$h" gateway set "$ext" timeout-udp 30 timeout-icmp 20 timeout-tcp 600
	vr_check_eq "the same pinned link: the program was swapped in place" "$link1" \
		"$(in_ns bpftool -j link show pinned "$pin/link_ext" | jq .id)"
	vr_check_eq "the new timeout is in nat_config" 600 "$(dump vr_nat_config | jq '.[0].formatted.value.timeout_tcp')"
	vr_check "reload keeps the gateway attached" vrctl "$h" load fabric "$fab"
	vr_check_eq "... on the same link, with the program of the reload" "$link1 vr_ext_xdp" \
		"$(in_ns bpftool -j link show pinned "$pin/link_ext" | jq -r .id) $(xdp_prog "$ext")"
	vr_check "gateway unset" vrctl "$h" gateway unset
	vr_check_eq "bpftool net: no XDP on $ext after unset" "0" \
		"$(in_ns bpftool -j net show dev "$ext" | jq '.[0].xdp | length')"
	vr_check_eq "unset: ext_ifindex 0, timeouts kept, link pin gone" "0 30 no" \
		"$(dump vr_nat_config | jq -r '.[0].formatted.value | "\(.ext_ifindex) \(.timeout_udp)"') $([ -e "$pin/link_ext" ] && echo yes || echo no)"
	vr_check_match "gateway show after unset: off" "^gateway off" "$(vrctl "$h" gateway show)"
	vr_check "gateway set once more (for unload below)" vrctl "$h" gateway set "$ext" timeout-udp 30
else
	r=$(rc_err gateway set "$ext")
	vr_check_match "gateway set without vr_ext_xdp in the datapath: exit 1, says so" \
		"^1\|.*has no gateway program" "$r"
	vr_skip "gateway attach checks: this build's datapath has no vr_ext_xdp program yet"
fi

# ---- source NAT
vr_check "snat set vrf 1 203.0.113.1" vrctl "$h" nat snat set vrf 1 203.0.113.1
vr_check "snat set vrf 2 203.0.113.1 ports 2000-3000 (a shared address)" \
	vrctl "$h" nat snat set vrf 2 203.0.113.1 ports 2000-3000
vr_check_eq "snat list -j: both tenants, default and given port ranges" "1 203.0.113.1 1024 65535|2 203.0.113.1 2000 3000" \
	"$(vrctl "$h" -j nat snat list | jq -r '[.[] | "\(.vrf) \(.addr) \(.port_min) \(.port_max)"] | join("|")')"
vr_check_match "snat list text" "^1 +203.0.113.1 +1024-65535$" "$(vrctl "$h" nat snat list)"
vr_check_eq "vr_snat[2] in the map: address (network order) and ports" "203.0.113.1 2000 3000" \
	"$(dump vr_snat | jq -r "$JQH"'.[] | select(.formatted.key == 2) | "\(.value[0:4] | map(hex) | map(tostring) | join(".")) \(.formatted.value.port_min) \(.formatted.value.port_max)"')"
vr_check_eq "nat_addrs: the shared address once, flag SNAT" "203.0.113.1=1" "$(nat_addrs)"
vr_check "snat set vrf 1 203.0.113.5 (moves tenant 1)" vrctl "$h" nat snat set vrf 1 203.0.113.5
vr_check_eq "nat_addrs: the old address stays (tenant 2 uses it), the new one is there" "203.0.113.1=1 203.0.113.5=1" \
	"$(nat_addrs)"
r=$(rc_err nat snat set vrf 9 203.0.113.7)
vr_check_match "snat set in a missing VRF: exit 1" "^1\|.*VRF 9 does not exist" "$r"
r=$(rc_err nat snat set vrf 1 203.0.113.7 ports 3000-2000)
vr_check_match "snat set with an inverted port range: exit 2" "^2\|.*starts above its end" "$r"
r=$(rc_err nat snat set vrf 1 203.0.113.7 ports 0-100)
vr_check_match "snat set with port 0: exit 2" "^2\|.*ports 1..65535" "$r"
r=$(rc_err nat snat set vrf 1 224.0.0.9)
vr_check_match "snat set of a multicast address: exit 1" "^1\|.*224.0.0.9 is not a unicast address" "$r"
r=$(rc_err nat snat set vrf 1 127.0.0.1)
vr_check_match "snat set of a loopback address: exit 1" "^1\|.*not a unicast address" "$r"
r=$(rc_err nat snat set vrf 1 10.1.2)
vr_check_match "snat set of a bad address: exit 2" "^2\|.*not an IPv4 address" "$r"
vr_check_eq "refused snat commands changed nothing" "203.0.113.1=1 203.0.113.5=1" "$(nat_addrs)"
vr_check "snat del vrf 2" vrctl "$h" nat snat del vrf 2
vr_check_eq "nat_addrs: the address no tenant uses is gone" "203.0.113.5=1" "$(nat_addrs)"
r=$(rc_err nat snat del vrf 2)
vr_check_match "snat del of a VRF without one: exit 1" "^1\|.*VRF 2 has no source-NAT address" "$r"

# ---- floating IPs
vr_check "fip add 203.0.113.10 vrf 1 ip 10.1.0.1" vrctl "$h" nat fip add 203.0.113.10 vrf 1 ip 10.1.0.1
vr_check "fip add 203.0.113.11 vrf 2 ip 10.1.0.1 (same private address, another tenant)" \
	vrctl "$h" nat fip add 203.0.113.11 vrf 2 ip 10.1.0.1
vr_check_eq "fip list -j" "203.0.113.10 1 10.1.0.1|203.0.113.11 2 10.1.0.1" \
	"$(vrctl "$h" -j nat fip list | jq -r '[.[] | "\(.public) \(.vrf) \(.ip)"] | join("|")')"
vr_check_match "fip list text" "^203.0.113.10 +1 +10.1.0.1$" "$(vrctl "$h" nat fip list)"
vr_check_eq "vr_fip: (vrf, private) -> public, both" "1 10.1.0.1 203.0.113.10|2 10.1.0.1 203.0.113.11" \
	"$(dump vr_fip | jq -r "$JQH"'[.[] | "\(.formatted.key.vrf_id) \(.key[4:8] | map(hex) | map(tostring) | join(".")) \(.value | map(hex) | map(tostring) | join("."))"] | sort | join("|")')"
vr_check_eq "vr_fip_rev: public -> (vrf, private)" "203.0.113.10 1 10.1.0.1|203.0.113.11 2 10.1.0.1" \
	"$(dump vr_fip_rev | jq -r "$JQH"'[.[] | "\(.key | map(hex) | map(tostring) | join(".")) \(.formatted.value.vrf_id) \(.value[4:8] | map(hex) | map(tostring) | join("."))"] | sort | join("|")')"
vr_check_eq "nat_addrs: floating IPs flagged FIP" "203.0.113.10=2 203.0.113.11=2 203.0.113.5=1" "$(nat_addrs)"
r=$(rc_err nat fip add 203.0.113.10 vrf 2 ip 10.1.0.9)
vr_check_match "fip add of a public address in use: exit 1, names its owner" \
	"^1\|.*203.0.113.10 is already the floating IP of 10.1.0.1 in VRF 1" "$r"
r=$(rc_err nat fip add 203.0.113.5 vrf 2 ip 10.1.0.9)
vr_check_match "fip add of a source-NAT address: exit 1" "^1\|.*203.0.113.5 is the source-NAT address of VRF 1" "$r"
r=$(rc_err nat fip add 203.0.113.12 vrf 1 ip 10.1.0.1)
vr_check_match "a second floating IP for the same VM: exit 1" "^1\|.*10.1.0.1 in VRF 1 already has floating IP 203.0.113.10" "$r"
r=$(rc_err nat snat set vrf 2 203.0.113.11)
vr_check_match "snat set of a floating IP: exit 1" "^1\|.*203.0.113.11 is the floating IP of 10.1.0.1 in VRF 2" "$r"
r=$(rc_err nat fip add 203.0.113.12 vrf 7 ip 10.1.0.2)
vr_check_match "fip add in a missing VRF: exit 1" "^1\|.*VRF 7 does not exist" "$r"
r=$(rc_err nat fip add 203.0.113.12 vrf 1)
vr_check_match "fip add without the private address: exit 2" "^2\|.*missing 'ip'" "$r"
r=$(rc_err nat fip add 0.0.0.0 vrf 1 ip 10.1.0.2)
vr_check_match "fip add of 0.0.0.0: exit 1" "^1\|.*not a unicast address" "$r"
r=$(rc_err nat fip del 203.0.113.99)
vr_check_match "fip del of an unknown address: exit 1" "^1\|.*203.0.113.99 is not a floating IP" "$r"
vr_check_eq "refused fip commands changed nothing" "2 2 203.0.113.10=2 203.0.113.11=2 203.0.113.5=1" \
	"$(dump vr_fip | jq length) $(dump vr_fip_rev | jq length) $(nat_addrs)"
vr_check "fip del 203.0.113.11" vrctl "$h" nat fip del 203.0.113.11
vr_check_eq "fip del: gone from vr_fip, vr_fip_rev and nat_addrs" "1 1 203.0.113.10=2 203.0.113.5=1" \
	"$(dump vr_fip | jq length) $(dump vr_fip_rev | jq length) $(nat_addrs)"

# ---- EXTERNAL nexthops
vr_check "route add 0.0.0.0/0 vrf 1 via external" vrctl "$h" route add 0.0.0.0/0 vrf 1 via external
vr_check "route add 0.0.0.0/0 vrf 2 via external" vrctl "$h" route add 0.0.0.0/0 vrf 2 via external
vr_check_match "route show: the default route is external" "^1 +0.0.0.0/0 +[0-9]+ +external$" "$(vrctl "$h" route show vrf 1)"
vr_check_eq "route show -j: type external" "external" \
	"$(vrctl "$h" -j route show vrf 2 | jq -r '.[] | select(.prefix == "0.0.0.0/0") | .type')"
vr_check_eq "nexthop list: one shared external nexthop, held by both routes" "1 2" \
	"$(vrctl "$h" -j nexthop list | jq -r '[.[] | select(.type == "external")] | "\(length) \(.[0].refcnt)"')"
vr_check_match "nexthop list text says external" "external" "$(vrctl "$h" nexthop list)"
r=$(rc_err route add 10.9.0.0/16 vrf 1 via external now)
vr_check_match "via external with something after it: exit 2" "^2\|.*unexpected 'now' after 'via external'" "$r"
vr_check "route del 0.0.0.0/0 vrf 2" vrctl "$h" route del 0.0.0.0/0 vrf 2
vr_check "route del 0.0.0.0/0 vrf 1" vrctl "$h" route del 0.0.0.0/0 vrf 1
vr_check_eq "the external nexthop was given back" 0 \
	"$(vrctl "$h" -j nexthop list | jq '[.[] | select(.type == "external")] | length')"

# ---- the connection table, written directly
# The kernel's clock: jiffies from /proc/timer_list (a source of its own, not vrouterctl's), HZ measured.
jiffies() { awk '/^jiffies:/ { print $2; exit }' /proc/timer_list; }
j0=$(jiffies)
sleep 1
j1=$(jiffies)
hz=$(awk -v d=$((j1 - j0)) 'BEGIN { n = split("100 250 300 1000", c, " "); b = c[1];
	for (i = 1; i <= n; i++) if ((d - c[i]) ^ 2 < (d - b) ^ 2) b = c[i]; print b }')
echo "# jiffies $j1, HZ $hz"
# Little-endian and network-order byte helpers for bpftool's "hex" keys and values.
ipx() { local IFS=.; set -- $1; printf '%02x %02x %02x %02x' "$1" "$2" "$3" "$4"; }
bex16() { printf '%02x %02x' $(($1 >> 8)) $(($1 & 255)); }
lex32() { printf '%02x %02x %02x %02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
lex64() { lex32 $(($1 & 0xffffffff)); printf ' '; lex32 $(($1 >> 32)); }
# nat_key SRC DST SPORT DPORT PROTO DIR VRF
nat_key() { echo "$(ipx "$1") $(ipx "$2") $(bex16 "$3") $(bex16 "$4") $(printf '%02x %02x' "$5" "$6") 00 00 $(lex32 "$7")"; }
# nat_val ADDR PORT STATE VRF LAST_SEEN PACKETS BYTES
nat_val() { echo "$(ipx "$1") $(bex16 "$2") $(printf '%02x' "$3") 00 $(lex32 "$4") 00 00 00 00 $(lex64 "$5") $(lex64 "$6") $(lex64 "$7")"; }
put() { in_ns bpftool map update pinned "$pin/vr_nat" key hex $1 value hex $2; }
now=$(jiffies)
old=$((now - 100000 * hz))
age300=$((now - 300 * hz))
# A: live UDP, tenant 1 (10.1.0.5:40000 -> 198.51.100.7:53 as 203.0.113.5:1024)
vr_must put "$(nat_key 10.1.0.5 198.51.100.7 40000 53 17 0 1)" "$(nat_val 203.0.113.5 1024 1 0 "$now" 3 180)"
vr_must put "$(nat_key 198.51.100.7 203.0.113.5 53 1024 17 1 0)" "$(nat_val 10.1.0.5 40000 0 1 "$now" 2 120)"
# B: TCP idle for 100000 s, tenant 2: expired
vr_must put "$(nat_key 10.1.0.5 198.51.100.8 40001 80 6 0 2)" "$(nat_val 203.0.113.1 2000 1 0 "$old" 10 1000)"
vr_must put "$(nat_key 198.51.100.8 203.0.113.1 80 2000 6 1 0)" "$(nat_val 10.1.0.5 40001 0 2 "$old" 9 900)"
# C: live ICMP echo, id 77 inside, 1025 outside
vr_must put "$(nat_key 10.1.0.6 198.51.100.9 77 0 1 0 1)" "$(nat_val 203.0.113.5 1025 0 0 "$now" 1 84)"
vr_must put "$(nat_key 198.51.100.9 203.0.113.5 0 1025 1 1 0)" "$(nat_val 10.1.0.6 77 0 1 "$now" 1 84)"
# D: TCP established, idle 300 s (past the transitory timeout, well within the established one): live
vr_must put "$(nat_key 10.1.0.7 198.51.100.10 40002 443 6 0 1)" "$(nat_val 203.0.113.5 1026 1 0 "$age300" 5 500)"
vr_must put "$(nat_key 198.51.100.10 203.0.113.5 443 1026 6 1 0)" "$(nat_val 10.1.0.7 40002 0 1 "$age300" 4 400)"
# E: TCP still in its handshake (NEW), idle 300 s: expired (transitory timeout 240 s)
vr_must put "$(nat_key 10.1.0.7 198.51.100.11 40003 443 6 0 1)" "$(nat_val 203.0.113.5 1027 0 0 "$age300" 1 60)"
vr_must put "$(nat_key 198.51.100.11 203.0.113.5 443 1027 6 1 0)" "$(nat_val 10.1.0.7 40003 0 1 "$age300" 0 0)"
# F: an inbound entry whose outbound one is gone, stamped long ago
vr_must put "$(nat_key 198.51.100.12 203.0.113.5 53 1028 17 1 0)" "$(nat_val 10.1.0.8 40004 0 1 "$old" 0 0)"

list=$(vrctl "$h" -j nat list)
vr_check_eq "nat list: the three live connections (expired and orphans hidden)" "3" "$(jq length <<<"$list")"
vr_check_eq "nat list: the UDP one, paired with its reply direction" \
	"udp 1 10.1.0.5 40000 198.51.100.7 53 203.0.113.5 1024 established no 3 180 2 120" \
	"$(jq -r '.[] | select(.proto == "udp") | "\(.proto) \(.vrf) \(.src) \(.sport) \(.dst) \(.dport) \(.public) \(.public_port) \(.state) \(.expired) \(.out_packets) \(.out_bytes) \(.in_packets) \(.in_bytes)"' <<<"$list")"
vr_check_range "nat list: its ttl is the UDP timeout ($udp_timeout s) less the seconds since" \
	$((udp_timeout - 5)) "$udp_timeout" "$(jq -r '.[] | select(.proto == "udp") | .ttl' <<<"$list")"
vr_check_eq "nat list: ICMP echo with its identifiers both sides" "icmp 10.1.0.6 77 198.51.100.9 203.0.113.5 1025 1 84" \
	"$(jq -r '.[] | select(.proto == "icmp") | "\(.proto) \(.src) \(.id) \(.dst) \(.public) \(.public_id) \(.in_packets) \(.in_bytes)"' <<<"$list")"
tcp_timeout=$(dump vr_nat_config | jq '.[0].formatted.value.timeout_tcp')
[ "$tcp_timeout" = 0 ] && tcp_timeout=7440
vr_check_range "nat list: the established TCP one idle 300 s has the established timeout less 300 s" \
	$((tcp_timeout - 305)) $((tcp_timeout - 299)) "$(jq -r '.[] | select(.proto == "tcp") | .ttl' <<<"$list")"
vr_check_match "nat list text: inside -> remote, public, state" \
	"^udp +1 +10.1.0.5:40000 +-> 198.51.100.7:53 +203.0.113.5:1024 +established +[0-9]+ +3/180 +2/120" \
	"$(vrctl "$h" nat list)"
all=$(vrctl "$h" -j nat list all)
vr_check_eq "nat list all: the expired ones too" "5" "$(jq length <<<"$all")"
vr_check_eq "nat list all: the idle TCP (100000 s) and the TCP in its handshake are expired" "1:40003 2:40001" \
	"$(jq -r '[.[] | select(.expired == "yes") | "\(.vrf):\(.sport)"] | sort | join(" ")' <<<"$all")"
vr_check_match "nat list all text shows 'expired'" "10.1.0.5:40001 +-> 198.51.100.8:80 .* expired " \
	"$(vrctl "$h" nat list all)"
vr_check_eq "nat stats -j: live, expired, entries, size" "3 2 11 4096" \
	"$(vrctl "$h" -j nat stats | jq -r '"\(.connections) \(.expired) \(.entries) \(.max_entries)"')"
vr_check_eq "nat stats -j: the NAT drop counters by name" "0 0 0" \
	"$(vrctl "$h" -j nat stats | jq -r '.drops | "\(.nat_table_full) \(.nat_no_port) \(.external_unreachable)"')"
vr_check_match "nat stats text" "connections: 3 live, 2 expired" "$(vrctl "$h" nat stats)"
vr_check_eq "nat gc: two expired connections and the stale orphan" "3 expired connections removed" "$(vrctl "$h" nat gc)"
vr_check_eq "after gc: the 6 entries of the live connections are left, both directions" \
	"10.1.0.5 10.1.0.6 10.1.0.7 198.51.100.10 198.51.100.7 198.51.100.9" \
	"$(dump vr_nat | jq -r "$JQH"'[.[] | .key[0:4] | map(hex) | map(tostring) | join(".")] | sort | join(" ")')"
vr_check_eq "nat gc again removes nothing" "0" "$(vrctl "$h" -j nat gc | jq .removed)"
vr_check_eq "nat list still shows the live ones" "3" "$(vrctl "$h" -j nat list | jq length)"
r=$(rc_err nat list some)
vr_check_match "nat list with a bad argument: exit 2" "^2\|.*expected nothing or 'all'" "$r"
r=$(rc_err nat frob)
vr_check_match "an unknown nat command: exit 2" "^2\|.*unknown command 'frob'" "$r"

# ---- a deleted VRF takes its public addresses with it
vr_must vrctl "$h" vrf add 7
vr_must vrctl "$h" nat snat set vrf 7 203.0.113.77
vr_must vrctl "$h" nat fip add 203.0.113.78 vrf 7 ip 10.7.0.8
vr_check "vrf del 7 (with a source-NAT address and a floating IP)" vrctl "$h" vrf del 7
vr_check_eq "... its source-NAT address is gone" "" \
	"$(vrctl "$h" -j nat snat list | jq -r '.[] | select(.vrf == 7) | .addr')"
vr_check_eq "... and its floating IP" "" "$(vrctl "$h" -j nat fip list | jq -r '.[] | select(.vrf == 7) | .public')"
vr_check_eq "... and neither is a public address of the gateway any more" "0" \
	"$(nat_addrs | grep -c '203\.0\.113\.7[78]')"

# ---- unload takes the gateway's link with it
if [ -e "$pin/link_ext" ]; then
	vr_check "unload" vrctl "$h" unload
	vr_check_eq "bpftool net: no XDP left on $ext after unload" "0" \
		"$(in_ns bpftool -j net show dev "$ext" | jq '.[0].xdp | length')"
fi

vr_summary
