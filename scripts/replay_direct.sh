#!/usr/bin/env bash
# replay_direct.sh: does a parallel replay scale as the allocator does? Each peer's 1 -> 2
# CPU speedup replaying the generated larson and threadtest (mtb_host --mode parallel)
# beside its speedup in heap_bench's direct version of the same workload. The two run as
# a pair a few seconds apart (direct, then replay; the heaps' order rotated from rep to
# rep), and each run records the cache-line round trip between CPUs 0 and 1 it saw
# (c2c_roundtrip_ns): where a VM's vCPUs move between near and far cores, every 2-CPU
# figure follows that value, so the pairs whose two round trips agree within 25% ("like")
# are summarised apart from all pairs.
#
# Usage: scripts/replay_direct.sh [options]
#   --heaps LIST      peers (default glibc,jemalloc,tcmalloc,mimalloc; one not installed is
#                     left out with a line saying so)
#   --workloads LIST  larson, threadtest (default both)
#   --ops N           replay ops (default 4000000); heap_bench's larson epochs are N/8 ops,
#                     as the generated trace's
#   --duration-ms N   heap_bench's timed part of each run (default 200)
#   --reps N          pairs per (heap, workload), N >= 6 (default 15)
#   --out FILE        CSV (default results/replay_direct.csv); every raw row (replay rows
#                     and heap_bench rows, each with its rep) goes to FILE without .csv +
#                     .jsonl; both written atomically
# CSV: one row per (heap, workload, pairs, metric), pairs = all or like: speedup_direct,
# speedup_replay, replay_over_direct (median of the per-pair ratios; the issue's "within
# 15%" reads this), with the order-statistic 95% interval [x(k), x(n+1-k)]
# (shared/MEASUREMENT.md) and the round trips' span.
# Exit: 0, 1 on a failed run, 2 on bad usage; one line on stderr.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/scripts/out_lib.sh"
bin=${MTB_BIN:-$repo/build/bin}
die() { echo "replay_direct: $1" >&2; exit "${2:-2}"; }

heaps=glibc,jemalloc,tcmalloc,mimalloc wls=larson,threadtest ops=4000000 dur=200 reps=15
out=results/replay_direct.csv
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	--heaps | --workloads | --ops | --duration-ms | --reps | --out)
		[ $# -ge 2 ] || die "$1 needs a value"
		case $1 in
		--heaps) heaps=$2 ;; --workloads) wls=$2 ;; --ops) ops=$2 ;; --duration-ms) dur=$2 ;;
		--reps) reps=$2 ;; --out) out=$2 ;;
		esac
		shift 2 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
is_num() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
if ! is_num "$ops" || [ "$ops" -lt 8000 ] || [ "$ops" -gt 1000000000 ]; then
	die "--ops must be 8000..1000000000"
fi
if ! is_num "$dur" || [ "$dur" -gt 60000 ]; then die "--duration-ms must be 1..60000"; fi
if ! is_num "$reps" || [ "$reps" -lt 6 ] || [ "$reps" -gt 200 ]; then die "--reps must be 6..200"; fi
[[ $wls =~ ^(larson|threadtest)(,(larson|threadtest))*$ ]] ||
	die "--workloads must be a list of larson, threadtest"
[[ $heaps =~ ^[a-z0-9_-]+(,[a-z0-9_-]+)*$ ]] || die "--heaps must be a list like glibc,tcmalloc"
[[ $out == *.csv ]] || die "--out must end in .csv"
for t in mtb_host heap_bench; do [ -x "$bin/$t" ] || die "$bin/$t not built (make tools)" 1; done

# Peers from mtb_host --list's peers line (heap_bench loads the same libraries).
have=" $("$bin/mtb_host" --list | sed -n 's/^peers //p') "
hl=()
for h in ${heaps//,/ }; do
	case $h in
	glibc | jemalloc | tcmalloc | mimalloc | snmalloc)
		if [[ $have == *" $h "* ]]; then hl+=("$h"); else
			echo "replay_direct: peer $h is not available here: left out"
		fi ;;
	*) die "unknown peer $h (glibc, jemalloc, tcmalloc, mimalloc, snmalloc)" ;;
	esac
done
[ ${#hl[@]} -gt 0 ] || die "no peer to run"

w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
mkdir -p "$(dirname "$out")"
build=${MTB_BUILD_ID:-$(git -C "$repo" describe --always --dirty 2>/dev/null || echo dev)}
export MTB_BUILD_ID=$build
echo "replay_direct: ${hl[*]} on ${wls//,/ }; $ops replay ops, ${dur} ms direct runs; $reps pairs" \
	"each; load $(cut -d' ' -f1-3 /proc/loadavg)"

: >"$w/rows.jsonl"
for ((r = 1; r <= reps; r++)); do
	order=()
	for ((i = 0; i < ${#hl[@]}; i++)); do order+=("${hl[(i + r - 1) % ${#hl[@]}]}"); done
	echo "replay_direct: pair $r/$reps: ${order[*]} (load $(cut -d' ' -f1 /proc/loadavg))"
	for h in "${order[@]}"; do
		"$bin/heap_bench" --out "$w/hb.csv" --rounds 1 --only "$wls" --heaps "$h" \
			--epoch-ops $((ops / 8)) --duration-ms "$dur" --warmup-ms $(((dur + 3) / 4)) \
			>"$w/log" 2>&1 || die "heap_bench --heaps $h failed: $(tail -1 "$w/log")" 1
		python3 "$repo/scripts/replay_direct.py" --csv-rows "$w/hb.csv" "$h" "$r" >>"$w/rows.jsonl"
		for wl in ${wls//,/ }; do
			"$bin/mtb_host" --gen "$wl" --ops "$ops" --heap "$h" --cpus 1,2 --mode parallel \
				--build "$build" >"$w/one.jsonl" 2>"$w/err" ||
				die "mtb_host --gen $wl --heap $h failed: $(head -1 "$w/err")" 1
			sed "s/^{/{\"rep\":$r,/" "$w/one.jsonl" >>"$w/rows.jsonl"
		done
	done
done
out_install "$w/rows.jsonl" "${out%.csv}.jsonl" replay_direct || exit $?
python3 "$repo/scripts/replay_direct.py" "$w/rows.jsonl" "$out" "$ops" || exit 1
echo "replay_direct: wrote $out and ${out%.csv}.jsonl (load now $(cut -d' ' -f1-3 /proc/loadavg))"
