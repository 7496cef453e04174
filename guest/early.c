/* early.c: the Early allocator: physical memory for the kernel before (and
 * beside) any frame-allocation strategy exists.
 *
 * A bump allocator that hands out naturally aligned blocks from the top of the
 * highest usable region of boot.map, downwards, and marks every block MEM_KERNEL
 * in boot.map at once, so a frame allocator initialised later from boot.map never
 * sees them (the usable region shrinks from its top: the next block comes from
 * the new top). Nothing is freed; alignment gaps are lost. Thread-safe.
 * Once the frame allocator is up (early_use_frames, mm_init.c), blocks come from it
 * instead (mm_frames_alloc with a layout request), still never freed.
 */
#include "kernel.h"
#include "../strategies/mm.h"

static struct spinlock early_lock;
static uint64_t bump_frames;
static struct mm *frames_mm;

uint64_t early_bump_frames(void)
{
	return bump_frames;
}

void early_use_frames(struct mm *mm)
{
	frames_mm = mm;
}

/* After early_use_frames: size bytes aligned to align from the frame allocator. */
static int frames_alloc(uint64_t size, uint64_t align, uint64_t *pa)
{
	unsigned cpu = this_cpu()->id;
	int rc = mm_frames_alloc(frames_mm, cpu, mm_req_layout(size, align), pa);
	if (rc == MM_OK)
		__builtin_memset((void *)(uintptr_t)*pa, 0, size);
	return rc;
}

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
	if (atomic_load_acq(&frames_mm))
		return frames_alloc(size, align, pa);
	int rc = MM_ENOMEM;
	spin_lock(&early_lock);
	const struct mem_region *r = top_region();
	if (r && r->len >= size) {
		uint64_t top = r->base + r->len, base = MM_ALIGN_DOWN(top - size, align);
		if (base >= r->base) {
			rc = mem_map_set(&boot.map, base, top - base, MEM_KERNEL);
			*pa = base;
			if (rc == MM_OK)
				bump_frames += (top - base) >> PAGE_SHIFT;
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
