/* va_btree.c: VIRT=btree, a B+-tree of free ranges keyed by start address, with
 * optimistic lock coupling (Leis, Haubenschild, Neumann 2019, "Optimistic Lock
 * Coupling: A Scalable and Efficient General-Purpose Synchronization Method").
 * Node layout and invariants in va_btree.h (file map there); this file is the
 * policy on top: ops table, CPU zones, which path an operation takes.
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
 * Per-CPU zones: the range is cut into VBT_CPU_SLOTS zones, and each zone has a
 * tree of its own holding the free ranges that start in it (va_btree.h), so
 * CPUs working in different zones share no node. CPU k (mod VBT_CPU_SLOTS)
 * takes the first fit from its zone's start h: the leftmost free range >= need
 * ending above h. That is the range holding h if it is >= need (it starts in an
 * earlier zone: zone k's reach says whether there is one; such an alloc takes
 * the serialised path), carved at h when the block fits there; else the
 * leftmost range >= need of zone k's tree, then of each zone's after it; then
 * first fit from the base (zones 0, 1, ...). CPU 0's zone starts at the base,
 * so one CPU sees plain address-ordered first fit, the same choices as one tree
 * would make. An edit that concerns two zones' trees (carving the range holding
 * h; a free joining a range of another zone; a carve leaving a remainder in the
 * next zone) or that moves a range end at or past a zone's start (a reach) goes
 * to the serialised path, and so does an alloc that saw no fit in any tree: if
 * none exists (possible only when align > 4 KiB) a locked walk takes the
 * leftmost exact aligned fit, so alloc fails with MM_ENOMEM only when no
 * aligned fit exists at all.
 * Best fit (btree-bare-best, t->best; va_btree_best.c): the shortest range >=
 * need, ties by a hash of the start, from a size index (bins of lengths, each a
 * small B+-tree over its ranges, each under its stripe's lock). The index is
 * kept by the range edits themselves, under the leaf locks they hold (2-4 keys
 * moved per pair), so a best-fit tree takes the same paths as a first-fit one
 * below: only the choice differs (alloc_best: the range the bins show, carved
 * by carve_at, found again if it changed meanwhile).
 *
 * Concurrency (no tree-wide lock on any common path, either policy):
 *  - optimistic, then try-lock of exactly the nodes written (va_btree_fast.c
 *    descends and plans, va_btree_edit.c locks and edits):
 *    the descent of every alloc and free, and edits inside one leaf (carving a
 *    range, extending/joining/inserting one), locking T..leaf (T = highest node
 *    whose largest-free value changes).
 *  - structure changes (va_btree_smo.c): a leaf edit that would overfill or
 *    underfill its leaf reports VBT_FULL / VBT_LOW; the leaf is split, or grows
 *    by a borrow or merge, locking parent + node (+ sibling), and the edit
 *    retries. Root growth and shrink lock the old root.
 *  - two-leaf edits (va_btree_xleaf.c): a free whose neighbour is in the
 *    adjacent leaf, a carve whose remainder belongs to the next leaf; lock the
 *    two leaves and the inner nodes whose gaps change.
 *  - reserve(): an optimistic predecessor read (MM_EBUSY), then the same carve.
 *  - the pool lock (t->pool, va_btree_node.c): one node push or pop per node a
 *    structure change takes or frees, and frame refills (a unit granted while
 *    the reserve must grow; counted by frames).
 *  - best fit's size index (va_btree_best.c): one stripe lock per bin read or
 *    bin edit, taken by a writer while it holds its leaf locks; a stripe holder
 *    waits for nothing else, so these waits end.
 *  - t->slow, serialised (va_btree_slow.c): the edits across two zones and of
 *    reaches above, an alloc that saw no fit, and the starvation guard: an
 *    alloc or free that restarted VBT_FAST_TRIES times (all counted: cpu
 *    slots' `serial`). Lock-coupled writers never wait for a node lock while
 *    holding one, so its waiting top-down locks cannot deadlock with them.
 *  - Separator bounds of a leaf change only in operations that lock that leaf,
 *    so a writer whose leaf version is unchanged has valid bounds.
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

/* A fresh tree (best: a best-fit one, with the size index of va_btree_best.c;
 * zones: one tree per CPU zone, else one for the whole range). A best-fit tree
 * has one zone: its choices come from the size index, not from CPU zones. */
