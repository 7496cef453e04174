/* mmu.h: the page-mapping seam heaps use to back virtual ranges with frames.
 *
 * The guest implements it with its x86_64 page tables (and TLB shootdown on
 * unmap); the host engine with mmap(MAP_FIXED) of a memfd that plays physical
 * memory, so non-contiguous frames really appear contiguous there too.
 */
#ifndef MM_MMU_H
#define MM_MMU_H

#include "mm_common.h"

#define MMU_WRITE 1u
#define MMU_EXEC  2u

struct mmu {
	void *ctx;
	/* Maps [va, va+len) to [pa, pa+len); page aligned. Uses 2 MiB / 1 GiB pages where
	 * both sides allow. cpu is the caller's (new page tables come from the frame
	 * allocator in its name, as every other frame it takes). 0, or MM_ENOMEM
	 * (page-table frames), MM_EBUSY (already mapped). */
	int (*map)(void *ctx, unsigned cpu, uint64_t va, uint64_t pa, uint64_t len, unsigned flags);
	/* Unmaps [va, va+len) and invalidates stale TLB entries on every CPU (cpu: the
	 * caller's, as for map). */
	void (*unmap)(void *ctx, unsigned cpu, uint64_t va, uint64_t len);
	/* Pointer to physical address pa through the Hardware (identity) region. */
	void *(*to_virt)(void *ctx, uint64_t pa);
};

#endif
