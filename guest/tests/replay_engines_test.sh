#!/usr/bin/env bash
# replay_engines_test.sh: one small trace, the same deterministic metrics from every
# engine, for the talc and the slab guest of $MTB_GUEST's PHYS-VIRT pair (a heap whose
# guest is not built is skipped with a note). Two generated traces (random_actions: reallocs; larson: cross-thread frees)
# are replayed in serial mode on 2 CPUs by the host engine (build/bin/mtb_host), by the
# guest under our VMM (/dev/kvm) and by the guest under QEMU TCG (-initrd). Compared:
#   host vs each guest: trace_hash, ops, allocs, frees, reallocs, failed,
#     cross_cpu_frees, peak_live, live_end_objects, live_end_bytes (heap-independent),
#     and the footprint fields below when mtb_host has the guest's heap (talc, slab on
#     buddy + bitmap, --fixed-heap 2 MiB as in a 64 MiB guest) and the guest is
#     buddy-bitmap-HEAP;
#   VMM guest vs QEMU guest (same heap): all of those plus footprint_at_peak, frag3,
#     peak_footprint, frag4, footprint_end, heap_frames, heap_va_bytes, heap_remote_frees.
# An engine that is not available here (no /dev/kvm, no QEMU) is skipped with a note;
# the test skips (77) only when neither guest engine can run.
set -u
BIN=${MTB_BIN:-build/bin}
VMM=${MTB_VMM:-build/bin/vmm}
GUEST0=${MTB_GUEST:-build/guest/buddy-bitmap-talc/guest.elf}
root=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$GUEST0" ] || { echo "SKIP: guest ELF not built (MTB_GUEST=$GUEST0)"; exit 77; }
[ -x "$BIN/mtb_host" ] && [ -x "$BIN/trace" ] || { echo "FAIL: $BIN/mtb_host or $BIN/trace not built"; exit 1; }
kvm=false qemu=false
[ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null && [ -x "$VMM" ] && kvm=true
command -v qemu-system-x86_64 >/dev/null && qemu=true
$kvm || echo "note: /dev/kvm cannot be opened: the VMM engine is skipped"
$qemu || echo "note: qemu-system-x86_64 not installed: the QEMU engine is skipped"
$kvm || $qemu || { echo "SKIP: no guest engine (neither /dev/kvm nor QEMU)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
for heap in talc slab; do
GUEST=${GUEST0%-*/guest.elf}-$heap/guest.elf
[ -f "$GUEST" ] || { echo "note: $GUEST not built: $heap skipped"; continue; }
host_heap=libc
"$BIN/mtb_host" --help | grep -q "heap: .*\b$heap\b" && host_heap=$heap
for gen in random_actions larson; do
	t=$tmp/$gen.mtb
	"$BIN/trace" gen $gen "$t" --ops 1500 --threads 2 --seed 11 >/dev/null || { fail "trace gen $gen"; continue; }
	"$BIN/mtb_host" --trace "$t" --heap $host_heap --cpus 2 --mode serial --out "$tmp/host.json" ||
		fail "$gen: mtb_host failed"
	rows=("$tmp/host.json")
	if $kvm; then
		s=$(date +%s.%N)
		"$VMM" --cpus 2 --mem 64M --timeout 240 --trace "$t" --out "$tmp/kvm.json" "$GUEST" -- replay \
			>"$tmp/kvm.out" 2>&1 || { fail "$gen: VMM replay"; tail -5 "$tmp/kvm.out"; }
		echo "== $heap: $gen under the VMM: wall $(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s," \
			"$(grep -h 'VM exits' "$tmp/kvm.out" | sed 's/^vmm: //')"
		rows+=("$tmp/kvm.json")
	fi
	if $qemu; then
		"$root/scripts/qemu_run.sh" --elf "$GUEST" --cpus 2 --mem 64M --timeout 60 --trace "$t" \
			--out "$tmp/qemu.json" -- replay >"$tmp/qemu.out" 2>&1 || { fail "$gen: QEMU replay"; tail -5 "$tmp/qemu.out"; }
		rows+=("$tmp/qemu.json")
	fi
	python3 - "$gen" "$host_heap" "${rows[@]}" <<'PY' || fail "$gen: engines disagree"
import json, sys
gen, host_heap, files = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = []
for f in files:
    try:
        rows += [json.loads(l) for l in open(f) if '"kind":"replay"' in l]
    except OSError:
        pass
base = ["trace_hash", "ops", "allocs", "frees", "reallocs", "failed", "cross_cpu_frees",
        "peak_live", "live_end_objects", "live_end_bytes"]
heapf = ["footprint_at_peak", "frag3", "peak_footprint", "frag4", "footprint_end",
         "heap_frames", "heap_va_bytes", "heap_remote_frees"]
host = [r for r in rows if r.get("engine") == "host"]
guests = [r for r in rows if r.get("engine") in ("kvm", "qemu")]
bad = 0
def cmp(a, b, keys):
    global bad
    for k in keys:
        if a.get(k) != b.get(k):
            print(f"  {gen}: {k}: {a['engine']} {a.get(k)} != {b['engine']} {b.get(k)}")
            bad += 1
if len(host) != 1 or not guests:
    print(f"  {gen}: rows missing: {len(host)} host, {len(guests)} guest"); sys.exit(1)
for g in guests:
    same = host_heap == g["heap"] and host[0]["combo"] == g["combo"]
    cmp(host[0], g, base + (heapf if same else []))
    if g["mode"] != "serial" or g["cpus"] != 2 or g["ops"] != host[0]["ops"]:
        print(f"  {gen}: {g['engine']} row: mode {g['mode']} cpus {g['cpus']}"); bad += 1
if len(guests) == 2:
    cmp(guests[0], guests[1], base + heapf)
print(f"ok: {guests[0]['heap']}: {gen}: " + ", ".join(r["engine"] for r in rows) + " agree on " +
      ", ".join(f"{k}={host[0][k]}" for k in ["ops", "peak_live", "cross_cpu_frees"]) +
      (f"; guests on footprint_at_peak={guests[0]['footprint_at_peak']}, frag3={guests[0]['frag3']}, "
       f"frag4={guests[0]['frag4']}" if len(guests) == 2 else "") +
      (" (host too)" if host[0]["combo"] == guests[0]["combo"] else
       f" (host {host[0]['combo']}: footprints not compared with it)"))
sys.exit(1 if bad else 0)
PY
done
done
[ $fails -eq 0 ] || { echo "replay_engines_test: $fails failure(s)"; exit 1; }
echo "replay_engines_test: ok"
