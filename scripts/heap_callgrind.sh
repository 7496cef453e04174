#!/usr/bin/env bash
# heap_callgrind.sh: instructions per op of heap_bench's hermit64 (alloc + free of one 64 B
# object) or random_actions (--workload random_actions: Talc's random actions, sizes up to
# 1000, 2N ops untimed then 2N counted in hb_callgrind_random) for each allocator,
# counted by callgrind: deterministic, whatever the load.
# Usage: scripts/heap_callgrind.sh [--pairs N] [--workload W] [--out FILE] [HEAP...]
#   HEAP: talc slab glibc jemalloc tcmalloc mimalloc snmalloc null (default: all; snmalloc
#   when MTB_SNMALLOC_LIB names its library, README's peers). For each, one
#   heap_bench --callgrind N under valgrind --tool=callgrind
#   --toggle-collect=hb_callgrind_hermit64: a fresh instance, N pairs untimed, then N
#   pairs counted (the harness's loop, call and touch of the first and last byte
#   included: the null heap shows that share). Prints "allocator ops Ir Ir/op"; --out
#   also writes it as CSV (atomically). Needs build/bin/heap_bench and valgrind.
set -euo pipefail
. "$(dirname "$0")/out_lib.sh"
pairs=100000 out='' heaps=() wl=hermit64
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--pairs | --out | --workload)
		[ $# -ge 2 ] || { echo "heap_callgrind: $1 needs a value" >&2; exit 2; }
		case $1 in --pairs) pairs=$2 ;; --out) out=$2 ;; *) wl=$2 ;; esac
		shift 2 ;;
	-*) echo "heap_callgrind: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) heaps+=("$1"); shift ;;
	esac
done
[[ $pairs =~ ^[1-9][0-9]*$ ]] || { echo "heap_callgrind: --pairs needs a number >= 1" >&2; exit 2; }
case $wl in
hermit64) fn=hb_callgrind_hermit64 ;;
random_actions) fn=hb_callgrind_random ;;
*) echo "heap_callgrind: --workload must be hermit64 or random_actions, got '$wl'" >&2; exit 2 ;;
esac
[ ${#heaps[@]} -gt 0 ] || heaps=(talc slab glibc jemalloc tcmalloc mimalloc ${MTB_SNMALLOC_LIB:+snmalloc} null)
bin=${MTB_BIN:-build/bin}/heap_bench
[ -x "$bin" ] || { echo "heap_callgrind: $bin not built (make $bin)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "heap_callgrind: valgrind not installed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "workload,allocator,ops,instructions,ir_per_op,build" >"$tmp/rows.csv"
printf '%-10s %10s %14s %8s\n' allocator ops Ir Ir/op
for h in "${heaps[@]}"; do
	# MTB_REEXECED stops heap_bench's re-exec (which would leave valgrind behind); the
	# tunable is what that re-exec would have set.
	MTB_REEXECED=1 GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536 \
		valgrind --tool=callgrind --toggle-collect="$fn" \
		--callgrind-out-file="$tmp/cg.$h" "$bin" --callgrind "$pairs" --callgrind-wl "$wl" --heaps "$h" \
		>"$tmp/log.$h" 2>&1 || { echo "heap_callgrind: $h failed: $(grep -v '^==' "$tmp/log.$h" | tail -1)" >&2; exit 1; }
	grep -q "callgrind $h:" "$tmp/log.$h" || { echo "heap_callgrind: $h did not run: $(grep -v '^==' "$tmp/log.$h" | tail -1)" >&2; exit 1; }
	ir=$(awk '/^summary:/ { print $2 }' "$tmp/cg.$h")
	ops=$(sed -n "s/^heap_bench: callgrind $h: \([0-9]*\) ops.*/\1/p" "$tmp/log.$h")
	per=$(awk -v i="$ir" -v o="$ops" 'BEGIN { printf "%.1f", i / o }')
	printf '%-10s %10s %14s %8s\n' "$h" "$ops" "$ir" "$per"
	echo "$wl,$h,$ops,$ir,$per,${MTB_BUILD_ID:-dev}" >>"$tmp/rows.csv"
done
if [ -n "$out" ]; then
	out_install "$tmp/rows.csv" "$out" heap_callgrind || exit $?
fi
