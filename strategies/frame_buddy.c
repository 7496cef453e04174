/* frame_buddy.c: the bitmap buddy frame allocator (PHYS=buddy), scalable.
 *
 * Algorithm. Frames are grouped in 2 MiB areas (512 frames) and areas in 1 GiB
 * chunks (512 areas). Each area and each chunk holds one buddy_bitmap.h node
 * (orders 0..9 over 512 units): an area's node tracks its frames (orders 0..8,
 * and order 9 = "the whole area is free but kept here"), a chunk's node tracks
 * whole free areas (frame orders 9..18). Binary buddy allocation with immediate
 * coalescing (Knuth 2.5; the bitmap form of SQLite's mem5.c) inside each node.
 *
 * An area is in one of two modes:
 *   hi:  covered by a set bit of its chunk's node; its own node is 0 and free == 0;
 *   lo:  its own node is authoritative and free == free frames in it (0..512);
 *        also the mode of an area that is part of an allocated block >= 2 MiB.
 * Small requests (order < 9) are served from lo areas. Each CPU reserves one area
 * (owner = cpu + 1, LLFree ATC'23 style) and allocates there until it cannot;
 * then it takes the next partially free unowned area (next-fit), and only when
 * none is left a whole area from a chunk. This keeps small frames packed into
 * few areas, so freed memory stays available as whole 2 MiB blocks. An unowned
 * lo area that becomes entirely free is promoted back to its chunk (coalescing
 * upward). Large requests (order >= 9) use the chunk nodes; on failure every
 * entirely free lo area (owned or not) is promoted and the search repeated.
 * 2 MiB requests (order 9) go through a per-CPU cache of free 2 MiB blocks
 * (frame_buddy_cache.c), refilled from and flushed to the chunks half a cache at
 * a time (a refill as aligned blocks of areas), so one chunk (a 1 GiB machine) is
 * not a lock and a bitmap update on every 2 MiB call;
 * requests that find nothing steal from or flush the caches before failing.
 *
 * Concurrency: a spinlock per area, per chunk and per CPU cache; no global lock.
 * Lock order: cache, chunk, area. A CPU's small alloc/free touches only its area's
 * lock.
 * `free`, `owner`, the summary bitmap and each chunk's `orders` mask (which
 * orders it has free) are read without a lock (atomically) only as hints, to
 * skip areas and chunks; every decision is re-checked under the lock. Each CPU
 * also remembers the chunk it last used (next-fit for large requests).
 * Invariants (buddy_check): every node is coalesced and non-overlapping
 * (buddy_bitmap.h); per area free == bits counted; hi => free == 0; an entirely
 * free lo area has an owner (else it would have been promoted); summary bit i ==
 * (free_i > 0); chunk.orders == bb_order_mask(chunk); every free block usable.
 * Accounting (exact when quiescent): total = sum(lo free) + 512 * (free areas in
 * chunk nodes + cached 2 MiB blocks); reserved areas and caches count as free.
 *
 * Bound: an alloc/free is O(orders) bit operations in one node plus a next-fit
 * scan when a CPU's area runs out, O(areas / 64) words worst case. Debug frees
 * (MM_DEBUG) also take the chunk lock to detect double frees.
 * A summary bitmap (one bit per area: "lo with free frames") lets that scan
 * skip full areas 64 at a time.
 * Metadata: 136 bytes per area (128 bitmap + lock, count, owner) + 1 summary bit
 * = 2.127 bits per frame, plus 136 bytes per GiB, the 2 MiB caches (4 bytes per
 * block per CPU, at most 256 bytes per CPU) and the fixed state.
 * Non-usable frames (holes, reserved) are never inserted, so never handed out.
 * Layers (frame_buddy_impl.h): this file, the frame_ops, sits on the 2 MiB caches
 * (frame_buddy_cache.c) and on check and stats (frame_buddy_check.c); all of them
 * use only the state and the node operations inline in frame_buddy_impl.h.
 * The state is in frame_buddy_impl.h; check and stats are in frame_buddy_check.c;
 * frame_buddy.h adds introspection (any_free here, free runs in frame_buddy_runs.c) for
 * va_bitmap.c, which runs this buddy over VA granules.
 */
#include "frame_buddy.h"
#include "frame_buddy_impl.h"

