#!/usr/bin/env bash
# jw_frag_engines_test.sh: J&W #3 and #4 stay two different numbers in the result rows
# of the host engine and of the guest. The trace of jw_frag_test.c (3N 1-byte objects
# allocated and freed; N 64-byte objects: the peak; every other one freed; N/4 96-byte
# objects that fit no hole; all freed; N = 1024) is written as allocrec text, converted
# to .mtb by build/bin/trace, and replayed serially on 1 CPU by build/bin/mtb_host and by
# the guest under QEMU TCG, for talc and slab (a heap whose guest is not built is skipped
# with a note). Every row must have footprint_at_peak_bytes < peak_footprint_bytes and frag3 < frag4;
# host and guest rows must agree exactly on trace_hash, ops and peak_live_bytes (65536).
# Footprint values are not compared across engines. Skips (77) without QEMU.
set -u
BIN=${MTB_BIN:-build/bin}
GUEST0=${MTB_GUEST:-build/guest/buddy-bitmap-talc/guest.elf}
root=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$GUEST0" ] || { echo "SKIP: guest ELF not built (MTB_GUEST=$GUEST0)"; exit 77; }
[ -x "$BIN/mtb_host" ] && [ -x "$BIN/trace" ] || { echo "FAIL: $BIN/mtb_host or $BIN/trace not built"; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The trace: ids as in jw_frag_test.c (tiny 0..3N-1, peak 3N..4N-1, late 4N..4N+N/4-1).
awk -v N=1024 'BEGIN {
	tiny = 3 * N; late = N / 4
	printf "# allocrec trace v1 threads=1 ops=%d objects=%d peak_live=%d\n",
		2 * tiny + N + N / 2 + late + N / 2 + late, tiny + N + late, 64 * N
	for (i = 0; i < tiny; i++) printf "0 a %d 1\n", i
	for (i = 0; i < tiny; i++) printf "0 f %d\n", i
	for (i = 0; i < N; i++) printf "0 a %d 64\n", tiny + i
	for (i = 1; i < N; i += 2) printf "0 f %d\n", tiny + i
	for (i = 0; i < late; i++) printf "0 a %d 96\n", tiny + N + i
	for (i = 0; i < N; i += 2) printf "0 f %d\n", tiny + i
	for (i = 0; i < late; i++) printf "0 f %d\n", tiny + N + i
}' >"$tmp/jw.trc"
t=$tmp/jw.mtb
"$BIN/trace" convert "$tmp/jw.trc" "$t" >/dev/null || { echo "FAIL: trace convert"; exit 1; }

for heap in talc slab; do
	GUEST=${GUEST0%-*/guest.elf}-$heap/guest.elf
	[ -f "$GUEST" ] || { echo "note: $GUEST not built: $heap skipped"; continue; }
	rm -f "$tmp/host.json" "$tmp/qemu.json"
	"$BIN/mtb_host" --trace "$t" --heap $heap --cpus 1 --mode serial --out "$tmp/host.json" ||
		fail "$heap: mtb_host failed"
	"$root/scripts/qemu_run.sh" --elf "$GUEST" --cpus 1 --mem 64M --timeout 60 --trace "$t" \
		--out "$tmp/qemu.json" -- replay >"$tmp/qemu.out" 2>&1 ||
		{ fail "$heap: QEMU replay"; tail -5 "$tmp/qemu.out"; }
	python3 - "$heap" "$tmp/host.json" "$tmp/qemu.json" <<'PY' || fail "$heap: rows"
import json, sys
heap, files = sys.argv[1], sys.argv[2:]
rows = []
for f in files:
    try:
        rows += [json.loads(l) for l in open(f) if '"kind":"replay"' in l]
    except OSError:
        pass
engines = sorted(r.get("engine") for r in rows)
if engines != ["host", "qemu"]:
    print(f"  {heap}: rows from {engines}, expected host and qemu"); sys.exit(1)
bad = 0
for r in rows:
    e = r["engine"]
    if r.get("heap") != heap or r.get("mode") != "serial":
        print(f"  {heap}: {e} row: heap {r.get('heap')} mode {r.get('mode')}"); bad += 1
    if r.get("peak_live_bytes") != 65536 or r.get("ops") != 8704 or r.get("failed") != 0:
        print(f"  {heap}: {e}: peak_live_bytes {r.get('peak_live_bytes')} ops {r.get('ops')} "
              f"failed {r.get('failed')}, expected 65536, 8704, 0"); bad += 1
    fp3, fp4, f3, f4 = (r.get(k) for k in ("footprint_at_peak_bytes", "peak_footprint_bytes", "frag3", "frag4"))
    if None in (fp3, fp4, f3, f4) or not fp3 < fp4:
        print(f"  {heap}: {e}: footprint_at_peak_bytes {fp3} not below peak_footprint_bytes {fp4}"); bad += 1
    if None in (f3, f4) or not f3 < f4:
        print(f"  {heap}: {e}: frag3 {f3} not below frag4 {f4} (J&W #3 == #4?)"); bad += 1
h, g = sorted(rows, key=lambda r: r["engine"])
for k in ("trace_hash", "ops", "peak_live_bytes"):
    if h.get(k) != g.get(k):
        print(f"  {heap}: {k}: host {h.get(k)} != qemu {g.get(k)}"); bad += 1
print(f"{'FAIL' if bad else 'ok'}: {heap}: " + "; ".join(
    f"{r['engine']}: footprint_at_peak_bytes={r.get('footprint_at_peak_bytes')} peak_footprint_bytes="
    f"{r.get('peak_footprint_bytes')} frag3={r.get('frag3')} frag4={r.get('frag4')}" for r in (h, g)))
sys.exit(1 if bad else 0)
PY
done
[ $fails -eq 0 ] || { echo "jw_frag_engines_test: $fails failure(s)"; exit 1; }
echo "jw_frag_engines_test: ok"
