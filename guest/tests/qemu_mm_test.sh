#!/usr/bin/env bash
# qemu_mm_test.sh: the guest's memory management under QEMU TCG: frametest on 1 CPU
# (64 MiB) and on 2 CPUs with 3 GiB (a free 1 GiB-aligned 1 GiB block must be
# allocatable), vatest on 2 CPUs plus its negative control vatest=nosd (without the
# shootdown CPU 1 must still reach some of the unmapped pages through stale TLB
# entries, so the fault check can fail), heaptest on 2 CPUs for talc and slab, and
# replay=par of a small trace (-initrd) on 4 CPUs.
set -u
. "$(dirname "$0")/qemu_lib.sh"
slab=${elf%-*/guest.elf}-slab/guest.elf
talc=${elf%-*/guest.elf}-talc/guest.elf

# check WHAT PATTERN: the last run exited 0 and its row matches PATTERN.
check() {
	[ "$rc" -eq 0 ] && grep -q "$2" "$tmp/out" && echo "ok: $1" || fail "$1: exit $rc"
}

qrun --cpus 1 --mem 64M -- frametest
check "frametest 1 cpu" '"dups":0,"bad":0,.*"ok":true'
qrun --cpus 2 --mem 3G --timeout 120 -- frametest
check "frametest 2 cpus 3G: 1 GiB block" '"cpus":2,.*"max_order":18,"block_order":18,"block_1g":true,.*"ok":true'

qrun --cpus 2 --mem 256M -- vatest
check "vatest 2 cpus" '"reader":1,.*"faults":4,"cr2_bad":0,.*"unmanaged_zero":true,.*"ok":true'
# TCG flushes a vCPU's soft TLB at moments the guest does not choose: on this loaded
# 2-core machine 5 of 8 runs showed no stale translation (all 4 probes faulted). The
# control gets five runs; one with stale translations shows the probe can tell a missing
# shootdown. If none shows any, the control is reported as not shown here (a partial
# skip), never as passed; vatest with the shootdown above still must fault on every probe.
seen=0 other=0
for try in 1 2 3 4 5; do
	qrun --cpus 2 --mem 256M -- vatest=nosd
	if [ "$rc" -eq 0 ] && grep -q '"shootdown":false,.*"ok":true' "$tmp/out"; then
		seen=1
		break
	fi
	# The guest fails the control (exit 1) when every probe faulted; anything else is wrong.
	grep -q "vatest=nosd: .* 4/4 probes faulted on cpu 1: FAILED" "$tmp/stdout" "$tmp/stderr" ||
		{ other=1; break; }
done
if [ "$other" = 1 ]; then
	fail "vatest=nosd: exit $rc, $(grep -m1 -h 'vatest' "$tmp/stdout" "$tmp/stderr")"
elif [ "$seen" = 1 ]; then
	echo "ok: vatest=nosd: stale translations seen without shootdown (run $try)"
else
	echo "partial SKIP: vatest=nosd: TCG showed no stale translation in 5 runs (negative control not shown)"
fi

for e in "$talc" "$slab"; do
	if [ ! -f "$e" ]; then
		fail "guest $e not built (make guest HEAP=${e%/guest.elf}; HEAP=${e##*-})"
		continue
	fi
	h=$(basename "$(dirname "$e")")
	rm -f "$tmp/out"
	"$run" --elf "$e" --cpus 2 --mem 128M --out "$tmp/out" -- heaptest >"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
	check "heaptest $h" '"bad":0,"misaligned":0,"oom":0,"check":true,.*"ok":true'
done

"${MTB_BIN:-$root/build/bin}/trace" gen larson "$tmp/t.mtb" --ops 3000 --threads 4 --seed 2 >/dev/null ||
	fail "trace gen"
qrun --cpus 4 --mem 128M --trace "$tmp/t.mtb" -- replay=par
check "replay=par 4 cpus" '"mode":"parallel",.*"ops":3000,.*"failed":0'
[ $fails -eq 0 ]
