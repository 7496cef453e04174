/* va_btree_edit.c: leaf edits of the B+-tree VA allocator under optimistic lock
 * coupling (Leis et al. 2019), below va_btree_fast.c, va_btree_xleaf.c and best
 * fit's address-tree edits: given a root-to-leaf path read optimistically
 * (struct vbt_path), an edit of the leaf's entries plans the highest node T on
 * the path whose largest-free value stays the same, upgrades T..leaf top-down by
 * CAS from the versions read (any failure: unlock, VBT_RESTART), edits the
 * leaf, writes the changed gaps below T and unlocks. Invariant after each edit,
 * for every node n on the path below T and its parent's entry i:
 *     parent.gap[i] == max(end - start) over the ranges below n
 * and above T nothing changes (T's own largest value is the same). It never waits
 * while holding a lock. The inline half (the leaf-only edits) is in
 * va_btree_edit.h.
 */
#include "va_btree_edit.h"

#define upgrade vbt_upgrade

/* Replaces leaf entries [from, to) by ed's ranges, moving the tail once. The
 * end array lies VBT_LEAF_CAP words after the start array, so one pointer walks
 * both. */
void vbt_leaf_move(struct vbt_node *n, uint32_t cnt, const struct vbt_edit *ed)
{
	const uint32_t E = VBT_LEAF_CAP;
	uint64_t *st = n->leaf.start;
	uint32_t from = ed->from, to = ed->to, k = ed->k, dst = from + k;
	_Static_assert(__builtin_offsetof(struct vbt_node, leaf.end) ==
			   __builtin_offsetof(struct vbt_node, leaf.start) +
			       VBT_LEAF_CAP * sizeof(uint64_t),
		       "leaf.end follows leaf.start");
	if (dst > to)
		vbt_shift_up(st + to, st + cnt, dst - to);
	else if (dst < to)
		vbt_shift_down(st + to, st + cnt, to - dst);
	for (uint32_t j = 0; j < k; j++) {
		VBT_ST(st[from + j], ed->r[j][0]);
		VBT_ST(st[from + j + E], ed->r[j][1]);
	}
	VBT_ST(n->count, cnt - (to - from) + k);
}

/* vbt_leaf_move, with the common edit inline: one range for one (a carve leaving
 * one remainder, a free joining one neighbour) is two stores. */
static inline void leaf_edit(struct vbt_node *n, uint32_t cnt, const struct vbt_edit *ed)
{
	if (ed->k == 1 && ed->to == ed->from + 1) {
		VBT_ST(n->leaf.start[ed->from], ed->r[0][0]);
		VBT_ST(n->leaf.end[ed->from], ed->r[0][1]);
		return;
	}
	vbt_leaf_move(n, cnt, ed);
}

/* The new largest value of a node whose entries [from, to) change: omax
 * before, ov and nv the changed entries' largest old and new values, pre the
 * largest of [0, from) when the caller knows it (else VBT_NO_PRE). The others
 * are scanned only when the old maximum was among the changed entries and
 * shrank. (Scans stay outside MM_MAX, a macro that evaluates twice.) */
static uint64_t new_max(uint64_t omax, uint64_t ov, uint64_t nv, const struct vbt_node *n,
			uint32_t level, uint32_t from, uint32_t to, uint32_t cnt, uint64_t pre)
{
	if (nv >= omax)
		return nv;
	if (ov < omax)
		return omax;
	if (pre == VBT_NO_PRE)
		pre = level ? vbt_gap_max(n, 0, from) : vbt_leaf_max(n, 0, from);
	uint64_t post = level ? vbt_gap_max(n, to, cnt) : vbt_leaf_max(n, to, cnt);
	return MM_MAX(MM_MAX(nv, pre), post);
}

/* The highest path level T whose node the edit changes (its largest value
 * stays), given newmax[depth], the leaf's new largest range; the new largest
 * values of the levels below T go into newmax[]. Inputs are optimistic reads;
 * the CAS upgrade of T..leaf confirms them. */
static uint32_t plan_top(const struct vbt_path *p, uint64_t *newmax)
{
	uint32_t top = p->depth;
	while (newmax[top] != p->s[top - 1].cmax) { /* the parent's gap changes */
		uint32_t d = top - 1;
		if (d == 0)
			return 0;
		const struct vbt_node *pn = p->s[d].n;
		uint32_t pc = vbt_clamp(VBT_LD(pn->count), 1), idx = p->s[d].idx;
		newmax[d] = new_max(p->s[d - 1].cmax, p->s[d].cmax, newmax[top], pn, 1, idx,
				    idx + 1, pc, p->s[d].pre);
		top = d;
	}
	return top;
}

/* The top T of a leaf edit's lock set: the changed entries [from, to) of the
 * path's leaf (cnt entries) held ranges of at most ov and will hold at most nv;
 * pre is the largest before `from` when known (else VBT_NO_PRE). The new
 * largest values of the levels below T go into newmax[] (see plan_top). */
