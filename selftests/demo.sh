#!/bin/bash
# make demo: the two-host, two-tenant topology of the end-to-end test (namespaces from lib.sh), driven by the
# control plane: one vrouter-controller in the router namespace, one vrouter-agent per host started from
# agent/examples/vrouter-agent-h1.yaml and -h2.yaml (only the per-run names substituted), the VMs added only
# through the agents' port API (`vrouterctl port add`); no route is typed in. It waits (bounded) for the
# routes to converge, shows what the agents did, pings across hosts in both tenants, shows that tenants are
# isolated and prints the counters, then tears everything down (also when interrupted).
# Run as root after make. DEMO_PAUSE=1 waits for Enter between steps; VR_KEEP=1 keeps the logs.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENT=${AGENT:-$VR_BUILD/vrouter-agent}
CONTROLLER=${CONTROLLER:-$VR_BUILD/vrouter-controller}
EXAMPLES=$VR_ROOT/agent/examples

vr_require_root
vr_require_cmds ip nsenter ethtool ping jq ss
vr_require_build "$VRCTL" "$TAPVM" "$AGENT" "$CONTROLLER"
vr_require_bpffs
vr_tmp_init demo
vr_trap_cleanup

# The controller's address and port, as the example files have them (checked below).
CTL_IP=198.18.255.1
CTL_PORT=5269
# The virtual network of each tenant: the name the agents subscribe to at the controller.
declare -A VN=([1]=default-domain:demo:tenant1 [2]=default-domain:demo:tenant2)

DEMO_OK=0
DEMO_BAD=0
demo_fail() { echo "   UNEXPECTED: $*"; DEMO_BAD=$((DEMO_BAD + 1)); }

step() {
	vr_say "$*"
	if [ "${DEMO_PAUSE:-0}" = 1 ] && [ -t 0 ]; then
		read -r -p "   (Enter to go on) " _
	fi
}
sock() { echo "$VR_TMP/agent-$1.sock"; }
show() {   # show H ARGS...: print the command as an operator would type it on host H, then run it
	local h=$1
	shift
	printf '\n%s$ vrouterctl %s\n' "$h" "$*"
	vrctl "$h" "$@" | sed 's/^/    /'
}
show_port() {   # show_port H ARGS...: the same for 'vrouterctl port' (through H's agent socket)
	local h=$1
	shift
	printf '\n%s$ vrouterctl port %s\n' "$h" "$*"
	vrctl "$h" port -s "$(sock "$h")" "$@" | sed 's/^/    /'
}
die_with_logs() {   # die_with_logs MESSAGE: the last lines of every daemon's log, then stop
	local f
	for f in "$VR_TMP"/controller.log "$VR_TMP"/agent-*.log; do
		[ -e "$f" ] || continue
		echo "--- $(basename "$f") (last 15 lines)"
		tail -n 15 "$f"
	done >&2
	vr_die "$*"
}

# The label VM's port got from its host's agent ('port list -j').
port_label() {
	vrctl "${VR_VM_HOST[$1]}" -j port -s "$(sock "${VR_VM_HOST[$1]}")" list |
		jq -r --arg n "$(vr_vif_dev "$1")" '[.[] | select(.name == $n) | .label] | first // "none"'
}
# remote_ok VM: VM's /32 is in its VRF's table on the other host, as a tunnel (learned from the controller).
remote_ok() {
	local h
	for h in $VR_TOPO_HOSTS; do
		[ "$h" = "${VR_VM_HOST[$1]}" ] && continue
		vrctl "$h" -j route show vrf "${VR_VM_VRF[$1]}" 2>/dev/null |
			jq -e --arg p "${VR_VM_IP[$1]}/32" 'any(.[]; .prefix == $p and .type == "tunnel")' >/dev/null || return 1
	done
}
all_remote_ok() { local vm; for vm in $VR_TOPO_VMS; do remote_ok "$vm" || return 1; done; }

