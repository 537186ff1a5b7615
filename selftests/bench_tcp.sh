#!/bin/bash
# TCP throughput benchmark: VM1 -> VM2 across two hosts through bpf-vrouter, measured in the same run beside
# the same topology through the kernel's own VXLAN device and through plain kernel routing without encap, in
# two underlay modes: veth defaults (segmentation offloads on: GSO super-packets cross the underlay whole) and
# "like a wire" (TSO and GSO off, GRO on, on every underlay veth end: MSS-sized segments really cross it).
#
#   VM1 10.1.1.1 -- veth -- host h1 -- fabric 198.18.1.2 -- router rt -- 198.18.2.2 fabric -- host h2 -- veth -- VM2 10.1.2.1
#
# Variants (each its own namespaces, built side by side, measured interleaved):
#   vrouter  bpf-vrouter on both hosts, MPLS-in-UDP; both VMs' vifs in VR_BENCH_MODE (see below)
#   vxlan    a vxlan device per host (VNI 42, remote = other host, dstport 4789), remote VM's /32 routed into it
#   plain    the hosts and the router route the VM subnets to each other, no encap
# MTUs: the underlay keeps the veth default of 1500 everywhere; each VM gets the largest MTU its variant
# carries over it without fragmentation: plain 1500, vxlan 1450 (50 bytes of outer headers), vrouter 1468
# (32 bytes of MPLS-in-UDP). So every variant runs as it would on a standard 1500-byte underlay and pays its
# own tunnel overhead in payload per segment.
#
# iperf3 server in VM2, client in VM1: VR_BENCH_RUNS runs (3) of VR_BENCH_TIME s (5) after VR_BENCH_OMIT s (1)
# of omitted warm-up; the median is reported with retransmits, the machine's load and CPU use. Results go to
# $VR_BUILD/bench/tcp.json (VR_BENCH_OUT to change the folder).
#
# VR_BENCH_MODE: the vif mode of the bpf-vrouter variant.
#   auto (default)  tc if vrouterctl offers 'vif add ... mode', else the CLI's default (XDP in builds before
#                   the TC path)
#   tc | xdp        pass 'mode tc' / 'mode xdp' to 'vif add'
#   default         pass no mode (the CLI's default)
# In XDP mode the VMs need what PITFALLS.md says: TX checksum offload off (XDP loses CHECKSUM_PARTIAL) and GRO
# on their veth end, and the router's underlay ends need GRO (NAPI) to receive XDP redirects; the script sets
# exactly that and prints it. In TC mode the VM ends stay at their defaults (TSO and checksum offload on).
#
# Run as root after make: bash selftests/bench_tcp.sh (or make bench). Exit 0 when every cell was measured.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_TIME=${VR_BENCH_TIME:-5}
BENCH_OMIT=${VR_BENCH_OMIT:-1}
BENCH_RUNS=${VR_BENCH_RUNS:-3}
BENCH_MODE=${VR_BENCH_MODE:-auto}
BENCH_OUT=${VR_BENCH_OUT:-$VR_BUILD/bench}
BENCH_PORT=5201

VARIANTS=${VR_BENCH_VARIANTS:-vrouter vxlan plain}   # a subset to measure fewer
MODES="defaults wire"
declare -A TAG=([vrouter]=vr [vxlan]=vx [plain]=pl)      # namespace prefix: vr<ID>-<tag>-h1 ...
declare -A VM_MTU=([vrouter]=1468 [vxlan]=1450 [plain]=1500)
declare -A MODE_NAME=([defaults]="veth defaults" [wire]="like a wire")
UNDERLAY_MTU=1500
VXLAN_VNI=42
VM1_IP=10.1.1.1
VM2_IP=10.1.2.1
declare -A VM_IP=([1]=$VM1_IP [2]=$VM2_IP)

declare -A LABEL=() NAME=() VM_SETUP=() OK=() SERVER_PID=() RESULT=() RETR=()
VR_MODE_USED=""