/* ---- helpers ------------------------------------------------------------- */

static uint16_t area_free_hint(const struct buddy_area *a)
{
	return __atomic_load_n(&a->free, __ATOMIC_RELAXED);
}

/* Area lock held: sets the free count and the area's bit in the summary. */
static void area_set_free(struct buddy *b, uint32_t ai, unsigned f)
{
	struct buddy_area *a = &b->areas[ai];
	uint64_t bit = 1ull << (ai % 64);
	bool had = a->free != 0;
	__atomic_store_n(&a->free, (uint16_t)f, __ATOMIC_RELAXED);
	if (had && f == 0)
		__atomic_fetch_and(&b->avail[ai / 64], ~bit, __ATOMIC_RELAXED);
	else if (!had && f != 0)
		__atomic_fetch_or(&b->avail[ai / 64], bit, __ATOMIC_RELAXED);
}

static uint8_t area_owner(const struct buddy_area *a)
{
	return __atomic_load_n(&a->owner, __ATOMIC_RELAXED);
}

static void area_set_owner(struct buddy_area *a, unsigned o)
{
	__atomic_store_n(&a->owner, (uint8_t)o, __ATOMIC_RELAXED);
}

static struct buddy_chunk *chunk_of(struct buddy *b, uint32_t area)
{
	return &b->chunks[area / BB_UNITS];
}

/* True if the chunk may have a free block of chunk order >= j (a hint). */
static bool chunk_may_have(const struct buddy_chunk *c, unsigned j)
{
	return (__atomic_load_n(&c->orders, __ATOMIC_RELAXED) >> j) != 0;
}

/* Chunk lock held: if area is lo and entirely free, moves it into the chunk. */
static void promote_locked(struct buddy *b, uint32_t ai)
{
	struct buddy_area *a = &b->areas[ai];
	spin_lock(&a->lock);
	bool whole = a->free == BB_UNITS;
	if (whole) {
		MM_ASSERT(bb_test(a->w, BB_MAX_ORDER, 0), "frame_buddy: whole area not merged");
		bb_clear(a->w, BB_MAX_ORDER, 0);
		area_set_free(b, ai, 0);
		area_set_owner(a, 0);
	}
	spin_unlock(&a->lock);
	if (whole) {
		buddy_chunk_free(chunk_of(b, ai), ai % BB_UNITS, 0);
	}
}

/* Promotes area ai if it is still entirely free and unowned. */
static void promote(struct buddy *b, uint32_t ai)
{
	struct buddy_chunk *c = chunk_of(b, ai);
	spin_lock(&c->lock);
	if (area_owner(&b->areas[ai]) == 0)
		promote_locked(b, ai);
	spin_unlock(&c->lock);
}

/* Promotes every entirely free lo area, reservations included. */
static void drain(struct buddy *b)
{
	for (uint32_t wi = 0; wi < (b->nareas + 63) / 64; wi++) {
		uint64_t m = __atomic_load_n(&b->avail[wi], __ATOMIC_RELAXED);
		for (; m; m &= m - 1) {
			uint32_t ai = wi * 64 + (uint32_t)__builtin_ctzll(m);
			if (area_free_hint(&b->areas[ai]) != BB_UNITS)
				continue;
			struct buddy_chunk *c = chunk_of(b, ai);
			spin_lock(&c->lock);
			promote_locked(b, ai);
			spin_unlock(&c->lock);
		}
	}
}

/* ---- small blocks (order < 9): areas --------------------------------------- */

enum claim { CLAIM_MINE, CLAIM_NEW, CLAIM_ANY };

/* Tries order in area ai: CLAIM_MINE needs owner == me, CLAIM_NEW an unowned area
 * (which becomes mine), CLAIM_ANY takes any area without reserving it. */
static bool area_try(struct buddy *b, uint32_t ai, unsigned order, unsigned me,
		     enum claim how, uint64_t *pfn)
{
	struct buddy_area *a = &b->areas[ai];
	bool ok = false;
	spin_lock(&a->lock);
	if ((how == CLAIM_MINE && a->owner != me) || (how == CLAIM_NEW && a->owner != 0))
		goto out;
	int u = bb_alloc(a->w, order);
	if (u >= 0) {
		area_set_free(b, ai, a->free - (1u << order));
		if (how == CLAIM_NEW)
			area_set_owner(a, me);
		*pfn = (uint64_t)ai * BB_UNITS + (unsigned)u;
		ok = true;
	}
out:
	spin_unlock(&a->lock);
	return ok;
}

