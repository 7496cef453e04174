/* va_bitmap.c: the bitmap buddy VA allocator (VIRT=bitmap), as the proposal has it:
 * "use the same strategy as for physical memory".
 *
 * The Managed region is cut into granules of 2^VA_BITMAP_GRANULE_SHIFT bytes
 * (2 MiB by default) and the physical bitmap buddy, frame_buddy.c, runs over them
 * unchanged: one granule plays one frame (2 bits per granule in buddy_bitmap.h
 * nodes of 512, a spinlock per 512-granule area and per 2^18-granule chunk,
 * per-CPU areas, no global lock; see frame_buddy.c for the algorithm and its
 * invariants). Its state, its metadata and ours all live in the fixed meta area;
 * nothing comes from the page_source.
 *
 * Addresses. Granule u is at origin + u * granule, where origin is base rounded
 * down to the largest block (2^18 granules); the granules in [origin, base) are
 * a hole in the buddy's memory map and never free. So every buddy block is
 * aligned in absolute terms to its own size.
 * alloc(size, align) rounds size up to P = 2^p granules and takes a block of
 * 2^max(p, a) granules (2^a = align / granule): a block of P is aligned to P; for
 * a larger alignment the allocator takes the aligned larger block and frees its
 * tail [P, 2^a) at once. Requests above 2^18 granules fail with MM_ENOMEM.
 * reserve(addr, size) takes exactly the granules of [addr, addr+size) rounded
 * out, as maximal aligned blocks (frame_buddy alloc_at); if one is busy it gives
 * back the ones it took and returns MM_EBUSY (a concurrent alloc may see the
 * transient state). free(addr, size) must tell the two apart when n, the rounded
 * granule count, is not a power of two: alloc held the aligned block of P, reserve
 * held exactly n. A reserve of such an n at a P-aligned start (P >= 4) sets a mark
 * bit for its first granule (one bit per 4 granules); free frees the exact granules
 * when the mark is set or the start is not P-aligned, and the block of P otherwise.
 *
 * Concurrency is frame_buddy's: no global lock; each CPU (cpu < FRAME_MAX_CPUS)
 * allocates small blocks from an area it reserved, under that area's lock, and
 * the bitmap words stay behind per-node spinlocks rather than bare atomics, so
 * buddy coalescing needs no lock-free protocol. Marks are atomic bit operations.
 *
 * Invariants: those of frame_buddy.c over the granules; a set mark lies on an
 * allocated granule; reserved_bytes + free_bytes == size, free_bytes = free
 * granules * granule. Metadata: frame_buddy's ~2.13 bits per granule (136 bytes
 * per 512: 128 of bitmap, 8 of lock/count/owner), plus 0.25 bits of marks: at
 * 2 MiB 1 TiB is 512 Ki granules: 128 KiB of bitmap (the proposal's figure) +
 * 8 KiB of locks and counts + 16 KiB of marks + 5.6 KiB of fixed buddy state
 * (per-CPU slots, memory map) + 1 KiB of per-CPU 2-MiB-block caches (64 CPUs x 4
 * slots) = 162,896 bytes (va_test prints it).
 */
#include "frame.h"
#include "frame_buddy.h"
#include "sync.h"
#include "va_bitmap.h"

_Static_assert(VA_BITMAP_GRANULE_SHIFT >= PAGE_SHIFT && VA_BITMAP_GRANULE_SHIFT <= 30,
	       "VA_BITMAP_GRANULE_SHIFT must be 12..30");
_Static_assert(VA_BITMAP_MAX_ORDER == FRAME_MAX_ORDER, "the buddy's largest block");

#define VB_MAX_UNITS (1ull << 40) /* granules, origin to end */

struct va_bitmap {
	uint64_t base, size, origin; /* bytes */
	unsigned gshift;
	uint64_t prefix, units; /* granules in [origin, base); in [origin, base + size) */
	void *buddy;		/* frame_buddy state, at the start of meta */
	uint64_t *marks;	/* bit u / 4: a reserve of a non-power-of-two n starts at u */
	size_t meta_len;	/* bytes of meta in use */
};

struct vb_layout {
	uint64_t origin, prefix, units;
	struct mem_map map; /* what the buddy sees: granule u as frame u */
	size_t state, buddy_meta, marks, total; /* bytes */
};

/* Where everything goes in the meta area; false if the range is unusable. */
static bool vb_layout(uint64_t base, uint64_t size, unsigned gshift, struct vb_layout *l)
{
	uint64_t g = 1ull << gshift;
	if (gshift < PAGE_SHIFT || gshift > 30 || ((base | size) & (g - 1)) || size == 0 ||
	    base + size < base)
		return false;
	l->origin = MM_ALIGN_DOWN(base, g << VA_BITMAP_MAX_ORDER);
	l->prefix = (base - l->origin) >> gshift;
	l->units = l->prefix + (size >> gshift);
	if (l->units > VB_MAX_UNITS)
		return false;
	l->map = (struct mem_map){.count = 1,
				  .r = {{l->prefix << PAGE_SHIFT, (size >> gshift) << PAGE_SHIFT,
					 MEM_USABLE}}};
	l->state = MM_ALIGN_UP(frame_buddy_ops.state_size, 64);
	l->buddy_meta = MM_ALIGN_UP(frame_buddy_ops.meta_size(&l->map, FRAME_MAX_CPUS), 64);
	l->marks = (size_t)((l->units / 4 + 64) / 64 * 8);
	l->total = l->state + l->buddy_meta + l->marks;
	return true;
}

