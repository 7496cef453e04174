#!/usr/bin/env bash
# plot_test.sh: every figure is drawn from the sample results as a non-empty PNG and SVG
# (a real PNG signature, not just a file), and a CSV without matching rows is an error.
set -euo pipefail
cd "$(dirname "$0")/../.."
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
"${MTB_BIN:-build/bin}"/rows2csv --out "$t/sample.csv" results/samples/sample.jsonl
plots/plot.sh --outdir "$t" "$t/sample.csv" >"$t/log" 2>&1 || { echo "FAIL: plot.sh"; cat "$t/log"; exit 1; }
for f in frag_heap va_frag scalability latency phys_2m; do
	[ -s "$t/$f.png" ] || { echo "FAIL: $f.png missing or empty"; cat "$t/log"; exit 1; }
	[ "$(head -c 8 "$t/$f.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
		{ echo "FAIL: $f.png is not a PNG"; exit 1; }
	size=$(stat -c %s "$t/$f.png")
	[ "$size" -gt 8000 ] || { echo "FAIL: $f.png suspiciously small ($size bytes)"; exit 1; }
	grep -q '<svg' "$t/$f.svg" || { echo "FAIL: $f.svg is not SVG"; exit 1; }
done
echo 'kind,x' >"$t/empty.csv"
if plots/plot.sh --outdir "$t/e" "$t/empty.csv" 2>"$t/err"; then echo "FAIL: drew from nothing"; exit 1; fi
grep -q 'nothing to draw' "$t/err"
echo "plot_test: ok"
