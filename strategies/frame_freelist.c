/* frame_freelist.c: today's Hermit physical allocator (PHYS=freelist), the baseline.
 *
 * Follows hermit-os/kernel src/mm/freelist.rs: a list of free ranges
 * [start, end) of frames, sorted by start, kept in a SmallVec with inline
 * capacity 16, one spinlock around everything. alloc is first fit with
 * alignment (walk the list, align each range's start up, carve the block out,
 * splitting a range in two when the block sits in its middle); free walks to the
 * insertion point and merges with the neighbours. Both are O(ranges).
 *
 * Spilling: when a 17th range is needed Hermit's SmallVec moves to the heap. We
 * have no heap below the frame allocator, so the list moves once into a spill
 * array in the meta area and then grows in place by doubling, as a Vec would
 * (32, 64, ...). stats.meta_bytes counts the capacity in use, and `spills`
 * counts the moves/growths. The meta area is sized for the worst case
 * (usable/2 + regions ranges), capped at FL_SPILL_MAX ranges; past that the
 * allocator panics, as Hermit does when its heap cannot grow.
 *
 * Invariants: v[i].start < v[i].end < v[i+1].start (sorted, non-empty, merged);
 * every range lies in one usable region; sum(end - start) == free_frames.
 */
#include "frame.h"
#include "frame_freelist.h"
#include "sync.h"

#define FL_INLINE    16u
#define FL_SPILL_MAX (1u << 18)

struct fl_range {
	uint64_t start, end; /* frames */
};

struct freelist {
	struct spinlock lock;
	uint32_t n, cap;    /* ranges in use, capacity of v */
	struct fl_range *v; /* inl, or spill once spilled */
	struct fl_range *spill;
	uint32_t spill_cap; /* ranges the meta area holds */
	uint32_t max_n;
	uint64_t total, free, spills;
	struct mem_map map;
	struct fl_range inl[FL_INLINE];
};

static bool fl_usable(const struct freelist *f, uint64_t pfn, uint64_t n)
{
	uint64_t lo = pfn << PAGE_SHIFT, hi = (pfn + n) << PAGE_SHIFT;
	for (uint32_t i = 0; i < f->map.count; i++) {
		const struct mem_region *r = &f->map.r[i];
		if (r->type == MEM_USABLE && r->base <= lo && hi <= r->base + r->len)
			return true;
	}
	return false;
}

/* Makes room for one more range (the SmallVec spill, then Vec doubling). */
static void fl_grow(struct freelist *f)
{
	if (f->n < f->cap)
		return;
	uint32_t cap = f->cap * 2;
	if (cap > f->spill_cap)
		cap = f->spill_cap;
	if (cap <= f->n)
		mm_panic("frame_freelist: free-range array full (spill area exhausted)");
	if (f->v == f->inl) {
		for (uint32_t i = 0; i < f->n; i++)
			f->spill[i] = f->inl[i];
		f->v = f->spill;
	}
	f->cap = cap;
	f->spills++;
}

static void fl_insert(struct freelist *f, uint32_t i, struct fl_range r)
{
	fl_grow(f);
	for (uint32_t j = f->n; j > i; j--)
		f->v[j] = f->v[j - 1];
	f->v[i] = r;
	f->n++;
	f->max_n = MM_MAX(f->max_n, f->n);
}

static void fl_remove(struct freelist *f, uint32_t i)
{
	for (uint32_t j = i + 1; j < f->n; j++)
		f->v[j - 1] = f->v[j];
	f->n--;
}

/* Carves [s, s+len) out of range i, which contains it. */
static void fl_carve(struct freelist *f, uint32_t i, uint64_t s, uint64_t len)
{
	struct fl_range *r = &f->v[i];
	uint64_t e = s + len;
	if (r->start == s && r->end == e) {
		fl_remove(f, i);
	} else if (r->start == s) {
		r->start = e;
	} else if (r->end == e) {
		r->end = s;
	} else {
		struct fl_range tail = {e, r->end};
		r->end = s;
		fl_insert(f, i + 1, tail);
	}
	f->free -= len;
}

static size_t fl_meta_size(const struct mem_map *map, unsigned ncpus)
{
	uint64_t worst = (mem_map_bytes(map, MEM_USABLE) >> PAGE_SHIFT) / 2 + map->count + 1;
	worst = MM_MAX(worst, 2 * FL_INLINE);
	return (size_t)(MM_MIN(worst, (uint64_t)FL_SPILL_MAX) * sizeof(struct fl_range));
}

static void fl_free_locked(struct freelist *f, uint64_t pfn, uint64_t len);

