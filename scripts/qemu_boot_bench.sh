#!/usr/bin/env bash
# qemu_boot_bench.sh: wall time of a guest boot-and-exit (selftest) under QEMU, per machine and CPU count.
# Usage: scripts/qemu_boot_bench.sh [--runs N] [--accel tcg|kvm] [--elf FILE] [--out FILE.csv]
#   Runs scripts/qemu_run.sh N times (default 10) for pc and microvm with 1 and 4 CPUs, plus one
#   calib run per machine. CSV columns: machine,accel,cpus,runs,mean_s,min_s,max_s,calib_ns,
#   load1 (host load average at the start: this machine is shared, compare rows of one run only).
#   Default output results/qemu_boot.csv, written atomically (scripts/out_lib.sh).
set -euo pipefail
. "$(dirname "$0")/out_lib.sh"
runs=10 accel=tcg out=results/qemu_boot.csv
elf=${MTB_GUEST:-build/guest/buddy-bitmap-talc/guest.elf}
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--runs | --accel | --elf | --out)
		[ $# -ge 2 ] || { echo "qemu_boot_bench: $1 needs a value" >&2; exit 64; }
		case $1 in --runs) runs=$2 ;; --accel) accel=$2 ;; --elf) elf=$2 ;; --out) out=$2 ;; esac
		shift 2 ;;
	*) echo "qemu_boot_bench: unknown option '$1' (see --help)" >&2; exit 64 ;;
	esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "qemu_boot_bench: --runs must be a positive integer, got '$runs'" >&2; exit 64; }
[ -f "$elf" ] || { echo "qemu_boot_bench: guest ELF '$elf' not found" >&2; exit 64; }
run=$(dirname "$0")/qemu_run.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "machine,accel,cpus,runs,mean_s,min_s,max_s,calib_ns,load1" >"$tmp/csv"
for m in pc microvm; do
	"$run" --elf "$elf" --machine "$m" --accel "$accel" --out "$tmp/calib" -- calib >/dev/null ||
		{ echo "qemu_boot_bench: calib run failed on $m" >&2; exit 1; }
	calib=$(sed -n 's/.*"ns":\([0-9]*\).*/\1/p' "$tmp/calib")
	for n in 1 4; do
		load=$(cut -d' ' -f1 /proc/loadavg)
		: >"$tmp/times"
		for _ in $(seq "$runs"); do
			s=$(date +%s%N)
			"$run" --elf "$elf" --machine "$m" --accel "$accel" --cpus "$n" -- selftest >/dev/null ||
				{ echo "qemu_boot_bench: selftest failed ($m, $n cpus)" >&2; exit 1; }
			echo $(($(date +%s%N) - s)) >>"$tmp/times"
		done
		awk -v m="$m" -v a="$accel" -v n="$n" -v r="$runs" -v c="$calib" -v l="$load" \
			'{ t = $1 / 1e9; s += t; if (NR == 1 || t < lo) lo = t; if (t > hi) hi = t }
			END { printf "%s,%s,%d,%d,%.4f,%.4f,%.4f,%s,%s\n", m, a, n, r, s / NR, lo, hi, c, l }' \
			"$tmp/times" >>"$tmp/csv"
	done
done
mkdir -p "$(dirname "$out")"
out_install "$tmp/csv" "$out" qemu_boot_bench || exit $?
column -s, -t "$tmp/csv"
