/* va_btree_best.c: best fit for the B+-tree VA allocator (btree-best,
 * btree-bare-best): the free range of smallest length >= need, found in
 * O(log n) through a size index; among ranges of that length the one of
 * smallest tie key vbt_tie(start) (a bijective hash: a pseudo-random choice,
 * not the lowest address), carved at its high end (the highest aligned block).
 *
 * Why not the lowest address: under random frees each free changes the count
 * of free ranges by 1 - (free neighbours of the freed block), whose mean is
 * 1 - 2F/L for F free ranges and L live blocks whatever the layout, and each
 * alloc by -1 on an exact fit, else 0; so F settles near L(1 - P(exact))/2
 * and a best-fit policy can only differ in how often an exact fit exists.
 * Address-ordered ties keep churning the low end and leave fewer exact fits:
 * on va_bench's workload (6 seeds) they left 7-15% more free ranges at 10,000
 * and 100,000 live than a tie independent of the address (vmem's LIFO
 * freelists, FIFO or a hash all land within 2% of each other). The hash needs
 * no per-range state, keeps every key unique and is inverted exactly.
 *
 * The address tree's gap maxima cannot answer "smallest range >= need": a
 * subtree whose largest range fits may also hold a shorter one that fits, so
 * a search pruned by them alone visits every subtree with a fitting range. As
 * XFS keeps a by-size B+-tree beside its by-block one, a best-fit tree keeps a
 * second B+-tree of the same nodes, keyed by (length, vbt_tie(start)):
 *
 *     leaf:  leaf.start[i] = length, leaf.end[i] = vbt_tie(start of range i),
 *            sorted by (length, tie)
 *     inner: (in.key[i], in.gap[i]) = the smallest key below child i (i >= 1;
 *            entry 0 unused), child[i]; inner fill as in the address tree, leaf
 *            fill in [sz_leaf_cap / 2, sz_leaf_cap] (24 keys, not 62: an insert
 *            or delete moves half a leaf, and the size index takes two or three
 *            of them per alloc + free)
 *
 * Invariant (quiescent): the size index holds exactly the address tree's free
 * ranges. Its nodes come from the tree's node reserve, sized for both trees
 * (vbt_nodes_needed doubles), so a free still never needs a frame.
 *
 * Concurrency: every writer of a best-fit tree (alloc, free, reserve) holds
 * t->slow for the whole operation, as vmem holds its arena lock; the size index
 * is read and written only there. Its nodes come from the free list the address
 * tree's nodes go back to, and the address tree still has optimistic readers
 * without the lock (va_btree_pred, e.g. btree-best's debug overlap check on
 * free), so such a stale reader may read a size-index node: writes are atomic
 * stores (VBT_ST), as everywhere in the tree; reads under the lock are plain
 * (nobody else writes). The address tree is edited by the optimistic fast path
 * where it can be (under t->slow no writer races it) and by the locked slow
 * path otherwise.
 *
 * A key that changes (the remainder of a carve, a range grown by a free)
 * usually stays in its leaf: sz_replace moves it there with one shift of the
 * keys between its old and new place instead of a delete and an insert (two
 * descents, two half-leaf shifts).
 */
#include "va_btree.h"

#define SZ_LEN(n, i) ((n)->leaf.start[i])
#define SZ_ADR(n, i) ((n)->leaf.end[i]) /* vbt_tie(start) */

/* (l1, a1) <= (l2, a2), or < when strict. */
static bool key_le(uint64_t l1, uint64_t a1, uint64_t l2, uint64_t a2, bool strict)
{
	return l1 < l2 || (l1 == l2 && (strict ? a1 < a2 : a1 <= a2));
}