/* Drops this CPU's reservation of area ai; promotes it if it is entirely free. */
static void area_release(struct buddy *b, uint32_t ai, unsigned me)
{
	struct buddy_area *a = &b->areas[ai];
	spin_lock(&a->lock);
	bool mine = a->owner == me;
	if (mine)
		area_set_owner(a, 0);
	bool whole = mine && a->free == BB_UNITS;
	spin_unlock(&a->lock);
	if (whole)
		promote(b, ai);
}

/* Takes a whole free area out of a chunk as a lo area owned by me, and 2^order
 * frames from it under the same area lock (between two critical sections a
 * drain() could promote the still entirely free area back to its chunk); the
 * area into *ai, the frames into *pfn; false if no chunk has a free area. */
static bool area_take_whole(struct buddy *b, unsigned cpu, unsigned order, uint32_t *ai,
			    uint64_t *pfn)
{
	for (uint32_t k = 0; k < b->nchunks; k++) {
		uint32_t ci = (b->cpu[cpu].chunk + k) % b->nchunks;
		struct buddy_chunk *c = &b->chunks[ci];
		if (!chunk_may_have(c, 0))
			continue;
		spin_lock(&c->lock);
		int u = buddy_chunk_alloc(c, 0);
		if (u >= 0) {
			b->cpu[cpu].chunk = ci;
			*ai = ci * BB_UNITS + (unsigned)u;
			struct buddy_area *a = &b->areas[*ai];
			spin_lock(&a->lock);
			bb_set(a->w, BB_MAX_ORDER, 0);
			int f = bb_alloc(a->w, order);
			MM_ASSERT(f >= 0, "frame_buddy: a whole free area without the frames asked");
			area_set_free(b, *ai, BB_UNITS - (1u << order));
			area_set_owner(a, cpu + 1);
			spin_unlock(&a->lock);
			spin_unlock(&c->lock);
			*pfn = (uint64_t)*ai * BB_UNITS + (unsigned)f;
			return true;
		}
		spin_unlock(&c->lock);
	}
	return false;
}

/* Next-fit scan, over the summary bitmap, for an area with 2^order free frames. */
static bool area_scan(struct buddy *b, unsigned cpu, unsigned order, enum claim how,
		      uint32_t start, uint64_t *pfn)
{
	if (b->nareas == 0)
		return false;
	start %= b->nareas;
	uint32_t nw = (b->nareas + 63) / 64, w0 = start / 64;
	for (uint32_t k = 0; k <= nw; k++) {
		uint32_t wi = (w0 + k) % nw;
		uint64_t m = __atomic_load_n(&b->avail[wi], __ATOMIC_RELAXED);
		if (k == 0)
			m &= ~0ull << (start % 64);	/* first pass: from start on */
		else if (k == nw)
			m &= ~(~0ull << (start % 64));	/* wrapped: the bits before start */
		for (; m; m &= m - 1) {
			uint32_t ai = wi * 64 + (uint32_t)__builtin_ctzll(m);
			struct buddy_area *a = &b->areas[ai];
			if (area_free_hint(a) < (1u << order) ||
			    (how == CLAIM_NEW && area_owner(a)))
				continue;
			if (area_try(b, ai, order, cpu + 1, how, pfn)) {
				if (how == CLAIM_NEW)
					b->cpu[cpu].area = ai;
				return true;
			}
		}
	}
	return false;
}

/* Reserves a whole area from a chunk for cpu and takes 2^order frames from it. */
static bool small_new_area(struct buddy *b, unsigned cpu, unsigned order, uint64_t *pfn)
{
	uint32_t ai;
	if (!area_take_whole(b, cpu, order, &ai, pfn))
		return false;
	b->cpu[cpu].area = ai;
	return true;
}

