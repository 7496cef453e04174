/* early.c: the Early allocator: physical memory for the kernel before (and
 * beside) any frame-allocation strategy exists.
 *
 * A bump allocator that hands out naturally aligned blocks from the top of the
 * highest usable region of boot.map, downwards, and marks every block MEM_KERNEL
 * in boot.map at once, so a frame allocator initialised later from boot.map never
 * sees them (the usable region shrinks from its top: the next block comes from
 * the new top). Nothing is freed; alignment gaps are lost. Thread-safe.
 */
#include "kernel.h"

static struct spinlock early_lock;

/* The usable region with the highest end, or NULL. */
static const struct mem_region *top_region(void)
{
	const struct mem_region *best = NULL;
	for (uint32_t i = 0; i < boot.map.count; i++) {
		const struct mem_region *r = &boot.map.r[i];
		if (r->type == MEM_USABLE && (!best || r->base > best->base))
			best = r;
	}
	return best;
}

int early_alloc(uint64_t size, uint64_t align, uint64_t *pa)
{
	if (!MM_IS_POW2(align) || size == 0)
		return MM_EINVAL;
	size = MM_ALIGN_UP(size, PAGE_SIZE);
	int rc = MM_ENOMEM;
	spin_lock(&early_lock);
	const struct mem_region *r = top_region();
	if (r && r->len >= size) {
		uint64_t top = r->base + r->len, base = MM_ALIGN_DOWN(top - size, align);
		if (base >= r->base) {
			rc = mem_map_set(&boot.map, base, top - base, MEM_KERNEL);
			*pa = base;
		}
	}
	spin_unlock(&early_lock);
	if (rc == MM_OK)
		__builtin_memset((void *)(uintptr_t)*pa, 0, size);
	return rc;
}

int early_frame(void *ctx, uint64_t *pa)
{
	return early_alloc(PAGE_SIZE, PAGE_SIZE, pa);
}
