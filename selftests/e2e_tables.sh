#!/bin/bash
# The forwarding tables through vrouterctl, on one host namespace: routes in bulk (route import: the whole file
# checked before anything changes, each line added or refused on its own), host routes (/32, kept in the
# exact-match table) beside prefixes (in the VRF's trie) in listings, counts and deletes, explicit label
# bindings (label add/del) and what happens to them when their vif or VRF goes, tunnel encapsulations (the same
# tunnel in MPLS-in-UDP and MPLS-over-GRE is two nexthops; route add and import take 'encap udp|gre', listings
# show it), IPv6 routes (a /128 in the exact-match table vr_host6, shorter prefixes in the VRF's IPv6 trie, the
# same nexthops, ECMP replace, mixed imports, bad input) and vifs with an IPv6 address and gateway, and that
# nexthops are given back: after everything is deleted the nexthop table is empty again.
#
# Run as root after make: bash selftests/e2e_tables.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vr_require_root
vr_require_cmds ip nsenter jq bpftool awk
vr_require_build "$VRCTL"
vr_require_bpffs
vr_tmp_init tables
vr_trap_cleanup

echo "# table tests, run $VR_ID, temporary files in $VR_TMP"

h=h1
vr_netns_add "$h"
fab=$(vr_fabric_dev "$h")
vif=$(vr_vif_dev t1)
vif6=$(vr_vif_dev t2)
vr_must ip -n "$(vr_ns $h)" link add "$fab" type veth peer name "${fab}p"
vr_must ip -n "$(vr_ns $h)" link add "$vif" type veth peer name "${vif}p"
vr_must ip -n "$(vr_ns $h)" link add "$vif6" type veth peer name "${vif6}p"
vr_must ip -n "$(vr_ns $h)" addr add 198.18.1.2/24 dev "$fab"
for d in "$fab" "${fab}p" "$vif" "${vif}p" "$vif6" "${vif6}p"; do vr_must ip -n "$(vr_ns $h)" link set "$d" up; done
vr_register_pindir "$(vr_ns "$h")" "$(vr_pindir "$h")"
vr_must vrctl "$h" load fabric "$fab" host-ip 198.18.1.2
vr_must vrctl "$h" vrf add 1
vr_must vrctl "$h" vrf add 2 label 500
vr_must vrctl "$h" vif add "$vif" vrf 1 mac 02:00:00:00:01:01 ip 10.1.0.1 mode xdp

# Nexthops in use (type != 0) in the kernel's table.
nexthops_used() { vrctl "$h" -j nexthop list | jq length; }
routes_in() { vrctl "$h" -j route show vrf "$1" | jq length; }
base_nh=$(nexthops_used)

# ---- route import
f=$VR_TMP/routes.txt
{
	echo "# 1000 host routes, a prefix, a vif route and a discard"
	awk 'BEGIN { for (i = 0; i < 1000; i++) printf "10.64.%d.%d/32 vrf 1 via tunnel 198.18.2.%d label %d\n", int(i / 256), i % 256, 2 + i % 4, 1000 + i }'
	echo ""
	echo "10.200.0.0/16 vrf 1 via tunnel 198.18.2.2 label 77"
	echo "10.1.0.1/32 vrf 1 via vif $vif"
	echo "10.66.0.0/24 vrf 2 discard"
} >"$f"
out=$(vrctl "$h" -j route import "$f")
vr_check_eq "route import: 1003 routes added, none failed" "1003 1003 0" "$(jq -r '"\(.routes) \(.added) \(.failed)"' <<<"$out")"
vr_check_eq "route show vrf 1 lists the host routes and the prefix" 1002 "$(routes_in 1)"
vr_check_eq "vrf list counts host routes and prefixes" "1002 1" \
	"$(vrctl "$h" -j vrf list | jq -r '"\(.[] | select(.vrf == 1) | .routes) \(.[] | select(.vrf == 2) | .routes)"')"
shown=$(vrctl "$h" -j route show vrf 1 | jq -r '.[] | select(.prefix == "10.64.3.231/32") | "\(.remote) \(.label)"')
vr_check_eq "a host route shows its tunnel and label (line 1000 of the file)" "198.18.2.5 1999" "$shown"
vr_check_eq "1000 distinct tunnel nexthops, the prefix's and the discard's were allocated" $((base_nh + 1002)) \
	"$(nexthops_used)"