static int small_alloc(struct buddy *b, unsigned cpu, unsigned order, uint64_t *pfn)
{
	struct buddy_cpu *bc = &b->cpu[cpu];
	unsigned me = cpu + 1;
	uint32_t cur = bc->area, start = 0;
	if (cur != NO_AREA) {
		if (area_try(b, cur, order, me, CLAIM_MINE, pfn))
			return MM_OK;
		area_release(b, cur, me);
		bc->area = NO_AREA;
		start = cur + 1;
	}
	if (area_scan(b, cpu, order, CLAIM_NEW, start, pfn))
		return MM_OK;
	if (small_new_area(b, cpu, order, pfn))
		return MM_OK;
	/* Last resorts: other CPUs' reservations, then the 2 MiB caches. */
	if (area_scan(b, cpu, order, CLAIM_ANY, start, pfn))
		return MM_OK;
	if (buddy_cache_flush(b, 0, b->nareas) && small_new_area(b, cpu, order, pfn))
		return MM_OK;
	return area_scan(b, cpu, order, CLAIM_ANY, start, pfn) ? MM_OK : MM_ENOMEM;
}

/* True if any frame of (pfn, order < 9) is free (takes the chunk and area locks). */
static bool small_any_free(struct buddy *b, uint64_t pfn, unsigned order)
{
	uint32_t ai = (uint32_t)(pfn / BB_UNITS);
	struct buddy_chunk *c = chunk_of(b, ai);
	struct buddy_area *a = &b->areas[ai];
	spin_lock(&c->lock);
	spin_lock(&a->lock);
	bool any = bb_containing(c->w, ai % BB_UNITS, 0) >= 0 ||
		   bb_any_free(a->w, (unsigned)(pfn % BB_UNITS), order);
	spin_unlock(&a->lock);
	spin_unlock(&c->lock);
	return any || buddy_cache_holds(b, ai, 1); /* after the chunk: see holds */
}

static void small_free(struct buddy *b, uint64_t pfn, unsigned order)
{
	uint32_t ai = (uint32_t)(pfn / BB_UNITS);
	struct buddy_area *a = &b->areas[ai];
	if (MM_DEBUG && small_any_free(b, pfn, order))
		mm_panic("frame_buddy: double free (block is already free, or was never allocated)");
	spin_lock(&a->lock);
	bb_free(a->w, (unsigned)(pfn % BB_UNITS), order);
	area_set_free(b, ai, a->free + (1u << order));
	bool whole = a->free == BB_UNITS && a->owner == 0;
	spin_unlock(&a->lock);
	if (whole)
		promote(b, ai);
}

/* ---- large blocks (order >= 9): chunks ------------------------------------- */

static bool large_try(struct buddy *b, unsigned cpu, unsigned order, uint64_t *pfn)
{
	for (uint32_t k = 0; k < b->nchunks; k++) {
		uint32_t ci = (b->cpu[cpu].chunk + k) % b->nchunks;
		struct buddy_chunk *c = &b->chunks[ci];
		if (!chunk_may_have(c, order - AREA_ORDER))
			continue;
		spin_lock(&c->lock);
		int u = buddy_chunk_alloc(c, order - AREA_ORDER);
		spin_unlock(&c->lock);
		if (u >= 0) {
			b->cpu[cpu].chunk = ci;
			*pfn = ((uint64_t)ci * BB_UNITS + (unsigned)u) * BB_UNITS;
			return true;
		}
	}
	return false;
}

/* 2 MiB: this CPU's cache (refilled from the chunks), after promoting free areas
 * again, then another CPU's cache. */
static int alloc_2m(struct buddy *b, unsigned cpu, uint64_t *pfn)
{
	uint32_t ai;
	bool ok = buddy_cache_pop(b, cpu, &ai);
	if (!ok) {
		drain(b);
		ok = buddy_cache_pop(b, cpu, &ai) || buddy_cache_steal(b, cpu, &ai);
	}
	if (ok)
		*pfn = (uint64_t)ai * BB_UNITS;
	return ok ? MM_OK : MM_ENOMEM;
}

static int large_alloc(struct buddy *b, unsigned cpu, unsigned order, uint64_t *pfn)
{
	if (order == AREA_ORDER)
		return alloc_2m(b, cpu, pfn);
	if (large_try(b, cpu, order, pfn))
		return MM_OK;
	drain(b);
	buddy_cache_flush(b, 0, b->nareas);
	return large_try(b, cpu, order, pfn) ? MM_OK : MM_ENOMEM;
}

