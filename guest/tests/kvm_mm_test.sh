#!/usr/bin/env bash
# kvm_mm_test.sh: the guest's memory management under our VMM on /dev/kvm: frametest
# with --holes on 1 and 2 vCPUs (every frame handed out once, count == map's usable
# memory - Early - reserved - kernel-held; on 2 vCPUs with an Early region spanning
# a hole), vatest on 2 vCPUs (scattered frames behind
# one Managed range, CPU 1 faults after unmap, Unmanaged slots untouched), heaptest on
# 2 vCPUs for the talc and the slab guest, and replay=par of a small trace.
# Workloads are tiny: KVM here may be emulated (about 1000x slower than native).
# Skips (77, "SKIP: reason") when /dev/kvm cannot be opened or the guest is not built.
set -u
BIN=${MTB_BIN:-build/bin}
. "$(dirname "$0")/../../vmm/tests/kvm_lib.sh"
SLAB=${GUEST%-*/guest.elf}-slab/guest.elf
TALC=${GUEST%-*/guest.elf}-talc/guest.elf
fail() { echo "FAIL: $*"; sed 's/^/   | /' "$tmp/err" "$tmp/out" 2>/dev/null | tail -12; fails=$((fails + 1)); }

# run NAME ELF ARGS... -- CMD: runs the VMM with --out $tmp/r.jsonl; sets rc; prints the
# wall time and the VMM's VM-exit line.
run() {
	local name=$1 elf=$2 t0 t1
	shift 2
	rm -f "$tmp/r.jsonl"
	t0=$(date +%s.%N)
	"$VMM" --timeout 240 --out "$tmp/r.jsonl" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	t1=$(date +%s.%N)
	echo "== $name: exit $rc, wall $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s," \
		"$(grep -h 'VM exits' "$tmp/err" | sed 's/^vmm: //')"
	grep -h '^mm:' "$tmp/out" "$tmp/err" 2>/dev/null | head -1 | sed 's/^/   /'
}
# row_ok KIND: the result file has one KIND row with "ok":true.
row_ok() { grep -q "\"kind\":\"$1\".*\"ok\":true" "$tmp/r.jsonl" 2>/dev/null; }

# 2 vCPUs: earlypad=6 makes the Early region 6 MiB larger, so it spans the --holes
# hole at 8 MiB (two carved ranges, mapped contiguously).
for n in 1 2; do
	pad=
	[ $n -eq 2 ] && pad=earlypad=6
	run "frametest --holes $n vCPU $pad" "$GUEST" --cpus $n --mem 16M --holes "$GUEST" -- $pad frametest
	[ $rc -eq 0 ] && row_ok frametest || fail "frametest $n vCPU: exit $rc"
	grep -q '"dups":0,"bad":0,.*"early_map_ok":true' "$tmp/r.jsonl" 2>/dev/null ||
		fail "frametest $n: duplicates, foreign frames or Early mapping"
	[ -z "$pad" ] || grep -q '"early_ranges":[2-9]' "$tmp/r.jsonl" 2>/dev/null ||
		fail "frametest $pad: the Early region does not span the hole"
	grep -o '"frames":[0-9]*,"expected_frames":[0-9]*' "$tmp/r.jsonl" 2>/dev/null | sed 's/^/   /'
done

run "vatest 2 vCPU" "$GUEST" --cpus 2 --mem 160M "$GUEST" -- vatest
[ $rc -eq 0 ] && row_ok vatest || fail "vatest: exit $rc"
grep -q '"reader":1,.*"faults":4,"cr2_bad":0,.*"unmanaged_zero":true' "$tmp/r.jsonl" 2>/dev/null ||
	fail "vatest: CPU 1 did not fault after unmap, or Unmanaged slots touched"

for elf in "$TALC" "$SLAB"; do
	if [ ! -f "$elf" ]; then
		fail "guest $elf not built (make guest HEAP=${elf%/guest.elf}; HEAP=${elf##*-})"
		continue
	fi
	h=$(basename "$(dirname "$elf")")
	run "heaptest $h 2 vCPU" "$elf" --cpus 2 --mem 32M "$elf" -- heaptest=250
	[ $rc -eq 0 ] && row_ok heaptest || fail "heaptest $h: exit $rc"
	grep -q '"bad":0,"misaligned":0,"oom":0,"check":true' "$tmp/r.jsonl" 2>/dev/null ||
		fail "heaptest $h: bad pattern, misaligned, OOM or heap check"
done

# replay=par of a small random_actions trace (allocs, reallocs, frees); serial mode
# under the VMM is replay_engines_test.sh.
"$BIN/trace" gen random_actions "$tmp/t.mtb" --ops 1000 --threads 2 --seed 3 >/dev/null ||
	fail "trace gen"
run "replay=par 2 vCPU" "$GUEST" --cpus 2 --mem 64M --trace "$tmp/t.mtb" "$GUEST" -- replay=par
[ $rc -eq 0 ] || fail "replay=par: exit $rc"
grep -q '"kind":"replay".*"mode":"parallel",.*"ops":1000,.*"failed":0' "$tmp/r.jsonl" 2>/dev/null ||
	fail "replay=par: row lacks 1000 ops without failures: $(cut -c1-300 "$tmp/r.jsonl" 2>/dev/null)"
run "replay without a trace" "$GUEST" --cpus 1 --mem 16M "$GUEST" -- replay
[ $rc -ne 0 ] && grep -q "no trace blob" "$tmp/out" "$tmp/err" || fail "replay without a blob: exit $rc"

[ $fails -eq 0 ] || { echo "kvm_mm_test: $fails failure(s)"; exit 1; }
echo "kvm_mm_test: ok"