vr_check_eq "nexthop list: the vif route shares the vif's nexthop (vif + route hold it)" 2 \
	"$(vrctl "$h" -j nexthop list | jq '.[] | select(.type == "vif") | .refcnt')"

# A bad line anywhere: nothing is applied, the error names the line.
bad=$VR_TMP/bad.txt
printf '10.65.0.1/32 vrf 1 via tunnel 198.18.2.2 label 600\n10.65.0.2/33 vrf 1 discard\n' >"$bad"
err=$(vrctl "$h" route import "$bad" 2>&1)
rc=$?
vr_check_eq "route import with a bad line: exit 2 (usage)" 2 "$rc"
vr_check_match "the error names the file and line" "bad.txt:2: .*not an IPv4 prefix" "$err"
vr_check_eq "nothing of that file was applied" 1002 "$(routes_in 1)"

# Lines that the tables refuse: the others still land, the failures are counted and explained.
mixed=$VR_TMP/mixed.txt
{
	echo "10.64.0.5/32 vrf 1 via tunnel 198.18.2.9 label 900"   # exists
	echo "10.65.1.1/32 vrf 1 via tunnel 198.18.2.2 label 901"
	echo "10.65.1.1/32 vrf 1 via tunnel 198.18.2.2 label 902"   # twice in one file
	echo "10.65.1.2/32 vrf 9 via tunnel 198.18.2.2 label 903"   # no VRF 9
	echo "10.65.1.3/32 vrf 2 via tunnel 198.18.2.2 label 904"
} >"$mixed"
err=$(vrctl "$h" route import "$mixed" 2>&1)
rc=$?
vr_check_eq "route import with refused lines: exit 1" 1 "$rc"
vr_check_match "summary: 2 added, 3 failed" "^2 routes added, 3 failed" "$err"
vr_check_match "an existing route is explained with its line" "mixed.txt:1: .*already exists" "$err"
vr_check_match "a missing VRF is explained with its line" "mixed.txt:4: .*VRF 9 does not exist" "$err"
vr_check_eq "the good lines landed (VRF 1 +1, VRF 2 +1)" "1003 2" "$(routes_in 1) $(routes_in 2)"

# Bulk import of 64 and more host routes goes through the checked batch path; a duplicate inside it fails alone.
big=$VR_TMP/big.txt
{
	awk 'BEGIN { for (i = 0; i < 200; i++) printf "10.66.%d.%d/32 vrf 2 via tunnel 198.18.2.3 label %d\n", int(i / 256), i % 256, 3000 + i }'
	echo "10.64.0.9/32 vrf 1 via tunnel 198.18.2.3 label 3999"   # exists
} >"$big"
vrctl "$h" route import "$big" >/dev/null 2>&1
vr_check_eq "a 201-route import with one existing route: 200 land" "1003 202" "$(routes_in 1) $(routes_in 2)"

# ---- tunnel endpoints: the remote hosts of tunnel nexthops, counted; configured ones beside them
eps=$(vrctl "$h" -j endpoint list | jq -r 'sort_by(.addr) | map("\(.addr)=\(.nexthops)/\(.configured)") | join(" ")')
vr_check_eq "endpoint list: the four remote hosts with their tunnel nexthops" \
	"198.18.2.2=253/0 198.18.2.3=450/0 198.18.2.4=250/0 198.18.2.5=250/0" "$eps"
vr_check "endpoint add of a host we do not route to" vrctl "$h" endpoint add 198.18.9.9
vr_check_fails "endpoint add twice fails" vrctl "$h" endpoint add 198.18.9.9
vr_check "endpoint add of a host that is a nexthop already" vrctl "$h" endpoint add 198.18.2.2
vr_check_eq "both configured, counts kept" "198.18.2.2=253/1 198.18.9.9=0/1" \
	"$(vrctl "$h" -j endpoint list | jq -r 'map(select(.configured == 1)) | sort_by(.addr) | map("\(.addr)=\(.nexthops)/\(.configured)") | join(" ")')"
