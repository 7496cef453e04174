#!/usr/bin/env bash
# hermit_case.sh: Hermit's own case (hermit-os/kernel issue #1984, "Poor multi-threaded
# allocation performance": 128 threads each looping `Box::new([0u64; 8])`, a zeroed
# 64 B allocation dropped at once; Linux 57 ms, Hermit 13 s on 16 cores, Talc behind one
# lock) as the hermit_box generator (workloads/core/gen.h), replayed by the host engine
# on talc (Hermit's heap), slab, null (the harness ceiling) and the peers at each CPU
# count, and by the guest under QEMU TCG (functional check: timings not trusted).
#
# Usage: scripts/hermit_case.sh [options]
#   --threads T     trace threads (default 128, as the issue)
#   --iters K       iterations (calloc(64) + free) per thread (default 4000: 1,024,000
#                   ops, about 0.1-0.3 s a run here); ops = 2 x T x K
#   --cpus LIST     CPU counts, must include 1, e.g. 1,2,4,8 (default: 1, 2, 4, ... up to
#                   the cores, and the cores); counts above the cores run oversubscribed
#                   (their rows say so)
#   --heaps LIST    default talc,slab,null,glibc,jemalloc,tcmalloc,mimalloc,snmalloc
#                   (peers not installed are left out, with a line saying so; snmalloc
#                   runs where MTB_SNMALLOC_LIB names its library, README)
#   --phys P, --virt V   strategies under talc/slab/null (default buddy, bitmap)
#   --reps N        rounds, N >= 5 (default 9); each round runs every heap once at every
#                   CPU count, the heaps' order rotated from round to round
#   --guest-cpus LIST    guest check CPU counts (default 1,2); --no-guest skips it
#   --out FILE      CSV (default results/hermit_case.csv); every raw row (host rounds,
#                   guest) goes to FILE without .csv + .jsonl; both written atomically
# Every timed run is `mtb_host --mode parallel` (1 CPU = the parallel replay on one CPU,
# the base of the speedups). CSV: one row per (heap, cpus, metric): ops_per_s (median
# over rounds), speedup_vs_1 (per-round ops/s at N / at 1), ratio_ops_per_s (heap
# "A/B": talc/slab and every heap/null, per-round ratios), each with the order-statistic
# 95% interval [x(k), x(n+1-k)] (shared/MEASUREMENT.md); guest rows: metric ops.
# Exit: 0, 1 on a failed run or a guest mismatch, 2 on bad usage; one line on stderr.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/scripts/out_lib.sh"
bin=${MTB_BIN:-$repo/build/bin}
die() { echo "hermit_case: $1" >&2; exit "${2:-2}"; }

ncores=$(nproc)
threads=128 iters=4000 cpus='' heaps=talc,slab,null,glibc,jemalloc,tcmalloc,mimalloc,snmalloc
phys=buddy virt=bitmap reps=9 guest_cpus=1,2 guest=1 out=results/hermit_case.csv
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	--threads | --iters | --cpus | --heaps | --phys | --virt | --reps | --guest-cpus | --out)
		[ $# -ge 2 ] || die "$1 needs a value"
		case $1 in
		--threads) threads=$2 ;; --iters) iters=$2 ;; --cpus) cpus=$2 ;; --heaps) heaps=$2 ;;
		--phys) phys=$2 ;; --virt) virt=$2 ;; --reps) reps=$2 ;; --guest-cpus) guest_cpus=$2 ;;
		--out) out=$2 ;;
		esac
		shift 2 ;;
	--no-guest) guest=0; shift ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
is_num() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
is_list() { [[ $1 =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]]; }
if ! is_num "$threads" || [ "$threads" -gt 65536 ]; then die "--threads must be 1..65536"; fi
is_num "$iters" || die "--iters must be a positive integer"
if ! is_num "$reps" || [ "$reps" -lt 5 ] || [ "$reps" -gt 120 ]; then die "--reps must be 5..120"; fi
if [ -z "$cpus" ]; then
	cpus=1
	for ((c = 2; c < ncores; c *= 2)); do cpus+=",$c"; done
	[ "$ncores" -gt 1 ] && cpus+=",$ncores"
fi
is_list "$cpus" || die "--cpus must be a list like 1,2,4"
[[ ,$cpus, == *,1,* ]] || die "--cpus must include 1 (the speedups' base)"
is_list "$guest_cpus" || die "--guest-cpus must be a list like 1,2"
[[ $heaps =~ ^[a-z0-9_-]+(,[a-z0-9_-]+)*$ ]] || die "--heaps must be a list like talc,slab"
[[ $out == *.csv ]] || die "--out must end in .csv"
for t in mtb_host trace; do [ -x "$bin/$t" ] || die "$bin/$t not built (make tools)" 1; done
ops=$((2 * threads * iters))