for v in $VARIANTS; do
	case $v in vrouter | vxlan | plain) ;; *) echo "VR_BENCH_VARIANTS: unknown variant '$v'" >&2; exit 2 ;; esac
done
case $BENCH_MODE in
auto | tc | xdp | default) ;;
*) echo "VR_BENCH_MODE must be auto, tc, xdp or default (got '$BENCH_MODE')" >&2; exit 2 ;;
esac
vr_require_root
vr_require_cmds ip nsenter ethtool ping jq iperf3 timeout ss
vr_require_build "$VRCTL"
vr_require_bpffs
vr_tmp_init bench-tcp
vr_trap_cleanup

# ------------------------------------------------------------------ names and helpers

bns() { vr_ns "${TAG[$1]}-$2"; }                 # bns VARIANT ROLE: namespace name
bx() {                                            # bx VARIANT ROLE CMD...: run CMD in that namespace
	local ns
	ns=$(bns "$1" "$2")
	shift 2
	ip netns exec "$ns" "$@"
}
FAB=$(vr_fabric_dev)                              # each host's underlay NIC
VIF="vr${VR_ID}v"                                 # each host's end of its VM's veth
VXDEV="vr${VR_ID}x"                               # each host's vxlan device
vm_mac() { printf '02:00:00:00:%02x:01' "$1"; }

# The underlay ends whose offloads the "like a wire" mode changes, as ROLE:DEV.
UNDERLAY_ENDS=("h1:$FAB" "h2:$FAB" "rt:$(vr_rt_dev h1)" "rt:$(vr_rt_dev h2)")

# tso/gso/gro of one device as "tso/gso/gro", e.g. "on/on/off".
offloads() {
	bx "$1" "$2" ethtool -k "$3" 2>/dev/null | awk -F': ' '
		/^tcp-segmentation-offload:/ { t = $2 } /^generic-segmentation-offload:/ { g = $2 }
		/^generic-receive-offload:/ { r = $2 }
		END { sub(/ .*/, "", t); sub(/ .*/, "", g); sub(/ .*/, "", r); print t "/" g "/" r }'
}