static int init_tree(void *st, uint64_t base, uint64_t size, const struct page_source *ps,
		     uint32_t leaf_cap, uint32_t inner_cap, bool best, bool zones)
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
	t->sz_leaf_cap = MM_MIN(leaf_cap, VBT_SZ_LEAF_CAP);
	t->sz_leaf_min = t->sz_leaf_cap / 2;
	t->best = best;
	t->zsize = zones ? MM_ALIGN_DOWN(size / VBT_CPU_SLOTS, PAGE_SIZE) : 0;
	t->nzones = t->zsize ? VBT_CPU_SLOTS : 1;
	t->zsize = t->zsize ? t->zsize : size;
	t->zshift = MM_IS_POW2(t->zsize) ? (uint32_t)__builtin_ctzll(t->zsize) : 0;
	int rc = vbt_slow_init_root(t);
	if (rc == MM_OK && best)
		rc = vbt_best_init(t);
	return rc;
}

int va_btree_init_caps(void *st, uint64_t base, uint64_t size, const struct page_source *ps,
		       uint32_t leaf_cap, uint32_t inner_cap)
{
	return init_tree(st, base, size, ps, leaf_cap, inner_cap, false, true);
}

int va_btree_init_one_zone(void *st, uint64_t base, uint64_t size, const struct page_source *ps,
			   uint32_t leaf_cap, uint32_t inner_cap)
{
	return init_tree(st, base, size, ps, leaf_cap, inner_cap, false, false);
}

int va_btree_init_best_caps(void *st, uint64_t base, uint64_t size, const struct page_source *ps,
			    uint32_t leaf_cap, uint32_t inner_cap)
{
	return init_tree(st, base, size, ps, leaf_cap, inner_cap, true, false);
}

static int vbt_init(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
		    const struct page_source *ps)
{
	return init_tree(st, base, size, ps, VBT_LEAF_CAP, VBT_INNER_CAP, false, true);
}

static int vbt_init_best(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
			 const struct page_source *ps)
{
	return init_tree(st, base, size, ps, VBT_LEAF_CAP, VBT_INNER_CAP, true, false);
}

static void count_path(struct vbt_cpu *c, bool fast)
{
	if (MM_DEBUG)
		atomic_fetch_add_rlx(fast ? &c->fast : &c->slow, 1);
}

/* An operation falls back to the serialised path: counted always. */
static void count_serial(struct vbt_cpu *c)
{
	atomic_fetch_add_rlx(&c->serial, 1);
}

/* After a fast attempt that found the leaf holding key full (VBT_FULL) or at
 * its minimum (VBT_LOW): the structure change that lets it retry; false for
 * any other result. */
static bool fix_shape(struct va_btree *t, struct vbt_cpu *c, int rc, uint64_t key)
{
	if (rc == VBT_FULL)
		vbt_smo_split(t, c, key, 0);
	else if (rc == VBT_LOW)
		vbt_smo_grow(t, c, key, 0);
	return rc == VBT_FULL || rc == VBT_LOW;
}

/* Where cpu's first fit starts: its slot's zone, 1/VBT_CPU_SLOTS of the range
 * (CPU 0: the base, plain address-ordered first fit), so CPUs allocating at once
 * work in different trees instead of all at the leftmost fit. */
static uint32_t cpu_zone(const struct va_btree *t, unsigned cpu)
{
	return t->nzones > 1 ? cpu % VBT_CPU_SLOTS : 0;
}

/* Serialised alloc (first fit from zone z0, in a best-fit tree too: after
 * VBT_FAST_TRIES restarts the starvation guard, not a policy; or what
 * alloc_first hands over); without a unit (have_unit false) it is granted one
 * first. On success the bytes are accounted in cpu's slot (with the unit's
 * credit if it had one). */
static int alloc_slow(struct va_btree *t, unsigned cpu, bool have_unit, uint64_t size,
		      uint64_t align, uint64_t need, uint32_t z0, uint64_t *addr)
{
	struct vbt_cpu *c = slot(t, cpu);
	struct vbt_op op;
	count_serial(c);
	vbt_slow_begin(t, &op);
	int rc = have_unit ? MM_OK : grant_unit(t);
	if (rc == MM_OK) {
		rc = vbt_slow_alloc(&op, size, align, need, z0, addr);
		if (rc == MM_OK && !have_unit)
			atomic_fetch_add_rlx(&c->word, size);
		else if (rc != MM_OK && !have_unit)
			atomic_fetch_add_acqrel(&t->granted, (uint64_t)-1);
	}
	vbt_slow_end(&op);
	return rc;
}

