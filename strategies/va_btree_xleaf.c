/* va_btree_xleaf.c: edits of the B+-tree VA allocator that span two adjacent
 * leaves, and the optimistic aligned-fit walk, with optimistic lock coupling
 * (no tree-wide lock). Above va_btree_fast.c (its descents) and va_btree_edit.c
 * (its leaf moves).
 *
 * Two-leaf edit: a free whose neighbour is the last range of the leaf before
 * or the first of the leaf after, or a carve whose right remainder starts at or
 * past its leaf's upper bound (it becomes the next leaf's first range). Both
 * leaves X (left) and Y (right) are reached by optimistic descents (Y by X's
 * upper bound, X by Y's lower bound - 1); they are adjacent iff X's hi == Y's
 * lo, which their versions confirm, since a leaf's separator bounds change only
 * while that leaf is locked. No separator changes here: a new start always
 * falls within its leaf's bounds. From the versions read, the edit plans the
 * new largest range of each node on both paths and try-locks exactly: the two
 * leaves and every inner node whose gap value it writes (up each branch while
 * the subtree's largest range changes, the common ancestor, and above it while
 * its largest changes). Any failed try-lock unlocks and restarts; it never
 * waits holding a lock. An edit that would overfill or underfill a leaf
 * reports VBT_FULL or VBT_LOW with a key in that leaf (va_btree.c changes the
 * structure first, va_btree_smo.c, and retries). The two leaves are always in
 * one zone's tree: an edit whose other leaf is in the next or the previous
 * zone's, or whose range would end at or past the next zone's start (its reach
 * changes), reports VBT_SERIAL; the one exception is a free at the start of a
 * zone that the range before it does not touch (the zone's reach says so).
 *
 * Aligned fit: a depth-first optimistic walk of the subtrees whose gap value
 * is >= size, zone by zone, each node validated after its entries are read;
 * the range found is carved by the caller (fast or two-leaf carve, which
 * re-validate it).
 */
#include "va_btree_edit.h"

struct vbt_wr {
	struct vbt_node *n;
	uint64_t v;
	uint32_t idx;
	uint64_t val;
};

/* The plan of a two-leaf edit: gap writes and the nodes to lock. */
struct vbt_plan {
	uint32_t nw, nl;
	struct vbt_wr w[2 * VBT_MAX_DEPTH + 4];
	struct vbt_node *ln[2 * VBT_MAX_DEPTH + 4];
	uint64_t lv[2 * VBT_MAX_DEPTH + 4];
};

static void plan_lock(struct vbt_plan *pl, struct vbt_node *n, uint64_t v)
{
	for (uint32_t i = 0; i < pl->nl; i++)
		if (pl->ln[i] == n)
			return;
	pl->ln[pl->nl] = n;
	pl->lv[pl->nl++] = v;
}

static void plan_write(struct vbt_plan *pl, const struct vbt_step *st, uint64_t val)
{
	pl->w[pl->nw++] = (struct vbt_wr){st->n, st->v, st->idx, val};
	plan_lock(pl, st->n, st->v);
}

/* Largest gap of inner n with gap[i] read as vi and gap[j] as vj (j may be i). */
static uint64_t gap_max_with(const struct vbt_node *n, uint32_t i, uint64_t vi, uint32_t j,
			     uint64_t vj)
{
	uint32_t cnt = vbt_clamp(VBT_LD(n->count), 1);
	uint64_t m = MM_MAX(vi, vj);
	for (uint32_t k = 0; k < cnt; k++) {
		uint64_t g = VBT_LD(n->in.gap[k]);
		m = k != i && k != j && g > m ? g : m;
	}
	return m;
}

/* Largest range of leaf n (cnt entries) after ed. */
static uint64_t leaf_max_after(const struct vbt_node *n, uint32_t cnt, const struct vbt_edit *ed)
{
	uint64_t a = vbt_leaf_max(n, 0, ed->from), b = vbt_leaf_max(n, ed->to, cnt),
		 m = MM_MAX(a, b);
	for (uint32_t k = 0; k < ed->k; k++)
		m = MM_MAX(m, ed->r[k][1] - ed->r[k][0]);
	return m;
}

