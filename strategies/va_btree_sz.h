/* va_btree_sz.h: best fit's size trees (va_btree_sz.c), one per bin of
 * va_btree_best.c: B+-trees of free ranges keyed by (length, vbt_tie(start)),
 * named by a root pointer (NULL: empty). Every call runs under t->slow (z). */
#ifndef MM_VA_BTREE_SZ_H
#define MM_VA_BTREE_SZ_H

#include "va_btree.h"

/* Inserts key (l, a) into the tree *rootp (a new leaf when empty); never fails
 * (the node reserve covers the bound, vbt_nodes_needed). vbt_sz_ins below is
 * the same, with the one-leaf cases inline. */
void vbt_sz_ins_tree(struct vbt_stripe *z, struct vbt_node **rootp, uint64_t l, uint64_t a);
/* Deletes key (l, a) from *rootp, by the path idx when known (idx[level] the
 * child taken at each inner level, idx[0] the key's place in its leaf: a path
 * from vbt_sz_replace_tree; NULL: searched); *rootp becomes NULL when it
 * empties; panics if the key is not there. vbt_sz_del below is the same
 * (searched), with the one-leaf cases inline. */
void vbt_sz_del_tree(struct vbt_stripe *z, struct vbt_node **rootp, uint64_t l, uint64_t a,
		     const uint32_t *idx);
/* Replaces key (ol, oa) of *rootp by (nl, na) (in place when the new key stays
 * within the old one's leaf, else a delete and an insert); panics as
 * vbt_sz_del. vbt_sz_replace below is the same, with a root leaf inline. */
void vbt_sz_replace_tree(struct vbt_stripe *z, struct vbt_node **rootp, uint64_t ol, uint64_t oa,
			 uint64_t nl, uint64_t na);
/* The smallest key >= (l, a) of the tree n (NULL: empty) into *fl, *fa; false
 * if none. O(height). */
bool vbt_sz_ge(const struct vbt_node *n, uint64_t l, uint64_t a, uint64_t *fl, uint64_t *fa);
/* Walks the tree root (quiescent): panics unless it is well formed with every
 * length in [lmin, lmax); its key count into *keys; returns its node count. */
uint64_t vbt_sz_walk(const struct va_btree *t, const struct vbt_node *root, uint64_t lmin,
		     uint64_t lmax, uint64_t *keys);

/* ---- one-leaf trees inline (most bins hold a few ranges) ---- */

#define VBT_SZ_LEN(n, i) ((n)->leaf.start[i]) /* a size-tree leaf's key i: length */
#define VBT_SZ_TIE(n, i) ((n)->leaf.end[i])   /* and vbt_tie(start) */

/* Inserts key (l, a) into leaf n (count below the cap, the key within its
 * separators): the larger keys move up one as the search passes them; panics
 * if the key is there. */
static inline void vbt_sz_leaf_put(struct vbt_node *n, uint64_t l, uint64_t a)
{
	uint64_t *len = n->leaf.start, *tie = n->leaf.end;
	uint32_t i = n->count;
	VBT_ST(n->count, i + 1);
	if (i && len[0] == l && len[i - 1] == l) { /* one length (an exact bin): the ties move */
		VBT_ST(len[i], l);
		for (; i > 0 && tie[i - 1] > a; i--)
			VBT_ST(tie[i], tie[i - 1]);
		MM_ASSERT(i == 0 || tie[i - 1] != a, "va_btree: size index holds a range twice");
		VBT_ST(tie[i], a);
		return;
	}
	for (; i > 0 && (len[i - 1] > l || (len[i - 1] == l && tie[i - 1] > a)); i--) {
		VBT_ST(len[i], len[i - 1]);
		VBT_ST(tie[i], tie[i - 1]);
	}
	MM_ASSERT(i == 0 || len[i - 1] != l || tie[i - 1] != a,
		  "va_btree: size index holds a range twice");
	VBT_ST(len[i], l);
	VBT_ST(tie[i], a);
}

/* Deletes key (l, a) from leaf n (count above 1), at idx[0] when idx is given,
 * else found by its tie key (unique); panics if it is not there. */
static inline void vbt_sz_leaf_take(struct vbt_node *n, uint64_t l, uint64_t a, const uint32_t *idx)
{
	uint64_t *len = n->leaf.start, *tie = n->leaf.end;
	uint32_t cnt = n->count, i = 0;
	if (idx)
		i = idx[0];
	else
		while (i < cnt && tie[i] != a)
			i++;
	MM_ASSERT(i < cnt && len[i] == l && tie[i] == a, "va_btree: range not in the size index");
	if (len[cnt - 1] == l) /* [i, cnt) of one length: the ties move */
		for (; i + 1 < cnt; i++)
			VBT_ST(tie[i], tie[i + 1]);
	for (; i + 1 < cnt; i++) {
		VBT_ST(len[i], len[i + 1]);
		VBT_ST(tie[i], tie[i + 1]);
	}
	VBT_ST(n->count, cnt - 1);
}

