#!/bin/bash
# End-to-end test of vrouter-agent, standalone (no controllers): on the two-host underlay of lib.sh, one
# agent per host with a generated YAML config; VMs on host h1 are attached only through the agent's port
# API (`vrouterctl port add`), never with `vrouterctl vif add`. It checks what the agent programs (vif,
# label from the configured range, local /32), that VMs ping through those vifs, the port API's answers to
# good and bad requests, a SIGKILL + restart under a running ping (no loss, same ports and labels, no label
# reused) and a clean shutdown that leaves the datapath forwarding.
#
# Run as root after make: bash selftests/e2e_agent.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENT=${AGENT:-$VR_BUILD/vrouter-agent}

vr_require_root
vr_require_cmds ip nsenter ethtool ping jq socat stat
vr_require_build "$VRCTL" "$AGENT"
vr_require_bpffs
vr_tmp_init agent
vr_trap_cleanup

echo "# vrouter-agent end-to-end test, run $VR_ID, temporary files in $VR_TMP"

# The VMs of this test: on h1, a1, a2, a4 in VRF 1 (a2 on the TC path), a3 in VRF 2 with a1's address; on
# h2, b1 in VRF 1 (reached through static tunnel routes: without controllers nobody publishes them).
# a5 (VRF 1) is attached last with two addresses, 10.1.0.5 and A5_IP2.
VR_VM_HOST+=([a1]=h1 [a2]=h1 [a3]=h1 [a4]=h1 [a5]=h1 [b1]=h2)
VR_VM_VRF+=([a1]=1 [a2]=1 [a3]=2 [a4]=1 [a5]=1 [b1]=1)
VR_VM_IP+=([a1]=10.1.0.1 [a2]=10.1.0.3 [a3]=10.1.0.1 [a4]=10.1.0.4 [a5]=10.1.0.5 [b1]=10.1.0.2)
VR_VM_KIND+=([a1]=veth [a2]=veth [a3]=veth [a4]=veth [a5]=veth [b1]=veth)
VR_VM_MODE+=([a1]=xdp [a2]=tc [a3]=xdp [a4]=xdp [a5]=xdp [b1]=xdp)
A5_IP2=10.1.0.15
declare -A VN=([1]=default-domain:admin:vn1 [2]=default-domain:admin:vn2)
LABEL_FIRST=100
LABEL_LAST=199

declare -A AGENT_PID=()
sock() { echo "$VR_TMP/$1/agent.sock"; }
# vrouterctl port against host H's agent.
pctl() { local h=$1; shift; vrctl "$h" port -s "$(sock "$h")" "$@"; }
pctl_json() { vrctl "$1" -j port -s "$(sock "$1")" list; }
# One raw request line (or any bytes) to host H's agent; prints what it answers.
raw() { printf '%b' "$2" | socat -t 2 - "UNIX-CONNECT:$(sock "$1")" 2>/dev/null; }

agent_config() {   # agent_config H: the YAML file of host H's agent
	local h=$1 f=$VR_TMP/agent-$1.yaml
	cat >"$f" <<-YAML
	host:
	  name: vr$VR_ID-$h
	  underlay-address: ${VR_HOST_IP[$h]}
	  fabric-device: $(vr_fabric_dev "$h")
	controllers: []
	labels:
	  first: $LABEL_FIRST
	  last: $LABEL_LAST
	bpffs: $(vr_pindir "$h")
	port-api:
	  socket: $(sock "$h")
	logging:
	  level: debug
	YAML
	echo "$f"
}

agent_start() {   # agent_start H: start host H's agent in the foreground, wait until it serves
	local h=$1 n=${2:-1}
	vr_bg "agent-$h-$n" "$h" "$AGENT" -c "$VR_TMP/agent-$h.yaml" -f
	AGENT_PID[$h]=$VR_BG_PID
	vr_wait_until 10 pctl "$h" list || { cat "$VR_TMP/agent-$h-$n.log" >&2; return 1; }
}

port_add() {   # port_add VM [extra args]: attach VM through its host's agent
	local vm=$1
	shift
	pctl "${VR_VM_HOST[$vm]}" add "$(vr_vif_dev "$vm")" vrf "${VR_VM_VRF[$vm]}" mac "$(vr_vm_mac "$vm")" \
		ip "${VR_VM_IP[$vm]}" vn "${VN[${VR_VM_VRF[$vm]}]}" gw "$VR_GW" mtu "$VR_VM_MTU" \
		mode "${VR_VM_MODE[$vm]}" "$@"
}

