/* spill_heap.h: a free list's spill heap (range_list.h's rl_heap) on the C
 * library's malloc, for host programs whose frame or VA allocator has no strategy
 * heap above it (unit tests, va_host, the frame and VA benchmarks): Hermit's
 * SmallVec spills into the global allocator, here that is malloc. It records
 * every block it hands out so that spill_heap_fini can free what the lists still
 * hold (they never give their storage back: they do not shrink and have no fini).
 * Thread-safe (one mutex). Invariant: live_bytes == sum of the sizes of the
 * blocks on the list; allocs - frees == number of blocks on the list.
 */
#ifndef WL_SPILL_HEAP_H
#define WL_SPILL_HEAP_H

#include <pthread.h>

#include "../../strategies/frame.h"
#include "../../strategies/range_list.h"
#include "../../strategies/va.h"

struct spill_block;

struct spill_heap {
	struct rl_heap hook; /* what set_heap gets; ctx is this struct: do not move it */
	pthread_mutex_t mu;
	struct spill_block *blocks; /* live blocks, doubly linked */
	uint64_t live_bytes, allocs, frees;
};

/* An empty heap whose hook allocates with malloc. */
void spill_heap_init(struct spill_heap *h);
/* Frees every block still handed out (the lists using them must be dead). */
void spill_heap_fini(struct spill_heap *h);
/* ops->set_heap(st, &h->hook) when the strategy has a spill (set_heap != NULL). */
void spill_heap_attach_frames(struct spill_heap *h, const struct frame_ops *ops, void *st);
void spill_heap_attach_va(struct spill_heap *h, const struct va_ops *ops, void *st);

#endif