vr_check "endpoint del 198.18.9.9" vrctl "$h" endpoint del 198.18.9.9
vr_check "endpoint del 198.18.2.2 (still a nexthop)" vrctl "$h" endpoint del 198.18.2.2
vr_check_fails "endpoint del of one that is only a nexthop fails" vrctl "$h" endpoint del 198.18.2.3
vr_check_eq "198.18.9.9 is gone, 198.18.2.2 stays as a nexthop" "198.18.2.2=253/0 absent" \
	"$(vrctl "$h" -j endpoint list | jq -r '[(.[] | select(.addr == "198.18.2.2") | "\(.addr)=\(.nexthops)/\(.configured)"), (if any(.[]; .addr == "198.18.9.9") then "present" else "absent" end)] | join(" ")')"

# ---- tunnel encapsulations: MPLS-in-UDP (default) or MPLS-over-GRE, part of the nexthop
nh0=$(nexthops_used)
vr_check "route add ... encap gre (10.200.0.0/16 has the same tunnel in UDP)" \
	vrctl "$h" route add 10.67.0.1/32 vrf 1 via tunnel 198.18.2.2 label 77 encap gre
vr_check "route add ... encap udp, written out" vrctl "$h" route add 10.67.0.2/32 vrf 1 via tunnel 198.18.2.2 label 77 encap udp
vr_check "route add ... encap gre, a second route" vrctl "$h" route add 10.68.0.0/24 vrf 1 via tunnel 198.18.2.2 label 77 encap gre
vr_check_eq "one nexthop more: GRE is its own, 'encap udp' shares 10.200.0.0/16's" $((nh0 + 1)) "$(nexthops_used)"
vr_check_eq "route show -j: the encapsulation of each route" "udp gre udp gre" \
	"$(vrctl "$h" -j route show vrf 1 | jq -r 'map({(.prefix): .encap}) | add |
		[."10.200.0.0/16", ."10.67.0.1/32", ."10.67.0.2/32", ."10.68.0.0/24"] | join(" ")')"
vr_check_eq "nexthop list -j: the GRE tunnel is held by its two routes, the UDP one by two" "gre=2 udp=2" \
	"$(vrctl "$h" -j nexthop list | jq -r '[.[] | select(.type == "tunnel" and .label == 77)] | sort_by(.encap) |
		map("\(.encap)=\(.refcnt)") | join(" ")')"
vr_check_match "route show: 'tunnel ADDR label L encap gre'" "10\.67\.0\.1/32 +[0-9]+ +tunnel 198\.18\.2\.2 label 77 encap gre" \
	"$(vrctl "$h" route show vrf 1)"
out=$(vrctl "$h" nexthop list)
vr_check_match "nexthop list: the GRE tunnel, 'encap gre'" "tunnel 198\.18\.2\.2 label 77 encap gre" "$out"
vr_check_match "nexthop list: and its UDP twin, 'encap udp'" "tunnel 198\.18\.2\.2 label 77 encap udp" "$out"
err=$(vrctl "$h" route add 10.67.0.9/32 vrf 1 via tunnel 198.18.2.2 label 78 encap vxlan 2>&1)
vr_check_eq "encap vxlan: exit 2 (usage)" 2 "$?"
vr_check_match "encap vxlan: explained" "encap: 'vxlan' is neither 'udp' nor 'gre'" "$err"
err=$(vrctl "$h" route add 10.67.0.9/32 vrf 1 via tunnel 198.18.2.2 label 78 encap 2>&1)
vr_check_eq "encap without a value: exit 2" 2 "$?"
vr_check_match "encap without a value: the syntax is shown" "via tunnel ADDR label LABEL \[encap udp\|gre\]" "$err"
f=$VR_TMP/encap.txt
printf '10.67.1.1/32 vrf 1 via tunnel 198.18.2.4 label 1002 encap gre\n10.67.1.2/32 vrf 1 via tunnel 198.18.2.4 label 1002\n' >"$f"
vr_check_eq "route import: lines with and without 'encap gre'" "2 2 0" \
	"$(vrctl "$h" -j route import "$f" | jq -r '"\(.routes) \(.added) \(.failed)"')"
vr_check_eq "route import: the GRE line got a GRE nexthop, the other shares the UDP one of 10.64.0.2/32" "gre udp 2" \
	"$(vrctl "$h" -j route show vrf 1 | jq -r 'map({(.prefix): .encap}) | add | ."10.67.1.1/32" + " " +
		."10.67.1.2/32"') $(vrctl "$h" -j nexthop list | jq -r \
		'.[] | select(.type == "tunnel" and .remote == "198.18.2.4" and .label == 1002 and .encap == "udp") | .refcnt')"