/* The carve of [a, a + size) out of the free range starting at s on the
 * serialised path; MM_OK or VBT_RESTART (no such range holds it now). */
static int carve_serial(struct va_btree *t, struct vbt_cpu *c, uint64_t s, uint64_t a,
			uint64_t size)
{
	struct vbt_op op;
	count_serial(c);
	vbt_slow_begin(t, &op);
	int rc = vbt_slow_carve(&op, s, a, size);
	vbt_slow_end(&op);
	return rc;
}

/* Carves [a, a + size) out of the free range starting at s, changing the
 * structure first where the leaf needs it (an edit across two zones: on the
 * serialised path); MM_OK, or VBT_RESTART (that range is not there as it was,
 * or a version changed). */
static int carve_at(struct va_btree *t, struct vbt_cpu *c, uint64_t s, uint64_t a, uint64_t size)
{
	for (;;) {
		uint64_t key = s;
		int rc = vbt_fast_carve(t, s, a, size);
		if (rc == VBT_SLOW)
			rc = vbt_xleaf_carve(t, s, a, size, &key);
		if (rc == VBT_SERIAL)
			return carve_serial(t, c, s, a, size);
		if (!fix_shape(t, c, rc, key))
			return rc;
	}
}

/* First fit from zone z0, lock-coupled: the leftmost range >= need of z0's
 * tree, else of each zone's after it, else from zone 0 on (structure changes
 * where a leaf is full or at its minimum, two-leaf carves), else the leftmost
 * exact aligned fit (optimistic walk). MM_OK, MM_ENOMEM (one zone), or
 * VBT_SERIAL for the serialised path to decide: a range starting in an earlier
 * zone holds z0's start (if >= need, it is the first fit from that start, and
 * carving it edits two trees), an edit across two zones, no fit seen in any tree (its
 * MM_ENOMEM, or an exact aligned fit, under the locks), or VBT_FAST_TRIES
 * restarts. */
VBT_INLINE int alloc_first(struct va_btree *t, struct vbt_cpu *c, uint64_t size, uint64_t align,
			   uint64_t need, uint32_t z0, uint64_t *addr)
{
	if (z0 && atomic_load_acq(&t->zone[z0].reach) > vbt_zstart(t, z0))
		return VBT_SERIAL;
	uint32_t k = 0;
	for (uint32_t i = 0; k < t->nzones;) {
		uint32_t z = z0 + k < t->nzones ? z0 + k : z0 + k - t->nzones;
		uint64_t key = 0;
		int rc = vbt_fast_alloc(t, z, size, align, need, addr, &key);
		if (rc == VBT_SLOW)
			rc = vbt_xleaf_carve(t, key, *addr, size, &key);
		if (rc == MM_OK || rc == VBT_SERIAL)
			return rc;
		if (rc == MM_ENOMEM)
			k++;
		else if (!fix_shape(t, c, rc, key) && ++i == VBT_FAST_TRIES)
			return VBT_SERIAL;
	}
	uint64_t s, a;
	while (need > size && vbt_exact_find(t, size, align, &s, &a) == MM_OK) {
		int rc = carve_at(t, c, s, a, size); /* no range >= need: an aligned fit */
		if (rc == MM_OK) {
			*addr = a;
			return MM_OK;
		}
	}
	/* One tree's MM_ENOMEM was validated at its root; several trees' answers
	 * are of different moments, so the serialised path decides. */
	return t->nzones == 1 ? MM_ENOMEM : VBT_SERIAL;
}

/* Best fit, lock-coupled: the range the bins show (vbt_best_find), carved where
 * it is now (carve_at re-reads it under its leaf's lock; one that changed
 * meanwhile is looked up again). When the bins show none, first fit from the
 * base decides: MM_ENOMEM, or a range the search missed while an edit moved it
 * between bins. MM_OK, MM_ENOMEM, or VBT_RESTART after VBT_FAST_TRIES. */
static int alloc_best(struct va_btree *t, struct vbt_cpu *c, uint64_t size, uint64_t align,
		      uint64_t need, uint64_t *addr)
{
	uint64_t s, a;
	for (int i = 0; i < VBT_FAST_TRIES; i++) {
		if (!vbt_best_find(t, size, align, need, &s, &a))
			return alloc_first(t, c, size, align, need, 0, addr);
		if (carve_at(t, c, s, a, size) == MM_OK) {
			*addr = a;
			return MM_OK;
		}
	}
	return VBT_RESTART;
}

