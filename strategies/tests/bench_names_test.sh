#!/usr/bin/env bash
# bench_names_test.sh: a name filter that selects nothing is an error, not an empty
# result (issue 17). Misspelt or empty names in the benches' and tools' --heaps, --only,
# --virt and --phys, and a Google Benchmark --benchmark_filter that matches no benchmark
# (or is not a regex), each exit 2 with a last stderr line naming the bad name/pattern,
# and leave no --out file. Nothing is measured: every case fails before a run.
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${MTB_BIN:-build/bin}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fails=0
# expect_bad NAME-IN-MESSAGE TOOL ARGS...: exit 2, the name on the last stderr line, no output.
expect_bad() {
	local want=$1 tool=$2
	shift 2
	[ -x "$bin/$tool" ] || { echo "FAIL: $bin/$tool not built"; fails=$((fails + 1)); return; }
	rm -f "$t/out"
	"$bin/$tool" "$@" >"$t/stdout" 2>"$t/err"
	local rc=$?
	local last
	last=$(tail -n 1 "$t/err")
	if [ $rc -ne 2 ] || [[ "$last" != *"$want"* ]] || [ -e "$t/out" ] ||
		ls "$t" | grep -q 'out\.tmp'; then
		echo "FAIL: $tool $*: exit $rc (want 2), last stderr line '$last' (want '$want')," \
			"output file: $(ls "$t" | grep '^out' || echo none)"
		fails=$((fails + 1))
	fi
}
expect_bad "talcc" heap_bench --out "$t/out" --heaps talc,talcc
expect_bad "foo" heap_bench --out "$t/out" --only foo
expect_bad "bitmapp" heap_bench --out "$t/out" --virt bitmapp
expect_bad "'btre'" va_bench --out "$t/out" --virt bitmap,btre
expect_bad "empty name" va_bench --out "$t/out" --virt ''
expect_bad "empty name" va_bench --out "$t/out" --virt bitmap,,btree
expect_bad "'no-such-bench'" gbench_bench --out "$t/out" --benchmark_filter=no-such-bench
expect_bad "'['" gbench_bench --out "$t/out" --benchmark_filter='['
expect_bad "bitmapp" va_replay --gen mix --ops 100 --out "$t/out" --virt bitmapp
# A peer heap does not use --phys/--virt, but a misspelt one is still an error.
expect_bad "bitmapp" mtb_host --gen larson --ops 100 --out "$t/out" --heap glibc --virt bitmapp
expect_bad "bud" mtb_host --gen larson --ops 100 --out "$t/out" --heap glibc --phys bud
expect_bad "bitmapp" mtb_host --gen larson --ops 100 --out "$t/out" --heap talc --virt bitmapp
[ $fails -eq 0 ] || { echo "bench_names_test: $fails failure(s)"; exit 1; }
echo "bench_names_test: ok"
