/* va_btree_slow.c: the serialised path of the B+-tree VA allocator (see
 * va_btree.h): inserts with splits, deletes with borrow/merge, neighbour lookups
 * across leaves, and the operations built from them, all under t->slow.
 *
 * Who uses it: only the rare fallbacks va_btree.c names (counted in the cpu
 * slots' `serial`), in trees of either policy; in a best-fit tree its two range
 * edits (carve, free) also edit the size index (vbt_best_index) while they hold
 * the leaves concerned locked.
 *
 * Protocol: writers here are serialised by t->slow and lock every node they
 * touch, top-down, before reading it (waiting while another thread holds it).
 * Lock-coupled writers (va_btree_fast.c, va_btree_smo.c, va_btree_xleaf.c) only
 * try-lock and restart, never waiting while they hold a lock, and this path
 * waits only top-down, so this cannot deadlock. Locks are released together by
 * vbt_slow_end(), bumping each version, except for nodes freed on the way: those
 * go back to the pool at once, obsolete (va_btree_node.c).
 */
#include "va_btree.h"

void vbt_slow_begin(struct va_btree *t, struct vbt_op *op)
{
	spin_lock(&t->slow);
	op->t = t;
	op->seq = ++t->slow_seq;
	op->nlocked = 0;
}

void vbt_slow_end(struct vbt_op *op)
{
	for (uint32_t i = 0; i < op->nlocked; i++)
		vbt_unlock(op->locked[i]);
	spin_unlock(&op->t->slow);
}

static void op_track(struct vbt_op *op, struct vbt_node *n)
{
	MM_ASSERT(op->nlocked < VBT_MAX_LOCKED, "va_btree: too many nodes in one operation");
	atomic_store_rlx(&n->slow_tag, op->seq << 1);
	op->locked[op->nlocked++] = n;
}

/* Locks n for this operation (idempotent), waiting for another writer to finish. */
static void op_lock(struct vbt_op *op, struct vbt_node *n)
{
	if ((atomic_load_rlx(&n->slow_tag) >> 1) == op->seq)
		return;
	for (;;) {
		uint64_t v = atomic_load_acq(&n->version);
		MM_ASSERT(!(v & VBT_OBSOLETE), "va_btree: obsolete node reachable from the tree");
		if (!(v & VBT_LOCKED) && atomic_cas(&n->version, &v, v + VBT_LOCKED))
			break;
		cpu_relax();
	}
	op_track(op, n);
}

/* Unlocks the nodes op locked since it held `mark` of them (a subtree a search
 * visited and left unchanged), so a search that backtracks holds one path plus
 * the subtree it is in, not every node it visited (VBT_MAX_LOCKED). */
static void op_release(struct vbt_op *op, uint32_t mark)
{
	while (op->nlocked > mark) {
		struct vbt_node *n = op->locked[--op->nlocked];
		atomic_store_rlx(&n->slow_tag, 0);
		vbt_unlock(n);
	}
}

/* Zone z's root, locked for this operation: read, locked, and read again until
 * it is still the root (lock-coupled writers change a root only while they hold
 * the old one locked, so once this op holds it, it stays the root). */
static struct vbt_node *op_root(struct vbt_op *op, uint32_t z)
{
	struct vbt_node **rootp = &op->t->zone[z].root;
	for (;;) {
		struct vbt_node *r = atomic_load_acq(rootp);
		if ((atomic_load_rlx(&r->slow_tag) >> 1) == op->seq)
			return r;
		uint64_t v = atomic_load_acq(&r->version);
		if ((v & (VBT_LOCKED | VBT_OBSOLETE)) ||
		    !atomic_cas(&r->version, &v, v + VBT_LOCKED)) {
			cpu_relax();
			continue;
		}
		if (atomic_load_acq(rootp) == r) {
			op_track(op, r);
			return r;
		}
		vbt_unlock(r);
	}
}

static struct vbt_node *node_new(struct vbt_op *op, uint32_t level)
{
	struct vbt_node *n = vbt_pool_get(op->t, level);
	op_track(op, n);
	return n;
}

/* Frees n (locked by op): out of op's set, back to the pool, obsolete. */
static void node_free(struct vbt_op *op, struct vbt_node *n)
{
	uint32_t i = op->nlocked;
	while (i-- > 0 && op->locked[i] != n)
		;
	MM_ASSERT(i < op->nlocked, "va_btree: freeing an unlocked node");
	op->locked[i] = op->locked[--op->nlocked];
	vbt_pool_put(op->t, n);
}

