#!/usr/bin/env bash
# replay_engines_test.sh: the same deterministic metrics from every engine. Two generated
# traces (random_actions: reallocs and alignments; larson: cross-thread frees) and one
# where J&W #3 != #4 are replayed in serial mode on 2 CPUs by the host engine
# (build/bin/mtb_host --mem 64) and by the guest with rmem=64 under our VMM (/dev/kvm)
# and under QEMU TCG (-initrd), for the talc, slab and null heaps on $MTB_GUEST's
# PHYS-VIRT pair. scripts/crosscheck.py then compares every field that is not timing or
# context (heap, frame allocator, VA allocator, page-table edits: over 40 per pair); a
# parallel replay on 2 CPUs is compared on the fields the trace fixes. Negative controls:
# MTB_PERTURB=FIELD in the host engine's environment and perturb=FIELD on the guest's
# command line each add one unit to one metric, and the comparison must fail. An engine that is not available here is skipped
# with a note; the test skips (77) only when neither guest engine can run.
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
pv=$(basename "$(dirname "$GUEST0")")
pv=${pv%-*}
for gen in random_actions larson; do
	"$BIN/trace" gen $gen "$tmp/$gen.mtb" --ops 1500 --threads 2 --seed 11 >/dev/null || fail "trace gen $gen"
done
# A trace where the footprint at peak live is below the peak footprint (J&W #3 < #4):
# 512 objects of 64 B (the peak), every other one freed, then 128 of 96 B.
awk 'BEGIN { n = 0
	for (i = 0; i < 512; i++) print "0 a " i " 64"
	for (i = 1; i < 512; i += 2) print "0 f " i
	for (i = 0; i < 128; i++) print "0 a " 512 + i " 96" }' >"$tmp/jw.trc"
"$BIN/trace" convert "$tmp/jw.trc" "$tmp/jw.mtb" >/dev/null || fail "trace convert jw"
rows=()
for heap in talc slab null; do
	g=$heap args=()
	[ $heap = null ] && g=talc args=(heap=null)
	GUEST=$(dirname "$(dirname "$GUEST0")")/$pv-$g/guest.elf
	[ -f "$GUEST" ] || { echo "note: $GUEST not built: $heap skipped"; continue; }
	for t in random_actions larson jw; do
		for mode in serial parallel; do
			m=replay
			[ $mode = parallel ] && m=replay=par
			[ $mode = parallel ] && [ $t != larson ] && continue
			out=$tmp/$heap.$t.$mode
			"$BIN/mtb_host" --trace "$tmp/$t.mtb" --heap $heap --phys "${pv%-*}" --virt "${pv#*-}" \
				--cpus 2 --mode $mode --mem 64 --out "$out.host" || fail "$heap $t: mtb_host"
			rows+=("$out.host")
			if $kvm; then
				"$VMM" --cpus 2 --mem 160M --timeout 240 --trace "$tmp/$t.mtb" --out "$out.kvm" "$GUEST" \
					-- rmem=64 $m "${args[@]}" >"$out.kvm.log" 2>&1 || { fail "$heap $t: VMM replay"; tail -3 "$out.kvm.log"; }
				rows+=("$out.kvm")
			fi
			if $qemu; then
				"$root/scripts/qemu_run.sh" --elf "$GUEST" --cpus 2 --mem 160M --timeout 120 \
					--trace "$tmp/$t.mtb" --out "$out.qemu" -- rmem=64 $m "${args[@]}" >"$out.qemu.log" 2>&1 ||
					{ fail "$heap $t: QEMU replay"; tail -3 "$out.qemu.log"; }
				rows+=("$out.qemu")
			fi
		done
	done
done
ls "${rows[@]}" >/dev/null 2>&1 || fail "rows missing"
if python3 "$root/scripts/crosscheck.py" --out "$tmp/cc.json" "${rows[@]}" >"$tmp/cc.out"; then
	tail -1 "$tmp/cc.out"
else
	fail "engines disagree:"; head -20 "$tmp/cc.out"
fi
python3 - "$tmp/cc.json" <<'PY' || fail "too few pairs compared"
import json, sys
c = json.load(open(sys.argv[1]))
serial = [p for p in c["pairs"] if p["mode"] == "serial"]
assert len(serial) >= 9 and all(p["fields"] >= 40 for p in serial), c["summary"]
jw = [p for p in serial if p["trace"] == "jw.mtb" and p["combo"].endswith("talc")]
assert jw, "no jw pair"
PY
# The J&W trace: #3 < #4 in every row (the footprint at peak live is sampled then).
python3 - $(ls "$tmp"/*.jw.serial.* | grep -v log) <<'PY' || fail "J&W #3 not below #4"
import json, sys
for f in sys.argv[1:]:
    r = json.loads(open(f).readline())
    if r["heap"] == "null":
        continue
    assert r["footprint_at_peak_bytes"] < r["peak_footprint_bytes"] and r["frag3"] < r["frag4"], (f, r["frag3"], r["frag4"])
PY
# Negative controls: a perturbed host row, and a perturbed guest row, must each make the
# comparison fail, naming the field.
p=$tmp/talc.larson.serial
GUEST=$(dirname "$(dirname "$GUEST0")")/$pv-talc/guest.elf
neg() { # WHAT FIELD ROWFILE...
	local what=$1 field=$2
	shift 2
	if python3 "$root/scripts/crosscheck.py" "$@" >"$tmp/neg.out" 2>&1; then
		fail "$what: a perturbed $field was not caught"
	else
		grep -q "MISMATCH .*: $field: " "$tmp/neg.out" || fail "$what: $(head -2 "$tmp/neg.out")"
	fi
}
MTB_PERTURB=heap_meta_bytes "$BIN/mtb_host" --trace "$tmp/larson.mtb" --heap talc --phys "${pv%-*}" \
	--virt "${pv#*-}" --cpus 2 --mode serial --mem 64 --out "$p.perturbed" || fail "perturbed mtb_host"
guest_rows=$(ls "$p".qemu "$p".kvm 2>/dev/null)
[ -n "$guest_rows" ] && neg "host perturbed" heap_meta_bytes "$p.perturbed" $guest_rows
if $qemu; then
	"$root/scripts/qemu_run.sh" --elf "$GUEST" --cpus 2 --mem 160M --timeout 120 --trace "$tmp/larson.mtb" \
		--out "$p.qperturbed" -- rmem=64 replay perturb=phys_free_frames >/dev/null 2>&1 || fail "perturbed QEMU replay"
	neg "guest perturbed" phys_free_frames "$p.host" "$p.qperturbed"
fi
[ $fails -eq 0 ] || { echo "replay_engines_test: $fails failure(s)"; exit 1; }
echo "replay_engines_test: ok"
