/* va_btree_check.c: the B+-tree VA allocator's full invariant walk (with a
 * best-fit tree's size index: va_btree_best.c), its stats, and the test hooks
 * that read the tree (see va_btree.h for the invariants).
 * These take the slow-writer lock, so they exclude serialised writers (not
 * lock-coupled ones); check() and exact stats need no writer running
 * (quiescent tree).
 */
#include "va_btree.h"

struct vbt_walk {
	const struct va_btree *t;
	uint64_t prev_end, free_bytes, ranges, nodes;
	bool have_prev;
};

static void chk_leaf(struct vbt_walk *w, const struct vbt_node *n, uint64_t lo, uint64_t hi)
{
	const struct va_btree *t = w->t;
	for (uint32_t i = 0; i < n->count; i++) {
		uint64_t s = n->leaf.start[i], e = n->leaf.end[i];
		MM_ASSERT(s < e, "va_btree check: empty or inverted range");
		MM_ASSERT(!((s | e) & (PAGE_SIZE - 1)),
			  "va_btree check: range not granule-aligned");
		MM_ASSERT(s >= t->base && e <= t->base + t->size, "va_btree check: range outside");
		MM_ASSERT(s >= lo && s < hi, "va_btree check: start outside its separator keys");
		MM_ASSERT(!w->have_prev || s != w->prev_end,
			  "va_btree check: ranges not coalesced");
		MM_ASSERT(!w->have_prev || s > w->prev_end, "va_btree check: overlapping/unsorted");
		MM_ASSERT(!t->best || vbt_sz_has(t, e - s, s),
			  "va_btree check: free range missing from the size index");
		w->have_prev = true;
		w->prev_end = e;
		w->free_bytes += e - s;
		w->ranges++;
	}
}

/* Checks the subtree n (keys in [lo, hi)); returns its largest range. */
static uint64_t chk_node(struct vbt_walk *w, const struct vbt_node *n, uint32_t level, uint64_t lo,
			 uint64_t hi, bool root)
{
	const struct va_btree *t = w->t;
	uint64_t v = atomic_load_acq(&n->version);
	MM_ASSERT(!(v & (VBT_LOCKED | VBT_OBSOLETE)), "va_btree check: node locked or obsolete");
	MM_ASSERT(n->level == level, "va_btree check: leaves at different depths");
	w->nodes++;
	uint32_t cnt = n->count;
	if (level == 0) {
		MM_ASSERT(cnt <= t->leaf_cap && (root || cnt >= t->leaf_min),
			  "va_btree check: leaf fill out of bounds");
		chk_leaf(w, n, lo, hi);
		return vbt_node_max(n, 0, cnt);
	}
	MM_ASSERT(cnt <= t->inner_cap && cnt >= (root ? 2 : t->inner_min),
		  "va_btree check: inner fill out of bounds");
	uint64_t m = 0;
	for (uint32_t i = 0; i < cnt; i++) {
		uint64_t clo = i ? n->in.key[i] : lo, chi = i + 1 < cnt ? n->in.key[i + 1] : hi;
		MM_ASSERT(clo >= lo && chi <= hi && clo < chi,
			  "va_btree check: separator keys out of order");
		uint64_t g = chk_node(w, n->in.child[i], level - 1, clo, chi, false);
		MM_ASSERT(n->in.gap[i] == g, "va_btree check: gap value differs from the subtree");
		m = MM_MAX(m, g);
	}
	return m;
}

static uint64_t reserved_sum(const struct va_btree *t)
{
	uint64_t r = 0;
	for (unsigned i = 0; i < VBT_CPU_SLOTS; i++)
		r += atomic_load_rlx(&t->cpu[i].word) & ~(uint64_t)VBT_CREDIT_MASK;
	return r;
}

/* Allocations and reservations outstanding: granted units less unused credits. */
static uint64_t live_sum(const struct va_btree *t)
{
	uint64_t live = atomic_load_rlx(&t->granted);
	for (unsigned i = 0; i < VBT_CPU_SLOTS; i++)
		live -= atomic_load_rlx(&t->cpu[i].word) & VBT_CREDIT_MASK;
	return live;
}

/* Zone z's reach against the ranges walked so far (every zone below z: the
 * last one is the range with the largest start below z's start). */
static void chk_reach(const struct vbt_walk *w, uint32_t z)
{
	const struct va_btree *t = w->t;
	bool r = z && w->have_prev && w->prev_end >= vbt_zstart(t, z);
	MM_ASSERT(atomic_load_rlx(&t->zone[z].reach) == (r ? w->prev_end : 0),
		  "va_btree check: a zone's reach differs from the ranges");
}

