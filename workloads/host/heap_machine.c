/* heap_machine.c: the replay machine on hostmem (contract in heap_machine.h). The
 * backend is hostmem's mmap of the memfd at map time and PROT_NONE at unmap time;
 * everything else (Early region, tables, allocators, heap) is workloads/core/machine.c,
 * the code the guest runs. The machine's memory and window are hostmem's; nothing
 * is malloc'd, so a preloaded peer allocator never serves the machine. */
#include <stdio.h>

#include "heap_machine.h"

static int be_map(void *ctx, uint64_t va, uint64_t pa, uint64_t len, unsigned flags)
{
	return hostmem_map(ctx, va, pa, len, flags);
}

static void be_unmap(void *ctx, uint64_t va, uint64_t len)
{
	hostmem_unmap(ctx, va, len);
}

int heap_machine_init(struct heap_machine *m, const struct frame_ops *fops,
		      const struct va_ops *vops, const struct heap_ops *heap, unsigned ncpus,
		      uint64_t phys_bytes, uint64_t va_bytes, uint64_t fixed_heap_bytes)
{
	*m = (struct heap_machine){0};
	va_bytes = !va_bytes			  ? MACHINE_VA_SIZE
		   : va_bytes >= MACHINE_VA_ALIGN ? MM_ALIGN_UP(va_bytes, MACHINE_VA_ALIGN)
						  : MM_ALIGN_UP(va_bytes, SIZE_1G);
	if (hostmem_init(&m->hm, phys_bytes, HOSTMEM_HOLES | HOSTMEM_PREFAULT | HOSTMEM_SLOT,
			 va_bytes) != 0) {
		heap_machine_fini(m);
		return -1;
	}
	struct machine_cfg cfg = {.mem_bytes = phys_bytes,
				  .ncpus = ncpus,
				  .fops = fops,
				  .vops = vops,
				  .hops = heap,
				  .fixed_heap_bytes = fixed_heap_bytes};
	struct machine_backend be = {.ctx = &m->hm,
				     .phys = m->hm.phys,
				     .va_base = (uint64_t)(uintptr_t)m->hm.va_base,
				     .va_size = va_bytes,
				     .map = be_map,
				     .unmap = be_unmap};
	const char *what;
	if (machine_init(&m->mc, &cfg, &be, &what) != MM_OK) {
		fprintf(stderr, "heap_machine: %s on a %llu MiB machine: %s failed\n", heap->name,
			(unsigned long long)(phys_bytes >> 20), what);
		heap_machine_fini(m);
		return -1;
	}
	m->frame_st = m->mc.frame_st;
	m->va_st = m->mc.va_st;
	m->heap_st = m->mc.heap_st;
	return 0;
}

void heap_machine_fini(struct heap_machine *m)
{
	if (m->hm.phys || m->hm.reserved)
		hostmem_fini(&m->hm);
	*m = (struct heap_machine){0};
}