printf '10.67.2.1/32 vrf 1 via tunnel 198.18.2.4 label 1000 encap mpls\n' >"$f"
err=$(vrctl "$h" route import "$f" 2>&1)
vr_check_eq "route import of an unknown encapsulation: exit 2" 2 "$?"
vr_check_match "the error names the file and line" "encap.txt:1: encap: 'mpls' is neither 'udp' nor 'gre'" "$err"
for r in 10.67.0.1/32 10.67.0.2/32 10.68.0.0/24 10.67.1.1/32 10.67.1.2/32; do
	vr_must vrctl "$h" route del "$r" vrf 1
done
vr_check_eq "their routes deleted: the GRE nexthops are given back" "$nh0" "$(nexthops_used)"

# ---- ECMP through the CLI: add, show, replace in place, bad input, everything given back
nh_before=$(nexthops_used)
vr_check "route add via ecmp (3 tunnels)" vrctl "$h" route add 10.70.0.1/32 vrf 1 via ecmp \
	tunnel 198.18.3.2 label 801 tunnel 198.18.3.3 label 802 tunnel 198.18.3.4 label 803 encap gre
ecmp=$(vrctl "$h" -j route show vrf 1 | jq -c '.[] | select(.prefix == "10.70.0.1/32")')
vr_check_eq "route show: an ecmp nexthop with 3 members" "ecmp 3" "$(jq -r '"\(.type) \(.members | length)"' <<<"$ecmp")"
group=$(jq -r .group <<<"$ecmp")
vr_check_eq "the composite and its 3 members are new nexthops" $((nh_before + 4)) "$(nexthops_used)"
vr_check "route replace with 2 of the members" vrctl "$h" route replace 10.70.0.1/32 vrf 1 via ecmp \
	tunnel 198.18.3.2 label 801 tunnel 198.18.3.4 label 803 encap gre
ecmp=$(vrctl "$h" -j route show vrf 1 | jq -c '.[] | select(.prefix == "10.70.0.1/32")')
vr_check_eq "after replace: 2 members in a new group" "2 yes" \
	"$(jq -r --arg g "$group" '"\(.members | length) \(if (.group | tostring) != $g then "yes" else "no" end)"' <<<"$ecmp")"
vr_check_eq "the removed member's nexthop and the old group's composite were given back" $((nh_before + 3)) \
	"$(nexthops_used)"
vr_check_fails "route add via ecmp with one member is bad usage" vrctl "$h" route add 10.70.0.2/32 vrf 1 via ecmp \
	tunnel 198.18.3.2 label 801
vr_check_fails "route add via ecmp listing a member twice fails" vrctl "$h" route add 10.70.0.3/32 vrf 1 via ecmp \
	tunnel 198.18.3.2 label 801 tunnel 198.18.3.2 label 801
vr_check_fails "route add via ecmp with a member in another VRF's vif fails" vrctl "$h" route add 10.70.0.4/32 vrf 2 \
	via ecmp vif "$vif" tunnel 198.18.3.2 label 801
vr_check "route replace of a plain route by ecmp" vrctl "$h" route replace 10.64.0.1/32 vrf 1 via ecmp \
	tunnel 198.18.3.2 label 804 tunnel 198.18.3.3 label 805
vr_check "route replace back to one tunnel" vrctl "$h" route replace 10.64.0.1/32 vrf 1 via tunnel 198.18.2.3 label 1001
vr_check "route del of the ecmp route" vrctl "$h" route del 10.70.0.1/32 vrf 1
vr_check_eq "every ECMP nexthop was given back" "$nh_before" "$(nexthops_used)"

# ---- route del: a host route, a prefix, a missing one
vr_check "route del of a host route" vrctl "$h" route del 10.64.0.7/32 vrf 1
vr_check "route del of a prefix" vrctl "$h" route del 10.200.0.0/16 vrf 1
vr_check_fails "route del of a missing host route fails" vrctl "$h" route del 10.64.0.7/32 vrf 1
vr_check_eq "both are gone from the listing" 1001 "$(routes_in 1)"

