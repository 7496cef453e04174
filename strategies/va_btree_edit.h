/* va_btree_edit.h: the inline half of the B+-tree's leaf edits (va_btree_edit.c
 * has the rest): unlocking from a version read, the leaf's tail shifts, and the
 * three common edits that lock the leaf alone (one entry replaced, one inserted,
 * one removed), inlined into va_btree_fast.c's alloc and free, which sit above.
 * Each edit upgrades the leaf from the version its caller read (the CAS confirms
 * the entries as read) and leaves the leaf's largest range as it was, so no
 * parent's gap changes:
 *     max(end - start) over the leaf == gap of its parent's entry, before and after
 * (vbt_apply_one hands an edit that breaks this to vbt_apply_one_up).
 */
#ifndef MM_VA_BTREE_EDIT_H
#define MM_VA_BTREE_EDIT_H

#include "va_btree.h"

/* Unlocks a node this thread locked from version v: only the holder writes a
 * locked version word, so a plain release store suffices. */
static inline void vbt_unlock_v(struct vbt_node *n, uint64_t v)
{
	atomic_store_rel(&n->version, v + 2 * VBT_LOCKED);
}

/* Copies leaf entry q[0] (start, and its end VBT_LEAF_CAP words on) to q[sh]. */
#define VBT_LEAF_MV1(q, sh)                                                                        \
	do {                                                                                       \
		uint64_t a_ = VBT_LD((q)[0]), b_ = VBT_LD((q)[VBT_LEAF_CAP]);                      \
		VBT_ST((q)[sh], a_);                                                               \
		VBT_ST((q)[(sh) + VBT_LEAF_CAP], b_);                                              \
	} while (0)

/* Moves leaf entries [q0, lim) of a start array (and their ends) up by sh
 * words, from the last one down (the overlap is safe); two per round. */
static inline void vbt_shift_up(uint64_t *q0, uint64_t *lim, uint64_t sh)
{
	uint64_t *q = lim;
	if ((lim - q0) & 1) {
		q--;
		VBT_LEAF_MV1(q, sh);
	}
	while (q > q0) {
		q -= 2;
		VBT_LEAF_MV1(q + 1, sh);
		VBT_LEAF_MV1(q, sh);
	}
}

/* Moves leaf entries [q, lim) down by sh words, from the first one up. */
static inline void vbt_shift_down(uint64_t *q, uint64_t *lim, uint64_t sh)
{
	if ((lim - q) & 1) {
		VBT_LEAF_MV1(q, -(int64_t)sh);
		q++;
	}
	for (; q < lim; q += 2) {
		VBT_LEAF_MV1(q, -(int64_t)sh);
		VBT_LEAF_MV1(q + 1, -(int64_t)sh);
	}
}

/* The size index after leaf n's entries [from, to) become ed's ranges (n
 * locked), when t keeps one. */
static inline void vbt_ix_leaf(struct va_btree *t, const struct vbt_node *n,
			       const struct vbt_edit *ed)
{
	if (t->bins)
		vbt_best_index_edit(t, n, ed);
}

/* The common edit without an edit record: entry j < cnt of the path's leaf
 * (cnt entries), read as a range of length ov, becomes [s, e) (a carve leaving
 * one remainder, a free joining one neighbour), s within the leaf's bounds;
 * pre as for vbt_apply. The upgrade of the leaf from the version read confirms
 * entry j is as read; when the leaf's largest range stays (the parent's gap
 * says so) that is the only lock. MM_OK or VBT_RESTART. */
static inline int vbt_apply_one(struct va_btree *t, struct vbt_path *p, uint32_t cnt, uint32_t j,
				uint64_t ov, uint64_t s, uint64_t e, uint64_t pre)
{
	struct vbt_step *l = &p->s[p->depth];
	if (p->depth && (e - s > l[-1].cmax || ov >= l[-1].cmax))
		return vbt_apply_one_up(t, p, cnt, j, ov, s, e, pre);
	if (!vbt_upgrade(l->n, l->v))
		return VBT_RESTART;
	vbt_ix1(t, l->n, j, s, e);
	VBT_ST(l->n->leaf.start[j], s);
	VBT_ST(l->n->leaf.end[j], e);
	vbt_unlock_v(l->n, l->v);
	return MM_OK;
}

/* Leaf-only inserts and removals, when the leaf's fill stays within its
 * bounds and its largest range stays (the callers check the parent's gap):
 * one upgrade of the leaf from the version read (which confirms the entries
 * as read), one tail shift, no edit record. MM_OK or VBT_RESTART. */

/* Inserts [a, b) as entry j of the path's leaf (cnt < cap entries). */
static inline int vbt_leaf_insert(struct va_btree *t, struct vbt_path *p, uint32_t cnt, uint32_t j,
				  uint64_t a, uint64_t b)
{
	struct vbt_step *l = &p->s[p->depth];
	uint64_t *st = l->n->leaf.start;
	if (!vbt_upgrade(l->n, l->v))
		return VBT_RESTART;
	vbt_ix1(t, l->n, UINT32_MAX, a, b);
	vbt_shift_up(st + j, st + cnt, 1);
	VBT_ST(st[j], a);
	VBT_ST(st[j + VBT_LEAF_CAP], b);
	VBT_ST(l->n->count, cnt + 1);
	vbt_unlock_v(l->n, l->v);
	return MM_OK;
}

/* Removes entry j of the path's leaf (cnt > min entries); with join, entry
 * j - 1's end becomes e first (a free joining both neighbours). */
static inline int vbt_leaf_remove(struct va_btree *t, struct vbt_path *p, uint32_t cnt, uint32_t j,
				  bool join, uint64_t e)
{
	struct vbt_step *l = &p->s[p->depth];
	uint64_t *st = l->n->leaf.start;
	if (!vbt_upgrade(l->n, l->v))
		return VBT_RESTART;
	if (t->bins && join) /* entries j - 1 and j become [start[j - 1], e) */
		vbt_best_index_edit(t, l->n, &(struct vbt_edit){j - 1, j + 1, 1, {{st[j - 1], e}}});
	else if (t->bins)
		vbt_best_index_entry(t, l->n, j, 0, 0);
	if (join)
		VBT_ST(st[j - 1 + VBT_LEAF_CAP], e);
	vbt_shift_down(st + j + 1, st + cnt, 1);
	VBT_ST(l->n->count, cnt - 1);
	vbt_unlock_v(l->n, l->v);
	return MM_OK;
}

/* True if the path's leaf (cnt entries) may take an entry whose range is no
 * longer than nv (not over the cap, not past its parent's gap). */
static inline bool vbt_leaf_may_insert(const struct va_btree *t, const struct vbt_path *p,
				       uint32_t cnt, uint64_t nv)
{
	return cnt < t->leaf_cap && (!p->depth || nv <= p->s[p->depth - 1].cmax);
}

/* True if the path's leaf (cnt entries) may lose an entry of length ov while
 * the range it joins into (if any) becomes nv: above the minimum, the removed
 * range not its largest, the joined one not past it. */
static inline bool vbt_leaf_may_remove(const struct va_btree *t, const struct vbt_path *p,
				       uint32_t cnt, uint64_t ov, uint64_t nv)
{
	if (!p->depth)
		return cnt > 1;
	uint64_t cmax = p->s[p->depth - 1].cmax;
	return cnt > t->leaf_min && ov < cmax && nv <= cmax;
}

#endif
