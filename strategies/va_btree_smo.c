/* va_btree_smo.c: structure changes of the B+-tree VA allocator (split, or a
 * shed to a sibling instead; borrow, merge, root growth and shrink) with
 * optimistic lock coupling, as in the OLC B+-tree of Leis et al. 2019: no
 * tree-wide lock.
 *
 * A structure change never changes the set of free ranges, only how nodes hold
 * them, so the largest range below the parent it edits stays the same and no
 * gap value above that parent changes. It descends optimistically by a key
 * (va_btree_fast.c), then try-locks from the versions it read exactly the nodes
 * it changes, top-down: split: parent + node (+ the new node); shed, borrow and
 * merge: parent + node + sibling; root growth: the old root (+ two new
 * nodes); root shrink: the old root and its last child (each zone's tree has
 * its own root, va_btree.h). A failed try-lock unlocks what it took and
 * restarts; it never waits while holding a lock (readers and writers
 * of the fast path restart on the versions these changes bump). A change whose
 * parent cannot take it (full for a split, at its minimum for a merge) first
 * changes the parent the same way, bottom-up by restarts, so every non-root
 * node stays within [min, cap] at every moment (the node reserve's bound).
 *
 * Invariants kept: separator bounds of a leaf change only while that leaf is
 * locked (a split narrows the split node, a borrow moves the separator between
 * the two locked siblings, a merge widens the locked left node; inner borrows
 * move a child with its bounds unchanged); gap[i] == largest range below child
 * i (recomputed here from the locked children); versions never repeat (nodes
 * come from and go back to the pool obsolete, va_btree_node.c).
 *
 * Counting (cpu slot): splits, merges, borrows (root growth and shrink also in
 * t->roots, sheds are borrows also in t->sheds); with MM_DEBUG, overlaps:
 * changes that found another change in progress (t->smo_active) once they held
 * their locks, i.e. two structure changes truly at the same time.
 */
#include "va_btree.h"

static void smo_enter(struct va_btree *t, struct vbt_cpu *c, uint64_t *field)
{
	atomic_fetch_add_rlx(field, 1);
	if (MM_DEBUG && atomic_fetch_add_acqrel(&t->smo_active, 1) > 0)
		atomic_fetch_add_rlx(&c->overlaps, 1);
}

static void smo_leave(struct va_btree *t)
{
	if (MM_DEBUG)
		atomic_fetch_add_acqrel(&t->smo_active, (uint64_t)-1);
}

static uint32_t cap_of(const struct va_btree *t, uint32_t level)
{
	return level ? t->inner_cap : t->leaf_cap;
}

static uint32_t min_of(const struct va_btree *t, uint32_t level)
{
	return level ? t->inner_min : t->leaf_min;
}

static uint32_t count_of(const struct vbt_node *n)
{
	return vbt_clamp(VBT_LD(n->count), VBT_LD(n->level));
}

/* Root growth: the root x (locked) of zone z's tree splits under a new root. */
static void grow_root(struct va_btree *t, struct vbt_cpu *c, uint32_t z, struct vbt_node *x)
{
	struct vbt_node **rootp = &t->zone[z].root;
	MM_ASSERT(atomic_load_rlx(rootp) == x, "va_btree: root changed under its lock");
	MM_ASSERT(x->level + 2 < VBT_MAX_DEPTH, "va_btree: tree too deep");
	smo_enter(t, c, &c->splits);
	atomic_fetch_add_rlx(&t->roots, 1);
	struct vbt_node *nr = vbt_pool_get(t, x->level + 1), *r = vbt_pool_get(t, x->level);
	uint64_t sep = vbt_split_into(x, r);
	vbt_set_inner(nr, 0, 0, x);
	vbt_set_inner(nr, 1, sep, r);
	VBT_ST(nr->count, 2);
	atomic_store_rel(rootp, nr);
	smo_leave(t);
	vbt_unlock(r);
	vbt_unlock(x);
	vbt_unlock(nr);
}

/* Splits the node at depth u of p (full; its parent, if any, has room). True
 * if done, false to restart (a version changed or the plan no longer holds). */
