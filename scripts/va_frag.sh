#!/usr/bin/env bash
# va_frag.sh: the README's "Virtual address space: fragmentation by strategy" table.
# Replays every ../shared/traces/vm/*.vmt and the synthetic mix on every VA strategy
# (build/bin/va_replay), writes OUTDIR/va_frag.jsonl and OUTDIR/va_frag.csv (atomically,
# via build/bin/rows2csv), and prints the table as Markdown on stdout.
# Usage: scripts/va_frag.sh [OUTDIR]   (default results; needs make build/bin/va_replay
# build/bin/rows2csv; MTB_SHARED overrides ../shared)
set -euo pipefail
case "${1:-}" in -h | --help)
	sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac
cd "$(dirname "$0")/.."
out=${1:-results}
bin=${MTB_BIN:-build/bin}
traces=("${MTB_SHARED:-../shared}"/traces/vm/*.vmt)
[ -r "${traces[0]}" ] || { echo "va_frag.sh: no .vmt traces in ${MTB_SHARED:-../shared}/traces/vm" >&2; exit 1; }
for t in va_replay rows2csv; do
	[ -x "$bin/$t" ] || { echo "va_frag.sh: $bin/$t not built (make $bin/$t)" >&2; exit 1; }
done
mkdir -p "$out"
args=()
for t in "${traces[@]}"; do args+=(--trace "$t"); done
build=$(git describe --always --dirty 2>/dev/null || echo unknown)
# The four strategies (btree-bare: the tree without its per-CPU caches), then the bitmap at a 64 KiB granule for comparison (slow: a
# 305 MiB bitmap for 64 TiB, scanned for the stats).
"$bin/va_replay" --virt all "${args[@]}" --gen mix --seed 1 --build "$build" \
	--out "$out/va_frag.jsonl"
"$bin/va_replay" --virt bitmap-64k "${args[@]}" --gen mix --seed 1 --build "$build" \
	--out "$out/va_frag_64k.jsonl"
# The trees with best fit beside first fit (btree-best: with the caches).
for v in btree-best btree-bare-best; do
	"$bin/va_replay" --virt "$v" "${args[@]}" --gen mix --seed 1 --build "$build" \
		--out "$out/va_frag_$v.jsonl"
done
"$bin/rows2csv" --out "$out/va_frag.csv" "$out/va_frag.jsonl" "$out/va_frag_64k.jsonl" \
	"$out/va_frag_btree-best.jsonl" "$out/va_frag_btree-bare-best.jsonl"
awk -F, '
function human(b) {
	if (b >= 2^40) return sprintf("%.1f TiB", b / 2^40)
	if (b >= 2^30) return sprintf("%.1f GiB", b / 2^30)
	if (b >= 2^20) return sprintf("%.1f MiB", b / 2^20)
	if (b >= 2^10) return sprintf("%.0f KiB", b / 2^10)
	return sprintf("%d B", b)
}
NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
{ t = $c["trace"]; sub(/\.vmt$/, "", t)
	if (t == "mix") t = "mix (synthetic, seed " $c["seed"] ")"
	if (!(t in seen)) { seen[t] = 1; order[++nt] = t }
	h = $c["qcache_hit_rate"]
	row[t, $c["virt"]] = sprintf("| %s | %s | %d | %s | %.3f | %d | %s | %s | %s | %s |", t,
		$c["virt"], $c["peak_live_ranges"], human($c["peak_requested_bytes"]),
		$c["peak_reserved_per_requested"], $c["peak_free_ranges"],
		human($c["peak_largest_free_bytes"]), human($c["peak_meta_bytes"]),
		human($c["end_meta_bytes"]), h == "" ? "-" : sprintf("%.0f%%", 100 * h)) }
END {
	print "| trace | virt | live ranges | requested | reserved / requested | free ranges | largest free | metadata | metadata at end | cache hits |"
	print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	nv = split("bitmap bitmap-64k btree btree-best btree-bare btree-bare-best freelist", v, " ")
	for (i = 1; i <= nt; i++)
		for (k = 1; k <= nv; k++)
			if ((order[i], v[k]) in row) print row[order[i], v[k]]
}' "$out/va_frag.csv"
