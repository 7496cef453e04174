/* heap.h: the heap interface (HEAP=talc|slab), GlobalAlloc-like.
 *
 * A heap gets its memory from the layers below through heap_env: talc maps one
 * fixed heap at init and never grows (today's Hermit; talc-grow claims more arenas
 * when it is full, a host-only variant); slab carves
 * per-CPU slabs out of 2 MiB chunks from the VA allocator, backed on demand by
 * frames. The caller passes its CPU number; per-CPU heaps use it.
 *
 * Footprint (for J&W fragmentation, see DESIGN.md) = bytes of frames the heap
 * holds mapped from the system, or the high-water mark of a fixed heap.
 */
#ifndef MM_HEAP_H
#define MM_HEAP_H

#include "frame.h"
#include "mmu.h"
#include "range_list.h"
#include "va.h"

#define HEAP_MAX_CPUS 64

struct heap_env {
	unsigned ncpus;
	const struct frame_ops *frames;
	void *frame_st;
	const struct va_ops *va;
	void *va_st;
	const struct mmu *mmu;
	uint64_t fixed_heap_bytes; /* talc: size of the heap mapped at init */
	uint32_t keep_empty_chunks; /* slab: empty 2 MiB chunks a CPU keeps before returning */
};

struct heap_stats {
	uint64_t footprint;	 /* bytes held from the system now */
	uint64_t peak_footprint;
	uint64_t frames;	 /* frames mapped for the heap now */
	uint64_t va_bytes;	 /* address space reserved for the heap now */
	uint64_t meta_bytes;	 /* heap metadata (headers, slab descriptors, state) */
	uint64_t remote_frees;	 /* frees that went to another CPU's queue */
	uint64_t chunks_returned; /* chunks unmapped and given back */
};

struct heap_ops {
	const char *name;
	size_t state_size;
	/* 0, or MM_ENOMEM (could not map the initial heap), MM_EINVAL. */
	int (*init)(void *st, const struct heap_env *env);
	/* size bytes aligned to align (power of two, >= 1); NULL when out of memory. */
	void *(*alloc)(void *st, unsigned cpu, size_t size, size_t align);
	/* Frees p from alloc/realloc with the same size and align (any CPU). */
	void (*free)(void *st, unsigned cpu, void *p, size_t size, size_t align);
	/* Like GlobalAlloc::realloc: contents kept up to min(old, new); NULL (and p still
	 * valid) when out of memory. */
	void *(*realloc)(void *st, unsigned cpu, void *p, size_t old_size, size_t align,
			 size_t new_size);
	bool (*check)(const void *st);
	void (*stats)(const void *st, struct heap_stats *out);
};

extern const struct heap_ops heap_talc_ops;	   /* Hermit's: one fixed heap, never grows */
extern const struct heap_ops heap_talc_grow_ops; /* the same, claiming arenas when full */
extern const struct heap_ops heap_slab_ops;

/* ---- adapter: a heap as the free lists' spill heap (strategies/heap_rl.c) ---- */
struct heap_rl {
	struct rl_heap hook; /* hand &a->hook to a free list's set_heap */
	const struct heap_ops *ops;
	void *heap_st;
};

/* Fills a so that a->hook allocates from ops/heap_st (alloc(cpu, bytes, 8), the
 * alignment of Rust's Layout for the ranges, and free with the same). a must
 * outlive every free list it is given to. */
void heap_rl_init(struct heap_rl *a, const struct heap_ops *ops, void *heap_st);

#endif