/* Chunk lock held: true if any frame of (pfn, order >= 9) is free. */
static bool large_any_free_locked(struct buddy *b, uint64_t pfn, unsigned order)
{
	uint32_t a0 = (uint32_t)(pfn / BB_UNITS), n = 1u << (order - AREA_ORDER);
	bool any = bb_any_free(chunk_of(b, a0)->w, a0 % BB_UNITS, order - AREA_ORDER);
	for (uint32_t i = 0; i < n; i++)
		any |= area_free_hint(&b->areas[a0 + i]) != 0;
	return any;
}

/* Debug: panics if any frame of the block (pfn, order >= 9) is free. */
static void large_check_allocated(struct buddy *b, uint64_t pfn, unsigned order)
{
	uint32_t a0 = (uint32_t)(pfn / BB_UNITS);
	struct buddy_chunk *c = chunk_of(b, a0);
	bool cached = buddy_cache_holds(b, a0, 1u << (order - AREA_ORDER));
	spin_lock(&c->lock);
	bool any = cached || large_any_free_locked(b, pfn, order);
	spin_unlock(&c->lock);
	if (any)
		mm_panic("frame_buddy: double free (block is already free, or was never "
			 "allocated)");
}

/* Returns the block (pfn, order >= 9) to cpu's 2 MiB cache or to its chunk
 * (cpu >= ncpus: no cache). */
static void large_free(struct buddy *b, unsigned cpu, uint64_t pfn, unsigned order)
{
	uint32_t a0 = (uint32_t)(pfn / BB_UNITS);
	struct buddy_chunk *c = chunk_of(b, a0);
	if (MM_DEBUG)
		large_check_allocated(b, pfn, order);
	if (order == AREA_ORDER && cpu < b->ncpus) {
		buddy_cache_push(b, cpu, a0);
		return;
	}
	spin_lock(&c->lock);
	buddy_chunk_free(c, a0 % BB_UNITS, order - AREA_ORDER);
	spin_unlock(&c->lock);
}

/* ---- the frame_ops ---------------------------------------------------------- */

static void buddy_insert(struct buddy *b, unsigned cpu, uint64_t pfn, unsigned order)
{
	if (order >= AREA_ORDER)
		large_free(b, cpu, pfn, order);
	else
		small_free(b, pfn, order);
}

static int buddy_init(void *st, const struct mem_map *map, unsigned ncpus, void *meta,
		      size_t meta_len)
{
	struct buddy *b = st;
	if (ncpus < 1 || ncpus > FRAME_MAX_CPUS || meta_len < buddy_meta_size(map, ncpus) ||
	    ((uintptr_t)meta & 7) || map->count > MEM_MAP_MAX)
		return MM_EINVAL;
	mm_zero(b, sizeof(*b));
	mm_zero(meta, meta_len);
	uint64_t frames = mem_map_end(map) >> PAGE_SHIFT;
	b->nareas = (uint32_t)((frames + BB_UNITS - 1) / BB_UNITS);
	b->nchunks = (b->nareas + BB_UNITS - 1) / BB_UNITS;
	b->ncpus = ncpus;
	b->map = *map;
	b->areas = meta;
	b->chunks = (struct buddy_chunk *)(b->areas + b->nareas);
	b->avail = (uint64_t *)(b->chunks + b->nchunks);
	b->cache_cap = buddy_cache_cap(b->nareas, ncpus);
	uint32_t *blk = (uint32_t *)((char *)meta + buddy_meta_core(b->nareas));
	for (unsigned i = 0; i < FRAME_MAX_CPUS; i++)
		b->cpu[i] = (struct buddy_cpu){.area = NO_AREA,
					       .chunk = b->nchunks ? i % b->nchunks : 0,
					       .blk = i < ncpus ? blk + (size_t)i * b->cache_cap : 0};
	for (uint32_t i = 0; i < map->count; i++) {
		const struct mem_region *r = &map->r[i];
		if (r->type != MEM_USABLE)
			continue;
		uint64_t s = MM_ALIGN_UP(r->base, PAGE_SIZE) >> PAGE_SHIFT;
		uint64_t e = MM_ALIGN_DOWN(r->base + r->len, PAGE_SIZE) >> PAGE_SHIFT;
		while (s < e) { /* maximal aligned blocks */
			unsigned o = MM_MIN(mm_log2_floor(e - s), CHUNK_ORDER);
			if (s)
				o = MM_MIN(o, (unsigned)__builtin_ctzll(s));
			buddy_insert(b, FRAME_MAX_CPUS, s, o); /* no cache */
			b->total += 1ull << o;
			s += 1ull << o;
		}
	}
	return MM_OK;
}

