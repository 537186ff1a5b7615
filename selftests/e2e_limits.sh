#!/bin/bash
# Resource exhaustion: every table filled to its real size (no shrunken build), through vrouterctl on one host
# (h1), and an agent flooded by a controller on another (h2).
#
# h1, the CLI: the tables that a bulk `route import` fills in about two seconds each are filled for real: the
# ECMP group table (4,095 groups), the tunnel endpoint table (65,536 remote hosts), the host-route table
# (1,048,576 /32 routes of all VRFs) and the nexthop table (1,048,575 nexthops); the limits that are ranges
# (VRF ids 0..4095, labels 16..1048575, 16 ECMP members) are tried one past the end; the NAT connection table
# is sized at load (`nat-entries`). Each time the CLI must fail with a message naming the table (exit 1; 2 for
# a value out of range) and nothing that was there before may change: two VMs keep pinging each other through
# their vif routes, a tunnel route and a label binding made before keep their nexthop, and the VRF's route
# count and the nexthop count stay what they were. (The datapath's counted drop for a full NAT table,
# nat_table_full, is exercised with traffic by the gateway tests; here its counter is only shown at 0.)
#
# h2, the agent: a vrouter-controller on h2's loopback and a vrouter-agent run under `prlimit --as` (an
# address-space limit: the agent must live within it or fail its allocations). Its label range is two labels:
# a third port is refused with the range named. Then a fake agent (build/bench_publisher) floods the controller
# with FLOOD /32 routes as fast as it can (1,048,576: the most the controller takes from one agent, and the size
# of the host-route table, where the agent's ports have two /32s already, so two are one too many), which the
# controller reflects to the agent at full speed; a second
# fake agent then publishes ECMP_N of the same prefixes with another next hop, so that many prefixes turn into
# two-member ECMP routes, more than the 4,095 groups the datapath holds. The agent must install every plain
# route that fits and refuse (and log, naming the table) the two that do not, install exactly 4,095 ECMP routes
# and refuse (and log) the rest while keeping their old single tunnel, keep its session, keep answering the
# port API, live within its address-space limit and the documented memory per route (README).
#
# Run as root after make: bash selftests/e2e_limits.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENT=${AGENT:-$VR_BUILD/vrouter-agent}
CONTROLLER=${CONTROLLER:-$VR_BUILD/vrouter-controller}
PUBLISHER=${PUBLISHER:-$VR_BUILD/bench_publisher}
# Routes the controller floods the agent with: as many as it takes from one agent (RR_MAX_PATHS_PER_ORIGIN),
# which is also the size of the host-route table, where the agent's two ports already have their /32s.
FLOOD=${VR_LIMITS_FLOOD:-1048576}
ECMP_N=${VR_LIMITS_ECMP:-6000}          # of those, made ECMP by a second origin (4,095 fit)
AS_MIB=${VR_LIMITS_AS_MIB:-320}         # the agent's address-space limit (prlimit --as)
B_PER_ROUTE=256                         # README: the agent's memory per learned route, at most

vr_require_root
vr_require_cmds ip nsenter jq awk prlimit ping ss
vr_require_build "$VRCTL" "$AGENT" "$CONTROLLER" "$PUBLISHER"
vr_require_bpffs
vr_tmp_init limits
vr_trap_cleanup

echo "# resource limits, run $VR_ID, temporary files in $VR_TMP"
t_start=$SECONDS

# ------------------------------------------------------------------ h1: a datapath, two VMs, state to keep

VR_VM_HOST+=([a1]=h1 [a2]=h1)
VR_VM_VRF+=([a1]=1 [a2]=1)
VR_VM_IP+=([a1]=10.1.0.1 [a2]=10.1.0.2)
VR_VM_KIND+=([a1]=veth [a2]=veth)
VR_VM_MODE+=([a1]=xdp [a2]=xdp)
for hh in h1 h2; do
	vr_netns_add "$hh"
	fab=$(vr_fabric_dev "$hh")
	vr_must ip -n "$(vr_ns "$hh")" link add "$fab" type veth peer name "${fab}p"
	vr_must ip -n "$(vr_ns "$hh")" addr add "${VR_HOST_IP[$hh]}/24" dev "$fab"
	vr_must ip -n "$(vr_ns "$hh")" link set "$fab" up
	vr_must ip -n "$(vr_ns "$hh")" link set "${fab}p" up
	vr_register_pindir "$(vr_ns "$hh")" "$(vr_pindir "$hh")"
