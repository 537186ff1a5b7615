#!/bin/bash
# Packet-rate benchmark: 64-byte frames (60 bytes + FCS) forwarded by one core, through bpf-vrouter (vifs in
# mode xdp, fabric mode xdp) and, in the same run, the same topology shape with the same generator and
# receiver through a bare XDP redirect and through the kernel.
#
#   vm1 eth0 --veth-- vif1 +                    + fabric --veth-- rt end        (198.18.1.2 <-> 198.18.1.1;
#   vm2 eth0 --veth-- vif2 +-- host namespace --+                                the remote host 198.18.2.2
#                                                                                is routed via rt)
# Paths (generator -> router -> counter):
#   encap  frames from vm1 to a remote VM enter vif1 and leave the fabric encapsulated; counted on rt's end
#   decap  MPLS-in-UDP (VXLAN for the kernel) from rt with vm1's label enter the fabric; counted on vm1's eth0
#   local  frames from vm1 to vm2 enter vif1 and leave vif2; counted on vm2's eth0
# Variants (each its own namespaces, same shape):
#   ours   bpf-vrouter: vr_vif_xdp on the vifs, vr_fabric_xdp on the fabric; encap with 1 route in VRF 1, then
#          with 1M /32 routes (vrouterctl route import; the measured destination is one of them)
#   (a)    a bare XDP program where ours would be, redirecting to the same egress device: no lookup, no rewrite
#   (b)    kernel VXLAN (VNI 42, dstport 4789) plus routing: encap, and decap of VXLAN frames
#   (c)    kernel IPv4 forwarding, no encap: encap path (to the remote VM's address) and local
#
# Generator: build/bench_pps (selftests/bench_pps.c + bench_pps.bpf.c, no datapath code): an XDP program run by
# BPF_PROG_TEST_RUN in live-frames mode inside the sending namespace, pinned with taskset to one CPU
# (VR_BENCH_CPU, default the last), redirecting into the sending veth; every veth NAPI poll the frames cause
# and the counter (an XDP program on the receiving end that counts and drops) run on that CPU too. The inner
# UDP source port varies over 256 flows. Rate = frames counted at the receiver / wall time of the run.
# Beside every figure: the generator process's CPU share (utime+stime / wall), the pinned core's busy share and
# the other core's (from /proc/stat): the other core is not ours, a busy one means another session was running.
#
# VR_BENCH_RUNS runs (3) of VR_BENCH_TIME s (2) per cell after a 0.5 s warm-up; medians reported.
# VR_BENCH_ROUTES (1000000) routes for the large-table encap cell. Results in $VR_BENCH_OUT/pps.json
# (default $VR_BUILD/bench). Run as root after make: bash selftests/bench_pps.sh (or make bench).

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

BENCH_TIME=${VR_BENCH_TIME:-2}
BENCH_RUNS=${VR_BENCH_RUNS:-3}
BENCH_OUT=${VR_BENCH_OUT:-$VR_BUILD/bench}
BENCH_ROUTES=${VR_BENCH_ROUTES:-1000000}
BENCH_CPU=${VR_BENCH_CPU:-$(($(nproc) - 1))}
BENCH_FLOWS=256
# Without 'route import': as many 'route add' as fit in this many seconds (at most 10k).
FALLBACK_ROUTES=10000
FALLBACK_BUDGET_S=${VR_BENCH_ROUTE_BUDGET:-20}
BENCH_PPS=${BENCH_PPS:-$VR_BUILD/bench_pps}
BENCH_CELLS=${VR_BENCH_CELLS:-}   # a subset of the cells to measure (names as in the progress lines), e.g. "decap decap-a"

VNI=42
HOST_IP=198.18.1.2
RT_IP=198.18.1.1
REMOTE_HOST=198.18.2.2
VM1_IP=10.1.1.1
VM2_IP=10.1.2.1
VM1_MAC=02:00:00:00:01:01
VM2_MAC=02:00:00:00:02:01
REMOTE_VX_MAC=02:00:00:00:ff:02   # the remote host's vxlan device (static neighbour)
ROUTE_BASE=$((10 << 24 | 64 << 16))   # route i is 10.64.0.0 + i

VARIANTS="vr xd vx pl"   # bpf-vrouter, (a) bare XDP redirect, (b) kernel VXLAN, (c) kernel IPv4 forwarding

