#!/bin/bash
# End-to-end test of vrouter-agent's gateway role (the control plane of issue 7): on the two-host underlay of
# lib.sh with one vrouter-controller on the router, h1 runs a compute agent with a port in tenant vn1 (VRF 1)
# and h2 a gateway agent (role: gateway, external NIC a veth to an "ext" namespace, a BIRD include file). It
# checks what the gateway agent programs (external NIC, SNAT per tenant, floating IPs, per-VRF label, 0.0.0.0/0
# via the external NIC), that the compute host learns 0.0.0.0/0 as a tunnel to the gateway with that label and
# the gateway learns the tenant's /32 (the way back), the BIRD include file, that a stopped gateway withdraws
# its default route at once (long hold time: not the controller's graceful-restart expiry), that a restart
# with a floating IP and a tenant removed from the configuration removes them from the datapath, and that a
# restart as role vrouter removes all gateway state. An external prefix (gateway.external-prefixes: the
# external network 192.0.2.0/24) is routed out and published like the default route: learned by h1 as a tunnel
# to the gateway with its label, withdrawn on stop; a restart with default-route: false removes 0.0.0.0/0 from
# the gateway's tenant VRFs and h1 does not learn it, while traffic to the external prefix still goes out.
#
# Run as root after make: bash selftests/e2e_gateway_agent.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENT=${AGENT:-$VR_BUILD/vrouter-agent}
CONTROLLER=${CONTROLLER:-$VR_BUILD/vrouter-controller}

vr_require_root
vr_require_cmds ip nsenter ethtool jq ss
vr_require_build "$VRCTL" "$AGENT" "$CONTROLLER"
vr_require_bpffs
vr_tmp_init gwagent
vr_trap_cleanup

echo "# gateway agent end-to-end test, run $VR_ID, temporary files in $VR_TMP"

VR_TOPO_HOSTS="h1 h2"
# A hold time far above the test's waits: a route that goes away within seconds was withdrawn, not expired.
HOLD=60
CTL_IP=198.18.255.1
VN1=default-domain:admin:vn1
VN2=default-domain:admin:vn2
# a1 has a floating IP (stateless NAT), a2 leaves by source NAT (connections).
VR_VM_HOST+=([a1]=h1 [a2]=h1)
VR_VM_VRF+=([a1]=1 [a2]=1)
VR_VM_IP+=([a1]=10.1.0.1 [a2]=10.1.0.2)
VR_VM_KIND+=([a1]=veth [a2]=veth)
VR_VM_MODE+=([a1]=xdp [a2]=xdp)
EXT_DEV=vr${VR_ID}x
BIRD_FILE=$VR_TMP/bird-public.conf
# The external network, as an external prefix of the gateway (a regular expression of it for routes_match).
EXT_PFX=192.0.2.0/24
EXT_RE='192\.0\.2\.0/24'
# What gateway_yaml adds to the gateway section: the external prefix (and later default-route: false).
GW_EXTRA="  external-prefixes: [$EXT_PFX]"

declare -A AGENT_PID=()
sock() { echo "$VR_TMP/agent-$1.sock"; }
pctl() { local h=$1; shift; vrctl "$h" port -s "$(sock "$h")" "$@"; }

kill_quiet() {   # kill_quiet SIG PID: signal a process we started and reap it, without bash's job notice
	exec 3>&2 2>/dev/null
	kill "-$1" "$2"
	wait "$2"
	exec 2>&3 3>&-
}

agent_start() {   # agent_start H N: start host H's agent (log agent-H-N.log), wait until it serves
	vr_bg "agent-$1-$2" "$1" "$AGENT" -c "$VR_TMP/agent-$1.yaml" -f
	AGENT_PID[$1]=$VR_BG_PID
	vr_wait_until 10 pctl "$1" list || { tail -n 20 "$VR_TMP/agent-$1-$2.log" >&2; return 1; }
}

# gateway_yaml FIPS TENANT2 [ROLE]: h2's configuration: tenant vn1 (VRF 1) with an SNAT address and, when FIPS
# is 1, a floating IP for a1; when TENANT2 is 1, tenant vn2 (VRF 2) too; the lines of GW_EXTRA; ROLE vrouter
# leaves the section out.
gateway_yaml() {
	vr_agent_yaml h2 debug "$HOLD" "" "$CTL_IP"
	[ "${3:-gateway}" = vrouter ] && { echo "role: vrouter" >>"$VR_TMP/agent-h2.yaml"; return; }
	{
		printf 'role: gateway\ngateway:\n  external-device: %s\n  timeouts: {udp: 120, icmp: 1}\n  tenants:\n' "$EXT_DEV"
		printf '    - vn: %s\n      vrf: 1\n      snat-address: 203.0.113.1\n      snat-ports: 20000-29999\n' "$VN1"
		[ "$1" = 1 ] && printf '      floating-ips: [{address: 203.0.113.10, private: 10.1.0.1}]\n'
		[ "$2" = 1 ] && printf '    - {vn: %s, vrf: 2, snat-address: 203.0.113.2}\n' "$VN2"
		printf '%s\n' "$GW_EXTRA"
		printf '  bird: {include-file: %s, control-socket: %s}\n' "$BIRD_FILE" "$VR_TMP/no-bird.ctl"
	} >>"$VR_TMP/agent-h2.yaml"
}

