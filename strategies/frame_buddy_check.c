/* frame_buddy_check.c: the invariant walk and the statistics of the bitmap buddy
 * (frame_buddy.c; invariants listed there, cache invariants in
 * frame_buddy_cache.c). Both are quiescent: they take no lock. */
#include "frame_buddy_impl.h"

/* Panics unless every free block of a node lies in usable memory (set bits only, a
 * word at a time: an empty node costs 16 word reads). */
static void check_node_usable(const struct buddy *b, const uint64_t *w, uint64_t base,
			      unsigned shift)
{
	for (unsigned j = 0; j <= BB_MAX_ORDER; j++) {
		unsigned lo = bb_off(j), hi = lo + (BB_UNITS >> j);
		for (unsigned k = lo; k < hi;) {
			unsigned take = MM_MIN(64 - (k & 63), hi - k);
			for (uint64_t x = bb_bits(w, k, take); x; x &= x - 1) {
				uint64_t i = k - lo + (unsigned)__builtin_ctzll(x);
				unsigned sh = j + shift;
				MM_ASSERT(buddy_usable(b, base + (i << sh), 1ull << sh),
					  "frame_buddy: free block outside usable memory");
			}
			k += take;
		}
	}
}

bool buddy_check(const void *st)
{
	const struct buddy *b = st;
	uint64_t free = 0;
	for (uint32_t ci = 0; ci < b->nchunks; ci++) {
		const struct buddy_chunk *c = &b->chunks[ci];
		unsigned n = bb_check(c->w);
		free += (uint64_t)n * BB_UNITS;
		MM_ASSERT(c->orders == bb_order_mask(c->w), "frame_buddy: stale chunk order hint");
		if (n) /* else no bit is set */
			check_node_usable(b, c->w, (uint64_t)ci << CHUNK_ORDER, AREA_ORDER);
	}
	for (uint32_t ai = 0; ai < b->nareas; ai++) {
		const struct buddy_area *a = &b->areas[ai];
		unsigned n = bb_check(a->w);
		MM_ASSERT(n == a->free, "frame_buddy: area free count differs from its bitmap");
		MM_ASSERT(a->owner <= b->ncpus, "frame_buddy: bad area owner");
		MM_ASSERT(((b->avail[ai / 64] >> (ai % 64)) & 1) == (n != 0),
			  "frame_buddy: summary bit differs from the area's free count");
		if (bb_containing(b->chunks[ai / BB_UNITS].w, ai % BB_UNITS, 0) >= 0)
			MM_ASSERT(n == 0, "frame_buddy: area free in its chunk and in its bitmap");
		if (n == BB_UNITS && a->owner == 0)
			mm_panic("frame_buddy: entirely free unowned area not promoted");
		if (n)
			check_node_usable(b, a->w, (uint64_t)ai * BB_UNITS, 0);
		free += n;
	}
	free += buddy_cache_check(b) * BB_UNITS;
	MM_ASSERT(free <= b->total, "frame_buddy: more free frames than usable ones");
	return true;
}

/* Quiescent. An entirely free area kept by a CPU counts as one order-9 block (it
 * is not merged with free neighbours until it is promoted). */
void buddy_stats(const void *st, struct frame_stats *out)
{
	const struct buddy *b = st;
	mm_zero(out, sizeof(*out));
	out->total_frames = b->total;
	for (uint32_t ci = 0; ci < b->nchunks; ci++) {
		for (unsigned j = 0; j <= BB_MAX_ORDER; j++) {
			uint64_t n = bb_count(b->chunks[ci].w, j);
			out->free_blocks[AREA_ORDER + j] += n;
			out->free_frames += n << (AREA_ORDER + j);
			out->free_2m_blocks += n << j;
		}
	}
	for (uint32_t ai = 0; ai < b->nareas; ai++) {
		const struct buddy_area *a = &b->areas[ai];
		for (unsigned j = 0; j <= BB_MAX_ORDER; j++)
			out->free_blocks[j] += bb_count(a->w, j);
		out->free_frames += a->free;
		out->free_2m_blocks += a->free == BB_UNITS;
	}
	uint64_t cached = buddy_cache_count(b); /* cached 2 MiB blocks count as free */
	out->free_blocks[AREA_ORDER] += cached;
	out->free_frames += cached * BB_UNITS;
	out->free_2m_blocks += cached;
	for (unsigned j = 0; j <= FRAME_MAX_ORDER; j++)
		if (out->free_blocks[j])
			out->largest_free = PAGE_SIZE << j;
	out->meta_bytes = sizeof(struct buddy) + buddy_meta_size(&b->map, b->ncpus);
}