vif_field() {   # vif_field VM FIELD: from 'vif list -j' on VM's host
	vrctl "${VR_VM_HOST[$1]}" -j vif list | jq -r --arg n "$(vr_vif_dev "$1")" --arg f "$2" \
		'[.[] | select(.name == $n) | .[$f]] | first // "none"'
}

route_to() {   # route_to H VRF PREFIX: the 'route show' line of PREFIX in VRF, or nothing
	vrctl "$1" route show vrf "$2" | grep -F "$3 " || true
}

port_label() { pctl_json h1 | jq -r --arg n "$(vr_vif_dev "$1")" '[.[] | select(.name == $n) | .label] | first // "none"'; }

# ------------------------------------------------------------------ the daemon on its own

cfg=$(mktemp "$VR_TMP/cfg.XXXXXX")
printf 'host:\n  underlay-address: 192.0.2.1\n  fabric-device: eth0\nlabels:\n  frist: 16\n' >"$cfg"
out=$("$AGENT" -c "$cfg" 2>&1)
vr_check_eq "agent: a misspelt key is exit 2" 2 "$?"
vr_check_match "agent: the loader's error names file, line and field" "^$cfg:5:[0-9]+: labels\.frist" "$out"
vr_check "agent: no -c is bad usage (exit 2)" bash -c "'$AGENT' >/dev/null 2>&1; [ \$? = 2 ]"
printf 'host:\n  underlay-address: 192.0.2.1\n  fabric-device: eth0\n' >"$cfg"
vr_check_match "agent: --print-config shows the defaults (standalone, port socket)" \
	"socket: /run/vrouter/agent.sock" "$("$AGENT" -c "$cfg" --print-config 2>&1)"

# ------------------------------------------------------------------ topology and agents

vr_topo_underlay
for vm in a1 a2 a3 a4 a5 b1; do
	vr_topo_vm "$vm"
done
for h in $VR_TOPO_HOSTS; do
	vr_register_pindir "$(vr_ns "$h")" "$(vr_pindir "$h")"
	agent_config "$h" >/dev/null
	agent_start "$h" || vr_die "vrouter-agent on $h did not start serving"
done
vr_pass "agents started on h1 and h2 (they loaded the datapath themselves)"
vr_check_eq "port API socket is mode 0600" 600 "$(stat -c %a "$(sock h1)")"
vr_check "the datapath is pinned (vrouterctl vrf list works on h2)" vrctl h2 vrf list
vr_check_eq "port list is empty at first" "" "$(pctl h1 list)"

# ------------------------------------------------------------------ ports through the agent

for vm in a1 a2 a3; do
	vr_check "port add $vm (vrf ${VR_VM_VRF[$vm]}, ${VR_VM_MODE[$vm]}) through the agent" port_add "$vm"
done
for vm in a1 a2 a3; do
	vr_check_range "vif list: $vm's vif has a label in $LABEL_FIRST..$LABEL_LAST" $LABEL_FIRST $LABEL_LAST \
		"$(vif_field "$vm" label)"
	vr_check_match "route show: ${VR_VM_IP[$vm]}/32 in vrf ${VR_VM_VRF[$vm]} via $vm's vif" \
		"$(vr_vif_dev "$vm")" "$(route_to h1 "${VR_VM_VRF[$vm]}" "${VR_VM_IP[$vm]}/32")"
done
vr_check_eq "labels are the lowest of the range, in order" "100 101 102" \
	"$(vif_field a1 label) $(vif_field a2 label) $(vif_field a3 label)"
vr_check "the agent created VRF 2 for a3" bash -c "$(declare -f vrctl vr_ns vr_pindir vr_debug); VR_ID=$VR_ID VR_BPFFS=$VR_BPFFS VRCTL=$VRCTL; vrctl h1 -j vrf list | jq -e '.[] | select(.vrf == 2)'"
vr_check "ping same host through agent-made vifs, xdp -> tc (a1 -> a2)" vr_ping a1 "${VR_VM_IP[a2]}"
vr_check "ping same host, tc -> xdp (a2 -> a1)" vr_ping a2 "${VR_VM_IP[a1]}"
vr_check_fails "VRF 2's a3 cannot reach VRF 1's 10.1.0.3" vr_ping a3 "${VR_VM_IP[a2]}" 1