size_t va_bitmap_meta_size_granule(uint64_t base, uint64_t size, unsigned gshift)
{
	struct vb_layout l;
	return vb_layout(base, size, gshift, &l) ? l.total : 0;
}

static size_t vb_meta_size(uint64_t base, uint64_t size)
{
	return va_bitmap_meta_size_granule(base, size, VA_BITMAP_GRANULE_SHIFT);
}

int va_bitmap_init_granule(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
			   unsigned gshift)
{
	struct va_bitmap *v = st;
	struct vb_layout l;
	if (!vb_layout(base, size, gshift, &l) || meta_len < l.total || ((uintptr_t)meta & 7))
		return MM_EINVAL;
	mm_zero(v, sizeof(*v));
	mm_zero(meta, l.total);
	*v = (struct va_bitmap){.base = base, .size = size, .origin = l.origin, .gshift = gshift,
				.prefix = l.prefix, .units = l.units, .buddy = meta,
				.marks = (uint64_t *)((char *)meta + l.state + l.buddy_meta),
				.meta_len = l.total};
	return frame_buddy_ops.init(v->buddy, &l.map, FRAME_MAX_CPUS, (char *)meta + l.state,
				    l.buddy_meta);
}

static int vb_init(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
		   const struct page_source *ps)
{
	return va_bitmap_init_granule(st, base, size, meta, meta_len, VA_BITMAP_GRANULE_SHIFT);
}

/* ---- marks ------------------------------------------------------------------ */

static void mark_set(struct va_bitmap *v, uint64_t u)
{
	__atomic_fetch_or(&v->marks[u / 256], 1ull << (u / 4 % 64), __ATOMIC_RELAXED);
}

/* Clears the mark of granule u; true if it was set. */
static bool mark_take(struct va_bitmap *v, uint64_t u)
{
	uint64_t bit = 1ull << (u / 4 % 64);
	return __atomic_fetch_and(&v->marks[u / 256], ~bit, __ATOMIC_RELAXED) & bit;
}

/* ---- blocks ----------------------------------------------------------------- */

/* Order of the maximal aligned block starting at granule s inside [s, e). */
static unsigned vb_block(uint64_t s, uint64_t e)
{
	unsigned o = MM_MIN(mm_log2_floor(e - s), VA_BITMAP_MAX_ORDER);
	return s ? MM_MIN(o, (unsigned)__builtin_ctzll(s)) : o;
}

/* [addr, addr+size) rounded out to granules [*lo, *lo + *n); false if it is
 * empty or not inside the managed range. */
static bool vb_units(const struct va_bitmap *v, uint64_t addr, uint64_t size, uint64_t *lo,
		     uint64_t *n)
{
	uint64_t end = v->base + v->size, g = 1ull << v->gshift;
	if (size == 0 || addr < v->base || addr >= end || size > end - addr)
		return false;
	uint64_t a = MM_ALIGN_DOWN(addr, g);
	*lo = (a - v->origin) >> v->gshift;
	*n = (MM_ALIGN_UP(addr + size, g) - a) >> v->gshift;
	return true;
}

/* Returns granules [s, e) as maximal aligned blocks. */
static void vb_put(struct va_bitmap *v, unsigned cpu, uint64_t s, uint64_t e)
{
	while (s < e) {
		unsigned o = vb_block(s, e);
		frame_buddy_ops.free(v->buddy, cpu, s, o);
		s += 1ull << o;
	}
}

/* With MM_DEBUG: panics if any granule of [s, e) is free. */
static void vb_check_held(struct va_bitmap *v, uint64_t s, uint64_t e)
{
	for (; MM_DEBUG && s < e; s += 1ull << vb_block(s, e))
		if (frame_buddy_any_free(v->buddy, s, vb_block(s, e)))
			mm_panic("va_bitmap: free of a range that is not allocated (double free, "
				 "or never allocated)");
}

/* ---- the va_ops ------------------------------------------------------------- */