done
vr_topo_vm a1
vr_topo_vm a2
vr_must vrctl h1 load fabric "$(vr_fabric_dev h1)" host-ip "${VR_HOST_IP[h1]}" nat-entries 4
vr_must vrctl h1 vrf add 1
vr_must vrctl h1 vrf add 2
for vm in a1 a2; do
	vr_must vrctl h1 vif add "$(vr_vif_dev "$vm")" vrf 1 mac "$(vr_vm_mac "$vm")" ip "${VR_VM_IP[$vm]}" gw "$VR_GW" \
		mtu "$VR_VM_MTU" mode xdp
	vr_must vrctl h1 route add "${VR_VM_IP[$vm]}/32" vrf 1 via vif "$(vr_vif_dev "$vm")"
done
vr_must vrctl h1 route add 10.9.0.1/32 vrf 1 via tunnel 198.18.2.2 label 500
vr_must vrctl h1 route add 10.9.1.0/24 vrf 1 via tunnel 198.18.2.2 label 501
vr_must vrctl h1 label add 600 vrf 1

# What must survive every refusal: VRF 1's routes as listed, its label binding, the VM -> VM path.
vrf1_routes() { vrctl h1 -j route show vrf 1 | jq -c 'sort_by(.prefix)'; }
labels_json() { vrctl h1 -j label show | jq -c .; }
nexthops_used() { vrctl h1 -j nexthop list | jq length; }
vrf_count() { vrctl h1 -j vrf list | jq -r --argjson v "$1" '.[] | select(.vrf == $v) | .routes'; }
ROUTES0=$(vrf1_routes)
LABELS0=$(labels_json)
vr_check "a1 pings a2 through the vRouter before the tables are filled" vr_ping_wait a1 "${VR_VM_IP[a2]}" 5
[ "$(jq length <<<"$ROUTES0")" = 4 ] || vr_die "VRF 1 should hold 4 routes, it has: $ROUTES0"

intact() {   # intact WHAT: the state made before is untouched and still forwards
	vr_check_eq "$1: VRF 1's routes unchanged (prefixes, nexthops, labels)" "$ROUTES0" "$(vrf1_routes)"
	vr_check_eq "$1: the label bindings unchanged" "$LABELS0" "$(labels_json)"
	vr_check "$1: a1 still pings a2" vr_ping a1 "${VR_VM_IP[a2]}" 2
}

# run_cli NAME ARGS...: vrouterctl on h1, exit status in RC, stderr in ERR.
run_cli() {
	local name=$1
	shift
	vrctl h1 "$@" >"$VR_TMP/$name.out" 2>"$VR_TMP/$name.err"
	RC=$?
	ERR=$(cat "$VR_TMP/$name.err")
	SUM=$(tail -n 1 "$VR_TMP/$name.out")   # route import's "N routes added, M failed"
}

# ------------------------------------------------------------------ ranges: one past the end

run_cli vrf4096 vrf add 4096
vr_check_eq "vrf add 4096 (ids are 0..4095): exit 2" 2 "$RC"
vr_check_match "... and says the range" "vrf: '4096' is not a number in 0\.\.4095" "$ERR"
vr_check "vrf add 4095, the last id, works" vrctl h1 vrf add 4095
run_cli labelbig label add 1048576 vrf 1
vr_check_eq "label add 1048576 (the label space is 20 bits): exit 2" 2 "$RC"
vr_check_match "... and says the range" "label: '1048576' is not a number in 0\.\.1048575" "$ERR"
vr_check "label add 1048575, the last label, works" vrctl h1 label add 1048575 vrf 1
vr_check "label del 1048575" vrctl h1 label del 1048575
members() { local i; for ((i = 1; i <= $1; i++)); do echo "tunnel 198.18.3.$i label $((700 + i))"; done; }
run_cli ecmp17 route add 10.9.2.1/32 vrf 2 via ecmp $(members 17)
vr_check_eq "an ECMP route of 17 members: exit 2" 2 "$RC"
vr_check_match "... and says at most 16" "an ECMP route has at most 16 members" "$ERR"
vr_check "an ECMP route of 16 members works" vrctl h1 route add 10.9.2.1/32 vrf 2 via ecmp $(members 16)
vr_check "and goes" vrctl h1 route del 10.9.2.1/32 vrf 2