vr_require_root
vr_require_cmds ip nsenter ethtool jq taskset awk
vr_require_build "$VRCTL" "$BENCH_PPS"
vr_require_bpffs
bench_check_cpu
vr_tmp_init bench-pps
vr_trap_cleanup

# ------------------------------------------------------------------ names and helpers

pns() { vr_ns "$1-$2"; }                      # pns VARIANT ROLE (h, vm1, vm2, rt): namespace name
VIF1="vr${VR_ID}v1"
VIF2="vr${VR_ID}v2"
FAB=$(vr_fabric_dev)
RTDEV=$(vr_rt_dev h1)
VXDEV="vr${VR_ID}x"
ip_of() { awk -v a="$1" 'BEGIN { printf "%d.%d.%d.%d", int(a / 16777216) % 256, int(a / 65536) % 256, int(a / 256) % 256, a % 256 }'; }

# The measured remote VM: route number PICK of the large table (not the first nor the last).
PICK=$(((RANDOM * 32768 + RANDOM) % (BENCH_ROUTES > 2 ? BENCH_ROUTES - 2 : 1) + 1))
[ "$BENCH_ROUTES" -ge 2 ] || PICK=0
DST=$(ip_of $((ROUTE_BASE + PICK)))
route_label() { echo $((1000 + $1 % 4096)); }   # labels of the remote VMs: 4096 tunnel nexthops in all
DST_LABEL=$(route_label "$PICK")

# ------------------------------------------------------------------ topology (one per variant)

topo_up() {
	local v=$1 h r d
	for r in h vm1 vm2 rt; do
		vr_netns_add "$v-$r"
	done
	h=$(pns "$v" h)
	ip netns exec "$h" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	vr_must ip link add "$VIF1" netns "$h" type veth peer name eth0 netns "$(pns "$v" vm1)"
	vr_must ip link add "$VIF2" netns "$h" type veth peer name eth0 netns "$(pns "$v" vm2)"
	vr_must ip link add "$FAB" netns "$h" type veth peer name "$RTDEV" netns "$(pns "$v" rt)"
	vr_must ip -n "$(pns "$v" vm1)" link set eth0 address "$VM1_MAC" up
	vr_must ip -n "$(pns "$v" vm2)" link set eth0 address "$VM2_MAC" up
	vr_must ip -n "$(pns "$v" rt)" addr add "$RT_IP/24" dev "$RTDEV"
	vr_must ip -n "$(pns "$v" rt)" link set "$RTDEV" up
	for d in "$VIF1" "$VIF2" "$FAB"; do
		ip netns exec "$h" sysctl -qw "net.ipv4.conf.$d.rp_filter=0"
		vr_must ip -n "$h" link set "$d" up
	done
	vr_must ip -n "$h" addr add "$HOST_IP/24" dev "$FAB"
	vr_must ip -n "$h" route add 198.18.0.0/15 via "$RT_IP"
	# The underlay next hop, resolved for good: nothing waits for ARP, no drop as unresolved_neigh.
	vr_must ip -n "$h" neigh replace "$RT_IP" lladdr "$(mac_of "$v" rt "$RTDEV")" dev "$FAB" nud permanent
	"setup_$v"
}

# bpf-vrouter: VRF 1, both vifs in mode xdp, their /32s, and the measured remote VM via a tunnel.
setup_vr() {
	local h
	h=$(pns vr h)
	vr_register_pindir "$h" "$(vr_pindir vr-h)"
	vr_must vrctl vr-h load fabric "$FAB" host-ip "$HOST_IP" fabric-mode xdp
	vr_must vrctl vr-h vrf add 1
	vr_must vrctl vr-h vif add "$VIF1" vrf 1 mac "$VM1_MAC" ip "$VM1_IP" gw 10.1.1.254 mode xdp
	vr_must vrctl vr-h vif add "$VIF2" vrf 1 mac "$VM2_MAC" ip "$VM2_IP" gw 10.1.2.254 mode xdp
	vr_must vrctl vr-h route add "$VM1_IP/32" vrf 1 via vif "$VIF1"
	vr_must vrctl vr-h route add "$VM2_IP/32" vrf 1 via vif "$VIF2"
	vr_must vrctl vr-h route add "$DST/32" vrf 1 via tunnel "$REMOTE_HOST" label "$DST_LABEL"
	VM1_LABEL=$(vrctl vr-h -j vif list | jq -r --arg n "$VIF1" '.[] | select(.name == $n) | .label')
	[[ "$VM1_LABEL" =~ ^[0-9]+$ ]] || vr_die "no MPLS label for vif1 in 'vif list -j' (got '$VM1_LABEL')"
}

