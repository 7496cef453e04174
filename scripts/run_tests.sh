#!/usr/bin/env bash
# run_tests.sh: runs test programs and shell tests, one line each, then a summary.
# Usage: scripts/run_tests.sh TEST...   (exit 0 pass, 77 skip, else fail)
# A test's output goes to build/test-logs/NAME.log and is printed when it fails;
# the SKIP lines of a passing test (a part it could not run) are shown too.
# MTB_TEST_TIMEOUT (seconds, default 600) bounds each test.
set -u
case "${1:-}" in -h | --help)
	sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac
logs=${MTB_BUILD:-build}/test-logs
mkdir -p "$logs"
pass=0 fail=0 skip=0 failed=()
t0=$(date +%s)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
n=$#
i=0
for t in "$@"; do
	i=$((i + 1))
	name=${t#"${MTB_BUILD:-build}"/}
	name=${name//\//_}
	log=$logs/$name.log
	s=$(date +%s.%N)
	if [[ $t == *.sh ]]; then
		timeout "${MTB_TEST_TIMEOUT:-600}" bash "$t" >"$log" 2>&1
	else
		timeout "${MTB_TEST_TIMEOUT:-600}" "$t" >"$log" 2>&1
	fi
	rc=$?
	dt=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	case $rc in
	0)
		pass=$((pass + 1))
		printf '[%d/%d] PASS %s (%ss)\n' "$i" "$n" "$t" "$dt"
		# a passing test that skipped a part says so in its log: show it
		grep '^SKIP' "$log" | sed 's/^/    partial /'
		;;
	77)
		skip=$((skip + 1))
		printf '[%d/%d] SKIP %s: %s\n' "$i" "$n" "$t" "$(grep -m1 '^SKIP' "$log" | sed 's/^SKIP: //')"
		;;
	*)
		fail=$((fail + 1))
		failed+=("$t")
		[ $rc -eq 124 ] && echo "timed out after ${MTB_TEST_TIMEOUT:-600}s" >>"$log"
		printf '[%d/%d] FAIL %s (exit %d, %ss)\n' "$i" "$n" "$t" "$rc" "$dt"
		sed 's/^/    | /' "$log" | tail -40
		;;
	esac
done
echo "elapsed $(($(date +%s) - t0))s"
[ $fail -gt 0 ] && printf 'failed: %s\n' "${failed[@]}"
echo "tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
