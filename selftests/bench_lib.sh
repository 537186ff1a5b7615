# shellcheck shell=bash disable=SC2004,SC2034 # MED... are the caller's arrays, read after the call
# Pieces shared by the packet-rate benchmarks that drive build/bench_pps (bench_pps.sh, bench_gw.sh): checking
# the pinned CPU, and turning one cell's runs (a JSON line per run in its output file) into the figures, the
# warnings and the progress line. Sourced after lib.sh; the caller declares the associative arrays MED, MEDC,
# WARN and DROPS and defines drops_json (bpf-vrouter's non-zero drop counters, as JSON).

BENCH_NRUNS=0

# Exit 2 unless BENCH_CPU names a CPU of this machine.
bench_check_cpu() {
	if ! [[ "$BENCH_CPU" =~ ^[0-9]+$ ]] || [ "$BENCH_CPU" -ge "$(nproc)" ]; then
		echo "VR_BENCH_CPU: no CPU '$BENCH_CPU'" >&2
		exit 2
	fi
}

# bench_start TITLE: START, LOAD_BEFORE and BUSY_BEFORE (the machine before the run: other sessions' load
# distorts the figures, PITFALLS.md) and the run's first lines.
bench_start() {
	START=$SECONDS
	LOAD_BEFORE=$(vr_loadavg)
	BUSY_BEFORE=$(vr_cpu_busy_over 1)
	echo "# $1, run $VR_ID, $(nproc) CPUs, kernel $(uname -r); generator pinned to CPU $BENCH_CPU"
	echo "# machine before: loadavg $LOAD_BEFORE, CPUs ${BUSY_BEFORE}% busy over 1 s (other sessions)"
	# Per-program run-time statistics add ~46 ns to every program run (PITFALLS.md): say so, do not change it.
	[ "$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null)" = 1 ] &&
		echo "# WARNING kernel.bpf_stats_enabled=1: every XDP program run costs ~46 ns more; figures are low"
	return 0
}

# bench_warnings_and_load: the end of the report: every cell's warnings again (CELLS, CELL_NAME, WARN), and the
# machine's load after the run (LOAD_AFTER) with the runtime.
bench_warnings_and_load() {
	local c
	for c in "${CELLS[@]}"; do
		[ -n "${WARN[$c]:-}" ] && echo "# WARNING ${CELL_NAME[$c]}: ${WARN[$c]}"
	done
	echo "# machine after: loadavg $LOAD_AFTER; runtime $((SECONDS - START)) s"
}

mac_of() { ip -n "$(pns "$1" "$2")" -j link show "$3" | jq -r '.[0].address'; }   # mac_of VARIANT ROLE DEV
fmt() { LC_ALL=C printf "%.${2:-2}f" "$1"; }

cell_stat() {   # cell_stat CELL FIELD: the median of one field over the cell's runs
	[ -s "$VR_TMP/cell-$1.jsonl" ] || return 0
	# shellcheck disable=SC2046 # one number per line
	vr_median $(jq -r ".$2" "$VR_TMP/cell-$1.jsonl")
}

# bench_runs CELL LABEL VARIANT OUT: BENCH_NRUNS gets the number of runs in OUT; fails the cell (returns 1) when
# there are none or they received nothing.
bench_runs() {
	local cell=$1 label=$2 v=$3 out=$4

	BENCH_NRUNS=$(grep -c '^{' "$out")
	if [ "$BENCH_NRUNS" -eq 0 ] || [ "$(jq -s 'map(.received) | add' "$out")" = 0 ]; then
		vr_failed "$cell ($label): nothing measured"
		_vr_show_output "$out.err"
		[ "$v" = vr ] && echo "#   drop counters now: $(drops_json)"
		return 1
	fi
	return 0
}

# bench_figures CELL LABEL VARIANT OUT DROPS0 CELL_WIDTH LABEL_WIDTH: the cell's medians (MED, MEDC), its warnings
# (WARN: frames lost on the way; bpf-vrouter's drops since DROPS0 in DROPS) and its progress line.
bench_figures() {
	local cell=$1 label=$2 v=$3 out=$4 d0=$5 cw=$6 lw=$7

	# shellcheck disable=SC2046 # one number per line
	MED[$cell]=$(vr_median $(jq -r .mpps "$out"))
	# shellcheck disable=SC2046
	MEDC[$cell]=$(vr_median $(jq -r .mpps_per_cpu "$out"))
	# Frames the generator sent that never reached the counter (dropped in between, by the router or a ring).
	WARN[$cell]=$(jq -rs 'map(.sent) as $s | map(.received) as $r | (($s | add) - ($r | add)) / ($s | add) * 100
		| if . > 1 then "lost \(. * 10 | round / 10)% of the frames between generator and counter" else "" end' "$out")
	if [ "$v" = vr ]; then
		DROPS[$cell]=$(jq -cn --argjson a "$d0" --argjson b "$(drops_json)" \
			'$b | with_entries(.value -= ($a[.key] // 0)) | with_entries(select(.value != 0))')
		# A meaningful share: more than 0.1% of the frames sent (a stray frame or two is not worth a warning).
		if [ "$(jq -rs --argjson d "${DROPS[$cell]}" '([$d[]] | add // 0) > 0.001 * (map(.sent) | add)' "$out")" = true ]; then
			WARN[$cell]+="${WARN[$cell]:+; }bpf-vrouter dropped: ${DROPS[$cell]}"
		fi
	fi
	[ -n "${WARN[$cell]}" ] && echo "# WARNING $cell ($label): ${WARN[$cell]}"
	printf "#   %-${cw}s %-${lw}s %s Mpps (runs: %s)\n" "$cell" "$label" "$(fmt "${MED[$cell]}")" \
		"$(jq -r '.mpps * 100 | round / 100' "$out" | paste -sd' ')"
}