# routes H VRF: "PREFIX TYPE REMOTE LABEL" lines of VRF's table on host H.
routes() {
	vrctl "$1" -j route show vrf "$2" 2>/dev/null | jq -r '.[] | "\(.prefix) \(.type) \(.remote // .dev // "") \(.label // "")"'
}
has_route() { routes "$1" "$2" | grep -q "^$3\$"; }   # has_route H VRF "PREFIX TYPE REMOTE LABEL"
no_default() { ! routes "$1" "$2" | grep -q '^0\.0\.0\.0/0 ' && vrctl "$1" route show vrf "$2" >/dev/null; }
routes_match() { routes "$1" "$2" | grep -Eq "$3"; }   # routes_match H VRF REGEX
# lacks_route H VRF REGEX: the table can be read and no line of it matches.
lacks_route() { vrctl "$1" route show vrf "$2" >/dev/null && ! routes "$1" "$2" | grep -Eq "$3"; }
# nat_lacks H "snat list"|"fip list"|"list all" TEXT: the listing works and does not hold TEXT.
# shellcheck disable=SC2086 # $2 is the listing's words, split on purpose
nat_lacks() { local out; out=$(vrctl "$1" nat $2) || return 1; ! grep -Fq "$3" <<<"$out"; }
vrf_label() { vrctl "$1" vrf list | awk -v v="$2" '$1 == v { print $4 }'; }   # the per-VRF label, "-" if none

# ------------------------------------------------------------------ topology, controller, agents

vr_topo_underlay
vr_must ip -n "$(vr_ns rt)" addr add "$CTL_IP/32" dev lo
vr_topo_vm a1
vr_topo_vm a2
# The gateway's external NIC: a veth to a namespace standing for the external network.
vr_netns_add ext
vr_must ip link add "$EXT_DEV" netns "$(vr_ns h2)" type veth peer name eth0 netns "$(vr_ns ext)"
vr_must ip -n "$(vr_ns h2)" addr add 192.0.2.1/24 dev "$EXT_DEV"
vr_must ip -n "$(vr_ns h2)" link set "$EXT_DEV" up
vr_must ip -n "$(vr_ns ext)" addr add 192.0.2.2/24 dev eth0
vr_must ip -n "$(vr_ns ext)" link set eth0 up
# Replies to the public addresses go back to the gateway; GRO puts eth0 in NAPI mode for XDP redirects into it.
vr_must ip -n "$(vr_ns ext)" route add 203.0.113.0/24 via 192.0.2.1
vr_must ip netns exec "$(vr_ns ext)" ethtool -K eth0 gro on

vr_bg controller - nsenter --net="/run/netns/$(vr_ns rt)" "$CONTROLLER" -l "$CTL_IP" -p 5269 --hold "$HOLD" -v
vr_wait_until 5 bash -c "ip netns exec $(vr_ns rt) ss -Htln | grep -qF '$CTL_IP:5269 '" ||
	{ cat "$VR_TMP/controller.log" >&2; vr_die "vrouter-controller did not listen"; }
vr_agent_yaml h1 debug "$HOLD" "" "$CTL_IP"
gateway_yaml 1 0
for h in h1 h2; do
	vr_register_pindir "$(vr_ns "$h")" "$(vr_pindir "$h")"
	agent_start "$h" 1 || vr_die "vrouter-agent on $h did not start serving"
done
vr_pass "a controller, a compute agent and a gateway agent started"
for vm in a1 a2; do
	vr_check "port add $vm on h1 in $VN1" pctl h1 add "$(vr_vif_dev $vm)" vrf 1 mac "$(vr_vm_mac $vm)" \
		ip "${VR_VM_IP[$vm]}" vn "$VN1" gw "$VR_GW" mtu "$VR_VM_MTU" mode xdp
done

# ------------------------------------------------------------------ what the gateway agent programs

