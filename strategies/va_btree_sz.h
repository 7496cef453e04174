/* va_btree_sz.h: best fit's size trees (va_btree_sz.c), one per bin of
 * va_btree_best.c: B+-trees of free ranges keyed by (length, vbt_tie(start)),
 * named by a root pointer (NULL: empty). Every call runs under t->slow (op). */
#ifndef MM_VA_BTREE_SZ_H
#define MM_VA_BTREE_SZ_H

#include "va_btree.h"

/* Inserts key (l, a) into the tree *rootp (a new leaf when empty); never fails
 * (the node reserve covers the bound, vbt_nodes_needed). */
void vbt_sz_ins(struct vbt_op *op, struct vbt_node **rootp, uint64_t l, uint64_t a);
/* Deletes key (l, a) from *rootp, by the child indices idx[level] when known (a
 * path from vbt_sz_ge; NULL: searched); *rootp becomes NULL when it empties;
 * panics if the key is not there. */
void vbt_sz_del(struct vbt_op *op, struct vbt_node **rootp, uint64_t l, uint64_t a,
		const uint32_t *idx);
/* Replaces key (ol, oa) of *rootp by (nl, na) (in place when the new key stays
 * within the old one's leaf, else a delete and an insert); panics as vbt_sz_del. */
void vbt_sz_replace(struct vbt_op *op, struct vbt_node **rootp, uint64_t ol, uint64_t oa,
		    uint64_t nl, uint64_t na, const uint32_t *idx);
/* The smallest key >= (l, a) of the tree n (NULL: empty) into *fl, *fa and its
 * path into idx; false if none. O(height). */
bool vbt_sz_ge(const struct vbt_node *n, uint64_t l, uint64_t a, uint64_t *fl, uint64_t *fa,
	       uint32_t *idx);
/* The smallest key of the tree n (NULL: empty) into *fl, *fa and its path into
 * idx; false if empty. */
bool vbt_sz_first(const struct vbt_node *n, uint64_t *fl, uint64_t *fa, uint32_t *idx);
/* Walks the tree root (quiescent): panics unless it is well formed with every
 * length in [lmin, lmax); its key count into *keys; returns its node count. */
uint64_t vbt_sz_walk(const struct va_btree *t, const struct vbt_node *root, uint64_t lmin,
		     uint64_t lmax, uint64_t *keys);

#endif
