/* va_btree_node.c: the B+-tree VA allocator's core below every writer (see
 * va_btree.h): the node pool and the entry moves that splits, borrows and merges
 * are made of. Nothing here takes a node lock; callers hold the nodes they pass.
 *
 * Node pool: frames from the page_source, four nodes each, on a tree-local free
 * list guarded by t->pool (held for one push or pop, or while frames are added;
 * never while waiting for anything else). Nodes are never returned to the
 * page_source, so a stale optimistic reader may always read one. A node keeps
 * its version word across lives: vbt_pool_put unlocks it as obsolete (the
 * counter moves on) before it is pushed, vbt_pool_get locks it from there, so a
 * version never repeats and no node on the list is locked.
 *
 * Node reserve: with min fill m_leaf = cap/2 and m_inner = cap/2, a tree of E
 * ranges has at most vbt_nodes_needed(E) nodes; alloc and reserve keep
 *     nodes_total >= vbt_nodes_needed(live + 1)
 * (free ranges <= outstanding allocations + 1 = live + 1 <= granted + 1, see
 * va_btree.c, allocation units), so free never needs a new frame. Every
 * structure change keeps each non-root node within [min, cap], so the bound
 * holds at every moment, not only at quiescent points.
 */
#include "va_btree.h"

/* ---- node reserve ---------------------------------------------------------- */

/* Levels a B+-tree of `entries` keys can have at most with these minimum fills. */
static uint64_t tree_levels(uint64_t entries, uint32_t leaf_min, uint32_t inner_min)
{
	uint64_t n = (entries + leaf_min - 1) / leaf_min, levels = 1;
	while (n > 1) {
		n = (n + inner_min - 1) / inner_min;
		levels++;
	}
	return levels;
}

uint64_t vbt_nodes_needed(const struct va_btree *t, uint64_t entries)
{
	/* One tree per zone (va_btree.h), m <= entries of them non-empty, each a
	 * root leaf at least. Leaves: >= leaf_min ranges each but one per tree,
	 * so L <= entries / leaf_min + m. Inner nodes: at each level >= inner_min
	 * children each but one per tree, so <= L / (inner_min - 1) + 2 per tree
	 * and level above the leaves. */
	uint64_t m = MM_MIN(entries, (uint64_t)t->nzones), im = t->inner_min;
	uint64_t leaves = (entries + t->leaf_min - 1) / t->leaf_min + m;
	uint64_t levels = tree_levels(entries, t->leaf_min, t->inner_min);
	uint64_t total = leaves + (leaves + im - 2) / (im - 1) + 2 * m * (levels - 1) +
			 (t->nzones - m) + 2; /* slack */
	if (t->best) { /* the bins' size trees (va_btree_best.c), with their own leaf fill */
		/* Leaves: >= sz_leaf_min keys each, but one root leaf per bin may
		 * hold fewer. Inner nodes: a bin of L >= 2 leaves holds > sz_leaf_cap
		 * keys in leaves of >= sz_leaf_min, and <= (L - 2) / (inner_min - 1)
		 * + 1 inner nodes (root >= 2 children, others >= inner_min). The
		 * bins never hold more keys than the tree has ranges (an edit deletes
		 * before it inserts), plus the stripes' spare nodes (va_btree_sz.c). */
		uint64_t full = entries / t->sz_leaf_min;
		uint64_t bins = MM_MIN(entries, (uint64_t)VBT_BINS);
		total += full + bins + full / (t->inner_min - 1) +
			 MM_MIN(bins, entries / (t->sz_leaf_cap + 1)) + 2 +
			 VBT_STRIPES * VBT_STRIPE_SPARE;
	}
	return total;
}

static void update_entry_cap(struct va_btree *t)
{
	uint64_t lo = 0, hi = t->nodes_total * t->leaf_cap + 1;
	while (lo + 1 < hi) { /* largest E with needed(E) <= nodes_total */
		uint64_t mid = lo + (hi - lo) / 2;
		if (vbt_nodes_needed(t, mid) <= t->nodes_total)
			lo = mid;
		else
			hi = mid;
	}
	atomic_store_rel(&t->entry_cap, lo);
}

static int add_frame(struct va_btree *t)
{
	uint64_t pa;
	if (t->ps.alloc(t->ps.ctx, &pa) != MM_OK)
		return MM_ENOMEM;
	uint8_t *p = t->ps.to_virt(t->ps.ctx, pa);
	for (unsigned i = 0; i < VBT_NODES_PER_FRAME; i++) {
		struct vbt_node *n = (struct vbt_node *)(void *)(p + i * VBT_NODE_SIZE);
		n->version = 0;
		n->slow_tag = 0;
		n->next_free = t->free_nodes;
		t->free_nodes = n;
	}
	t->nodes_total += VBT_NODES_PER_FRAME;
	t->nodes_free += VBT_NODES_PER_FRAME;
	t->frames++;
	return MM_OK;
}

int vbt_reserve_nodes(struct va_btree *t, uint64_t entries)
{
	int rc = MM_OK;
	spin_lock(&t->pool);
	while (rc == MM_OK && t->nodes_total < vbt_nodes_needed(t, entries))
		rc = add_frame(t);
	update_entry_cap(t);
	spin_unlock(&t->pool);
	return rc;
}

