/* heap_back.h: backing heap address ranges with frames (strategies/heap_back.c).
 * Shared by heap_talc.c and heap_slab*.c; not a strategy interface. */
#ifndef MM_HEAP_BACK_H
#define MM_HEAP_BACK_H

#include "heap.h"

/* A frame block as the heaps record it: pfn << 6 | order. */
#define HEAP_BLOCK(pfn, order) ((uint64_t)(pfn) << 6 | (uint64_t)(order))
#define HEAP_BLOCK_PFN(b)      ((b) >> 6)
#define HEAP_BLOCK_ORDER(b)    ((unsigned)((b)&63))
#define HEAP_BACK_MAX_ORDER    FRAME_ORDER_2M

/* Backs [va, va+len) (page aligned) with frame blocks of the largest orders the
 * frame allocator gives (up to 2 MiB, smaller on MM_ENOMEM; not contiguous) and
 * maps each one writable. Records the blocks in blocks[0..*nblocks). 0, or
 * MM_ENOMEM (frames, page tables, or more than max_blocks blocks needed), with
 * nothing left mapped or allocated. */
int heap_back_range(const struct heap_env *env, unsigned cpu, uint64_t va, uint64_t len,
		    uint64_t *blocks, unsigned max_blocks, unsigned *nblocks);
/* heap_back_range that stops when blocks[] is full: backs a prefix of [va, va+len)
 * with at most max_blocks blocks, records them in blocks[0..*nblocks) and the
 * prefix's length in *done (== len when all of it fit). MM_ENOMEM (frames or page
 * tables) with nothing of this call left mapped or allocated. */
int heap_back_part(const struct heap_env *env, unsigned cpu, uint64_t va, uint64_t len,
		   uint64_t *blocks, unsigned max_blocks, unsigned *nblocks, uint64_t *done);
/* Unmaps [va, va+len) (one TLB shootdown) and frees the recorded blocks. */
void heap_unback_range(const struct heap_env *env, unsigned cpu, uint64_t va, uint64_t len,
		       const uint64_t *blocks, unsigned nblocks);

#endif