demo_ping() {   # demo_ping VM TARGET_VM
	local from=$1 to=$2
	printf '\n%s (%s, tenant %s on %s)$ ping %s   # %s on %s\n' "$from" "${VR_VM_IP[$from]}" "${VR_VM_VRF[$from]}" \
		"${VR_VM_HOST[$from]}" "${VR_VM_IP[$to]}" "$to" "${VR_VM_HOST[$to]}"
	if vr_in "$from" ping -n -c 3 -i 0.2 -W 2 "${VR_VM_IP[$to]}" | sed 's/^/    /'; then
		DEMO_OK=$((DEMO_OK + 1))
	else
		demo_fail "$from cannot reach $to"
	fi
}

t_start=$SECONDS
step "Building the topology (run $VR_ID)"
cat <<TEXT
   Two hypervisor hosts, h1 (underlay ${VR_HOST_IP[h1]}) and h2 (${VR_HOST_IP[h2]}), in network namespaces,
   joined by a router namespace rt. The router also hosts the control plane: vrouter-controller on
   $CTL_IP (its loopback), TCP $CTL_PORT. Each host runs vrouter-agent, which loads the XDP vRouter on
   its underlay NIC, serves a port API for the hypervisor and peers with the controller over XMPP
   (the Tungsten Fabric control node's dialect). Two tenants use the SAME addresses:

     tenant 1 (vn ${VN[1]}, VRF 1): t1a 10.1.0.1 on h1, t1b 10.1.0.2 on h2,
                                                       t1c 10.1.0.3 on h1 (a real tap, relayed by tapvm)
     tenant 2 (vn ${VN[2]}, VRF 2): t2a 10.1.0.1 on h1, t2b 10.1.0.2 on h2,
                                                       t2c 10.1.0.3 on h1 (a tap), t2d 10.1.0.4 on h2

   Each VM is a namespace with eth0, 10.1.0.X/24 and a default route via $VR_GW; the vRouter answers ARP
   for the gateway and for every address routed in the VM's VRF. Between hosts, VM traffic travels as
   MPLS-in-UDP (port $VR_UDP_PORT): the label, allocated by the receiving host's agent, says which VM it is for.
TEXT
vr_topo_underlay
vr_must ip -n "$(vr_ns rt)" addr add "$CTL_IP/32" dev lo
for vm in $VR_TOPO_VMS; do
	vr_topo_vm "$vm"
done
echo "   namespaces, links and VMs up in $((SECONDS - t_start)) s; no vRouter yet."

step "Starting vrouter-controller in the router namespace"
printf '\nrt$ vrouter-controller -l %s -p %s &\n' "$CTL_IP" "$CTL_PORT"
vr_bg controller rt "$CONTROLLER" -l "$CTL_IP" -p "$CTL_PORT"
vr_wait_until 5 bash -c "ip netns exec $(vr_ns rt) ss -Htln | grep -qF '$CTL_IP:$CTL_PORT '" ||
	die_with_logs "vrouter-controller did not listen on $CTL_IP:$CTL_PORT"
echo "    listening on $CTL_IP:$CTL_PORT"

step "The agents' configurations: agent/examples/vrouter-agent-h1.yaml and -h2.yaml"
echo "   The examples already carry the demo's addresses; only the names that must be unique per run change:"
for h in $VR_TOPO_HOSTS; do
	ex=$EXAMPLES/vrouter-agent-$h.yaml
	cfg=$VR_TMP/agent-$h.yaml
	# The examples must agree with the topology: this host's underlay address, the controller's address.
	{ grep -qE "^  underlay-address: ${VR_HOST_IP[$h]//./\\.}( |$)" "$ex" &&
		grep -qE "^  - address: ${CTL_IP//./\\.}( |$)" "$ex" && grep -qE "^    port: $CTL_PORT( |$)" "$ex"; } ||
		vr_die "$ex no longer has underlay-address ${VR_HOST_IP[$h]} and controller $CTL_IP port $CTL_PORT"
	sed -E -e "s|^(  fabric-device:) *[^ #]*|\\1 $(vr_fabric_dev "$h")|" \
		-e "s|^(bpffs:) *[^ #]*|\\1 $(vr_pindir "$h")|" \
		-e "s|^(  socket:) *[^ #]*|\\1 $(sock "$h")|" "$ex" >"$cfg"
	[ "$(diff "$ex" "$cfg" | grep -c '^>')" = 3 ] || vr_die "$ex: the demo's three substitutions did not all apply"
	printf '\n%s$ diff agent/examples/vrouter-agent-%s.yaml agent-%s.yaml\n' "$h" "$h" "$h"
	diff "$ex" "$cfg" | grep '^[<>] ' | sed 's/^/    /'
	"$VR_BUILD/vrouter-agent" -c "$cfg" --print-config >"$VR_TMP/print-config-$h.txt" 2>&1 ||
		{ cat "$VR_TMP/print-config-$h.txt" >&2; vr_die "vrouter-agent refuses $cfg"; }
done

step "Starting one vrouter-agent per host"
for h in $VR_TOPO_HOSTS; do
	printf '\n%s$ vrouter-agent -c agent-%s.yaml -f &\n' "$h" "$h"
	vr_register_pindir "$(vr_ns "$h")" "$(vr_pindir "$h")"
	vr_bg "agent-$h" "$h" "$AGENT" -c "$VR_TMP/agent-$h.yaml" -f
done
for h in $VR_TOPO_HOSTS; do
	vr_wait_until 10 vrctl "$h" port -s "$(sock "$h")" list ||
		die_with_logs "vrouter-agent on $h did not start serving its port API"
	echo "    $h: datapath loaded on $(vr_fabric_dev "$h"), port API on $(sock "$h")"
done

step "Adding the VMs, only through the port API (the hypervisor's job)"
echo "   Each 'port add' makes the device a vif, allocates an MPLS label, installs the local /32 and"
echo "   publishes it to the controller in the port's virtual network; no route is added by hand."
for vm in $VR_TOPO_VMS; do
	h=${VR_VM_HOST[$vm]}
	args=(add "$(vr_vif_dev "$vm")" vrf "${VR_VM_VRF[$vm]}" mac "$(vr_vm_mac "$vm")" ip "${VR_VM_IP[$vm]}"
		vn "${VN[${VR_VM_VRF[$vm]}]}" gw "$VR_GW" mtu "$VR_VM_MTU" mode "${VR_VM_MODE[$vm]:-xdp}")
	printf '\n%s$ vrouterctl port %s   # %s\n' "$h" "${args[*]}" "$vm"
	vrctl "$h" port -s "$(sock "$h")" "${args[@]}" 2>&1 | sed 's/^/    /' ||
		die_with_logs "port add $vm on $h failed"
done

step "Waiting for the routes to converge (at most 15 s)"
t0=$SECONDS
if vr_wait_until 15 all_remote_ok; then
	echo "   every VM's /32 is a tunnel route on the other host, $((SECONDS - t0)) s after the last port add"
	DEMO_OK=$((DEMO_OK + 1))
else
	demo_fail "the routes did not converge within 15 s"
fi
for h in $VR_TOPO_HOSTS; do
	grep -h 'session up' "$VR_TMP/agent-$h.log" | sed "s/^/    $h agent: /"
done
# What h1 learned for t1b must be exactly what h2's agent allocated and published.
want="tunnel ${VR_HOST_IP[h2]} label $(port_label t1b)"
got=$(vrctl h1 -j route show vrf 1 | jq -r --arg p "${VR_VM_IP[t1b]}/32" \
	'.[] | select(.prefix == $p) | "\(.type) \(.remote) label \(.label)"')
if [ "$got" = "$want" ]; then
	echo "   h1's route to t1b is a $got: h2's address and the label h2's agent gave t1b"
	DEMO_OK=$((DEMO_OK + 1))
else
	demo_fail "h1's route to t1b is '$got', not '$want'"
fi

step "The ports each agent serves: vif, label and virtual network"
show_port h1 list
show_port h2 list

step "The routes: local VMs via their vif, remote ones via a tunnel learned from the controller"
echo "   (to the remote host's underlay address, with the label its agent allocated and published)"
show h1 route show
show h2 route show vrf 2

step "Pings within a host and across hosts, in both tenants"
echo "   (the first packet to a new underlay neighbour waits for the agent to resolve it)"
vr_ping_wait t1a "${VR_VM_IP[t1b]}" 10 >/dev/null
vr_ping_wait t1b "${VR_VM_IP[t1a]}" 10 >/dev/null
demo_ping t1a t1c
demo_ping t1a t1b
demo_ping t1c t1b
demo_ping t2a t2b
demo_ping t2d t2c

if command -v tshark >/dev/null; then
	step "What the underlay carries: the router's capture of t1a -> t1b and t2a -> t2b, decoded by tshark"
	cap=$VR_TMP/demo.pcapng
	if vr_capture_start rt "$(vr_rt_dev h1)" "$cap"; then
		vr_in t1a ping -n -q -c 1 -W 2 "${VR_VM_IP[t1b]}" >/dev/null
		vr_in t2a ping -n -q -c 1 -W 2 "${VR_VM_IP[t2b]}" >/dev/null
		vr_capture_stop
		printf '\nrt$ tshark -r underlay.pcapng -d udp.port==%s,mpls -T fields ...\n' "$VR_UDP_PORT"
		tshark -n -r "$cap" -d "udp.port==$VR_UDP_PORT,mpls" -T fields -E aggregator=, \
			-e ip.src -e ip.dst -e udp.srcport -e udp.dstport -e mpls.label -e icmp.type 2>/dev/null |
			awk -F'\t' 'BEGIN { printf "    %-13s %-13s %-5s %-5s %-5s %-22s %s\n", "outer src", "outer dst",
					"sport", "dport", "label", "inner src -> dst", "ICMP" }
				{ split($1, s, ","); split($2, d, ",")
				  printf "    %-13s %-13s %-5s %-5s %-5s %-22s %s\n", s[1], d[1], $3, $4, $5,
					s[2] " -> " d[2], $6 == 8 ? "echo request" : "echo reply" }'
		echo "   The same inner addresses, 10.1.0.1 <-> 10.1.0.2, in both tenants: only the MPLS label tells them"
		echo "   apart (h2's agent gave t1b label $(port_label t1b) and t2b label $(port_label t2b);" \
			"h1's gave t1a $(port_label t1a) and t2a $(port_label t2a))."
	fi