gw_show=$(vrctl h2 gateway show 2>&1)
vr_check_match "h2: the external NIC is $EXT_DEV" "$EXT_DEV" "$gw_show"
vr_check_match "h2: the configured UDP timeout (120 s)" "udp[^0-9]*120" "$gw_show"
vr_check_match "h2: the configured ICMP timeout (1 s)" "icmp[^0-9]*1 s" "$gw_show"
vr_check_match "h2: the default TCP timeout (7440 s)" "tcp[^0-9-]*7440" "$gw_show"
vr_check_match "h2: vrf 1 source-NATs to 203.0.113.1 ports 20000-29999" "203\.0\.113\.1.*20000.29999" \
	"$(vrctl h2 nat snat list 2>&1)"
vr_check_match "h2: floating IP 203.0.113.10 -> vrf 1 10.1.0.1" "203\.0\.113\.10.*1.*10\.1\.0\.1" \
	"$(vrctl h2 nat fip list 2>&1)"
L1=$(vrf_label h2 1)
vr_check "h2: vrf 1 has a per-VRF label ($L1)" test "$L1" -ge 16
vr_check "h2: 0.0.0.0/0 via the external NIC in vrf 1" routes_match h2 1 '^0\.0\.0\.0/0 external'
vr_check "h2: the external prefix $EXT_PFX via the external NIC in vrf 1" routes_match h2 1 "^$EXT_RE external"

vr_check "h1 learns 0.0.0.0/0 in vrf 1 as a tunnel to the gateway with label $L1 (10 s)" \
	vr_wait_until 10 has_route h1 1 "0.0.0.0/0 tunnel ${VR_HOST_IP[h2]} $L1"
vr_check "h1 learns the external prefix $EXT_PFX in vrf 1 as a tunnel to the gateway with label $L1 (10 s)" \
	vr_wait_until 10 has_route h1 1 "$EXT_PFX tunnel ${VR_HOST_IP[h2]} $L1"
vr_check "h2 learns a1's 10.1.0.1/32 in vrf 1 (the way back, 10 s)" \
	vr_wait_until 10 routes_match h2 1 "^10\.1\.0\.1/32 tunnel ${VR_HOST_IP[h1]} "
want_bird=$'\tipv4;\n\troute 203.0.113.1/32 blackhole;\n\troute 203.0.113.10/32 blackhole;\n}'
vr_check_match "the BIRD include file announces the SNAT address and the floating IP as /32s" \
	"protocol static vr_public \\{" "$(cat "$BIRD_FILE" 2>&1)"
vr_check_eq "the BIRD include file's routes" "$want_bird" "$(sed -n '/^\tipv4;/,$p' "$BIRD_FILE")"
vr_check_match "no BIRD running: logged as a warning, the agent serves on" \
	"BIRD did not take the new prefixes \(birdc: Unable to connect" "$(cat "$VR_TMP/agent-h2-1.log")"
# Traffic through the gateway (the first packets may wait for neighbour resolution: retried): a1 by its floating
# IP, a2 by source NAT; the agent's sweep removes a2's ICMP connection once its 1 s timeout has passed, and says
# so at debug level.
vr_check "a1 pings the external host 192.0.2.2 through the gateway (floating IP, 10 s)" \
	vr_wait_until 10 vr_ping a1 192.0.2.2
vr_check "a2 pings the external host through the gateway (source NAT, 10 s)" vr_wait_until 10 vr_ping a2 192.0.2.2
vr_check "the agent sweeps a2's expired NAT connections and logs how many (10 s)" vr_wait_until 10 \
	grep -Eq "gateway: [0-9]+ expired NAT connection\(s\) swept" "$VR_TMP/agent-h2-1.log"
grep -E "expired NAT connection" "$VR_TMP/agent-h2-1.log" | head -n 1 | sed 's/^/# h2 log: /'
vr_check "after the sweep no connection of a2 is left, expired or not" nat_lacks h2 "list all" 10.1.0.2
echo "# h2: vrouterctl gateway show:"; sed 's/^/#   /' <<<"$gw_show"
vr_check_fails "no NAT sweep failure in the gateway's log" grep -q "sweeping the NAT table failed" "$VR_TMP/agent-h2-1.log"

# ------------------------------------------------------------------ stop: the default route is withdrawn

kill_quiet TERM "${AGENT_PID[h2]}"
vr_check "gateway agent stopped: h1's 0.0.0.0/0 is withdrawn within 5 s (hold time $HOLD s)" \
	vr_wait_until 5 no_default h1 1
vr_check_match "the stopping agent logged the withdraw" "withdraw 0\.0\.0\.0/0 in $VN1 \(gateway\)" \
	"$(cat "$VR_TMP/agent-h2-1.log")"
