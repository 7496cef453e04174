/* frame_freelist.c: today's Hermit physical allocator (PHYS=freelist), the baseline.
 *
 * Follows hermit-os/kernel src/mm/freelist.rs: a list of free ranges
 * [start, end) of frames, sorted by start, kept in a SmallVec with inline
 * capacity 16, one spinlock around everything. alloc is first fit with
 * alignment (walk the list, align each range's start up, carve the block out,
 * splitting a range in two when the block sits in its middle); free walks to the
 * insertion point and merges with the neighbours. Both are O(ranges).
 *
 * The list itself is range_list.h, shared with the VA free list: 16 ranges
 * inline, then storage from the heap given by set_heap (the kernel heap, as
 * Hermit's SmallVec spills into the global allocator), doubling, never shrinking,
 * allocated and freed under the spinlock. No meta area (meta_size is 0);
 * stats.meta_bytes = state + the heap storage in use.
 *
 * When the list cannot grow (no heap yet, heap out of memory, or a re-entry
 * below), where Hermit panics: an alloc that would split a range returns
 * MM_ENOMEM; a free that needs a new slot drops the block: its frames are counted
 * in lost_frames and never handed out again. alloc_at has no cpu: it never grows
 * (MM_ENOMEM if it would). Re-entry: a heap that takes frames (slab) calls back
 * into this list on the same cpu while the list is calling it; Hermit would spin
 * on its own lock forever. Here that call (rl_reentered) does not take the lock:
 * an alloc returns MM_ENOMEM, a free is dropped (lost_frames); spill_reentries
 * counts them. So, at any quiescent point:
 *   free_frames + allocated + lost_frames == total.
 *
 * Invariants: those of range_list.h; every range lies in one usable region;
 * sum(end - start) == free_frames <= total - lost.
 */
#include "frame.h"
#include "frame_freelist.h"
#include "range_list.h"

struct freelist {
	uint64_t total;
	struct mem_map map;
	struct range_list l; /* frames */
};

static bool fl_usable(const struct freelist *f, uint64_t pfn, uint64_t n)
{
	return mem_map_covers(&f->map, pfn << PAGE_SHIFT, n << PAGE_SHIFT, MEM_USABLE);
}

static size_t fl_meta_size(const struct mem_map *map, unsigned ncpus)
{
	return 0; /* ranges beyond the inline 16 live on the heap */
}

static int fl_init(void *st, const struct mem_map *map, unsigned ncpus, void *meta,
		   size_t meta_len)
{
	struct freelist *f = st;
	if (ncpus < 1 || ncpus > FRAME_MAX_CPUS || map->count > MEM_MAP_MAX)
		return MM_EINVAL;
	mm_zero(f, sizeof(*f));
	rl_init(&f->l);
	f->map = *map;
	for (uint32_t i = 0; i < map->count; i++) {
		const struct mem_region *r = &map->r[i];
		if (r->type != MEM_USABLE)
			continue;
		uint64_t s = MM_ALIGN_UP(r->base, PAGE_SIZE) >> PAGE_SHIFT;
		uint64_t e = MM_ALIGN_DOWN(r->base + r->len, PAGE_SIZE) >> PAGE_SHIFT;
		if (s < e) { /* past 16 regions without a heap: lost (MM_ENOMEM) */
			MM_ASSERT(rl_put(&f->l, RL_NO_CPU, s, e - s) != MM_EBUSY,
				  "frame_freelist: overlapping regions");
			f->total += e - s;
		}
	}
	return MM_OK;
}

static int fl_alloc(void *st, unsigned cpu, unsigned order, uint64_t *pfn)
{
	struct freelist *f = st;
	if (order > FRAME_MAX_ORDER)
		return MM_EINVAL;
	if (rl_reentered(&f->l, cpu))
		return MM_ENOMEM; /* called from inside our own heap call */
	rl_lock(&f->l, cpu);
	int rc = rl_first_fit(&f->l, cpu, 1ull << order, 1ull << order, pfn);
	rl_unlock(&f->l);
	return rc;
}