# Bare XDP: nothing to configure; bench_pps attaches its redirect for each measurement. The ingress vif's
# peer must receive in NAPI mode, which the XDP program on the vif gives.
setup_xd() { :; }

# Kernel gateways for both VMs, static neighbours for them (the generator never answers ARP), IPv4 forwarding;
# the ingress devices need GRO (NAPI) to take XDP redirects from the generator's veth.
kernel_gateways() {
	local v=$1 h
	h=$(pns "$v" h)
	vr_must ip -n "$h" addr add 10.1.1.254/24 dev "$VIF1"
	vr_must ip -n "$h" addr add 10.1.2.254/24 dev "$VIF2"
	vr_must ip -n "$h" neigh replace "$VM1_IP" lladdr "$VM1_MAC" dev "$VIF1" nud permanent
	vr_must ip -n "$h" neigh replace "$VM2_IP" lladdr "$VM2_MAC" dev "$VIF2" nud permanent
	vr_must ip netns exec "$h" ethtool -K "$VIF1" gro on
	vr_must ip netns exec "$h" ethtool -K "$FAB" gro on
}

# Kernel VXLAN: the remote VM's /32 routed into a vxlan device (remote = the remote host), its next hop a
# static neighbour; VXLAN from the fabric decapsulated and routed to vm1.
setup_vx() {
	local h
	h=$(pns vx h)
	kernel_gateways vx
	vr_must ip -n "$h" link add "$VXDEV" type vxlan id "$VNI" local "$HOST_IP" remote "$REMOTE_HOST" dstport 4789 dev "$FAB"
	vr_must ip -n "$h" addr add 10.255.0.1/24 dev "$VXDEV"
	vr_must ip -n "$h" link set "$VXDEV" up
	ip netns exec "$h" sysctl -qw "net.ipv4.conf.$VXDEV.rp_filter=0"
	vr_must ip -n "$h" neigh replace 10.255.0.2 lladdr "$REMOTE_VX_MAC" dev "$VXDEV" nud permanent
	vr_must ip -n "$h" route add "$DST/32" via 10.255.0.2 dev "$VXDEV"
}

# Plain forwarding: the remote VMs' /12 via the underlay router, no encap.
setup_pl() {
	kernel_gateways pl
	vr_must ip -n "$(pns pl h)" route add 10.64.0.0/12 via "$RT_IP"
}

# ------------------------------------------------------------------ the large route table

# Writes the import file: every route of the large table but PICK (already installed), as 'route add' args.
routes_file() {
	awk -v n="$BENCH_ROUTES" -v skip="$PICK" -v base="$ROUTE_BASE" -v rh="$REMOTE_HOST" 'BEGIN {
		for (i = 0; i < n; i++) {
			if (i == skip)
				continue
			a = base + i
			printf "%d.%d.%d.%d/32 vrf 1 via tunnel %s label %d\n", int(a / 16777216) % 256,
				int(a / 65536) % 256, int(a / 256) % 256, a % 256, rh, 1000 + i % 4096
		}
	}' >"$1"
}

