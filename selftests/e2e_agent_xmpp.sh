#!/bin/bash
# vrouter-agent's XMPP sessions against a scripted fake control node (build/test_agent_xmpp): on host h1 of
# lib.sh's underlay, the fake listens on 127.0.0.1 in h1's namespace, starts the agent (one controller,
# hold time 3 s, stale timeout 3 s), adds/deletes ports through the port API and checks the protocol and the
# learned tunnel routes in the datapath, ECMP (composite) routes included (see the comment at the top of
# selftests/test_agent_xmpp.c). The agent
# prefers MPLS-over-GRE here (tunnel-encapsulation: [gre, udp], not the default order) so that the test proves
# the configured order is the one used. A third port (a3) has two IPv6 addresses beside its IPv4 one; it is
# added through the port API directly (socat: vrouterctl's port client takes IPv4 only) to check the IPv6 side:
# /128s published on node 2/1, learned 2/1 routes in the VRF's IPv6 tables, hostile 2/1 items. Only the control
# plane and the route tables are checked here, no IPv6 traffic.
#
# Run as root after make: bash selftests/e2e_agent_xmpp.sh. Prints ok/FAIL lines and "N passed, N failed".

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENT=${AGENT:-$VR_BUILD/vrouter-agent}
FAKE=${FAKE:-$VR_BUILD/test_agent_xmpp}

vr_require_root
vr_require_cmds ip nsenter ethtool socat
vr_require_build "$VRCTL" "$AGENT" "$FAKE"
vr_require_bpffs
vr_tmp_init agentxmpp
vr_trap_cleanup

VR_VM_HOST+=([a1]=h1 [a2]=h1 [a3]=h1)
VR_VM_VRF+=([a1]=1 [a2]=2 [a3]=1)
VR_VM_IP+=([a1]=10.1.0.1 [a2]=10.1.0.3 [a3]=10.1.0.4)
VR_VM_KIND+=([a1]=veth [a2]=veth [a3]=veth)
VR_VM_MODE+=([a1]=xdp [a2]=xdp [a3]=xdp)
IP6A=fd00:1::4 IP6B=fd00:1::44 GW6=fe80::1
VN1=default-domain:admin:vn1:vn1
VN2=default-domain:admin:vn2:vn2
PORT=$((20000 + RANDOM % 20000))
ENCAP_PREF=gre,udp

vr_topo_underlay
vr_topo_vm a1
vr_topo_vm a2
vr_topo_vm a3
vr_register_pindir "$(vr_ns h1)" "$(vr_pindir h1)"
sock=$VR_TMP/agent.sock
cat >"$VR_TMP/agent.yaml" <<YAML
host:
  name: vr$VR_ID-h1
  underlay-address: ${VR_HOST_IP[h1]}
  fabric-device: $(vr_fabric_dev h1)
controllers:
  - address: 127.0.0.1
    port: $PORT
    hold-time: 3
tunnel-encapsulation: [$ENCAP_PREF]
bpffs: $(vr_pindir h1)
port-api:
  socket: $sock
graceful-restart:
  stale-timeout: 3
logging:
  level: debug
YAML

padd() {   # padd VM VN
	echo "$VRCTL -d $(vr_pindir h1) port -s $sock add $(vr_vif_dev "$1") vrf ${VR_VM_VRF[$1]} mac $(vr_vm_mac "$1")" \
		"ip ${VR_VM_IP[$1]} vn $2 gw $VR_GW mode xdp >/dev/null"
}

# The IPv6 port: a request line to the port API; the command fails unless the agent answers ok.
padd6() {   # padd6 VM VN
	echo "printf 'add name=$(vr_vif_dev "$1") mac=$(vr_vm_mac "$1") ip=${VR_VM_IP[$1]} vrf=${VR_VM_VRF[$1]} vn=$2" \
		"gw=$VR_GW ip6=$IP6A,$IP6B gw6=$GW6 mode=xdp\\n' | socat -t 5 - UNIX-CONNECT:$sock | grep -q '^ok vif='"
}

out=$(nsenter --net="/run/netns/$(vr_ns h1)" env PORT="$PORT" PIN_DIR="$(vr_pindir h1)" HOST="vr$VR_ID-h1" \
	HOST_IP="${VR_HOST_IP[h1]}" VN1="$VN1" VN2="$VN2" STALE=3 IP1=10.1.0.1 IP2=10.1.0.3 ENCAP_PREF="$ENCAP_PREF" \
	AGENT_CMD="exec $AGENT -c $VR_TMP/agent.yaml -f >$VR_TMP/agent.log 2>&1" \
	PORT_ADD1="$(padd a1 "$VN1")" PORT_ADD2="$(padd a2 "$VN2")" \
	PORT_DEL2="$VRCTL -d $(vr_pindir h1) port -s $sock del $(vr_vif_dev a2) >/dev/null" \
	PORT_ADD3="$(padd6 a3 "$VN1")" VIF3="$(vr_vif_dev a3)" IP3=10.1.0.4 IP6A=$IP6A IP6B=$IP6B GW6=$GW6 \
	PORT_DEL3="$VRCTL -d $(vr_pindir h1) port -s $sock del $(vr_vif_dev a3) >/dev/null" \
	timeout 90 "$FAKE" 2>&1)
rc=$?
printf '%s\n' "$out" | grep -vE '^[0-9]+ passed, [0-9]+ failed'
VR_PASS=$((VR_PASS + $(grep -c '^ok ' <<<"$out")))
VR_FAIL=$((VR_FAIL + $(grep -c '^FAIL ' <<<"$out")))
if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' <<<"$out"; then
	vr_failed "the fake control node exited with status $rc"
fi
skipped="route\\(s\\) skipped, 10\\.1\\.2\\.5/32 the first: its next hop offers vxlan, none of our tunnel"
vr_check_match "agent log: the route offering only vxlan was skipped, logged and counted" \
	"$skipped encapsulations \\(${ENCAP_PREF/,/, }\\); 1 skipped so far" "$(cat "$VR_TMP/agent.log")"
vr_check_match "agent log: an item with more than 16 usable next hops: the first 16 used, the rest logged" \
	"10\\.1\\.3\\.3/32 has more than 16 usable next hops: the first 16 are used, 3 left out" "$(cat "$VR_TMP/agent.log")"
log=$(cat "$VR_TMP/agent.log")
vr_check_match "agent log: IPv6 multicast and link-local routes refused, logged and counted" \
	"2 IPv6 route\\(s\\) refused, ff02::1/128 the first: a multicast destination is not routed; 2 refused so far" "$log"
vr_check_match "agent log: a 2/1 item of an IPv4 prefix closes the session with the reason" \
	"session closed: bad input: .*item id: bad prefix '10\\.1\\.0\\.77/32'" "$log"
vr_check_match "agent log: a 2/1 item of a /129 closes the session with the reason" \
	"session closed: bad input: .*item id: bad prefix 'fd00:4::1/129'" "$log"
vr_check_match "agent log: a 2/1 item of a garbage address closes the session with the reason" \
	"session closed: bad input: .*item id: bad prefix 'fd00:zz::1/128'" "$log"
if [ "$VR_FAIL" -gt 0 ]; then
	echo "# agent log (last 40 lines):"
	tail -n 40 "$VR_TMP/agent.log" | sed 's/^/#   /'
fi
vr_summary
