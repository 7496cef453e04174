/* va_btree_best_addr.h: best fit's edits of the address tree (va_btree_best.c
 * decides, this file carves and frees), made by a writer that holds t->slow.
 * Header-only, included by va_btree_best.c alone: inline because every best-fit
 * alloc and free makes one (a call and its register saves cost as much as the
 * edit in a small tree).
 *
 * Every writer of a best-fit tree holds t->slow, so nothing this writer reads
 * can change under it: its reads are plain (no atomic load, no clamp), the
 * descent validates no node, and an upgrade from the version it read cannot
 * fail. Optimistic readers (va_btree_pred) may still
 * run, so every node written is locked around its stores (version + 2, then
 * unlocked + 2), as in va_btree_fast.c.
 *
 * The common edits stay in one leaf and leave its largest range as its
 * parent's gap records it: a carve off a range's high end (one store: the end
 * moves down), a free joining one neighbour (two stores), none (an insert) or
 * both (a removal). Any other edit goes to vbt_apply (gap updates up the path,
 * VBT_FULL / VBT_LOW / VBT_SLOW when the leaf's fill or bounds do not allow
 * it), and what that refuses to the caller's slow path.
 */
#ifndef MM_VA_BTREE_BEST_ADDR_H
#define MM_VA_BTREE_BEST_ADDR_H

#include "va_btree.h"

/* Number of a[0..len) <= x for sorted a, len < 64 (both caps are): a scan
 * below 8 entries (a small root), else vbt_upper with its six halvings written
 * out: fewer instructions than either loop. Every probe is a mask, not a
 * branch (half of them went the other way: callgrind's branch simulation
 * counted 20 mispredicted branches per best-fit alloc+free pair at 1,000
 * live, 14 now; 12-15% less time at 1,000 and 10,000 live). A probe past len
 * reads a word it then ignores: a must point into a node's raw[] with 63 words
 * after it (a leaf's raw, an inner node's raw + 1). */
VBT_INLINE uint32_t best_upper(const uint64_t *a, uint32_t len, uint64_t x)
{
	_Static_assert(VBT_LEAF_CAP < 64 && VBT_INNER_CAP < 64, "best_upper probes 32..1");
	_Static_assert(2 * VBT_LEAF_CAP >= 1 + 63, "best_upper reads up to raw[63]");
	if (len < 8) {
		uint32_t i = 0;
		while (i < len && a[i] <= x)
			i++;
		return i;
	}
	uint32_t i = 0;
#define BEST_PROBE(k) i += (k) & -(uint32_t)((i + (k) <= len) & (a[i + (k)-1] <= x))
	BEST_PROBE(32);
	BEST_PROBE(16);
	BEST_PROBE(8);
	BEST_PROBE(4);
	BEST_PROBE(2);
	BEST_PROBE(1);
#undef BEST_PROBE
	return i;
}

/* The path to the leaf whose separator range holds x (caller holds t->slow of
 * a best-fit tree): the same steps vbt_descend_key records, without waits or
 * validation. */
VBT_INLINE void best_descend(struct va_btree *t, struct vbt_path *p, uint64_t x)
{
	struct vbt_node *n = atomic_load_acq(&t->root);
	uint64_t lo = 0, hi = UINT64_MAX;
	uint32_t d = 0;
	for (uint32_t lvl; (lvl = n->level) != 0; d++) {
		struct vbt_step *st = &p->s[d];
		uint32_t cnt = n->count; /* no clamp: nobody writes it meanwhile */
		uint32_t i = cnt < 2 ? 0 : best_upper(n->raw + 1, cnt - 1, x); /* vbt_route */
		MM_ASSERT(d + 1 < VBT_MAX_DEPTH, "va_btree: address tree too deep");
		st->n = n;
		st->v = atomic_load_rlx(&n->version);
		st->idx = i;
		st->pre = VBT_NO_PRE;
		st->cmax = n->in.gap[i];
		if (i > 0)
			lo = n->in.key[i];
		if (i + 1 < cnt)
			hi = n->in.key[i + 1];
		n = n->in.child[i];
	}
	p->s[d].n = n;
	p->s[d].v = atomic_load_rlx(&n->version);
	p->depth = d;
	p->lo = lo;
	p->hi = hi;
}

/* Entry s of a leaf's start array (and its end VBT_LEAF_CAP words on) to slot
 * d; reads plain (nobody else writes), stores atomic (optimistic readers). */
#define BEST_MV(d, s)                                                                              \
	do {                                                                                       \
		VBT_ST((d)[0], (s)[0]);                                                            \
		VBT_ST((d)[VBT_LEAF_CAP], (s)[VBT_LEAF_CAP]);                                      \
	} while (0)

/* Moves leaf entries [q, lim) of a start array one slot up (up) or down, four
 * a round after one and two (a quarter of the loop's overhead). */
VBT_INLINE void leaf_shift1(uint64_t *q, uint64_t *lim, bool up)
{
	uint64_t k = (uint64_t)(lim - q);
	if (up) { /* from the last one down: the overlap is safe */
		if (k & 1) {
			lim--;
			BEST_MV(lim + 1, lim);
		}
		if (k & 2) {
			lim -= 2;
			BEST_MV(lim + 2, lim + 1);
			BEST_MV(lim + 1, lim);
		}
		for (; lim > q; lim -= 4) {
			BEST_MV(lim, lim - 1);
			BEST_MV(lim - 1, lim - 2);
			BEST_MV(lim - 2, lim - 3);
			BEST_MV(lim - 3, lim - 4);
		}
		return;
	}
	if (k & 1) {
		BEST_MV(q - 1, q);
		q++;
	}
	if (k & 2) {
		BEST_MV(q - 1, q);
		BEST_MV(q, q + 1);
		q += 2;
	}
	for (; q < lim; q += 4) {
		BEST_MV(q - 1, q);
		BEST_MV(q, q + 1);
		BEST_MV(q + 1, q + 2);
		BEST_MV(q + 2, q + 3);
	}
}

