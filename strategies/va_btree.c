/* va_btree.c: VIRT=btree, a B+-tree of free ranges keyed by start address, with
 * optimistic lock coupling (Leis, Haubenschild, Neumann 2019, "Optimistic Lock
 * Coupling: A Scalable and Efficient General-Purpose Synchronization Method").
 * Node layout and invariants in va_btree.h; structural changes in
 * va_btree_slow.c; the invariant walk in va_btree_check.c.
 *
 * Invariants (quiescent):
 *     free ranges disjoint, sorted, coalesced: end[i] < start[i+1]
 *     sum(end - start) + reserved_bytes == size
 *     nodes_total == 4 * frames >= vbt_nodes_needed(live + 1), live = allocations
 *     and reservations outstanding <= granted (units, see "allocation units")
 *
 * Allocation policy: with need = size + align - 4 KiB, any free range of
 * length >= need holds an aligned block, so the gap values are a safe filter:
 * descend to the leftmost range >= need (address-ordered first fit, O(log n)).
 * Per-CPU zones: CPU k (mod VBT_CPU_SLOTS) starts that first fit at its hint,
 * base + k * size / VBT_CPU_SLOTS: the leftmost range >= need on the hint's
 * path that ends above the hint, carved at the hint when it holds the hint;
 * a path without one moves the hint to the end of that subtree, and after
 * VBT_HINT_MISSES moves (or at the end) first fit starts at the base. CPU 0's
 * hint is the base, so one CPU sees plain first fit. Two CPUs allocating at
 * once then edit different leaves instead of racing for the leftmost fit.
 * Only if none exists (possible only when align > 4 KiB) a locked walk visits
 * the subtrees holding a range >= size and takes the leftmost exact aligned fit,
 * so alloc fails with MM_ENOMEM only when no aligned fit exists at all.
 *
 * Concurrency, exactly what is optimistic:
 *  - optimistic (no lock until the final CAS upgrade): the descent of every
 *    alloc and free, and the edit when it stays inside one leaf: alloc carving a
 *    range (0, 1 or 2 remainders), free extending/joining ranges of that leaf or
 *    inserting a new one, with the leaf staying within [cap/2, cap] entries and
 *    every new start inside the leaf's separator bounds. Only T..leaf is locked
 *    (T = highest node whose largest-free value changes).
 *  - locked (slow path, writers serialised, lock coupling top-down keeping every
 *    lock to the end): splits, merges and borrows; a free whose neighbour may
 *    be in the adjacent leaf; every reserve(); the exact aligned-fit walk; node
 *    reserve growth; after VBT_FAST_TRIES optimistic restarts.
 *  - Separator bounds of a leaf change only in operations that lock that leaf,
 *    so a fast writer whose leaf version is unchanged has valid bounds.
 *  - check() and exact stats() need a quiescent tree (no writers running).
 * free() never allocates: alloc and reserve grow the node reserve first
 * (MM_ENOMEM if the page_source is out of frames, with the tree unchanged).
 */
#include "va_btree.h"
#include "va_btree_units.h"

static size_t vbt_meta_size(uint64_t base, uint64_t size)
{
	return 0;
}

int va_btree_init_caps(void *st, uint64_t base, uint64_t size, const struct page_source *ps,
		       uint32_t leaf_cap, uint32_t inner_cap)
{
	struct va_btree *t = st;
	if (!size || ((base | size) & (PAGE_SIZE - 1)) || base + size < base || base + size == 0 ||
	    !ps || leaf_cap < VBT_MIN_CAP || leaf_cap > VBT_LEAF_CAP || inner_cap < VBT_MIN_CAP ||
	    inner_cap > VBT_INNER_CAP)
		return MM_EINVAL;
	mm_zero(t, sizeof(*t));
	t->base = base;
	t->size = size;
	t->ps = *ps;
	t->leaf_cap = leaf_cap;
	t->inner_cap = inner_cap;
	t->leaf_min = leaf_cap / 2;
	t->inner_min = inner_cap / 2;
	return vbt_slow_init_root(t);
}

static int vbt_init(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
		    const struct page_source *ps)
{
	return va_btree_init_caps(st, base, size, ps, VBT_LEAF_CAP, VBT_INNER_CAP);
}

