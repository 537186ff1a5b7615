#!/usr/bin/env bash
# Parser fuzzing and sanitizers (the binaries come from the Makefile's fuzzing block; this script builds nothing).
#
#   fuzz.sh [--check]        what `make check` runs (through run.sh): each libFuzzer target FUZZ_CHECK_SECONDS
#                            (8) with a fixed seed over a copy of its checked-in corpus (selftests/fuzz/corpus/T)
#                            plus the inputs it makes meanwhile (with the tokens of selftests/fuzz/T.dict), and
#                            the ASan+UBSan builds of test_xmpp, test_config and test_controller (against the
#                            sanitized vrouter-controller), all in about 30 s. A crash, leak, sanitizer report or
#                            broken invariant is a FAIL that names the reproducer, kept in a temporary folder.
#   fuzz.sh --long [T...]    what `make fuzz` runs: each target (xmpp, config, port_api, or those named)
#                            FUZZ_SECONDS (300); new inputs go to $VR_BUILD/fuzz/corpus/T, crashes to
#                            $VR_BUILD/fuzz/artifacts/; FUZZ_MERGE=1 then merges the inputs that add coverage into
#                            the checked-in corpus.
# A reproducer runs alone as `build/fuzz/fuzz_T FILE` (FUZZ_VERBOSE=1 prints what it decodes to).
# Prints `ok NAME` or `FAIL NAME: why` per check and `N passed, N failed` last; exit status 0 when nothing failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=${VR_BUILD:-$top/build}
corpus_src=$here/fuzz/corpus
all_targets="xmpp config port_api"

mode=check
if [ "${1:-}" = "--check" ]; then
	shift
elif [ "${1:-}" = "--long" ]; then
	mode=long
	shift
fi
targets=${*:-$all_targets}

passed=0 failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }

tmp=$(mktemp -d /tmp/vr-fuzz.XXXXXX)
keep_tmp=0
cleanup() {
	if [ "$keep_tmp" -eq 1 ]; then
		echo "reproducers and logs kept in $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

# The sanitizers' verdicts: stop at the first error, leaks included. The sanitized unit tests also write their
# reports to files (one folder per test), so a sanitized child (vrouter-controller under test_controller) cannot
# fail unseen.
san_env() {   # san_env DIR: the environment of a sanitized unit test
	mkdir -p "$1"
	echo "ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:log_path=$1/asan" \
		"UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$1/ubsan"
}

# One line of libFuzzer's statistics: "#N DONE cov: C ft: F corp: E/S ... exec/s: R".
stat_of() { grep -aE "^#[0-9]+[[:space:]]+$1 " "$2" | tail -n 1; }
field() { sed -nE "s|.*[[:space:]]$1:? ([^ ]+).*|\1|p" <<<"$2"; }

# The report of a failed run: the lines that say what broke and the input libFuzzer saved.
explain() {
	grep -aE -e "invariant broken|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|ERROR: libFuzzer|runtime error" \
		-e "SUMMARY|Test unit written" "$1" | head -n 8 | sed 's/^/    /'
}

# run_target NAME SECONDS CORPUS_DIR ARTIFACT_DIR [libFuzzer flags...]
run_target() {
	local t=$1 secs=$2 corpus=$3 artifacts=$4
	shift 4
	local bin=$build/fuzz/fuzz_$t log=$tmp/fuzz_$t.log rc start end inited done_ crashes runs
	if [ ! -x "$bin" ]; then
		fail "fuzz $t: $bin is missing (make builds it)"
		return
	fi
	mkdir -p "$corpus" "$artifacts"
	# The format's tokens (selftests/fuzz/T.dict) for the mutator to splice in.
	[ -f "$here/fuzz/$t.dict" ] && set -- -dict="$here/fuzz/$t.dict" "$@"
	touch "$tmp/start_$t"	# crashes of this run only: the artifact folder of `make fuzz` is kept
	start=$(date +%s%N)
	# A stalled input (10 s) or a runaway allocation (2 GB) is a failure too.
	ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0" UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
		-artifact_prefix="$artifacts/$t-" "$@" "$corpus" "$corpus_src/$t" >"$log" 2>&1
	rc=$?
	end=$(date +%s%N)
	inited=$(stat_of INITED "$log")
	done_=$(stat_of DONE "$log")
	crashes=$(find "$artifacts" -maxdepth 1 -type f -name "$t-*" -newer "$tmp/start_$t" 2>/dev/null | sort)
	if [ "$rc" -ne 0 ] || [ -n "$crashes" ] || [ -z "$done_" ]; then
		keep_tmp=1
		fail "fuzz $t: exit status $rc; reproducer: ${crashes:-none saved}; log: $log"
		explain "$log"
		return
	fi
	runs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$done_")
	ok "fuzz $t: $runs runs in $(((end - start) / 1000000000)) s ($(field exec/s "$done_") exec/s), corpus $(field corp \
		"$inited") -> $(field corp "$done_") (inputs/bytes), coverage $(field cov "$inited") -> $(field cov \
		"$done_") edges, $(field ft "$inited") -> $(field ft "$done_") features"
}

# start_test NAME COMMAND...: a sanitized unit test, in the background; finish_test NAME judges it by its own
# verdict, its exit status and the absence of any sanitizer report.
declare -A test_pid test_bin
start_test() {
	local name=$1
	shift
	test_bin[$name]=$1
	if [ ! -x "$1" ]; then
		test_pid[$name]=
		return
	fi
	env $(san_env "$tmp/san/$name") "$@" >"$tmp/$name.log" 2>&1 &
	test_pid[$name]=$!
}

finish_test() {
	local name=$1 label=$2 log=$tmp/$1.log rc line reports r
	if [ -z "${test_pid[$name]}" ]; then
		fail "$label: ${test_bin[$name]} is missing (make builds it)"
		return
	fi
	wait "${test_pid[$name]}"
	rc=$?
	line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	reports=$(find "$tmp/san/$name" -type f 2>/dev/null)
	if [ "$rc" -ne 0 ] || [ -z "$line" ] || ! grep -q ' 0 failed' <<<"$line" || [ -n "$reports" ]; then
		keep_tmp=1
		fail "$label: exit status $rc, ${line:-no result line}; log: $log"
		grep -aE '^FAIL' "$log" | head -n 5 | sed 's/^/    /'
		for r in $reports; do
			echo "    sanitizer report $r:"
			grep -aE 'ERROR|runtime error|SUMMARY|^    #[0-4] ' "$r" | head -n 8 | sed 's/^/      /'
		done
		return
	fi
	ok "$label: $line, no sanitizer report"
}

if [ "$mode" = long ]; then
	secs=${FUZZ_SECONDS:-300}
	for t in $targets; do
		echo "fuzzing $t for $secs s (corpus $build/fuzz/corpus/$t)"
		run_target "$t" "$secs" "$build/fuzz/corpus/$t" "$build/fuzz/artifacts" ${FUZZ_SEED:+-seed=$FUZZ_SEED}
		if [ "${FUZZ_MERGE:-0}" = 1 ] && [ -x "$build/fuzz/fuzz_$t" ]; then
			"$build/fuzz/fuzz_$t" -merge=1 -max_len=4096 "$corpus_src/$t" "$build/fuzz/corpus/$t" \
				>"$tmp/merge_$t.log" 2>&1 && echo "merged into $corpus_src/$t: $(ls "$corpus_src/$t" | wc -l) files"
		fi
	done
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
fi

# --check: the sanitized unit tests run beside the fuzzers (test_controller mostly waits on timers).
secs=${FUZZ_CHECK_SECONDS:-8}
t0=$(date +%s)
start_test test_config "$build/asan/test_config"
finish_test test_config "ASan+UBSan test_config"
start_test test_controller "$build/asan/test_controller" "$build/asan/vrouter-controller"
start_test test_xmpp "$build/asan/test_xmpp"
for t in $targets; do
	mkdir -p "$tmp/corpus/$t"
	run_target "$t" "$secs" "$tmp/corpus/$t" "$tmp/artifacts" -seed=1
done
finish_test test_xmpp "ASan+UBSan test_xmpp"
finish_test test_controller "ASan+UBSan test_controller against the sanitized vrouter-controller"
echo "fuzzing and sanitizers: $(($(date +%s) - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