# ------------------------------------------------------------------ ECMP groups: 4,095

NH0=$(nexthops_used)
awk 'BEGIN { for (i = 0; i < 4100; i++)
	printf "10.200.%d.%d/32 vrf 2 via ecmp tunnel 198.18.2.2 label 800 tunnel 198.18.2.3 label 801\n", i / 256, i % 256 }' \
	>"$VR_TMP/ecmp.txt"
t0=$SECONDS
run_cli ecmp route import "$VR_TMP/ecmp.txt"
vr_check_eq "route import of 4,100 ECMP routes: exit 1 (some refused)" 1 "$RC"
vr_check_match "4,095 added, 5 refused (the ECMP group table holds 4,095 groups)" "^4095 routes added, 5 failed" \
	"$SUM"
vr_check_match "the first refused line names the table and its size" \
	"ecmp\.txt:4096: route add: the ECMP group table is full \(4095 groups\)" "$ERR"
vr_check_eq "VRF 2 holds the 4,095" 4095 "$(vrf_count 2)"
run_cli ecmp1 route add 10.9.2.2/32 vrf 1 via ecmp tunnel 198.18.2.2 label 800 tunnel 198.18.2.3 label 801
vr_check_eq "one more ECMP route (vrouterctl route add): exit 1" 1 "$RC"
vr_check_match "... the ECMP group table is full" "the ECMP group table is full" "$ERR"
intact "ECMP table full"
vr_check "route del of one ECMP route frees its group" vrctl h1 route del 10.200.0.7/32 vrf 2
vr_check "... and the next ECMP route fits" vrctl h1 route add 10.9.2.2/32 vrf 1 via ecmp \
	tunnel 198.18.2.2 label 800 tunnel 198.18.2.3 label 801
vr_check "route del of it" vrctl h1 route del 10.9.2.2/32 vrf 1
vr_check "vrf del 2 takes its 4,094 ECMP routes along" vrctl h1 vrf del 2
vr_check_eq "their composite and member nexthops are given back" "$NH0" "$(nexthops_used)"
vr_must vrctl h1 vrf add 2
vr_log "#   ECMP groups: $((SECONDS - t0)) s"

# ------------------------------------------------------------------ tunnel endpoints: 65,536 remote hosts

EP0=$(vrctl h1 -j endpoint list | jq length)
awk 'BEGIN { for (i = 0; i < 65540; i++) { x = i + 1
	printf "10.%d.%d.%d/32 vrf 2 via tunnel 100.%d.%d.%d label 900\n", 50 + int(i / 65536), int(i / 256) % 256, i % 256,
		64 + int(x / 65536), int(x / 256) % 256, x % 256 } }' >"$VR_TMP/endpoints.txt"
t0=$SECONDS
run_cli endpoints route import "$VR_TMP/endpoints.txt"
vr_check_eq "route import to 65,540 distinct remote hosts: exit 1" 1 "$RC"
vr_check_match "the error names the tunnel endpoint table and its size" \
	"the tunnel endpoint table is full \(65536 remote hosts\)" "$ERR"
vr_check_eq "the import is refused as a whole: VRF 2 stays empty" 0 "$(vrf_count 2)"
vr_check_eq "... no nexthop left behind" "$NH0" "$(nexthops_used)"
vr_check_eq "... and the endpoint list is what it was" "$EP0" "$(vrctl h1 -j endpoint list | jq length)"
intact "endpoint table full"
vr_log "#   endpoints: $((SECONDS - t0)) s"