static void count_path(struct vbt_cpu *c, bool fast)
{
	if (MM_DEBUG)
		atomic_fetch_add_rlx(fast ? &c->fast : &c->slow, 1);
}

/* ---- optimistic fast path ---------------------------------------------------
 * Readers: read a node's version (waiting while it is locked, restarting if it
 * is obsolete), read the node with relaxed atomics, validate the version; a
 * child pointer is dereferenced only after its parent validated, and the parent
 * is validated again after the child's version is read. A fast writer plans a
 * leaf-local edit from such a read, finds the highest node T on the path whose
 * largest-free value stays the same (the gap values above T are unaffected),
 * then upgrades T..leaf top-down by CAS from the versions it read (any failure:
 * unlock and restart), edits, and unlocks. It never waits while holding a lock.
 * Edits that need a split or merge, move a start across the leaf's separator
 * bounds, or may coalesce with a neighbour leaf go to the slow path.
 */

#define VBT_NO_PRE UINT64_MAX /* no prefix maximum known */

struct vbt_step {
	struct vbt_node *n;
	uint64_t v;
	uint32_t idx;  /* child taken (inner nodes) */
	uint64_t cmax; /* gap[idx]: the child's largest range, as validated here */
	uint64_t pre;  /* max(gap[0..idx)) when the descent read it, else VBT_NO_PRE */
};

/* A root-to-leaf path read optimistically; [lo, hi) bounds the leaf's starts. */
struct vbt_path {
	uint32_t depth; /* s[depth] is the leaf */
	uint64_t lo, hi;
	uint64_t hint; /* alloc: first fit from the range holding or following it (0: none) */
	bool on_hint;  /* the leaf is the hint's own: ranges ending at or below it are skipped */
	struct vbt_step s[VBT_MAX_DEPTH];
};

/* Replaces leaf entries [from, to) with the k ranges r[0..k); pre is the
 * largest range in [0, from) as read by the planner, or VBT_NO_PRE. */
struct vbt_edit {
	uint32_t from, to, k;
	uint64_t r[2][2];
	uint64_t pre;
};

static bool read_lock(struct vbt_node *n, uint64_t *v)
{
	uint64_t x;
	while ((x = atomic_load_acq(&n->version)) & VBT_LOCKED)
		cpu_relax();
	*v = x;
	return !(x & VBT_OBSOLETE);
}

static bool validate(const struct vbt_node *n, uint64_t v)
{
	return atomic_load_acq(&n->version) == v;
}

static bool upgrade(struct vbt_node *n, uint64_t v)
{
	uint64_t x = v;
	return atomic_cas(&n->version, &x, v + VBT_LOCKED);
}

/* Unlocks a node this thread locked from version v: only the holder writes a
 * locked version word, so a plain release store suffices. */
static void unlock(struct vbt_node *n, uint64_t v)
{
	atomic_store_rel(&n->version, v + 2 * VBT_LOCKED);
}

/* The first child from `from` on with gap >= need (cnt if none); the largest gap
 * before it into *pre (VBT_NO_PRE when the scan did not start at 0). */
static uint32_t first_gap(const struct vbt_node *n, uint32_t from, uint32_t cnt, uint64_t need,
			  uint64_t *pre)
{
	uint32_t i = from;
	uint64_t m = 0, g;
	for (; i < cnt && (g = VBT_LD(n->in.gap[i])) < need; i++)
		m = g > m ? g : m;
	*pre = from ? VBT_NO_PRE : m;
	return i;
}

/* Optimistic descent to a leaf: by key x, or (need != 0) to the leftmost leaf
 * with a range >= need whose subtree ends above p->hint (p->on_hint stays true
 * while the path is the hint's own). MM_OK, VBT_RESTART, VBT_HINT_MISS (no such
 * range at or after the hint below the node reached; p->hi bounds it), or
 * MM_ENOMEM (validated: no range >= need at all). */