# The underlay's offload state of one variant: "h1:DEV tso/gso/gro ..." over the four ends.
underlay_state() {
	local v=$1 end out=""
	for end in "${UNDERLAY_ENDS[@]}"; do
		out+="${end%%:*}:${end#*:vr"$VR_ID"} $(offloads "$v" "${end%%:*}" "${end#*:}")  "
	done
	echo "${out%  }"
}

# ------------------------------------------------------------------ topology (one per variant)

# Hosts h1, h2 and router rt; each host's fabric veth to the router in its own /24 of 198.18.0.0/15.
bench_underlay() {
	local v=$1 t=${TAG[$1]} h hns rt rtdev
	vr_netns_add "$t-rt"
	rt=$(bns "$v" rt)
	ip netns exec "$rt" sysctl -qw net.ipv4.ip_forward=1
	for h in h1 h2; do
		vr_netns_add "$t-$h"
		hns=$(bns "$v" "$h")
		rtdev=$(vr_rt_dev "$h")
		ip netns exec "$hns" sysctl -qw net.ipv4.ip_forward=1
		vr_must ip link add "$FAB" netns "$hns" mtu "$UNDERLAY_MTU" type veth peer name "$rtdev" netns "$rt" mtu "$UNDERLAY_MTU"
		vr_must ip -n "$hns" addr add "${VR_HOST_IP[$h]}/24" dev "$FAB"
		vr_must ip -n "$hns" link set "$FAB" up
		vr_must ip -n "$rt" addr add "${VR_RT_IP[$h]}/24" dev "$rtdev"
		vr_must ip -n "$rt" link set "$rtdev" up
		vr_must ip -n "$hns" route add 198.18.0.0/15 via "${VR_RT_IP[$h]}"
	done
}

# VM n of variant v: namespace with eth0, 10.1.n.1/24, default route via 10.1.n.254 (the host, or the
# gateway address the vRouter answers ARP for); both veth ends at the variant's VM MTU.
bench_vm() {
	local v=$1 n=$2 t=${TAG[$1]} vns hns
	vr_netns_add "$t-vm$n"
	vns=$(bns "$v" "vm$n")
	hns=$(bns "$v" "h$n")
	vr_must ip link add "$VIF" netns "$hns" mtu "${VM_MTU[$v]}" type veth peer name eth0 netns "$vns" mtu "${VM_MTU[$v]}"
	vr_must ip -n "$vns" link set eth0 address "$(vm_mac "$n")" up
	vr_must ip -n "$vns" addr add "${VM_IP[$n]}/24" dev eth0
	vr_must ip -n "$vns" route add default via "10.1.$n.254"
	ip netns exec "$hns" sysctl -qw "net.ipv6.conf.$VIF.disable_ipv6=1" 2>/dev/null
	vr_must ip -n "$hns" link set "$VIF" up
}

# Plain routing: the hosts own their VM subnet's gateway and route the rest of 10.1.0.0/16 to the router,
# which knows which host has which subnet.
setup_plain() {
	local v=plain n rt
	rt=$(bns "$v" rt)
	for n in 1 2; do
		vr_must ip -n "$(bns "$v" "h$n")" addr add "10.1.$n.254/24" dev "$VIF"
		vr_must ip -n "$(bns "$v" "h$n")" route add 10.1.0.0/16 via "${VR_RT_IP[h$n]}"
		vr_must ip -n "$rt" route add "10.1.$n.0/24" via "${VR_HOST_IP[h$n]}"
	done
	NAME[$v]="kernel routing"
	VM_SETUP[$v]="VM ends at defaults"
}

# Kernel VXLAN: one vxlan device per host (VNI 42, remote = the other host, dstport 4789) with an address in
# a transit /24; the remote VM's /32 is routed into it. The router knows only the underlay.
setup_vxlan() {
	local v=vxlan n o hns
	for n in 1 2; do
		o=$((3 - n))
		hns=$(bns "$v" "h$n")
		vr_must ip -n "$hns" addr add "10.1.$n.254/24" dev "$VIF"
		vr_must ip -n "$hns" link add "$VXDEV" type vxlan id "$VXLAN_VNI" local "${VR_HOST_IP[h$n]}" \
			remote "${VR_HOST_IP[h$o]}" dstport 4789 dev "$FAB"
		vr_must ip -n "$hns" addr add "10.255.0.$n/24" dev "$VXDEV"
		vr_must ip -n "$hns" link set "$VXDEV" up
		vr_must ip -n "$hns" route add "${VM_IP[$o]}/32" via "10.255.0.$o" dev "$VXDEV"
	done
	NAME[$v]="kernel VXLAN"
	VM_SETUP[$v]="VM ends at defaults; vxlan device $(ip -n "$(bns "$v" h1)" -d -j link show "$VXDEV" |
		jq -r '.[0] | "mtu \(.mtu), \(if .linkinfo.info_data.udp_csum then "udpcsum" else "noudpcsum" end)"')"
}

# Which vif mode to ask for: prints the words to add to 'vif add' (nothing for the CLI's default).
vif_mode_args() {
	case $BENCH_MODE in
	auto) "$VRCTL" help 2>&1 | grep -q 'vif add.*mode' && echo "mode tc" ;;
	tc | xdp) echo "mode $BENCH_MODE" ;;
	esac
	return 0
}