static int vbt_alloc(void *st, unsigned cpu, uint64_t size, uint64_t align, uint64_t *addr)
{
	struct va_btree *t = st;
	struct vbt_req rq;
	int arc = alloc_begin(t, cpu, size, align, &rq);
	if (arc != MM_OK)
		return arc;
	struct vbt_cpu *c = rq.c;
	bool unit = rq.unit;
	if (!unit && grant_unit(t) == MM_OK) { /* node-pool refill */
		atomic_fetch_add_rlx(&c->word, rq.size);
		unit = true;
	}
	int rc = MM_ENOMEM;
	uint32_t z0 = t->best ? 0 : cpu_zone(t, cpu);
	if (unit && t->best)
		rc = alloc_best(t, c, rq.size, rq.align, rq.need, addr);
	else if (unit)
		rc = alloc_first(t, c, rq.size, rq.align, rq.need, z0, addr);
	bool fast = rc == MM_OK;
	if (rc == VBT_SERIAL || rc == VBT_RESTART)
		rc = alloc_slow(t, cpu, unit, rq.size, rq.align, rq.need, z0, addr);
	if (rc == MM_OK)
		count_path(c, fast);
	else if (unit)
		slot_put(t, c, rq.size);
	return rc;
}

static void vbt_free(void *st, unsigned cpu, uint64_t addr, uint64_t size)
{
	struct va_btree *t = st;
	uint64_t a, b, m[2];
	if (!size || !vbt_span(t, addr, size, &a, &b))
		mm_panic("va_btree: free outside the managed range (never allocated)");
	int rc = VBT_RESTART;
	struct vbt_cpu *c = slot(t, cpu);
	for (int i = 0; i < VBT_FAST_TRIES && rc != MM_OK;) {
		uint64_t key = a;
		rc = vbt_fast_free(t, a, b, m);
		if (rc == VBT_SLOW)
			rc = vbt_xleaf_free(t, a, b, &key);
		if (fix_shape(t, c, rc, key))
			continue;
		if (rc != VBT_RESTART)
			break;
		i++;
	}
	if (rc != MM_OK) {
		struct vbt_op op;
		count_serial(c);
		vbt_slow_begin(t, &op);
		vbt_slow_free(&op, a, b);
		vbt_slow_end(&op);
	}
	count_path(c, rc == MM_OK);
	slot_put(t, c, b - a);
}

/* reserve, lock-coupled (either policy): MM_EBUSY unless a free range (read
 * optimistically) holds [lo, hi); a unit with the node reserve grown for it
 * (the pool lock only when it must grow); then the carve, re-read on restart. */
static int vbt_reserve(void *st, uint64_t addr, uint64_t size)
{
	struct va_btree *t = st;
	uint64_t lo, hi, s = 0, e = 0;
	if (!vbt_span(t, addr, size, &lo, &hi))
		return MM_EINVAL;
	if (!va_btree_pred(t, lo, &s, &e) || e < hi)
		return MM_EBUSY;
	uint64_t g = atomic_fetch_add_acqrel(&t->granted, 1) + 1; /* this reservation's unit */
	int rc = MM_OK;
	if (g + 1 > atomic_load_acq(&t->entry_cap) && vbt_reserve_nodes(t, g + 1) != MM_OK) {
		reclaim_credits(t);
		rc = vbt_reserve_nodes(t, atomic_load_acq(&t->granted) + 1);
	}
	while (rc == MM_OK && carve_at(t, &t->cpu[0], s, lo, hi - lo) != MM_OK)
		if (!va_btree_pred(t, lo, &s, &e) || e < hi)
			rc = MM_EBUSY;
	if (rc == MM_OK)
		atomic_fetch_add_rlx(&t->cpu[0].word, hi - lo);
	else
		atomic_fetch_add_acqrel(&t->granted, (uint64_t)-1);
	return rc;
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

const struct va_ops va_btree_bare_best_ops = {
    .name = "btree-bare-best",
    .state_size = sizeof(struct va_btree),
    .meta_size = vbt_meta_size,
    .init = vbt_init_best,
    .alloc = vbt_alloc,
    .free = vbt_free,
    .reserve = vbt_reserve,
    .check = vbt_check,
    .stats = vbt_stats,
};