# Heaps: ours from --list's heap line, peers from its peers line; others are errors.
have=" $("$bin/mtb_host" --list | sed -n 's/^\(heap\|peers\) //p' | tr '\n' ' ') "
hl=()
for h in ${heaps//,/ }; do
	if [[ $have == *" $h "* ]]; then
		hl+=("$h")
	else
		case $h in
		glibc | jemalloc | tcmalloc | mimalloc | snmalloc) echo "hermit_case: peer $h is not available here: left out" ;;
		*) die "unknown heap $h (mtb_host --list)" ;;
		esac
	fi
done
[ ${#hl[@]} -gt 0 ] || die "no heap to run"

w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
mkdir -p "$(dirname "$out")"
rows=${out%.csv}.jsonl
trace=$w/hermit_box-T$threads-k$iters.mtb
"$bin/trace" gen hermit_box "$trace" --threads "$threads" --ops "$ops" --seed 1 >/dev/null ||
	die "trace gen hermit_box failed" 1
# The replay machine: 128 MiB on every engine (run_lib.sh wl_mem for peak live 64 B).
rmem=128
build=${MTB_BUILD_ID:-$(git -C "$repo" describe --always --dirty 2>/dev/null || echo dev)}
echo "hermit_case: $threads threads x $iters iterations = $ops ops; heaps ${hl[*]}; cpus $cpus;" \
	"$reps rounds; load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- host: rounds, heaps rotated within each ----------------------------------------
: >"$w/rows.jsonl"
for ((r = 1; r <= reps; r++)); do
	order=()
	for ((i = 0; i < ${#hl[@]}; i++)); do order+=("${hl[(i + r - 1) % ${#hl[@]}]}"); done
	echo "hermit_case: round $r/$reps: ${order[*]} (load $(cut -d' ' -f1 /proc/loadavg))"
	for h in "${order[@]}"; do
		"$bin/mtb_host" --trace "$trace" --heap "$h" --phys "$phys" --virt "$virt" \
			--mem "$rmem" --mode parallel --cpus "$cpus" --build "$build" \
			>"$w/one.jsonl" 2>"$w/err" ||
			die "mtb_host --heap $h failed: $(head -1 "$w/err")" 1
		sed "s/^{/{\"round\":$r,/" "$w/one.jsonl" >>"$w/rows.jsonl"
	done
done

# ---- guest: the same trace under QEMU TCG (functional) ------------------------------
if [ "$guest" = 1 ]; then
	if ! command -v qemu-system-x86_64 >/dev/null; then
		echo "hermit_case: qemu-system-x86_64 not installed (scripts/deps.sh): guest check skipped"
	else
		blob=$(stat -c %s "$trace")
		gmem=$(((rmem + (ops * 160 + 3 * blob) / 1048576 + 128 + 63) / 64 * 64)) # as run_lib.sh
		for h in talc slab; do
			elf=$repo/build/guest/$phys-$virt-$h/guest.elf
			[ -f "$elf" ] || die "guest $phys-$virt-$h not built (make guest PHYS=$phys VIRT=$virt HEAP=$h)" 1
			for n in ${guest_cpus//,/ }; do
				echo "hermit_case: guest $phys-$virt-$h at cpus=$n (QEMU TCG)"
				"$repo/scripts/qemu_run.sh" --cpus "$n" --mem "${gmem}M" --timeout 300 --elf "$elf" \
					--trace "$trace" --out "$w/g.jsonl" -- rmem=$rmem replay=par \
					>"$w/g.log" 2>"$w/err" ||
					die "guest $h at cpus=$n: $(head -1 "$w/err") $(grep -m1 'replay: ' "$w/g.log" || true)" 1
				sed -e "s/\"trace\":\"module0\"/\"trace\":\"$(basename "$trace")\"/" \
					-e "s/^{/{\"guest_mem_mib\":$gmem,/" "$w/g.jsonl" >>"$w/rows.jsonl"
			done
		done
	fi
fi

out_install "$w/rows.jsonl" "$rows" hermit_case || exit $?
python3 "$repo/scripts/hermit_case.py" "$w/rows.jsonl" "$out" "$ops" "$threads" || exit 1
echo "hermit_case: wrote $out and $rows (load now $(cut -d' ' -f1-3 /proc/loadavg))"