ROUTES_METHOD="" ROUTES_INSTALLED=1 ROUTES_SECONDS=0 ROUTES_COUNTED=""
install_routes() {
	local f=$VR_TMP/routes.txt t0 line n=1 deadline
	routes_file "$f"
	t0=$(date +%s%N)
	if "$VRCTL" help 2>&1 | grep -q 'route import'; then
		ROUTES_METHOD="route import"
		if ! vrctl vr-h -j route import "$f" >"$VR_TMP/import.json" 2>"$VR_TMP/import.log"; then
			vr_failed "route import of $((BENCH_ROUTES - 1)) routes"
			_vr_show_output "$VR_TMP/import.log"
			_vr_show_output "$VR_TMP/import.json"
			return 1
		fi
		# The measured route is already in; the file has the others ({"routes", "added", "failed"}).
		ROUTES_INSTALLED=$(($(jq -r '.added // 0' "$VR_TMP/import.json") + 1))
		[ "$(jq -r '.failed // 0' "$VR_TMP/import.json")" = 0 ] ||
			echo "# WARNING route import: $(jq -c . "$VR_TMP/import.json")"
	else
		# Each 'route add' is one process with its own setup: a budget, not a count.
		ROUTES_METHOD="route add loop (fallback: this vrouterctl has no 'route import')"
		deadline=$((SECONDS + FALLBACK_BUDGET_S))
		while read -r line && [ "$n" -lt "$FALLBACK_ROUTES" ] && [ "$SECONDS" -lt "$deadline" ]; do
			# shellcheck disable=SC2086
			vrctl vr-h route add $line >/dev/null 2>>"$VR_TMP/route-add.log" || { vr_failed "route add $line"; return 1; }
			n=$((n + 1))
		done <"$f"
		ROUTES_INSTALLED=$n
	fi
	ROUTES_SECONDS=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	rm -f "$f"
	# What the table holds now (the two vifs' /32s besides the remote VMs).
	ROUTES_COUNTED=$(timeout 60 nsenter --net="/run/netns/$(pns vr h)" "$VRCTL" -d "$(vr_pindir vr-h)" -j route show vrf 1 |
		jq 'length')
	[[ "$ROUTES_COUNTED" =~ ^[0-9]+$ ]] && ROUTES_COUNTED=$((ROUTES_COUNTED - 2))
}

# ------------------------------------------------------------------ measuring

declare -A CELL_NAME=() MED=() MEDC=() DROPS=() WARN=()
CELLS=()

# vrouter drop counters (reason -> count, non-zero ones) as one JSON object.
drops_json() { vrctl vr-h -j stats 2>/dev/null | jq -c '.drops // {} | with_entries(select(.value != 0))'; }

# measure CELL LABEL VARIANT GEN_ROLE TX_DEV RX_ROLE RX_DEV FRAME [FWD]: one cell, VR_BENCH_RUNS runs.
measure() {
	local cell=$1 label=$2 v=$3 gen=$4 txdev=$5 rx=$6 rxdev=$7 frame=$8 fwd=${9:-} out d0 fwdargs=()
	out=$VR_TMP/cell-$cell.jsonl
	[ -z "$BENCH_CELLS" ] || [[ " $BENCH_CELLS " == *" $cell "* ]] || return 0
	CELLS+=("$cell")
	CELL_NAME[$cell]=$label
	[ -n "$fwd" ] && fwdargs=(--fwd "$fwd" --fwd-netns "/run/netns/$(pns "$v" h)")
	[ "$v" = vr ] && d0=$(drops_json)
	vr_debug "$cell: gen in $gen -> $txdev, count on $rx $rxdev, frame $frame ${fwdargs[*]}"
	taskset -c "$BENCH_CPU" nsenter --net="/run/netns/$(pns "$v" "$gen")" "$BENCH_PPS" run --tx-dev "$txdev" \
		--rx-netns "/run/netns/$(pns "$v" "$rx")" --rx-dev "$rxdev" --frame "$frame" "${fwdargs[@]}" \
		--seconds "$BENCH_TIME" --runs "$BENCH_RUNS" --flows "$BENCH_FLOWS" >"$out" 2>"$out.err" 9>&-
	bench_runs "$cell" "$label" "$v" "$out" || return
	vr_pass "$cell: $BENCH_NRUNS runs" >/dev/null
	bench_figures "$cell" "$label" "$v" "$out" "${d0:-}" 10 34
}

# Frame specs. From vm1: to the vif's MAC (the vRouter's in 'vr', the kernel gateway's otherwise).
udp_from_vm1() { echo "kind=udp,smac=$VM1_MAC,dmac=$(mac_of "$1" h "$VIF1"),src=$VM1_IP,dst=$2"; }
mpls_from_rt() {
	echo "kind=mpls,smac=$(mac_of "$1" rt "$RTDEV"),dmac=$(mac_of "$1" h "$FAB"),osrc=$REMOTE_HOST,odst=$HOST_IP,label=$2,src=$DST,dst=$VM1_IP"
}
vxlan_from_rt() {
	echo "kind=vxlan,smac=$(mac_of vx rt "$RTDEV"),dmac=$(mac_of vx h "$FAB"),osrc=$REMOTE_HOST,odst=$HOST_IP,vni=$VNI,ismac=$REMOTE_VX_MAC,idmac=$(mac_of vx h "$VXDEV"),src=$DST,dst=$VM1_IP"
}

