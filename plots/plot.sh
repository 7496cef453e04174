#!/usr/bin/env bash
# plot.sh: draws every figure from a results CSV (rows2csv output) into PNG and SVG.
# Usage: plots/plot.sh [--outdir DIR] RESULTS.csv
# For each plots/*.gp, the rows it needs are pulled out by column name (plots/extract.awk)
# into DIR/NAME.dat; a figure whose rows are absent is skipped with a note, not drawn empty.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
outdir=$here
while [ $# -gt 0 ]; do
	case $1 in
	--outdir) outdir=$2; shift 2 ;;
	-h | --help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "plot: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) csv=$1; shift ;;
	esac
done
[ -n "${csv:-}" ] || { echo "plot: no results CSV given (see --help)" >&2; exit 2; }
[ -f "$csv" ] || { echo "plot: '$csv' not found" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "plot: gnuplot not installed (scripts/deps.sh)" >&2; exit 1; }
mkdir -p "$outdir"

# name | row filter (kind=...) | columns written to the .dat file
figures=(
	"frag_heap|kind=replay|trace heap jw4"
	"va_frag|kind=va_frag|workload virt reserved_over_requested free_ranges"
	"scalability|kind=scal|series cpus ops_per_s"
	"latency|kind=replay|series trace p50_ns p99_ns p999_ns max_ns"
	"phys_2m|kind=frame_churn|phys free_2m_share"
)
drawn=0
for fig in "${figures[@]}"; do
	IFS='|' read -r name filter cols <<<"$fig"
	dat=$outdir/$name.dat
	awk -v filter="$filter" -v cols="$cols" -f "$here/extract.awk" "$csv" >"$dat"
	if [ ! -s "$dat" ]; then
		echo "plot: $name: no rows with $filter in $csv, skipped"
		rm -f "$dat"
		continue
	fi
	for term in png svg; do
		gnuplot -e "dat='$dat'; out='$outdir/$name.$term'; term='$term'" "$here/common.gp" \
			"$here/$name.gp"
	done
	echo "plot: $outdir/$name.png"
	drawn=$((drawn + 1))
done
[ $drawn -gt 0 ] || { echo "plot: nothing to draw from $csv" >&2; exit 1; }
