/* frame_freelist.h: extra introspection of the freelist baseline (frame_freelist.c),
 * beyond frame_stats: how many ranges it holds and whether its SmallVec spilled. */
#ifndef MM_FRAME_FREELIST_H
#define MM_FRAME_FREELIST_H

#include "mm_common.h"

struct frame_freelist_info {
	uint64_t ranges;     /* free ranges now */
	uint64_t max_ranges; /* most free ranges ever held */
	uint64_t capacity;   /* ranges the current array holds (16 inline) */
	bool spilled;	     /* the list moved from inline storage to the heap */
	uint64_t spill_allocs; /* heap allocations: the move and each doubling */
};

/* Fills out for a frame_freelist_ops state (quiescent: takes no lock). */
void frame_freelist_info(const void *st, struct frame_freelist_info *out);

#endif