/* With open, entries [j, cnt) of leaf n move up one and [a, b) becomes entry
 * j; else entries [j + 1, cnt) move down one (entry j goes). The count follows. */
VBT_INLINE void leaf_shift(struct vbt_node *n, uint32_t j, uint32_t cnt, bool open, uint64_t a,
			   uint64_t b)
{
	uint64_t *st = n->leaf.start;
	if (open) {
		leaf_shift1(st + j, st + cnt, true);
		VBT_ST(st[j], a);
		VBT_ST(st[j + VBT_LEAF_CAP], b);
		VBT_ST(n->count, cnt + 1);
		return;
	}
	leaf_shift1(st + j + 1, st + cnt, false);
	VBT_ST(n->count, cnt - 1);
}

/* Locks the path's leaf for a store (nobody else writes: cannot fail). */
static inline void leaf_lock(struct vbt_step *l)
{
	bool ok = vbt_upgrade(l->n, l->v);
	MM_ASSERT(ok, "va_btree: a best-fit leaf changed under t->slow");
}

/* Carves [a, a + size) out of the free range [s, e) of a best-fit tree; MM_OK,
 * or VBT_FULL, VBT_LOW, VBT_SLOW (the caller's slow path does it); panics if
 * [s, e) is not a free range. */
VBT_INLINE int vbt_best_carve(struct va_btree *t, uint64_t s, uint64_t e, uint64_t a, uint64_t size)
{
	struct vbt_path p;
	best_descend(t, &p, s);
	struct vbt_step *l = &p.s[p.depth];
	struct vbt_node *leaf = l->n;
	uint32_t cnt = leaf->count, j = best_upper(leaf->raw, cnt, s);
	MM_ASSERT(j && leaf->leaf.start[j - 1] == s && leaf->leaf.end[j - 1] == e,
		  "va_btree: best-fit range not free in the address tree");
	j--;
	/* Off the high end (the end moves down) or an exact fit (the entry goes)
	 * in the leaf alone, unless the range may be the leaf's largest (its gap
	 * changes) or the leaf is at its minimum. */
	bool high = a > s && a + size == e;
	bool exact = a == s && a + size == e && cnt > (p.depth ? t->leaf_min : 1);
	if ((p.depth && e - s >= l[-1].cmax) || !(high || exact)) {
		struct vbt_edit ed = vbt_carve_edit(j, s, e, a, size);
		return vbt_apply(t, &p, &ed, VBT_NO_PRE);
	}
	leaf_lock(l);
	if (high)
		VBT_ST(leaf->leaf.end[j], a);
	else
		leaf_shift(leaf, j, cnt, false, 0, 0);
	vbt_unlock(leaf);
	return MM_OK;
}

/* Frees [a, b) of a best-fit tree joining its neighbours in a's leaf, the free
 * range it ends up in into m[0..2); MM_OK, or VBT_FULL, VBT_LOW, VBT_SLOW (the
 * caller's slow path does it, m unset); panics on a double free. */
VBT_INLINE int vbt_best_free_leaf(struct va_btree *t, uint64_t a, uint64_t b, uint64_t m[2])
{
	struct vbt_path p;
	best_descend(t, &p, a);
	struct vbt_step *l = &p.s[p.depth];
	struct vbt_node *leaf = l->n;
	const uint64_t *st = leaf->leaf.start, *en = leaf->leaf.end;
	uint32_t cnt = leaf->count, j = best_upper(leaf->raw, cnt, a);
	if ((j == 0 && p.lo != 0) || (j == cnt && b >= p.hi))
		return VBT_SLOW; /* a neighbour may live in the next leaf over */
	uint64_t pe = j ? en[j - 1] : 0, ss = j < cnt ? st[j] : UINT64_MAX;
	if (pe > a || ss < b)
		mm_panic("va_btree: double free, or free of a range never allocated");
	bool mp = j && pe == a, ms = ss == b;
	m[0] = mp ? st[j - 1] : a;
	m[1] = ms ? en[j] : b;
	/* The joined range grows past every entry it replaces: the leaf's largest
	 * range stays unless the new one passes the parent's gap. */
	uint32_t ncnt = cnt + 1 - mp - ms;
	if ((p.depth && (m[1] - m[0] > l[-1].cmax || ncnt < t->leaf_min)) || ncnt > t->leaf_cap) {
		struct vbt_edit ed = {.from = mp ? j - 1 : j, .to = ms ? j + 1 : j, .k = 1};
		ed.r[0][0] = m[0];
		ed.r[0][1] = m[1];
		return vbt_apply(t, &p, &ed, VBT_NO_PRE);
	}
	leaf_lock(l);
	if (mp) /* joins the one before: its end moves up */
		VBT_ST(leaf->leaf.end[j - 1], m[1]);
	else if (ms) /* joins the one after: its start moves down */
		VBT_ST(leaf->leaf.start[j], a);
	if (mp == ms) /* joins both (entry j goes) or neither (a new entry j) */
		leaf_shift(leaf, j, cnt, !mp, a, b);
	vbt_unlock(leaf);
	return MM_OK;
}

#endif
