#!/bin/bash
# Underlay ECMP: why the MPLS-in-UDP source port is hashed from the inner flow. Two vRouter hosts sit behind
# a routed leaf-spine underlay (two leaves, two spines, every link a /30 of 198.18.0.0/15) that BIRD 2 runs
# with OSPF; the leaves install equal-cost multipath routes to the other host through both spines and hash
# on L4 (net.ipv4.fib_multipath_hash_policy=1). Captures on both spines show that
#   - many inner flows between two VMs (128 UDP flows each way) spread over both spines, each spine with a
#     fair share of flows and packets, and their outer source ports differ;
#   - a single flow stays on one path: every packet of each of those flows, of a long UDP flow (3 s, across
#     the vRouter's one-second underlay cache) and of a TCP transfer crosses the same spine, and the other
#     spine never sees its outer source port;
#   - with L3 hashing (policy 0) on the leaves, all flows between the two hosts take one spine: the spread
#     comes from the hashed source port alone.
#
#   vm1 10.1.0.1 - h1 198.18.1.2 -- leaf1 ==== spine1, spine2 ==== leaf2 -- 198.18.2.2 h2 - vm2 10.1.0.2
#
# Run as root after make: bash selftests/e2e_underlay_ecmp.sh. Prints ok/FAIL lines and "N passed, N failed";
# exit 0 only when everything passed, 4 when BIRD (Debian's bird2, `make deps`) or another tool is missing.
# VR_VERBOSE=1 shows commands, VR_KEEP=1 keeps the BIRD logs and captures (kept anyway when something failed).

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vr_require_root
vr_require_bird
vr_require_cmds ip nsenter ethtool ping jq socat ss sha256sum dumpcap tshark
vr_require_build "$VRCTL"
vr_require_bpffs
vr_tmp_init ecmp
vr_trap_cleanup

START=$SECONDS
echo "# underlay ECMP test, run $VR_ID, temporary files in $VR_TMP"

# ------------------------------------------------------------------ the overlay: one VM per host, one VRF

VR_TOPO_HOSTS="h1 h2"
VR_TOPO_VMS="vm1 vm2"
VR_VM_HOST+=([vm1]=h1 [vm2]=h2)
VR_VM_VRF+=([vm1]=1 [vm2]=1)
VR_VM_IP+=([vm1]=10.1.0.1 [vm2]=10.1.0.2)
VR_VM_KIND+=([vm1]=veth [vm2]=veth)
# The skb path: VMs keep their offloads (TSO, checksum), the TCP transfer travels as GSO super-packets.
VR_VM_MODE+=([vm1]=tc [vm2]=tc)

LEAVES="leaf1 leaf2"
SPINES="spine1 spine2"
declare -A LEAF_OF=([h1]=leaf1 [h2]=leaf2)
declare -A HOST_OF=([leaf1]=h1 [leaf2]=h2)
# Router ids, also each router's loopback /32 (announced as an OSPF stub).
declare -A RID=([leaf1]=198.19.255.1 [leaf2]=198.19.255.2 [spine1]=198.19.255.11 [spine2]=198.19.255.12)

# Devices: a leaf's end of its link to spine S is vr<ID>sS, a spine's end of its link to leaf L is vr<ID>lL,
# a leaf's end of its host link is vr<ID>h; the host's end is the fabric device (vr<ID>f, as in lib.sh).
leaf_dev() { echo "vr${VR_ID}s${1#spine}"; }    # leaf_dev SPINE
spine_dev() { echo "vr${VR_ID}l${1#leaf}"; }    # spine_dev LEAF
host_dev() { echo "vr${VR_ID}h"; }
# Link leafL - spineS is 198.18.<10L+S>.0/30: the leaf .1, the spine .2.
link_net() { echo "198.18.$((10 * ${1#leaf} + ${2#spine}))"; }   # link_net LEAF SPINE

bird_conf() {   # bird_conf ROUTER PTP-DEV... : OSPF on the point-to-point links, the rest as stubs
	local r=$1 d ptp="" stub='"lo"'
	shift
	for d in "$@"; do ptp+="${ptp:+, }\"$d\""; done
	[ -n "${HOST_OF[$r]:-}" ] && stub+=", \"$(host_dev)\""
	cat <<-EOF
	router id ${RID[$r]};
	log stderr all;
	protocol device { scan time 5; }
	# Every OSPF route into the kernel; an equal-cost route is one route with several next hops (multipath).
	protocol kernel { ipv4 { import none; export where source = RTS_OSPF; }; }
	protocol ospf v2 underlay {
		debug { states, events };
		ecmp yes;
		tick 1;
		ipv4 { import all; export none; };
		area 0 {
			interface $ptp { type ptp; hello 1; dead 4; retransmit 2; };
			interface $stub { stub yes; };
		};
	}
	EOF
}