# ---- IPv6: /128 routes in the exact-match table vr_host6, shorter prefixes in the VRF's IPv6 trie (an inner map
# of vr_vrf6), the nexthops and their reference counts shared with IPv4
pin=$(vr_pindir "$h")
bpf_dump() { nsenter --net="/run/netns/$(vr_ns "$h")" bpftool -j map dump "$@"; }
# The prefix lengths in VRF $1's IPv6 trie (its inner map id is the value in the pinned vr_vrf6), sorted.
trie6_plens() {
	local id
	id=$(bpf_dump pinned "$pin/vr_vrf6" | jq -r --arg k "$(printf '0x%02x' "$1")" \
		'.[] | select(.key[0] == $k and .key[1] == "0x00") | .value | reverse | map(ltrimstr("0x")) | join("")')
	[ -n "$id" ] || { echo "no-trie"; return; }
	bpf_dump id $((16#$id)) | jq -r '[.[] | .key[0] | ltrimstr("0x") | ascii_downcase] | sort | join(" ")'
}
# The addresses (byte lists) of VRF $1's routes in vr_host6.
host6_keys() { bpf_dump pinned "$pin/vr_host6" | jq -c --argjson v "$1" '[.[] | .formatted.key | select(.vrf_id == $v) | .addr]'; }
ecmp_buckets() {
	local g=$1
	nsenter --net="/run/netns/$(vr_ns "$h")" bpftool -j map lookup pinned "$pin/vr_ecmp" key \
		$((g & 255)) $((g >> 8 & 255)) $((g >> 16 & 255)) $((g >> 24 & 255)) | jq -c .formatted.value.bucket
}
route6() { vrctl "$h" -j route show vrf "$1" | jq -c --arg p "$2" '.[] | select(.prefix == $p)'; }
vif6_refcnt() { vrctl "$h" -j nexthop list | jq --arg d "$vif6" '.[] | select(.type == "vif" and .dev == $d) | .refcnt'; }

vr_check_eq "vrf add made an empty IPv6 trie for each VRF" "|" "$(trie6_plens 1)|$(trie6_plens 2)"
vr_check "vif add with ip6 and gw6" vrctl "$h" vif add "$vif6" vrf 1 mac 02:00:00:00:01:02 ip 10.1.0.2 \
	ip6 2001:db8:1::2 gw6 fe80::1
vr_check_eq "vif list -j: ip6 and gw6 of that vif, none on the IPv4-only one" "2001:db8:1::2 fe80::1 null" \
	"$(vrctl "$h" -j vif list | jq -r --arg a "$vif6" --arg b "$vif" \
		'[(.[] | select(.name == $a) | .ip6, .gw6), (.[] | select(.name == $b) | .ip6)] | map(tostring) | join(" ")')"
vr_check_match "vif list: 'ip6 ADDR gw6 ADDR' after the mode" "$vif6 .* tc ip6 2001:db8:1::2 gw6 fe80::1\$" \
	"$(vrctl "$h" vif list)"
err=$(vrctl "$h" vif add "${vif6}p" vrf 1 mac 02:00:00:00:01:03 ip 10.1.0.3 ip6 2001:db8::zz 2>&1)
vr_check_eq "vif add with a bad ip6: exit 2" 2 "$?"
vr_check_match "... explained" "ip6: '2001:db8::zz' is not an IPv6 address" "$err"
err=$(vrctl "$h" vif add "${vif6}p" vrf 1 mac 02:00:00:00:01:03 ip 10.1.0.3 ip6 2001:db8:1::3 gw6 ff02::1 2>&1)
vr_check_eq "vif add with a multicast gw6: exit 2" 2 "$?"
vr_check_match "... explained" "gw6: ff02::1 is a multicast address" "$err"

nh6=$(nexthops_used)
r1=$(routes_in 1)
vr_check "route add of a /128 via the vif" vrctl "$h" route add 2001:db8:1::2/128 vrf 1 via vif "$vif6"
vr_check "route add of a /64 via a tunnel" vrctl "$h" route add 2001:db8:100::/64 vrf 1 via tunnel 198.18.4.2 label 4001
vr_check "route add of ::/0 via a GRE tunnel" vrctl "$h" route add ::/0 vrf 1 via tunnel 198.18.4.3 label 4002 encap gre
vr_check_eq "the /128 is in vr_host6, keyed by VRF 1 and its address" "[[32,1,13,184,0,1,0,0,0,0,0,0,0,0,0,2]]" \
	"$(host6_keys 1)"
vr_check_eq "the /64 and ::/0 are in VRF 1's IPv6 trie, nothing else" "00 40" "$(trie6_plens 1)"
vr_check_eq "route show -j: each IPv6 route with its nexthop" \
	"vif $vif6|tunnel 198.18.4.2 4001 udp|tunnel 198.18.4.3 4002 gre" \
	"$(route6 1 2001:db8:1::2/128 | jq -r '"\(.type) \(.dev)"')|$(route6 1 2001:db8:100::/64 |
		jq -r '"\(.type) \(.remote) \(.label) \(.encap)"')|$(route6 1 ::/0 | jq -r '"\(.type) \(.remote) \(.label) \(.encap)"')"
vr_check_match "route show: an IPv6 prefix with its tunnel" \
	"2001:db8:100::/64 +[0-9]+ +tunnel 198\.18\.4\.2 label 4001 encap udp" "$(vrctl "$h" route show vrf 1)"
vr_check_eq "route show and vrf list count the IPv6 routes" "$((r1 + 3)) $((r1 + 3))" \
	"$(routes_in 1) $(vrctl "$h" -j vrf list | jq '.[] | select(.vrf == 1) | .routes')"
vr_check_eq "two tunnel nexthops more; the /128 shares the vif's nexthop (refcnt 2)" "$((nh6 + 2)) 2" \
	"$(nexthops_used) $(vif6_refcnt)"
err=$(vrctl "$h" route add 2001:db8:100::/64 vrf 1 discard 2>&1)
vr_check_eq "route add of an existing IPv6 route: exit 1" 1 "$?"
vr_check_match "... explained" "already exists in VRF 1" "$err"

# Bad IPv6 input: usage errors (exit 2) that say what is wrong, and a missing VRF or route (exit 1).
err=$(vrctl "$h" route add 2001:db8:100::1/64 vrf 1 discard 2>&1)
vr_check_eq "host bits beyond /64: exit 2" 2 "$?"
vr_check_match "... explained with the prefix meant" "has host bits set \(the prefix is 2001:db8:100::/64\)" "$err"
err=$(vrctl "$h" route add 2001:db8:100::/129 vrf 1 discard 2>&1)
vr_check_eq "/129: exit 2" 2 "$?"
vr_check_match "... explained" "prefix length 129 is longer than 128" "$err"
err=$(vrctl "$h" route add 2001:db8::zz/64 vrf 1 discard 2>&1)
vr_check_eq "a bad address: exit 2" 2 "$?"
vr_check_match "... explained" "'2001:db8::zz/64' is not an IPv6 prefix" "$err"
err=$(vrctl "$h" route add 2001:db8:5::/64 vrf 9 discard 2>&1)
vr_check_eq "an unknown VRF: exit 1" 1 "$?"
vr_check_match "... explained" "VRF 9 does not exist" "$err"
err=$(vrctl "$h" route del 2001:db8:5::/64 vrf 1 2>&1)
vr_check_eq "route del of a missing IPv6 route: exit 1" 1 "$?"
vr_check_match "... explained" "no such route in VRF 1" "$err"
vr_check_eq "nothing changed by the bad input" "$((r1 + 3)) $((nh6 + 2))" "$(routes_in 1) $(nexthops_used)"

# ECMP: replace in place, buckets of the members that stay are kept, everything given back.
vr_check "route replace of the /64 by ecmp (3 tunnels)" vrctl "$h" route replace 2001:db8:100::/64 vrf 1 via ecmp \
	tunnel 198.18.4.2 label 4001 tunnel 198.18.4.4 label 4003 tunnel 198.18.4.5 label 4004
ecmp=$(route6 1 2001:db8:100::/64)
vr_check_eq "an ecmp nexthop with 3 members" "ecmp 3" "$(jq -r '"\(.type) \(.members | length)"' <<<"$ecmp")"
old_buckets=$(ecmp_buckets "$(jq -r .group <<<"$ecmp")")
vr_check "route replace with 2 of the 3 members" vrctl "$h" route replace 2001:db8:100::/64 vrf 1 via ecmp \
	tunnel 198.18.4.2 label 4001 tunnel 198.18.4.5 label 4004
ecmp=$(route6 1 2001:db8:100::/64)
new_buckets=$(ecmp_buckets "$(jq -r .group <<<"$ecmp")")
vr_check_eq "2 members; every bucket of a staying member kept, the others spread over the staying ones" "2 0 0" \
	"$(jq -rn --argjson o "$old_buckets" --argjson n "$new_buckets" --argjson m "$(jq -c .members <<<"$ecmp")" \
		'"\($m | length) \([range(0; $o | length) | select(($m | index($o[.])) != null and $o[.] != $n[.])] | length) \([$n[] | select(($m | index(.)) == null)] | length)"')"
vr_check_eq "the removed member's and the old group's nexthops were given back" $((nh6 + 4)) "$(nexthops_used)"
vr_check "route replace of the /128 (host table) by ecmp" vrctl "$h" route replace 2001:db8:1::2/128 vrf 1 via ecmp \
	vif "$vif6" tunnel 198.18.4.2 label 4001
vr_check_eq "the /128 is an ecmp route, still only in vr_host6" "ecmp 2 1 00 40" \
	"$(route6 1 2001:db8:1::2/128 | jq -r '"\(.type) \(.members | length)"') $(host6_keys 1 | jq length) $(trie6_plens 1)"
vr_check "route replace of the /64 back to one tunnel" vrctl "$h" route replace 2001:db8:100::/64 vrf 1 via tunnel \
	198.18.4.2 label 4001
vr_check "route replace of the /128 back to the vif" vrctl "$h" route replace 2001:db8:1::2/128 vrf 1 via vif "$vif6"
vr_check_eq "back to the nexthops before ECMP" "$((nh6 + 2)) 2" "$(nexthops_used) $(vif6_refcnt)"
for r in 2001:db8:1::2/128 2001:db8:100::/64 ::/0; do
	vr_check "route del $r" vrctl "$h" route del "$r" vrf 1
done
vr_check_eq "deleted: vr_host6 and the trie are empty, the nexthops given back, the vif's refcnt 1" "[]||$nh6 1 $r1" \
	"$(host6_keys 1)|$(trie6_plens 1)|$(nexthops_used) $(vif6_refcnt) $(routes_in 1)"

# route import: IPv4 and IPv6 lines in one file; a bad IPv6 line stops the whole file; a bulk of /128 routes.
r2=$(routes_in 2)
f=$VR_TMP/mixed6.txt
{
	echo "10.91.0.1/32 vrf 1 via tunnel 198.18.4.2 label 4010"
	echo "2001:db8:200::1/128 vrf 1 via tunnel 198.18.4.2 label 4011"
	echo "2001:db8:200::/48 vrf 2 discard"
	echo "10.91.1.0/24 vrf 2 discard"
	echo "2001:db8:200::1 vrf 2 discard"
} >"$f"
vr_check_eq "route import of a file mixing IPv4 and IPv6: 5 added" "5 5 0" \
	"$(vrctl "$h" -j route import "$f" | jq -r '"\(.routes) \(.added) \(.failed)"')"
vr_check_eq "each landed in its table (host4, host6, VRF 2's IPv6 trie)" \
	"10.91.0.1/32 2001:db8:200::1/128|10.91.1.0/24 2001:db8:200::/48 2001:db8:200::1/128|30" \
	"$(vrctl "$h" -j route show vrf 1 | jq -r '[.[] | select(.prefix | test("^10\\.91\\.|^2001:db8:200:")) | .prefix] | sort | join(" ")')|$(
		vrctl "$h" -j route show vrf 2 | jq -r '[.[] | select(.prefix | test("^10\\.91\\.|^2001:db8:200:")) | .prefix] | sort | join(" ")')|$(
		trie6_plens 2)"
