#!/bin/bash
# Gateway packet-rate benchmark: 64-byte frames of tenants' UDP flows through the gateway role (decapsulate,
# source-NAT through the connection table, out of the external NIC by the host's routes) against the kernel's
# own conntrack + iptables MASQUERADE path, side by side in one run, one core, the generator and counter of
# bench_pps.sh (build/bench_pps: its own XDP programs, nothing of the datapath).
#
#   hv ---veth--- FAB [ gw namespace ] EXT ---veth--- bd        hv: the vRouter host the tenants' VMs are on
#   198.18.1.1    198.18.1.2   198.18.200.1     198.18.200.2    (the generator runs there); gw: the gateway;
#                                                                bd: the border router (the counter is on its
#                                                                end); 203.0.113.0/24 is routed via bd
# Variants (each its own namespaces, same shape):
#   vr  bpf-vrouter as a gateway: MPLS-in-UDP from hv (a known tunnel endpoint) with VRF 7's per-VRF label;
#       VRF 7's 0.0.0.0/0 is 'via external'; SNAT to 198.51.100.3 (ports 1024-65535); vr_fabric_xdp decaps,
#       translates, bpf_fib_lookup on the host's routes, redirect out of EXT
#   ks  the kernel: the same inner UDP packets, plain IPv4 with no tunnel (the kernel has no MPLS-in-UDP decap:
#       no MPLS routing, no FOU/bareudp in this kernel), ip_forward=1 and
#       'iptables -t nat -A POSTROUTING -o EXT -j MASQUERADE' (conntrack per flow); the kernel's best case,
#       it does less work than the gateway (no decap)
#   kx  the kernel with a decap of its own: the same inner packets in VXLAN (VNI 42) into a vxlan device, then
#       the same forwarding + MASQUERADE; the outer tunnel packets are exempt from conntrack
#       ('-t raw ... --dport 4789 -j NOTRACK', as a tuned kernel gateway would have them)
#   xd  (a) a bare XDP redirect FAB -> EXT of ours' MPLS-in-UDP frames (no decap, no NAT, no lookup, the frame
#       leaves as it came): the floor of this topology
#
# Flows: VR_GW_FLOWS (default "1024 131072") distinct inner 5-tuples from one VM (10.9.1.1) to 203.0.113.10:
# source ports from 10000 upwards, at most 4096 of them per destination port, the rest over destination ports
# from 9 upwards (131072 flows: 4096 ports x 32 destination ports; a NAT can give one destination at most
# 64,512 public ports). Per cell: a creation pass (0.5 s, every flow sent several times) makes the
# connections, the connection count is read (bpf-vrouter: 'nat stats', kernel: nf_conntrack_count of the
# namespace) and must cover every flow; then the measured runs; then the count again, which must not have
# moved: the figures are the established steady state, no connection created while measuring.
#
# VR_BENCH_RUNS runs (3) of VR_BENCH_TIME s (1.5) per cell after a 0.5 s warm-up; medians reported. Beside each
# figure, as bench_pps.sh: the generator's CPU share, ksoftirqd's, the pinned core's busy share and the other
# core's. Results in $VR_BENCH_OUT/gw.json (default $VR_BUILD/bench). Run as root after make:
# bash selftests/bench_gw.sh (make bench runs it).

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

BENCH_TIME=${VR_BENCH_TIME:-1.5}   # 1.5 s (bench_pps.sh: 2) keeps the part near 60 s with its 7 cells
BENCH_RUNS=${VR_BENCH_RUNS:-3}
BENCH_OUT=${VR_BENCH_OUT:-$VR_BUILD/bench}
BENCH_CPU=${VR_BENCH_CPU:-$(($(nproc) - 1))}
BENCH_PPS=${BENCH_PPS:-$VR_BUILD/bench_pps}
FLOW_COUNTS=${VR_GW_FLOWS:-1024 131072}
SPORTS_MAX=4096   # source ports per destination port
CREATE_S=0.5      # the creation pass