# ------------------------------------------------------------------ run

bench_start "bpf-vrouter packet-rate benchmark"

for v in $VARIANTS; do
	topo_up "$v"
done
echo "# topology up in $((SECONDS - START)) s; measured remote VM $DST (route $PICK of $BENCH_ROUTES, label $DST_LABEL) behind $REMOTE_HOST; vm1's label $VM1_LABEL"
echo "# cells: $BENCH_RUNS runs x $BENCH_TIME s each, after a 0.5 s warm-up"

measure encap-1 "encap, bpf-vrouter, 1 route" vr vm1 eth0 rt "$RTDEV" "$(udp_from_vm1 vr "$DST")"
measure encap-a "encap, (a) bare XDP redirect" xd vm1 eth0 rt "$RTDEV" "$(udp_from_vm1 xd "$DST")" "$VIF1:$FAB"
measure encap-b "encap, (b) kernel VXLAN + routing" vx vm1 eth0 rt "$RTDEV" "$(udp_from_vm1 vx "$DST")"
measure encap-c "encap, (c) kernel IPv4 forwarding" pl vm1 eth0 rt "$RTDEV" "$(udp_from_vm1 pl "$DST")"
measure decap "decap, bpf-vrouter" vr rt "$RTDEV" vm1 eth0 "$(mpls_from_rt vr "$VM1_LABEL")"
measure decap-a "decap, (a) bare XDP redirect" xd rt "$RTDEV" vm1 eth0 "$(mpls_from_rt xd "$VM1_LABEL")" "$FAB:$VIF1"
measure decap-b "decap, (b) kernel VXLAN decap" vx rt "$RTDEV" vm1 eth0 "$(vxlan_from_rt)"
measure local "local, bpf-vrouter" vr vm1 eth0 vm2 eth0 "$(udp_from_vm1 vr "$VM2_IP")"
measure local-a "local, (a) bare XDP redirect" xd vm1 eth0 vm2 eth0 "$(udp_from_vm1 xd "$VM2_IP")" "$VIF1:$VIF2"
measure local-c "local, (c) kernel IPv4 forwarding" pl vm1 eth0 vm2 eth0 "$(udp_from_vm1 pl "$VM2_IP")"

if [ "$BENCH_ROUTES" -gt 1 ]; then
	echo "# installing the large table ..."
	if install_routes; then
		echo "# $ROUTES_INSTALLED routes in VRF 1 (method: $ROUTES_METHOD) in $ROUTES_SECONDS s;" \
			"'route show vrf 1' lists ${ROUTES_COUNTED:-?} besides the vifs' /32s"
		if [ "$ROUTES_INSTALLED" -lt "$BENCH_ROUTES" ]; then
			echo "# NOTE: only $ROUTES_INSTALLED of $BENCH_ROUTES routes: the 'large table' cell is NOT a 1M-route figure"
		fi
		measure encap-big "encap, bpf-vrouter, $ROUTES_INSTALLED routes" vr vm1 eth0 rt "$RTDEV" "$(udp_from_vm1 vr "$DST")"
	fi
fi

LOAD_AFTER=$(vr_loadavg)

# ------------------------------------------------------------------ report

ratio() { [ -n "${MED[$1]:-}" ] && [ -n "${MED[$2]:-}" ] && awk -v a="${MED[$1]}" -v b="${MED[$2]}" 'BEGIN { if (b > 0) printf "%.2f", a / b }'; }
ratio_core() { [ -n "${MEDC[$1]:-}" ] && [ -n "${MEDC[$2]:-}" ] && awk -v a="${MEDC[$1]}" -v b="${MEDC[$2]}" 'BEGIN { if (b > 0) printf "%.2f", a / b }'; }
# verdict RATIO TARGET: "ok" / "MISS" / "" (no target)
verdict() { [ -n "$1" ] && [ -n "$2" ] && awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t) ? "ok" : "MISS" }'; }

