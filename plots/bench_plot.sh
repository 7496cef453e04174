#!/usr/bin/env bash
# bench_plot.sh: draws Google Benchmark JSON (build/bin/gbench_bench --out) as
# DIR/gbench.png and .svg: ns per iteration per allocator, 1 and 2 threads.
# Usage: plots/bench_plot.sh [--outdir DIR] GBENCH.json
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
outdir=$here
while [ $# -gt 0 ]; do
	case $1 in
	--outdir) [ $# -ge 2 ] || { echo "bench_plot: --outdir needs a value" >&2; exit 2; }; outdir=$2; shift 2 ;;
	-h | --help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "bench_plot: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) json=$1; shift ;;
	esac
done
[ -n "${json:-}" ] || { echo "bench_plot: no JSON file given (see --help)" >&2; exit 2; }
[ -f "$json" ] || { echo "bench_plot: '$json' not found" >&2; exit 2; }
mkdir -p "$outdir"
# Rows "layer subject bench t1_ns t2_ns" (a subject = allocator; bench = workload).
python3 - "$json" >"$outdir/gbench.dat.tmp" <<'PY' || { rm -f "$outdir/gbench.dat.tmp"; echo "bench_plot: '$json' is not Google Benchmark JSON" >&2; exit 1; }
import json, sys
d = json.load(open(sys.argv[1]))
t = {}
order = []
for b in d["benchmarks"]:
    if b.get("run_type", "iteration") != "iteration" or "error_occurred" in b:
        continue
    parts = b["name"].split("/")
    key = tuple(parts[:3])
    if key not in t:
        t[key] = {}
        order.append(key)
    scale = {"ns": 1, "us": 1e3, "ms": 1e6}[b.get("time_unit", "ns")]
    t[key][b["threads"]] = b["real_time"] * scale
for k in order:
    print(k[0], k[1], k[2], t[k].get(1, "-"), t[k].get(2, "-"))
PY
mv "$outdir/gbench.dat.tmp" "$outdir/gbench.dat"
[ -s "$outdir/gbench.dat" ] || { echo "bench_plot: no benchmarks in $json" >&2; exit 1; }
for term in png svg; do
	gnuplot -e "dat='$outdir/gbench.dat'; out='$outdir/gbench.$term.tmp'; term='$term'" \
		"$here/common.gp" "$here/gbench.gp"
	mv "$outdir/gbench.$term.tmp" "$outdir/gbench.$term"
done
echo "bench_plot: $outdir/gbench.png"