underlay_up() {
	local r h l s net
	for r in $LEAVES $SPINES; do
		vr_netns_add "$r"
		ip netns exec "$(vr_ns "$r")" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0
		vr_must ip -n "$(vr_ns "$r")" addr add "${RID[$r]}/32" dev lo
	done
	# L4 hashing on the leaves: the outer UDP source port takes part in the multipath choice.
	for l in $LEAVES; do
		vr_must ip netns exec "$(vr_ns "$l")" sysctl -qw net.ipv4.fib_multipath_hash_policy=1
	done
	for h in $VR_TOPO_HOSTS; do
		l=${LEAF_OF[$h]}
		vr_netns_add "$h"
		ip netns exec "$(vr_ns "$h")" sysctl -qw net.ipv4.ip_forward=1
		vr_must ip link add "$(vr_fabric_dev "$h")" netns "$(vr_ns "$h")" type veth peer name "$(host_dev)" netns "$(vr_ns "$l")"
		vr_must ip -n "$(vr_ns "$h")" addr add "${VR_HOST_IP[$h]}/30" dev "$(vr_fabric_dev "$h")"
		vr_must ip -n "$(vr_ns "$l")" addr add "${VR_RT_IP[$h]}/30" dev "$(host_dev)"
		vr_must ip -n "$(vr_ns "$h")" link set "$(vr_fabric_dev "$h")" up
		vr_must ip -n "$(vr_ns "$l")" link set "$(host_dev)" up
		# The vRouter redirects encapsulated frames into the fabric veth with XDP: the leaf's end must run NAPI.
		vr_must ip netns exec "$(vr_ns "$l")" ethtool -K "$(host_dev)" gro on
		vr_must ip -n "$(vr_ns "$h")" route add 198.18.0.0/15 via "${VR_RT_IP[$h]}"
	done
	for l in $LEAVES; do
		for s in $SPINES; do
			net=$(link_net "$l" "$s")
			vr_must ip link add "$(leaf_dev "$s")" netns "$(vr_ns "$l")" type veth peer name "$(spine_dev "$l")" netns "$(vr_ns "$s")"
			vr_must ip -n "$(vr_ns "$l")" addr add "$net.1/30" dev "$(leaf_dev "$s")"
			vr_must ip -n "$(vr_ns "$s")" addr add "$net.2/30" dev "$(spine_dev "$l")"
			vr_must ip -n "$(vr_ns "$l")" link set "$(leaf_dev "$s")" up
			vr_must ip -n "$(vr_ns "$s")" link set "$(spine_dev "$l")" up
		done
	done
	for l in $LEAVES; do
		bird_conf "$l" "$(leaf_dev spine1)" "$(leaf_dev spine2)" >"$VR_TMP/bird-$l.conf"
	done
	for s in $SPINES; do
		bird_conf "$s" "$(spine_dev leaf1)" "$(spine_dev leaf2)" >"$VR_TMP/bird-$s.conf"
	done
	for r in $LEAVES $SPINES; do
		vr_must bird -p -c "$VR_TMP/bird-$r.conf"
		# -f: stays in the foreground, so the registered pid is bird's own and cleanup ends it.
		vr_bg "bird-$r" "$r" bird -f -c "$VR_TMP/bird-$r.conf" -s "$VR_TMP/bird-$r.ctl" -P "$VR_TMP/bird-$r.pid"
	done
}

birdc_in() { local r=$1; shift; birdc -s "$VR_TMP/bird-$r.ctl" "$@"; }

# The next hops of a leaf's route to a prefix, sorted ("198.18.11.2 198.18.12.2").
next_hops() {
	ip -n "$(vr_ns "$1")" -j route show "$2" | jq -r '[.[0] | (.nexthops // [.]) | .[].gateway] | sort | join(" ")'
}
ecmp_both_spines() {   # ecmp_both_spines LEAF PREFIX: two next hops, one on each spine
	local l=$1
	[ "$(next_hops "$l" "$2")" = "$(link_net "$l" spine1).2 $(link_net "$l" spine2).2" ]
}

underlay_up
for vm in $VR_TOPO_VMS; do
	vr_topo_vm "$vm"