/* The smallest key of the tree n (NULL: empty) into *fl, *fa; false if empty. */
VBT_INLINE bool vbt_sz_first(const struct vbt_node *n, uint64_t *fl, uint64_t *fa)
{
	if (!n)
		return false;
	while (n->level)
		n = n->in.child[0];
	*fl = VBT_SZ_LEN(n, 0);
	*fa = VBT_SZ_TIE(n, 0);
	return true;
}

/* Key i of leaf n (cnt keys) becomes (nl, na), still between the leaf's
 * separators: the keys between its old and new place move one over. */
VBT_INLINE void vbt_sz_leaf_move(struct vbt_node *n, uint32_t cnt, uint32_t i, uint64_t nl,
				 uint64_t na)
{
	uint64_t *len = n->leaf.start, *tie = n->leaf.end;
	for (; i > 0 && (len[i - 1] > nl || (len[i - 1] == nl && tie[i - 1] > na)); i--) {
		VBT_ST(len[i], len[i - 1]);
		VBT_ST(tie[i], tie[i - 1]);
	}
	for (; i + 1 < cnt && (len[i + 1] < nl || (len[i + 1] == nl && tie[i + 1] < na)); i++) {
		VBT_ST(len[i], len[i + 1]);
		VBT_ST(tie[i], tie[i + 1]);
	}
	VBT_ST(len[i], nl);
	VBT_ST(tie[i], na);
}

/* Inserts key (l, a) into the tree *rootp: inline into a root leaf with room
 * (the larger keys move up one as the search passes them) or as the first key
 * on a spare node, else vbt_sz_ins_tree. Panics if the key is there. */
VBT_INLINE void vbt_sz_ins(struct vbt_stripe *z, struct vbt_node **rootp, uint64_t l, uint64_t a)
{
	struct va_btree *t = z->t;
	struct vbt_node *r = *rootp;
	if (!r && z->spare) {
		r = z->spare;
		z->spare = r->next_free;
		z->nspare--;
		VBT_ST(r->level, 0);
		VBT_ST(VBT_SZ_LEN(r, 0), l);
		VBT_ST(VBT_SZ_TIE(r, 0), a);
		VBT_ST(r->count, 1);
		*rootp = r;
		return;
	}
	if (!r || r->level || r->count >= t->sz_leaf_cap)
		vbt_sz_ins_tree(z, rootp, l, a);
	else
		vbt_sz_leaf_put(r, l, a);
}

/* Deletes key (l, a) from the tree *rootp: inline from a root leaf (found by
 * its tie key, unique), its last key putting the leaf on the spare list while
 * that has room; else vbt_sz_del_tree. */
VBT_INLINE void vbt_sz_del(struct vbt_stripe *z, struct vbt_node **rootp, uint64_t l, uint64_t a)
{
	struct vbt_node *r = *rootp;
	if (!r || r->level || (r->count == 1 && z->nspare == VBT_STRIPE_SPARE)) {
		vbt_sz_del_tree(z, rootp, l, a, NULL);
		return;
	}
	if (r->count > 1) {
		vbt_sz_leaf_take(r, l, a, NULL);
		return;
	}
	MM_ASSERT(VBT_SZ_LEN(r, 0) == l && VBT_SZ_TIE(r, 0) == a,
		  "va_btree: range not in the size index");
	*rootp = NULL; /* the bin's last range */
	r->next_free = z->spare;
	z->spare = r;
	z->nspare++;
}

/* Replaces key (ol, oa) of the tree *rootp by (nl, na): inline in a root
 * leaf (the key found by its tie key), else vbt_sz_replace_tree. */
VBT_INLINE void vbt_sz_replace(struct vbt_stripe *z, struct vbt_node **rootp, uint64_t ol,
			       uint64_t oa, uint64_t nl, uint64_t na)
{
	struct vbt_node *r = *rootp;
	if (!r || r->level) {
		vbt_sz_replace_tree(z, rootp, ol, oa, nl, na);
		return;
	}
	uint32_t cnt = r->count, i = 0;
	while (i < cnt && VBT_SZ_TIE(r, i) != oa)
		i++;
	MM_ASSERT(i < cnt && VBT_SZ_LEN(r, i) == ol && VBT_SZ_TIE(r, i) == oa,
		  "va_btree: range not in the size index");
	vbt_sz_leaf_move(r, cnt, i, nl, na);
}

#endif