printf '2001:db8:300::/64 vrf 1 discard\n2001:db8:300::1/64 vrf 1 discard\n' >"$VR_TMP/bad6.txt"
err=$(vrctl "$h" route import "$VR_TMP/bad6.txt" 2>&1)
vr_check_eq "route import with an IPv6 line with host bits: exit 2" 2 "$?"
vr_check_match "the error names the file and line" "bad6.txt:2: '2001:db8:300::1/64' has host bits set" "$err"
vr_check_eq "nothing of that file was applied" "$((r1 + 2))" "$(routes_in 1)"
big=$VR_TMP/big6.txt
{
	awk 'BEGIN { for (i = 0; i < 70; i++) printf "2001:db8:300::%x/128 vrf 2 via tunnel 198.18.4.6 label %d\n", i + 1, 5000 + i }'
	echo "2001:db8:200::1/128 vrf 1 via tunnel 198.18.4.2 label 4012"   # exists
	echo "2001:db8:400::/64 vrf 9 discard"                              # no VRF 9
} >"$big"
err=$(vrctl "$h" route import "$big" 2>&1)
vr_check_eq "a 72-line IPv6 import through the batch path with 2 refused lines: exit 1" 1 "$?"
vr_check_match "summary: 70 added, 2 failed" "70 routes added, 2 failed" "$err"
vr_check_match "the existing /128 is explained with its line" "big6.txt:71: .*already exists" "$err"
vr_check_match "the missing VRF is explained with its line" "big6.txt:72: .*VRF 9 does not exist" "$err"
vr_check_eq "VRF 2: 73 routes more, in route show and vrf list; 71 of them in vr_host6" "$((r2 + 73)) $((r2 + 73)) 71" \
	"$(routes_in 2) $(vrctl "$h" -j vrf list | jq '.[] | select(.vrf == 2) | .routes') $(host6_keys 2 | jq length)"
