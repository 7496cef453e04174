/* buddy_bitmap.h: a bitmap buddy over 512 units with orders 0..9 (header only).
 *
 * One node is 16 words (1024 bits). Order j has 512 >> j bits starting at bit
 * off(j) = 1024 - (1024 >> j): order 0 at 0 (512 bits), order 1 at 512, ...,
 * order 8 at 1020 (2 bits), order 9 at 1022 (1 bit); bit 1023 is unused. A set
 * bit (j, i) says "units [i*2^j, (i+1)*2^j) form one maximal free block".
 *
 * Invariants (bb_check):
 *   no two set bits overlap (a set bit has no set ancestor or descendant);
 *   never both buddies (j, 2m) and (j, 2m+1) set for j < 9 (fully coalesced);
 *   so a block is entirely free  <=>  some set bit at order >= its own contains it.
 *
 * The caller serialises access (frame_buddy.c holds a spinlock per node). Used
 * twice by frame_buddy.c: per 2 MiB area (unit = 4 KiB frame) and per 1 GiB chunk
 * (unit = 2 MiB area). Cost: 1024 bits per 512 units = 2 bits per unit.
 */
#ifndef MM_BUDDY_BITMAP_H
#define MM_BUDDY_BITMAP_H

#include "mm_common.h"

#define BB_UNITS     512u
#define BB_MAX_ORDER 9u
#define BB_WORDS     16u

static inline unsigned bb_off(unsigned j)
{
	return 1024u - (1024u >> j);
}

static inline bool bb_test(const uint64_t *w, unsigned j, unsigned i)
{
	unsigned b = bb_off(j) + i;
	return (w[b >> 6] >> (b & 63)) & 1;
}

static inline void bb_set(uint64_t *w, unsigned j, unsigned i)
{
	unsigned b = bb_off(j) + i;
	w[b >> 6] |= 1ull << (b & 63);
}

static inline void bb_clear(uint64_t *w, unsigned j, unsigned i)
{
	unsigned b = bb_off(j) + i;
	w[b >> 6] &= ~(1ull << (b & 63));
}

/* Bits [lo, lo+n) of the node, n <= 64 and not crossing a word (true for every
 * order's range split at word boundaries). */
static inline uint64_t bb_bits(const uint64_t *w, unsigned lo, unsigned n)
{
	uint64_t x = w[lo >> 6] >> (lo & 63);
	return n < 64 ? x & ((1ull << n) - 1) : x;
}

/* Index of the first set bit of order j, or -1. */
static inline int bb_find(const uint64_t *w, unsigned j)
{
	unsigned lo = bb_off(j), hi = lo + (BB_UNITS >> j);
	for (unsigned b = lo; b < hi;) {
		unsigned take = MM_MIN(64 - (b & 63), hi - b);
		uint64_t x = bb_bits(w, b, take);
		if (x)
			return (int)(b - lo + (unsigned)__builtin_ctzll(x));
		b += take;
	}
	return -1;
}

/* Number of set bits of order j. */
static inline unsigned bb_count(const uint64_t *w, unsigned j)
{
	unsigned lo = bb_off(j), hi = lo + (BB_UNITS >> j), n = 0;
	for (unsigned b = lo; b < hi;) {
		unsigned take = MM_MIN(64 - (b & 63), hi - b);
		n += (unsigned)__builtin_popcountll(bb_bits(w, b, take));
		b += take;
	}
	return n;
}

/* Bit j set (lo <= j <= hi) <=> the node has a free block of order j. */
static inline unsigned bb_order_mask_range(const uint64_t *w, unsigned lo_j, unsigned hi_j)
{
	unsigned m = 0;
	for (unsigned j = lo_j; j <= hi_j; j++) {
		unsigned lo = bb_off(j), hi = lo + (BB_UNITS >> j);
		for (unsigned b = lo; b < hi;) {
			unsigned take = MM_MIN(64 - (b & 63), hi - b);
			if (bb_bits(w, b, take)) {
				m |= 1u << j;
				break;
			}
			b += take;
		}
	}
	return m;
}

/* Bit j set <=> the node has a free block of order j. */
static inline unsigned bb_order_mask(const uint64_t *w)
{
	return bb_order_mask_range(w, 0, BB_MAX_ORDER);
}

/* Mask of orders lo..hi. */
static inline unsigned bb_orders(unsigned lo, unsigned hi)
{
	return ((2u << hi) - 1) & ~((1u << lo) - 1);
}

/* Free units in the node. */
static inline unsigned bb_free_units(const uint64_t *w)
{
	unsigned n = 0;
	for (unsigned j = 0; j <= BB_MAX_ORDER; j++)
		n += bb_count(w, j) << j;
	return n;
}

/* Takes a free block of 2^order units, splitting a larger one if needed, looking
 * only at the orders in mask (bb_order_mask or a superset of it); returns its
 * first unit and the order it was split from in *from, or -1 if none is free. */