/* Gap writes up one branch, from its leaf (new largest nm) while the largest
 * changes, up to the node at depth c (the first depth where the two paths
 * differ); the new largest of that node into *out. False if the change stops
 * below it (the common ancestor's gap for this branch stays). */
static bool plan_branch(struct vbt_plan *pl, const struct vbt_path *p, uint32_t c, uint64_t nm,
			uint64_t *out)
{
	for (uint32_t d = p->depth; d > c; d--) {
		const struct vbt_step *st = &p->s[d - 1];
		if (nm == st->cmax)
			return false;
		plan_write(pl, st, nm);
		nm = gap_max_with(st->n, st->idx, nm, st->idx, nm);
	}
	*out = nm;
	return true;
}

/* Checks ed against leaf p (cnt entries): VBT_FULL, VBT_LOW (key into *key),
 * VBT_RESTART (a start outside its bounds, or entries out of range), or MM_OK. */
static int check_edit(const struct va_btree *t, const struct vbt_path *p, uint32_t cnt,
		      const struct vbt_edit *ed, uint64_t *key)
{
	if (ed->from > ed->to || ed->to > cnt)
		return VBT_RESTART;
	uint32_t ncnt = cnt - (ed->to - ed->from) + ed->k;
	*key = p->lo;
	if (ncnt > t->leaf_cap)
		return VBT_FULL;
	if (ncnt < t->leaf_min)
		return VBT_LOW;
	for (uint32_t k = 0; k < ed->k; k++)
		if (ed->r[k][0] < p->lo || ed->r[k][0] >= p->hi)
			return VBT_RESTART;
	return MM_OK;
}

/* Plans the gap writes of edits ex on X (path px) and ey on Y (path py) into pl;
 * false to restart (the paths do not share their top as read). */
static bool plan2(struct vbt_plan *pl, const struct vbt_path *px, uint32_t cx,
		  const struct vbt_edit *ex, const struct vbt_path *py, uint32_t cy,
		  const struct vbt_edit *ey)
{
	uint32_t D = px->depth, c = 0;
	if (py->depth != D || D == 0)
		return false;
	while (c <= D && px->s[c].n == py->s[c].n)
		c++; /* shared nodes: px's reads count (validated if locked) */
	if (c == 0 || c > D)
		return false; /* different roots, or the same leaf */
	uint64_t mx = leaf_max_after(px->s[D].n, cx, ex), my = leaf_max_after(py->s[D].n, cy, ey);
	bool chx = plan_branch(pl, px, c, mx, &mx) && mx != px->s[c - 1].cmax;
	const struct vbt_step *lca = &px->s[c - 1];
	uint32_t ix = lca->idx, iy = py->s[c - 1].idx;
	uint64_t oy = VBT_LD(lca->n->in.gap[iy]); /* as of px's version, if it is locked */
	bool chy = plan_branch(pl, py, c, my, &my) && my != oy;
	if (!chx && !chy)
		return true;
	if (iy >= vbt_clamp(VBT_LD(lca->n->count), 1) || VBT_LD(lca->n->in.child[iy]) != py->s[c].n)
		return false;
	uint64_t gx = chx ? mx : lca->cmax, gy = chy ? my : oy;
	uint64_t nm = gap_max_with(lca->n, ix, gx, iy, gy);
	struct vbt_step ly = *lca;
	ly.idx = iy;
	if (chx)
		plan_write(pl, lca, gx);
	if (chy)
		plan_write(pl, &ly, gy);
	for (uint32_t d = c - 1; d > 0 && nm != px->s[d - 1].cmax; d--) {
		const struct vbt_step *st = &px->s[d - 1];
		plan_write(pl, st, nm);
		nm = gap_max_with(st->n, st->idx, nm, st->idx, nm);
	}
	return true;
}

