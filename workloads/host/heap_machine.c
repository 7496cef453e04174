/* heap_machine.c: talc or slab over a frame and a VA allocator on a hostmem machine
 * (contract in heap_machine.h). Order as in the guest's kmem_init: frame allocator
 * over hm.map (meta_size of that map), VA allocator over the Managed window with
 * metadata frames from the frame allocator (frame_page_source), then the heap. All
 * state is calloc'd; a failed step frees what was made.
 */
#include <stdio.h>
#include <stdlib.h>

#include "heap_machine.h"

static void *zalloc(size_t n)
{
	return calloc(1, n ? n : 1);
}

int heap_machine_init(struct heap_machine *m, const struct frame_ops *fops,
		      const struct va_ops *vops, const struct heap_ops *heap, unsigned ncpus,
		      uint64_t phys_bytes, uint64_t va_bytes, uint64_t fixed_heap_bytes)
{
	*m = (struct heap_machine){0};
	if (hostmem_init(&m->hm, phys_bytes, HOSTMEM_HOLES, va_bytes) != 0)
		return -1;
	uint64_t base = (uint64_t)(uintptr_t)m->hm.va_base;
	size_t fm = fops->meta_size(&m->hm.map, ncpus);
	size_t vm = vops->meta_size(base, va_bytes);
	m->frame_st = zalloc(fops->state_size);
	m->frame_meta = zalloc(fm);
	m->va_st = zalloc(vops->state_size);
	m->va_meta = zalloc(vm);
	m->heap_st = zalloc(heap->state_size);
	const char *what = "out of memory";
	if (!m->frame_st || !m->frame_meta || !m->va_st || !m->va_meta || !m->heap_st)
		goto fail;
	what = "frame allocator init";
	if (fops->init(m->frame_st, &m->hm.map, ncpus, m->frame_meta, fm) != MM_OK)
		goto fail;
	frame_page_source_init(&m->fps, fops, m->frame_st, &m->hm.mmu);
	what = "VA allocator init";
	if (vops->init(m->va_st, base, va_bytes, m->va_meta, vm, &m->fps.ps) != MM_OK)
		goto fail;
	m->env = (struct heap_env){ncpus,   fops, m->frame_st, vops,
				   m->va_st, &m->hm.mmu,      fixed_heap_bytes, 1};
	what = "heap init";
	if (heap->init(m->heap_st, &m->env) == MM_OK)
		return 0;
fail:
	fprintf(stderr, "heap_machine: %s: %s failed\n", heap->name, what);
	heap_machine_fini(m);
	return -1;
}

void heap_machine_fini(struct heap_machine *m)
{
	if (m->hm.phys)
		hostmem_fini(&m->hm);
	free(m->frame_st);
	free(m->frame_meta);
	free(m->va_st);
	free(m->va_meta);
	free(m->heap_st);
	*m = (struct heap_machine){0};
}
