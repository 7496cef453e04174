/* frame_buddy_impl.h: the state of the bitmap buddy, private to frame_buddy.c and
 * frame_buddy_runs.c (layout and invariants are described in frame_buddy.c). */
#ifndef MM_FRAME_BUDDY_IMPL_H
#define MM_FRAME_BUDDY_IMPL_H

#include "buddy_bitmap.h"
#include "frame.h"
#include "sync.h"

#define AREA_ORDER  9u
#define CHUNK_ORDER 18u
#define NO_AREA	    0xffffffffu

struct buddy_area {
	uint64_t w[BB_WORDS];
	struct spinlock lock;
	uint16_t free;	/* free frames while in lo mode */
	uint8_t owner;	/* CPU + 1 holding the reservation, 0 if none */
	uint8_t pad;
};

struct buddy_chunk {
	uint64_t w[BB_WORDS];
	struct spinlock lock;
	uint32_t orders; /* bb_order_mask(w), kept under the lock, read as a hint */
};

struct buddy_cpu {
	uint32_t area;	/* reserved area or NO_AREA; only this CPU writes it */
	uint32_t chunk; /* where large requests start looking */
	uint32_t pad[14];
};

struct buddy {
	uint64_t total;
	uint32_t nareas, nchunks;
	unsigned ncpus;
	struct buddy_area *areas;
	struct buddy_chunk *chunks;
	uint64_t *avail; /* summary: bit i set <=> area i is lo with free > 0 */
	struct mem_map map;
	struct buddy_cpu cpu[FRAME_MAX_CPUS];
};

#endif