static int descend(struct va_btree *t, struct vbt_path *p, uint64_t x, uint64_t need)
{
	struct vbt_node *n = atomic_load_acq(&t->root);
	uint64_t v, cv;
	if (!read_lock(n, &v) || atomic_load_acq(&t->root) != n)
		return VBT_RESTART;
	p->lo = 0;
	p->hi = UINT64_MAX;
	p->on_hint = need && p->hint;
	for (uint32_t d = 0; d < VBT_MAX_DEPTH; d++) {
		p->s[d].n = n;
		p->s[d].v = v;
		p->depth = d;
		uint32_t lvl = VBT_LD(n->level);
		if (!lvl)
			return MM_OK;
		uint32_t cnt = vbt_clamp(VBT_LD(n->count), lvl);
		uint64_t pre = VBT_NO_PRE;
		uint32_t i0 = p->on_hint ? vbt_route(n, cnt, p->hint) : 0;
		uint32_t i = need ? first_gap(n, i0, cnt, need, &pre) : vbt_route(n, cnt, x);
		if (i >= cnt && p->on_hint)
			return validate(n, v) ? VBT_HINT_MISS : VBT_RESTART;
		if (i >= cnt)
			return need && d == 0 && validate(n, v) ? MM_ENOMEM : VBT_RESTART;
		p->on_hint = p->on_hint && i == i0;
		if (i > 0)
			p->lo = VBT_LD(n->in.key[i]);
		if (i + 1 < cnt)
			p->hi = VBT_LD(n->in.key[i + 1]);
		struct vbt_node *c = VBT_LD(n->in.child[i]);
		p->s[d].idx = i;
		p->s[d].pre = pre;
		p->s[d].cmax = VBT_LD(n->in.gap[i]);
		if (!validate(n, v) || !read_lock(c, &cv) || !validate(n, v))
			return VBT_RESTART;
		n = c;
		v = cv;
	}
	return VBT_RESTART;
}

static void leaf_edit(struct vbt_node *n, uint32_t cnt, const struct vbt_edit *ed)
{
	uint32_t dst = ed->from + ed->k;
	if (dst > ed->to) {
		for (uint32_t i = cnt; i-- > ed->to;) {
			VBT_ST(n->leaf.start[i + dst - ed->to], VBT_LD(n->leaf.start[i]));
			VBT_ST(n->leaf.end[i + dst - ed->to], VBT_LD(n->leaf.end[i]));
		}
	} else if (dst < ed->to) {
		for (uint32_t i = ed->to; i < cnt; i++) {
			VBT_ST(n->leaf.start[i - (ed->to - dst)], VBT_LD(n->leaf.start[i]));
			VBT_ST(n->leaf.end[i - (ed->to - dst)], VBT_LD(n->leaf.end[i]));
		}
	}
	for (uint32_t k = 0; k < ed->k; k++) {
		VBT_ST(n->leaf.start[ed->from + k], ed->r[k][0]);
		VBT_ST(n->leaf.end[ed->from + k], ed->r[k][1]);
	}
	VBT_ST(n->count, cnt - (ed->to - ed->from) + ed->k);
}

/* Largest value among entries [from, to) of a node (leaf: end - start; inner:
 * gap), two independent maxima so the loop is not one dependency chain. */
static uint64_t range_max(const struct vbt_node *n, uint32_t level, uint32_t from, uint32_t to)
{
	uint64_t m0 = 0, m1 = 0, g0, g1;
	uint32_t i = from;
	for (; i + 1 < to; i += 2) {
		g0 = level ? VBT_LD(n->in.gap[i]) : VBT_LD(n->leaf.end[i]) - VBT_LD(n->leaf.start[i]);
		g1 = level ? VBT_LD(n->in.gap[i + 1])
			   : VBT_LD(n->leaf.end[i + 1]) - VBT_LD(n->leaf.start[i + 1]);
		m0 = g0 > m0 ? g0 : m0;
		m1 = g1 > m1 ? g1 : m1;
	}
	if (i < to) {
		g0 = level ? VBT_LD(n->in.gap[i]) : VBT_LD(n->leaf.end[i]) - VBT_LD(n->leaf.start[i]);
		m0 = g0 > m0 ? g0 : m0;
	}
	return m0 > m1 ? m0 : m1;
}

/* A node's largest value after entries [from, to) change: omax before, ov and
 * nv the changed entries' largest old and new values, pre the largest of
 * [0, from) when the caller already knows it (else VBT_NO_PRE). The others are
 * scanned only when the old maximum was among the changed entries and shrank. */
