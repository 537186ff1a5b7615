#!/usr/bin/env bash
# Static analysis, valgrind and the minimum-kernel check (`make lint`, and a suite of `make check`). Builds nothing:
# the binaries come from `make`.
#   - cppcheck (selftests/cppcheck.cfg for the libbpf macros, selftests/cppcheck.supp for the reviewed false
#     positives, each with its reason) over loader/ with headers/, agent/ and the user-space selftests: one check
#     per folder.
#   - clang-tidy (.clang-tidy at the top, selftests/.clang-tidy) over every user-space .c file, two at a time
#     (the machine has two cores): one check per file; any warning fails it.
#   - valgrind memcheck (--leak-check=full, definite and indirect leaks are errors) over the unit tests that need
#     no namespaces: test_config, vrouter-controller driven by test_controller, vrouterctl's error paths,
#     and with VR_VALGRIND_SLOW=1 (make lint) test_xmpp (VR_VALGRIND_ROUNDS rounds, 150; 2.5 minutes).
#   - the minimum-kernel check: test_probe (the probes pass on this kernel, the floor and overrides work) and
#     `vrouterctl load` under VR_MIN_KERNEL=99.0: exit 1, the message names the kernel and the floor, nothing
#     pinned.
# Each step prints how long it took. Prints `ok NAME` or `FAIL NAME: why` per check and `N passed, N failed[, N
# skipped]` last; exit status 0 when nothing failed. ANALYSIS_STEPS="cppcheck tidy valgrind kernel" picks steps.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=${VR_BUILD:-$top/build}
steps=${ANALYSIS_STEPS:-cppcheck tidy valgrind kernel}
rounds=${VR_VALGRIND_ROUNDS:-150}
cd "$top" || exit 1

passed=0 failed=0 skipped=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
skip() { echo "skip $1"; skipped=$((skipped + 1)); }

tmp=$(mktemp -d /tmp/vr-analysis.XXXXXX)
pin=/sys/fs/bpf/vr-analysis-$$
cleanup() {
	rm -rf "$tmp"
	[ -d "$pin" ] && "$build/vrouterctl" -d "$pin" unload >/dev/null 2>&1
	rm -rf "$pin" 2>/dev/null
}
trap cleanup EXIT

now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
step_time() { echo "    ($1 took $(took "$2") s)"; }
# The first lines of a report, indented.
excerpt() { head -n "${2:-12}" "$1" | sed 's/^/    /'; }

# The user-space C: everything but the BPF programs.
user_c() {
	local f
	for f in "$@"; do
		[ -f "$f" ] && [ "${f%.bpf.c}" = "$f" ] && echo "$f"
	done
}

# Include paths and defines that cover every user-space file (the union of the Makefile's compile lines).
xml_cflags=$(pkg-config --cflags libxml-2.0 2>/dev/null || echo -I/usr/include/libxml2)
yaml_cflags=$(pkg-config --cflags yaml-0.1 2>/dev/null)
src_flags="-Iheaders -Iloader -Iagent -Iselftests -I$build"