# bpf-vrouter on both hosts: VRF 1, one vif per VM, local /32 via the vif, remote /32 via a tunnel with the
# label the other host allocated.
setup_vrouter() {
	local v=vrouter t=vr n o hns label mode_args mode_json
	mode_args=$(vif_mode_args)
	for n in 1 2; do
		vr_register_pindir "$(bns "$v" "h$n")" "$(vr_pindir "$t-h$n")"
		vr_must vrctl "$t-h$n" load fabric "$FAB" host-ip "${VR_HOST_IP[h$n]}" udp-port "$VR_UDP_PORT" \
			${VR_FABRIC_MODE:+fabric-mode "$VR_FABRIC_MODE"}
		vr_must vrctl "$t-h$n" vrf add 1
		# shellcheck disable=SC2086
		vr_must vrctl "$t-h$n" vif add "$VIF" vrf 1 mac "$(vm_mac "$n")" ip "${VM_IP[$n]}" gw "10.1.$n.254" \
			mtu "${VM_MTU[$v]}" $mode_args
		label=$(vrctl "$t-h$n" -j vif list | jq -r --arg n "$VIF" '.[] | select(.name == $n) | .label')
		[[ "$label" =~ ^[0-9]+$ ]] || vr_die "no MPLS label for VM$n in 'vif list -j' (got '$label')"
		LABEL[$n]=$label
		mode_json=$(vrctl "$t-h$n" -j vif list | jq -r --arg n "$VIF" '.[] | select(.name == $n) | .mode // empty')
	done
	for n in 1 2; do
		o=$((3 - n))
		vr_must vrctl "$t-h$n" route add "${VM_IP[$n]}/32" vrf 1 via vif "$VIF"
		vr_must vrctl "$t-h$n" route add "${VM_IP[$o]}/32" vrf 1 via tunnel "${VR_HOST_IP[h$o]}" label "${LABEL[$o]}"
	done
	# The mode in force: what 'vif list' reports, else what was asked, else this build's only one (XDP).
	VR_MODE_USED=${mode_json:-${mode_args#mode }}
	VR_MODE_USED=${VR_MODE_USED:-xdp}
	if [ "$VR_MODE_USED" = xdp ]; then
		for n in 1 2; do
			vr_must bx "$v" "vm$n" ethtool -K eth0 tx off gro on
		done
		for n in 1 2; do
			vr_must bx "$v" rt ethtool -K "$(vr_rt_dev "h$n")" gro on
		done
		VM_SETUP[$v]="XDP needs: VM ends tx-checksum off + GRO on, router's underlay ends GRO on"
	else
		VM_SETUP[$v]="VM ends at defaults"
	fi
	for n in 1 2; do
		vr_bg "monitor-h$n" "$t-h$n" "$VRCTL" -d "$(vr_pindir "$t-h$n")" monitor
		sleep 0.1
		kill -0 "$VR_BG_PID" 2>/dev/null || { cat "$VR_TMP/monitor-h$n.log" >&2; vr_die "vrouterctl monitor on h$n exited"; }
	done
	NAME[$v]="bpf-vrouter ($VR_MODE_USED)"
}

# iperf3 server in VM2, listening on its address; (re)started when a run went wrong.
start_server() {
	local v=$1 ns
	ns=$(bns "$v" vm2)
	if [ -n "${SERVER_PID[$v]:-}" ]; then
		kill "${SERVER_PID[$v]}" 2>/dev/null
		wait "${SERVER_PID[$v]}" 2>/dev/null
	fi
	ip netns exec "$ns" iperf3 -s -B "$VM2_IP" -p "$BENCH_PORT" >>"$VR_TMP/iperf3-server-$v.log" 2>&1 9>&- &
	SERVER_PID[$v]=$!
	vr_register_pid "${SERVER_PID[$v]}"
	vr_wait_until 5 bash -c "ip netns exec '$ns' ss -Htln 'sport = :$BENCH_PORT' | grep -q LISTEN"
}

bench_variant_up() {
	local v=$1
	bench_underlay "$v"
	bench_vm "$v" 1
	bench_vm "$v" 2
	"setup_$v"
	if ! vr_wait_until 10 bx "$v" vm1 ping -n -q -c 1 -W 1 "$VM2_IP"; then
		vr_failed "$v: VM1 cannot ping VM2 ($VM2_IP) within 10 s; not measured"
		return
	fi
	if ! start_server "$v"; then
		vr_failed "$v: iperf3 server in VM2 did not start"
		_vr_show_output "$VR_TMP/iperf3-server-$v.log"
		return
	fi
	OK[$v]=1
}

# ------------------------------------------------------------------ measuring

# vrouter drop counters as one JSON object (reason -> count) summed over both hosts.
vr_drops_json() {
	{ vrctl vr-h1 -j stats; vrctl vr-h2 -j stats; } 2>/dev/null |
		jq -cs '[.[].drops // {} | to_entries[]] | group_by(.key) | map({key: .[0].key, value: (map(.value) | add)}) | from_entries'
}

# One iperf3 run: appends a JSON line to $VR_TMP/runs.jsonl; prints "Gbit/s retransmits" or fails.
bench_run() {
	local v=$1 mode=$2 run=$3 out=$VR_TMP/iperf-$1-$2-$3.json c0 c1 p0 p1 w0 w1 busy cpuwait line
	c0=$(vr_cpu_ticks) p0=$(vr_cpu_pressure_us) w0=$(date +%s%N)
	timeout $((BENCH_TIME + BENCH_OMIT + 20)) ip netns exec "$(bns "$v" vm1)" iperf3 -c "$VM2_IP" -p "$BENCH_PORT" \
		-t "$BENCH_TIME" -O "$BENCH_OMIT" --connect-timeout 3000 -J >"$out" 2>"$out.err" 9>&-
	c1=$(vr_cpu_ticks) p1=$(vr_cpu_pressure_us) w1=$(date +%s%N)
	busy=$(vr_cpu_busy_pct "$c0" "$c1")
	cpuwait=null
	[ -n "$p0" ] && [ -n "$p1" ] && cpuwait=$(((p1 - p0) * 100 / ((w1 - w0) / 1000)))
	# Complete: no error, received for (nearly) the whole time, and the receiver got what the sender wrote
	# except what was still in flight (a stalled connection has megabytes written and kilobytes received).
	line=$(jq -c --arg v "$v" --arg m "$mode" --argjson r "$run" --argjson t "$BENCH_TIME" --argjson busy "$busy" --argjson wait "$cpuwait" '
		{variant: $v, mode: $m, run: $r,
		 gbps: ((.end.sum_received.bits_per_second // 0) / 1e9),
		 retransmits: (.end.sum_sent.retransmits // null),
		 sent_bytes: (.end.sum_sent.bytes // 0), received_bytes: (.end.sum_received.bytes // 0),
		 seconds: (.end.sum_received.seconds // 0),
		 cpu_sender_pct: (.end.cpu_utilization_percent.host_total // null),
		 cpu_receiver_pct: (.end.cpu_utilization_percent.remote_total // null),
		 machine_busy_pct: $busy, cpu_wait_pct: $wait,
		 error: (.error // null)}
		| .complete = (.error == null and .seconds >= 0.9 * $t and .received_bytes > 0
			and .received_bytes >= 0.9 * .sent_bytes)' "$out" 2>/dev/null)
	if [ -z "$line" ]; then
		line=$(jq -nc --arg v "$v" --arg m "$mode" --argjson r "$run" --arg e "$(head -c 300 "$out.err" "$out")" \
			'{variant: $v, mode: $m, run: $r, complete: false, error: ("no iperf3 JSON: " + $e)}')
	fi
	printf '%s\n' "$line" >>"$VR_TMP/runs.jsonl"
	if [ "$(jq -r .complete <<<"$line")" != true ]; then
		echo "# $v, ${MODE_NAME[$mode]}, run $run: incomplete: $(jq -r '.error // "short or lossy transfer"' <<<"$line")" >&2
		start_server "$v" >/dev/null 2>&1
		return 1
	fi
	jq -r '"\(.gbps) \(.retransmits)"' <<<"$line"
}

# Switch every variant's underlay to MODE ("defaults" is how the topology starts; nothing to do).
set_underlay_mode() {
	local mode=$1 v end
	[ "$mode" = wire ] || return 0
	for v in $VARIANTS; do
		[ -n "${OK[$v]:-}" ] || continue
		for end in "${UNDERLAY_ENDS[@]}"; do
			vr_must bx "$v" "${end%%:*}" ethtool -K "${end#*:}" tso off gso off gro on
		done
	done
}

fmt() { LC_ALL=C printf '%.2f' "$1"; }

# run_median MODE VARIANT FIELD: the median of one field over the complete runs of a cell, as an integer.
run_median() {
	jq -rs --arg m "$1" --arg v "$2" --arg f "$3" '[.[] | select(.variant == $v and .mode == $m and .complete)
		| .[$f] | numbers] | sort | if length == 0 then "-" else .[length / 2 | floor] | floor end' "$VR_TMP/runs.jsonl"
}

# ------------------------------------------------------------------ run

START=$SECONDS
LOAD_BEFORE=$(vr_loadavg)
BUSY_BEFORE=$(vr_cpu_busy_over 1)
echo "# bpf-vrouter TCP benchmark, run $VR_ID, $(nproc) CPUs, kernel $(uname -r), iperf3 $(iperf3 -v | awk 'NR == 1 { print $2 }')"
echo "# machine before: loadavg $LOAD_BEFORE, CPUs ${BUSY_BEFORE}% busy over 1 s (other sessions)"

for v in $VARIANTS; do
	bench_variant_up "$v"
done
if [ -n "${OK[vrouter]:-}" ]; then
	echo "# bpf-vrouter vifs in mode $VR_MODE_USED (VR_BENCH_MODE=$BENCH_MODE)$(
		[ "$BENCH_MODE" = auto ] && [ "$VR_MODE_USED" != tc ] && echo "; this vrouterctl has no 'vif add ... mode tc'")"
fi
echo "# topology up in $((SECONDS - START)) s; underlay MTU $UNDERLAY_MTU; VM MTU: vrouter ${VM_MTU[vrouter]}," \
	"vxlan ${VM_MTU[vxlan]}, plain ${VM_MTU[plain]} (each the most its variant carries over $UNDERLAY_MTU)"
for v in $VARIANTS; do
	echo "#   $v: ${VM_SETUP[$v]:-}"
done

: >"$VR_TMP/runs.jsonl"
declare -A STATE=() DROPS=() IDLE=()
for mode in $MODES; do
	set_underlay_mode "$mode"
	IDLE[$mode]=$(vr_cpu_busy_over 1)
	for v in $VARIANTS; do
		[ -n "${OK[$v]:-}" ] || continue
		STATE[$mode,$v]=$(underlay_state "$v")
		vm_tso=$(offloads "$v" vm1 eth0)
		STATE[$mode,$v]+="  vm1:eth0 $vm_tso"
	done
	[ -n "${OK[vrouter]:-}" ] && d0=$(vr_drops_json)
	read -r -a order <<<"$VARIANTS"
	for ((run = 1; run <= BENCH_RUNS; run++)); do
		# Interleaved, and each run starts with another variant: slow drifts of the machine hit all alike.
		for ((i = 0; i < ${#order[@]}; i++)); do
			v=${order[(i + run - 1) % ${#order[@]}]}
			[ -n "${OK[$v]:-}" ] || continue
			if r=$(bench_run "$v" "$mode" "$run"); then
				RESULT[$mode,$v]+="${r% *} "
				RETR[$mode,$v]+="${r#* } "
			fi
		done
	done
	if [ -n "${OK[vrouter]:-}" ]; then
		DROPS[$mode]=$(jq -cn --argjson a "$d0" --argjson b "$(vr_drops_json)" \
			'$b | with_entries(.value -= ($a[.key] // 0)) | with_entries(select(.value != 0))')
	fi
done

LOAD_AFTER=$(vr_loadavg)
BUSY_AFTER=$(vr_cpu_busy_over 1)

# ------------------------------------------------------------------ report

echo
echo "# TCP VM1 -> VM2 across hosts: iperf3, $BENCH_RUNS runs x $BENCH_TIME s (+$BENCH_OMIT s omitted) per cell, interleaved; median"
printf '%-14s %-19s %7s  %-19s %8s %7s %5s %5s\n' "underlay" "variant" "Gbit/s" "runs (min-max)" "retr/run" "cpu snd" "busy" "wait"
declare -A MED=() MEDRETR=()
for mode in $MODES; do
	for v in $VARIANTS; do
		[ -n "${OK[$v]:-}" ] || continue
		read -r -a vals <<<"${RESULT[$mode,$v]:-}"
		if [ ${#vals[@]} -eq 0 ]; then
			printf '%-14s %-19s %7s\n' "${MODE_NAME[$mode]}" "${NAME[$v]}" "FAILED"
			vr_failed "$v, ${MODE_NAME[$mode]}: no complete run"
			continue
		fi
		MED[$mode,$v]=$(vr_median "${vals[@]}")
		# shellcheck disable=SC2086
		retr=$(LC_ALL=C printf '%.0f' "$(vr_median ${RETR[$mode,$v]})")
		MEDRETR[$mode,$v]=$retr
		minmax="$(fmt "$(printf '%s\n' "${vals[@]}" | sort -g | head -n1)")-$(fmt "$(printf '%s\n' "${vals[@]}" | sort -g | tail -n1)")"
		printf '%-14s %-19s %7s  %-19s %8s %6s%% %4s%% %4s%%\n' "${MODE_NAME[$mode]}" "${NAME[$v]}" "$(fmt "${MED[$mode,$v]}")" \
			"${#vals[@]}/$BENCH_RUNS ($minmax)" "$retr" "$(run_median "$mode" "$v" cpu_sender_pct)" \
			"$(run_median "$mode" "$v" machine_busy_pct)" "$(run_median "$mode" "$v" cpu_wait_pct)"
		if [ ${#vals[@]} -eq "$BENCH_RUNS" ]; then
			vr_pass "$v, ${MODE_NAME[$mode]}: $BENCH_RUNS complete runs" >/dev/null
		else
			vr_failed "$v, ${MODE_NAME[$mode]}: only ${#vals[@]} of $BENCH_RUNS runs complete" >/dev/null
		fi
	done
done

ratio() { [ -n "${MED[$1,$2]:-}" ] && [ -n "${MED[$1,$3]:-}" ] && awk -v a="${MED[$1,$2]}" -v b="${MED[$1,$3]}" 'BEGIN { if (b > 0) printf "%.2f", a / b }'; }
echo
declare -A RATIO=()
for mode in $MODES; do
	RATIO[$mode,vxlan]=$(ratio "$mode" vrouter vxlan)
	RATIO[$mode,plain]=$(ratio "$mode" vrouter plain)
	printf 'ratios, %-14s ours/VXLAN %-5s ours/plain %s\n' "${MODE_NAME[$mode]}:" "${RATIO[$mode,vxlan]:-n/a}" "${RATIO[$mode,plain]:-n/a}"
done
echo
for mode in $MODES; do
	for v in $VARIANTS; do
		[ -n "${STATE[$mode,$v]:-}" ] && echo "# offloads tso/gso/gro, ${MODE_NAME[$mode]}, $v: ${STATE[$mode,$v]}"
	done
	echo "# ${MODE_NAME[$mode]}: CPUs ${IDLE[$mode]}% busy over 1 s just before its runs (other sessions)"
	[ -n "${DROPS[$mode]:-}" ] && echo "# bpf-vrouter drop counters moved during ${MODE_NAME[$mode]} (both hosts): ${DROPS[$mode]}"
done
echo "# machine after: loadavg $LOAD_AFTER, CPUs ${BUSY_AFTER}% busy over 1 s"
echo "# per cell, medians over its runs: 'cpu snd' iperf3's sender CPU share, 'busy' both CPUs busy during a run," \
	"'wait' the run's time some task waited for a CPU (PSI; high when other sessions compete)"

mkdir -p "$BENCH_OUT"
results=$(for mode in $MODES; do for v in $VARIANTS; do
	jq -nc --arg m "$mode" --arg v "$v" --arg name "${NAME[$v]:-$v}" --arg med "${MED[$mode,$v]:-}" \
		--argjson mtu "${VM_MTU[$v]}" --arg state "${STATE[$mode,$v]:-}" --arg idle "${IDLE[$mode]:-}" \
		--arg setup "${VM_SETUP[$v]:-}" --arg retr "${MEDRETR[$mode,$v]:-}" --slurpfile runs "$VR_TMP/runs.jsonl" \
		'def num: if . == "" then null else tonumber end;
		 [$runs[] | select(.mode == $m and .variant == $v and .complete) | .gbps] as $g
		 | {mode: $m, variant: $v, name: $name, vm_mtu: $mtu, setup: $setup, offloads_tso_gso_gro: $state,
		  idle_window_busy_pct_before_mode: ($idle | num), runs_complete: ($g | length),
		  median_gbps: ($med | num), min_gbps: ($g | min), max_gbps: ($g | max),
		  median_retransmits: ($retr | num)}'
done; done | jq -s .)
jq -n --arg id "$VR_ID" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg kernel "$(uname -r)" \
	--argjson cpus "$(nproc)" --arg vrmode "$VR_MODE_USED" --arg asked "$BENCH_MODE" \
	--argjson t "$BENCH_TIME" --argjson o "$BENCH_OMIT" --argjson n "$BENCH_RUNS" --argjson umtu "$UNDERLAY_MTU" \
	--arg lb "$LOAD_BEFORE" --arg la "$LOAD_AFTER" --argjson bb "$BUSY_BEFORE" --argjson ba "$BUSY_AFTER" \
	--argjson results "$results" --slurpfile runs "$VR_TMP/runs.jsonl" \
	--arg rdv "${RATIO[defaults,vxlan]:-}" --arg rdp "${RATIO[defaults,plain]:-}" \
	--arg rwv "${RATIO[wire,vxlan]:-}" --arg rwp "${RATIO[wire,plain]:-}" \
	--arg dd "${DROPS[defaults]:-}" --arg dw "${DROPS[wire]:-}" --argjson secs "$((SECONDS - START))" '
	def num: if . == "" then null else tonumber end;
	{benchmark: "tcp", run_id: $id, date: $date, kernel: $kernel, cpus: $cpus, runtime_s: $secs,
	 vrouter_mode: $vrmode, vrouter_mode_asked: $asked,
	 iperf3: {seconds: $t, omit: $o, runs: $n}, underlay_mtu: $umtu,
	 load: {loadavg_before: $lb, loadavg_after: $la, idle_window_busy_pct_before: $bb, idle_window_busy_pct_after: $ba},
	 results: $results,
	 ratios: {defaults: {ours_vxlan: ($rdv | num), ours_plain: ($rdp | num)},
		  wire: {ours_vxlan: ($rwv | num), ours_plain: ($rwp | num)}},
	 vrouter_drops: {defaults: (if $dd == "" then null else ($dd | fromjson) end),
			 wire: (if $dw == "" then null else ($dw | fromjson) end)},
	 runs: $runs}' >"$BENCH_OUT/tcp.json.tmp" && mv "$BENCH_OUT/tcp.json.tmp" "$BENCH_OUT/tcp.json"
echo "# results in $BENCH_OUT/tcp.json; runtime $((SECONDS - START)) s"
vr_summary
