#!/usr/bin/env bash
# bench.sh: runs each benchmark given (a binary, or a script NAME.sh such as
# scripts/hermit_case.sh), writing results/NAME.csv atomically (gbench_bench:
# results/gbench.json, Google Benchmark's JSON, plus plots/gbench.png).
# Usage: scripts/bench.sh BENCH...   Each benchmark takes --out FILE and prints progress.
# MTB_BUILD_ID (the rows' build column) defaults to `git describe --always --dirty`.
set -euo pipefail
case "${1:-}" in -h | --help)
	sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p results
MTB_BUILD_ID=${MTB_BUILD_ID:-$(git describe --always --dirty 2>/dev/null || echo dev)}
export MTB_BUILD_ID
for b in "$@"; do
	name=$(basename "$b" .sh)
	echo "bench: $name"
	case $name in
	gbench_bench)
		"$b" --out results/gbench.json
		"$here/plots/bench_plot.sh" --outdir "$here/plots" results/gbench.json
		;;
	*) "$b" --out "results/$name.csv" ;;
	esac
done