struct vbt_node *vbt_node_new(struct vbt_op *op, uint32_t level)
{
	return node_new(op, level);
}

void vbt_node_free(struct vbt_op *op, struct vbt_node *n)
{
	op_lock(op, n); /* a size-index node op has not touched yet */
	node_free(op, n);
}

int vbt_slow_init_root(struct va_btree *t)
{
	struct vbt_op op;
	vbt_slow_begin(t, &op);
	int rc = vbt_reserve_nodes(t, 1);
	for (uint32_t z = 0; rc == MM_OK && z < t->nzones; z++) {
		struct vbt_node *r = node_new(&op, 0);
		if (z == 0) { /* one range, the whole of it: it holds every zone's start */
			VBT_ST(r->leaf.start[0], t->base);
			VBT_ST(r->leaf.end[0], t->base + t->size);
			VBT_ST(r->count, 1);
		}
		atomic_store_rel(&t->zone[z].root, r);
		atomic_store_rel(&t->zone[z].reach, z ? t->base + t->size : 0);
	}
	vbt_slow_end(&op);
	return rc;
}

#define lmax	  vbt_lmax
#define open_at	  vbt_open_at
#define close_at  vbt_close_at
#define set_inner vbt_set_inner

static void set_leaf(struct vbt_node *n, uint32_t i, uint64_t s, uint64_t e)
{
	VBT_ST(n->leaf.start[i], s);
	VBT_ST(n->leaf.end[i], e);
}

/* ---- insert ------------------------------------------------------------------ */

static struct vbt_node *leaf_ins(struct vbt_op *op, struct vbt_node *n, uint64_t s, uint64_t e,
				 uint64_t *sep)
{
	uint32_t pos = vbt_rank(n, n->count, s), half = n->count / 2;
	MM_ASSERT(pos == 0 || n->leaf.start[pos - 1] != s, "va_btree: duplicate start");
	if (n->count < op->t->leaf_cap) {
		open_at(n, pos);
		set_leaf(n, pos, s, e);
		return NULL;
	}
	struct vbt_node *r = node_new(op, 0), *into = pos <= half ? n : r;
	*sep = vbt_split_into(n, r); /* r's first start: an insert lands after it */
	pos = pos <= half ? pos : pos - half;
	open_at(into, pos);
	set_leaf(into, pos, s, e);
	return r;
}

/* Inserts child c with key at pos of inner n; splits n if full. */
static struct vbt_node *inner_ins(struct vbt_op *op, struct vbt_node *n, uint32_t pos, uint64_t key,
				  struct vbt_node *c, uint64_t *sep)
{
	uint32_t half = n->count / 2;
	if (n->count < op->t->inner_cap) {
		open_at(n, pos);
		set_inner(n, pos, key, c);
		return NULL;
	}
	struct vbt_node *r = node_new(op, n->level), *into = pos <= half ? n : r;
	*sep = vbt_split_into(n, r);
	pos = pos <= half ? pos : pos - half;
	open_at(into, pos);
	set_inner(into, pos, key, c);
	return r;
}

/* Inserts [s, e) below n; returns a new right sibling (separator *sep) on a split. */
static struct vbt_node *ins_rec(struct vbt_op *op, struct vbt_node *n, uint64_t s, uint64_t e,
				uint64_t *sep)
{
	op_lock(op, n);
	if (n->level == 0)
		return leaf_ins(op, n, s, e, sep);
	uint32_t i = vbt_route(n, n->count, s);
	struct vbt_node *c = n->in.child[i];
	uint64_t csep = 0;
	struct vbt_node *r = ins_rec(op, c, s, e, &csep);
	if (r) /* c lost half its entries */
		VBT_ST(n->in.gap[i], lmax(c));
	else if (e - s > n->in.gap[i])
		VBT_ST(n->in.gap[i], e - s);
	return r ? inner_ins(op, n, i + 1, csep, r, sep) : NULL;
}

static void tree_ins(struct vbt_op *op, uint64_t s, uint64_t e)
{
	struct va_btree *t = op->t;
	uint32_t z = vbt_zone_of(t, s);
	struct vbt_node *root = op_root(op, z);
	uint64_t sep = 0;
	struct vbt_node *r = ins_rec(op, root, s, e, &sep);
	if (!r)
		return;
	MM_ASSERT(root->level + 2 < VBT_MAX_DEPTH, "va_btree: tree too deep");
	struct vbt_node *nr = node_new(op, root->level + 1);
	set_inner(nr, 0, 0, root);
	set_inner(nr, 1, sep, r);
	VBT_ST(nr->count, 2);
	atomic_store_rel(&t->zone[z].root, nr);
}