# ------------------------------------------------------------------ host routes: 1,048,576 /32s of all VRFs

# VRF 1 holds 3 /32s (two vifs, one tunnel): 1,048,573 more fit.
awk 'BEGIN { for (i = 0; i < 1048580; i++)
	printf "11.%d.%d.%d/32 vrf 2 via tunnel 198.18.2.2 label 900\n", int(i / 65536), int(i / 256) % 256, i % 256 }' \
	>"$VR_TMP/host.txt"
t0=$SECONDS
run_cli host route import "$VR_TMP/host.txt"
vr_check_eq "route import of 1,048,580 /32s: exit 1" 1 "$RC"
vr_check_match "1,048,573 added, 7 refused (3 of the 1,048,576 were there)" "^1048573 routes added, 7 failed" \
	"$SUM"
vr_check_match "a refused line names the host-route table and its size" \
	"host\.txt:1048574: route add: the route tables are full \(VRF 2's, or the host-route table of all VRFs: 1048576 /32" "$ERR"
vr_check_eq "vrf list counts them" 1048573 "$(vrf_count 2)"
vr_check_eq "one shared tunnel nexthop for all of them" $((NH0 + 1)) "$(nexthops_used)"
run_cli host1 route add 10.9.0.2/32 vrf 1 via vif "$(vr_vif_dev a2)"
vr_check_eq "route add of one more /32 in VRF 1: exit 1" 1 "$RC"
vr_check_match "... the host-route table is full" "route tables are full \(VRF 1's, or the host-route table" "$ERR"
vr_check "a shorter prefix still goes into VRF 1's own table" vrctl h1 route add 10.9.3.0/24 vrf 1 via tunnel 198.18.2.2 label 502
vr_check "and goes" vrctl h1 route del 10.9.3.0/24 vrf 1
intact "host-route table full"
vr_check "vrf del 2 removes its million routes" vrctl h1 vrf del 2
vr_check_eq "and their nexthop" "$NH0" "$(nexthops_used)"
vr_must vrctl h1 vrf add 2
vr_log "#   host routes: $((SECONDS - t0)) s"

# ------------------------------------------------------------------ nexthops: 1,048,575

# One nexthop per route (two remote hosts, a label each): 1,048,572 routes fit in the host-route table (3 /32s
# are there), but only 1,048,575 - NH0 nexthops are free.
awk 'BEGIN { for (i = 0; i < 1048572; i++)
	printf "11.%d.%d.%d/32 vrf 2 via tunnel 198.18.4.%d label %d\n", int(i / 65536), int(i / 256) % 256, i % 256,
		2 + i % 2, 16 + int(i / 2) }' >"$VR_TMP/nh.txt"
t0=$SECONDS
run_cli nh route import "$VR_TMP/nh.txt"
free_nh=$((1048575 - NH0))
vr_check_eq "route import needing 1,048,572 new nexthops ($free_nh free): exit 1" 1 "$RC"
vr_check_match "$free_nh added, the rest refused" "^$free_nh routes added, $((1048572 - free_nh)) failed" "$SUM"
vr_check_match "a refused line names the nexthop table and its size" \
	"nh\.txt:$((free_nh + 1)): route add: the nexthop table is full \(1048575 nexthops\)" "$ERR"
vr_check_eq "every nexthop is in use" 1048575 "$(nexthops_used)"
run_cli nh1 route add 10.9.0.3/32 vrf 1 via tunnel 198.18.2.4 label 503
vr_check_eq "route add via a new tunnel: exit 1" 1 "$RC"
vr_check_match "... the nexthop table is full" "the nexthop table is full" "$ERR"
vr_check "route add via an existing tunnel still works (it shares the nexthop)" \
	vrctl h1 route add 10.9.3.0/24 vrf 1 via tunnel 198.18.2.2 label 501
vr_check "and goes" vrctl h1 route del 10.9.3.0/24 vrf 1
intact "nexthop table full"
vr_check "vrf del 2" vrctl h1 vrf del 2
vr_check_eq "every nexthop of it given back" "$NH0" "$(nexthops_used)"
vr_log "#   nexthops: $((SECONDS - t0)) s"