HV_IP=198.18.1.1
GW_IP=198.18.1.2
EXT_IP=198.18.200.1
BORDER_IP=198.18.200.2
OUTSIDE_NET=203.0.113.0/24
OUTSIDE_IP=203.0.113.10
VM_IP=10.9.1.1
VRF=7
VRF_LABEL=1007
SNAT_IP=198.51.100.3
VNI=42
VM_VX_MAC=02:00:00:00:09:01   # the VM's source MAC inside VXLAN (kx)

VARIANTS="vr ks kx xd"

vr_require_root
vr_require_cmds ip nsenter ethtool jq taskset awk iptables
vr_require_build "$VRCTL" "$BENCH_PPS"
vr_require_bpffs
bench_check_cpu
for f in $FLOW_COUNTS; do
	if ! [[ "$f" =~ ^[0-9]+$ ]] || [ "$f" -lt 1 ] || [ "$f" -gt 1048576 ] || [ $((f & (f - 1))) -ne 0 ]; then
		echo "VR_GW_FLOWS: '$f' is not a power of two from 1 to 1048576" >&2
		exit 2
	fi
done
vr_tmp_init bench-gw
vr_trap_cleanup

pns() { vr_ns "$1-$2"; }   # pns VARIANT ROLE (hv, gw, bd): namespace name
HVDEV="vr${VR_ID}h"
FAB="vr${VR_ID}f"
EXT="vr${VR_ID}e"
BDDEV="vr${VR_ID}b"
VXDEV="vr${VR_ID}x"
gwin() { local v=$1; shift; ip netns exec "$(pns "$v" gw)" "$@"; }

# ------------------------------------------------------------------ topology (one per variant)

topo_up() {
	local v=$1 r
	for r in hv gw bd; do
		vr_netns_add "$v-$r"
	done
	gwin "$v" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	vr_must ip link add "$HVDEV" netns "$(pns "$v" hv)" type veth peer name "$FAB" netns "$(pns "$v" gw)"
	vr_must ip link add "$EXT" netns "$(pns "$v" gw)" type veth peer name "$BDDEV" netns "$(pns "$v" bd)"
	vr_must ip -n "$(pns "$v" hv)" addr add "$HV_IP/24" dev "$HVDEV"
	vr_must ip -n "$(pns "$v" hv)" link set "$HVDEV" up
	vr_must ip -n "$(pns "$v" bd)" addr add "$BORDER_IP/24" dev "$BDDEV"
	vr_must ip -n "$(pns "$v" bd)" link set "$BDDEV" up
	vr_must ip -n "$(pns "$v" gw)" addr add "$GW_IP/24" dev "$FAB"
	vr_must ip -n "$(pns "$v" gw)" addr add "$EXT_IP/24" dev "$EXT"
	for r in "$FAB" "$EXT"; do
		gwin "$v" sysctl -qw "net.ipv4.conf.$r.rp_filter=0"
		vr_must ip -n "$(pns "$v" gw)" link set "$r" up
	done
	# The outside is behind the border router; its address resolved for good (nothing waits for ARP, and
	# bpf_fib_lookup finds the neighbour).
	vr_must ip -n "$(pns "$v" gw)" route add "$OUTSIDE_NET" via "$BORDER_IP" dev "$EXT"
	vr_must ip -n "$(pns "$v" gw)" neigh replace "$BORDER_IP" lladdr "$(mac_of "$v" bd "$BDDEV")" dev "$EXT" nud permanent
	"setup_$v"
}

