/* malloc_heap.h: a heap_ops over libc malloc, for replay tests while the real heaps
 * are written elsewhere. Thread-safe. Its footprint is a deterministic model, not
 * glibc's: each live object holds align_up(size, 16) + 16 bytes (+ align - 16 when
 * align > 16), so tests can predict J&W metrics exactly. */
#ifndef WL_MALLOC_HEAP_H
#define WL_MALLOC_HEAP_H

#include "../../strategies/heap.h"

struct malloc_heap {
	uint64_t footprint, peak_footprint; /* atomics */
	uint64_t live_objects;
	uint64_t fail_after;   /* 0: never; else allocs fail once this many succeeded */
	uint64_t allocs;
	uint64_t remote_frees; /* frees on a CPU other than the allocating one (unknown here) */
};

extern const struct heap_ops heap_malloc_ops;

/* Footprint the model charges for one object. */
uint64_t malloc_heap_charge(uint64_t size, uint64_t align);

#endif