static inline uint32_t plan_leaf(const struct vbt_path *p, const struct vbt_node *leaf,
				 uint32_t cnt, uint32_t from, uint32_t to, uint64_t ov, uint64_t nv,
				 uint64_t pre, uint64_t *newmax)
{
	uint32_t depth = p->depth;
	if (!depth)
		return 0;
	uint64_t cmax = p->s[depth - 1].cmax;
	if (nv <= cmax && ov < cmax) /* the leaf's largest range stays */
		return depth;
	newmax[depth] = new_max(cmax, ov, nv, leaf, 0, from, to, cnt, pre);
	return plan_top(p, newmax);
}

/* Upgrades the path's nodes top..leaf from the versions read, top-down; false
 * (none left locked) if one changed. */
static inline bool lock_path(struct vbt_path *p, uint32_t top)
{
	if (top == p->depth) /* the common case: the leaf alone */
		return upgrade(p->s[top].n, p->s[top].v);
	for (uint32_t d = top; d <= p->depth; d++) {
		if (!upgrade(p->s[d].n, p->s[d].v)) {
			for (uint32_t u = top; u < d; u++)
				vbt_unlock_v(p->s[u].n, p->s[u].v);
			return false;
		}
	}
	return true;
}

/* After the leaf edit: writes the planned gaps of levels top..depth-1 and
 * unlocks top..leaf. */
static inline void unlock_path(struct vbt_path *p, uint32_t top, const uint64_t *newmax)
{
	uint32_t depth = p->depth;
	if (top == depth) {
		vbt_unlock_v(p->s[top].n, p->s[top].v);
		return;
	}
	for (uint32_t d = depth; d-- > top;)
		VBT_ST(p->s[d].n->in.gap[p->s[d].idx], newmax[d + 1]);
	for (uint32_t d = top; d <= depth; d++)
		vbt_unlock_v(p->s[d].n, p->s[d].v);
}

/* Applies ed to the path's leaf under the locks of T..leaf (see plan_top); pre
 * is the largest leaf range before ed->from when known (else VBT_NO_PRE).
 * MM_OK, VBT_RESTART, VBT_FULL (over the cap), VBT_LOW (under the minimum, not
 * a root leaf), VBT_SLOW (a start outside the leaf's bounds). An edit that
 * leaves the leaf's largest range as it was (T = leaf) locks the leaf alone. */
int vbt_apply(struct va_btree *t, struct vbt_path *p, const struct vbt_edit *ed, uint64_t pre)
{
	uint32_t depth = p->depth, k = ed->k, from = ed->from, to = ed->to;
	struct vbt_node *leaf = p->s[depth].n;
	uint32_t cnt = vbt_clamp(VBT_LD(leaf->count), 0);
	if (from > to || to > cnt)
		return VBT_RESTART;
	uint32_t ncnt = cnt - (to - from) + k;
	uint64_t nv = 0, ov = 0;
	if (ncnt > t->leaf_cap)
		return VBT_FULL;
	if (depth && ncnt < t->leaf_min)
		return VBT_LOW;
	for (uint32_t j = 0; j < k; j++) {
		if (ed->r[j][0] < p->lo || ed->r[j][0] >= p->hi)
			return VBT_SLOW;
		nv = MM_MAX(nv, ed->r[j][1] - ed->r[j][0]);
	}
	for (uint32_t i = from; i < to; i++) {
		uint64_t g = VBT_LD(leaf->leaf.end[i]) - VBT_LD(leaf->leaf.start[i]);
		ov = g > ov ? g : ov;
	}
	uint64_t newmax[VBT_MAX_DEPTH];
	uint32_t top = plan_leaf(p, leaf, cnt, from, to, ov, nv, pre, newmax);
	if (!lock_path(p, top))
		return VBT_RESTART;
	vbt_ix_leaf(t, leaf, ed);
	leaf_edit(leaf, cnt, ed);
	unlock_path(p, top, newmax);
	return MM_OK;
}

/* vbt_apply_one's edit where the leaf's largest range may change: locks T..leaf. */
int vbt_apply_one_up(struct va_btree *t, struct vbt_path *p, uint32_t cnt, uint32_t j, uint64_t ov,
		     uint64_t s, uint64_t e, uint64_t pre)
{
	struct vbt_node *leaf = p->s[p->depth].n;
	uint64_t newmax[VBT_MAX_DEPTH];
	uint32_t top = plan_leaf(p, leaf, cnt, j, j + 1, ov, e - s, pre, newmax);
	if (!lock_path(p, top))
		return VBT_RESTART;
	vbt_ix1(t, leaf, j, s, e);
	VBT_ST(leaf->leaf.start[j], s);
	VBT_ST(leaf->leaf.end[j], e);
	unlock_path(p, top, newmax);
	return MM_OK;
}

/* The edit replacing entry j = [s, e) by what is left around [a, a + size). */
struct vbt_edit vbt_carve_edit(uint32_t j, uint64_t s, uint64_t e, uint64_t a, uint64_t size)
{
	struct vbt_edit ed = {.from = j, .to = j + 1};
	if (a > s) {
		ed.r[ed.k][0] = s;
		ed.r[ed.k++][1] = a;
	}
	if (e - a > size) {
		ed.r[ed.k][0] = a + size;
		ed.r[ed.k++][1] = e;
	}
	return ed;
}