/* ---- delete ------------------------------------------------------------------ */

/* Appends child li+1 of p to child li and removes it. */
static void merge(struct vbt_op *op, struct vbt_node *p, uint32_t li, struct vbt_node *l,
		  struct vbt_node *r)
{
	vbt_merge_into(p, li, l, r);
	node_free(op, r);
}

/* Child i of p fell below the minimum: borrow from a sibling or merge. */
static void rebalance(struct vbt_op *op, struct vbt_node *p, uint32_t i)
{
	struct va_btree *t = op->t;
	uint32_t li = i > 0 ? i - 1 : 0;
	struct vbt_node *l = p->in.child[li], *r = p->in.child[li + 1];
	op_lock(op, l);
	op_lock(op, r);
	uint32_t min = l->level ? t->inner_min : t->leaf_min;
	struct vbt_node *sib = li == i ? r : l;
	if (sib->count > min) {
		vbt_borrow(p, li, l, r, sib == l);
		VBT_ST(p->in.gap[li + 1], lmax(r));
	} else {
		merge(op, p, li, l, r);
	}
	VBT_ST(p->in.gap[li], lmax(l));
}

/* Deletes the range starting at s below n, its length into *len (a gap is
 * rescanned only if it may have been the largest below); true if n is now under-full. */
static bool del_rec(struct vbt_op *op, struct vbt_node *n, uint64_t s, uint64_t *len)
{
	struct va_btree *t = op->t;
	op_lock(op, n);
	if (n->level == 0) {
		uint32_t pos = vbt_rank(n, n->count, s);
		MM_ASSERT(pos > 0 && n->leaf.start[pos - 1] == s,
			  "va_btree: range not in the tree");
		*len = n->leaf.end[pos - 1] - s;
		close_at(n, pos - 1);
		return n->count < t->leaf_min;
	}
	uint32_t i = vbt_route(n, n->count, s);
	struct vbt_node *c = n->in.child[i];
	if (del_rec(op, c, s, len))
		rebalance(op, n, i);
	else if (*len >= n->in.gap[i])
		VBT_ST(n->in.gap[i], lmax(c));
	return n->count < t->inner_min;
}

static void tree_del(struct vbt_op *op, uint64_t s)
{
	struct va_btree *t = op->t;
	uint32_t z = vbt_zone_of(t, s);
	struct vbt_node *root = op_root(op, z);
	uint64_t len;
	del_rec(op, root, s, &len);
	if (root->level && root->count == 1) {
		atomic_store_rel(&t->zone[z].root, root->in.child[0]);
		node_free(op, root);
	}
}

/* Sets the end of the range starting at s, returns its old length (a gap is
 * rescanned only if the range was the largest below it and shrank). */
static uint64_t upd_rec(struct vbt_op *op, struct vbt_node *n, uint64_t s, uint64_t e)
{
	op_lock(op, n);
	if (n->level == 0) {
		uint32_t pos = vbt_rank(n, n->count, s);
		MM_ASSERT(pos > 0 && n->leaf.start[pos - 1] == s,
			  "va_btree: range not in the tree");
		uint64_t old = n->leaf.end[pos - 1] - s;
		VBT_ST(n->leaf.end[pos - 1], e);
		return old;
	}
	uint32_t i = vbt_route(n, n->count, s);
	uint64_t old = upd_rec(op, n->in.child[i], s, e);
	if (e - s >= n->in.gap[i])
		VBT_ST(n->in.gap[i], e - s);
	else if (old >= n->in.gap[i])
		VBT_ST(n->in.gap[i], lmax(n->in.child[i]));
	return old;
}

/* ---- lookups ----------------------------------------------------------------- */

/* The range with the largest start <= x below n into *s, *e; false if none. */
static bool le_rec(struct vbt_op *op, struct vbt_node *n, uint64_t x, uint64_t *s, uint64_t *e)
{
	op_lock(op, n);
	if (n->level == 0) {
		uint32_t pos = vbt_rank(n, n->count, x);
		if (pos == 0)
			return false;
		*s = n->leaf.start[pos - 1];
		*e = n->leaf.end[pos - 1];
		return true;
	}
	for (int64_t k = vbt_route(n, n->count, x); k >= 0; k--)
		if (le_rec(op, n->in.child[k], x, s, e))
			return true;
	return false;
}