static void fl_free(void *st, unsigned cpu, uint64_t pfn, unsigned order)
{
	struct freelist *f = st;
	MM_ASSERT(order <= FRAME_MAX_ORDER && (pfn & ((1ull << order) - 1)) == 0,
		  "frame_freelist: free of a misaligned block or bad order");
	if (!fl_usable(f, pfn, 1ull << order))
		mm_panic("frame_freelist: free of frames outside usable memory (never allocated)");
	if (rl_reentered(&f->l, cpu)) {
		rl_lose(&f->l, 1ull << order); /* called from inside our own heap call */
		return;
	}
	rl_lock(&f->l, cpu);
	int rc = rl_put(&f->l, cpu, pfn, 1ull << order); /* MM_ENOMEM: dropped, lost */
	rl_unlock(&f->l);
	if (rc == MM_EBUSY)
		mm_panic("frame_freelist: double free (block is already free, or was never "
			 "allocated)");
}

static int fl_alloc_at(void *st, uint64_t pfn, unsigned order)
{
	struct freelist *f = st;
	uint64_t len = 1ull << order;
	if (order > FRAME_MAX_ORDER || (pfn & (len - 1)) || !fl_usable(f, pfn, len))
		return MM_EINVAL;
	rl_lock(&f->l, RL_NO_CPU);
	int rc = rl_take(&f->l, RL_NO_CPU, pfn, len);
	rl_unlock(&f->l);
	return rc;
}

static bool fl_check(const void *st)
{
	const struct freelist *f = st;
	rl_check(&f->l);
	for (uint32_t i = 0; i < f->l.n; i++) {
		const struct rl_range *r = &f->l.v[i];
		MM_ASSERT(fl_usable(f, r->start, r->end - r->start),
			  "frame_freelist: free range outside usable memory");
	}
	MM_ASSERT(f->l.sum + atomic_load_rlx(&f->l.lost) <= f->total,
		  "frame_freelist: more free and lost frames than usable ones");
	return true;
}

static void fl_stats(const void *st, struct frame_stats *out)
{
	const struct freelist *f = st;
	mm_zero(out, sizeof(*out));
	out->total_frames = f->total;
	out->free_frames = f->l.sum;
	for (uint32_t i = 0; i < f->l.n; i++) {
		uint64_t s = f->l.v[i].start, e = f->l.v[i].end;
		uint64_t a = MM_ALIGN_UP(s, 512), z = MM_ALIGN_DOWN(e, 512);
		if (z > a)
			out->free_2m_blocks += (z - a) / 512;
		while (s < e) { /* maximal aligned blocks */
			unsigned o = MM_MIN(mm_log2_floor(e - s), (unsigned)FRAME_MAX_ORDER);
			if (s)
				o = MM_MIN(o, (unsigned)__builtin_ctzll(s));
			out->free_blocks[o]++;
			s += 1ull << o;
		}
	}
	for (unsigned j = 0; j <= FRAME_MAX_ORDER; j++)
		if (out->free_blocks[j])
			out->largest_free = PAGE_SIZE << j;
	out->meta_bytes = sizeof(struct freelist) + rl_meta_bytes(&f->l);
	out->spill_allocs = f->l.spill_allocs;
	out->spill_reentries = atomic_load_rlx(&f->l.reentries);
	out->lost_frames = atomic_load_rlx(&f->l.lost);
}

static void fl_set_heap(void *st, const struct rl_heap *h)
{
	struct freelist *f = st;
	rl_set_heap(&f->l, h);
}

void frame_freelist_info(const void *st, struct frame_freelist_info *out)
{
	const struct freelist *f = st;
	out->ranges = f->l.n;
	out->max_ranges = f->l.max_n;
	out->capacity = f->l.cap;
	out->spilled = f->l.v != f->l.inl;
	out->spill_allocs = f->l.spill_allocs;
}

const struct frame_ops frame_freelist_ops = {
    .name = "freelist",
    .state_size = sizeof(struct freelist),
    .meta_size = fl_meta_size,
    .init = fl_init,
    .alloc = fl_alloc,
    .free = fl_free,
    .alloc_at = fl_alloc_at,
    .check = fl_check,
    .stats = fl_stats,
    .set_heap = fl_set_heap,
};