run_cppcheck() {
	local t0 name files log
	if ! command -v cppcheck >/dev/null; then
		skip "cppcheck: not installed (make deps installs it)"
		return
	fi
	t0=$(now)
	for name in loader agent selftests; do
		case $name in
		loader) files="$(user_c loader/*.c) headers/vr_types.h headers/vr_consts.h headers/vr_hash.h" ;;
		agent) files=$(user_c agent/*.c) ;;
		selftests) files=$(user_c selftests/*.c selftests/fuzz/*.c) ;;
		esac
		log=$tmp/cppcheck.$name
		# shellcheck disable=SC2086
		cppcheck -q -j2 --std=c11 --enable=warning,performance,portability --inline-suppr \
			--error-exitcode=1 --library="$here/cppcheck.cfg" --suppressions-list="$here/cppcheck.supp" \
			-D__linux__ -D__x86_64__ $src_flags $files >"$log" 2>&1
		if [ $? -eq 0 ] && ! grep -qE '\[[A-Za-z0-9_]+\]$' "$log"; then
			ok "cppcheck $name"
		else
			fail "cppcheck $name: $(grep -cE '\[[A-Za-z0-9_]+\]$' "$log") findings"
			grep -E '\[[A-Za-z0-9_]+\]$' "$log" | head -n 20 | sed 's/^/    /'
		fi
	done
	step_time cppcheck "$t0"
}

run_tidy() {
	local t0 tidy f log n
	tidy=$(command -v clang-tidy-14 || command -v clang-tidy)
	if [ -z "$tidy" ]; then
		skip "clang-tidy: not installed (make deps installs it)"
		return
	fi
	if [ ! -f "$build/vrouter.skel.h" ]; then
		fail "clang-tidy: $build/vrouter.skel.h is missing (make builds it)"
		return
	fi
	t0=$(now)
	mkdir -p "$tmp/tidy"
	# Two at a time, largest first (so that the two workers end together); each file's report in its own log,
	# judged below in a fixed order.
	# shellcheck disable=SC2046,SC2086
	wc -c $(user_c loader/*.c agent/*.c selftests/*.c selftests/fuzz/*.c) | grep -v ' total$' | sort -rn |
		awk '{ print $2 }' | xargs -P 2 -I{} sh -c '"$1" --quiet "$2" -- -std=gnu11 $3 >"$4/$(echo "$2" | tr / _).log" 2>&1; \
			echo $? >"$4/$(echo "$2" | tr / _).rc"' sh "$tidy" {} \
			"$src_flags $xml_cflags $yaml_cflags -DVR_EXAMPLES_DIR=\"/nonexistent\"" "$tmp/tidy"
	for f in $(user_c loader/*.c agent/*.c selftests/*.c selftests/fuzz/*.c); do
		log=$tmp/tidy/$(echo "$f" | tr / _).log
		# Findings in the skeleton bpftool generates ($build/vrouter.skel.h) are not ours to fix.
		n=$(grep -E '(warning|error): .*\[[A-Za-z,.0-9-]+\]$' "$log" 2>/dev/null | grep -vc "^$build/")
		if [ -f "${log%.log}.rc" ] && [ "${n:-0}" -eq 0 ]; then
			ok "clang-tidy $f"
		else
			fail "clang-tidy $f: ${n:-?} findings (exit $(cat "${log%.log}.rc" 2>/dev/null))"
			grep -E '(warning|error): ' "$log" | grep -v "^$build/" | sed "s|^$top/||" | head -n 10 | sed 's/^/    /'
		fi
	done
	step_time clang-tidy "$t0"
}

# vg NAME LOG CMD...: one valgrind run; a memory error or a definite/indirect leak makes valgrind exit 99.
vg_run() {
	local name=$1 log=$2 rc t0
	shift 2
	t0=$(now)
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect --trace-children=yes --child-silent-after-fork=yes \
		--trace-children-skip="/usr/*,/bin/*,/sbin/*" \
		--log-file="$log.vg.%p" "$@" >"$log" 2>&1
	rc=$?
	echo "$rc" >"$log.rc"
	echo "    ($name took $(took "$t0") s under valgrind)"
}

# vg_judge NAME LOG WANT_RC: valgrind found nothing (no report in any process's log) and the program exited as
# it should (its own result line, where it has one, says nothing failed).
vg_judge() {
	local name=$1 log=$2 want=$3 rc reports
	rc=$(cat "$log.rc")
	reports=$(cat "$log".vg.* 2>/dev/null | grep -c '^==[0-9]*== ')
	if [ "$rc" = "$want" ] && [ "$reports" -eq 0 ] && ! grep -qE '^[0-9]+ passed, [1-9][0-9]* failed' "$log"; then
		ok "valgrind $name"
	else
		fail "valgrind $name: exit $rc (want $want), $reports lines of valgrind reports"
		cat "$log".vg.* 2>/dev/null | head -n 30 | sed 's/^/    /'
		grep -E '^FAIL|passed, ' "$log" | head -n 5 | sed 's/^/    /'
	fi
}

run_valgrind() {
	local t0 t0c b missing=0
	if ! command -v valgrind >/dev/null; then
		skip "valgrind: not installed (make deps installs it)"
		return
	fi
	for b in test_config test_xmpp test_controller vrouter-controller vrouterctl; do
		if [ ! -x "$build/$b" ]; then
			fail "valgrind: $build/$b is missing (make builds it)"
			missing=1
		fi
	done
	[ "$missing" -eq 0 ] || return
	t0=$(now)
	mkdir -p "$tmp/vg"
	vg_run test_config "$tmp/vg/test_config" "$build/test_config"
	vg_judge test_config "$tmp/vg/test_config" 0
	# test_xmpp takes 2.5 minutes under valgrind whatever its round count (the one-byte-at-a-time splits):
	# only with VR_VALGRIND_SLOW=1 (make lint), not in make check's time budget.
	if [ "${VR_VALGRIND_SLOW:-0}" = 1 ]; then
		vg_run test_xmpp "$tmp/vg/test_xmpp" "$build/test_xmpp" "$rounds"
		vg_judge "test_xmpp ($rounds rounds)" "$tmp/vg/test_xmpp" 0
	else
		skip "valgrind test_xmpp: 2.5 minutes, runs with VR_VALGRIND_SLOW=1 (make lint)"
	fi
	# vrouter-controller under valgrind, driven by a native test_controller: the protocol test has deadlines
	# (a peer that does not read is closed within seconds) that a test slowed down by valgrind misses.
	printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --log-file=%s.vg.%%p %s "$@"\n' \
		"$tmp/vg/controller" "$build/vrouter-controller" >"$tmp/vg/vrouter-controller"
	chmod +x "$tmp/vg/vrouter-controller"
	t0c=$(now)
	"$build/test_controller" "$tmp/vg/vrouter-controller" >"$tmp/vg/controller" 2>&1
	echo $? >"$tmp/vg/controller.rc"
	echo "    (test_controller with vrouter-controller under valgrind took $(took "$t0c") s)"
	if ls "$tmp/vg/controller".vg.* >/dev/null 2>&1; then
		vg_judge "vrouter-controller (driven by test_controller)" "$tmp/vg/controller" 0
	else
		fail "valgrind vrouter-controller: test_controller never started it through valgrind"
	fi
	if [ "$(id -u)" -eq 0 ]; then
		# test_probe is not run under valgrind: libbpf 1.1 hands the kernel bpf() attributes whose unused
		# bytes valgrind takes for uninitialised (reports inside libbpf, not ours).
		vg_run "vrouterctl load (kernel floor)" "$tmp/vg/ctl_load" env VR_MIN_KERNEL=99.0 \
			"$build/vrouterctl" -d "$pin" load fabric lo host-ip 192.0.2.1
		vg_judge "vrouterctl load refused by the kernel floor" "$tmp/vg/ctl_load" 1
	else
		skip "valgrind test_probe and vrouterctl load: need root"
	fi
	vg_run "vrouterctl bad usage" "$tmp/vg/ctl_usage" "$build/vrouterctl" route add 10.0.0.0/33
	vg_judge "vrouterctl bad usage" "$tmp/vg/ctl_usage" 2
	vg_run "vrouterctl on no datapath" "$tmp/vg/ctl_open" "$build/vrouterctl" -d "$pin" vif list
	vg_judge "vrouterctl on no datapath" "$tmp/vg/ctl_open" 1
	step_time valgrind "$t0"
}

run_kernel() {
	local t0 rc out
	if [ "$(id -u)" -ne 0 ]; then
		skip "minimum-kernel check: needs root"
		return
	fi
	t0=$(now)
	if [ -x "$build/test_probe" ]; then
		"$build/test_probe" >"$tmp/probe.log" 2>&1
		rc=$?
		sed 's/^/    /' "$tmp/probe.log"
		if [ "$rc" -eq 0 ] && grep -qE '^[1-9][0-9]* passed, 0 failed' "$tmp/probe.log"; then
			ok "test_probe: the minimum-kernel check on kernel $(uname -r)"
		else
			fail "test_probe: exit $rc"
		fi
	else
		fail "test_probe: $build/test_probe is missing (make builds it)"
	fi
	out=$(VR_MIN_KERNEL=99.0 "$build/vrouterctl" -d "$pin" load fabric lo host-ip 192.0.2.1 2>&1)
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q "^Error: load failed: kernel $(uname -r) is older than 99.0" <<<"$out" &&
	   [ ! -e "$pin" ]; then
		ok "vrouterctl load on a kernel below the floor: exit 1, the kernel and the floor named, nothing pinned"
	else
		fail "vrouterctl load under VR_MIN_KERNEL=99.0: exit $rc, pinned: $([ -e "$pin" ] && echo yes || echo no), said: $out"
	fi
	# The same with -j: the error is JSON for scripts.
	out=$(VR_MIN_KERNEL=99.0 "$build/vrouterctl" -j -d "$pin" load fabric lo host-ip 192.0.2.1 2>&1)
	rc=$?
	if [ "$rc" -eq 1 ] && jq -e '.error | test("older than 99.0")' <<<"$out" >/dev/null 2>&1; then
		ok "vrouterctl -j load below the floor: a JSON error"
	else
		fail "vrouterctl -j load under VR_MIN_KERNEL=99.0: exit $rc, said: $out"
	fi
	step_time "minimum-kernel check" "$t0"
}

total0=$(now)
for s in $steps; do
	case $s in
	cppcheck) run_cppcheck ;;
	tidy) run_tidy ;;
	valgrind) run_valgrind ;;
	kernel) run_kernel ;;
	*) fail "unknown step $s (cppcheck, tidy, valgrind, kernel)" ;;
	esac
done
echo "    (all analysis took $(took "$total0") s)"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
