/* page_source.c: adapts a frame allocator into the page_source a VA allocator
 * uses for its metadata frames. Frames come back zeroed; order 0, CPU 0 (the
 * tree's node frames are rare and never returned, see va_btree.c). CPU 0 for
 * every caller breaks frame.h's cpu rule: over PHYS=freelist, a node frame asked
 * for while CPU 0 is inside the free list's heap call is refused as a re-entry
 * (MM_ENOMEM), and with MM_DEBUG one asked for while CPU 0 holds the list's lock
 * panics; page_source has no cpu to pass instead. */
#include "va.h"

static int fps_alloc(void *ctx, uint64_t *pa)
{
	struct frame_page_source *f = ctx;
	uint64_t pfn;
	int rc = f->ops->alloc(f->frame_st, 0, 0, &pfn);
	if (rc != MM_OK)
		return rc;
	*pa = pfn << PAGE_SHIFT;
	mm_zero(f->mmu->to_virt(f->mmu->ctx, *pa), PAGE_SIZE);
	return MM_OK;
}

static void *fps_to_virt(void *ctx, uint64_t pa)
{
	struct frame_page_source *f = ctx;
	return f->mmu->to_virt(f->mmu->ctx, pa);
}

void frame_page_source_init(struct frame_page_source *fps, const struct frame_ops *ops,
			    void *frame_st, const struct mmu *mmu)
{
	fps->ps.ctx = fps;
	fps->ps.alloc = fps_alloc;
	fps->ps.to_virt = fps_to_virt;
	fps->ops = ops;
	fps->frame_st = frame_st;
	fps->mmu = mmu;
}
