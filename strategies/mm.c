/* mm.c: the mm API (mm.h) over any frame_ops / va_ops pair.
 *
 * Layout requests on a buddy: n = ceil(size / 4 KiB) frames aligned to a = 2^m
 * frames take one block of order k = max(ceil(log2 n), m) at pfn, then return
 * [pfn + n, pfn + 2^k) as maximal aligned blocks (at most k of them), so exactly
 * n frames stay allocated:  allocated_after - allocated_before == n.
 * Freeing returns [pfn, pfn + n) the same way; the allocator coalesces them.
 */
#include "mm.h"

int mm_init(struct mm *mm, unsigned ncpus, const struct frame_ops *frames, void *frame_st,
	    const struct va_ops *va, void *va_st, const struct mmu *mmu)
{
	if (!frames || !frame_st || ncpus < 1 || ncpus > FRAME_MAX_CPUS || (va && !va_st))
		return MM_EINVAL;
	*mm = (struct mm){ncpus, frames, frame_st, va, va_st, mmu};
	return MM_OK;
}

int mm_req_bytes(struct mm_req req, uint64_t *size, uint64_t *align)
{
	switch (req.kind) {
	case MM_REQ_LAYOUT:
		if (req.layout.size == 0 || req.layout.size > (1ull << 62) ||
		    (req.layout.align && !MM_IS_POW2(req.layout.align)))
			return MM_EINVAL;
		*size = MM_ALIGN_UP(req.layout.size, PAGE_SIZE);
		*align = MM_MAX(req.layout.align, PAGE_SIZE);
		return MM_OK;
	case MM_REQ_POW2:
		if (req.log2 > 62)
			return MM_EINVAL;
		*size = *align = MM_MAX(1ull << req.log2, PAGE_SIZE);
		return MM_OK;
	case MM_REQ_PAGE:
		if (req.log2 != MM_PAGE_4K && req.log2 != MM_PAGE_2M && req.log2 != MM_PAGE_1G)
			return MM_EINVAL;
		*size = *align = 1ull << req.log2;
		return MM_OK;
	default:
		return MM_EINVAL;
	}
}

/* Frees frames [pfn, pfn + n) as maximal aligned blocks. */
static void free_range(struct mm *mm, unsigned cpu, uint64_t pfn, uint64_t n)
{
	uint64_t end = pfn + n;
	while (pfn < end) {
		unsigned o = MM_MIN(mm_log2_floor(end - pfn), (unsigned)FRAME_MAX_ORDER);
		if (pfn)
			o = MM_MIN(o, (unsigned)__builtin_ctzll(pfn));
		mm->frames->free(mm->frame_st, cpu, pfn, o);
		pfn += 1ull << o;
	}
}

int mm_frames_alloc(struct mm *mm, unsigned cpu, struct mm_req req, uint64_t *pa)
{
	uint64_t size, align, pfn;
	if (mm_req_bytes(req, &size, &align) != MM_OK || size > SIZE_1G || align > SIZE_1G)
		return MM_EINVAL;
	uint64_t n = size >> PAGE_SHIFT;
	unsigned order = MM_MAX(mm_log2_ceil(n), mm_log2_floor(align) - PAGE_SHIFT);
	int rc = mm->frames->alloc(mm->frame_st, cpu, order, &pfn);
	if (rc != MM_OK)
		return rc;
	free_range(mm, cpu, pfn + n, (1ull << order) - n);
	*pa = pfn << PAGE_SHIFT;
	return MM_OK;
}

void mm_frames_free(struct mm *mm, unsigned cpu, uint64_t pa, struct mm_req req)
{
	uint64_t size, align;
	MM_ASSERT(mm_req_bytes(req, &size, &align) == MM_OK && size <= SIZE_1G,
		  "mm_frames_free: malformed request");
	MM_ASSERT((pa & (align - 1)) == 0, "mm_frames_free: address not aligned as requested");
	free_range(mm, cpu, pa >> PAGE_SHIFT, size >> PAGE_SHIFT);
}

int mm_va_alloc(struct mm *mm, unsigned cpu, struct mm_req req, uint64_t *va)
{
	uint64_t size, align;
	if (!mm->va || mm_req_bytes(req, &size, &align) != MM_OK)
		return MM_EINVAL;
	return mm->va->alloc(mm->va_st, cpu, size, align, va);
}

void mm_va_free(struct mm *mm, unsigned cpu, uint64_t va, struct mm_req req)
{
	uint64_t size, align;
	MM_ASSERT(mm->va && mm_req_bytes(req, &size, &align) == MM_OK,
		  "mm_va_free: malformed request or no VA allocator");
	MM_ASSERT((va & (align - 1)) == 0, "mm_va_free: address not aligned as requested");
	mm->va->free(mm->va_st, cpu, va, size);
}