/* The range with the smallest start > x below n; false if none. */
static bool gt_rec(struct vbt_op *op, struct vbt_node *n, uint64_t x, uint64_t *s, uint64_t *e)
{
	op_lock(op, n);
	if (n->level == 0) {
		uint32_t pos = vbt_rank(n, n->count, x);
		if (pos == n->count)
			return false;
		*s = n->leaf.start[pos];
		*e = n->leaf.end[pos];
		return true;
	}
	for (uint32_t k = vbt_route(n, n->count, x); k < n->count; k++)
		if (gt_rec(op, n->in.child[k], x, s, e))
			return true;
	return false;
}

/* The free range with the largest start <= x: x's zone, then the zones before
 * (every node visited stays locked); false if none. */
static bool find_le(struct vbt_op *op, uint64_t x, uint64_t *s, uint64_t *e)
{
	for (uint32_t z = vbt_zone_of(op->t, x) + 1; z-- > 0;)
		if (le_rec(op, op_root(op, z), x, s, e))
			return true;
	return false;
}

/* The free range with the smallest start > x: x's zone, then the zones after. */
static bool find_gt(struct vbt_op *op, uint64_t x, uint64_t *s, uint64_t *e)
{
	for (uint32_t z = vbt_zone_of(op->t, x); z < op->t->nzones; z++)
		if (gt_rec(op, op_root(op, z), x, s, e))
			return true;
	return false;
}

/* Leftmost range of length >= need below n (O(height): the gaps are exact). */
static bool find_big(struct vbt_op *op, struct vbt_node *n, uint64_t need, uint64_t *s, uint64_t *e)
{
	op_lock(op, n);
	for (uint32_t k = 0; k < n->count; k++) {
		if (n->level == 0 && n->leaf.end[k] - n->leaf.start[k] >= need) {
			*s = n->leaf.start[k];
			*e = n->leaf.end[k];
			return true;
		}
		if (n->level && n->in.gap[k] >= need)
			return find_big(op, n->in.child[k], need, s, e);
	}
	return false;
}

/* Leftmost range holding size bytes aligned to align (visits only subtrees
 * with a range >= size). */
static bool find_exact(struct vbt_op *op, struct vbt_node *n, uint64_t size, uint64_t align,
		       uint64_t *s, uint64_t *e)
{
	op_lock(op, n);
	uint64_t a;
	for (uint32_t k = 0; k < n->count; k++) {
		if (n->level == 0 && vbt_fits(n->leaf.start[k], n->leaf.end[k], size, align, &a)) {
			*s = n->leaf.start[k];
			*e = n->leaf.end[k];
			return true;
		}
		uint32_t mark = op->nlocked;
		if (n->level && n->in.gap[k] >= size &&
		    find_exact(op, n->in.child[k], size, align, s, e))
			return true;
		op_release(op, mark);
	}
	return false;
}

/* ---- operations -------------------------------------------------------------- */

/* The reaches of the zones whose start lies in (lo, hi], after an edit whose
 * ranges, before and after, lie within [lo, hi] (only a range holding or
 * ending at a zone's start sets its reach, and ranges are disjoint). One pass:
 * the last range before each zone is that of the nearest non-empty zone below. */
static void fix_reach(struct vbt_op *op, uint64_t lo, uint64_t hi)
{
	struct va_btree *t = op->t;
	uint32_t z0 = vbt_zone_of(t, lo), zl = vbt_zone_of(t, hi);
	uint64_t s, e, le = 0;
	if (z0 >= zl)
		return;
	bool have = find_le(op, vbt_zstart(t, z0 + 1) - 1, &s, &le);
	for (uint32_t z = z0 + 1; z <= zl; z++) {
		if (z > z0 + 1 && le_rec(op, op_root(op, z - 1), UINT64_MAX, &s, &e)) {
			le = e;
			have = true;
		}
		atomic_store_rel(&t->zone[z].reach, have && le >= vbt_zstart(t, z) ? le : 0);
	}
}

