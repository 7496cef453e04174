/* mmu.c: the strategies' page-mapping seam (strategies/mmu.h) on the kernel's
 * page tables (paging.c), with TLB shootdown by IPI.
 *
 * One lock (mmu_lock) serializes every change of the tables, and at most one
 * shootdown is in flight: unmap clears the entries, invalidates the range on
 * its own CPU, posts {va, len} in `sd`, sets sd.pending = ncpus - 1 and sends
 * IPI_VECTOR to all other CPUs; each handler invalidates the range locally and
 * decrements sd.pending; unmap returns (and drops the lock) when it is 0. So
 * after unmap returns no CPU translates the range through a stale TLB entry.
 * Waiting happens with interrupts on, so two CPUs never wait on each other.
 * Mapping needs no shootdown (x86 does not cache non-present entries).
 * Invalidation: invlpg per 4 KiB page up to FLUSH_PAGES_MAX pages, else a CR3
 * reload. MMU_EXEC is ignored (NX is not enabled); MMU_WRITE sets PTE_W
 * (CR0.WP is on). Table frames: paging.c's pool, then the Early allocator.
 */
#include "kernel.h"
#include "../strategies/pagetable.h"
#include "x86.h"
#include "../strategies/mmu.h"

#define FLUSH_PAGES_MAX 64

static struct spinlock mmu_lock;
static struct {
	uint64_t va, len;
	uint32_t pending;
} sd;
static struct mmu_stats stats;
static bool skip_shootdown;

static void flush_local(uint64_t va, uint64_t len)
{
	if (len / PAGE_SIZE > FLUSH_PAGES_MAX) {
		write_cr3(read_cr3());
		return;
	}
	for (uint64_t a = va; a < va + len; a += PAGE_SIZE)
		invlpg(a);
}

void mmu_ipi_handler(void)
{
	flush_local(atomic_load_acq(&sd.va), atomic_load_acq(&sd.len));
	atomic_fetch_add_rlx(&stats.ipis_acked, 1);
	__atomic_fetch_sub(&sd.pending, 1, __ATOMIC_RELEASE);
}

static int mmu_map(void *ctx, unsigned cpu, uint64_t va, uint64_t pa, uint64_t len, unsigned flags)
{
	spin_lock(&mmu_lock);
	int rc = pt_map(paging_kernel(), va, pa, len, flags & MMU_WRITE ? PTE_W : 0);
	stats.maps++;
	spin_unlock(&mmu_lock);
	return rc;
}

/* Invalidates [va, va+len) here and, with more than one CPU, on every other CPU
 * (one IPI round, waited for). Caller holds mmu_lock. */
static void invalidate(uint64_t va, uint64_t len)
{
	flush_local(va, len);
	if (smp_ncpus() > 1 && !skip_shootdown) {
		atomic_store_rlx(&sd.va, va);
		atomic_store_rlx(&sd.len, len);
		atomic_store_rel(&sd.pending, smp_ncpus() - 1);
		lapic_ipi_others(IPI_VECTOR);
		while (atomic_load_acq(&sd.pending) != 0)
			cpu_relax();
		stats.shootdowns++;
	}
}

static void mmu_unmap(void *ctx, unsigned cpu, uint64_t va, uint64_t len)
{
	spin_lock(&mmu_lock);
	if (pt_unmap(paging_kernel(), va, len) != MM_OK)
		guest_panic("mmu_unmap: misaligned range or no frame to split a large page");
	stats.unmaps++;
	invalidate(va, len);
	spin_unlock(&mmu_lock);
}

void mmu_shootdown(uint64_t va, uint64_t len)
{
	spin_lock(&mmu_lock);
	invalidate(va, len);
	spin_unlock(&mmu_lock);
}

static void *mmu_to_virt(void *ctx, uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

int guest_mmu_init(struct mmu *m)
{
	cpu_set_ipi_handler(mmu_ipi_handler); /* before any shootdown sends IPI_VECTOR */
	if (smp_ncpus() > 1 && !smp_ipi_ok())
		return MM_ENOTSUP;
	*m = (struct mmu){.ctx = NULL, .map = mmu_map, .unmap = mmu_unmap, .to_virt = mmu_to_virt};
	return MM_OK;
}

void mmu_get_stats(struct mmu_stats *out)
{
	spin_lock(&mmu_lock);
	*out = stats;
	out->ipis_acked = atomic_load_rlx(&stats.ipis_acked);
	spin_unlock(&mmu_lock);
}

void mmu_set_skip_shootdown(bool skip)
{
	skip_shootdown = skip;
}
