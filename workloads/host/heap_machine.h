/* heap_machine.h: a strategy heap (talc, slab) on a hosted machine for the host
 * engine: hostmem (physical memory with holes + a Managed window), a frame allocator
 * (frame_buddy in the guest's default) over its map, a VA allocator (va_bitmap) over
 * the window, and the heap_env the guest's kmem_init
 * builds (fixed heap of fixed_heap_bytes, one empty chunk kept per CPU), so a
 * serial replay here gives the guest's deterministic heap metrics (footprint at
 * peak, J&W #3/#4).
 */
#ifndef WL_HEAP_MACHINE_H
#define WL_HEAP_MACHINE_H

#include "../../strategies/heap.h"
#include "hostmem.h"

struct heap_machine {
	struct hostmem hm;
	void *frame_st, *frame_meta, *va_st, *va_meta, *heap_st;
	struct frame_page_source fps;
	struct heap_env env;
};

/* Sets up m for heap over fops and vops with ncpus CPUs; 0, or -1 (message printed to
 * stderr). */
int heap_machine_init(struct heap_machine *m, const struct frame_ops *fops,
		      const struct va_ops *vops, const struct heap_ops *heap, unsigned ncpus,
		      uint64_t phys_bytes, uint64_t va_bytes, uint64_t fixed_heap_bytes);
/* Releases everything of m (the heap's memory included). */
void heap_machine_fini(struct heap_machine *m);

#endif
