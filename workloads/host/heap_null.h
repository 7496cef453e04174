/* heap_null.h: the "null heap" of shared/MEASUREMENT.md "Ceilings": the cheapest heap
 * a workload can run on, so a benchmark or replay can show its own cost and scaling.
 *
 * Per CPU: a region of HEAP_NULL_REGION bytes of reserved address space (one mmap at
 * init, pages touched on first use), bumped in blocks of power-of-two size classes
 * (16 B and up, block aligned to its size, so any alignment up to the size holds), and
 * one free list per class. A free by the owning CPU (the region's) pushes onto its own
 * list, with no atomics; a free by another CPU pushes onto the owner's remote list
 * for that class (one compare-and-swap), which the owner takes whole (one exchange)
 * when its own list is empty. Nothing else is shared: no locks, no returning memory.
 * realloc keeps the block when the class does not change, else copies. Footprint =
 * bytes bumped (blocks ever handed out), never given back.
 *
 * The CPU number passed to alloc and free must be the caller's and unique among the
 * threads running (0..ncpus-1), as for the per-CPU strategy heaps.
 */
#ifndef WL_HEAP_NULL_H
#define WL_HEAP_NULL_H

#include "../../strategies/heap.h"

#define HEAP_NULL_REGION  (4ull << 30) /* per CPU */
#define HEAP_NULL_CLASSES 40	       /* 2^4 .. 2^39 bytes */

struct heap_null_cpu {
	void *local[HEAP_NULL_CLASSES];
	uint8_t *bump, *end;
} __attribute__((aligned(64)));

struct heap_null_remote {
	void *head[HEAP_NULL_CLASSES]; /* atomic: pushed by others, taken by the owner */
} __attribute__((aligned(64)));

struct heap_null {
	unsigned ncpus;
	uint8_t *base; /* ncpus regions */
	struct heap_null_cpu cpu[HEAP_MAX_CPUS];
	struct heap_null_remote remote[HEAP_MAX_CPUS];
};

/* init: maps the regions (MM_ENOMEM if mmap fails); the heap lives until the process
 * ends or heap_null_fini. */
extern const struct heap_ops heap_null_ops;
/* Unmaps the regions of an initialised heap_null state. */
void heap_null_fini(void *st);

#endif