fi

step "Tenants are isolated: tenant 1's t1a pings 10.1.0.4, which exists only in tenant 2 (t2d on h2)"
printf '\nt1a$ ping 10.1.0.4\n'
if vr_in t1a ping -n -c 2 -i 0.2 -W 1 10.1.0.4 | sed 's/^/    /'; then
	demo_fail "tenant 1 reached tenant 2"
else
	echo "   no answer, as it should be: the controller reflects a route only to the agents subscribed to its"
	echo "   virtual network, in that network's VRF, so VRF 1 has no route to 10.1.0.4 (arp_no_route below)"
	DEMO_OK=$((DEMO_OK + 1))
fi

step "Counters: packets per vif and drops by reason"
show h1 stats
show h2 stats

step "Tearing down"
echo "   $DEMO_OK steps as expected, $DEMO_BAD not ($((SECONDS - t_start)) s)"
# A failed step keeps the daemons' logs in $VR_TMP for a look (vr_cleanup keeps it when VR_FAIL > 0).
# shellcheck disable=SC2034
[ "$DEMO_BAD" = 0 ] || VR_FAIL=$DEMO_BAD
vr_cleanup
echo "   agents and controller stopped, namespaces deleted, datapaths unloaded, pins removed."
[ "$DEMO_BAD" = 0 ]