# bpf-vrouter as the gateway of VRF 7: tunnels from hv accepted, VRF 7's default route external, SNAT.
setup_vr() {
	local h
	h=$(pns vr gw)
	vr_register_pindir "$h" "$(vr_pindir vr-gw)"
	vr_must vrctl vr-gw load fabric "$FAB" host-ip "$GW_IP" fabric-mode xdp
	vr_must vrctl vr-gw vrf add "$VRF" label "$VRF_LABEL"
	vr_must vrctl vr-gw route add 0.0.0.0/0 vrf "$VRF" via external
	vr_must vrctl vr-gw endpoint add "$HV_IP"
	# Longer than the whole benchmark: no connection expires between its creation and its last run.
	vr_must vrctl vr-gw gateway set "$EXT" timeout-udp 600
	vr_must vrctl vr-gw nat snat set vrf "$VRF" "$SNAT_IP" ports 1024-65535
}

# The kernel: MASQUERADE out of EXT; the fabric end needs GRO (NAPI) to take the generator's XDP redirects.
setup_ks() {
	vr_must gwin ks ethtool -K "$FAB" gro on
	vr_must gwin ks iptables -t nat -A POSTROUTING -o "$EXT" -j MASQUERADE
}

setup_kx() {
	local h
	h=$(pns kx gw)
	vr_must gwin kx ethtool -K "$FAB" gro on
	vr_must ip -n "$h" link add "$VXDEV" type vxlan id "$VNI" local "$GW_IP" dstport 4789 dev "$FAB" nolearning
	vr_must ip -n "$h" addr add 10.9.0.254/16 dev "$VXDEV"
	vr_must ip -n "$h" link set "$VXDEV" up
	gwin kx sysctl -qw "net.ipv4.conf.$VXDEV.rp_filter=0"
	vr_must gwin kx iptables -t raw -A PREROUTING -i "$FAB" -p udp --dport 4789 -j NOTRACK
	vr_must gwin kx iptables -t nat -A POSTROUTING -o "$EXT" -j MASQUERADE
}

# Bare XDP: bench_pps attaches its redirect FAB -> EXT for the measurement (which also puts FAB in NAPI mode).
setup_xd() { :; }

# ------------------------------------------------------------------ measuring

# Connections the gateway holds now: bpf-vrouter's live ones, or the kernel's conntrack entries in the
# namespace (the outer VXLAN packets are untracked, so these are the inner flows').
conns() {
	case $1 in
	vr) vrctl vr-gw -j nat stats | jq -r '.connections' ;;
	ks | kx) gwin "$1" cat /proc/sys/net/netfilter/nf_conntrack_count ;;
	*) echo 0 ;;
	esac
}
drops_json() { vrctl vr-gw -j stats 2>/dev/null | jq -c '.drops // {} | with_entries(select(.value != 0))'; }

declare -A CELL_NAME=() CELL_FLOWS=() CELL_VAR=() MED=() MEDC=() DROPS=() WARN=() CONNS=()
CELLS=()

# gen VARIANT OUT FRAME FLOWS SECONDS RUNS WARMUP [FWD]: bench_pps from hv into HVDEV, counted on bd's end.
gen() {
	local v=$1 out=$2 frame=$3 flows=$4 secs=$5 runs=$6 warm=$7 fwd=${8:-} fwdargs=() sports
	sports=$((flows < SPORTS_MAX ? flows : SPORTS_MAX))
	[ -n "$fwd" ] && fwdargs=(--fwd "$fwd" --fwd-netns "/run/netns/$(pns "$v" gw)")
	taskset -c "$BENCH_CPU" nsenter --net="/run/netns/$(pns "$v" hv)" "$BENCH_PPS" run --tx-dev "$HVDEV" \
		--rx-netns "/run/netns/$(pns "$v" bd)" --rx-dev "$BDDEV" --frame "$frame" "${fwdargs[@]}" \
		--seconds "$secs" --runs "$runs" --warmup "$warm" --flows "$flows" --flow-sports "$sports" \
		>"$out" 2>"$out.err" 9>&-
}

