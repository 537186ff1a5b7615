#!/bin/bash
# The forwarding tables through vrouterctl, on one host namespace: routes in bulk (route import: the whole file
# checked before anything changes, each line added or refused on its own), host routes (/32, kept in the
# exact-match table) beside prefixes (in the VRF's trie) in listings, counts and deletes, explicit label
# bindings (label add/del) and what happens to them when their vif or VRF goes, tunnel encapsulations (the same
# tunnel in MPLS-in-UDP and MPLS-over-GRE is two nexthops; route add and import take 'encap udp|gre', listings
# show it), and that nexthops are given back: after everything is deleted the nexthop table is empty again.
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
vr_must ip -n "$(vr_ns $h)" link add "$fab" type veth peer name "${fab}p"
vr_must ip -n "$(vr_ns $h)" link add "$vif" type veth peer name "${vif}p"
vr_must ip -n "$(vr_ns $h)" addr add 198.18.1.2/24 dev "$fab"
for d in "$fab" "${fab}p" "$vif" "${vif}p"; do vr_must ip -n "$(vr_ns $h)" link set "$d" up; done
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
vr_check_eq "every nexthop was given back" 0 "$(nexthops_used)"
vr_check_eq "no tunnel endpoint is left once no nexthop points at one" 0 "$(vrctl "$h" -j endpoint list | jq length)"

vr_summary
