#!/usr/bin/env bash
# frame_bench_test.sh: the frame benchmark's command contract: --help, a one-line
# error and non-zero exit on bad input, and a small run that writes a complete CSV
# atomically (no temporary file left) with every figure for both strategies.
set -u
bin=${MTB_BIN:-build/bin}/frame_bench
[ -x "$bin" ] || { echo "frame_bench_test: $bin not built (make $bin)"; exit 1; }
fail() { echo "frame_bench_test: $*"; exit 1; }
"$bin" --help | grep -q -- '--out' || fail "--help does not describe --out"
for bad in "--mem x" "--mem 1" "--rounds -1" "--bogus" "extra"; do
	# shellcheck disable=SC2086
	err=$("$bin" $bad 2>&1 >/dev/null) && fail "'$bad' exited 0"
	[ -n "$err" ] || fail "'$bad' printed no error"
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/out"
"$bin" --mem 128 --churn-mem 64 --rounds 3 --out "$dir/out/f.csv" 2>"$dir/progress" ||
	fail "small run failed: $(tail -3 "$dir/progress")"
[ "$(ls "$dir/out")" = "f.csv" ] || fail "temporary file left: $(ls "$dir/out")"
mv "$dir/out/f.csv" "$dir/f.csv"
head -1 "$dir/f.csv" | grep -q '^engine,timing_trusted,kind,phys,cpus,fill_pct,op,value,unit,seed,build,cpu_model,cores,mem_bytes,kernel,kvm$' ||
	fail "bad header"
for s in buddy freelist; do
	for op in alloc_4k free_4k alloc_2m free_2m alloc_4k_frag10000 alloc_2m_frag10000 \
		free_in_2m_blocks_uniform free_in_2m_blocks_balanced meta_bytes_per_gib; do
		n=$(grep -c "^host,[a-z]*,[a-z_]*,$s,[0-9]*,[0-9]*,$op," "$dir/f.csv")
		[ "$n" -ge 1 ] || fail "no $op row for $s"
	done
	[ "$(grep -c "^host,true,frame_op,$s,.*,alloc_4k,.*,ns," "$dir/f.csv")" -eq 4 ] ||
		fail "$s: want 4 alloc_4k rows (1/2 threads x 50/90% fill)"
done
grep -q ',buddy_vs_freelist,.*,speedup_4k_frag10000,' "$dir/f.csv" || fail "no speedup row"
awk -F, 'NR > 1 && $8 !~ /^[0-9.e+-]+$/ { exit 1 }' "$dir/f.csv" || fail "non-numeric value"
# Every row carries the machine (host_ctx.h): cores, memory, kernel, KVM kind.
python3 "$(dirname "$0")/machine_csv_check.py" "$dir/f.csv" || fail "machine context (above)"
echo "frame_bench_test: ok ($(($(wc -l <"$dir/f.csv") - 1)) rows)"