# measure CELL LABEL VARIANT FRAME FLOWS [FWD]: the creation pass, then VR_BENCH_RUNS measured runs.
measure() {
	local cell=$1 label=$2 v=$3 frame=$4 flows=$5 fwd=${6:-} out c0 c1 d0
	out=$VR_TMP/cell-$cell.jsonl
	CELLS+=("$cell")
	CELL_NAME[$cell]=$label CELL_FLOWS[$cell]=$flows CELL_VAR[$cell]=$v
	if [ "$v" != xd ]; then
		gen "$v" "$VR_TMP/create-$cell.jsonl" "$frame" "$flows" "$CREATE_S" 1 0
		c0=$(conns "$v")
		if ! [[ "$c0" =~ ^[0-9]+$ ]] || [ "$c0" -lt "$flows" ]; then
			vr_failed "$cell ($label): after the creation pass the gateway holds '$c0' connections, not one per each of the $flows flows"
			_vr_show_output "$VR_TMP/create-$cell.jsonl.err"
			[ "$v" = vr ] && echo "#   drop counters now: $(drops_json)"
			return
		fi
	fi
	[ "$v" = vr ] && d0=$(drops_json)
	gen "$v" "$out" "$frame" "$flows" "$BENCH_TIME" "$BENCH_RUNS" 0.5 "$fwd"
	bench_runs "$cell" "$label" "$v" "$out" || return
	if [ "$v" != xd ]; then
		c1=$(conns "$v")
		CONNS[$cell]=$c1
		if [ "$c1" != "$c0" ]; then
			vr_failed "$cell ($label): connections moved from $c0 to $c1 while measuring (not the steady state)"
		else
			vr_pass "$cell: $BENCH_NRUNS runs over $c1 established connections" >/dev/null
		fi
	else
		vr_pass "$cell: $BENCH_NRUNS runs" >/dev/null
	fi
	bench_figures "$cell" "$label" "$v" "$out" "${d0:-}" 12 44
}

# Frame specs, from hv to the gateway's fabric end: ours MPLS-in-UDP with VRF 7's label, the kernel's the same
# inner packet bare or in VXLAN.
mpls_frame() {
	echo "kind=mpls,smac=$(mac_of "$1" hv "$HVDEV"),dmac=$(mac_of "$1" gw "$FAB"),osrc=$HV_IP,odst=$GW_IP,label=$VRF_LABEL,src=$VM_IP,dst=$OUTSIDE_IP"
}
udp_frame() { echo "kind=udp,smac=$(mac_of "$1" hv "$HVDEV"),dmac=$(mac_of "$1" gw "$FAB"),src=$VM_IP,dst=$OUTSIDE_IP"; }
vxlan_frame() {
	echo "kind=vxlan,smac=$(mac_of kx hv "$HVDEV"),dmac=$(mac_of kx gw "$FAB"),osrc=$HV_IP,odst=$GW_IP,vni=$VNI,ismac=$VM_VX_MAC,idmac=$(mac_of kx gw "$VXDEV"),src=$VM_IP,dst=$OUTSIDE_IP"
}

# ------------------------------------------------------------------ run

bench_start "bpf-vrouter gateway packet-rate benchmark"
for v in $VARIANTS; do
	topo_up "$v"
done
echo "# topology up in $((SECONDS - START)) s; $(iptables -V); flows: $FLOW_COUNTS (at most $SPORTS_MAX source ports per destination port)"
echo "# cells: a ${CREATE_S} s creation pass, then $BENCH_RUNS runs x $BENCH_TIME s after a 0.5 s warm-up"

for f in $FLOW_COUNTS; do
	measure "vr-$f" "gateway, bpf-vrouter, $f flows" vr "$(mpls_frame vr)" "$f"
	measure "ks-$f" "kernel fwd + MASQUERADE, $f flows" ks "$(udp_frame ks)" "$f"
	measure "kx-$f" "kernel VXLAN + fwd + MASQUERADE, $f flows" kx "$(vxlan_frame)" "$f"