vr_check "the external prefix is withdrawn too: h1 has no route for $EXT_PFX (5 s)" \
	vr_wait_until 5 lacks_route h1 1 "^$EXT_RE "
vr_check_match "the datapath keeps its gateway state without the agent" "203\.0\.113\.1" \
	"$(vrctl h2 nat snat list 2>&1)"

# ------------------------------------------------------------------ restart: the configuration is the truth

gateway_yaml 0 1
vr_check "gateway agent restarted without the floating IP, with tenant $VN2" agent_start h2 2
vr_check "h1 learns 0.0.0.0/0 again, the same label $L1 (10 s)" \
	vr_wait_until 10 has_route h1 1 "0.0.0.0/0 tunnel ${VR_HOST_IP[h2]} $L1"
vr_check_eq "the per-VRF label of vrf 1 is kept across the restart" "$L1" "$(vrf_label h2 1)"
vr_check "the floating IP no longer configured is gone" nat_lacks h2 "fip list" 203.0.113.10
vr_check_match "tenant vn2: vrf 2 created, SNAT to 203.0.113.2" "203\.0\.113\.2" "$(vrctl h2 nat snat list 2>&1)"
L2=$(vrf_label h2 2)
vr_check "tenant vn2: vrf 2 has its own label ($L2)" test "$L2" -ge 16 -a "$L2" != "$L1"
vr_check_eq "the BIRD include file follows: the two SNAT addresses" \
	$'\tipv4;\n\troute 203.0.113.1/32 blackhole;\n\troute 203.0.113.2/32 blackhole;\n}' \
	"$(sed -n '/^\tipv4;/,$p' "$BIRD_FILE")"

kill_quiet TERM "${AGENT_PID[h2]}"
gateway_yaml 1 0
vr_check "gateway agent restarted without tenant $VN2" agent_start h2 3
vr_check "vrf 2: SNAT address removed" nat_lacks h2 "snat list" 203.0.113.2
vr_check "vrf 2: external default route removed" no_default h2 2
vr_check "vrf 2: the external prefix's route removed" lacks_route h2 2 "^$EXT_RE "
vr_check_match "the floating IP is back" "203\.0\.113\.10" "$(vrctl h2 nat fip list 2>&1)"

# ------------------------------------------------------------------ default-route: false, the external prefix only

kill_quiet TERM "${AGENT_PID[h2]}"
GW_EXTRA=$(printf '  default-route: false\n  external-prefixes: [%s]' "$EXT_PFX")
gateway_yaml 0 0
vr_check "gateway agent restarted with default-route: false and external prefix $EXT_PFX" agent_start h2 4
vr_check "h2: 0.0.0.0/0 via the external NIC removed from vrf 1" lacks_route h2 1 '^0\.0\.0\.0/0 external'
vr_check_match "h2: the agent logged the removal" "vrf 1: external route 0\.0\.0\.0/0 removed: no longer configured" \
	"$(cat "$VR_TMP/agent-h2-4.log")"
vr_check "h2: $EXT_PFX via the external NIC in vrf 1 still" routes_match h2 1 "^$EXT_RE external"
vr_check "h1 learns $EXT_PFX again, a tunnel to the gateway with label $L1 (10 s)" \
	vr_wait_until 10 has_route h1 1 "$EXT_PFX tunnel ${VR_HOST_IP[h2]} $L1"
vr_check "h1 has no default route in vrf 1: the gateway no longer publishes it" no_default h1 1
vr_check_fails "the gateway agent published no 0.0.0.0/0" grep -q "publish 0\.0\.0\.0/0" "$VR_TMP/agent-h2-4.log"
vr_check "a2 pings the external host through the gateway by the external prefix (source NAT, 10 s)" \
	vr_wait_until 10 vr_ping a2 192.0.2.2

# ------------------------------------------------------------------ role vrouter: the gateway state goes

kill_quiet TERM "${AGENT_PID[h2]}"
gateway_yaml 0 0 vrouter
vr_check "h2's agent restarted as role vrouter" agent_start h2 5
vr_check_match "role vrouter: the agent says it removes the gateway state" "gateway state .* removing it" \
	"$(cat "$VR_TMP/agent-h2-5.log")"
vr_check "role vrouter: no SNAT address left" nat_lacks h2 "snat list" 203.0.113
vr_check "role vrouter: no floating IP left" nat_lacks h2 "fip list" 203.0.113
vr_check "role vrouter: no external default route in vrf 1" no_default h2 1
vr_check "role vrouter: no external route in vrf 1 at all" lacks_route h2 1 " external "
vr_check "role vrouter: h1 has no default route in vrf 1 (5 s)" vr_wait_until 5 no_default h1 1

vr_summary