done
vr_topo_vrouters
vr_topo_monitors
echo "# namespaces, BIRD and vRouters up in $((SECONDS - START)) s"

# ------------------------------------------------------------------ the routed underlay

t0=$SECONDS
for r in $LEAVES $SPINES; do
	vr_check "bird on $r is running (birdc answers)" vr_wait_until 5 birdc_in "$r" show status
done
desc="OSPF converged within 20 s: leaf1 routes h2's 198.18.2.0/30 and leaf2 h1's 198.18.1.0/30 over both spines"
if vr_wait_until 20 bash -c "$(declare -f next_hops ecmp_both_spines link_net vr_ns); VR_ID=$VR_ID
	ecmp_both_spines leaf1 198.18.2.0/30 && ecmp_both_spines leaf2 198.18.1.0/30"; then
	vr_pass "$desc"
else
	vr_failed "$desc"
	for l in $LEAVES; do
		{ ip -n "$(vr_ns "$l")" route show; birdc_in "$l" show ospf neighbors; } 2>&1 | sed "s/^/#   $l: /"
	done
fi
echo "# OSPF converged in $((SECONDS - t0)) s"
vr_check_eq "leaf1: ECMP route to h2 via spine1 and spine2" "$(link_net leaf1 spine1).2 $(link_net leaf1 spine2).2" \
	"$(next_hops leaf1 198.18.2.0/30)"
vr_check_eq "leaf2: ECMP route to h1 via spine1 and spine2" "$(link_net leaf2 spine1).2 $(link_net leaf2 spine2).2" \
	"$(next_hops leaf2 198.18.1.0/30)"
vr_check_match "leaf1's multipath route was installed by bird" "proto bird" \
	"$(ip -n "$(vr_ns leaf1)" route show 198.18.2.0/30)"
vr_check_eq "leaf1 has two full OSPF adjacencies (spine1, spine2)" 2 \
	"$(birdc_in leaf1 show ospf neighbors | grep -c 'Full/PtP')"
vr_check_eq "spine1 has two full OSPF adjacencies (leaf1, leaf2)" 2 \
	"$(birdc_in spine1 show ospf neighbors | grep -c 'Full/PtP')"
vr_check_eq "leaf1 learned the other routers' loopbacks" "$(printf '%s\n' "${RID[leaf2]}" "${RID[spine1]}" "${RID[spine2]}" | LC_ALL=C sort | xargs)" \
	"$(ip -n "$(vr_ns leaf1)" -j route show proto bird | jq -r --arg me "${RID[leaf1]}" \
		'[.[].dst | select(startswith("198.19.") and . != $me) | sub("/32$"; "")] | sort | join(" ")')"
vr_check_eq "the leaves hash on L4 (fib_multipath_hash_policy=1)" "1 1" \
	"$(for l in $LEAVES; do ip netns exec "$(vr_ns "$l")" sysctl -n net.ipv4.fib_multipath_hash_policy; done | xargs)"
vr_check "the hosts reach each other over the routed underlay (h1 -> 198.18.2.2)" \
	ip netns exec "$(vr_ns h1)" ping -n -q -c 2 -i 0.2 -W 2 "${VR_HOST_IP[h2]}"

# ------------------------------------------------------------------ the overlay works end to end

vr_check "first packet vm1 -> vm2 gets through within 10 s (monitor resolves the underlay neighbour)" \
	vr_ping_wait vm1 "${VR_VM_IP[vm2]}" 10
vr_check "ping vm1 -> vm2 through the routed underlay" vr_ping vm1 "${VR_VM_IP[vm2]}"
vr_check "ping vm2 -> vm1 through the routed underlay" vr_ping vm2 "${VR_VM_IP[vm1]}"

# ------------------------------------------------------------------ traffic, captured on both spines

# Each spine's link to leaf1 carries every tunnel packet between h1 and h2 that crosses that spine, both ways.
declare -A CAP_PID=()
capture_start() {   # capture_start SPINE
	local s=$1 f=$VR_TMP/cap-$1.pcapng
	ip netns exec "$(vr_ns "$s")" dumpcap -q -s 200 -i "$(spine_dev leaf1)" -f "udp dst port $VR_UDP_PORT" -w "$f" \
		>"$f.log" 2>&1 9>&- &
	CAP_PID[$s]=$!
	vr_register_pid "${CAP_PID[$s]}"
}
capture_stop() {   # capture_stop SPINE: SIGINT, dumpcap finishes the file
	kill -INT "${CAP_PID[$1]}" 2>/dev/null
	vr_wait_until 5 bash -c "! kill -0 ${CAP_PID[$1]}" || kill -KILL "${CAP_PID[$1]}" 2>/dev/null
	wait "${CAP_PID[$1]}" 2>/dev/null
	return 0
}

