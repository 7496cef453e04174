/* frame.h: the physical frame allocator interface (PHYS=buddy|freelist).
 *
 * A strategy is a const table of functions over caller-provided state, so the
 * guest makes one instance and host tests make many. Frames are 4 KiB and named
 * by their frame number (pfn = physical address >> PAGE_SHIFT). A block of
 * order k is 2^k frames, naturally aligned (pfn % 2^k == 0).
 *
 * Accounting invariant, exact at any quiescent point (no call in flight):
 *     free_frames + allocated_frames + lost_frames == usable frames given to init
 * where per-CPU caches, if a strategy has them, count as free, and lost_frames
 * (only the free list has any: see frame_freelist.c) are frames a free had to drop.
 *
 * cpu arguments name the caller's CPU (its execution context): a free list tells
 * a call nested inside its own heap call by it (range_list.h), so a caller must not
 * pass the cpu of another CPU that may be inside the same allocator.
 */
#ifndef MM_FRAME_H
#define MM_FRAME_H

#include "mm_common.h"

struct rl_heap; /* range_list.h */

#define FRAME_MAX_ORDER 18 /* 2^18 * 4 KiB = 1 GiB */
#define FRAME_ORDER_2M	9
#define FRAME_ORDER_1G	18
#define FRAME_MAX_CPUS	64

struct frame_stats {
	uint64_t total_frames;				 /* usable frames given to init */
	uint64_t free_frames;				 /* free now, incl. per-CPU caches */
	uint64_t free_blocks[FRAME_MAX_ORDER + 1];	 /* maximal free aligned blocks per order */
	uint64_t free_2m_blocks;			 /* whole, aligned, entirely free 2 MiB blocks */
	uint64_t largest_free;				 /* bytes in the largest free aligned block */
	uint64_t meta_bytes;				 /* state_size + metadata actually used */
	/* free list only (0 elsewhere), see range_list.h: */
	uint64_t spill_allocs;	  /* heap allocations made for the range storage */
	uint64_t spill_reentries; /* calls refused: made from inside the list's own heap call */
	uint64_t lost_frames;	  /* frames dropped by frees that found no slot */
};

struct frame_ops {
	const char *name;
	size_t state_size; /* bytes of state the caller provides to init */
	/* Bytes of metadata (bitmaps, range storage) init needs for this map and CPU count. */
	size_t (*meta_size)(const struct mem_map *map, unsigned ncpus);
	/* Every MEM_USABLE frame of the normalized map becomes free; nothing else is ever
	 * handed out. meta must be meta_size() bytes, zeroed. 0, or MM_EINVAL (bad map, too
	 * little meta, ncpus out of 1..FRAME_MAX_CPUS). */
	int (*init)(void *st, const struct mem_map *map, unsigned ncpus, void *meta,
		    size_t meta_len);
	/* 2^order naturally aligned frames into *pfn; 0, or MM_ENOMEM, MM_EINVAL (order). */
	int (*alloc)(void *st, unsigned cpu, unsigned order, uint64_t *pfn);
	/* Returns a block from alloc/alloc_at. Double free or a foreign block panics
	 * when the strategy can tell (always with MM_DEBUG). */
	void (*free)(void *st, unsigned cpu, uint64_t pfn, unsigned order);
	/* Takes exactly the block at pfn; 0, MM_EBUSY if any frame of it is not free,
	 * MM_EINVAL if misaligned or outside usable memory, MM_ENOMEM if the strategy
	 * has no room to record the split (the free list: it has no cpu to grow with). */
	int (*alloc_at)(void *st, uint64_t pfn, unsigned order);
	/* Full invariant walk (tests; slow). Panics with a message or returns true. */
	bool (*check)(const void *st);
	void (*stats)(const void *st, struct frame_stats *out);
	/* Optional (NULL: nothing to spill): from now on the strategy's metadata beyond
	 * its inline part comes from h (copied; h->ctx must outlive st). Once, after
	 * init, quiescent; before it the free list has its 16 inline ranges only. */
	void (*set_heap)(void *st, const struct rl_heap *h);
};

extern const struct frame_ops frame_buddy_ops;
extern const struct frame_ops frame_freelist_ops;

#endif
