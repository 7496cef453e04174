/* va.h: the virtual address space allocator interface (VIRT=bitmap|btree|freelist).
 *
 * A VA allocator hands out ranges of the Managed region [base, base+size). It
 * never touches page tables; callers map what they get (see mmu.h). Strategies
 * that need memory for their own metadata at run time (the B+-tree's nodes) take
 * whole frames from a page_source and reach them through its identity map.
 *
 * Accounting invariant: reserved_bytes + free_bytes + lost_bytes == size, where
 * lost_bytes (only the free list has any: see va_freelist.c) is address space a
 * free had to drop. cpu arguments name the caller's CPU, as in frame.h.
 */
#ifndef MM_VA_H
#define MM_VA_H

#include "mm_common.h"

struct rl_heap; /* range_list.h */

/* Where a VA allocator gets 4 KiB metadata frames (e.g. a frame allocator). */
struct page_source {
	void *ctx;
	/* One zeroed 4 KiB frame's physical address into *pa; 0 or MM_ENOMEM. */
	int (*alloc)(void *ctx, uint64_t *pa);
	/* Pointer through which the kernel reaches physical address pa (Hardware region). */
	void *(*to_virt)(void *ctx, uint64_t pa);
};

struct va_stats {
	uint64_t size;		 /* bytes managed */
	uint64_t reserved_bytes; /* handed out, after the strategy's rounding */
	uint64_t free_bytes;
	uint64_t free_ranges;	 /* maximal runs of free address space */
	uint64_t largest_free;	 /* bytes in the largest free run usable for one allocation */
	uint64_t meta_bytes;	 /* bitmap bytes, or tree node frames * 4 KiB, plus state */
	uint64_t granule;	 /* smallest unit handed out */
	/* free list only (0 elsewhere), see range_list.h: */
	uint64_t spill_allocs;	  /* heap allocations made for the range storage */
	uint64_t spill_reentries; /* calls refused: made from inside the list's own heap call */
	uint64_t lost_bytes;	  /* address space dropped by frees that found no slot */
};

struct va_ops {
	const char *name;
	size_t state_size;
	/* Bytes of fixed metadata for [base, base+size) (0 if all comes from the page_source). */
	size_t (*meta_size)(uint64_t base, uint64_t size);
	/* The whole range becomes free. base and size are multiples of the granule.
	 * meta is meta_size() zeroed bytes. 0, or MM_EINVAL, MM_ENOMEM. */
	int (*init)(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
		    const struct page_source *ps);
	/* A range of at least size bytes aligned to align (power of two; 0 means the
	 * granule) into *addr; 0, or MM_ENOMEM, MM_EINVAL. */
	int (*alloc)(void *st, unsigned cpu, uint64_t size, uint64_t align, uint64_t *addr);
	/* Returns a range from alloc/reserve with the size that was asked for. Panics on a
	 * range that is not allocated when the strategy can tell (always with MM_DEBUG). */
	void (*free)(void *st, unsigned cpu, uint64_t addr, uint64_t size);
	/* Takes exactly [addr, addr+size) (rounded out to the granule); 0, MM_EBUSY if any
	 * of it is allocated, MM_EINVAL if outside the range, MM_ENOMEM if the strategy
	 * has no room to record the split (the free list: it has no cpu to grow with). */
	int (*reserve)(void *st, uint64_t addr, uint64_t size);
	bool (*check)(const void *st);
	void (*stats)(const void *st, struct va_stats *out);
	/* Optional, as frame_ops.set_heap: the free list's range storage from h. */
	void (*set_heap)(void *st, const struct rl_heap *h);
};

extern const struct va_ops va_bitmap_ops;
extern const struct va_ops va_btree_ops;
extern const struct va_ops va_freelist_ops;

/* ---- adapter: a frame allocator as a page_source (strategies/page_source.c) ---- */
#include "frame.h"
#include "mmu.h"

struct frame_page_source {
	struct page_source ps; /* hand &fps->ps to a VA allocator */
	const struct frame_ops *ops;
	void *frame_st;
	const struct mmu *mmu; /* for to_virt */
};

/* Fills fps so that fps->ps takes single zeroed frames from ops/frame_st. */
void frame_page_source_init(struct frame_page_source *fps, const struct frame_ops *ops,
			    void *frame_st, const struct mmu *mmu);

#endif