static bool split_at(struct va_btree *t, struct vbt_cpu *c, struct vbt_path *p, uint32_t u)
{
	struct vbt_node *x = p->s[u].n, *par = u ? p->s[u - 1].n : NULL;
	if (par && !vbt_upgrade(par, p->s[u - 1].v))
		return false;
	if (!vbt_upgrade(x, p->s[u].v)) {
		if (par)
			vbt_unlock(par);
		return false;
	}
	if (x->count < cap_of(t, x->level) || (par && par->count >= t->inner_cap)) {
		vbt_unlock(x); /* read from the versions held: cannot happen, but cheap */
		if (par)
			vbt_unlock(par);
		return false;
	}
	if (!par) {
		grow_root(t, c, p->z, x);
		return true;
	}
	smo_enter(t, c, &c->splits);
	uint32_t i = p->s[u - 1].idx;
	struct vbt_node *r = vbt_pool_get(t, x->level);
	uint64_t sep = vbt_split_into(x, r);
	vbt_open_at(par, i + 1);
	vbt_set_inner(par, i + 1, sep, r);
	VBT_ST(par->in.gap[i], vbt_lmax(x));
	smo_leave(t);
	vbt_unlock(r);
	vbt_unlock(x);
	vbt_unlock(par);
	return true;
}

/* Locks par, x and the sibling s (versions pv, xv, sv) or none; false if any changed. */
static bool lock3(struct vbt_node *par, uint64_t pv, struct vbt_node *x, uint64_t xv,
		  struct vbt_node *s, uint64_t sv)
{
	if (!vbt_upgrade(par, pv))
		return false;
	if (!vbt_upgrade(x, xv)) {
		vbt_unlock(par);
		return false;
	}
	if (!vbt_upgrade(s, sv)) {
		vbt_unlock(x);
		vbt_unlock(par);
		return false;
	}
	return true;
}

/* Moves entries between the locked children li, li + 1 of par (l, r; towards r
 * if to_right: half the difference of their counts), fixes both gaps and
 * unlocks all three; counted as a borrow. */
static void borrow_locked(struct va_btree *t, struct vbt_cpu *c, struct vbt_node *par, uint32_t li,
			  struct vbt_node *l, struct vbt_node *r, bool to_right)
{
	smo_enter(t, c, &c->borrows);
	vbt_borrow(par, li, l, r, to_right);
	VBT_ST(par->in.gap[li], vbt_lmax(l));
	VBT_ST(par->in.gap[li + 1], vbt_lmax(r));
	smo_leave(t);
	vbt_unlock(r);
	vbt_unlock(l);
	vbt_unlock(par);
}

/* A sibling of the node at depth d (d > 0) of p that is at most half full,
 * read-locked into *s, *sv, its index into *si; 1 if there is one (the left
 * tried first), -1 if neither is, 0 to restart. */
static int roomy_sibling(struct va_btree *t, struct vbt_path *p, uint32_t d, struct vbt_node **s,
			 uint64_t *sv, uint32_t *si)
{
	struct vbt_node *par = p->s[d - 1].n;
	uint64_t pv = p->s[d - 1].v;
	uint32_t i = p->s[d - 1].idx, pc = count_of(par), cap = cap_of(t, VBT_LD(p->s[d].n->level));
	for (uint32_t k = 0; k < 2; k++) {
		uint32_t j = k ? i + 1 : i - 1; /* i - 1 wraps past pc when i == 0 */
		if (j >= pc)
			continue;
		*s = VBT_LD(par->in.child[j]);
		if (!vbt_validate(par, pv) || !vbt_read_lock(*s, sv) || !vbt_validate(par, pv))
			return 0;
		if (count_of(*s) <= cap - cap / 2) {
			*si = j;
			return vbt_validate(*s, *sv) ? 1 : 0;
		}
	}
	return -1;
}

/* Instead of splitting the full node at depth d (d > 0) of p, sheds half the
 * difference of the counts to a sibling at most half full (a B*-tree's
 * overflow, kept to that case): entries inserted in address order (a layout
 * freed page by page) fill a leaf, split it, and go on into the right half,
 * so every split would leave a leaf at its minimum; the shed lifts the left
 * one to 3/4 first. Random edits rarely find a sibling that empty, so they
 * still split. 1: done; 0: restart; -1: no such sibling (split). */
static int shed_at(struct va_btree *t, struct vbt_cpu *c, struct vbt_path *p, uint32_t d)
{
	struct vbt_node *par = p->s[d - 1].n, *x = p->s[d].n, *s;
	uint64_t sv;
	uint32_t si, i = p->s[d - 1].idx;
	int rc = roomy_sibling(t, p, d, &s, &sv, &si);
	if (rc <= 0)
		return rc;
	if (!lock3(par, p->s[d - 1].v, x, p->s[d].v, s, sv))
		return 0;
	uint32_t li = si < i ? si : i;
	struct vbt_node *l = si < i ? s : x, *r = si < i ? x : s;
	atomic_fetch_add_rlx(&t->sheds, 1);
	borrow_locked(t, c, par, li, l, r, x == l);
	return 1;
}

