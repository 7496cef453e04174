/* va_btree_fast.c: the optimistic half of the B+-tree VA allocator (va_btree.h,
 * va_btree.c): descents, first fit's search, leaf-local alloc and free, and the
 * predecessor lookup, under optimistic lock coupling (Leis et al. 2019).
 *
 * Readers: read a node's version (waiting while it is locked, restarting if it
 * is obsolete), read the node with relaxed atomics, validate the version; a
 * child pointer is dereferenced only after its parent validated, and the parent
 * is validated again after the child's version is read. A fast writer plans a
 * leaf-local edit from such a read and hands it to the edit layer below
 * (va_btree_edit.c, .h), which locks only the nodes whose gap values change.
 * Edits that would overfill or underfill the leaf report VBT_FULL / VBT_LOW (a
 * structure change first, va_btree_smo.c); edits that move a start past the
 * leaf's separator bounds or may coalesce with a neighbour leaf report
 * VBT_SLOW (a two-leaf edit, va_btree_xleaf.c). The descent is exported for
 * those two files, which sit above this one. Every descent is in one zone's
 * tree (va_btree.h): a key's zone, or the zone an alloc searches. No edit here
 * adds, removes or moves a range end at or past the zone's upper bound (zhi;
 * such an end sets later zones' reach): a carve that would reports
 * VBT_SERIAL, and a free whose end would reach zhi goes to va_btree_xleaf.c
 * (its end reaches past the leaf), which reports VBT_SERIAL.
 *
 * Cost: every loop over a node's entries reads through local pointers and
 * counters, since each atomic access is a compiler barrier that would otherwise
 * reload the loop's bounds from memory. The common edits replace one entry by
 * one range (a carve off the front, a free joining one neighbour:
 * vbt_apply_one, two stores under the leaf's lock alone unless the leaf's
 * largest range changes).
 */
#include "va_btree_edit.h"

#define read_lock vbt_read_lock
#define validate  vbt_validate
#define upgrade	  vbt_upgrade

/* Zone z's root, read-locked into *n, *v, with p's zone and zhi set and the
 * zone's bounds into *lo, *hi; false (restart) if it is obsolete or no longer
 * the root once its version is read. */
static inline bool read_root(struct va_btree *t, uint32_t z, struct vbt_path *p,
			     struct vbt_node **n, uint64_t *v, uint64_t *lo, uint64_t *hi)
{
	p->z = z;
	*lo = vbt_zlo(t, z);
	*hi = p->zhi = vbt_zhi(t, z);
	return vbt_read_root(t, z, n, v);
}

/* One inner level of a descent: n (read at version *v, cnt children) goes to
 * child i. Records the step, narrows [*lo, *hi) and read-locks the child into
 * *n, *v (the parent validated before and after); false to restart. */
static inline bool step_down(struct vbt_step *st, struct vbt_node **n, uint64_t *v, uint32_t i,
			     uint32_t cnt, uint64_t pre, uint64_t *lo, uint64_t *hi)
{
	struct vbt_node *x = *n, *c;
	uint64_t cv;
	if (i > 0)
		*lo = VBT_LD(x->in.key[i]);
	if (i + 1 < cnt)
		*hi = VBT_LD(x->in.key[i + 1]);
	c = VBT_LD(x->in.child[i]);
	st->idx = i;
	st->pre = pre;
	st->cmax = VBT_LD(x->in.gap[i]);
	if (!validate(x, *v) || !read_lock(c, &cv) || !validate(x, *v))
		return false;
	*n = c;
	*v = cv;
	return true;
}

/* The first child with gap >= need (cnt if none); the largest gap before it
 * into *pre. */
static inline uint32_t first_gap(const struct vbt_node *n, uint32_t cnt, uint64_t need,
				 uint64_t *pre)
{
	const uint64_t *gap = n->in.gap;
	uint32_t i = 0;
	uint64_t m = 0, g;
	for (; i + 1 < cnt; i += 2) { /* two per round: half the loop overhead */
		uint64_t g0 = VBT_LD(gap[i]), g1 = VBT_LD(gap[i + 1]);
		if (g0 >= need || g1 >= need)
			break;
		m = g0 > m ? g0 : m;
		m = g1 > m ? g1 : m;
	}
	for (; i < cnt && (g = VBT_LD(gap[i])) < need; i++)
		m = g > m ? g : m;
	*pre = m;
	return i;
}

/* The optimistic descent of zone z's tree: by key x to the leaf whose
 * separator range holds it, or (fit) to the leftmost leaf with a range >= x.
 * MM_OK, VBT_RESTART, or (fit) MM_ENOMEM: validated at the root, the tree
 * holds no range >= x. */