static int vb_alloc(void *st, unsigned cpu, uint64_t size, uint64_t align, uint64_t *addr)
{
	struct va_bitmap *v = st;
	if (size == 0 || (align && !MM_IS_POW2(align)))
		return MM_EINVAL;
	if (size > v->size)
		return MM_ENOMEM;
	unsigned p = mm_log2_ceil(MM_ALIGN_UP(size, 1ull << v->gshift) >> v->gshift);
	unsigned a = align >> v->gshift > 1 ? mm_log2_floor(align) - v->gshift : 0;
	unsigned take = MM_MAX(p, a);
	uint64_t u;
	if (take > VA_BITMAP_MAX_ORDER)
		return MM_ENOMEM;
	int rc = frame_buddy_ops.alloc(v->buddy, cpu, take, &u);
	if (rc != MM_OK)
		return rc;
	for (unsigned j = p; j < take; j++) /* the tail beyond an over-aligned request */
		frame_buddy_ops.free(v->buddy, cpu, u + (1ull << j), j);
	*addr = v->origin + (u << v->gshift);
	return MM_OK;
}

static void vb_free(void *st, unsigned cpu, uint64_t addr, uint64_t size)
{
	struct va_bitmap *v = st;
	uint64_t lo, n;
	if (!vb_units(v, addr, size, &lo, &n))
		mm_panic("va_bitmap: free outside the managed range (never allocated)");
	unsigned p = mm_log2_ceil(n);
	bool aligned = p <= VA_BITMAP_MAX_ORDER && (lo & ((1ull << p) - 1)) == 0;
	bool exact = !aligned || (n != 1ull << p && mark_take(v, lo));
	uint64_t e = exact ? lo + n : lo + (1ull << p);
	vb_check_held(v, lo, e);
	vb_put(v, cpu, lo, e);
}

static int vb_reserve(void *st, uint64_t addr, uint64_t size)
{
	struct va_bitmap *v = st;
	uint64_t lo, n;
	if (!vb_units(v, addr, size, &lo, &n))
		return MM_EINVAL;
	for (uint64_t s = lo, e = lo + n; s < e;) {
		unsigned o = vb_block(s, e);
		int rc = frame_buddy_ops.alloc_at(v->buddy, s, o);
		if (rc != MM_OK) {
			vb_put(v, 0, lo, s);
			return rc;
		}
		s += 1ull << o;
	}
	unsigned p = mm_log2_ceil(n);
	if (n != 1ull << p && p <= VA_BITMAP_MAX_ORDER && (lo & ((1ull << p) - 1)) == 0)
		mark_set(v, lo);
	return MM_OK;
}

static bool vb_check(const void *st)
{
	const struct va_bitmap *v = st;
	frame_buddy_ops.check(v->buddy);
	for (uint64_t w = 0; w < (v->units / 4 + 64) / 64; w++) {
		for (uint64_t m = v->marks[w]; m; m &= m - 1) {
			uint64_t u = (w * 64 + (uint64_t)__builtin_ctzll(m)) * 4;
			MM_ASSERT(u >= v->prefix && u < v->units, "va_bitmap: mark outside the range");
			/* quiescent: any_free only takes and drops locks */
			MM_ASSERT(!frame_buddy_any_free(v->buddy, u, 0),
				  "va_bitmap: mark on a free granule");
		}
	}
	return true;
}

static void vb_stats(const void *st, struct va_stats *out)
{
	const struct va_bitmap *v = st;
	struct frame_stats fs;
	struct frame_buddy_runs r;
	frame_buddy_ops.stats(v->buddy, &fs);
	frame_buddy_free_runs(v->buddy, &r);
	mm_zero(out, sizeof(*out));
	out->size = v->size;
	out->free_bytes = fs.free_frames << v->gshift;
	out->reserved_bytes = v->size - out->free_bytes;
	out->free_ranges = r.runs;
	out->largest_free = r.largest_block << v->gshift;
	out->meta_bytes = sizeof(*v) + v->meta_len;
	out->granule = 1ull << v->gshift;
}

const struct va_ops va_bitmap_ops = {
	.name = "bitmap",
	.state_size = sizeof(struct va_bitmap),
	.meta_size = vb_meta_size,
	.init = vb_init,
	.alloc = vb_alloc,
	.free = vb_free,
	.reserve = vb_reserve,
	.check = vb_check,
	.stats = vb_stats,
};

/* va_bitmap at a 64 KiB granule (the run-time granule entry points above): the same
 * table but for meta_size and init, so a granule other than the build's is compared
 * and tested in one build. */
static size_t vb64k_meta_size(uint64_t base, uint64_t size)
{
	return va_bitmap_meta_size_granule(base, size, VA_BITMAP_64K_SHIFT);
}

static int vb64k_init(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
		      const struct page_source *ps)
{
	return va_bitmap_init_granule(st, base, size, meta, meta_len, VA_BITMAP_64K_SHIFT);
}

const struct va_ops va_bitmap_64k_ops = {
	.name = "bitmap-64k",
	.state_size = sizeof(struct va_bitmap),
	.meta_size = vb64k_meta_size,
	.init = vb64k_init,
	.alloc = vb_alloc,
	.free = vb_free,
	.reserve = vb_reserve,
	.check = vb_check,
	.stats = vb_stats,
};
