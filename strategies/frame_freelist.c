/* frame_freelist.c: today's Hermit physical allocator (PHYS=freelist), the baseline.
 *
 * Follows hermit-os/kernel src/mm/freelist.rs: a list of free ranges
 * [start, end) of frames, sorted by start, kept in a SmallVec with inline
 * capacity 16, one spinlock around everything. alloc is first fit with
 * alignment (walk the list, align each range's start up, carve the block out,
 * splitting a range in two when the block sits in its middle); free walks to the
 * insertion point and merges with the neighbours. Both are O(ranges).
 *
 * The list itself (sorted ranges, SmallVec-like inline storage of 16 that spills
 * into the meta area and then doubles) is range_list.h, shared with the VA free
 * list. The meta area is sized for the worst case (usable/2 + regions ranges),
 * capped at RL_SPILL_MAX ranges; past that an alloc that would split a range
 * returns MM_ENOMEM and a free that needs a new slot panics, as Hermit does when
 * its heap cannot grow. stats.meta_bytes counts the spill capacity in use.
 *
 * Invariants: those of range_list.h; every range lies in one usable region;
 * sum(end - start) == free_frames <= total.
 */
#include "frame.h"
#include "frame_freelist.h"
#include "range_list.h"
#include "sync.h"

struct freelist {
	struct spinlock lock;
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
	return rl_spill_bytes((mem_map_bytes(map, MEM_USABLE) >> PAGE_SHIFT) / 2 + map->count + 1);
}

static int fl_init(void *st, const struct mem_map *map, unsigned ncpus, void *meta,
		   size_t meta_len)
{
	struct freelist *f = st;
	if (ncpus < 1 || ncpus > FRAME_MAX_CPUS || meta_len < fl_meta_size(map, ncpus) ||
	    ((uintptr_t)meta & 7) || map->count > MEM_MAP_MAX)
		return MM_EINVAL;
	mm_zero(f, sizeof(*f));
	rl_init(&f->l, meta, meta_len);
	f->map = *map;
	for (uint32_t i = 0; i < map->count; i++) {
		const struct mem_region *r = &map->r[i];
		if (r->type != MEM_USABLE)
			continue;
		uint64_t s = MM_ALIGN_UP(r->base, PAGE_SIZE) >> PAGE_SHIFT;
		uint64_t e = MM_ALIGN_DOWN(r->base + r->len, PAGE_SIZE) >> PAGE_SHIFT;
		if (s < e) {
			MM_ASSERT(rl_put(&f->l, s, e - s), "frame_freelist: overlapping regions");
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
	spin_lock(&f->lock);
	int rc = rl_first_fit(&f->l, 1ull << order, 1ull << order, pfn);
	spin_unlock(&f->lock);
	return rc;
}

static void fl_free(void *st, unsigned cpu, uint64_t pfn, unsigned order)
{
	struct freelist *f = st;
	MM_ASSERT(order <= FRAME_MAX_ORDER && (pfn & ((1ull << order) - 1)) == 0,
		  "frame_freelist: free of a misaligned block or bad order");
	if (!fl_usable(f, pfn, 1ull << order))
		mm_panic("frame_freelist: free of frames outside usable memory (never allocated)");
	spin_lock(&f->lock);
	bool ok = rl_put(&f->l, pfn, 1ull << order);
	spin_unlock(&f->lock);
	if (!ok)
		mm_panic("frame_freelist: double free (block is already free, or was never "
			 "allocated)");
}

static int fl_alloc_at(void *st, uint64_t pfn, unsigned order)
{
	struct freelist *f = st;
	uint64_t len = 1ull << order;
	if (order > FRAME_MAX_ORDER || (pfn & (len - 1)) || !fl_usable(f, pfn, len))
		return MM_EINVAL;
	spin_lock(&f->lock);
	int rc = rl_take(&f->l, pfn, len);
	spin_unlock(&f->lock);
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
	MM_ASSERT(f->l.sum <= f->total, "frame_freelist: more free frames than usable ones");
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
}

void frame_freelist_info(const void *st, struct frame_freelist_info *out)
{
	const struct freelist *f = st;
	out->ranges = f->l.n;
	out->max_ranges = f->l.max_n;
	out->capacity = f->l.cap;
	out->spilled = f->l.v != f->l.inl;
	out->spills = f->l.spills;
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
};