VBT_INLINE int descend(struct va_btree *t, uint32_t z, struct vbt_path *p, uint64_t x, bool fit)
{
	struct vbt_node *n;
	uint64_t v, lo, hi;
	int rc = VBT_RESTART;
	if (!read_root(t, z, p, &n, &v, &lo, &hi))
		return VBT_RESTART;
	uint32_t d = 0;
	for (; d < VBT_MAX_DEPTH; d++) {
		struct vbt_step *st = &p->s[d];
		st->n = n;
		st->v = v;
		uint32_t lvl = VBT_LD(n->level);
		if (!lvl) {
			rc = MM_OK;
			break;
		}
		uint32_t cnt = vbt_clamp(VBT_LD(n->count), lvl);
		uint64_t pre = VBT_NO_PRE;
		uint32_t i = fit ? first_gap(n, cnt, x, &pre) : vbt_route(n, cnt, x);
		if (i >= cnt) {
			if (fit && d == 0 && validate(n, v))
				rc = MM_ENOMEM;
			break;
		}
		if (!step_down(st, &n, &v, i, cnt, pre, &lo, &hi))
			break;
	}
	p->depth = d;
	p->lo = lo;
	p->hi = hi;
	return rc;
}

int vbt_descend_key(struct va_btree *t, struct vbt_path *p, uint64_t x)
{
	return descend(t, vbt_zone_of(t, x), p, x, false);
}

/* The first leaf entry with length >= need (cnt if none), its range into *s,
 * *e, the largest length before it into *pre. Two entries per round (half the
 * loop overhead); garbage from a concurrent edit is caught later (vbt_fits, or
 * apply's upgrade). */
static inline uint32_t leaf_fit(const struct vbt_node *n, uint32_t cnt, uint64_t need, uint64_t *s,
				uint64_t *e, uint64_t *pre)
{
	const uint64_t *st = n->leaf.start, *en = n->leaf.end;
	uint64_t m = 0;
	uint32_t j = 0;
	for (; j + 1 < cnt; j += 2) {
		uint64_t l0 = VBT_LD(en[j]) - VBT_LD(st[j]);
		uint64_t l1 = VBT_LD(en[j + 1]) - VBT_LD(st[j + 1]);
		if (l0 >= need || l1 >= need)
			break;
		m = l0 > m ? l0 : m;
		m = l1 > m ? l1 : m;
	}
	for (; j < cnt; j++) {
		uint64_t x = VBT_LD(st[j]), y = VBT_LD(en[j]);
		if (y - x >= need) {
			*s = x;
			*e = y;
			break;
		}
		m = y - x > m ? y - x : m;
	}
	*pre = m;
	return j;
}

/* Carves [a, a + size) out of entry j = [s, e) of the path's leaf (cnt entries,
 * as read; pre as for vbt_apply): one entry for one (off the high end, or off
 * the front within the leaf) and an exact fit by the leaf-only edits, anything
 * else by vbt_apply. Its results. */
VBT_INLINE int carve_entry(struct va_btree *t, struct vbt_path *p, uint32_t cnt, uint32_t j,
			   uint64_t s, uint64_t e, uint64_t a, uint64_t size, uint64_t pre)
{
	if (a + size == e && e >= p->zhi) /* an end at or past the next zone goes: its reach */
		return VBT_SERIAL;
	if (a > s && a + size == e) /* off the high end (best fit's carve) */
		return vbt_apply_one(t, p, cnt, j, e - s, s, a, pre);
	if (a == s && e - s > size && s + size < p->hi) /* off the front, within the leaf */
		return vbt_apply_one(t, p, cnt, j, e - s, s + size, e, pre);
	if (a == s && e - s == size && vbt_leaf_may_remove(t, p, cnt, size, 0)) /* exact fit */
		return vbt_leaf_remove(t, p, cnt, j, false, 0);
	struct vbt_edit ed = vbt_carve_edit(j, s, e, a, size);
	return vbt_apply(t, p, &ed, pre);
}

/* Optimistic alloc in zone z's tree: its leftmost range >= need, carved at its
 * start (aligned); MM_OK (*addr set), MM_ENOMEM (the tree holds no range >=
 * need), VBT_RESTART, VBT_FULL, VBT_LOW, VBT_SLOW or VBT_SERIAL (the start of
 * the range chosen in *key, the address in *addr). */