# Across hosts: b1's port through h2's agent, tunnel routes by hand; no 'vrouterctl monitor' runs, so the
# first packets only get through if the agents resolve the underlay neighbours the datapath asks for.
vr_check "port add b1 on h2 through h2's agent" port_add b1
vr_must vrctl h1 route add 10.1.0.2/32 vrf 1 via tunnel "${VR_HOST_IP[h2]}" label "$(vif_field b1 label)"
vr_must vrctl h2 route add 10.1.0.1/32 vrf 1 via tunnel "${VR_HOST_IP[h1]}" label "$(vif_field a1 label)"
vr_check "ping across hosts a1 -> b1 within 10 s (the agents resolve the underlay neighbours)" \
	vr_ping_wait a1 "${VR_VM_IP[b1]}" 10
vr_check_match "h1's agent logged the neighbour miss it resolved" "neighbour miss .* for ${VR_RT_IP[h1]//./\\.}" \
	"$(cat "$VR_TMP/agent-h1-1.log")"
vr_check "ping across hosts, steady (a1 -> b1)" vr_ping a1 "${VR_VM_IP[b1]}"

list=$(pctl h1 list)
vr_check_eq "port list: three ports" 3 "$(grep -c '^name=' <<<"$list")"
vr_check_match "port list: a1 with its vif, label, vrf, ip, mac, vn" \
	"^name=$(vr_vif_dev a1) vif=[0-9]+ label=100 vrf=1 ip=10\.1\.0\.1 mac=$(vr_vm_mac a1) gw=$VR_GW mtu=$VR_VM_MTU mode=xdp vn=default-domain:admin:vn1$" \
	"$list"
vr_check_match "port list: a3 in vn2, mode tc for a2" "vrf=2 .* vn=default-domain:admin:vn2$" "$list"
vr_check_eq "port list -j: labels by name" "100 101 102" "$(pctl_json h1 | jq -r '[.[].label] | join(" ")')"

# ------------------------------------------------------------------ bad requests

bad() {   # bad DESC BYTES: the agent answers an error line to BYTES
	local r
	r=$(raw h1 "$2")
	vr_check_match "port API: $1 -> error" "^error " "$r"
}
bad "malformed line (no key=value)" 'add name\n'
bad "unknown verb" 'frobnicate name=x\n'
bad "bad IP" "add name=$(vr_vif_dev a4) mac=02:00:00:00:01:04 ip=10.1.0.400 vrf=1 vn=vn1\n"
bad "missing vn" "add name=$(vr_vif_dev a4) mac=02:00:00:00:01:04 ip=10.1.0.4 vrf=1\n"
bad "duplicate port" "add name=$(vr_vif_dev a1) mac=02:00:00:00:01:01 ip=10.1.0.9 vrf=1 vn=vn1\n"
bad "duplicate address in the VRF" "add name=$(vr_vif_dev a4) mac=02:00:00:00:01:04 ip=10.1.0.3 vrf=1 vn=vn1\n"
bad "device that does not exist" "add name=nosuchdev0 mac=02:00:00:00:01:04 ip=10.1.0.9 vrf=1 vn=vn1\n"
bad "bad vn name" "add name=$(vr_vif_dev a4) mac=02:00:00:00:01:04 ip=10.1.0.4 vrf=1 vn=a\\\\b\n"
bad "control characters" 'list\001\n'
bad "delete of an unknown port" 'del name=nosuchdev0\n'
r=$(head -c 3000 /dev/zero | tr '\0' x | socat -t 2 - "UNIX-CONNECT:$(sock h1)" 2>/dev/null)
vr_check_match "port API: oversized line (3000 bytes) -> error" "^error request longer than 1024 bytes" "$r"
r=$(raw h1 'list\nfrobnicate\nlist\n')
vr_check_eq "port API: three requests on one connection, three replies (3+1, 1, 3+1 lines)" 9 "$(wc -l <<<"$r")"
vr_check "the agent is still running after the bad requests" kill -0 "${AGENT_PID[h1]}"
vr_check_eq "and still serves: three ports" 3 "$(pctl h1 list | grep -c '^name=')"
vr_check_eq "vrouterctl port: missing vn is bad usage (exit 2)" 2 \
	"$(pctl h1 add "$(vr_vif_dev a4)" vrf 1 mac 02:00:00:00:01:04 ip 10.1.0.4 >/dev/null 2>&1; echo $?)"
