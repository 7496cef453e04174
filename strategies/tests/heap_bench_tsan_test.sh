#!/usr/bin/env bash
# heap_bench_tsan_test: heap_bench's 2-thread workloads under TSan, on the null heap and
# slab: larson's per-slot hand-off (heap_bench_larson.c) with epochs short enough that
# the sets change hands hundreds of times, and xmalloc's queues. A step that did not
# wait for its slot's previous epoch is reported as a data race in ls_step.
set -eu
b=${MTB_BUILD:-build}/tsan/bin/heap_bench
[ -x "$b" ] || { echo "SKIP: $b not built (make test-build)"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! TSAN_OPTIONS=halt_on_error=1:exitcode=66 "$b" --out "$out/hb.csv" --only larson,xmalloc \
	--heaps null,slab --rounds 1 --duration-ms 300 --warmup-ms 50 --epoch-ops 2000 \
	>"$out/log" 2>&1; then
	cat "$out/log"
	echo "FAIL: heap_bench under TSan"
	exit 1
fi
for w in larson xmalloc; do
	grep -q "^$w,null,.*,speedup_2_1," "$out/hb.csv" || { echo "FAIL: no $w rows"; exit 1; }
done
echo "heap_bench_tsan_test: ok"
