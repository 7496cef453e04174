#!/usr/bin/env bash
# va_callgrind.sh: instructions per alloc+free pair of va_bench's workload (one
# thread, random sizes 4 KiB..2 MiB, a fixed number of live ranges) for each VA
# strategy and live count, counted by callgrind: deterministic, whatever the load.
# Usage: scripts/va_callgrind.sh [--pairs N] [--live LIST] [--cpu N] [--out FILE]
#                                [--annotate DIR] [VIRT...]
#   VIRT: any va_bench --virt name (default: bitmap btree-bare). For each VIRT and
#   live count (default 10,10000,100000), one va_bench --callgrind N under valgrind
#   --tool=callgrind --toggle-collect=vb_callgrind_pairs: a fresh instance, the
#   prefill and 2x live + N pairs untimed, then N pairs counted (the harness's loop
#   and random choices included). Prints "virt live pairs Ir Ir/pair free_ranges";
#   --out also writes it as CSV (atomically); --annotate DIR keeps each callgrind
#   output and its callgrind_annotate breakdown (DIR/VIRT.LIVE.txt, inclusive);
#   --cpu N names CPU N in every operation (default 0; a tree's CPU k > 0 starts
#   first fit at its zone, base + k/64 of the range).
#   Needs build/bin/va_bench (MTB_BIN overrides build/bin) and valgrind.
set -euo pipefail
. "$(dirname "$0")/out_lib.sh"
pairs=20000 live=10,10000,100000 out='' ann='' cpu=0 virts=()
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--pairs | --live | --out | --annotate | --cpu)
		[ $# -ge 2 ] || { echo "va_callgrind: $1 needs a value" >&2; exit 2; }
		case $1 in
		--pairs) pairs=$2 ;; --live) live=$2 ;; --out) out=$2 ;; --annotate) ann=$2 ;;
		--cpu) cpu=$2 ;;
		esac
		shift 2 ;;
	-*) echo "va_callgrind: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) virts+=("$1"); shift ;;
	esac
done
[[ $pairs =~ ^[1-9][0-9]*$ ]] || { echo "va_callgrind: --pairs needs a number >= 1" >&2; exit 2; }
[[ $cpu =~ ^[0-9]+$ ]] && [ "$cpu" -lt 64 ] ||
	{ echo "va_callgrind: --cpu needs a number 0..63" >&2; exit 2; }
[[ $live =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
	{ echo "va_callgrind: --live needs a comma list of numbers >= 1" >&2; exit 2; }
[ ${#virts[@]} -gt 0 ] || virts=(bitmap btree-bare)
bin=${MTB_BIN:-build/bin}/va_bench
[ -x "$bin" ] || { echo "va_callgrind: $bin not built (make $bin)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "va_callgrind: valgrind not installed" >&2; exit 1; }
[ -z "$ann" ] || mkdir -p "$ann"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "virt,live,pairs,cpu,instructions,instr_per_pair,free_ranges,build" >"$tmp/rows.csv"
printf '%-16s %8s %8s %14s %9s %11s\n' virt live pairs Ir Ir/pair free_ranges
IFS=, read -ra lives <<<"$live"
for v in "${virts[@]}"; do
	for l in "${lives[@]}"; do
		cg=$tmp/cg.$v.$l
		valgrind --tool=callgrind --toggle-collect=vb_callgrind_pairs \
			--callgrind-out-file="$cg" "$bin" --callgrind "$pairs" --virt "$v" --live "$l" --cpu "$cpu" \
			>"$tmp/log" 2>&1 ||
			{ echo "va_callgrind: $v $l failed: $(grep -v '^==' "$tmp/log" | tail -1)" >&2; exit 1; }
		line=$(grep "^callgrind $v $l:" "$tmp/log") ||
			{ echo "va_callgrind: $v $l did not run: $(grep -v '^==' "$tmp/log" | tail -1)" >&2; exit 1; }
		fr=$(sed -n 's/.*pairs counted, \([0-9]*\) free ranges after.*/\1/p' <<<"$line")
		ir=$(awk '/^summary:/ { print $2 }' "$cg")
		per=$(awk -v i="$ir" -v p="$pairs" 'BEGIN { printf "%.1f", i / p }')
		printf '%-16s %8s %8s %14s %9s %11s\n' "$v" "$l" "$pairs" "$ir" "$per" "$fr"
		echo "$v,$l,$pairs,$cpu,$ir,$per,$fr,${MTB_BUILD_ID:-dev}" >>"$tmp/rows.csv"
		if [ -n "$ann" ]; then
			cp "$cg" "$ann/$v.$l.callgrind"
			callgrind_annotate --inclusive=yes "$cg" >"$ann/$v.$l.txt" 2>/dev/null ||
				echo "va_callgrind: callgrind_annotate failed for $v $l" >&2
		fi
	done
done
if [ -n "$out" ]; then
	out_install "$tmp/rows.csv" "$out" va_callgrind || exit $?
fi