echo
echo "# packets per second, 60-byte frames (64 on a wire) into the router (decap: 92 MPLS-in-UDP, 110 VXLAN), one core"
echo "# (CPU $BENCH_CPU: generator + router + counter); median of $BENCH_RUNS runs x $BENCH_TIME s"
printf '%-40s %6s  %-11s %8s %7s %6s %5s %6s %6s\n' "path, variant" "Mpps" "min-max" "per core" "gen cpu" "sirqd" \
	"core" "other" "rx len"
for c in "${CELLS[@]}"; do
	if [ -z "${MED[$c]:-}" ]; then
		printf '%-40s %6s\n' "${CELL_NAME[$c]}" FAILED
		continue
	fi
	mm=$(jq -rs 'map(.mpps) | "\(min * 100 | round / 100)-\(max * 100 | round / 100)"' "$VR_TMP/cell-$c.jsonl")
	printf '%-40s %6s  %-11s %8s %6s%% %5s%% %4s%% %5s%% %6s\n' "${CELL_NAME[$c]}" "$(fmt "${MED[$c]}")" "$mm" \
		"$(fmt "${MEDC[$c]}")" \
		"$(fmt "$(cell_stat "$c" gen_cpu_pct)" 0)" "$(fmt "$(cell_stat "$c" ksoftirqd_cpu_pct)" 0)" \
		"$(fmt "$(cell_stat "$c" gen_core_busy_pct)" 0)" "$(fmt "$(cell_stat "$c" other_cpu_pct)" 0)" \
		"$(fmt "$(cell_stat "$c" rx_frame_len)" 0)"
done

# Ratios: each of our cells against its baselines (a), (b), (c), with the brief's targets where there are some.
declare -A RATIO=() RATIO_CORE=() TARGET=()
TARGET[encap-1,a]=0.9 TARGET[encap-1,b]=6 TARGET[encap-1,c]=3
TARGET[encap-big,a]=0.85 TARGET[encap-big,b]=6 TARGET[encap-big,c]=3
declare -A BASE=([encap-1,a]=encap-a [encap-1,b]=encap-b [encap-1,c]=encap-c
	[encap-big,a]=encap-a [encap-big,b]=encap-b [encap-big,c]=encap-c
	[decap,a]=decap-a [decap,b]=decap-b [local,a]=local-a [local,c]=local-c)
for c in encap-1 encap-big decap local; do
	for b in a b c; do
		[ -n "${BASE[$c,$b]:-}" ] || continue
		RATIO[$c,$b]=$(ratio "$c" "${BASE[$c,$b]}")
		RATIO_CORE[$c,$b]=$(ratio_core "$c" "${BASE[$c,$b]}")
	done
done

# ratio_table TITLE ARRAY-NAME: one row per ours-cell, the ratio to (a), (b), (c) with its target and verdict.
ratio_table() {
	local -n r=$2
	local c b cellv row rowname
	printf '%-40s %-18s %-18s %-18s\n' "$1" "ours/(a)" "ours/(b)" "ours/(c)"
	for c in encap-1 encap-big decap local; do
		[ -n "${CELL_NAME[$c]:-}" ] || continue
		row=""
		for b in a b c; do
			cellv=""
			if [ -n "${BASE[$c,$b]:-}" ]; then
				cellv=${r[$c,$b]:-n/a}
				if [ -n "${TARGET[$c,$b]:-}" ] && [ -n "${r[$c,$b]}" ]; then
					cellv+=" (>=${TARGET[$c,$b]} $(verdict "${r[$c,$b]}" "${TARGET[$c,$b]}"))"
				elif [ -n "${TARGET[$c,$b]:-}" ]; then
					cellv+=" (>=${TARGET[$c,$b]})"
				fi
			fi
			row+=$(printf '%-18s ' "${cellv:--}")
		done
		rowname=$c
		case $c in encap-1) rowname="encap, 1 route" ;; encap-big) rowname="encap, $ROUTES_INSTALLED routes" ;; esac
		printf '%-40s %s\n' "$rowname" "$row"
	done
}
echo
ratio_table "ratios of Mpps (target)" RATIO
echo
ratio_table "ratios of per-core Mpps (target)" RATIO_CORE

