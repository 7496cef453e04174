/* frame_buddy_cache.c: per-CPU caches of free 2 MiB blocks for the bitmap buddy
 * (frame_buddy.c), so that 2 MiB alloc/free scale on CPUs that share one chunk.
 *
 * Without it every order-9 request takes its chunk's lock; with 1 GiB of memory
 * there is one chunk, and 2 CPUs ping-pong its cache line on every call. Each CPU
 * keeps up to cap free 2 MiB blocks (area numbers; cap = buddy_cache_cap: a power
 * of two <= CACHE_MAX = 64 and <= areas / (4 * ncpus)) behind its own lock, in its
 * own cache line (struct buddy_cpu; the arrays are in the metadata, 4 * cap bytes
 * per CPU): a 2 MiB alloc pops one, a 2 MiB free pushes one. An empty cache is
 * refilled with cap / 2 areas under one chunk lock, as few aligned blocks of areas
 * as the chunk allows (one bitmap operation each); a full one returns its cap / 2
 * oldest under one chunk lock, refreshing the chunk's order hint once. So the
 * shared lock and bitmap are touched once per cap / 2 operations, and a CPU whose
 * working set fits its cache does not touch them at all (the magazine idea of
 * Bonwick & Adams, USENIX'01, over LLFree-style areas). Cost: O(ncpus) lock
 * operations on the rare paths (steal, flush, alloc_at), O(1) otherwise.
 *
 * Nothing is stranded: a cached block counts as free (frame.h); a 2 MiB request
 * that finds its cache and the chunks empty steals from another CPU's cache; a
 * larger or a small request that finds nothing flushes every cache back to the
 * chunks (where the blocks coalesce) and retries; alloc_at flushes the cached
 * blocks it overlaps. So a single caller sees ENOMEM only when no free block of
 * the order exists, exactly as without caches.
 *
 * Invariants (buddy_cache_check): n <= cap (0 for CPUs >= ncpus); a cached
 * area is lo with free == 0 and owner == 0, is not free in its chunk, and is in
 * at most one cache once. Lock order: cache, then chunk, then area; a block moves
 * between a cache and a chunk with both locks held, so it is always in one place.
 */
#include "frame_buddy_impl.h"

static void set_n(struct buddy_cpu *bc, uint32_t n)
{
	__atomic_store_n(&bc->n, n, __ATOMIC_RELAXED);
}

static uint32_t n_hint(const struct buddy_cpu *bc)
{
	return __atomic_load_n(&bc->n, __ATOMIC_RELAXED);
}

/* Returns the areas blk[0..cnt) to their chunks, one lock and one hint update per
 * run of one chunk. */
static void to_chunks(struct buddy *b, const uint32_t *blk, unsigned cnt)
{
	for (unsigned i = 0; i < cnt;) {
		struct buddy_chunk *c = &b->chunks[blk[i] / BB_UNITS];
		unsigned hi = 0;
		spin_lock(&c->lock);
		for (; i < cnt && &b->chunks[blk[i] / BB_UNITS] == c; i++) {
			unsigned j = bb_free(c->w, blk[i] % BB_UNITS, 0); /* MM_MAX: twice */
			hi = MM_MAX(hi, j);
		}
		buddy_chunk_hint(c, 0, hi);
		spin_unlock(&c->lock);
	}
}

/* Chunk lock held: takes up to want whole areas from chunk ci into blk[n..) as few
 * aligned blocks of areas (one bitmap operation each); returns the new n. */
static uint32_t take_areas(struct buddy_chunk *c, uint32_t ci, uint32_t *blk, uint32_t n,
			   uint32_t want, struct buddy_cpu *bc)
{
	while (n < want) {
		int u = -1;
		unsigned j = mm_log2_floor(want - n) + 1;
		while (j-- > 0 && (u = buddy_chunk_alloc(c, j)) < 0)
			;
		if (u < 0)
			break;
		for (unsigned k = 0; k < (1u << j); k++)
			blk[n++] = ci * BB_UNITS + (unsigned)u + k;
		set_n(bc, n); /* visible before the chunk lock is dropped */
	}
	return n;
}

/* Cache lock held, cache empty: takes up to cache_cap / 2 whole areas from the first
 * chunk (next-fit from bc->chunk) that has any. */
static void refill(struct buddy *b, struct buddy_cpu *bc)
{
	for (uint32_t k = 0; k < b->nchunks; k++) {
		uint32_t ci = (bc->chunk + k) % b->nchunks, n = 0;
		struct buddy_chunk *c = &b->chunks[ci];
		if (!__atomic_load_n(&c->orders, __ATOMIC_RELAXED))
			continue;
		spin_lock(&c->lock);
		n = take_areas(c, ci, bc->blk, 0, b->cache_cap / 2, bc);
		spin_unlock(&c->lock);
		if (n) {
			bc->chunk = ci;
			return;
		}
	}
}

