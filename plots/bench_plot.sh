#!/usr/bin/env bash
# bench_plot.sh: draws Google Benchmark JSON (build/bin/gbench_bench --out) as
# DIR/gbench.png and .svg: ns per iteration per allocator, 1 and 2 threads; with
# repetitions (--benchmark_repetitions) the median and its 95% interval as error bars.
# Usage: plots/bench_plot.sh [--outdir DIR] GBENCH.json
# Each file is drawn into a private temp and renamed once gnuplot and every write
# succeeded: a failure (a full disk) is "bench_plot: FILE: reason", exit 1, nothing partial.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/put_lib.sh"
outdir=$here
while [ $# -gt 0 ]; do
	case $1 in
	--outdir) [ $# -ge 2 ] || { echo "bench_plot: --outdir needs a value" >&2; exit 2; }; outdir=$2; shift 2 ;;
	-h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "bench_plot: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) json=$1; shift ;;
	esac
done
[ -n "${json:-}" ] || { echo "bench_plot: no JSON file given (see --help)" >&2; exit 2; }
[ -f "$json" ] || { echo "bench_plot: '$json' not found" >&2; exit 2; }
mkdir -p "$outdir"
draw() { # TERM: gnuplot writes the figure to stdout, cat into the file
	gnuplot -e "dat='$outdir/gbench.dat'; out='/dev/stdout'; term='$1'" "$here/common.gp" "$here/gbench.gp" | cat
}
# Rows "layer subject bench t1 lo1 hi1 t2 lo2 hi2 n" (a subject = allocator; bench =
# workload; ns per iteration: the median over the repetitions and the interval
# [x(k), x(n+1-k)] of scripts/merge_reps.py's ci_k, the bounds = the median when n = 1).
dat=$(python3 - "$json" "$here/../scripts" <<'PY'
import json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[2])
from merge_reps import ci_k, median
d = json.load(open(sys.argv[1]))
t = {}
order = []
for b in d["benchmarks"]:
    if b.get("run_type", "iteration") != "iteration" or "error_occurred" in b:
        continue
    key = tuple(b["name"].split("/")[:3])
    if key not in t:
        t[key] = {}
        order.append(key)
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    t[key].setdefault(b["threads"], []).append(b["real_time"] * scale)
def cell(v):
    if not v:
        return "- - -"
    s = sorted(v)
    k, _ = ci_k(len(s))
    return "%.6g %.6g %.6g" % (median(s), s[k - 1], s[len(s) - k])
for k in order:
    n = min(len(v) for v in t[k].values())
    print(k[0], k[1], k[2], cell(t[k].get(1)), cell(t[k].get(2)), n)
PY
) || { echo "bench_plot: '$json' is not Google Benchmark JSON" >&2; exit 1; }
[ -n "$dat" ] || { echo "bench_plot: no benchmarks in $json" >&2; exit 1; }
put bench_plot "$outdir/gbench.dat" printf '%s\n' "$dat"
for term in png svg; do
	put bench_plot "$outdir/gbench.$term" draw "$term"
done
echo "bench_plot: $outdir/gbench.png"