static inline int bb_alloc_masked(uint64_t *w, unsigned order, unsigned mask, unsigned *from)
{
	for (mask &= ~((1u << order) - 1); mask; mask &= mask - 1) {
		unsigned j = (unsigned)__builtin_ctz(mask);
		int i = bb_find(w, j);
		if (i < 0)
			continue;
		*from = j;
		bb_clear(w, j, (unsigned)i);
		while (j > order) { /* keep the low half, free the high half */
			j--;
			i <<= 1;
			bb_set(w, j, (unsigned)i + 1);
		}
		return i << order;
	}
	return -1;
}

/* Takes a free block of 2^order units (see bb_alloc_masked); its unit or -1. */
static inline int bb_alloc(uint64_t *w, unsigned order)
{
	unsigned from;
	return bb_alloc_masked(w, order, bb_orders(0, BB_MAX_ORDER), &from);
}

/* Returns the block at unit (aligned, not free) and merges it with free buddies;
 * returns the order of the merged block. */
static inline unsigned bb_free(uint64_t *w, unsigned unit, unsigned order)
{
	unsigned i = unit >> order, j = order;
	while (j < BB_MAX_ORDER && bb_test(w, j, i ^ 1)) {
		bb_clear(w, j, i ^ 1);
		i >>= 1;
		j++;
	}
	bb_set(w, j, i);
	return j;
}

/* Order of the free block containing the block (unit, order), or -1. */
static inline int bb_containing(const uint64_t *w, unsigned unit, unsigned order)
{
	for (unsigned j = order; j <= BB_MAX_ORDER; j++)
		if (bb_test(w, j, unit >> j))
			return (int)j;
	return -1;
}

/* Takes exactly the block (unit, order); false if any unit of it is not free. */
static inline bool bb_take(uint64_t *w, unsigned unit, unsigned order)
{
	int c = bb_containing(w, unit, order);
	if (c < 0)
		return false;
	unsigned j = (unsigned)c;
	bb_clear(w, j, unit >> j);
	while (j > order) { /* free the halves not on the path to unit */
		j--;
		bb_set(w, j, (unit >> j) ^ 1);
	}
	return true;
}

/* True if any unit of the block (unit, order) is free. */
static inline bool bb_any_free(const uint64_t *w, unsigned unit, unsigned order)
{
	if (bb_containing(w, unit, order) >= 0)
		return true;
	for (unsigned j = 0; j < order; j++)
		for (unsigned i = unit >> j; i < (unit + (1u << order)) >> j; i++)
			if (bb_test(w, j, i))
				return true;
	return false;
}

/* Marks units [u, u+len) of seen (an aligned block of len = 2^j units, so one that
 * is shorter than a word lies inside one); panics if any of them is marked already. */
static inline void bb_mark_block(uint64_t *seen, unsigned u, unsigned len)
{
	for (unsigned k = u; k < u + len; k += 64) {
		uint64_t m = len < 64 ? ((1ull << len) - 1) << (k & 63) : ~0ull;
		MM_ASSERT(!(seen[k >> 6] & m), "buddy_bitmap: overlapping free blocks");
		seen[k >> 6] |= m;
	}
}

/* Full invariant walk: panics on overlapping or uncoalesced bits and when bit
 * 1023 is set; returns the number of free units. An empty node costs 16 word reads
 * and otherwise only the set bits are visited (a word at a time), so the check of a
 * large space (va_bitmap over 64 TiB: 2^16 nodes, nearly all empty) stays cheap. */
static inline unsigned bb_check(const uint64_t *w)
{
	uint64_t any = 0;
	for (unsigned k = 0; k < BB_WORDS; k++)
		any |= w[k];
	if (!any) /* the common case in a large space: nothing free here */
		return 0;
	uint64_t seen[BB_UNITS / 64] = {0};
	unsigned n = 0;
	MM_ASSERT(!(w[15] >> 63), "buddy_bitmap: unused bit 1023 set");
	for (unsigned j = 0; j <= BB_MAX_ORDER; j++) {
		unsigned lo = bb_off(j), hi = lo + (BB_UNITS >> j);
		for (unsigned b = lo; b < hi;) {
			unsigned take = MM_MIN(64 - (b & 63), hi - b);
			for (uint64_t x = bb_bits(w, b, take); x; x &= x - 1) {
				unsigned i = b - lo + (unsigned)__builtin_ctzll(x);
				if (j < BB_MAX_ORDER)
					MM_ASSERT(!((i & 1) == 0 && bb_test(w, j, i + 1)),
						  "buddy_bitmap: free buddies not coalesced");
				bb_mark_block(seen, i << j, 1u << j);
				n += 1u << j;
			}
			b += take;
		}
	}
	return n;
}

#endif