done
measure xd "(a) bare XDP redirect fabric -> ext" xd "$(mpls_frame xd)" 256 "$FAB:$EXT"

LOAD_AFTER=$(vr_loadavg)

# ------------------------------------------------------------------ report

div() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b }'; }

echo
echo "# packets per second into the gateway (ours 92-byte MPLS-in-UDP frames, kernel 60-byte IPv4 or 110-byte VXLAN"
echo "# frames, the same 46-byte inner packet), 60-byte frames out of the external NIC, one core (CPU $BENCH_CPU:"
echo "# generator + gateway + counter); median of $BENCH_RUNS runs x $BENCH_TIME s, established connections"
printf '%-44s %6s  %-11s %8s %7s %6s %5s %6s %6s %7s\n' "path" "Mpps" "min-max" "per core" "gen cpu" "sirqd" \
	"core" "other" "rx len" "conns"
for c in "${CELLS[@]}"; do
	if [ -z "${MED[$c]:-}" ]; then
		printf '%-44s %6s\n' "${CELL_NAME[$c]}" FAILED
		continue
	fi
	mm=$(jq -rs 'map(.mpps) | "\(min * 100 | round / 100)-\(max * 100 | round / 100)"' "$VR_TMP/cell-$c.jsonl")
	printf '%-44s %6s  %-11s %8s %6s%% %5s%% %4s%% %5s%% %6s %7s\n' "${CELL_NAME[$c]}" "$(fmt "${MED[$c]}")" "$mm" \
		"$(fmt "${MEDC[$c]}")" \
		"$(fmt "$(cell_stat "$c" gen_cpu_pct)" 0)" "$(fmt "$(cell_stat "$c" ksoftirqd_cpu_pct)" 0)" \
		"$(fmt "$(cell_stat "$c" gen_core_busy_pct)" 0)" "$(fmt "$(cell_stat "$c" other_cpu_pct)" 0)" \
		"$(fmt "$(cell_stat "$c" rx_frame_len)" 0)" "${CONNS[$c]:--}"
done

# Ratios per flow count: ours against the kernel (plain and VXLAN) and against the bare redirect.
declare -A RATIO=() RATIO_CORE=()
echo
printf '%-16s %-22s %-22s %-22s\n' "ratios" "ours/kernel MASQ" "ours/kernel VXLAN+MASQ" "ours/(a) bare XDP"
for f in $FLOW_COUNTS; do
	for b in ks kx xd; do
		bc=$b-$f
		[ "$b" = xd ] && bc=xd
		RATIO[$f,$b]=$(div "${MED[vr-$f]:-}" "${MED[$bc]:-}")
		RATIO_CORE[$f,$b]=$(div "${MEDC[vr-$f]:-}" "${MEDC[$bc]:-}")
	done
	printf '%-16s %-22s %-22s %-22s\n' "$f flows" \
		"${RATIO[$f,ks]:-n/a} (${RATIO_CORE[$f,ks]:-n/a}/core)" "${RATIO[$f,kx]:-n/a} (${RATIO_CORE[$f,kx]:-n/a}/core)" \
		"${RATIO[$f,xd]:-n/a} (${RATIO_CORE[$f,xd]:-n/a}/core)"
done
echo
echo "# 'per core' Mpps per CPU-second of the generator process and ksoftirqd/$BENCH_CPU together: the rate if nothing"
echo "# else had run on our core. 'gen cpu' the generator's utime+stime / wall (softirq work in its context included),"
echo "# 'sirqd' ksoftirqd/$BENCH_CPU's share, 'core' CPU $BENCH_CPU busy, 'other' the other CPU(s) busy: a high 'other'"
echo "# means another session was running. 'rx len' the mean frame length at the border (60: the inner packet alone,"
echo "# 92: the bare redirect's untouched MPLS-in-UDP frame). 'conns' the gateway's connections after the runs (equal"
echo "# to the count after the creation pass, checked)."
bench_warnings_and_load