/* Takes [x, y) out of the free range [s, e) that contains it. */
static void carve(struct vbt_op *op, uint64_t s, uint64_t e, uint64_t x, uint64_t y)
{
	if (op->t->bins) { /* [s, e)'s leaf is locked (the search that found it) */
		const uint64_t o[1][2] = {{s, e}};
		struct vbt_edit ed = vbt_carve_edit(0, s, e, x, y - x); /* what is left */
		vbt_best_index(op->t, o, 1, (const uint64_t(*)[2])ed.r, ed.k);
	}
	if (x > s)
		upd_rec(op, op_root(op, vbt_zone_of(op->t, s)), s, x);
	else
		tree_del(op, s);
	if (y < e)
		tree_ins(op, y, e);
	fix_reach(op, s, e);
}

/* The first fit from zone z0's start: the free range from an earlier zone
 * holding that start, if >= need (its reach says whether there is one), else
 * the leftmost range >= need of zone z0's tree, then of the zones after it,
 * then from zone 0 (the fast path's order, va_btree.c); false if none. */
static bool find_from(struct vbt_op *op, uint32_t z0, uint64_t need, uint64_t *s, uint64_t *e)
{
	struct va_btree *t = op->t;
	uint64_t h = vbt_zstart(t, z0);
	if (z0 && atomic_load_acq(&t->zone[z0].reach) > h && find_le(op, h, s, e) && *e > h &&
	    *e - *s >= need)
		return true;
	for (uint32_t i = 0; i < t->nzones; i++)
		if (find_big(op, op_root(op, (z0 + i) % t->nzones), need, s, e))
			return true;
	return false;
}

int vbt_slow_alloc(struct vbt_op *op, uint64_t size, uint64_t align, uint64_t need, uint32_t z0,
		   uint64_t *addr)
{
	struct va_btree *t = op->t;
	uint64_t s = 0, e = 0, a = 0, h = z0 ? vbt_zstart(t, z0) : 0;
	bool found = find_from(op, z0, need, &s, &e);
	for (uint32_t z = 0; !found && z < t->nzones; z++)
		found = find_exact(op, op_root(op, z), size, align, &s, &e);
	if (!found)
		return MM_ENOMEM;
	bool ok = (h > s && vbt_fits(h, e, size, align, &a)) || vbt_fits(s, e, size, align, &a);
	MM_ASSERT(ok, "va_btree: chosen range does not fit");
	carve(op, s, e, a, a + size);
	*addr = a;
	return MM_OK;
}

int vbt_slow_carve(struct vbt_op *op, uint64_t s, uint64_t a, uint64_t size)
{
	uint64_t x = 0, e = 0;
	if (!find_le(op, a, &x, &e) || x != s || a < s || a > e || e - a < size)
		return VBT_RESTART;
	carve(op, s, e, a, a + size);
	return MM_OK;
}

void vbt_slow_free(struct vbt_op *op, uint64_t a, uint64_t b)
{
	uint64_t ps = 0, pe = 0, ss = 0, se = 0;
	bool hp = find_le(op, a, &ps, &pe), hs = find_gt(op, a, &ss, &se);
	if ((hp && pe > a) || (hs && ss < b))
		mm_panic("va_btree: double free, or free of a range never allocated");
	bool mp = hp && pe == a, ms = hs && ss == b;
	if (op->t->bins) { /* both neighbours' leaves are locked (find_le, find_gt) */
		uint64_t o[2][2], k = 0;
		if (mp) {
			o[k][0] = ps;
			o[k++][1] = pe;
		}
		if (ms) {
			o[k][0] = ss;
			o[k++][1] = se;
		}
		const uint64_t n[1][2] = {{mp ? ps : a, ms ? se : b}};
		vbt_best_index(op->t, (const uint64_t(*)[2])o, (uint32_t)k, n, 1);
	}
	if (ms)
		tree_del(op, ss);
	if (mp)
		upd_rec(op, op_root(op, vbt_zone_of(op->t, ps)), ps, ms ? se : b);
	else
		tree_ins(op, a, ms ? se : b);
	fix_reach(op, mp ? ps : a, ms ? se : b);
}

int vbt_slow_reserve(struct vbt_op *op, uint64_t lo, uint64_t hi, uint64_t entries)
{
	uint64_t s = 0, e = 0;
	if (!find_le(op, lo, &s, &e) || e < hi)
		return MM_EBUSY;
	if (vbt_reserve_nodes(op->t, entries) != MM_OK)
		return MM_ENOMEM;
	carve(op, s, e, lo, hi);
	return MM_OK;
}