# Receivers: every datagram a VM receives on a port, one line each, into a file.
for vm in $VR_TOPO_VMS; do
	for port in 5000 5001 5003; do
		vr_bg "udp-$vm-$port" "$vm" socat -u "UDP-RECV:$port,bind=${VR_VM_IP[$vm]}" "OPEN:$VR_TMP/rx-$vm-$port,creat,append"
	done
done
for vm in $VR_TOPO_VMS; do
	vr_wait_until 5 bash -c "[ \$(ip netns exec $(vr_ns "$vm") ss -Huln | grep -Ec ':500[013]\\b') = 3 ]" ||
		vr_die "the UDP receivers in $vm did not start"
done

# send_flows VM DST PORT FLOWS ROUNDS: FLOWS UDP sockets open at once (distinct source ports, so distinct
# flows), ROUNDS datagrams on each, one round every 20 ms. Lines "VM flow I round R".
send_flows() {
	vr_in "$1" bash -c '
		fds=()
		for ((i = 0; i < $4; i++)); do
			exec {fd}>"/dev/udp/$2/$3" || exit 1
			fds+=("$fd")
		done
		for ((r = 0; r < $5; r++)); do
			for i in "${!fds[@]}"; do printf "%s flow %d round %d\n" "$1" "$i" "$r" >&"${fds[i]}"; done
			sleep 0.02
		done' _ "$@"
}

# send_long VM DST PORT COUNT: one flow, COUNT datagrams 10 ms apart. Started with &: the background
# subshell becomes that bash (exec), so $! is the sender itself.
send_long() {
	exec ip netns exec "$(vr_ns "$1")" bash -c '
		exec 3>"/dev/udp/$2/$3" || exit 1
		for ((i = 0; i < $4; i++)); do printf "%s long %d\n" "$1" "$i" >&3; sleep 0.01; done' _ "$@"
}

FLOWS=128
ROUNDS=8
LONG=300
L3FLOWS=64

t0=$SECONDS
for s in $SPINES; do capture_start "$s"; done
for s in $SPINES; do
	vr_wait_until 10 grep -q "Capturing on" "$VR_TMP/cap-$s.pcapng.log" ||
		{ _vr_show_output "$VR_TMP/cap-$s.pcapng.log"; vr_die "capture on $s did not start"; }
done
sleep 0.5   # dumpcap says so just before the socket is live

send_long vm1 "${VR_VM_IP[vm2]}" 5001 $LONG 9>&- &
long_pid=$!
vr_register_pid "$long_pid"
vr_check "vm1 sends $FLOWS UDP flows x $ROUNDS datagrams to vm2" send_flows vm1 "${VR_VM_IP[vm2]}" 5000 $FLOWS $ROUNDS
vr_check "vm2 sends $FLOWS UDP flows x $ROUNDS datagrams to vm1" send_flows vm2 "${VR_VM_IP[vm1]}" 5000 $FLOWS $ROUNDS
vr_check "TCP 2 MiB vm1 -> vm2 across the routed underlay, intact" vr_tcp_transfer vm1 vm2 5002 2
vr_check "vm1 sent one long UDP flow ($LONG datagrams over 3 s) to vm2" wait "$long_pid"

# The same with L3 hashing on the leaves: the outer addresses alone pick the path.
for l in $LEAVES; do ip netns exec "$(vr_ns "$l")" sysctl -qw net.ipv4.fib_multipath_hash_policy=0; done
vr_check "with L3 hashing: vm1 sends $L3FLOWS UDP flows to vm2" send_flows vm1 "${VR_VM_IP[vm2]}" 5003 $L3FLOWS 2
vr_check "with L3 hashing: vm2 sends $L3FLOWS UDP flows to vm1" send_flows vm2 "${VR_VM_IP[vm1]}" 5003 $L3FLOWS 2
for l in $LEAVES; do ip netns exec "$(vr_ns "$l")" sysctl -qw net.ipv4.fib_multipath_hash_policy=1; done

sleep 0.3
for s in $SPINES; do capture_stop "$s"; done
echo "# traffic and captures took $((SECONDS - t0)) s"

# ------------------------------------------------------------------ delivered

