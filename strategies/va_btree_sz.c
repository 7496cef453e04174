/* va_btree_sz.c: best fit's size trees (va_btree_best.c keeps one per bin): a
 * B+-tree of free ranges keyed by (length, vbt_tie(start)), built of the address
 * tree's nodes:
 *
 *     leaf:  leaf.start[i] = length, leaf.end[i] = vbt_tie(start of range i),
 *            sorted by (length, tie)
 *     inner: (in.key[i], in.gap[i]) = the smallest key below child i (i >= 1;
 *            entry 0 unused), child[i]; inner fill as in the address tree, leaf
 *            fill in [sz_leaf_cap / 2, sz_leaf_cap] (VBT_SZ_LEAF_CAP: 16 keys,
 *            not 62: an insert or delete moves half a leaf)
 *
 * A tree is named by its root pointer: NULL when empty (its last delete frees
 * the leaf, its first insert takes one). Only the root may be under-full.
 * Freed nodes stay on a short list of spares in their stripe (at most
 * VBT_STRIPE_SPARE; vbt_nodes_needed counts them) so that a bin emptying and
 * another of its stripe filling, as many operations on a small tree do, costs
 * no pool round trip.
 *
 * Concurrency: a bin's tree is read and written only under its stripe's lock
 * (z: va_btree_best.c). Its nodes come from the free list the address tree's
 * nodes go back to, unlocked and not obsolete while a size tree holds them, and
 * the address tree has optimistic readers and writers without that lock: a
 * stale one may read a size node (it then fails to validate the parent it came
 * from, whose version moved on when the node left it) or try to upgrade it from
 * a version it read in the node's earlier life (which fails: the version moved
 * on). So writes are atomic stores (VBT_ST), as everywhere in the tree; reads
 * under the stripe lock are plain (nobody else writes).
 *
 * A key that changes (the remainder of a carve, a range grown by a free)
 * usually stays in its leaf: vbt_sz_replace moves it there with one shift of the
 * keys between its old and new place instead of a delete and an insert (two
 * descents, two half-leaf shifts).
 */
#include "va_btree.h"
#include "va_btree_sz.h"

/* A node for a size tree: a spare of z's if any, else one from the pool,
 * unlocked (the reserve covers the bound: never fails). */
static struct vbt_node *sz_node_new(struct vbt_stripe *z, uint32_t level)
{
	struct vbt_node *n = z->spare;
	if (n) {
		z->spare = n->next_free;
		z->nspare--;
	} else {
		n = vbt_pool_get(z->t, level);
		vbt_unlock(n);
	}
	VBT_ST(n->level, level);
	VBT_ST(n->count, 0);
	return n;
}

/* Keeps n as a spare of z's (up to VBT_STRIPE_SPARE), else returns it to the
 * pool (locked first, from its current version: no other thread locks a size
 * node). */
static void sz_node_free(struct vbt_stripe *z, struct vbt_node *n)
{
	if (z->nspare < VBT_STRIPE_SPARE) {
		n->next_free = z->spare;
		z->spare = n;
		z->nspare++;
		return;
	}
	bool ok = vbt_upgrade(n, atomic_load_acq(&n->version));
	MM_ASSERT(ok, "va_btree: a size-tree node was locked");
	vbt_pool_put(z->t, n);
}

#define SZ_LEN(n, i) ((n)->leaf.start[i])
#define SZ_ADR(n, i) ((n)->leaf.end[i]) /* vbt_tie(start) */

/* (l1, a1) <= (l2, a2), or < when strict (no branch: the searches below are
 * loops of conditional moves, which do not mispredict). */
static inline bool key_le(uint64_t l1, uint64_t a1, uint64_t l2, uint64_t a2, bool strict)
{
	return (l1 < l2) | ((l1 == l2) & (strict ? a1 < a2 : a1 <= a2));
}

/* Number of keys (len[i], tie[i]), i < cnt, <= (l, a) (< when strict) for keys
 * sorted in that order: a binary search whose halving is a conditional move.
 * A length below 2 VBT_BIN_SUB pages has a bin of its own (va_btree_best.c:
 * bin = n there), whose keys all have that length (check() verifies each
 * key's length is its bin's): there the ties alone decide (a one-word search). */
