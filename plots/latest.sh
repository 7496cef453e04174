#!/usr/bin/env bash
# latest.sh (`make plots`): redraws every figure of the latest sweep, RESULTS/latest/rows.csv,
# into RESULTS/latest/plots/ (plots/plot.sh) and refreshes the figures in TO with them
# (each file copied to a private temp and renamed: a reader never sees half a figure);
# gbench's too (plots/bench_plot.sh) when RESULTS/gbench.json exists. A sweep run with
# `run.sh --out DIR` is not the latest one: redraw it with
# `plots/plot.sh --outdir DIR/plots DIR/rows.csv`, which never writes into plots/.
# Usage: plots/latest.sh [--results DIR] [--to DIR]   (defaults: results/ and plots/)
# Exit 2: no sweep there (run `make run` first); 1: a figure or a copy failed (one line).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
res=$here/../results to=$here
while [ $# -gt 0 ]; do
	case $1 in
	--results | --to)
		[ $# -ge 2 ] || { echo "plots: $1 needs a value" >&2; exit 2; }
		[ "$1" = --to ] && to=$2 || res=$2
		shift 2 ;;
	-h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "plots: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
run=$res/latest
[ -f "$run/rows.csv" ] || { echo "plots: $run/rows.csv: no sweep results (run \`make run\` first)" >&2; exit 2; }
"$here/plot.sh" --outdir "$run/plots" "$run/rows.csv"
mkdir -p "$to"
for f in "$run"/plots/*.png "$run"/plots/*.svg; do
	[ -f "$f" ] || continue
	t=$to/.${f##*/}.tmp.$$
	m=$( { cp "$f" "$t" && mv "$t" "$to/${f##*/}"; } 2>&1) || {
		rm -f "$t"
		echo "plots: $to/${f##*/}: ${m##*: }" >&2
		exit 1
	}
done
echo "plots: figures of $(cd "$run" && pwd -P) in $run/plots and $to"
if [ -f "$res/gbench.json" ]; then
	"$here/bench_plot.sh" --outdir "$to" "$res/gbench.json"
fi