int vbt_fast_alloc(struct va_btree *t, uint32_t z, uint64_t size, uint64_t align, uint64_t need,
		   uint64_t *addr, uint64_t *key)
{
	struct vbt_path p;
	int rc = descend(t, z, &p, need, true);
	if (rc != MM_OK)
		return rc;
	struct vbt_node *leaf = p.s[p.depth].n;
	uint32_t cnt = vbt_clamp(VBT_LD(leaf->count), 0);
	uint64_t s = 0, e = 0, a = 0, pre;
	uint32_t j = leaf_fit(leaf, cnt, need, &s, &e, &pre);
	if (j == cnt)
		return p.depth == 0 && validate(leaf, p.s[0].v) ? MM_ENOMEM : VBT_RESTART;
	if (!vbt_fits(s, e, size, align, &a))
		return VBT_RESTART;
	*addr = a;
	*key = s; /* VBT_FULL, VBT_LOW, VBT_SLOW: the range carved (in the leaf) */
	return carve_entry(t, &p, cnt, j, s, e, a, size, pre);
}

int vbt_fast_free(struct va_btree *t, uint64_t a, uint64_t b, uint64_t m[2])
{
	struct vbt_path p;
	if (vbt_descend_key(t, &p, a) != MM_OK)
		return VBT_RESTART;
	struct vbt_node *leaf = p.s[p.depth].n;
	uint32_t cnt = vbt_clamp(VBT_LD(leaf->count), 0), j = vbt_rank(leaf, cnt, a);
	if ((j == 0 && p.lo != 0) || (j == cnt && b >= p.hi))
		return VBT_SLOW; /* a neighbour may live in the next leaf over */
	uint64_t ps = 0, pe = 0, ss = 0, se = 0;
	if (j > 0) {
		ps = VBT_LD(leaf->leaf.start[j - 1]);
		pe = VBT_LD(leaf->leaf.end[j - 1]);
	}
	if (j < cnt) {
		ss = VBT_LD(leaf->leaf.start[j]);
		se = VBT_LD(leaf->leaf.end[j]);
	}
	if (!validate(leaf, p.s[p.depth].v))
		return VBT_RESTART;
	if ((j > 0 && pe > a) || (j < cnt && ss < b))
		mm_panic("va_btree: double free, or free of a range never allocated");
	bool mp = j > 0 && pe == a, ms = j < cnt && ss == b;
	m[0] = mp ? ps : a;
	m[1] = ms ? se : b;
	if (mp != ms) /* joins one neighbour: that entry grows (its start stays in the leaf) */
		return vbt_apply_one(t, &p, cnt, mp ? j - 1 : j, mp ? pe - ps : se - ss, m[0], m[1],
				     VBT_NO_PRE);
	if (!mp && vbt_leaf_may_insert(t, &p, cnt, b - a)) /* joins neither: a new entry */
		return vbt_leaf_insert(t, &p, cnt, j, a, b);
	if (mp && vbt_leaf_may_remove(t, &p, cnt, se - ss, se - ps)) /* joins both */
		return vbt_leaf_remove(t, &p, cnt, j, true, se);
	struct vbt_edit ed = {.from = mp ? j - 1 : j, .to = ms ? j + 1 : j, .k = 1};
	ed.r[0][0] = m[0];
	ed.r[0][1] = m[1];
	return vbt_apply(t, &p, &ed, VBT_NO_PRE);
}

int vbt_fast_carve(struct va_btree *t, uint64_t s, uint64_t a, uint64_t size)
{
	struct vbt_path p;
	if (vbt_descend_key(t, &p, s) != MM_OK)
		return VBT_RESTART;
	struct vbt_node *leaf = p.s[p.depth].n;
	uint32_t cnt = vbt_clamp(VBT_LD(leaf->count), 0), j = vbt_rank(leaf, cnt, s);
	if (j == 0)
		return VBT_RESTART;
	uint64_t x = VBT_LD(leaf->leaf.start[j - 1]), e = VBT_LD(leaf->leaf.end[j - 1]);
	if (x != s || a < s || a > e || e - a < size)
		return VBT_RESTART;
	return carve_entry(t, &p, cnt, j - 1, s, e, a, size, VBT_NO_PRE);
}

/* Optimistic read of the free range with the largest start <= x (in x's leaf,
 * or the last one of an earlier leaf); restarts until a read validates. */
bool va_btree_pred(struct va_btree *t, uint64_t x, uint64_t *s, uint64_t *e)
{
	for (;;) {
		struct vbt_path p;
		if (vbt_descend_key(t, &p, x) != MM_OK)
			continue;
		struct vbt_node *leaf = p.s[p.depth].n;
		uint32_t cnt = vbt_clamp(VBT_LD(leaf->count), 0), j = vbt_rank(leaf, cnt, x);
		uint64_t ls = j ? VBT_LD(leaf->leaf.start[j - 1]) : 0;
		uint64_t le = j ? VBT_LD(leaf->leaf.end[j - 1]) : 0;
		if (!validate(leaf, p.s[p.depth].v))
			continue;
		if (j) {
			*s = ls;
			*e = le;
			return true;
		}
		if (p.lo == 0)
			return false;
		x = p.lo - 1; /* every start of this leaf is > x: look in the one before */
	}
}