# ------------------------------------------------------------------ NAT connection table: sized at load

out=$(vrctl h1 -j nat stats)
vr_check_eq "nat stats: the table loaded with nat-entries 4 has 4 entries, none used" "4 0" \
	"$(jq -r '"\(.max_entries) \(.entries)"' <<<"$out")"
vr_check_eq "nat_table_full (the datapath's counted drop for a full table) is a drop reason, at 0" 0 \
	"$(vr_drop_stat h1 nat_table_full)"
run_cli natsmall load nat-entries 1
vr_check_eq "load nat-entries 1 (two entries per connection): exit 2" 2 "$RC"
vr_check_match "... explained" "nat-entries: 1 is too small" "$ERR"
vr_check "a reload asking for another size keeps the running table (its connections live on)" \
	vrctl h1 load fabric "$(vr_fabric_dev h1)" host-ip "${VR_HOST_IP[h1]}" nat-entries 64
vr_check_eq "... nat stats still says 4" 4 "$(vrctl h1 -j nat stats | jq -r .max_entries)"
intact "after the reload"
vr_log "#   h1 done at $((SECONDS - t_start)) s"

# ------------------------------------------------------------------ h2: labels of an agent, a controller flood

CTL_IP=127.0.0.1
VN=default-domain:admin:vn1
sock() { echo "$VR_TMP/agent-$1.sock"; }
pctl() { local hh=$1; shift; vrctl "$hh" port -s "$(sock "$hh")" "$@"; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }   # status_kb PID FIELD
vr_bg controller h2 "$CONTROLLER" -l "$CTL_IP" -p 5269 --hold 30
vr_wait_until 5 bash -c "ip netns exec $(vr_ns h2) ss -Htln | grep -qF '$CTL_IP:5269 '" ||
	{ cat "$VR_TMP/controller.log" >&2; vr_die "vrouter-controller did not listen"; }
vr_agent_yaml h2 info 30 "" "$CTL_IP"
printf 'labels:\n  first: 100\n  last: 101\n' >>"$VR_TMP/agent-h2.yaml"
vr_bg agent h2 prlimit --as=$((AS_MIB << 20)) -- "$AGENT" -c "$VR_TMP/agent-h2.yaml" -f
AGENT_PID=$VR_BG_PID
vr_wait_until 10 pctl h2 list || { tail -n 20 "$VR_TMP/agent.log" >&2; vr_die "vrouter-agent on h2 did not serve"; }
vr_check_eq "the agent runs under an address-space limit of $AS_MIB MiB" $((AS_MIB << 20)) \
	"$(awk '/^Max address space/ { print $5 }' "/proc/$AGENT_PID/limits")"
for i in 1 2 3; do
	vr_must ip -n "$(vr_ns h2)" link add "vr${VR_ID}p$i" type veth peer name "vr${VR_ID}q$i"
	vr_must ip -n "$(vr_ns h2)" link set "vr${VR_ID}p$i" up
done
port_add() { pctl h2 add "vr${VR_ID}p$1" vrf 1 mac "02:00:00:00:02:0$1" ip "10.1.0.$((10 + $1))" vn "$VN" mode tc; }
vr_check "port add 1: label 100 of the range 100..101" port_add 1
vr_check "port add 2: label 101" port_add 2
out=$(port_add 3 2>&1)
vr_check_eq "port add 3: the label range is used up, exit 1" 1 "$?"
vr_check_match "... and the agent says so, naming the range" "no free label in 100\.\.101" "$out"
vr_check_eq "the two ports keep their labels" "100 101" "$(vrctl h2 -j port -s "$(sock h2)" list | jq -r '[.[].label] | sort | join(" ")')"
vr_check "the agent's session is up (10 s)" vr_wait_until 10 grep -q 'session up' "$VR_TMP/agent.log"

