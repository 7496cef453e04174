/* frame_buddy.h: introspection of the bitmap buddy (frame_buddy.c) beyond
 * frame_stats, for va_bitmap.c, which runs the same buddy over VA granules. */
#ifndef MM_FRAME_BUDDY_H
#define MM_FRAME_BUDDY_H

#include "mm_common.h"

struct frame_buddy_runs {
	uint64_t runs;		/* maximal runs of free frames */
	uint64_t largest_run;	/* frames in the longest run */
	uint64_t largest_block; /* frames in the largest aligned block inside one run
				 * (at most 2^FRAME_MAX_ORDER): the largest allocation
				 * alloc can serve */
};

/* True if any frame of the block (pfn, order), which must lie in usable memory,
 * is free; takes the locks (exact unless the block is freed concurrently). */
bool frame_buddy_any_free(void *st, uint64_t pfn, unsigned order);
/* Fills out for a frame_buddy_ops state (quiescent: takes no lock). */
void frame_buddy_free_runs(const void *st, struct frame_buddy_runs *out);

#endif