mkdir -p "$BENCH_OUT"
results=$(for c in "${CELLS[@]}"; do
	f=$VR_TMP/cell-$c.jsonl
	[ -s "$f" ] || : >"$f"
	jq -sc --arg c "$c" --arg name "${CELL_NAME[$c]}" --arg v "${CELL_VAR[$c]}" --arg flows "${CELL_FLOWS[$c]}" \
		--arg med "${MED[$c]:-}" --arg conns "${CONNS[$c]:-}" --arg drops "${DROPS[$c]:-}" --arg warn "${WARN[$c]:-}" '
		def num: if . == "" then null else tonumber end;
		def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		{cell: $c, name: $name,
		 variant: ({vr: "bpf-vrouter", ks: "kernel_masquerade", kx: "kernel_vxlan_masquerade", xd: "bare_xdp"}[$v]),
		 flows: (if $v == "xd" then null else ($flows | num) end), connections: ($conns | num),
		 mpps: ($med | num), mpps_min: (map(.mpps) | min), mpps_max: (map(.mpps) | max),
		 mpps_per_cpu: (map(.mpps_per_cpu) | med), sent_mpps: (map(.sent_mpps) | med),
		 gen_cpu_pct: (map(.gen_cpu_pct) | med), ksoftirqd_cpu_pct: (map(.ksoftirqd_cpu_pct) | med),
		 gen_core_busy_pct: (map(.gen_core_busy_pct) | med), other_cpu_pct: (map(.other_cpu_pct) | med),
		 frame_len: (.[0].frame_len // null), rx_frame_len: (map(.rx_frame_len) | med),
		 vrouter_drops: (if $drops == "" then null else ($drops | fromjson) end),
		 warning: (if $warn == "" then null else $warn end), runs: .}' "$f"
done | jq -s .)
ratios=$(for k in "${!RATIO[@]}"; do
	jq -nc --arg k "$k" --arg r "${RATIO[$k]}" --arg rc "${RATIO_CORE[$k]:-}" '
		def num: if . == "" then null else tonumber end;
		($k | split(",")) as [$f, $b] |
		{key: "\($f)/\({ks: "kernel_masquerade", kx: "kernel_vxlan_masquerade", xd: "bare_xdp"}[$b])",
		 value: {ratio: ($r | num), ratio_per_cpu: ($rc | num)}}'
done | jq -sc 'from_entries')
jq -n --arg id "$VR_ID" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg kernel "$(uname -r)" \
	--argjson cpus "$(nproc)" --argjson cpu "$BENCH_CPU" --argjson t "$BENCH_TIME" --argjson n "$BENCH_RUNS" \
	--arg flows "$FLOW_COUNTS" --argjson sports "$SPORTS_MAX" --arg ipt "$(iptables -V)" \
	--arg lb "$LOAD_BEFORE" --arg la "$LOAD_AFTER" --argjson bb "$BUSY_BEFORE" \
	--argjson results "$results" --argjson ratios "$ratios" --argjson secs "$((SECONDS - START))" '
	{benchmark: "gateway", run_id: $id, date: $date, kernel: $kernel, cpus: $cpus, generator_cpu: $cpu,
	 runtime_s: $secs, seconds_per_run: $t, runs: $n, creation_pass_s: 0.5,
	 flows: ($flows | split(" ") | map(select(. != "") | tonumber)), source_ports_per_destination_port: $sports,
	 iptables: $ipt, frame_len: {inner: 60, mpls_in_udp: 92, vxlan: 110},
	 load: {loadavg_before: $lb, loadavg_after: $la, idle_window_busy_pct_before: $bb},
	 results: $results, ratios: $ratios}' >"$BENCH_OUT/gw.json.tmp" && mv "$BENCH_OUT/gw.json.tmp" "$BENCH_OUT/gw.json"
echo "# results in $BENCH_OUT/gw.json"
vr_summary