static int buddy_alloc(void *st, unsigned cpu, unsigned order, uint64_t *pfn)
{
	struct buddy *b = st;
	if (order > FRAME_MAX_ORDER)
		return MM_EINVAL;
	MM_ASSERT(cpu < b->ncpus, "frame_buddy: cpu out of range");
	return order < AREA_ORDER ? small_alloc(b, cpu, order, pfn)
				  : large_alloc(b, cpu, order, pfn);
}

static void buddy_free(void *st, unsigned cpu, uint64_t pfn, unsigned order)
{
	struct buddy *b = st;
	MM_ASSERT(order <= FRAME_MAX_ORDER && (pfn & ((1ull << order) - 1)) == 0,
		  "frame_buddy: free of a misaligned block or bad order");
	if (!buddy_usable(b, pfn, 1ull << order))
		mm_panic("frame_buddy: free of frames outside usable memory (never allocated)");
	buddy_insert(b, cpu, pfn, order);
}

static int buddy_alloc_at(void *st, uint64_t pfn, unsigned order)
{
	struct buddy *b = st;
	if (order > FRAME_MAX_ORDER || (pfn & ((1ull << order) - 1)) ||
	    !buddy_usable(b, pfn, 1ull << order))
		return MM_EINVAL;
	uint32_t ai = (uint32_t)(pfn / BB_UNITS);
	struct buddy_chunk *c = chunk_of(b, ai);
	bool ok;
	buddy_cache_flush(b, ai, order >= AREA_ORDER ? 1u << (order - AREA_ORDER) : 1);
	spin_lock(&c->lock);
	if (order >= AREA_ORDER) {
		for (uint32_t i = 0; i < (1u << (order - AREA_ORDER)); i++)
			promote_locked(b, ai + i);
		ok = bb_take(c->w, ai % BB_UNITS, order - AREA_ORDER);
	} else {
		struct buddy_area *a = &b->areas[ai];
		bool in_chunk = bb_take(c->w, ai % BB_UNITS, 0);
		spin_lock(&a->lock);
		if (in_chunk) {
			bb_set(a->w, BB_MAX_ORDER, 0);
			area_set_free(b, ai, BB_UNITS);
		}
		ok = bb_take(a->w, (unsigned)(pfn % BB_UNITS), order);
		if (ok)
			area_set_free(b, ai, a->free - (1u << order));
		spin_unlock(&a->lock);
	}
	buddy_chunk_hint(c, 0, BB_MAX_ORDER);
	spin_unlock(&c->lock);
	return ok ? MM_OK : MM_EBUSY;
}

const struct frame_ops frame_buddy_ops = {
	.name = "buddy",
	.state_size = sizeof(struct buddy),
	.meta_size = buddy_meta_size,
	.init = buddy_init,
	.alloc = buddy_alloc,
	.free = buddy_free,
	.alloc_at = buddy_alloc_at,
	.check = buddy_check,
	.stats = buddy_stats,
};

/* ---- introspection (frame_buddy.h) ----------------------------------------- */

bool frame_buddy_any_free(void *st, uint64_t pfn, unsigned order)
{
	struct buddy *b = st;
	MM_ASSERT(order <= FRAME_MAX_ORDER && (pfn & ((1ull << order) - 1)) == 0 &&
			  buddy_usable(b, pfn, 1ull << order),
		  "frame_buddy: any_free of a bad block");
	if (order < AREA_ORDER)
		return small_any_free(b, pfn, order);
	struct buddy_chunk *c = chunk_of(b, (uint32_t)(pfn / BB_UNITS));
	spin_lock(&c->lock);
	bool any = large_any_free_locked(b, pfn, order);
	spin_unlock(&c->lock);
	return any || buddy_cache_holds(b, (uint32_t)(pfn / BB_UNITS), 1u << (order - AREA_ORDER));
}
