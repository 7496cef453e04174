/* frame_buddy_runs.c: maximal runs of free frames in a bitmap buddy (frame_buddy.h),
 * for the VA statistics of va_bitmap.c. Quiescent: builds each area's free mask
 * from its node (or its chunk's or a 2 MiB cache's, when the area is free as a
 * whole) and walks the bits in address order. O(frames / 64 + set bits * block size). */
#include "frame_buddy.h"
#include "frame_buddy_impl.h"

/* Sets bits [u, u+n) of m (n a power of two, u aligned to n). */
static void mask_set(uint64_t *m, unsigned u, unsigned n)
{
	if (n >= 64) {
		for (unsigned k = u / 64; k < (u + n) / 64; k++)
			m[k] = ~0ull;
	} else {
		m[u / 64] |= ((1ull << n) - 1) << (u % 64);
	}
}

/* Free frames of area ai as a 512-bit mask (bit u = frame ai * 512 + u). */
static void area_free_mask(const struct buddy *b, uint32_t ai, uint64_t m[BB_UNITS / 64])
{
	const uint64_t *w = b->areas[ai].w;
	bool whole = bb_containing(b->chunks[ai / BB_UNITS].w, ai % BB_UNITS, 0) >= 0 ||
		     (b->areas[ai].free == 0 && buddy_cache_has(b, ai));
	for (unsigned k = 0; k < BB_UNITS / 64; k++)
		m[k] = whole ? ~0ull : 0;
	if (whole || b->areas[ai].free == 0)
		return;
	for (unsigned j = 0; j <= BB_MAX_ORDER; j++) {
		unsigned lo = bb_off(j), hi = lo + (BB_UNITS >> j);
		for (unsigned bit = lo; bit < hi;) {
			unsigned take = MM_MIN(64 - (bit & 63), hi - bit);
			for (uint64_t x = bb_bits(w, bit, take); x; x &= x - 1)
				mask_set(m, (bit - lo + (unsigned)__builtin_ctzll(x)) << j, 1u << j);
			bit += take;
		}
	}
}

static void runs_close(struct frame_buddy_runs *out, uint64_t s, uint64_t e)
{
	out->runs++;
	out->largest_run = MM_MAX(out->largest_run, e - s);
	while (s < e) { /* maximal aligned blocks; the largest is the largest in the run */
		unsigned o = MM_MIN(mm_log2_floor(e - s), (unsigned)FRAME_MAX_ORDER);
		if (s)
			o = MM_MIN(o, (unsigned)__builtin_ctzll(s));
		out->largest_block = MM_MAX(out->largest_block, 1ull << o);
		s += 1ull << o;
	}
}

void frame_buddy_free_runs(const void *st, struct frame_buddy_runs *out)
{
	const struct buddy *b = st;
	mm_zero(out, sizeof(*out));
	uint64_t start = 0, m[BB_UNITS / 64];
	bool in = false;
	for (uint32_t ai = 0; ai < b->nareas; ai++) {
		area_free_mask(b, ai, m);
		for (unsigned k = 0; k < BB_UNITS / 64; k++) {
			uint64_t w0 = ((uint64_t)ai * BB_UNITS) + k * 64;
			for (unsigned pos = 0; pos < 64;) {
				uint64_t y = (in ? ~m[k] : m[k]) >> pos;
				if (!y)
					break;
				pos += (unsigned)__builtin_ctzll(y);
				if (in)
					runs_close(out, start, w0 + pos);
				else
					start = w0 + pos;
				in = !in;
			}
		}
	}
	if (in)
		runs_close(out, start, (uint64_t)b->nareas * BB_UNITS);
}