/* Applies ex to X and ey to Y (adjacent leaves); MM_OK, VBT_RESTART, VBT_FULL,
 * VBT_LOW (*key in the leaf concerned). */
static int apply2(struct va_btree *t, struct vbt_path *px, const struct vbt_edit *ex,
		  struct vbt_path *py, const struct vbt_edit *ey, uint64_t *key)
{
	struct vbt_node *x = px->s[px->depth].n, *y = py->s[py->depth].n;
	uint32_t cx = vbt_clamp(VBT_LD(x->count), 0), cy = vbt_clamp(VBT_LD(y->count), 0);
	if (px->hi != py->lo)
		return VBT_RESTART;
	int rc = check_edit(t, px, cx, ex, key);
	if (rc == MM_OK)
		rc = check_edit(t, py, cy, ey, key);
	if (rc != MM_OK)
		return rc;
	struct vbt_plan pl;
	pl.nw = pl.nl = 0;
	if (!plan2(&pl, px, cx, ex, py, cy, ey))
		return VBT_RESTART;
	plan_lock(&pl, x, px->s[px->depth].v);
	plan_lock(&pl, y, py->s[py->depth].v);
	for (uint32_t i = 0; i < pl.nl; i++) {
		if (!vbt_upgrade(pl.ln[i], pl.lv[i])) {
			while (i-- > 0)
				vbt_unlock(pl.ln[i]);
			return VBT_RESTART;
		}
	}
	vbt_ix_leaf(t, x, ex);
	vbt_ix_leaf(t, y, ey);
	vbt_leaf_move(x, cx, ex);
	vbt_leaf_move(y, cy, ey);
	for (uint32_t i = 0; i < pl.nw; i++)
		VBT_ST(pl.w[i].n->in.gap[pl.w[i].idx], pl.w[i].val);
	for (uint32_t i = 0; i < pl.nl; i++)
		vbt_unlock(pl.ln[i]);
	atomic_fetch_add_rlx(&t->xleaf, 1);
	return MM_OK;
}

/* The leaf of p: count and range j into *cnt, *s, *e (j < count, else 0, 0). */
static struct vbt_node *leaf_of(const struct vbt_path *p, uint32_t j, uint32_t *cnt, uint64_t *s,
				uint64_t *e)
{
	struct vbt_node *n = p->s[p->depth].n;
	*cnt = vbt_clamp(VBT_LD(n->count), 0);
	*s = j < *cnt ? VBT_LD(n->leaf.start[j]) : 0;
	*e = j < *cnt ? VBT_LD(n->leaf.end[j]) : 0;
	return n;
}

/* Both leaves as read (validated after all reads: one consistent moment). */
static bool validate2(const struct vbt_path *p, const struct vbt_path *q)
{
	return vbt_validate(p->s[p->depth].n, p->s[p->depth].v) &&
	       vbt_validate(q->s[q->depth].n, q->s[q->depth].v);
}

static void double_free(void)
{
	mm_panic("va_btree: double free, or free of a range never allocated");
}

/* Free of [a, b) at the end of leaf pl (entry j == cnt) next to the leaf after. */
static int free_before_next(struct va_btree *t, struct vbt_path *pl, uint32_t j, uint64_t a,
			    uint64_t b, uint64_t *key)
{
	struct vbt_path pn;
	uint64_t ps, pe, ss, se;
	uint32_t cnt, cy;
	if (vbt_descend_key(t, &pn, pl->hi) != MM_OK)
		return VBT_RESTART;
	leaf_of(pl, j - 1, &cnt, &ps, &pe);
	leaf_of(&pn, 0, &cy, &ss, &se);
	if (!validate2(pl, &pn) || cnt != j || cy == 0)
		return VBT_RESTART;
	if ((j > 0 && pe > a) || ss < b)
		double_free();
	bool mp = j > 0 && pe == a, ms = ss == b;
	struct vbt_edit ex = {.from = mp ? j - 1 : j, .to = j, .k = 1};
	struct vbt_edit ey = {.from = 0, .to = ms ? 1 : 0};
	ex.r[0][0] = mp ? ps : a;
	ex.r[0][1] = ms ? se : b;
	return apply2(t, pl, &ex, &pn, &ey, key);
}

