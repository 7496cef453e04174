#!/usr/bin/env bash
# va_holes.sh: the VA allocators' adversarial layout for `make bench` (issue 14): every
# other page live, 1,000,000 one-page free ranges between 1,000,000 live pages, the
# worst case for the B+-trees' metadata (an entry per free range) against the bitmap's
# fixed one; then pairs on it (free a random live page, allocate one page), timed with
# the strategies interleaved round by round (va_bench --holes; its --help says what
# each row means).
# Usage: scripts/va_holes.sh [--holes N] [--rounds N] [--virt LIST] [--out FILE]
#   --holes N     free ranges of the layout (default 1000000)
#   --rounds N    timed rounds, at most 120 (default 51)
#   --virt LIST   strategies (default bitmap,btree,btree-bare,btree-bare-best)
#   --out FILE    CSV, written atomically (default results/va_holes.csv)
# Exit: 0, 1 when va_bench fails, 2 on bad usage; one line on stderr.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${MTB_BIN:-$repo/build/bin}/va_bench
die() { echo "va_holes: $1" >&2; exit "${2:-2}"; }
holes=1000000 rounds=51 virt=bitmap,btree,btree-bare,btree-bare-best out=results/va_holes.csv
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--holes | --rounds | --virt | --out)
		[ $# -ge 2 ] || die "$1 needs a value"
		case $1 in
		--holes) holes=$2 ;; --rounds) rounds=$2 ;; --virt) virt=$2 ;; --out) out=$2 ;;
		esac
		shift 2 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done
[ -x "$bin" ] || die "$bin not built (make $bin)" 1
# va_bench checks every value (one line, exit 2) and writes the file atomically.
exec "$bin" --holes "$holes" --rounds "$rounds" --virt "$virt" --out "$out"
