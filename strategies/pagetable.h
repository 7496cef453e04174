/* pagetable.h: x86_64 4-level page tables as a data structure (pagetable.c).
 *
 * Pure table code: frames come from a callback, tables are reached through
 * to_virt (the identity map in the guest, plain pointers in host tests), and
 * TLB invalidation is the caller's job. The guest's paging.c builds the kernel's
 * tables with it, and the replay machine (workloads/core/machine.c) the tables of
 * its window on every engine (in the host engine they are bookkeeping only, so
 * their frames are counted exactly as in the guest).
 */
#ifndef MM_PAGETABLE_H
#define MM_PAGETABLE_H

#include "mm_common.h"

#define PTE_P	 0x001ull
#define PTE_W	 0x002ull
#define PTE_PWT	 0x008ull
#define PTE_PCD	 0x010ull
#define PTE_PS	 0x080ull
#define PTE_NX	 (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
#define PT_FLAGS (PTE_W | PTE_PWT | PTE_PCD | PTE_NX) /* flags callers may pass */

struct pagetable {
	uint64_t root; /* physical address of the PML4 */
	bool has_1g;   /* CPU supports 1 GiB pages */
	void *ctx;
	/* One zeroed 4 KiB frame into *pa; 0 or MM_ENOMEM. */
	int (*alloc_frame)(void *ctx, uint64_t *pa);
	void *(*to_virt)(void *ctx, uint64_t pa);
};

/* Allocates the root table; 0 or MM_ENOMEM. The callbacks must be set. */
int pt_init(struct pagetable *pt);
/* Maps [va, va+len) -> [pa, pa+len) (4 KiB aligned) with the largest pages both
 * sides allow. 0, MM_EINVAL (misaligned, bad flags), MM_ENOMEM (table frames) or
 * MM_EBUSY (some page already mapped); on failure nothing new stays mapped. */
int pt_map(struct pagetable *pt, uint64_t va, uint64_t pa, uint64_t len, uint64_t flags);
/* Unmaps every page in [va, va+len) (4 KiB aligned), splitting large pages that
 * stick out of the range; unmapped parts are skipped. Table frames are kept.
 * 0, MM_EINVAL, or MM_ENOMEM (a split needed a frame; the range is then partly
 * unmapped). The caller invalidates the TLB. */
int pt_unmap(struct pagetable *pt, uint64_t va, uint64_t len);
/* Translates va: 0 and *pa, *page_size (4K/2M/1G) and *flags, or MM_EINVAL if unmapped. */
int pt_lookup(const struct pagetable *pt, uint64_t va, uint64_t *pa, uint64_t *page_size,
	      uint64_t *flags);

#endif