void vbt_smo_split(struct va_btree *t, struct vbt_cpu *c, uint64_t key, uint32_t level)
{
	struct vbt_path p;
	for (;;) {
		if (vbt_descend_key(t, &p, key) != MM_OK)
			continue;
		if (level > p.depth)
			return; /* the tree shrank below that level meanwhile */
		uint32_t d = p.depth - level, u = d;
		if (count_of(p.s[d].n) < cap_of(t, level)) {
			if (vbt_validate(p.s[d].n, p.s[d].v))
				return;
			continue;
		}
		int rc = d > 0 ? shed_at(t, c, &p, d) : -1;
		if (rc > 0)
			return;
		if (rc == 0)
			continue;
		while (u > 0 && count_of(p.s[u - 1].n) >= t->inner_cap)
			u--; /* a full parent splits first */
		if (split_at(t, c, &p, u) && u == d)
			return;
	}
}

/* Merges r into l (children li, li + 1 of par; all three locked) and unlocks;
 * a root left with one child gives way to it (root shrink; rootp: the root of
 * par's tree when par is that root, else NULL). */
static void merge_locked(struct va_btree *t, struct vbt_cpu *c, struct vbt_node *par, uint32_t li,
			 struct vbt_node *l, struct vbt_node *r, struct vbt_node **rootp)
{
	smo_enter(t, c, &c->merges);
	vbt_merge_into(par, li, l, r);
	VBT_ST(par->in.gap[li], vbt_lmax(l));
	vbt_pool_put(t, r);
	if (rootp && par->count == 1) {
		atomic_fetch_add_rlx(&t->roots, 1);
		atomic_store_rel(rootp, l);
		vbt_pool_put(t, par);
	} else {
		vbt_unlock(par);
	}
	smo_leave(t);
	vbt_unlock(l);
}

/* Grows the node at depth d (d > 0) of p by a borrow or a merge with a sibling.
 * 1: done; 0: restart; -1: its parent is at its minimum and must grow first. */
static int grow_at(struct va_btree *t, struct vbt_cpu *c, struct vbt_path *p, uint32_t d)
{
	struct vbt_node *par = p->s[d - 1].n, *x = p->s[d].n, *s;
	uint64_t pv = p->s[d - 1].v, sv;
	uint32_t i = p->s[d - 1].idx, pc = count_of(par), si = i ? i - 1 : i + 1;
	if (si >= pc)
		return 0;
	s = VBT_LD(par->in.child[si]);
	if (!vbt_validate(par, pv) || !vbt_read_lock(s, &sv) || !vbt_validate(par, pv))
		return 0;
	uint32_t min = min_of(t, VBT_LD(x->level)), sc = count_of(s);
	bool merge = sc <= min;
	if (merge && d - 1 > 0 && pc <= t->inner_min)
		return -1;
	if (!lock3(par, pv, x, p->s[d].v, s, sv))
		return 0;
	uint32_t li = i ? i - 1 : i;
	struct vbt_node *l = i ? s : x, *r = i ? x : s;
	if (merge) {
		merge_locked(t, c, par, li, l, r, d - 1 == 0 ? &t->zone[p->z].root : NULL);
		return 1;
	}
	borrow_locked(t, c, par, li, l, r, s == l);
	return 1;
}

void vbt_smo_grow(struct va_btree *t, struct vbt_cpu *c, uint64_t key, uint32_t level)
{
	struct vbt_path p;
	uint32_t want = level; /* the level being grown now: level, or a parent first */
	for (;;) {
		if (vbt_descend_key(t, &p, key) != MM_OK)
			continue;
		if (want > p.depth || p.depth - want == 0) {
			if (want == level)
				return; /* it is the root (or above it): no minimum */
			want = level;
			continue;
		}
		uint32_t d = p.depth - want;
		if (count_of(p.s[d].n) > min_of(t, want)) {
			if (!vbt_validate(p.s[d].n, p.s[d].v))
				continue;
			if (want == level)
				return;
			want = level;
			continue;
		}
		int rc = grow_at(t, c, &p, d);
		if (rc < 0)
			want++;
		else if (rc > 0 && want == level)
			return;
		else if (rc > 0)
			want = level;
	}
}