static uint64_t new_max(uint64_t omax, uint64_t ov, uint64_t nv, const struct vbt_node *n,
			uint32_t level, uint32_t from, uint32_t to, uint32_t cnt, uint64_t pre)
{
	if (nv >= omax)
		return nv;
	if (ov < omax)
		return omax;
	pre = pre != VBT_NO_PRE ? pre : range_max(n, level, 0, from);
	return MM_MAX(MM_MAX(nv, pre), range_max(n, level, to, cnt));
}

/* The highest path level whose node the edit changes (its largest value stays),
 * with the new largest values of the levels below it in newmax[]. Inputs are
 * optimistic reads; the CAS upgrade of those levels confirms them. */
static uint32_t plan_top(const struct vbt_path *p, const struct vbt_edit *ed, uint32_t cnt,
			 uint64_t *newmax)
{
	const struct vbt_node *leaf = p->s[p->depth].n;
	uint32_t top = p->depth;
	if (top == 0)
		return 0;
	uint64_t ov = 0, nv = 0;
	for (uint32_t k = 0; k < ed->k; k++)
		nv = MM_MAX(nv, ed->r[k][1] - ed->r[k][0]);
	for (uint32_t i = ed->from; i < ed->to; i++) {
		uint64_t g = VBT_LD(leaf->leaf.end[i]) - VBT_LD(leaf->leaf.start[i]);
		ov = g > ov ? g : ov;
	}
	newmax[top] = new_max(p->s[top - 1].cmax, ov, nv, leaf, 0, ed->from, ed->to, cnt, ed->pre);
	while (top > 0 && newmax[top] != p->s[top - 1].cmax) { /* parent's gap changes */
		uint32_t d = top - 1;
		if (d == 0)
			return 0;
		const struct vbt_node *pn = p->s[d].n;
		uint32_t pc = vbt_clamp(VBT_LD(pn->count), 1), idx = p->s[d].idx;
		newmax[d] =
		    new_max(p->s[d - 1].cmax, p->s[d].cmax, newmax[top], pn, 1, idx, idx + 1, pc,
			    p->s[d].pre);
		top = d;
	}
	return top;
}

/* Applies ed to the path's leaf under the locks of T..leaf; MM_OK, VBT_RESTART, VBT_SLOW. */
static int apply(struct va_btree *t, struct vbt_path *p, const struct vbt_edit *ed)
{
	struct vbt_node *leaf = p->s[p->depth].n;
	uint32_t cnt = vbt_clamp(VBT_LD(leaf->count), 0);
	if (ed->from > ed->to || ed->to > cnt)
		return VBT_RESTART;
	uint32_t ncnt = cnt - (ed->to - ed->from) + ed->k;
	if (ncnt > t->leaf_cap || (p->depth && ncnt < t->leaf_min))
		return VBT_SLOW;
	for (uint32_t k = 0; k < ed->k; k++)
		if (ed->r[k][0] < p->lo || ed->r[k][0] >= p->hi)
			return VBT_SLOW;
	uint64_t newmax[VBT_MAX_DEPTH];
	uint32_t top = plan_top(p, ed, cnt, newmax);
	for (uint32_t d = top; d <= p->depth; d++) {
		if (!upgrade(p->s[d].n, p->s[d].v)) {
			for (uint32_t u = top; u < d; u++)
				unlock(p->s[u].n, p->s[u].v);
			return VBT_RESTART;
		}
	}
	leaf_edit(leaf, cnt, ed);
	for (uint32_t d = p->depth; d-- > top;)
		VBT_ST(p->s[d].n->in.gap[p->s[d].idx], newmax[d + 1]);
	for (uint32_t d = top; d <= p->depth; d++)
		unlock(p->s[d].n, p->s[d].v);
	return MM_OK;
}