static inline uint32_t sz_upper(const uint64_t *len, const uint64_t *tie, uint32_t cnt, uint64_t l,
				uint64_t a, bool strict)
{
	uint32_t b = 0;
	if (l < ((uint64_t)2 * VBT_BIN_SUB << PAGE_SHIFT))
		return !strict ? vbt_upper_locked(tie, cnt, a)
		       : a     ? vbt_upper_locked(tie, cnt, a - 1)
			       : 0;
	if (!cnt)
		return 0;
	while (cnt > 1) {
		uint32_t half = cnt / 2;
		b = key_le(len[b + half - 1], tie[b + half - 1], l, a, strict) ? b + half : b;
		cnt -= half;
	}
	return b + key_le(len[b], tie[b], l, a, strict);
}

/* Leaf keys <= (l, a) (< when strict). */
static uint32_t sz_rank(const struct vbt_node *n, uint64_t l, uint64_t a, bool strict)
{
	return sz_upper(n->leaf.start, n->leaf.end, n->count, l, a, strict);
}

/* Child of inner n for key (l, a): the last i >= 1 whose separator <= (l, a), else 0. */
static uint32_t sz_route(const struct vbt_node *n, uint64_t l, uint64_t a)
{
	return sz_upper(&n->in.key[1], &n->in.gap[1], n->count - 1, l, a, false);
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

/* Moves leaf entries [from, cnt) one slot up (open) or down (close). Keys are
 * sorted by length, so when the first and last length concerned are equal,
 * every length in between is, and only the tie keys need to move (one store
 * for the slot the range grows into): most edits of a bin of one length. */
static void sz_leaf_shift(struct vbt_node *n, uint32_t from, uint32_t cnt, bool open)
{
	uint64_t *len = n->leaf.start, *tie = n->leaf.end;
	if (from >= cnt)
		return;
	if (len[open ? from : from - 1] == len[cnt - 1]) {
		if (open)
			VBT_ST(len[cnt], len[cnt - 1]);
		sz_shift64(tie, from, cnt, open);
		return;
	}
	const uint32_t E = VBT_LEAF_CAP; /* both arrays in one loop (leaf.end follows leaf.start) */
	_Static_assert(__builtin_offsetof(struct vbt_node, leaf.end) ==
			   __builtin_offsetof(struct vbt_node, leaf.start) +
			       VBT_LEAF_CAP * sizeof(uint64_t),
		       "leaf.end follows leaf.start");
	if (open)
		for (uint32_t i = cnt; i-- > from;) {
			VBT_ST(len[i + 1], len[i]);
			VBT_ST(len[i + 1 + E], len[i + E]);
		}
	else
		for (uint32_t i = from; i < cnt; i++) {
			VBT_ST(len[i - 1], len[i]);
			VBT_ST(len[i - 1 + E], len[i + E]);
		}
}

/* Moves entries [from, cnt) of n one slot up (open) or down (close). */
static void sz_shift(struct vbt_node *n, uint32_t from, uint32_t cnt, bool open)
{
	if (!n->level) {
		sz_leaf_shift(n, from, cnt, open);
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
static struct vbt_node *sz_leaf_ins(struct vbt_stripe *z, struct vbt_node *n, uint64_t l,
				    uint64_t a, uint64_t *sl, uint64_t *sa)
{
	uint32_t pos = sz_rank(n, l, a, false), half = n->count / 2;
	MM_ASSERT(pos == 0 || SZ_LEN(n, pos - 1) != l || SZ_ADR(n, pos - 1) != a,
		  "va_btree: size index holds a range twice");
	struct vbt_node *r = NULL, *into = n;
	if (n->count == z->t->sz_leaf_cap) {
		sz_split(n, r = sz_node_new(z, 0), half);
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
static struct vbt_node *sz_inner_ins(struct vbt_stripe *z, struct vbt_node *n, uint32_t pos,
				     uint64_t l, uint64_t a, struct vbt_node *c, uint64_t *sl,
				     uint64_t *sa)
{
	uint32_t half = n->count / 2;
	struct vbt_node *r = NULL, *into = n;
	if (n->count == z->t->inner_cap) {
		*sl = n->in.key[half];
		*sa = n->in.gap[half];
		sz_split(n, r = sz_node_new(z, n->level), half);
		into = pos <= half ? n : r;
		pos = pos <= half ? pos : pos - half;
	}
	sz_open(into, pos);
	sz_set_inner(into, pos, l, a, c);
	return r;
}

/* Inserts key (l, a) below n; a new right sibling on a split, as above. */
static struct vbt_node *sz_ins_rec(struct vbt_stripe *z, struct vbt_node *n, uint64_t l, uint64_t a,
				   uint64_t *sl, uint64_t *sa)
{
	if (n->level == 0)
		return sz_leaf_ins(z, n, l, a, sl, sa);
	uint32_t i = sz_route(n, l, a);
	uint64_t cl = 0, ca = 0;
	struct vbt_node *r = sz_ins_rec(z, n->in.child[i], l, a, &cl, &ca);
	return r ? sz_inner_ins(z, n, i + 1, cl, ca, r, sl, sa) : NULL;
}

void vbt_sz_ins_tree(struct vbt_stripe *z, struct vbt_node **rootp, uint64_t l, uint64_t a)
{
	uint64_t sl = 0, sa = 0;
	struct vbt_node *root = *rootp, *r, *n = root;
	while (n && n->level) /* a leaf with room takes it without the recursion */
		n = n->in.child[sz_route(n, l, a)];
	if (n && n != root && n->count < z->t->sz_leaf_cap) {
		vbt_sz_leaf_put(n, l, a);
		return;
	}
	if (!root) {
		root = *rootp = sz_node_new(z, 0);
		VBT_ST(SZ_LEN(root, 0), l);
		VBT_ST(SZ_ADR(root, 0), a);
		VBT_ST(root->count, 1);
		return;
	}
	if (!root->level && root->count < z->t->sz_leaf_cap) { /* most bins: one leaf */
		uint32_t pos = sz_rank(root, l, a, false);
		MM_ASSERT(pos == 0 || SZ_LEN(root, pos - 1) != l || SZ_ADR(root, pos - 1) != a,
			  "va_btree: size index holds a range twice");
		sz_open(root, pos);
		VBT_ST(SZ_LEN(root, pos), l);
		VBT_ST(SZ_ADR(root, pos), a);
		return;
	}
	r = sz_ins_rec(z, root, l, a, &sl, &sa);
	if (!r)
		return;
	MM_ASSERT(root->level + 2 < VBT_MAX_DEPTH, "va_btree: size index too deep");
	struct vbt_node *nr = sz_node_new(z, root->level + 1);
	sz_set_inner(nr, 0, 0, 0, root);
	sz_set_inner(nr, 1, sl, sa, r);
	VBT_ST(nr->count, 2);
	*rootp = nr;
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
static void sz_merge(struct vbt_stripe *z, struct vbt_node *p, uint32_t li, struct vbt_node *l,
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
	sz_node_free(z, r);
}

/* Deletes key (l, a) below n, by the child indices idx[level] when known
 * (idx: a path from vbt_sz_replace_tree; NULL: searched); true if n is now
 * under-full. */
static bool sz_del_rec(struct vbt_stripe *z, struct vbt_node *n, uint64_t l, uint64_t a,
		       const uint32_t *idx)
{
	struct va_btree *t = z->t;
	if (n->level == 0) {
		uint32_t pos = sz_rank(n, l, a, false);
		MM_ASSERT(pos > 0 && SZ_LEN(n, pos - 1) == l && SZ_ADR(n, pos - 1) == a,
			  "va_btree: range not in the size index");
		sz_close(n, pos - 1);
		return n->count < t->sz_leaf_min;
	}
	uint32_t i = idx ? idx[n->level] : sz_route(n, l, a);
	if (sz_del_rec(z, n->in.child[i], l, a, idx)) {
		uint32_t li = i > 0 ? i - 1 : 0;
		struct vbt_node *cl = n->in.child[li], *cr = n->in.child[li + 1];
		uint32_t min = cl->level ? t->inner_min : t->sz_leaf_min;
		struct vbt_node *sib = li == i ? cr : cl;
		if (sib->count > min)
			sz_borrow(n, li, cl, cr, sib == cl);
		else
			sz_merge(z, n, li, cl, cr);
	}
	return n->count < t->inner_min;
}

void vbt_sz_del_tree(struct vbt_stripe *z, struct vbt_node **rootp, uint64_t l, uint64_t a,
		     const uint32_t *idx)
{
	struct vbt_node *root = *rootp;
	MM_ASSERT(root, "va_btree: range not in the size index (empty bin)");
	if (!root->level) { /* most bins: one leaf (a root leaf has no minimum) */
		uint32_t pos = root->count == 1 ? 1 : sz_rank(root, l, a, false);
		MM_ASSERT(pos > 0 && SZ_LEN(root, pos - 1) == l && SZ_ADR(root, pos - 1) == a,
			  "va_btree: range not in the size index");
		if (root->count > 1) {
			sz_close(root, pos - 1);
			return;
		}
		*rootp = NULL; /* the bin's last range */
		sz_node_free(z, root);
		return;
	}
	struct vbt_node *n = root;
	while (n->level) /* a leaf above its minimum loses it without the recursion */
		n = n->in.child[idx ? idx[n->level] : sz_route(n, l, a)];
	if (n->count > z->t->sz_leaf_min) {
		vbt_sz_leaf_take(n, l, a, idx);
		return;
	}
	sz_del_rec(z, root, l, a, idx);
	if (root->level ? root->count == 1 : root->count == 0) {
		*rootp = root->level ? root->in.child[0] : NULL;
		sz_node_free(z, root);
	}
}

/* Replaces key (ol, oa) by (nl, na): in place when the new key lies within the
 * separators of the old one's leaf (one descent, its path kept, and one shift
 * of the keys between the two places), else a delete along that path and an
 * insert. */
void vbt_sz_replace_tree(struct vbt_stripe *z, struct vbt_node **rootp, uint64_t ol, uint64_t oa,
			 uint64_t nl, uint64_t na)
{
	struct vbt_node *n = *rootp;
	bool lo_inf = true, hi_inf = true;
	uint64_t lol = 0, loa = 0, hil = 0, hia = 0;
	uint32_t path[VBT_MAX_DEPTH];
	while (n->level) {
		uint32_t i = path[n->level] = sz_route(n, ol, oa);
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
	uint32_t o = sz_rank(n, ol, oa, false);
	MM_ASSERT(o > 0 && o <= n->count && SZ_LEN(n, o - 1) == ol && SZ_ADR(n, o - 1) == oa,
		  "va_btree: range not in the size index");
	path[0] = o - 1;
	if ((!lo_inf && key_le(nl, na, lol, loa, true)) ||
	    (!hi_inf && !key_le(nl, na, hil, hia, true))) {
		vbt_sz_del_tree(z, rootp, ol, oa, path);
		vbt_sz_ins(z, rootp, nl, na);
		return;
	}
	uint32_t p = sz_rank(n, nl, na, false); /* keys <= new (the old one included) */
	if (p < o)				/* smaller: keys [p, o - 1) move up */
		sz_leaf_shift(n, p, o - 1, true);
	else /* larger: keys [o, p) move down */
		sz_leaf_shift(n, o, p, false);
	p = p < o ? p : p - 1;
	VBT_ST(SZ_LEN(n, p), nl);
	VBT_ST(SZ_ADR(n, p), na);
}

/* The smallest key >= (l, a) below n into *fl, *fa; false if none. A child
 * left of the route holds only smaller keys, and the first child right of it
 * holds its smallest key leftmost, so this visits O(height) nodes. */
bool vbt_sz_ge(const struct vbt_node *n, uint64_t l, uint64_t a, uint64_t *fl, uint64_t *fa)
{
	if (!n)
		return false;
	if (n->level == 0) {
		uint32_t pos = sz_rank(n, l, a, true);
		if (pos == n->count)
			return false;
		*fl = SZ_LEN(n, pos);
		*fa = SZ_ADR(n, pos);
		return true;
	}
	for (uint32_t k = sz_route(n, l, a); k < n->count; k++)
		if (vbt_sz_ge(n->in.child[k], l, a, fl, fa))
			return true;
	return false;
}

/* ---- check (quiescent, under t->slow) ----------------------------------------- */

struct sz_walk {
	const struct va_btree *t;
	uint64_t lmin, lmax;	      /* every length in [lmin, lmax) */
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
			MM_ASSERT(l >= w->lmin && l < w->lmax,
				  "va_btree check: free range in the wrong bin");
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

uint64_t vbt_sz_walk(const struct va_btree *t, const struct vbt_node *root, uint64_t lmin,
		     uint64_t lmax, uint64_t *keys)
{
	struct sz_walk w = {.t = t, .lmin = lmin, .lmax = lmax};
	if (root)
		sz_chk(&w, root, root->level, 0, 0, 0, 0, true, true);
	*keys = w.keys;
	return w.nodes;
}
