#!/usr/bin/env bash
# plot.sh: draws every figure from a results CSV (rows2csv output) into PNG and SVG.
# Usage: plots/plot.sh [--outdir DIR] RESULTS.csv   (default DIR: plots/ of the repository)
# For each figure its rows are pulled out by column name (plots/extract.awk) or computed
# like the report's verdicts (plots/timing_dat.py: per-round ratios, medians, intervals)
# into DIR/NAME.dat; a figure whose rows are absent is skipped with a note, not drawn
# empty. Timing figures carry 95% error bars. Latency and metadata have one panel per
# workload: every workload with (trusted, for latency) serial rows, or those named in
# PLOT_LAT_WL (space separated); PLOT_SCAL_WL (default: all) the scalability panels.
# Reference lines are keyed plot clauses, each named in the legend.
# Every file is drawn into a private temp (NAME.EXT.tmp.PID) and renamed only once
# gnuplot and every write succeeded: a failure (a full disk) leaves no partial figure,
# prints "plot: FILE: reason" and exits 1. Exit 3: no figure had rows (nothing written).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/put_lib.sh"
outdir=$here
while [ $# -gt 0 ]; do
	case $1 in
	--outdir)
		[ $# -ge 2 ] || { echo "plot: --outdir needs a value" >&2; exit 2; }
		outdir=$2; shift 2 ;;
	-h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "plot: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) csv=$1; shift ;;
	esac
done
[ -n "${csv:-}" ] || { echo "plot: no results CSV given (see --help)" >&2; exit 2; }
[ -f "$csv" ] || { echo "plot: '$csv' not found" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "plot: gnuplot not installed (scripts/deps.sh)" >&2; exit 1; }
mkdir -p "$outdir"

# Timing rows: those whose timing is trusted (the host engine's; a guest's under TCG or
# emulated KVM are not). An interval bound falls back to the median (one repetition).
ci() { echo "$1 $1_ci_lo:$1 $1_ci_hi:$1"; }
serial=kind=replay,cpus=1,mode=serial
wls() { awk -v filter="$1" -v cols=wl -f "$here/extract.awk" "$csv" | awk '!s[$0]++' | tr '\n' ' '; }
lat=${PLOT_LAT_WL:-$(wls "$serial,timing_trusted=true")}
meta_wl=${PLOT_LAT_WL:-$(wls "$serial")}
scal=${PLOT_SCAL_WL:-}
# name | source: rows filter (column=value,...) or py:MODE (timing_dat.py) | columns | first=K
figures=(
	"frag_heap|kind=replay,cpus=1,mode=serial|wl heap frag4|2"
	"va_frag|kind=va_frag|wl virt peak_reserved_per_requested peak_free_ranges peak_meta_bytes|2"
	"speed|py:speed||"
	"scalability|py:scal||"
	"latency|$serial,timing_trusted=true|wl series $(ci lat_p50_ns) $(ci lat_p99_ns) $(ci lat_p999_ns) lat_ex_p99_ns:=-|2"
	"meta|$serial|wl series heap_meta_bytes va_meta_bytes phys_meta_bytes|2"
	"phys_2m|kind=frame_churn|variant phys free_2m_share|2"
)
draw() { # NAME TERM DAT: gnuplot writes the figure to stdout, cat into the file
	gnuplot -e "dat='$3'; out='/dev/stdout'; term='$2'" -e "latwls='$lat'; metawls='$meta_wl'" \
		"$here/common.gp" "$here/$1.gp" | cat
}
dat_py() { python3 "$here/timing_dat.py" "$@"; }
dat_awk() { awk -v filter="$1" -v cols="$2" -v first="$3" -f "$here/extract.awk" "$csv"; }
drawn=0
for fig in "${figures[@]}"; do
	IFS='|' read -r name filter cols first <<<"$fig"
	dat=$outdir/$name.dat
	case $filter in
	py:*)
		only=()
		[ "$name" = scalability ] && read -ra only <<<"$scal"
		rows=$(dat_py "${filter#py:}" "$csv" "${only[@]}") || { echo "plot: $name: timing_dat.py failed" >&2; exit 1; } ;;
	*) rows=$(dat_awk "$filter" "$cols" "${first:-0}") || { echo "plot: $name: extract.awk failed" >&2; exit 1; } ;;
	esac
	if [ -z "$rows" ]; then
		echo "plot: $name: no rows for it ($filter) in $csv, skipped"
		rm -f "$dat"
		continue
	fi
	put plot "$dat" printf '%s\n' "$rows"
	for term in png svg; do
		put plot "$outdir/$name.$term" draw "$name" "$term" "$dat"
	done
	echo "plot: $outdir/$name.png"
	drawn=$((drawn + 1))
done
[ $drawn -gt 0 ] || { echo "plot: nothing to draw from $csv" >&2; exit 3; }