struct vbt_node *vbt_pool_get(struct va_btree *t, uint32_t level)
{
	spin_lock(&t->pool);
	struct vbt_node *n = t->free_nodes;
	MM_ASSERT(n, "va_btree: node reserve exhausted");
	t->free_nodes = n->next_free;
	t->nodes_free--;
	spin_unlock(&t->pool);
	uint64_t v = atomic_load_rlx(&n->version);
	MM_ASSERT(!(v & VBT_LOCKED), "va_btree: locked node on the free list");
	atomic_store_rel(&n->version, (v | VBT_OBSOLETE) + 1); /* locked, not obsolete */
	VBT_ST(n->level, level);
	VBT_ST(n->count, 0);
	return n;
}

void vbt_pool_put(struct va_btree *t, struct vbt_node *n)
{
	uint64_t v = atomic_load_rlx(&n->version);
	MM_ASSERT(v & VBT_LOCKED, "va_btree: freeing an unlocked node");
	atomic_store_rlx(&n->slow_tag, 0);
	atomic_store_rel(&n->version, v + VBT_LOCKED + VBT_OBSOLETE);
	spin_lock(&t->pool);
	n->next_free = t->free_nodes;
	t->free_nodes = n;
	t->nodes_free++;
	spin_unlock(&t->pool);
}

/* ---- entry moves (locked nodes) -------------------------------------------- */

uint64_t vbt_lmax(const struct vbt_node *n)
{
	return vbt_node_max(n, n->level, n->count);
}

void vbt_mv_entry(struct vbt_node *d, uint32_t di, const struct vbt_node *s, uint32_t si)
{
	if (s->level == 0) {
		VBT_ST(d->leaf.start[di], s->leaf.start[si]);
		VBT_ST(d->leaf.end[di], s->leaf.end[si]);
	} else {
		VBT_ST(d->in.key[di], s->in.key[si]);
		VBT_ST(d->in.gap[di], s->in.gap[si]);
		VBT_ST(d->in.child[di], s->in.child[si]);
	}
}

/* Opens a hole at pos (count grows by one); the caller fills it. */
void vbt_open_at(struct vbt_node *n, uint32_t pos)
{
	for (uint32_t k = n->count; k > pos; k--)
		vbt_mv_entry(n, k, n, k - 1);
	VBT_ST(n->count, n->count + 1);
}

void vbt_close_at(struct vbt_node *n, uint32_t pos)
{
	for (uint32_t k = pos; k + 1 < n->count; k++)
		vbt_mv_entry(n, k, n, k + 1);
	VBT_ST(n->count, n->count - 1);
}

void vbt_set_inner(struct vbt_node *n, uint32_t i, uint64_t key, struct vbt_node *c)
{
	VBT_ST(n->in.key[i], key);
	VBT_ST(n->in.gap[i], vbt_lmax(c));
	VBT_ST(n->in.child[i], c);
}

uint64_t vbt_split_into(struct vbt_node *n, struct vbt_node *r)
{
	uint32_t from = n->count / 2;
	uint64_t sep = n->level ? n->in.key[from] : n->leaf.start[from];
	for (uint32_t k = from; k < n->count; k++)
		vbt_mv_entry(r, k - from, n, k);
	VBT_ST(r->count, n->count - from);
	VBT_ST(n->count, from);
	if (r->level)
		VBT_ST(r->in.key[0], sep);
	return sep;
}

void vbt_borrow(struct vbt_node *p, uint32_t li, struct vbt_node *l, struct vbt_node *r,
		bool to_right)
{
	uint32_t lc = l->count, rc = r->count, g = to_right ? lc : rc, x = to_right ? rc : lc;
	uint32_t d = g > x ? g - x : 0;
	uint32_t k = d / 2 > 1 ? d / 2 : 1;
	uint64_t sep = p->in.key[li + 1];
	MM_ASSERT(to_right ? lc > k : rc > k, "va_btree: borrow from a node without a surplus");
	if (to_right) { /* l's last k to r's front; r's old first child's bound is sep */
		for (uint32_t j = rc; j-- > 0;)
			vbt_mv_entry(r, j + k, r, j);
		for (uint32_t j = 0; j < k; j++)
			vbt_mv_entry(r, j, l, lc - k + j);
		VBT_ST(r->count, rc + k);
		VBT_ST(l->count, lc - k);
		if (r->level)
			VBT_ST(r->in.key[k], sep);
		sep = r->level ? r->in.key[0] : r->leaf.start[0];
	} else { /* r's first k to l's end; r's first child's bound was sep */
		for (uint32_t j = 0; j < k; j++)
			vbt_mv_entry(l, lc + j, r, j);
		if (r->level)
			VBT_ST(l->in.key[lc], sep);
		sep = r->level ? r->in.key[k] : r->leaf.start[k];
		for (uint32_t j = k; j < rc; j++)
			vbt_mv_entry(r, j - k, r, j);
		VBT_ST(l->count, lc + k);
		VBT_ST(r->count, rc - k);
	}
	VBT_ST(p->in.key[li + 1], sep);
	if (r->level)
		VBT_ST(r->in.key[0], sep);
}

void vbt_merge_into(struct vbt_node *p, uint32_t li, struct vbt_node *l, struct vbt_node *r)
{
	uint32_t base = l->count;
	for (uint32_t k = 0; k < r->count; k++)
		vbt_mv_entry(l, base + k, r, k);
	if (l->level)
		VBT_ST(l->in.key[base], p->in.key[li + 1]);
	VBT_ST(l->count, base + r->count);
	vbt_close_at(p, li + 1);
}
