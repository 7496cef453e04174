/* mmtest.c: the `mmtest` command, a check of the guest mmu (mmu.c) on all CPUs.
 *
 * Remap phase, for 4 KiB and 2 MiB pages: ROUNDS times, map MMTEST_VA to frame
 * A or B (alternating; their first and last words hold different tags), let
 * every CPU read both words, unmap. A CPU that still translates through a stale
 * TLB entry reads the other frame's tag: `stale` counts those reads and must be
 * 0. `mmtest=nosd` skips the shootdown in this phase (negative control): then
 * stale reads must appear on more than one CPU, or the check could not fail.
 * Concurrent phase: every CPU maps, writes, checks through the identity map and
 * unmaps its own page CONC_ROUNDS times while the others do the same, so shootdowns
 * from all CPUs cross. Accounting: ipis_acked == shootdowns * (ncpus - 1).
 */
#include "kernel.h"
#include "../strategies/pagetable.h"
#include "x86.h"
#include "../strategies/mmu.h"

#define MMTEST_VA   0x0000200000000000ull /* 32 TiB: unmapped at boot */
#define ROUNDS	    64u			  /* remap phase, per page size */
#define CONC_ROUNDS 16u /* concurrent phase, per CPU (slow under oversubscribed TCG) */

struct mmtest {
	struct mmu mmu;
	uint64_t va, size, expect;
	uint32_t stale, wrong;
};

static void read_check(unsigned cpu, void *arg)
{
	struct mmtest *t = arg;
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)t->va;
	uint64_t want = atomic_load_acq(&t->expect);
	if (p[0] != want || p[t->size / 8 - 1] != want)
		atomic_fetch_add_acqrel(&t->stale, 1);
}

static void frame_tag(uint64_t pa, uint64_t size, uint64_t tag)
{
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)pa;
	p[0] = tag;
	p[size / 8 - 1] = tag;
}

/* Remap phase with pages of `size`; returns false if frames or mapping failed. */
static bool remap_phase(struct mmtest *t, uint64_t size)
{
	uint64_t f[2];
	if (early_alloc(size, size, &f[0]) || early_alloc(size, size, &f[1]))
		return false;
	t->va = MMTEST_VA;
	t->size = size;
	for (unsigned r = 0; r < ROUNDS; r++) {
		uint64_t tag = 0x5a5a000000000000ull | (size << 8) | r;
		frame_tag(f[r & 1], size, tag);
		atomic_store_rel(&t->expect, tag);
		if (t->mmu.map(t->mmu.ctx, 0, t->va, f[r & 1], size, MMU_WRITE) != MM_OK)
			return false;
		smp_run_all(read_check, t);
		t->mmu.unmap(t->mmu.ctx, 0, t->va, size);
	}
	return true;
}

static void concurrent_cpu(unsigned cpu, void *arg)
{
	struct mmtest *t = arg;
	uint64_t va = MMTEST_VA + (cpu + 1) * SIZE_1G, f[2];
	if (early_alloc(PAGE_SIZE, PAGE_SIZE, &f[0]) || early_alloc(PAGE_SIZE, PAGE_SIZE, &f[1])) {
		atomic_fetch_add_acqrel(&t->wrong, 1);
		return;
	}
	for (unsigned r = 0; r < CONC_ROUNDS; r++) {
		uint64_t v = (uint64_t)cpu << 32 | r, pa = f[r & 1];
		if (t->mmu.map(t->mmu.ctx, 0, va, pa, PAGE_SIZE, MMU_WRITE) != MM_OK) {
			atomic_fetch_add_acqrel(&t->wrong, 1);
			return;
		}
		*(volatile uint64_t *)(uintptr_t)va = v;
		if (*(volatile uint64_t *)(uintptr_t)pa != v)
			atomic_fetch_add_acqrel(&t->wrong, 1);
		t->mmu.unmap(t->mmu.ctx, 0, va, PAGE_SIZE);
	}
}

/* A second map over a mapped page must fail with MM_EBUSY. */
static bool busy_check(struct mmtest *t)
{
	uint64_t pa;
	if (early_alloc(PAGE_SIZE, PAGE_SIZE, &pa))
		return false;
	bool ok = t->mmu.map(t->mmu.ctx, 0, MMTEST_VA, pa, PAGE_SIZE, MMU_WRITE) == MM_OK &&
		  t->mmu.map(t->mmu.ctx, 0, MMTEST_VA, pa, PAGE_SIZE, MMU_WRITE) == MM_EBUSY;
	t->mmu.unmap(t->mmu.ctx, 0, MMTEST_VA, PAGE_SIZE);
	return ok && paging_lookup(MMTEST_VA) == ~0ull;
}

int cmd_mmtest(int argc, char **argv, const char *val)
{
	static struct mmtest t;
	bool nosd = __builtin_strcmp(val, "nosd") == 0;
	unsigned n = smp_ncpus();
	if (val[0] && !nosd) {
		kprintf("mmtest: unknown variant '%s' (mmtest or mmtest=nosd)\n", val);
		return 2;
	}
	if (guest_mmu_init(&t.mmu) != MM_OK) {
		kprintf("mmtest: no mmu: %u CPUs but no IPIs for TLB shootdown\n", n);
		return 3;
	}
	uint64_t t0 = rdtsc();
	mmu_set_skip_shootdown(nosd);
	bool setup = remap_phase(&t, PAGE_SIZE);
	uint32_t stale_4k = t.stale;
	setup = setup && remap_phase(&t, SIZE_2M);
	uint32_t stale_2m = t.stale - stale_4k;
	mmu_set_skip_shootdown(false);
	bool busy_ok = busy_check(&t);
	uint64_t t1 = rdtsc();
	smp_run_all(concurrent_cpu, &t);
	uint64_t remap_ns = tsc_to_ns(t1 - t0), conc_ns = tsc_to_ns(rdtsc() - t1);
	struct mmu_stats s;
	mmu_get_stats(&s);
	bool acct = s.ipis_acked == s.shootdowns * (n - 1);
	bool stale_ok = nosd ? (n == 1 || t.stale > 0) : t.stale == 0;
	bool ok = setup && busy_ok && acct && stale_ok && t.wrong == 0;
	result_emit("mmtest",
		    "\"cpus\":%u,\"rounds\":%u,\"shootdown\":%s,\"stale_4k\":%u,\"stale_2m\":%u,"
		    "\"wrong\":%u,\"busy_ok\":%s,\"maps\":%lu,\"unmaps\":%lu,\"shootdowns\":%lu,"
		    "\"ipis_acked\":%lu,\"remap_ns\":%lu,\"concurrent_ns\":%lu,\"ok\":%s",
		    n, ROUNDS, nosd ? "false" : "true", stale_4k, stale_2m, t.wrong,
		    busy_ok ? "true" : "false", s.maps, s.unmaps, s.shootdowns, s.ipis_acked,
		    remap_ns, conc_ns, ok ? "true" : "false");
	kprintf("mmtest%s: %s\n", nosd ? "=nosd" : "", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