rx_lines() { [ -f "$VR_TMP/rx-$1-$2" ] && grep -c "$3" "$VR_TMP/rx-$1-$2" || echo 0; }
# Datagrams may be lost on the way (2 cores, other tests): the analysis below needs most of them, not all.
vr_check_range "vm2 received >= 95% of vm1's $((FLOWS * ROUNDS)) datagrams" $((FLOWS * ROUNDS * 95 / 100)) $((FLOWS * ROUNDS)) \
	"$(rx_lines vm2 5000 'vm1 flow')"
vr_check_range "vm1 received >= 95% of vm2's $((FLOWS * ROUNDS)) datagrams" $((FLOWS * ROUNDS * 95 / 100)) $((FLOWS * ROUNDS)) \
	"$(rx_lines vm1 5000 'vm2 flow')"
vr_check_eq "vm2 received datagrams of all $FLOWS flows" $FLOWS \
	"$(grep 'vm1 flow' "$VR_TMP/rx-vm2-5000" 2>/dev/null | awk '{ print $3 }' | sort -u | wc -l)"
vr_check_range "vm2 received >= 95% of the long flow" $((LONG * 95 / 100)) $LONG "$(rx_lines vm2 5001 'vm1 long')"

# ------------------------------------------------------------------ what the spines carried

# One line per captured tunnel packet: SPINE DIR PROTO OUTER-SPORT INNER-SPORT INNER-DPORT, DIR h1 or h2 (the
# sending host).
for s in $SPINES; do
	tshark -n -r "$VR_TMP/cap-$s.pcapng" -d "udp.port==$VR_UDP_PORT,mpls" -T fields -E separator='|' \
		-E aggregator=',' -e ip.src -e udp.srcport -e udp.dstport -e tcp.srcport -e tcp.dstport \
		2>"$VR_TMP/tshark-$s.log" |
		awk -F'|' -v s="$s" -v h1="${VR_HOST_IP[h1]}" -v h2="${VR_HOST_IP[h2]}" '
			{ split($1, ip, ","); split($2, sp, ","); split($3, dp, ",")
			  dir = (ip[1] == h1) ? "h1" : (ip[1] == h2) ? "h2" : "?"
			  if ($4 != "") print s, dir, "tcp", sp[1], $4, $5
			  else if (sp[2] != "") print s, dir, "udp", sp[1], sp[2], dp[2]
			  else print s, dir, "other", sp[1], "-", "-" }'
done >"$VR_TMP/tunnel.txt"

rows() { awk -v a="$1" -v b="$2" -v c="$3" '$2 == a && $3 == b && $6 == c' "$VR_TMP/tunnel.txt"; }

vr_check_eq "every captured packet is MPLS-in-UDP between h1 and h2 decoded to inner UDP or TCP" "" \
	"$(awk '$2 == "?" || $3 == "other"' "$VR_TMP/tunnel.txt" | head -n 3)"
vr_check_eq "all outer UDP source ports in 49152..65535" "" \
	"$(awk '$4 < 49152 || $4 > 65535 { print $4 }' "$VR_TMP/tunnel.txt" | head -n 3)"