bool vbt_check(const void *st)
{
	struct va_btree *t = (struct va_btree *)st;
	spin_lock(&t->slow);
	struct vbt_walk w = {.t = t};
	for (uint32_t z = 0; z < t->nzones; z++) {
		chk_reach(&w, z);
		const struct vbt_node *root = atomic_load_acq(&t->zone[z].root);
		chk_node(&w, root, root->level, vbt_zlo(t, z), vbt_zhi(t, z), true);
	}
	if (t->best)
		w.nodes += vbt_sz_check(t, w.ranges);
	uint64_t nfree = 0, live = live_sum(t);
	spin_lock(&t->pool);
	for (const struct vbt_node *n = t->free_nodes; n; n = n->next_free, nfree++)
		MM_ASSERT(!(atomic_load_rlx(&n->version) & VBT_LOCKED),
			  "va_btree check: locked node on the free list");
	MM_ASSERT(nfree == t->nodes_free && w.nodes + nfree == t->nodes_total &&
		      t->nodes_total == t->frames * VBT_NODES_PER_FRAME,
		  "va_btree check: node accounting");
	spin_unlock(&t->pool);
	MM_ASSERT(w.free_bytes + reserved_sum(t) == t->size,
		  "va_btree check: free_bytes + reserved_bytes != size");
	MM_ASSERT(w.ranges <= live + 1, "va_btree check: more free ranges than allocations + 1");
	MM_ASSERT(atomic_load_rlx(&t->granted) + 1 <= atomic_load_rlx(&t->entry_cap),
		  "va_btree check: units granted beyond the node reserve");
	MM_ASSERT(t->nodes_total >= vbt_nodes_needed(t, live + 1),
		  "va_btree check: node reserve smaller than the bound");
	spin_unlock(&t->slow);
	return true;
}

/* Calls fn on every free range in address order (relaxed reads). */
static void each_range(const struct vbt_node *n, unsigned depth,
		       void (*fn)(void *, uint64_t, uint64_t), void *ctx)
{
	uint32_t lvl = VBT_LD(n->level), cnt = vbt_clamp(VBT_LD(n->count), lvl);
	if (depth >= VBT_MAX_DEPTH)
		return;
	for (uint32_t i = 0; i < cnt; i++) {
		if (lvl)
			each_range(VBT_LD(n->in.child[i]), depth + 1, fn, ctx);
		else
			fn(ctx, VBT_LD(n->leaf.start[i]), VBT_LD(n->leaf.end[i]));
	}
}

/* Calls fn on every free range of every zone's tree, in address order. */
static void each_free_range(const struct va_btree *t, void (*fn)(void *, uint64_t, uint64_t),
			    void *ctx)
{
	for (uint32_t z = 0; z < t->nzones; z++)
		each_range(atomic_load_acq(&t->zone[z].root), 0, fn, ctx);
}

static void count_range(void *ctx, uint64_t s, uint64_t e)
{
	struct va_stats *out = ctx;
	out->free_ranges++;
	out->largest_free = MM_MAX(out->largest_free, e - s);
}

void vbt_stats(const void *st, struct va_stats *out)
{
	struct va_btree *t = (struct va_btree *)st;
	mm_zero(out, sizeof(*out));
	spin_lock(&t->slow);
	each_free_range(t, count_range, out);
	out->size = t->size;
	out->reserved_bytes = reserved_sum(t);
	out->free_bytes = t->size - out->reserved_bytes;
	out->meta_bytes = t->frames * PAGE_SIZE + sizeof(*t) + (t->bins ? 2 * PAGE_SIZE : 0);
	out->granule = PAGE_SIZE;
	spin_unlock(&t->slow);
}

struct vbt_dump {
	uint64_t (*out)[2];
	size_t n, max;
};

static void dump_range(void *ctx, uint64_t s, uint64_t e)
{
	struct vbt_dump *d = ctx;
	if (d->n < d->max) {
		d->out[d->n][0] = s;
		d->out[d->n][1] = e;
	}
	d->n++;
}

size_t va_btree_ranges(const void *st, uint64_t (*out)[2], size_t max)
{
	struct va_btree *t = (struct va_btree *)st;
	struct vbt_dump d = {.out = out, .max = max};
	spin_lock(&t->slow);
	each_free_range(t, dump_range, &d);
	spin_unlock(&t->slow);
	return MM_MIN(d.n, max);
}

void va_btree_path_counts(const void *st, uint64_t *fast, uint64_t *slow)
{
	const struct va_btree *t = st;
	*fast = *slow = 0;
	for (unsigned i = 0; i < VBT_CPU_SLOTS; i++) {
		*fast += atomic_load_rlx(&t->cpu[i].fast);
		*slow += atomic_load_rlx(&t->cpu[i].slow);
	}
}

void va_btree_smo_counts(const void *st, unsigned cpu, struct vbt_counts *out)
{
	const struct va_btree *t = st;
	mm_zero(out, sizeof(*out));
	for (unsigned i = 0; i < VBT_CPU_SLOTS; i++) {
		const struct vbt_cpu *c = &t->cpu[i];
		if (cpu < VBT_CPU_SLOTS && i != cpu)
			continue;
		out->splits += atomic_load_rlx(&c->splits);
		out->merges += atomic_load_rlx(&c->merges);
		out->borrows += atomic_load_rlx(&c->borrows);
		out->overlaps += atomic_load_rlx(&c->overlaps);
		out->serial += atomic_load_rlx(&c->serial);
	}
	out->roots = atomic_load_rlx(&t->roots);
	out->sheds = atomic_load_rlx(&t->sheds);
	out->xleaf = atomic_load_rlx(&t->xleaf);
}

unsigned va_btree_height(const void *st)
{
	const struct va_btree *t = st;
	unsigned h = 0;
	for (uint32_t z = 0; z < t->nzones; z++)
		h = MM_MAX(h, VBT_LD(atomic_load_acq(&t->zone[z].root)->level) + 1);
	return h;
}
