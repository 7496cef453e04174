#!/usr/bin/env bash
# bench.sh: runs each benchmark binary given, writing results/NAME.csv atomically.
# Usage: scripts/bench.sh BENCH...   Each benchmark takes --out FILE and prints progress.
set -euo pipefail
case "${1:-}" in -h | --help)
	sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac
mkdir -p results
for b in "$@"; do
	name=$(basename "$b")
	echo "bench: $name"
	"$b" --out "results/$name.csv"
done