/* Free of [a, b) at the start of leaf pl (entry j == 0) next to the leaf before. */
static int free_after_prev(struct va_btree *t, struct vbt_path *pl, uint64_t a, uint64_t b,
			   uint64_t *key)
{
	struct vbt_path pp;
	uint64_t ps, pe, ss, se, x, y;
	uint32_t cnt, cx;
	if (vbt_descend_key(t, &pp, pl->lo - 1) != MM_OK)
		return VBT_RESTART;
	struct vbt_node *xl = leaf_of(&pp, 0, &cx, &x, &y);
	ps = cx ? VBT_LD(xl->leaf.start[cx - 1]) : 0;
	pe = cx ? VBT_LD(xl->leaf.end[cx - 1]) : 0;
	leaf_of(pl, 0, &cnt, &ss, &se);
	if (!validate2(&pp, pl) || cx == 0)
		return VBT_RESTART;
	if (pe > a || (cnt > 0 && ss < b))
		double_free();
	bool mp = pe == a, ms = cnt > 0 && ss == b;
	struct vbt_edit ex = {.from = cx, .to = cx}, ey = {.from = 0, .to = ms ? 1 : 0, .k = 1};
	ey.r[0][0] = a;
	ey.r[0][1] = ms ? se : b;
	if (mp) { /* the range before grows to cover a (and its successor) */
		ex = (struct vbt_edit){.from = cx - 1, .to = cx, .k = 1};
		ex.r[0][0] = ps;
		ex.r[0][1] = ms ? se : b;
		ey.k = 0;
	}
	return apply2(t, &pp, &ex, pl, &ey, key);
}

/* Free of [a, b) at the start of its zone's first leaf (entry 0, zone z > 0):
 * the range before it, if any, starts in an earlier zone and touches this one
 * iff the zone's reach says so. Joining it is an edit of two trees
 * (VBT_SERIAL); else [a, b) goes into this leaf. The serialised path locks
 * this leaf whenever it raises the reach (its successor search passes here),
 * so the leaf's version confirms the reach as read. */
static int free_zone_first(struct va_btree *t, struct vbt_path *pl, uint64_t a, uint64_t b)
{
	uint64_t r = atomic_load_acq(&t->zone[pl->z].reach), ss, se;
	uint32_t cnt;
	leaf_of(pl, 0, &cnt, &ss, &se);
	if (!vbt_validate(pl->s[pl->depth].n, pl->s[pl->depth].v))
		return VBT_RESTART;
	if (r > a || (cnt > 0 && ss < b))
		double_free();
	if (r == a)
		return VBT_SERIAL;
	bool ms = cnt > 0 && ss == b;
	struct vbt_edit ed = {.from = 0, .to = ms, .k = 1};
	ed.r[0][0] = a;
	ed.r[0][1] = ms ? se : b;
	return vbt_apply(t, pl, &ed, VBT_NO_PRE);
}

int vbt_xleaf_free(struct va_btree *t, uint64_t a, uint64_t b, uint64_t *key)
{
	struct vbt_path pl;
	*key = a;
	if (vbt_descend_key(t, &pl, a) != MM_OK)
		return VBT_RESTART;
	struct vbt_node *n = pl.s[pl.depth].n;
	uint32_t cnt = vbt_clamp(VBT_LD(n->count), 0), j = vbt_rank(n, cnt, a);
	if (pl.zhi != UINT64_MAX && b >= pl.zhi)
		return VBT_SERIAL; /* an end at or past the next zone's start: its reach changes */
	if (j == cnt && pl.hi != UINT64_MAX && b >= pl.hi)
		return free_before_next(t, &pl, j, a, b, key);
	if (j == 0 && pl.lo != 0)
		return pl.lo == vbt_zlo(t, pl.z) ? free_zone_first(t, &pl, a, b)
						 : free_after_prev(t, &pl, a, b, key);
	return VBT_RESTART; /* one leaf holds it all now: the fast path's */
}