echo
echo "# 'per core' Mpps per CPU-second of the generator process and ksoftirqd/$BENCH_CPU together (all the work runs in"
echo "# one of the two): the rate if nothing else had run on our core. 'gen cpu' the generator process's utime+stime /"
echo "# wall (includes the softirq work run in its context: veth polls, router, counter); 'sirqd' ksoftirqd/$BENCH_CPU's"
echo "# share (softirq work deferred to it); 'core' CPU $BENCH_CPU busy, 'other' the other CPU(s) busy (/proc/stat);"
echo "# core - gen - sirqd = other tasks on our core. A high 'other' means another session was running: compare such"
echo "# figures with care. 'rx len' the mean frame length at the counter (92 = MPLS-in-UDP, 110 = VXLAN, 60 = plain)"
bench_warnings_and_load

mkdir -p "$BENCH_OUT"
results=$(for c in "${CELLS[@]}"; do
	f=$VR_TMP/cell-$c.jsonl
	[ -s "$f" ] || : >"$f"
	jq -sc --arg c "$c" --arg name "${CELL_NAME[$c]}" --arg med "${MED[$c]:-}" --arg drops "${DROPS[$c]:-}" \
		--arg warn "${WARN[$c]:-}" '
		def num: if . == "" then null else tonumber end;
		def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		{cell: $c, name: $name, path: ($c | split("-")[0]),
		 mpps: ($med | num), mpps_min: (map(.mpps) | min), mpps_max: (map(.mpps) | max),
		 mpps_per_cpu: (map(.mpps_per_cpu) | med),
		 sent_mpps: (map(.sent_mpps) | med), gen_cpu_pct: (map(.gen_cpu_pct) | med),
		 ksoftirqd_cpu_pct: (map(.ksoftirqd_cpu_pct) | med),
		 gen_core_busy_pct: (map(.gen_core_busy_pct) | med), other_cpu_pct: (map(.other_cpu_pct) | med),
		 kernel_ns_per_frame: (map(.kernel_ns_per_frame) | med), frame_len: (.[0].frame_len // null),
		 rx_frame_len: (map(.rx_frame_len) | med),
		 vrouter_drops: (if $drops == "" then null else ($drops | fromjson) end),
		 warning: (if $warn == "" then null else $warn end), runs: .}' "$f"
done | jq -s .)
ratios=$(for k in "${!RATIO[@]}"; do
	jq -nc --arg k "$k" --arg r "${RATIO[$k]}" --arg rc "${RATIO_CORE[$k]:-}" --arg t "${TARGET[$k]:-}" \
		'def num: if . == "" then null else tonumber end;
		 {key: ($k | sub(","; "/")), value: {ratio: ($r | num), ratio_per_cpu: ($rc | num), target: ($t | num)}}'
done | jq -sc 'from_entries')
jq -n --arg id "$VR_ID" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg kernel "$(uname -r)" \
	--argjson cpus "$(nproc)" --argjson cpu "$BENCH_CPU" --argjson t "$BENCH_TIME" --argjson n "$BENCH_RUNS" \
	--argjson flows "$BENCH_FLOWS" --arg dst "$DST" --argjson want "$BENCH_ROUTES" \
	--argjson routes "$ROUTES_INSTALLED" --arg method "$ROUTES_METHOD" --arg rsecs "$ROUTES_SECONDS" \
	--arg counted "$ROUTES_COUNTED" \
	--arg lb "$LOAD_BEFORE" --arg la "$LOAD_AFTER" --argjson bb "$BUSY_BEFORE" \
	--argjson results "$results" --argjson ratios "$ratios" --argjson secs "$((SECONDS - START))" '
	{benchmark: "pps", run_id: $id, date: $date, kernel: $kernel, cpus: $cpus, generator_cpu: $cpu,
	 runtime_s: $secs, seconds_per_run: $t, runs: $n, flows: $flows,
	 frame_len: {vm: 60, mpls_in_udp: 92, vxlan: 110},
	 routes: {wanted: $want, installed: $routes, listed: (if $counted == "" then null else ($counted | tonumber) end),
		  method: $method, install_s: ($rsecs | tonumber),
		  measured_destination: $dst},
	 load: {loadavg_before: $lb, loadavg_after: $la, idle_window_busy_pct_before: $bb},
	 results: $results, ratios: $ratios}' >"$BENCH_OUT/pps.json.tmp" && mv "$BENCH_OUT/pps.json.tmp" "$BENCH_OUT/pps.json"
echo "# results in $BENCH_OUT/pps.json"
vr_summary