/* Leaf keys <= (l, a) (< when strict), by binary search. */
static uint32_t sz_rank(const struct vbt_node *n, uint64_t l, uint64_t a, bool strict)
{
	uint32_t lo = 0, hi = n->count;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (key_le(SZ_LEN(n, mid), SZ_ADR(n, mid), l, a, strict))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Child of inner n for key (l, a): the last i >= 1 whose separator <= (l, a), else 0. */
static uint32_t sz_route(const struct vbt_node *n, uint64_t l, uint64_t a)
{
	uint32_t lo = 1, hi = n->count;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (key_le(n->in.key[mid], n->in.gap[mid], l, a, false))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

static void sz_mv(struct vbt_node *d, uint32_t di, const struct vbt_node *s, uint32_t si)
{
	if (s->level == 0) {
		VBT_ST(SZ_LEN(d, di), SZ_LEN(s, si));
		VBT_ST(SZ_ADR(d, di), SZ_ADR(s, si));
	} else {
		VBT_ST(d->in.key[di], s->in.key[si]);
		VBT_ST(d->in.gap[di], s->in.gap[si]);
		VBT_ST(d->in.child[di], s->in.child[si]);
	}
}

/* Moves a[from, cnt) one slot up (open) or down (close). */
static void sz_shift64(uint64_t *a, uint32_t from, uint32_t cnt, bool open)
{
	if (open)
		for (uint32_t i = cnt; i-- > from;)
			VBT_ST(a[i + 1], a[i]);
	else
		for (uint32_t i = from; i < cnt; i++)
			VBT_ST(a[i - 1], a[i]);
}

/* Moves entries [from, cnt) of n one slot up (open) or down (close). */
static void sz_shift(struct vbt_node *n, uint32_t from, uint32_t cnt, bool open)
{
	if (!n->level) { /* both arrays in one loop (leaf.end follows leaf.start) */
		const uint32_t E = VBT_LEAF_CAP;
		uint64_t *st = n->leaf.start;
		_Static_assert(__builtin_offsetof(struct vbt_node, leaf.end) ==
				   __builtin_offsetof(struct vbt_node, leaf.start) +
				       VBT_LEAF_CAP * sizeof(uint64_t),
			       "leaf.end follows leaf.start");
		if (open)
			for (uint32_t i = cnt; i-- > from;) {
				VBT_ST(st[i + 1], st[i]);
				VBT_ST(st[i + 1 + E], st[i + E]);
			}
		else
			for (uint32_t i = from; i < cnt; i++) {
				VBT_ST(st[i - 1], st[i]);
				VBT_ST(st[i - 1 + E], st[i + E]);
			}
		return;
	}
	sz_shift64(n->in.key, from, cnt, open);
	sz_shift64(n->in.gap, from, cnt, open);
	if (open)
		for (uint32_t i = cnt; i-- > from;)
			VBT_ST(n->in.child[i + 1], n->in.child[i]);
	else
		for (uint32_t i = from; i < cnt; i++)
			VBT_ST(n->in.child[i - 1], n->in.child[i]);
}

static void sz_open(struct vbt_node *n, uint32_t pos)
{
	sz_shift(n, pos, n->count, true);
	VBT_ST(n->count, n->count + 1);
}

static void sz_close(struct vbt_node *n, uint32_t pos)
{
	sz_shift(n, pos + 1, n->count, false);
	VBT_ST(n->count, n->count - 1);
}

/* Moves entries [from, count) of n into the empty node r. */
static void sz_split(struct vbt_node *n, struct vbt_node *r, uint32_t from)
{
	for (uint32_t k = from; k < n->count; k++)
		sz_mv(r, k - from, n, k);
	VBT_ST(r->count, n->count - from);
	VBT_ST(n->count, from);
}

static void sz_set_inner(struct vbt_node *n, uint32_t i, uint64_t l, uint64_t a, struct vbt_node *c)
{
	VBT_ST(n->in.key[i], l);
	VBT_ST(n->in.gap[i], a);
	VBT_ST(n->in.child[i], c);
}

/* Inserts key (l, a) into leaf n; a new right sibling on a split (its
 * smallest key into *sl, *sa), else NULL. */
static struct vbt_node *sz_leaf_ins(struct vbt_op *op, struct vbt_node *n, uint64_t l, uint64_t a,
				    uint64_t *sl, uint64_t *sa)
{
	uint32_t pos = sz_rank(n, l, a, false), half = n->count / 2;
	MM_ASSERT(pos == 0 || SZ_LEN(n, pos - 1) != l || SZ_ADR(n, pos - 1) != a,
		  "va_btree: size index holds a range twice");
	struct vbt_node *r = NULL, *into = n;
	if (n->count == op->t->sz_leaf_cap) {
		sz_split(n, r = vbt_node_new(op, 0), half);
		into = pos <= half ? n : r;
		pos = pos <= half ? pos : pos - half;
	}
	sz_open(into, pos);
	VBT_ST(SZ_LEN(into, pos), l);
	VBT_ST(SZ_ADR(into, pos), a);
	if (r) {
		*sl = SZ_LEN(r, 0);
		*sa = SZ_ADR(r, 0);
	}
	return r;
}

/* Inserts child c with smallest key (l, a) at pos of inner n; a new right
 * sibling on a split (the key that moves up into *sl, *sa), else NULL. */
static struct vbt_node *sz_inner_ins(struct vbt_op *op, struct vbt_node *n, uint32_t pos,
				     uint64_t l, uint64_t a, struct vbt_node *c, uint64_t *sl,
				     uint64_t *sa)
{
	uint32_t half = n->count / 2;
	struct vbt_node *r = NULL, *into = n;
	if (n->count == op->t->inner_cap) {
		*sl = n->in.key[half];
		*sa = n->in.gap[half];
		sz_split(n, r = vbt_node_new(op, n->level), half);
		into = pos <= half ? n : r;
		pos = pos <= half ? pos : pos - half;
	}
	sz_open(into, pos);
	sz_set_inner(into, pos, l, a, c);
	return r;
}

/* Inserts key (l, a) below n; a new right sibling on a split, as above. */
static struct vbt_node *sz_ins_rec(struct vbt_op *op, struct vbt_node *n, uint64_t l, uint64_t a,
				   uint64_t *sl, uint64_t *sa)
{
	if (n->level == 0)
		return sz_leaf_ins(op, n, l, a, sl, sa);
	uint32_t i = sz_route(n, l, a);
	uint64_t cl = 0, ca = 0;
	struct vbt_node *r = sz_ins_rec(op, n->in.child[i], l, a, &cl, &ca);
	return r ? sz_inner_ins(op, n, i + 1, cl, ca, r, sl, sa) : NULL;
}

static void sz_ins(struct vbt_op *op, uint64_t l, uint64_t a)
{
	struct va_btree *t = op->t;
	uint64_t sl = 0, sa = 0;
	struct vbt_node *root = t->sz_root, *r = sz_ins_rec(op, root, l, a, &sl, &sa);
	if (!r)
		return;
	MM_ASSERT(root->level + 2 < VBT_MAX_DEPTH, "va_btree: size index too deep");
	struct vbt_node *nr = vbt_node_new(op, root->level + 1);
	sz_set_inner(nr, 0, 0, 0, root);
	sz_set_inner(nr, 1, sl, sa, r);
	VBT_ST(nr->count, 2);
	t->sz_root = nr;
}

/* Moves one entry between children li and li+1 of p, towards `to_right`. */
static void sz_borrow(struct vbt_node *p, uint32_t li, struct vbt_node *l, struct vbt_node *r,
		      bool to_right)
{
	uint64_t sl = p->in.key[li + 1], sa = p->in.gap[li + 1];
	if (to_right) {
		sz_open(r, 0);
		sz_mv(r, 0, l, l->count - 1);
		VBT_ST(l->count, l->count - 1);
		if (r->level) { /* r's old first child takes the parent's separator */
			VBT_ST(r->in.key[1], sl);
			VBT_ST(r->in.gap[1], sa);
			sl = r->in.key[0];
			sa = r->in.gap[0];
		} else {
			sl = SZ_LEN(r, 0);
			sa = SZ_ADR(r, 0);
		}
	} else {
		sz_mv(l, l->count, r, 0);
		VBT_ST(l->count, l->count + 1);
		if (r->level) {
			VBT_ST(l->in.key[l->count - 1], sl);
			VBT_ST(l->in.gap[l->count - 1], sa);
			sl = r->in.key[1];
			sa = r->in.gap[1];
		}
		sz_close(r, 0);
		if (!r->level) {
			sl = SZ_LEN(r, 0);
			sa = SZ_ADR(r, 0);
		}
	}
	VBT_ST(p->in.key[li + 1], sl);
	VBT_ST(p->in.gap[li + 1], sa);
}

/* Appends child li+1 of p to child li and frees it. */
static void sz_merge(struct vbt_op *op, struct vbt_node *p, uint32_t li, struct vbt_node *l,
		     struct vbt_node *r)
{
	uint32_t base = l->count;
	for (uint32_t k = 0; k < r->count; k++)
		sz_mv(l, base + k, r, k);
	if (l->level) {
		VBT_ST(l->in.key[base], p->in.key[li + 1]);
		VBT_ST(l->in.gap[base], p->in.gap[li + 1]);
	}
	VBT_ST(l->count, base + r->count);
	sz_close(p, li + 1);
	vbt_node_free(op, r);
}

/* Deletes key (l, a) below n, by the child indices idx[level] when known
 * (idx: a path from sz_ge or sz_replace; NULL: searched); true if n is now
 * under-full. */
static bool sz_del_rec(struct vbt_op *op, struct vbt_node *n, uint64_t l, uint64_t a,
		       const uint32_t *idx)
{
	struct va_btree *t = op->t;
	if (n->level == 0) {
		uint32_t pos = sz_rank(n, l, a, false);
		MM_ASSERT(pos > 0 && SZ_LEN(n, pos - 1) == l && SZ_ADR(n, pos - 1) == a,
			  "va_btree: range not in the size index");
		sz_close(n, pos - 1);
		return n->count < t->sz_leaf_min;
	}
	uint32_t i = idx ? idx[n->level] : sz_route(n, l, a);
	if (sz_del_rec(op, n->in.child[i], l, a, idx)) {
		uint32_t li = i > 0 ? i - 1 : 0;
		struct vbt_node *cl = n->in.child[li], *cr = n->in.child[li + 1];
		uint32_t min = cl->level ? t->inner_min : t->sz_leaf_min;
		struct vbt_node *sib = li == i ? cr : cl;
		if (sib->count > min)
			sz_borrow(n, li, cl, cr, sib == cl);
		else
			sz_merge(op, n, li, cl, cr);
	}
	return n->count < t->inner_min;
}

static void sz_del(struct vbt_op *op, uint64_t l, uint64_t a, const uint32_t *idx)
{
	struct va_btree *t = op->t;
	struct vbt_node *root = t->sz_root;
	sz_del_rec(op, root, l, a, idx);
	if (root->level && root->count == 1) {
		t->sz_root = root->in.child[0];
		vbt_node_free(op, root);
	}
}

/* Replaces key (ol, oa) by (nl, na): in place when the new key lies within the
 * separators of the old one's leaf (one descent, by idx when known, and one
 * shift of the keys between the two places), else a delete along that path and
 * an insert. */
static void sz_replace(struct vbt_op *op, uint64_t ol, uint64_t oa, uint64_t nl, uint64_t na,
		       const uint32_t *idx)
{
	struct vbt_node *n = op->t->sz_root;
	bool lo_inf = true, hi_inf = true;
	uint64_t lol = 0, loa = 0, hil = 0, hia = 0;
	uint32_t path[VBT_MAX_DEPTH];
	while (n->level) {
		uint32_t i = path[n->level] = idx ? idx[n->level] : sz_route(n, ol, oa);
		if (i) {
			lo_inf = false;
			lol = n->in.key[i];
			loa = n->in.gap[i];
		}
		if (i + 1 < n->count) {
			hi_inf = false;
			hil = n->in.key[i + 1];
			hia = n->in.gap[i + 1];
		}
		n = n->in.child[i];
	}
	if ((!lo_inf && key_le(nl, na, lol, loa, true)) ||
	    (!hi_inf && !key_le(nl, na, hil, hia, true))) {
		sz_del(op, ol, oa, path);
		sz_ins(op, nl, na);
		return;
	}
	uint32_t o = sz_rank(n, ol, oa, false);
	MM_ASSERT(o > 0 && SZ_LEN(n, o - 1) == ol && SZ_ADR(n, o - 1) == oa,
		  "va_btree: range not in the size index");
	uint32_t p = sz_rank(n, nl, na, false); /* keys <= new (the old one included) */
	if (p < o)				/* smaller: keys [p, o - 1) move up */
		for (uint32_t k = o - 1; k > p; k--)
			sz_mv(n, k, n, k - 1);
	else /* larger: keys [o, p) move down */
		for (uint32_t k = o; k < p; k++)
			sz_mv(n, k - 1, n, k);
	p = p < o ? p : p - 1;
	VBT_ST(SZ_LEN(n, p), nl);
	VBT_ST(SZ_ADR(n, p), na);
}

/* The smallest key >= (l, a) below n into *fl, *fa; false if none. A child
 * left of the route holds only smaller keys, and the first child right of it
 * holds its smallest key leftmost, so this visits O(height) nodes. */
static bool sz_ge(const struct vbt_node *n, uint64_t l, uint64_t a, uint64_t *fl, uint64_t *fa,
		  uint32_t *idx)
{
	if (n->level == 0) {
		uint32_t pos = sz_rank(n, l, a, true);
		if (pos == n->count)
			return false;
		*fl = SZ_LEN(n, pos);
		*fa = SZ_ADR(n, pos);
		return true;
	}
	for (uint32_t k = sz_route(n, l, a); k < n->count; k++)
		if (sz_ge(n->in.child[k], l, a, fl, fa, idx)) {
			idx[n->level] = k;
			return true;
		}
	return false;
}

/* ---- operations (caller holds t->slow through op) ---------------------------- */

int vbt_sz_init(struct vbt_op *op)
{
	struct va_btree *t = op->t;
	struct vbt_node *n = vbt_node_new(op, 0);
	VBT_ST(SZ_LEN(n, 0), t->size);
	VBT_ST(SZ_ADR(n, 0), vbt_tie(t->base));
	VBT_ST(n->count, 1);
	t->sz_root = n;
	return MM_OK;
}

/* The size index after [x, y) was taken out of [s, e), whose key's path is idx
 * (NULL: not known). */
static void took_at(struct vbt_op *op, uint64_t s, uint64_t e, uint64_t x, uint64_t y,
		    const uint32_t *idx)
{
	if (x > s)
		sz_replace(op, e - s, vbt_tie(s), x - s, vbt_tie(s), idx);
	else if (e > y)
		sz_replace(op, e - s, vbt_tie(s), e - y, vbt_tie(y), idx);
	else
		sz_del(op, e - s, vbt_tie(s), idx);
	if (x > s && e > y)
		sz_ins(op, e - y, vbt_tie(y));
}

void vbt_best_took(struct vbt_op *op, uint64_t s, uint64_t e, uint64_t x, uint64_t y)
{
	took_at(op, s, e, x, y, NULL);
}

/* The best range for size bytes aligned to align: the smallest >= need (any
 * holds an aligned block), else the smallest holding one exactly (only when
 * align > 4 KiB: ranges of length in [size, need) in key order); ties by the
 * smallest tie key; the highest aligned block in it into *a. */
static bool best_range(const struct va_btree *t, uint64_t size, uint64_t align, uint64_t need,
		       uint64_t *s, uint64_t *e, uint64_t *a, uint32_t *idx)
{
	uint64_t l = 0, x = 0;
	if (sz_ge(t->sz_root, need, 0, &l, &x, idx)) {
		*s = vbt_untie(x);
		*e = *s + l;
		return vbt_fits_high(*s, *e, size, align, a);
	}
	for (l = size, x = 0; sz_ge(t->sz_root, l, x, &l, &x, idx); x++) {
		*s = vbt_untie(x);
		*e = *s + l;
		if (vbt_fits_high(*s, *e, size, align, a))
			return true;
	}
	return false;
}

int vbt_best_alloc(struct vbt_op *op, uint64_t size, uint64_t align, uint64_t need, uint64_t *addr)
{
	struct va_btree *t = op->t;
	uint64_t s = 0, e = 0, a = 0;
	uint32_t idx[VBT_MAX_DEPTH];
	if (!best_range(t, size, align, need, &s, &e, &a, idx))
		return MM_ENOMEM;
	/* Nobody else writes (t->slow): the fast edit cannot restart; it can only
	 * need the slow path (a split or merge). */
	if (vbt_fast_carve(t, s, a, size) != MM_OK) {
		int rc = vbt_slow_reserve(op, a, a + size, 0);
		MM_ASSERT(rc == MM_OK, "va_btree: best-fit range not free in the address tree");
	}
	took_at(op, s, e, a, a + size, idx); /* idx: the size index is unchanged since */
	*addr = a;
	return MM_OK;
}

void vbt_best_free(struct va_btree *t, uint64_t a, uint64_t b)
{
	struct vbt_op op;
	uint64_t m[2] = {a, b}, ps = 0, pe = 0, ss = 0, se = 0;
	vbt_slow_begin(t, &op);
	if (vbt_fast_free(t, a, b, m) != MM_OK) {
		/* The neighbours it joins, read before the slow path locks nodes. */
		m[0] = a;
		m[1] = b;
		if (a > t->base && va_btree_pred(t, a - 1, &ps, &pe) && pe == a)
			m[0] = ps;
		if (va_btree_pred(t, b, &ss, &se) && ss == b)
			m[1] = se;
		vbt_slow_free(&op, a, b);
	}
	if (m[0] < a && m[1] > b)
		sz_del(&op, m[1] - b, vbt_tie(b), NULL);
	if (m[0] < a)
		sz_replace(&op, a - m[0], vbt_tie(m[0]), m[1] - m[0], vbt_tie(m[0]), NULL);
	else if (m[1] > b)
		sz_replace(&op, m[1] - b, vbt_tie(b), m[1] - a, vbt_tie(a), NULL);
	else
		sz_ins(&op, m[1] - m[0], vbt_tie(m[0]));
	vbt_slow_end(&op);
}

/* ---- check (quiescent, under t->slow) ----------------------------------------- */

bool vbt_sz_has(const struct va_btree *t, uint64_t len, uint64_t addr)
{
	uint64_t l = 0, a = 0;
	uint64_t k = vbt_tie(addr);
	uint32_t idx[VBT_MAX_DEPTH];
	return sz_ge(t->sz_root, len, k, &l, &a, idx) && l == len && a == k;
}

struct sz_walk {
	const struct va_btree *t;
	uint64_t keys, nodes, pl, pa; /* keys seen, nodes, previous key */
};

/* Checks the size subtree n, its keys in [lo, hi) (hi_inf: no upper bound). */
static void sz_chk(struct sz_walk *w, const struct vbt_node *n, uint32_t level, uint64_t lol,
		   uint64_t loa, uint64_t hil, uint64_t hia, bool hi_inf, bool root)
{
	const struct va_btree *t = w->t;
	uint32_t cnt = n->count;
	w->nodes++;
	MM_ASSERT(n->level == level, "va_btree check: size index leaves at different depths");
	if (level == 0) {
		MM_ASSERT(cnt <= t->sz_leaf_cap && (root || cnt >= t->sz_leaf_min),
			  "va_btree check: size index leaf fill out of bounds");
		for (uint32_t i = 0; i < cnt; i++) {
			uint64_t l = SZ_LEN(n, i), a = SZ_ADR(n, i);
			MM_ASSERT(key_le(lol, loa, l, a, false) &&
				      (hi_inf || key_le(l, a, hil, hia, true)),
				  "va_btree check: size index key outside its separators");
			MM_ASSERT(!w->keys || key_le(w->pl, w->pa, l, a, true),
				  "va_btree check: size index keys not sorted");
			w->pl = l;
			w->pa = a;
			w->keys++;
		}
		return;
	}
	MM_ASSERT(cnt <= t->inner_cap && cnt >= (root ? 2 : t->inner_min),
		  "va_btree check: size index inner fill out of bounds");
	for (uint32_t i = 0; i < cnt; i++) {
		uint64_t cl = i ? n->in.key[i] : lol, ca = i ? n->in.gap[i] : loa;
		bool last = i + 1 == cnt;
		sz_chk(w, n->in.child[i], level - 1, cl, ca, last ? hil : n->in.key[i + 1],
		       last ? hia : n->in.gap[i + 1], last && hi_inf, false);
	}
}

uint64_t vbt_sz_check(const struct va_btree *t, uint64_t ranges)
{
	struct sz_walk w = {.t = t};
	const struct vbt_node *root = t->sz_root;
	sz_chk(&w, root, root->level, 0, 0, 0, 0, true, true);
	MM_ASSERT(w.keys == ranges, "va_btree check: size index and address tree differ in count");
	return w.nodes;
}