vr_check_eq "vrouterctl port: a blank inside a value is bad usage (exit 2)" 2 \
	"$(pctl h1 add "$(vr_vif_dev a4)" vrf 1 mac 02:00:00:00:01:04 ip 10.1.0.4 vn 'a list' >/dev/null 2>&1; echo $?)"
out=$(pctl h1 add "$(vr_vif_dev a1)" vrf 1 mac "$(vr_vm_mac a1)" ip 10.1.0.9 vn vn1 2>&1)
rc=$?
vr_check_eq "vrouterctl port: an agent error is exit 1 with its message" "1 Error: port $(vr_vif_dev a1) already exists" "$rc $out"
out=$(vrctl h1 port -s "$VR_TMP/nobody.sock" list 2>&1)
rc=$?
vr_check_match "vrouterctl port: no agent is exit 1, said clearly" "^1 Error: cannot reach vrouter-agent at .*nobody.sock" "$rc $out"

# ------------------------------------------------------------------ port del

vr_check "port del a3" pctl h1 del "$(vr_vif_dev a3)"
vr_check_eq "port del: a3's vif is gone" none "$(vif_field a3 label)"
vr_check_eq "port del: 10.1.0.1/32 is gone from vrf 2" "" "$(route_to h1 2 10.1.0.1/32)"
vr_check_eq "port del: a1's 10.1.0.1/32 in vrf 1 stays" "1" "$(route_to h1 1 10.1.0.1/32 | grep -c "$(vr_vif_dev a1)")"
vr_check_eq "port list: two ports left" 2 "$(pctl h1 list | grep -c '^name=')"
vr_check "port add a3 again" port_add a3
vr_check_eq "a3 gets the freed label 102 back (lowest free)" 102 "$(port_label a3)"

# ------------------------------------------------------------------ SIGKILL and restart under traffic

before=$(pctl h1 list)
vr_in a1 ping -n -q -c 50 -i 0.05 -W 1 "${VR_VM_IP[a2]}" >"$VR_TMP/ping-restart.log" 2>&1 9>&- &
ping_pid=$!
vr_register_pid "$ping_pid"
sleep 0.5
# (bash reports the killed job on stderr: not a test result)
exec 3>&2 2>/dev/null
kill -KILL "${AGENT_PID[h1]}"
wait "${AGENT_PID[h1]}"
exec 2>&3 3>&-
vr_check "agent restarted after SIGKILL (stale socket replaced)" agent_start h1 2
wait "$ping_pid"
vr_check_match "a ping (50 x 50 ms) across the SIGKILL + restart lost nothing" " 0% packet loss" \
	"$(cat "$VR_TMP/ping-restart.log")"
vr_check_eq "port list after the restart: same ports, labels and vn names" "$before" "$(pctl h1 list)"
vr_check_match "the agent logged that it adopted the datapath and the ports" "adopting the datapath.*|3 port\(s\) adopted" \
	"$(cat "$VR_TMP/agent-h1-2.log")"
vr_check "port add a4 after the restart" port_add a4
vr_check_eq "a4 gets label 103: none of the adopted labels is reused" 103 "$(port_label a4)"
vr_check "ping to the new port a4 (a1 -> a4)" vr_ping a1 "${VR_VM_IP[a4]}"

# ------------------------------------------------------------------ clean shutdown

kill -TERM "${AGENT_PID[h1]}"
wait "${AGENT_PID[h1]}"
vr_check_eq "SIGTERM: the agent exits 0" 0 "$?"
vr_check_match "SIGTERM: logged as a clean stop" "vrouter-agent stopped" "$(cat "$VR_TMP/agent-h1-2.log")"
vr_check_fails "SIGTERM: the socket is removed" test -e "$(sock h1)"
vr_check_eq "the vifs stay after the agent exits" "100 101 102 103" \
	"$(vif_field a1 label) $(vif_field a2 label) $(vif_field a3 label) $(vif_field a4 label)"
