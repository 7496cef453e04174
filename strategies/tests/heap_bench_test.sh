#!/usr/bin/env bash
# heap_bench_test.sh: the heap benchmark's command contract: --help, a one-line
# error and exit 2 on bad input, and a tiny run (talc, slab, glibc)
# that writes its CSV atomically with the provenance columns on every row.
set -u
bin=${MTB_BIN:-build/bin}/heap_bench
[ -x "$bin" ] || { echo "heap_bench_test: $bin not built (make $bin)"; exit 1; }
fail() { echo "heap_bench_test: $*"; exit 1; }
"$bin" --help | grep -q -- '--frames' || fail "--help does not describe --frames"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for bad in "" "--out" "--out $dir/x --trials 0" "--out $dir/x --frames bogus" "--out $dir/x --bogus"; do
	# shellcheck disable=SC2086
	"$bin" $bad >/dev/null 2>"$dir/err" && fail "'$bad' exited 0"
	[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "'$bad': not one error line: $(cat "$dir/err")"
done
[ ! -e "$dir/x" ] || fail "a bad command line wrote $dir/x"
mkdir "$dir/out"
MTB_BUILD_ID=t1 "$bin" --out "$dir/out/h.csv" --duration-ms 10 --trials 1 --he-trials 1 \
	--heaps talc,slab,glibc --frames simple 2>"$dir/progress" ||
	fail "small run failed: $(tail -3 "$dir/progress")"
[ "$(ls "$dir/out")" = "h.csv" ] || fail "temporary file left: $(ls "$dir/out")"
f=$dir/out/h.csv
head -1 "$f" | grep -q '^workload,allocator,version,threads,param,value,unit,engine,timing_trusted,seed,build$' ||
	fail "bad header: $(head -1 "$f")"
awk 'NR > 1 && $0 !~ /,host,true,42,t1$/ { exit 1 }' "$f" || fail "a row lacks provenance"
for w in heap_efficiency random_actions larson xmalloc hermit64; do
	grep -q "^$w,slab,\"memtestbed slab on simple/simple" "$f" || fail "no $w row for slab"
done
grep -q '^random_actions,talc/glibc,' "$f" || fail "no talc/glibc ratio row"
echo "heap_bench_test: ok ($(($(wc -l <"$f") - 1)) rows)"
