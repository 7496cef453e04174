/* va_freelist.c: today's Hermit virtual address allocator (VIRT=freelist), the baseline.
 *
 * Follows hermit-os/kernel src/mm/virtualmem.rs, which keeps the kernel's free
 * virtual address space in the same FreeList as physical memory: a sorted list
 * of free ranges [start, end) of 4 KiB pages, first fit with alignment, merging
 * with both neighbours on free, one spinlock around everything. The list is
 * range_list.h, shared with frame_freelist.c: 16 ranges inline (Hermit's SmallVec
 * capacity), then storage from the heap given by set_heap (the kernel heap, as
 * SmallVec uses the global allocator), doubling, never shrinking. No meta area
 * (meta_size is 0); stats.meta_bytes = state + the heap storage in use.
 *
 * When the list cannot grow (no heap yet, heap out of memory, or a re-entry),
 * where Hermit panics: an alloc that would split a range returns MM_ENOMEM; a
 * free that needs a new slot drops the range: its pages are counted in lost_bytes
 * and never handed out again. reserve has no cpu: it never grows (MM_ENOMEM if it
 * would). Re-entry: a heap that takes address space (slab) calls back into this
 * list on the same cpu while the list is calling it (Hermit: a self-deadlock on
 * the spinlock); here that call does not take the lock: an alloc returns
 * MM_ENOMEM, a free is dropped (lost_bytes); spill_reentries counts them.
 *
 * Any size and alignment at 4 KiB granularity; alignment is of the absolute
 * address. alloc and free are O(free ranges).
 * Invariants: those of range_list.h; every range lies in [base, base+size);
 * reserved_bytes + free_bytes + lost_bytes == size, free_bytes == 4 KiB * sum.
 */
#include "range_list.h"
#include "va.h"

struct va_freelist {
	uint64_t base, size; /* bytes */
	struct range_list l; /* absolute page numbers */
};

static size_t vf_meta_size(uint64_t base, uint64_t size)
{
	return 0; /* ranges beyond the inline 16 live on the heap */
}

static int vf_init(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
		   const struct page_source *ps)
{
	struct va_freelist *v = st;
	if (((base | size) & (PAGE_SIZE - 1)) || size == 0 || base + size < base)
		return MM_EINVAL;
	mm_zero(v, sizeof(*v));
	v->base = base;
	v->size = size;
	rl_init(&v->l);
	MM_ASSERT(rl_put(&v->l, RL_NO_CPU, base >> PAGE_SHIFT, size >> PAGE_SHIFT) == MM_OK,
		  "va_freelist: init");
	return MM_OK;
}

static int vf_alloc(void *st, unsigned cpu, uint64_t size, uint64_t align, uint64_t *addr)
{
	struct va_freelist *v = st;
	if (size == 0 || (align && !MM_IS_POW2(align)))
		return MM_EINVAL;
	if (size > v->size)
		return MM_ENOMEM;
	align = MM_MAX(align, PAGE_SIZE);
	uint64_t page;
	if (rl_reentered(&v->l, cpu))
		return MM_ENOMEM; /* called from inside our own heap call */
	rl_lock(&v->l, cpu);
	int rc = rl_first_fit(&v->l, cpu, MM_ALIGN_UP(size, PAGE_SIZE) >> PAGE_SHIFT,
			      align >> PAGE_SHIFT, &page);
	rl_unlock(&v->l);
	if (rc == MM_OK)
		*addr = page << PAGE_SHIFT;
	return rc;
}

/* [addr, addr+size) rounded out to pages into pages [*lo, *hi); false if it is
 * empty or not inside the managed range. */
static bool vf_pages(const struct va_freelist *v, uint64_t addr, uint64_t size, uint64_t *lo,
		     uint64_t *hi)
{
	uint64_t end = v->base + v->size;
	if (size == 0 || addr < v->base || addr >= end || size > end - addr)
		return false;
	*lo = addr >> PAGE_SHIFT;
	*hi = MM_ALIGN_UP(addr + size, PAGE_SIZE) >> PAGE_SHIFT;
	return true;
}

static void vf_free(void *st, unsigned cpu, uint64_t addr, uint64_t size)
{
	struct va_freelist *v = st;
	uint64_t lo, hi;
	if (!vf_pages(v, addr, size, &lo, &hi))
		mm_panic("va_freelist: free outside the managed range (never allocated)");
	if (rl_reentered(&v->l, cpu)) {
		rl_lose(&v->l, hi - lo); /* called from inside our own heap call */
		return;
	}
	rl_lock(&v->l, cpu);
	int rc = rl_put(&v->l, cpu, lo, hi - lo); /* MM_ENOMEM: dropped, lost */
	rl_unlock(&v->l);
	if (rc == MM_EBUSY)
		mm_panic("va_freelist: double free (range is already free, or was never "
			 "allocated)");
}

static int vf_reserve(void *st, uint64_t addr, uint64_t size)
{
	struct va_freelist *v = st;
	uint64_t lo, hi;
	if (!vf_pages(v, addr, size, &lo, &hi))
		return MM_EINVAL;
	rl_lock(&v->l, RL_NO_CPU);
	int rc = rl_take(&v->l, RL_NO_CPU, lo, hi - lo);
	rl_unlock(&v->l);
	return rc;
}

static bool vf_check(const void *st)
{
	const struct va_freelist *v = st;
	rl_check(&v->l);
	uint64_t lo = v->base >> PAGE_SHIFT, hi = lo + (v->size >> PAGE_SHIFT);
	for (uint32_t i = 0; i < v->l.n; i++)
		MM_ASSERT(v->l.v[i].start >= lo && v->l.v[i].end <= hi,
			  "va_freelist: free range outside the managed range");
	MM_ASSERT(v->l.sum + atomic_load_rlx(&v->l.lost) <= hi - lo,
		  "va_freelist: more free and lost pages than managed ones");
	return true;
}

static void vf_stats(const void *st, struct va_stats *out)
{
	const struct va_freelist *v = st;
	mm_zero(out, sizeof(*out));
	out->size = v->size;
	out->free_bytes = v->l.sum << PAGE_SHIFT;
	out->lost_bytes = atomic_load_rlx(&v->l.lost) << PAGE_SHIFT;
	out->reserved_bytes = v->size - out->free_bytes - out->lost_bytes;
	out->free_ranges = v->l.n;
	for (uint32_t i = 0; i < v->l.n; i++)
		out->largest_free = MM_MAX(out->largest_free,
					   (v->l.v[i].end - v->l.v[i].start) << PAGE_SHIFT);
	out->meta_bytes = sizeof(*v) + rl_meta_bytes(&v->l);
	out->granule = PAGE_SIZE;
	out->spill_allocs = v->l.spill_allocs;
	out->spill_reentries = atomic_load_rlx(&v->l.reentries);
}

static void vf_set_heap(void *st, const struct rl_heap *h)
{
	struct va_freelist *v = st;
	rl_set_heap(&v->l, h);
}

const struct va_ops va_freelist_ops = {
    .name = "freelist",
    .state_size = sizeof(struct va_freelist),
    .meta_size = vf_meta_size,
    .init = vf_init,
    .alloc = vf_alloc,
    .free = vf_free,
    .reserve = vf_reserve,
    .check = vf_check,
    .stats = vf_stats,
    .set_heap = vf_set_heap,
};