vr_check "the datapath keeps forwarding without the agent (a1 -> a2, a4 -> a1)" \
	bash -c "$(declare -f vr_ping vr_in vr_ns); VR_ID=$VR_ID; vr_ping a1 ${VR_VM_IP[a2]} && vr_ping a4 ${VR_VM_IP[a1]}"
vr_check "a third start adopts everything again" agent_start h1 3
vr_check_eq "port list after a clean restart: four ports" 4 "$(pctl h1 list | grep -c '^name=')"

# ------------------------------------------------------------------ a port with several addresses

a5=$(vr_vif_dev a5)
vr_check "port add a5 with two addresses (ip ${VR_VM_IP[a5]},$A5_IP2)" \
	pctl h1 add "$a5" vrf 1 mac "$(vr_vm_mac a5)" ip "${VR_VM_IP[a5]},$A5_IP2" vn "${VN[1]}" gw "$VR_GW" \
	mtu "$VR_VM_MTU" mode xdp
vr_check_match "two addresses: ${VR_VM_IP[a5]}/32 via a5's vif" "$a5" "$(route_to h1 1 "${VR_VM_IP[a5]}/32")"
vr_check_match "two addresses: $A5_IP2/32 via a5's vif" "$a5" "$(route_to h1 1 "$A5_IP2/32")"
vr_check_eq "two addresses: the vif's own address is the first" "${VR_VM_IP[a5]}" "$(vif_field a5 ip)"
vr_check_match "two addresses: port list shows both, comma-separated" \
	"^name=$a5 .* ip=${VR_VM_IP[a5]//./\\.},${A5_IP2//./\\.} " "$(pctl h1 list)"
vr_check "two addresses: ping the primary one (a1 -> a5)" vr_ping a1 "${VR_VM_IP[a5]}"
before=$(pctl h1 list)
exec 3>&2 2>/dev/null
kill -KILL "${AGENT_PID[h1]}"
wait "${AGENT_PID[h1]}"
exec 2>&3 3>&-
vr_check "two addresses: agent restarted after SIGKILL" agent_start h1 4
vr_check_eq "two addresses: the restarted agent lists both again (state file)" "$before" "$(pctl h1 list)"
vr_check "two addresses: port del a5" pctl h1 del "$a5"
vr_check_eq "two addresses: ${VR_VM_IP[a5]}/32 is gone after port del" "" "$(route_to h1 1 "${VR_VM_IP[a5]}/32")"
vr_check_eq "two addresses: $A5_IP2/32 is gone after port del" "" "$(route_to h1 1 "$A5_IP2/32")"
bad "nine addresses" "add name=$a5 mac=02:00:00:00:01:05 ip=$(echo 10.1.0.{21..29} | tr ' ' ,) vrf=1 vn=vn1\n"
bad "a bad address in the list" "add name=$a5 mac=02:00:00:00:01:05 ip=10.1.0.5,10.1.0.300 vrf=1 vn=vn1\n"
bad "an empty item in the list" "add name=$a5 mac=02:00:00:00:01:05 ip=10.1.0.5,,10.1.0.15 vrf=1 vn=vn1\n"
bad "the same address twice" "add name=$a5 mac=02:00:00:00:01:05 ip=10.1.0.5,10.1.0.15,10.1.0.5 vrf=1 vn=vn1\n"
bad "a second address that another port has" "add name=$a5 mac=02:00:00:00:01:05 ip=10.1.0.5,10.1.0.3 vrf=1 vn=vn1\n"
vr_check_eq "bad address lists: no route was left behind" "" "$(route_to h1 1 "$A5_IP2/32")$(route_to h1 1 10.1.0.5/32)"
vr_check_eq "bad address lists: still four ports" 4 "$(pctl h1 list | grep -c '^name=')"
vr_check_eq "vrouterctl port: nine addresses are bad usage (exit 2)" 2 \
	"$(pctl h1 add "$a5" vrf 1 mac 02:00:00:00:01:05 ip "$(echo 10.1.0.{21..29} | tr ' ' ,)" vn vn1 >/dev/null 2>&1; echo $?)"

vr_summary