int vbt_xleaf_carve(struct va_btree *t, uint64_t s, uint64_t a, uint64_t size, uint64_t *key)
{
	struct vbt_path pl, pn;
	uint64_t x, e, ys, ye;
	uint32_t cnt, cy;
	*key = s;
	if (vbt_descend_key(t, &pl, s) != MM_OK)
		return VBT_RESTART;
	struct vbt_node *n = pl.s[pl.depth].n;
	uint32_t j = vbt_rank(n, vbt_clamp(VBT_LD(n->count), 0), s);
	leaf_of(&pl, j - 1, &cnt, &x, &e);
	if (j == 0 || x != s || a < s || a > e || e - a <= size || a + size < pl.hi ||
	    pl.hi == UINT64_MAX)
		return VBT_RESTART; /* gone, or no remainder past the leaf now */
	if (pl.hi == pl.zhi)
		return VBT_SERIAL; /* the remainder starts in the next zone: its tree */
	if (vbt_descend_key(t, &pn, pl.hi) != MM_OK)
		return VBT_RESTART;
	leaf_of(&pn, 0, &cy, &ys, &ye);
	if (!validate2(&pl, &pn))
		return VBT_RESTART;
	struct vbt_edit ex = {.from = j - 1, .to = j, .k = a > s},
			ey = {.from = 0, .to = 0, .k = 1};
	ex.r[0][0] = s;
	ex.r[0][1] = a;
	ey.r[0][0] = a + size;
	ey.r[0][1] = e;
	return apply2(t, &pl, &ex, &pn, &ey, key);
}

/* ---- aligned fit ------------------------------------------------------------- */

/* Leftmost range below n (read at version v) holding the aligned block: 1
 * found (*s, *a), 0 none, -1 restart (a version changed). */
static int exact_rec(struct vbt_node *n, uint64_t v, uint64_t size, uint64_t align, uint64_t *s,
		     uint64_t *a, uint32_t depth)
{
	uint32_t lvl = VBT_LD(n->level), cnt = vbt_clamp(VBT_LD(n->count), lvl);
	if (depth >= VBT_MAX_DEPTH)
		return -1;
	for (uint32_t k = 0; k < cnt; k++) {
		if (!lvl) {
			uint64_t x = VBT_LD(n->leaf.start[k]), e = VBT_LD(n->leaf.end[k]);
			if (!vbt_fits(x, e, size, align, a))
				continue;
			*s = x;
			return vbt_validate(n, v) ? 1 : -1;
		}
		if (VBT_LD(n->in.gap[k]) < size)
			continue;
		struct vbt_node *c = VBT_LD(n->in.child[k]);
		uint64_t cv;
		if (!vbt_validate(n, v) || !vbt_read_lock(c, &cv) || !vbt_validate(n, v))
			return -1;
		int r = exact_rec(c, cv, size, align, s, a, depth + 1);
		if (r)
			return r;
	}
	return vbt_validate(n, v) ? 0 : -1;
}

int vbt_exact_find(struct va_btree *t, uint64_t size, uint64_t align, uint64_t *s, uint64_t *a)
{
	for (uint32_t z = 0; z < t->nzones;) {
		struct vbt_node *r;
		uint64_t v;
		if (!vbt_read_root(t, z, &r, &v))
			continue;
		int rc = exact_rec(r, v, size, align, s, a, 0);
		if (rc > 0)
			return MM_OK;
		z += rc == 0;
	}
	return MM_ENOMEM;
}