pin2=$(vr_pindir h2)
base=$("$PUBLISHER" routes "$pin2" 1)
sleep 0.3
rss0=$(status_kb "$AGENT_PID" VmRSS)
hwm0=$(status_kb "$AGENT_PID" VmHWM)
vm0=$(status_kb "$AGENT_PID" VmSize)
t0=$SECONDS
vr_bg publisher-a h2 "$PUBLISHER" publish "$CTL_IP" 5269 "flood-a-$VR_ID" "$VN" 1 "$FLOOD" 10.128.0.0 198.18.9.9 100
fit=$((1048576 - base))   # what the host-route table has room for
[ "$FLOOD" -lt "$fit" ] && fit=$FLOOD
vr_check "the flood: $FLOOD routes published, the $fit that fit installed by the agent (60 s)" \
	"$PUBLISHER" count "$pin2" 1 $((base + fit)) 60
t_flood=$((SECONDS - t0))
vr_check_eq "the $((FLOOD - fit)) beyond the host-route table are refused, each logged with the table named" \
	$((FLOOD - fit)) "$(grep -c 'learned route .*: the route tables are full' "$VR_TMP/agent.log")"
vr_bg publisher-b h2 "$PUBLISHER" publish "$CTL_IP" 5269 "flood-b-$VR_ID" "$VN" 1 "$ECMP_N" 10.128.0.0 198.18.9.10 100
ecmp_routes() { vrctl h2 -j route show vrf 1 | jq '[.[] | select(.type == "ecmp")] | length'; }
refused() { grep -c 'replacing it (now .*) failed: the ECMP group table is full' "$VR_TMP/agent.log"; }
vr_check "then $ECMP_N of them turned ECMP by a second origin: the agent tried them all (30 s)" \
	vr_wait_until 30 bash -c "[ \$(grep -c 'replacing it (now .*) failed: the ECMP group table is full' '$VR_TMP/agent.log') -ge $((ECMP_N - 4095)) ]"
sleep 0.5
vr_check_eq "exactly 4,095 ECMP routes are installed (the group table's size)" 4095 "$(ecmp_routes)"
vr_check_eq "the other $((ECMP_N - 4095)) are refused, each logged with the table named" $((ECMP_N - 4095)) "$(refused)"
vr_check_eq "every installed prefix is still routed (the refused ECMP ones by their old single tunnel)" \
	$((base + fit)) "$("$PUBLISHER" routes "$pin2" 1)"
vr_check "the agent is alive" kill -0 "$AGENT_PID"
vr_check_eq "its session never dropped" 0 "$(grep -c 'session closed' "$VR_TMP/agent.log")"
vr_check "it still answers the port API" pctl h2 list
hwm=$(status_kb "$AGENT_PID" VmHWM)
rss1=$(status_kb "$AGENT_PID" VmRSS)
vm1=$(status_kb "$AGENT_PID" VmPeak)
vr_log "#   flood of $FLOOD routes installed in $t_flood s; agent VmRSS $rss0 -> $rss1 kB, VmHWM $hwm0 -> $hwm kB," \
	"VmSize $vm0 kB, VmPeak $vm1 kB (limit $((AS_MIB << 10)) kB)"
# The peak before the flood is the table snapshots libvrouter keeps while a handle is open (the nexthop and
# label tables: a fixed ~80 MiB whatever the routes); the routes add to it.
vr_check_range "its resident memory grew by at most $B_PER_ROUTE B per learned route" 0 \
	$(((FLOOD + ECMP_N) * B_PER_ROUTE / 1024)) $((${rss1:-0} - ${rss0:-0}))
vr_check_range "its peak resident memory (VmHWM) too, over the peak before the flood" 0 \
	$(((FLOOD + ECMP_N) * B_PER_ROUTE / 1024)) $((${hwm:-0} - ${hwm0:-0}))
vr_check_eq "no allocation failed in the agent" 0 "$(grep -ci 'out of memory' "$VR_TMP/agent.log")"

echo "# runtime $((SECONDS - t_start)) s"
[ "$VR_FAIL" -gt 0 ] && tail -n 15 "$VR_TMP/agent.log" | sed 's/^/#   agent: /'
vr_summary
