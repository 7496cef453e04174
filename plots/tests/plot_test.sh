#!/usr/bin/env bash
# plot_test.sh: every figure is drawn from the sample results as a non-empty PNG and SVG
# (a real PNG signature, not just a file), and a CSV without matching rows is an error.
set -euo pipefail
cd "$(dirname "$0")/../.."
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
"${MTB_BIN:-build/bin}"/rows2csv --out "$t/sample.csv" results/samples/sample.jsonl
plots/plot.sh --outdir "$t" "$t/sample.csv" >"$t/log" 2>&1 || { echo "FAIL: plot.sh"; cat "$t/log"; exit 1; }
for f in frag_heap va_frag scalability latency meta phys_2m; do
	[ -s "$t/$f.png" ] || { echo "FAIL: $f.png missing or empty"; cat "$t/log"; exit 1; }
	[ "$(head -c 8 "$t/$f.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
		{ echo "FAIL: $f.png is not a PNG"; exit 1; }
	size=$(stat -c %s "$t/$f.png")
	[ "$size" -gt 8000 ] || { echo "FAIL: $f.png suspiciously small ($size bytes)"; exit 1; }
	grep -q '<svg' "$t/$f.svg" || { echo "FAIL: $f.svg is not SVG"; exit 1; }
	[ -s "$t/$f.dat" ] || { echo "FAIL: $f.dat empty"; exit 1; }
done
# The .dat files hold what the figures show: frag_heap one row per (workload, heap).
[ "$(awk '{print $1, $2}' "$t/frag_heap.dat" | sort | uniq -d | wc -l)" -eq 0 ] ||
	{ echo "FAIL: frag_heap.dat has duplicate (workload, heap) rows"; exit 1; }
grep -q '^gnu-as talc ' "$t/frag_heap.dat" || { echo "FAIL: frag_heap.dat lacks gnu-as/talc"; exit 1; }
[ "$(grep -c . "$t/scalability.dat")" -ge 4 ] || { echo "FAIL: scalability.dat too short"; exit 1; }
ls "$t"/*.tmp 2>/dev/null && { echo "FAIL: temporary files left"; exit 1; }
if [ -x "${MTB_BIN:-build/bin}/gbench_bench" ] || [ -f results/samples/gbench.json ]; then
	plots/bench_plot.sh --outdir "$t" results/samples/gbench.json >"$t/blog" 2>&1 ||
		{ echo "FAIL: bench_plot.sh"; cat "$t/blog"; exit 1; }
	[ "$(head -c 8 "$t/gbench.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
		{ echo "FAIL: gbench.png is not a PNG"; exit 1; }
fi
echo 'kind,x' >"$t/empty.csv"
if plots/plot.sh --outdir "$t/e" "$t/empty.csv" >/dev/null 2>"$t/err"; then echo "FAIL: drew from nothing"; exit 1; fi
grep -q 'nothing to draw' "$t/err"
plots/plot.sh --bogus 2>"$t/err2" && { echo "FAIL: bad flag accepted"; exit 1; }
[ "$(wc -l <"$t/err2")" -eq 1 ] || { echo "FAIL: bad flag: not one line"; exit 1; }
echo "plot_test: ok"