# (a) many flows spread over both spines, (b) each stays on one, (c) their outer source ports differ.
spread_checks() {   # spread_checks DIR (h1: vm1 -> vm2, h2: vm2 -> vm1)
	local dir=$1 from to n f1 f2 p1 p2 split sports
	from=vm${dir#h}
	to=vm$((3 - ${dir#h}))
	rows "$dir" udp 5000 >"$VR_TMP/flows-$dir.txt"
	n=$(awk '{ print $5 }' "$VR_TMP/flows-$dir.txt" | sort -u | wc -l)
	vr_check_eq "$from -> $to: the spines carried all $FLOWS flows" $FLOWS "$n"
	f1=$(awk '$1 == "spine1" { print $5 }' "$VR_TMP/flows-$dir.txt" | sort -u | wc -l)
	f2=$(awk '$1 == "spine2" { print $5 }' "$VR_TMP/flows-$dir.txt" | sort -u | wc -l)
	p1=$(awk '$1 == "spine1"' "$VR_TMP/flows-$dir.txt" | wc -l)
	p2=$(awk '$1 == "spine2"' "$VR_TMP/flows-$dir.txt" | wc -l)
	echo "# $from -> $to: spine1 $f1 flows / $p1 packets, spine2 $f2 flows / $p2 packets"
	vr_check_range "$from -> $to: spine1 carried a fair share of the flows ($f1 of $n, >= 20%)" $((n / 5)) inf "$f1"
	vr_check_range "$from -> $to: spine2 carried a fair share of the flows ($f2 of $n, >= 20%)" $((n / 5)) inf "$f2"
	vr_check_range "$from -> $to: spine1 carried a fair share of the packets ($p1 of $((p1 + p2)), >= 20%)" \
		$(((p1 + p2) / 5)) inf "$p1"
	vr_check_range "$from -> $to: spine2 carried a fair share of the packets ($p2 of $((p1 + p2)), >= 20%)" \
		$(((p1 + p2) / 5)) inf "$p2"
	# Flows by inner source port: on how many spines, with how many outer source ports.
	split=$(awk '!(($5, $1) in sp) { sp[$5, $1] = 1; nsp[$5]++ } !(($5, $4) in op) { op[$5, $4] = 1; nop[$5]++ }
		END { for (f in nsp) if (nsp[f] != 1 || nop[f] != 1) print f }' "$VR_TMP/flows-$dir.txt" | head -n 5)
	vr_check_eq "$from -> $to: every flow kept one outer source port and one spine" "" "$split"
	sports=$(awk '{ print $4 }' "$VR_TMP/flows-$dir.txt" | sort -u | wc -l)
	echo "# $from -> $to: $sports distinct outer source ports for $n flows"
	# 128 flows in 16,384 ports: on average half a pair shares a port; 7 or more such pairs: about 1e-6.
	vr_check_range "$from -> $to: the flows' outer source ports differ ($sports distinct for $n flows)" \
		$((n - 6)) "$n" "$sports"
}
spread_checks h1
spread_checks h2

one_path() {   # one_path DESC DIR PROTO INNER-DPORT MIN-PACKETS
	local desc=$1 f=$VR_TMP/one-$2-$3-$4.txt on sports other n
	rows "$2" "$3" "$4" >"$f"
	n=$(wc -l <"$f")
	on=$(awk '{ print $1 }' "$f" | sort -u | xargs)
	sports=$(awk '{ print $4 }' "$f" | sort -u | xargs)
	echo "# $desc: $n packets on $on, outer source port(s) $sports"
	vr_check_range "$desc: its packets were captured" "$5" inf "$n"
	vr_check_match "$desc: all on one spine" '^spine[12]$' "$on"
	vr_check_match "$desc: one outer source port" '^[0-9]+$' "$sports"
	other=spine1
	[ "$on" = spine1 ] && other=spine2
	vr_check_eq "$desc: $other never saw its outer source port" 0 \
		"$(awk -v s="$other" -v p="$sports" '$1 == s && $2 == "'"$2"'" && $4 == p' "$VR_TMP/tunnel.txt" | wc -l)"
}
one_path "long UDP flow vm1 -> vm2" h1 udp 5001 $((LONG * 95 / 100))
one_path "TCP transfer vm1 -> vm2, data" h1 tcp 5002 10
# The ACKs: tcp.dstport of the reverse direction is the client's port, so match the server's source port.
awk '$2 == "h2" && $3 == "tcp" && $5 == 5002 { $6 = "ack"; print }' "$VR_TMP/tunnel.txt" >"$VR_TMP/acks.txt"
echo "# TCP transfer vm2 -> vm1, ACKs: $(wc -l <"$VR_TMP/acks.txt") packets on" \
	"$(awk '{ print $1 ", outer source port " $4 }' "$VR_TMP/acks.txt" | sort -u | xargs)"
vr_check_range "TCP transfer vm2 -> vm1, ACKs: captured" 5 inf "$(wc -l <"$VR_TMP/acks.txt")"
vr_check_eq "TCP transfer vm2 -> vm1, ACKs: all on one spine with one outer source port" 1 \
	"$(awk '{ print $1, $4 }' "$VR_TMP/acks.txt" | sort -u | wc -l)"

# L3 hashing: one path per direction whatever the flow.
for dir in h1 h2; do
	on=$(rows "$dir" udp 5003 | awk '{ print $1 }' | sort -u | xargs)
	n=$(rows "$dir" udp 5003 | awk '{ print $5 }' | sort -u | wc -l)
	vr_check_range "with L3 hashing: $dir's $L3FLOWS flows were captured" $((L3FLOWS * 9 / 10)) $L3FLOWS "$n"
	vr_check_match "with L3 hashing: all of $dir's flows took one spine ($on)" '^spine[12]$' "$on"
done

vr_check "still forwarding at the end: vm2 -> vm1" vr_ping vm2 "${VR_VM_IP[vm1]}"

echo "# runtime $((SECONDS - START)) s"
vr_summary
