#!/usr/bin/env bash
# qemu_mmu_test.sh: the guest mmu (guest/mmu.c: map/unmap on the kernel page tables with TLB
# shootdown by IPI) under QEMU TCG, through the `mmtest` command: no stale translation on any
# CPU after unmap (4 KiB and 2 MiB pages), concurrent map/unmap from all CPUs, MM_EBUSY on a
# double map, and IPI accounting ipis_acked == shootdowns * (cpus - 1). Negative control:
# `mmtest=nosd` (no shootdown) must observe stale reads on 2 CPUs, so the check can fail.
set -u
. "$(dirname "$0")/qemu_lib.sh"

# mmtest MACHINE CPUS
mmtest() {
	local what="mmtest $1/$2 cpus"
	qrun --machine "$1" --cpus "$2" --timeout 120 -- mmtest
	[ "$rc" -eq 0 ] || { fail "$what: exit $rc"; return; }
	grep -q "\"cpus\":$2,.*\"stale_4k\":0,\"stale_2m\":0,\"wrong\":0,\"busy_ok\":true" "$tmp/out" ||
		{ fail "$what: stale or wrong translations"; return; }
	local sd acked
	sd=$(sed -n 's/.*"shootdowns":\([0-9]*\).*/\1/p' "$tmp/out")
	acked=$(sed -n 's/.*"ipis_acked":\([0-9]*\).*/\1/p' "$tmp/out")
	[ -n "$sd" ] && [ "$acked" -eq $((sd * ($2 - 1))) ] || { fail "$what: $acked IPIs acked for $sd shootdowns"; return; }
	[ "$2" -eq 1 ] || [ "$sd" -gt 0 ] || { fail "$what: no shootdowns"; return; }
	echo "ok: $what: $sd shootdowns, $acked IPIs acked"
}
mmtest pc 1
mmtest microvm 2
mmtest pc 4

qrun --machine microvm --cpus 2 --timeout 120 -- mmtest=nosd
stale=$(sed -n 's/.*"stale_4k":\([0-9]*\),"stale_2m":\([0-9]*\).*/\1+\2/p' "$tmp/out")
if [ "$rc" -eq 0 ] && [ -n "$stale" ] && [ $((stale)) -gt 0 ]; then
	echo "ok: without shootdown $((stale)) stale reads were seen (the check has teeth)"
else
	fail "mmtest=nosd: exit $rc, stale '$stale' (want > 0)"
fi
[ $fails -eq 0 ]
