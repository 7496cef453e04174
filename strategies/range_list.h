/* range_list.h: a sorted list of free ranges with small inline storage that spills
 * into a caller-provided array (strategies/range_list.c). The engine of Hermit's
 * free lists: frame_freelist.c (frames) and va_freelist.c (4 KiB pages) use it.
 *
 * Follows hermit-os/kernel src/mm/freelist.rs: ranges [start, end) kept in a
 * SmallVec with inline capacity RL_INLINE. Hermit's SmallVec moves to the heap
 * when it overflows; our users sit below any heap, so the list moves once into a
 * spill array (meta memory the caller sized with rl_spill_bytes) and from then on
 * grows in place by doubling (32, 64, ...), as a Vec would. `spills` counts the
 * move and the doublings. When the spill array is full, taking a range that would
 * split one fails with MM_ENOMEM and returning one that needs a new slot panics
 * (Hermit panics when its heap cannot grow).
 *
 * Invariants (rl_check): v[i].start < v[i].end < v[i+1].start (sorted, non-empty,
 * merged: neighbours never touch); sum(end - start) == sum; n <= cap;
 * v == inl  <=>  spills == 0. Not thread-safe: callers hold their own lock.
 */
#ifndef MM_RANGE_LIST_H
#define MM_RANGE_LIST_H

#include "mm_common.h"

#define RL_INLINE    16u
#define RL_SPILL_MAX (1u << 18) /* ranges; caps the spill array at 4 MiB */

struct rl_range {
	uint64_t start, end; /* units (frames or pages) */
};

struct range_list {
	uint32_t n, cap;      /* ranges in use, capacity of v */
	struct rl_range *v;   /* inl, or spill once spilled */
	struct rl_range *spill;
	uint32_t spill_cap;   /* ranges the spill array holds */
	uint32_t max_n;	      /* most ranges ever held */
	uint64_t sum;	      /* units in all ranges */
	uint64_t spills;      /* the move to spill plus doublings */
	struct rl_range inl[RL_INLINE];
};

/* Bytes of spill array for at most `worst` ranges (at least 2 * RL_INLINE, capped
 * at RL_SPILL_MAX ranges). */
size_t rl_spill_bytes(uint64_t worst);
/* An empty list spilling into spill[0 .. spill_len) (8-byte aligned). The list
 * points into itself: do not move it after this. */
void rl_init(struct range_list *l, void *spill, size_t spill_len);
/* Takes the first range with an align-aligned block of len units (align a power
 * of two, >= 1) into *start; 0, or MM_ENOMEM if none fits (or no slot to split). */
int rl_first_fit(struct range_list *l, uint64_t len, uint64_t align, uint64_t *start);
/* Takes exactly [s, s+len); 0, MM_EBUSY if not all of it is free, MM_ENOMEM if
 * splitting a range needs a slot the spill array lacks. */
int rl_take(struct range_list *l, uint64_t s, uint64_t len);
/* Returns [s, s+len) (len > 0), merging with neighbours; false (list unchanged)
 * if any of it is already free. Panics if a new slot is needed and none is left. */
bool rl_put(struct range_list *l, uint64_t s, uint64_t len);
/* Panics with a message on a broken invariant; true otherwise. */
bool rl_check(const struct range_list *l);
/* Bytes of spill array in use (0 while inline). */
uint64_t rl_meta_bytes(const struct range_list *l);

#endif
