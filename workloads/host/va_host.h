/* va_host.h: a VA allocator instance inside a Linux process, for the host tools and
 * benchmarks (va_replay, va_bench).
 *
 * The Managed window is plain numbers (nothing is mapped: VA allocators never touch
 * page tables). Metadata frames for strategies that take them at run time (the
 * B+-tree's nodes) come from a page_source backed by malloc: zeroed 4 KiB-aligned
 * host memory, physical address == host address (to_virt is the identity), counted,
 * and released by va_host_fini; a free list spills into a malloc spill_heap
 * (spill_heap.h), also released there. Do not move a va_host after init.
 * Invariant: frames == number of successful page_source allocs since init; alloc
 * is safe from several threads (one mutex).
 */
#ifndef WL_VA_HOST_H
#define WL_VA_HOST_H

#include <pthread.h>

#include "../../strategies/va.h"
#include "../core/va_run.h" /* the strategy table and the default window */
#include "spill_heap.h"

struct va_host {
	const struct va_ops *ops;
	void *st, *meta;
	size_t meta_len;
	uint64_t base, size;
	struct page_source ps;
	pthread_mutex_t mu; /* guards the frame list */
	void **frames;
	uint64_t nframes, cap;
	struct spill_heap spill; /* the free list's heap (malloc) */
};

/* Initializes ops over [base, base+size) with malloc'd state and fixed metadata;
 * 0, or the strategy's MM_E* code / MM_ENOMEM (then nothing is left allocated). */
int va_host_init(struct va_host *vh, const struct va_ops *ops, uint64_t base, uint64_t size);
/* Frees the state, the metadata and every page_source frame. */
void va_host_fini(struct va_host *vh);

#endif