vr_check "vif del of the IPv6 vif" vrctl "$h" vif del "$vif6"

# ---- labels
vr_check "label add 700 vif" vrctl "$h" label add 700 vif "$vif"
vr_check "label add 701 vrf 2" vrctl "$h" label add 701 vrf 2
vr_check_fails "label add of a label in use fails" vrctl "$h" label add 700 vrf 2
vr_check_fails "label add of a reserved label fails" vrctl "$h" label add 15 vrf 2
vr_check_fails "label add to a missing VRF fails" vrctl "$h" label add 702 vrf 7
vif_label=$(vrctl "$h" -j vif list | jq -r '.[0].label')
vr_check_fails "label del of a vif's own label fails" vrctl "$h" label del "$vif_label"
vr_check_fails "label del of a VRF's own label fails" vrctl "$h" label del 500
labels=$(vrctl "$h" -j label show | jq -r '[.[] | .label] | sort | map(tostring) | join(" ")')
vr_check_eq "label show: the vif's, the VRF's and the two bound ones" "$vif_label 500 700 701" "$labels"
vr_check "label del 701" vrctl "$h" label del 701
vr_check_fails "vif del while a route points at the vif fails" vrctl "$h" vif del "$vif"
vr_check "route del of the vif route" vrctl "$h" route del 10.1.0.1/32 vrf 1
vr_check "vif del with an explicit label bound to it" vrctl "$h" vif del "$vif"
vr_check_eq "the vif's labels went with it" "500" "$(vrctl "$h" -j label show | jq -r '[.[] | .label] | map(tostring) | join(" ")')"

# ---- vrf del takes its host routes, prefixes and labels with it; every nexthop comes back
vr_check "label add 702 vrf 2" vrctl "$h" label add 702 vrf 2
vr_check "vrf del 2 (202 routes, its own and a bound label)" vrctl "$h" vrf del 2
vr_check "vrf del 1 (1000 routes)" vrctl "$h" vrf del 1
vr_check_eq "no label left" 0 "$(vrctl "$h" -j label show | jq length)"
vr_check_eq "no host route left in the exact-match table" 0 \
	"$(nsenter --net="/run/netns/$(vr_ns "$h")" bpftool -j map dump pinned "$(vr_pindir "$h")/vr_host4" | jq length)"
vr_check_eq "no IPv6 host route left in vr_host6" 0 "$(bpf_dump pinned "$pin/vr_host6" | jq length)"
vr_check_eq "no IPv6 trie left in vr_vrf6" 0 "$(bpf_dump pinned "$pin/vr_vrf6" | jq length)"
vr_check_eq "every nexthop was given back" 0 "$(nexthops_used)"
vr_check_eq "no tunnel endpoint is left once no nexthop points at one" 0 "$(vrctl "$h" -j endpoint list | jq length)"

vr_summary