static int fl_init(void *st, const struct mem_map *map, unsigned ncpus, void *meta,
		   size_t meta_len)
{
	struct freelist *f = st;
	if (ncpus < 1 || ncpus > FRAME_MAX_CPUS || meta_len < fl_meta_size(map, ncpus) ||
	    ((uintptr_t)meta & 7) || map->count > MEM_MAP_MAX)
		return MM_EINVAL;
	mm_zero(f, sizeof(*f));
	f->v = f->inl;
	f->cap = FL_INLINE;
	f->spill = meta;
	f->spill_cap = (uint32_t)MM_MIN(meta_len / sizeof(struct fl_range), FL_SPILL_MAX);
	f->map = *map;
	for (uint32_t i = 0; i < map->count; i++) {
		const struct mem_region *r = &map->r[i];
		if (r->type != MEM_USABLE)
			continue;
		uint64_t s = MM_ALIGN_UP(r->base, PAGE_SIZE) >> PAGE_SHIFT;
		uint64_t e = MM_ALIGN_DOWN(r->base + r->len, PAGE_SIZE) >> PAGE_SHIFT;
		if (s < e) {
			fl_free_locked(f, s, e - s);
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
	uint64_t len = 1ull << order;
	int rc = MM_ENOMEM;
	spin_lock(&f->lock);
	for (uint32_t i = 0; i < f->n; i++) {
		uint64_t s = MM_ALIGN_UP(f->v[i].start, len);
		if (s + len <= f->v[i].end) {
			fl_carve(f, i, s, len);
			*pfn = s;
			rc = MM_OK;
			break;
		}
	}
	spin_unlock(&f->lock);
	return rc;
}

/* Lock held: returns [pfn, pfn+len) to the list, merging with neighbours. */
static void fl_free_locked(struct freelist *f, uint64_t pfn, uint64_t len)
{
	uint64_t end = pfn + len;
	uint32_t i = 0;
	while (i < f->n && f->v[i].start < pfn)
		i++;
	bool bad = (i > 0 && f->v[i - 1].end > pfn) || (i < f->n && f->v[i].start < end);
	if (bad) {
		spin_unlock(&f->lock);
		mm_panic("frame_freelist: double free (block is already free, or was never "
			 "allocated)");
	}
	bool left = i > 0 && f->v[i - 1].end == pfn;
	bool right = i < f->n && f->v[i].start == end;
	if (left && right) {
		f->v[i - 1].end = f->v[i].end;
		fl_remove(f, i);
	} else if (left) {
		f->v[i - 1].end = end;
	} else if (right) {
		f->v[i].start = pfn;
	} else {
		fl_insert(f, i, (struct fl_range){pfn, end});
	}
	f->free += len;
}

static void fl_free(void *st, unsigned cpu, uint64_t pfn, unsigned order)
{
	struct freelist *f = st;
	MM_ASSERT(order <= FRAME_MAX_ORDER && (pfn & ((1ull << order) - 1)) == 0,
		  "frame_freelist: free of a misaligned block or bad order");
	if (!fl_usable(f, pfn, 1ull << order))
		mm_panic("frame_freelist: free of frames outside usable memory (never allocated)");
	spin_lock(&f->lock);
	fl_free_locked(f, pfn, 1ull << order);
	spin_unlock(&f->lock);
}

static int fl_alloc_at(void *st, uint64_t pfn, unsigned order)
{
	struct freelist *f = st;
	uint64_t len = 1ull << order;
	if (order > FRAME_MAX_ORDER || (pfn & (len - 1)) || !fl_usable(f, pfn, len))
		return MM_EINVAL;
	int rc = MM_EBUSY;
	spin_lock(&f->lock);
	for (uint32_t i = 0; i < f->n && f->v[i].start <= pfn; i++) {
		if (pfn + len <= f->v[i].end) {
			fl_carve(f, i, pfn, len);
			rc = MM_OK;
			break;
		}
	}
	spin_unlock(&f->lock);
	return rc;
}

static bool fl_check(const void *st)
{
	const struct freelist *f = st;
	uint64_t sum = 0;
	MM_ASSERT(f->n <= f->cap && f->cap <= MM_MAX(f->spill_cap, FL_INLINE),
		  "frame_freelist: range count over capacity");
	MM_ASSERT((f->v == f->inl) == (f->spills == 0), "frame_freelist: spill state");
	for (uint32_t i = 0; i < f->n; i++) {
		const struct fl_range *r = &f->v[i];
		MM_ASSERT(r->start < r->end, "frame_freelist: empty range");
		if (i + 1 < f->n)
			MM_ASSERT(r->end < f->v[i + 1].start,
				  "frame_freelist: ranges unsorted, overlapping or unmerged");
		MM_ASSERT(fl_usable(f, r->start, r->end - r->start),
			  "frame_freelist: free range outside usable memory");
		sum += r->end - r->start;
	}
	MM_ASSERT(sum == f->free, "frame_freelist: free count differs from the ranges");
	MM_ASSERT(f->free <= f->total, "frame_freelist: more free frames than usable ones");
	return true;
}

static void fl_stats(const void *st, struct frame_stats *out)
{
	const struct freelist *f = st;
	mm_zero(out, sizeof(*out));
	out->total_frames = f->total;
	out->free_frames = f->free;
	for (uint32_t i = 0; i < f->n; i++) {
		uint64_t s = f->v[i].start, e = f->v[i].end;
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
	out->meta_bytes = sizeof(struct freelist) +
			  (f->v == f->inl ? 0 : (uint64_t)f->cap * sizeof(struct fl_range));
}

void frame_freelist_info(const void *st, struct frame_freelist_info *out)
{
	const struct freelist *f = st;
	out->ranges = f->n;
	out->max_ranges = f->max_n;
	out->capacity = f->cap;
	out->spilled = f->v != f->inl;
	out->spills = f->spills;
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
