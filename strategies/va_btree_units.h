/* va_btree_units.h: the B+-tree's allocation units (header-only, included by
 * va_btree.c and va_btree_best.c; inline because an alloc and a free each take one on the
 * fast path). A unit stands for one free range the node reserve must be able
 * to hold: every allocation or reservation outstanding can split a free range
 * in two, so with live of them outstanding the tree has at most live + 1 free
 * ranges and the reserve is sized for granted + 1 >= live + 1 (va_btree.h).
 */
#ifndef MM_VA_BTREE_UNITS_H
#define MM_VA_BTREE_UNITS_H

#include "va_btree.h"

/* ---- allocation units: credits per CPU slot ---------------------------------
 * The node reserve must cover outstanding + 1 free ranges. Units are granted
 * from t->granted in batches into cpu slots (only while granted + 1 <=
 * entry_cap holds after the grant), and taken from / given back to the slot
 * together with the slot's reserved bytes, in one CAS on a line no other CPU
 * writes in the common case. */

static inline struct vbt_cpu *slot(struct va_btree *t, unsigned cpu)
{
	return &t->cpu[cpu % VBT_CPU_SLOTS];
}

/* Takes a credit from c and accounts `bytes` (a multiple of 4 KiB) in it;
 * false if c has no credit. */
static inline bool slot_take(struct vbt_cpu *c, uint64_t bytes)
{
	uint64_t w = atomic_load_rlx(&c->word);
	while (w & VBT_CREDIT_MASK)
		if (atomic_cas(&c->word, &w, w + bytes - 1))
			return true;
	return false;
}

/* Grants a batch of units to c if the node reserve covers them; false if not. */
static inline bool slot_refill(struct va_btree *t, struct vbt_cpu *c)
{
	uint64_t g = atomic_load_rlx(&t->granted);
	do {
		if (g + VBT_CREDIT_BATCH + 1 > atomic_load_acq(&t->entry_cap))
			return false;
	} while (!atomic_cas(&t->granted, &g, g + VBT_CREDIT_BATCH));
	atomic_fetch_add_rlx(&c->word, VBT_CREDIT_BATCH);
	return true;
}

/* An alloc's request in allocation units (alloc_begin): size rounded up to
 * pages, align at least a page, need the span that holds size at align
 * anywhere (saturated); the CPU's slot c, and whether a unit came from it. */
struct vbt_req {
	uint64_t size, align, need;
	struct vbt_cpu *c;
	bool unit;
};

/* An alloc's start: fills *rq from size and align (0: a page) and takes a unit
 * from cpu's slot if it has or gets one. MM_OK, or MM_EINVAL (size 0, align not
 * a power of two), MM_ENOMEM (bigger than the arena). */
VBT_INLINE int alloc_begin(struct va_btree *t, unsigned cpu, uint64_t size, uint64_t align,
			   struct vbt_req *rq)
{
	uint64_t al = align ? align : PAGE_SIZE;
	if (!size || !MM_IS_POW2(al))
		return MM_EINVAL;
	if (size > t->size)
		return MM_ENOMEM;
	al = MM_MAX(al, PAGE_SIZE);
	uint64_t sz = MM_ALIGN_UP(size, PAGE_SIZE);
	rq->need = al - PAGE_SIZE > UINT64_MAX - sz ? UINT64_MAX : sz + al - PAGE_SIZE;
	rq->size = sz;
	rq->align = al;
	rq->c = slot(t, cpu);
	rq->unit = slot_take(rq->c, sz) || (slot_refill(t, rq->c) && slot_take(rq->c, sz));
	return MM_OK;
}

/* Gives a unit back to c and un-accounts `bytes`; a slot holding two batches
 * hands one back to t->granted. */
static inline void slot_put(struct va_btree *t, struct vbt_cpu *c, uint64_t bytes)
{
	uint64_t w = atomic_load_rlx(&c->word), back;
	do
		back = (w & VBT_CREDIT_MASK) + 1 >= 2 * VBT_CREDIT_BATCH ? VBT_CREDIT_BATCH : 0;
	while (!atomic_cas(&c->word, &w, w - bytes + 1 - back));
	if (back)
		atomic_fetch_add_acqrel(&t->granted, (uint64_t)0 - back);
}

/* Takes every slot's credits back into t->granted (before ENOMEM; lock-free). */
static inline void reclaim_credits(struct va_btree *t)
{
	for (unsigned i = 0; i < VBT_CPU_SLOTS; i++) {
		uint64_t w = atomic_load_rlx(&t->cpu[i].word);
		while ((w & VBT_CREDIT_MASK) &&
		       !atomic_cas(&t->cpu[i].word, &w, w & ~(uint64_t)VBT_CREDIT_MASK))
			;
		if (w & VBT_CREDIT_MASK)
			atomic_fetch_add_acqrel(&t->granted, (uint64_t)0 - (w & VBT_CREDIT_MASK));
	}
}

/* Grants the caller one unit with the node reserve grown to cover it (with
 * room for a few batches if frames allow; the pool lock, node-pool refill);
 * 0 or MM_ENOMEM (none granted). */
static inline int grant_unit(struct va_btree *t)
{
	uint64_t g = atomic_fetch_add_acqrel(&t->granted, 1) + 1;
	if (vbt_reserve_nodes(t, g + 1 + 4 * VBT_CREDIT_BATCH) == MM_OK ||
	    vbt_reserve_nodes(t, g + 1) == MM_OK)
		return MM_OK;
	reclaim_credits(t);
	if (vbt_reserve_nodes(t, atomic_load_acq(&t->granted) + 1) == MM_OK)
		return MM_OK;
	atomic_fetch_add_acqrel(&t->granted, (uint64_t)-1);
	return MM_ENOMEM;
}

#endif
