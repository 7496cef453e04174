#!/usr/bin/env bash
# plot.sh: draws every figure from a results CSV (rows2csv output) into PNG and SVG.
# Usage: plots/plot.sh [--outdir DIR] RESULTS.csv
# For each plots/*.gp, the rows it needs are pulled out by column name (plots/extract.awk)
# into DIR/NAME.dat; a figure whose rows are absent is skipped with a note, not drawn empty.
# PLOT_SCAL_WL (default larson) and PLOT_LAT_WL (default gnu-as) pick the workload of the
# scalability, latency and metadata figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
outdir=$here
while [ $# -gt 0 ]; do
	case $1 in
	--outdir) outdir=$2; shift 2 ;;
	-h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "plot: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) csv=$1; shift ;;
	esac
done
[ -n "${csv:-}" ] || { echo "plot: no results CSV given (see --help)" >&2; exit 2; }
[ -f "$csv" ] || { echo "plot: '$csv' not found" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "plot: gnuplot not installed (scripts/deps.sh)" >&2; exit 1; }
mkdir -p "$outdir"

# name | row filter (column=value,...) | columns written to the .dat file | first=K
scal=${PLOT_SCAL_WL:-larson} lat=${PLOT_LAT_WL:-gnu-as}
figures=(
	"frag_heap|kind=replay,cpus=1|wl heap frag4|2"
	"va_frag|kind=va_frag|wl virt peak_reserved_per_requested peak_free_ranges peak_meta_bytes|2"
	"scalability|kind=replay,mode=parallel,wl=$scal|series cpus ops_per_s|2"
	"latency|kind=replay,cpus=1,wl=$lat|series lat_p50_ns lat_p99_ns lat_p999_ns lat_max_ns|1"
	"meta|kind=replay,cpus=1,wl=$lat|series heap_meta_bytes va_meta_bytes phys_meta_bytes|1"
	"phys_2m|kind=frame_churn|variant phys free_2m_share|2"
)
drawn=0
for fig in "${figures[@]}"; do
	IFS='|' read -r name filter cols first <<<"$fig"
	dat=$outdir/$name.dat
	awk -v filter="$filter" -v cols="$cols" -v first="${first:-0}" -f "$here/extract.awk" "$csv" >"$dat"
	if [ ! -s "$dat" ]; then
		echo "plot: $name: no rows with $filter in $csv, skipped"
		rm -f "$dat"
		continue
	fi
	for term in png svg; do
		gnuplot -e "dat='$dat'; out='$outdir/$name.$term.tmp'; term='$term'" \
			-e "scalwl='$scal'; latwl='$lat'" "$here/common.gp" "$here/$name.gp"
		mv "$outdir/$name.$term.tmp" "$outdir/$name.$term"
	done
	echo "plot: $outdir/$name.png"
	drawn=$((drawn + 1))
done
[ $drawn -gt 0 ] || { echo "plot: nothing to draw from $csv" >&2; exit 1; }