/* The edit replacing entry j = [s, e) by what is left around [a, a + size). */
static struct vbt_edit carve_edit(uint32_t j, uint64_t pre, uint64_t s, uint64_t e, uint64_t a,
				  uint64_t size)
{
	struct vbt_edit ed = {.from = j, .to = j + 1, .pre = pre};
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

/* No fit at or after p's hint below the node reached: the next hint is the end
 * of its subtree (0 past the last one: first fit from the start). */
static int hint_miss(const struct vbt_path *p, uint64_t *hint)
{
	*hint = p->hi == UINT64_MAX ? 0 : p->hi;
	return VBT_HINT_MISS;
}

/* Optimistic alloc: the leftmost range >= need ending above *hint (0: any),
 * carved at the hint when it holds the hint;
 * MM_OK, MM_ENOMEM (none >= need), VBT_RESTART, VBT_SLOW, or VBT_HINT_MISS with
 * the next hint to try in *hint (0 when none is left: then first fit from the start). */
static int fast_alloc(struct va_btree *t, uint64_t size, uint64_t align, uint64_t need,
		      uint64_t *hint, uint64_t *addr)
{
	struct vbt_path p;
	p.hint = *hint;
	int rc = descend(t, &p, 0, need);
	if (rc != MM_OK)
		return rc == VBT_HINT_MISS ? hint_miss(&p, hint) : rc;
	struct vbt_node *leaf = p.s[p.depth].n;
	uint32_t cnt = vbt_clamp(VBT_LD(leaf->count), 0), j;
	uint64_t s = 0, e = 0, a = 0, pre = 0, h = p.on_hint ? p.hint : 0;
	for (j = 0; j < cnt; j++) {
		s = VBT_LD(leaf->leaf.start[j]);
		e = VBT_LD(leaf->leaf.end[j]);
		if (e > s && e - s >= need && (!h || e > h))
			break;
		pre = e - s > pre ? e - s : pre;
	}
	if (j == cnt && p.on_hint)
		return validate(leaf, p.s[p.depth].v) ? hint_miss(&p, hint) : VBT_RESTART;
	if (j == cnt)
		return p.depth == 0 && validate(leaf, p.s[0].v) ? MM_ENOMEM : VBT_RESTART;
	/* In a range holding the hint, carve at the hint (the CPU's zone) if it fits. */
	if (!(h > s && vbt_fits(h, e, size, align, &a) && a + size < p.hi) &&
	    !vbt_fits(s, e, size, align, &a))
		return VBT_RESTART;
	struct vbt_edit ed = carve_edit(j, pre, s, e, a, size);
	rc = apply(t, &p, &ed);
	if (rc == MM_OK)
		*addr = a;
	return rc;
}

/* Optimistic free of [a, b) coalescing within one leaf; MM_OK, VBT_RESTART, VBT_SLOW. */
static int fast_free(struct va_btree *t, uint64_t a, uint64_t b)
{
	struct vbt_path p; /* need == 0: descend() reads no hint field */
	if (descend(t, &p, a, 0) != MM_OK)
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
	struct vbt_edit ed = {.from = mp ? j - 1 : j, .to = ms ? j + 1 : j, .k = 1, .pre = VBT_NO_PRE};
	ed.r[0][0] = mp ? ps : a;
	ed.r[0][1] = ms ? se : b;
	return apply(t, &p, &ed);
}

/* Where cpu's first fit starts: its slot's 1/VBT_CPU_SLOTS share of the range
 * (CPU 0: the base, plain address-ordered first fit), so CPUs allocating at once
 * work in different leaves and subtrees instead of all at the leftmost fit. */
static uint64_t cpu_hint(const struct va_btree *t, unsigned cpu)
{
	uint64_t zone = MM_ALIGN_DOWN(t->size / VBT_CPU_SLOTS, PAGE_SIZE);
	return (cpu % VBT_CPU_SLOTS) ? t->base + zone * (cpu % VBT_CPU_SLOTS) : 0;
}

/* Locked alloc; without a unit (have_unit false) it is granted one first. On
 * success the bytes are accounted in cpu's slot (with the unit's credit if it had one). */
static int alloc_slow(struct va_btree *t, unsigned cpu, bool have_unit, uint64_t size,
		      uint64_t align, uint64_t need, uint64_t hint, uint64_t *addr)
{
	struct vbt_cpu *c = slot(t, cpu);
	struct vbt_op op;
	vbt_slow_begin(t, &op);
	int rc = have_unit ? MM_OK : slow_unit(&op);
	if (rc == MM_OK) {
		rc = vbt_slow_alloc(&op, size, align, need, hint, addr);
		if (rc == MM_OK && !have_unit)
			atomic_fetch_add_rlx(&c->word, size);
		else if (rc != MM_OK && !have_unit)
			atomic_fetch_add_acqrel(&t->granted, (uint64_t)-1);
	}
	vbt_slow_end(&op);
	return rc;
}

static int vbt_alloc(void *st, unsigned cpu, uint64_t size, uint64_t align, uint64_t *addr)
{
	struct va_btree *t = st;
	align = align ? align : PAGE_SIZE;
	if (!size || !MM_IS_POW2(align))
		return MM_EINVAL;
	if (size > t->size)
		return MM_ENOMEM;
	align = MM_MAX(align, PAGE_SIZE);
	size = MM_ALIGN_UP(size, PAGE_SIZE);
	uint64_t need =
	    align - PAGE_SIZE > UINT64_MAX - size ? UINT64_MAX : size + align - PAGE_SIZE;
	struct vbt_cpu *c = slot(t, cpu);
	bool unit = slot_take(c, size) || (slot_refill(t, c) && slot_take(c, size));
	int rc = VBT_SLOW;
	uint64_t hint = cpu_hint(t, cpu);
	for (int i = 0, misses = 0; unit && i < VBT_FAST_TRIES;) {
		rc = fast_alloc(t, size, align, need, &hint, addr);
		if (rc == VBT_HINT_MISS && ++misses >= VBT_HINT_MISSES)
			hint = 0; /* give up on the zone: first fit from the start */
		else if (rc != VBT_RESTART && rc != VBT_HINT_MISS)
			break;
		i += rc == VBT_RESTART;
	}
	if (rc == MM_ENOMEM && need > size)
		rc = VBT_SLOW; /* an exact aligned fit may still exist */
	bool fast = rc == MM_OK;
	if (rc == VBT_SLOW || rc == VBT_RESTART)
		rc = alloc_slow(t, cpu, unit, size, align, need, hint, addr);
	if (rc == MM_OK)
		count_path(c, fast);
	else if (unit)
		slot_put(t, c, size);
	return rc;
}

static void vbt_free(void *st, unsigned cpu, uint64_t addr, uint64_t size)
{
	struct va_btree *t = st;
	uint64_t a, b;
	if (!size || !vbt_span(t, addr, size, &a, &b))
		mm_panic("va_btree: free outside the managed range (never allocated)");
	int rc = VBT_RESTART;
	for (int i = 0; i < VBT_FAST_TRIES && rc == VBT_RESTART; i++)
		rc = fast_free(t, a, b);
	if (rc != MM_OK) {
		struct vbt_op op;
		vbt_slow_begin(t, &op);
		vbt_slow_free(&op, a, b);
		vbt_slow_end(&op);
	}
	struct vbt_cpu *c = slot(t, cpu);
	count_path(c, rc == MM_OK);
	slot_put(t, c, b - a);
}

static int vbt_reserve(void *st, uint64_t addr, uint64_t size)
{
	struct va_btree *t = st;
	uint64_t lo, hi;
	if (!vbt_span(t, addr, size, &lo, &hi))
		return MM_EINVAL;
	struct vbt_op op;
	vbt_slow_begin(t, &op);
	uint64_t g = atomic_fetch_add_acqrel(&t->granted, 1) + 1; /* this reservation's unit */
	int rc = vbt_slow_reserve(&op, lo, hi, g + 1);
	if (rc == MM_ENOMEM) {
		reclaim_credits(t);
		rc = vbt_slow_reserve(&op, lo, hi, atomic_load_acq(&t->granted) + 1);
	}
	if (rc == MM_OK)
		atomic_fetch_add_rlx(&t->cpu[0].word, hi - lo);
	else
		atomic_fetch_add_acqrel(&t->granted, (uint64_t)-1);
	vbt_slow_end(&op);
	return rc;
}

/* Optimistic read of the free range with the largest start <= x (in x's leaf,
 * or the last one of an earlier leaf); restarts until a read validates. */
bool va_btree_pred(struct va_btree *t, uint64_t x, uint64_t *s, uint64_t *e)
{
	for (;;) {
		struct vbt_path p;
		if (descend(t, &p, x, 0) != MM_OK)
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

const struct va_ops va_btree_bare_ops = {
    .name = "btree-bare",
    .state_size = sizeof(struct va_btree),
    .meta_size = vbt_meta_size,
    .init = vbt_init,
    .alloc = vbt_alloc,
    .free = vbt_free,
    .reserve = vbt_reserve,
    .check = vbt_check,
    .stats = vbt_stats,
};