bool buddy_cache_pop(struct buddy *b, unsigned cpu, uint32_t *area)
{
	struct buddy_cpu *bc = &b->cpu[cpu];
	spin_lock(&bc->lock);
	if (bc->n == 0)
		refill(b, bc);
	bool ok = bc->n != 0;
	if (ok) {
		*area = bc->blk[bc->n - 1];
		set_n(bc, bc->n - 1);
	}
	spin_unlock(&bc->lock);
	return ok;
}

void buddy_cache_push(struct buddy *b, unsigned cpu, uint32_t area)
{
	struct buddy_cpu *bc = &b->cpu[cpu];
	spin_lock(&bc->lock);
	uint32_t n = bc->n;
	uint32_t half = b->cache_cap / 2;
	if (n == b->cache_cap) { /* return the oldest half, keep the newest */
		to_chunks(b, bc->blk, half);
		for (uint32_t i = half; i < n; i++)
			bc->blk[i - half] = bc->blk[i];
		n -= half;
	}
	bc->blk[n] = area;
	set_n(bc, n + 1);
	spin_unlock(&bc->lock);
}

bool buddy_cache_steal(struct buddy *b, unsigned cpu, uint32_t *area)
{
	for (unsigned k = 1; k < b->ncpus; k++) {
		struct buddy_cpu *bc = &b->cpu[(cpu + k) % b->ncpus];
		spin_lock(&bc->lock); /* no hint: a refill in progress has n == 0 */
		bool ok = bc->n != 0;
		if (ok) {
			*area = bc->blk[bc->n - 1];
			set_n(bc, bc->n - 1);
		}
		spin_unlock(&bc->lock);
		if (ok)
			return true;
	}
	return false;
}

bool buddy_cache_flush(struct buddy *b, uint32_t a0, uint32_t n)
{
	bool any = false;
	for (unsigned cpu = 0; cpu < b->ncpus; cpu++) {
		struct buddy_cpu *bc = &b->cpu[cpu];
		spin_lock(&bc->lock); /* no hint (see steal) */
		for (uint32_t i = 0; i < bc->n;) {
			if (bc->blk[i] - a0 < n) {
				to_chunks(b, &bc->blk[i], 1);
				bc->blk[i] = bc->blk[bc->n - 1];
				set_n(bc, bc->n - 1);
				any = true;
			} else {
				i++;
			}
		}
		spin_unlock(&bc->lock);
	}
	return any;
}

bool buddy_cache_holds(struct buddy *b, uint32_t a0, uint32_t n)
{
	bool any = false;
	for (unsigned cpu = 0; cpu < b->ncpus && !any; cpu++) {
		struct buddy_cpu *bc = &b->cpu[cpu];
		if (!n_hint(bc))
			continue;
		spin_lock(&bc->lock);
		for (uint32_t i = 0; i < bc->n; i++)
			any |= bc->blk[i] - a0 < n;
		spin_unlock(&bc->lock);
	}
	return any;
}

bool buddy_cache_has(const struct buddy *b, uint32_t ai)
{
	for (unsigned cpu = 0; cpu < b->ncpus; cpu++)
		for (uint32_t i = 0; i < b->cpu[cpu].n; i++)
			if (b->cpu[cpu].blk[i] == ai)
				return true;
	return false;
}

uint64_t buddy_cache_count(const struct buddy *b)
{
	uint64_t n = 0;
	for (unsigned cpu = 0; cpu < b->ncpus; cpu++)
		n += n_hint(&b->cpu[cpu]);
	return n;
}

uint64_t buddy_cache_check(const struct buddy *b)
{
	uint64_t total = 0;
	for (unsigned cpu = 0; cpu < FRAME_MAX_CPUS; cpu++) {
		const struct buddy_cpu *bc = &b->cpu[cpu];
		MM_ASSERT(bc->n <= (cpu < b->ncpus ? b->cache_cap : 0),
			  "frame_buddy: bad cache count");
		for (uint32_t i = 0; i < bc->n; i++) {
			uint32_t ai = bc->blk[i];
			MM_ASSERT(ai < b->nareas, "frame_buddy: cached area out of range");
			const struct buddy_area *a = &b->areas[ai];
			MM_ASSERT(a->free == 0 && a->owner == 0,
				  "frame_buddy: cached area is not an allocated lo area");
			MM_ASSERT(bb_containing(b->chunks[ai / BB_UNITS].w, ai % BB_UNITS, 0) < 0,
				  "frame_buddy: cached area also free in its chunk");
			for (unsigned c2 = 0; c2 <= cpu; c2++)
				for (uint32_t k = 0; k < (c2 == cpu ? i : b->cpu[c2].n); k++)
					MM_ASSERT(b->cpu[c2].blk[k] != ai,
						  "frame_buddy: area cached twice");
			total++;
		}
	}
	return total;
}
