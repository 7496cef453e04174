#!/usr/bin/env bash
# va_bench_test.sh: the VA benchmark's command contract: --help, a one-line error and
# non-zero exit on bad input, and a small run that writes a complete CSV atomically
# (no temporary file left) with every figure for every strategy and the ratios.
set -u
bin=${MTB_BIN:-build/bin}/va_bench
[ -x "$bin" ] || { echo "va_bench_test: $bin not built (make $bin)"; exit 1; }
fail() { echo "va_bench_test: $*"; exit 1; }
"$bin" --help | grep -q -- '--out' || fail "--help does not describe --out"
for bad in "--rounds x" "--rounds 0" "--pairs -1" "--bogus" "extra" "--virt btree,nope" \
	"--live 0x10" "--live 10,,20" "--live 10," "--live +5" "--live 0" "--threads 0" \
	"--threads 65" "--threads 1,x" "--live 1 --threads 2" "--seed 010x" "--callgrind 0" \
	"--callgrind 5 --threads 1" "--live 99999999999999999999999" "--pairs 0x10" \
	"--holes 0" "--callgrind 5 --holes 0" "--callgrind 5 --holes 10000001" "--cpu 1" \
	"--callgrind 5 --cpu 64" "--callgrind 5 --holes 10 --cpu 1" "--holes 10 --live 5" \
	"--holes 10 --threads 1" "--holes 10 --rounds 121"; do
	# shellcheck disable=SC2086
	err=$("$bin" $bad 2>&1 >/dev/null) && fail "'$bad' exited 0"
	[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "'$bad': not one line: $err"
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/out"
"$bin" --rounds 2 --pairs 50 --out "$dir/out/v.csv" 2>"$dir/progress" ||
	fail "small run failed: $(tail -3 "$dir/progress")"
[ "$(ls "$dir/out")" = "v.csv" ] || fail "temporary file left: $(ls "$dir/out")"
csv=$dir/out/v.csv
head -1 "$csv" | grep -q '^engine,timing_trusted,kind,virt,cpus,live,op,value,unit,seed,build,cpu_model,cores,mem_bytes,kernel,kvm$' ||
	fail "bad header"
for s in bitmap btree btree-bare freelist; do
	for op in alloc_free_pair alloc_free_pair_mean free_ranges_after; do
		n=$(grep -c "^host,true,va_op,$s,[12],\(10\|10000\),$op," "$csv")
		[ "$n" -eq 4 ] || fail "$s: want 4 $op rows (1/2 threads x 10/10000 live), got $n"
	done
done
for s in bitmap btree btree-bare freelist; do # the split ceiling: 2 threads only
	n=$(grep -c "^host,true,va_op,$s,2,\(10\|10000\),\(alloc_free_pair_split,[0-9.e+-]*,ns\|shared_over_split,[0-9.e+-]*,x\)," "$csv")
	[ "$n" -eq 4 ] || fail "$s: want 2 split and 2 shared_over_split rows at 2 threads, got $n"
done
[ "$(grep -c "^host,true,va_op,[a-z-]*,1,[0-9]*,\(alloc_free_pair_split\|shared_over_split\)," "$csv")" -eq 0 ] ||
	fail "split rows at 1 thread"
# thread_speedup(_split) at 2 threads = 2 x the 1-thread median / the 2-thread (split)
# median of the same strategy and live count, as the rows give them (%.6g each).
awk -F, '$1 == "host" { v[$4 "," $5 "," $6 "," $7] = $8 }
	END {
		n = 0
		split("bitmap btree btree-bare freelist", s, " ")
		for (i = 1; i <= 4; i++) for (l = 10; l <= 10000; l *= 1000) {
			k = s[i] ",2," l ","; t1 = v[s[i] ",1," l ",alloc_free_pair"]
			if (!((k "thread_speedup") in v) || !((k "thread_speedup_split") in v)) exit 1
			a = 2 * t1 / v[k "alloc_free_pair"]; b = 2 * t1 / v[k "alloc_free_pair_split"]
			if ((v[k "thread_speedup"] - a) ^ 2 > (1e-5 * a) ^ 2) exit 2
			if ((v[k "thread_speedup_split"] - b) ^ 2 > (1e-5 * b) ^ 2) exit 3
			n++
		}
		for (x in v) if (x ~ /,1,[0-9]*,thread_speedup/) exit 4
		if (n != 8) exit 5
	}' "$csv" || fail "thread_speedup rows missing or not 2 x t1 / t2 (awk exit $?)"
n=$(grep -c "^host,true,va_op,btree,[12],\(10\|10000\),qcache_hits,[0-9.e+-]*,%," "$csv")
[ "$n" -eq 4 ] || fail "btree: want 4 qcache_hits rows, got $n"
awk -F, '$7 == "qcache_hits" && ($8 < 0 || $8 > 100) { exit 1 }' "$csv" || fail "qcache_hits not a %"
for r in bitmap_vs_freelist,.*,speedup_bitmap btree_vs_freelist,.*,speedup_btree \
	btree-bare_vs_freelist,.*,speedup_btree-bare btree_vs_bitmap,.*,btree_over_bitmap \
	btree-bare_vs_bitmap,.*,btree-bare_over_bitmap; do
	[ "$(grep -c ",$r," "$csv")" -eq 4 ] || fail "want 4 ratio rows $r"
done
awk -F, 'NR > 1 && ($8 !~ /^[0-9.e+-]+$/ || $8 + 0 <= 0) { exit 1 }' "$csv" ||
	fail "non-numeric or non-positive value"
# One strategy: only its rows, no ratios.
"$bin" --virt btree-bare --rounds 1 --pairs 20 --out "$dir/one.csv" 2>/dev/null || fail "--virt run"
[ "$(tail -n +2 "$dir/one.csv" | cut -d, -f4 | grep -v '^machine$' | sort -u)" = "btree-bare" ] ||
	fail "--virt: other rows"
# 2 threads on 2+ cores: the cache-line round trip before and after the runs.
if [ "$(nproc)" -ge 2 ]; then
	[ "$(grep -c '^host,true,va_op,machine,2,0,c2c_roundtrip_ns_\(start\|end\),[0-9.e+]*,ns,' "$csv")" -eq 2 ] ||
		fail "want the c2c_roundtrip_ns start and end rows"
fi
# --live and --threads pick the configurations: exactly their rows.
"$bin" --virt btree-bare,bitmap --live 7,30 --threads 3 --rounds 1 --pairs 20 --out "$dir/lt.csv" \
	2>/dev/null || fail "--live/--threads run"
n=$(grep -c "^host,true,va_op,\(btree-bare\|bitmap\),3,\(7\|30\),alloc_free_pair," "$dir/lt.csv")
[ "$n" -eq 4 ] || fail "--live 7,30 --threads 3: want 4 alloc_free_pair rows, got $n"
[ "$(tail -n +2 "$dir/lt.csv" | grep -v '^host,true,va_op,machine,' | cut -d, -f5,6 | sort -u | tr '\n' ' ')" = "3,30 3,7 " ] ||
	fail "--live/--threads: rows for other configurations"
grep -q ',thread_speedup' "$dir/lt.csv" && fail "thread_speedup rows without a 1-thread run"
# --callgrind (no valgrind needed): one line per strategy and live count, nothing on stdout.
out=$("$bin" --callgrind 30 --virt btree-bare --live 5,40 2>"$dir/cg") || fail "--callgrind run"
[ -z "$out" ] || fail "--callgrind wrote to stdout"
[ "$(grep -c '^callgrind btree-bare \(5\|40\): 30 pairs counted, [0-9]* free ranges after$' "$dir/cg")" -eq 2 ] ||
	fail "--callgrind lines: $(cat "$dir/cg")"
"$bin" --callgrind 30 --virt btree-bare --live 40 --cpu 1 2>"$dir/cg1" || fail "--cpu 1 run"
grep -q '^callgrind btree-bare 40: 30 pairs counted' "$dir/cg1" || fail "--cpu 1: $(cat "$dir/cg1")"
# --holes: every other page live, so N one-page free ranges before the pairs; the
# tree's metadata grows with them, the bitmap's does not.
out=$("$bin" --callgrind 50 --holes 3000 --virt btree-bare,bitmap 2>"$dir/holes") ||
	fail "--holes run: $(cat "$dir/holes")"
[ -z "$out" ] || fail "--holes wrote to stdout"
for v in bitmap btree-bare; do
	grep -q "^holes $v 3000: 50 pairs counted, free ranges 3000 before, [0-9]* after, meta_bytes [1-9][0-9]* before, [1-9][0-9]* after$" \
		"$dir/holes" || fail "--holes $v line: $(cat "$dir/holes")"
done
# --holes timed: every default strategy holds 3000 one-page free ranges; a median per
# pair inside its interval, the ratio to the bitmap (also inside its interval, and
# within 3x of the ratio of the two medians: the same rounds), the metadata per range =
# metadata / ranges; a bad value leaves no file.
"$bin" --holes 3000 --rounds 5 --out "$dir/out/h.csv" 2>"$dir/hp" || fail "--holes run: $(tail -3 "$dir/hp")"
# the caches evicted once, after the layouts are built and before the first round
awk '/holds 3000 free ranges/ { b = NR } /caches evicted \([1-9][0-9]* MiB/ { e = NR; n++ }
	/round [0-9]+ of 5/ && !r { r = NR } END { exit !(n == 1 && b < e && e < r) }' "$dir/hp" ||
	fail "--holes: no cache eviction between the builds and the rounds: $(cat "$dir/hp")"
[ "$(ls "$dir/out" | sort | tr '\n' ' ')" = "h.csv v.csv " ] || fail "--holes: temporary file left"
awk -F, 'NR == 1 { next }
	{ v[$4 "," $7] = $8; if ($6 != 3000 || $5 != 1) exit 1 }
	END {
		split("bitmap btree btree-bare btree-bare-best", s, " ")
		for (i = 1; i <= 4; i++) {
			k = s[i] ","
			if (v[k "holes_free_ranges"] != 3000 || v[k "holes_meta_bytes"] <= 0) exit 2
			if (!(v[k "holes_pair_lo"] <= v[k "holes_pair"] && v[k "holes_pair"] <= v[k "holes_pair_hi"])) exit 3
			m = v[k "holes_meta_bytes"] / 3000
			if ((v[k "holes_meta_per_range"] - m) ^ 2 > (1e-5 * m) ^ 2) exit 4
			if (i == 1) { if ((k "holes_over_bitmap") in v) exit 5; continue }
			r = v[k "holes_over_bitmap"]
			if (!(r > 0 && v[k "holes_over_bitmap_lo"] <= r && r <= v[k "holes_over_bitmap_hi"])) exit 6
			q = r / (v[k "holes_pair"] / v["bitmap,holes_pair"]) # the median of the same rounds
			if (q < 1 / 3 || q > 3) exit 8
		}
		for (x in v) if (x ~ /^freelist,/) exit 7
	}' "$dir/out/h.csv" || fail "--holes rows wrong (awk exit $?): $(head -5 "$dir/out/h.csv")"
"$bin" --holes 3000 --rounds 121 --out "$dir/out/bad.csv" 2>/dev/null && fail "--rounds 121 accepted"
[ -e "$dir/out/bad.csv" ] && fail "a refused --holes run left its file"
# scripts/va_holes.sh (make bench): bad input exits 2; a small layout gives the rows.
MTB_BIN=${MTB_BIN:-build/bin} scripts/va_holes.sh --bogus >/dev/null 2>&1
[ $? -eq 2 ] || fail "va_holes.sh --bogus: not exit 2"
MTB_BIN=${MTB_BIN:-build/bin} scripts/va_holes.sh --holes 500 --rounds 3 --virt bitmap,btree-bare \
	--out "$dir/vh.csv" 2>/dev/null || fail "va_holes.sh run failed"
[ "$(grep -c '^host,true,va_op,\(bitmap\|btree-bare\),1,500,holes_free_ranges,500,' "$dir/vh.csv")" -eq 2 ] ||
	fail "va_holes.sh: rows: $(head -3 "$dir/vh.csv")"
# scripts/va_callgrind.sh: bad input exits 2; with valgrind, a one-row CSV.
cg=scripts/va_callgrind.sh
for bad in "--pairs 0" "--pairs 0x5" "--live 10," "--live" "--bogus" "--cpu 64" "--cpu x"; do
	# shellcheck disable=SC2086
	MTB_BIN=${MTB_BIN:-build/bin} "$cg" $bad >/dev/null 2>&1
	[ $? -eq 2 ] || fail "va_callgrind.sh $bad: not exit 2"
done
if command -v valgrind >/dev/null; then
	MTB_BIN=${MTB_BIN:-build/bin} "$cg" --pairs 100 --live 10 --cpu 1 --out "$dir/cg.csv" \
		btree-bare >/dev/null 2>&1 || fail "va_callgrind.sh run failed"
	awk -F, 'NR == 1 && $0 != "virt,live,pairs,cpu,instructions,instr_per_pair,free_ranges,build" { exit 1 }
		NR == 2 && !($1 == "btree-bare" && $2 == 10 && $3 == 100 && $4 == 1 && $6 > 10 && $7 >= 1) { exit 1 }
		END { exit NR != 2 }' "$dir/cg.csv" || fail "va_callgrind.sh CSV: $(cat "$dir/cg.csv")"
else
	echo "va_bench_test: valgrind not installed, va_callgrind.sh run not checked"
fi
# Every row carries the machine (host_ctx.h): cores, memory, kernel, KVM kind.
python3 "$(dirname "$0")/machine_csv_check.py" "$csv" || fail "machine context (above)"
echo "va_bench_test: ok ($(($(wc -l <"$csv") - 1)) rows)"
