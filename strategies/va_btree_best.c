/* va_btree_best.c: best fit for the B+-tree VA allocator (btree-best,
 * btree-bare-best): the free range of smallest length >= need; among ranges of
 * that length the one of smallest tie key vbt_tie(start) (a bijective hash: a
 * pseudo-random choice, not the lowest address), carved at its high end (the
 * highest aligned block).
 *
 * Why not the lowest address: under random frees each free changes the count
 * of free ranges by 1 - (free neighbours of the freed block), whose mean is
 * 1 - 2F/L for F free ranges and L live blocks whatever the layout, and each
 * alloc by -1 on an exact fit, else 0; so F settles near L(1 - P(exact))/2
 * and a best-fit policy can only differ in how often an exact fit exists.
 * Address-ordered ties keep churning the low end and leave fewer exact fits:
 * on va_bench's workload (6 seeds) they left 7-15% more free ranges at 10,000
 * and 100,000 live than a tie independent of the address (vmem's LIFO
 * freelists, FIFO or a hash all land within 2% of each other). The hash needs
 * no per-range state, keeps every key unique and is inverted exactly.
 *
 * The address tree's gap maxima cannot answer "smallest range >= need" (a
 * subtree whose largest range fits may also hold a shorter one that fits), so
 * best fit keeps a size index beside the address tree, as XFS keeps a by-size
 * B+-tree beside its by-block one, and as vmem and TLSF keep segregated lists:
 *
 *   bins: lengths of n pages map to bin n for n < 16, else, with o = log2(n),
 *         to one of 16 equal parts of the octave [2^o, 2^(o+1)):
 *         bin = 16 (o - 3) + (n >> (o - 4)) % 16, up to o = VBT_BIN_TOP (33:
 *         496 bins), longer ranges in the last bin; a bin's lengths are
 *         [bin_lo(b), bin_lo(b + 1)), bins ordered by length
 *   t->bins (one frame from the page_source, taken at init):
 *     root[b]: a size tree (va_btree_sz.c) of bin b's ranges keyed by
 *         (length, vbt_tie(start)); NULL when the bin is empty
 *     map: bit b set iff bin b is non-empty (find-first-set over the bins:
 *         at most eight words)
 *   t->stripes (one frame): the bin locks, one line each (va_btree.h)
 *
 * The search: the smallest key >= (need, 0) in bin_of(need), else the smallest
 * key of the next non-empty bin. Since bins partition the lengths in order and
 * each tree is ordered by (length, tie), this is exactly the smallest key
 * >= (need, 0) of one tree over all ranges: the policy is the one tree's, at
 * the cost of a small tree (most bins hold a few ranges: a one-leaf tree).
 *
 * Invariant (quiescent): the bins hold exactly the address tree's free
 * ranges, each in bin_of(its length); the map as above. Their nodes come from
 * the tree's node reserve, sized for both (vbt_nodes_needed), so a free still
 * never needs a frame.
 *
 * Concurrency, with no tree-wide lock: the address tree is the truth and the
 * bins an index of it, kept by the edits themselves. Every edit of a best-fit
 * tree's ranges (va_btree_edit.c, .h, va_btree_xleaf.c, va_btree_slow.c: the
 * same lock-coupled paths as first fit's) calls vbt_best_index while it holds
 * the lock of every leaf whose ranges it changes, before it unlocks them; that
 * edits the bins concerned, each under its stripe's lock (bin b under stripe
 * b % VBT_STRIPES; one stripe at a time, deletes before inserts, so the bins
 * never hold more keys than the tree has ranges). So, for a range R:
 *     R's leaf unlocked  =>  R's key is in bin_of(|R|), and no other key is
 *                            there for R's start
 * An alloc reads the best key under the stripe locks (vbt_best_find), drops
 * them, and carves that range by the first-fit carve (va_btree.c), which
 * re-reads the range under its leaf's lock: a range that changed meanwhile
 * restarts the alloc, one that grew is carved as it is now. Searches take one
 * stripe lock at a time and the edits never wait for a leaf lock while they
 * hold a stripe lock (the leaf locks are try-locks, and the serialised path
 * waits only for leaf and inner locks), so this cannot deadlock. A search that
 * finds nothing may have missed a range an edit was moving between bins; the
 * alloc then asks first fit (exact: its reads validate), which also decides
 * MM_ENOMEM. Single-threaded, this is exactly the policy above.
 */
#include "va_btree.h"
#include "va_btree_sz.h"

/* ---- bins --------------------------------------------------------------------- */

/* The bin of ranges of length len (a multiple of 4 KiB, >= 4 KiB): with
 * o = log2(n) >= 4 and sh = o - 4, 16 sh + (n >> sh) = 16 (o - 3) + the 4 bits
 * below the top one (n >> sh lies in [16, 32)). */
static uint32_t bin_of(uint64_t len)
{
	uint64_t n = len >> PAGE_SHIFT;
	if (n < VBT_BIN_SUB)
		return (uint32_t)n;
	if (n >> (VBT_BIN_TOP + 1))
		return VBT_BINS - 1;
	uint32_t sh = 63u - VBT_BIN_SUB_BITS - (uint32_t)__builtin_clzll(n);
	return sh * VBT_BIN_SUB + (uint32_t)(n >> sh);
}

/* The smallest length of bin b (b < VBT_BINS); UINT64_MAX for b == VBT_BINS. */
static uint64_t bin_lo(uint32_t b)
{
	if (b >= VBT_BINS)
		return UINT64_MAX;
	if (b < VBT_BIN_SUB)
		return (uint64_t)b << PAGE_SHIFT;
	uint32_t o = b / VBT_BIN_SUB + VBT_BIN_SUB_BITS - 1;
	return (((uint64_t)VBT_BIN_SUB + b % VBT_BIN_SUB) << (o - VBT_BIN_SUB_BITS)) << PAGE_SHIFT;
}

/* The first non-empty bin >= b as the map shows it now; VBT_BINS if none. */
static uint32_t bin_next(const struct va_btree *t, uint32_t b)
{
	for (uint32_t w = b / 64; b < VBT_BINS; w++, b = w * 64) {
		uint64_t m = atomic_load_acq(&t->bins->map[w]) & (~0ull << (b % 64));
		if (m)
			return w * 64 + (uint32_t)__builtin_ctzll(m);
	}
	return VBT_BINS;
}

VBT_INLINE struct vbt_stripe *stripe_of(const struct va_btree *t, uint32_t b)
{
	return &t->stripes[b % VBT_STRIPES];
}

/* Inserts key (l, a) into bin b = bin_of(l) (its stripe z locked). */
VBT_INLINE void bin_ins(struct vbt_stripe *z, uint32_t b, uint64_t l, uint64_t a)
{
	struct vbt_bins *bins = z->t->bins;
	if (!bins->root[b])
		__atomic_fetch_or(&bins->map[b / 64], 1ull << (b % 64), __ATOMIC_RELEASE);
	vbt_sz_ins(z, &bins->root[b], l, a);
}

/* Deletes key (l, a) from bin b = bin_of(l) (its stripe z locked). */
VBT_INLINE void bin_del(struct vbt_stripe *z, uint32_t b, uint64_t l, uint64_t a)
{
	struct vbt_bins *bins = z->t->bins;
	vbt_sz_del(z, &bins->root[b], l, a);
	if (!bins->root[b])
		__atomic_fetch_and(&bins->map[b / 64], ~(1ull << (b % 64)), __ATOMIC_RELEASE);
}

/* Key (l, a) in or out of its bin (add), under its stripe's lock. */
VBT_INLINE void bin_edit(struct va_btree *t, uint64_t l, uint64_t a, bool add)
{
	uint32_t b = bin_of(l);
	struct vbt_stripe *z = stripe_of(t, b);
	spin_lock(&z->lock);
	if (add)
		bin_ins(z, b, l, a);
	else
		bin_del(z, b, l, a);
	spin_unlock(&z->lock);
}

/* Key (ol, oa) of bin ob becomes (nl, na) of bin nb: in place when the bins
 * are one, under one lock when their stripe is, else a delete and an insert. */
VBT_INLINE void bin_move(struct va_btree *t, uint64_t ol, uint64_t oa, uint64_t nl, uint64_t na)
{
	uint32_t ob = bin_of(ol), nb = bin_of(nl);
	struct vbt_stripe *zo = stripe_of(t, ob), *zn = stripe_of(t, nb);
	spin_lock(&zo->lock);
	if (ob == nb)
		vbt_sz_replace(zo, &t->bins->root[ob], ol, oa, nl, na);
	else
		bin_del(zo, ob, ol, oa);
	if (zo != zn) {
		spin_unlock(&zo->lock);
		spin_lock(&zn->lock);
	}
	if (ob != nb)
		bin_ins(zn, nb, nl, na);
	spin_unlock(&zn->lock);
}

void vbt_best_index(struct va_btree *t, const uint64_t (*old)[2], uint32_t no,
		    const uint64_t (*nw)[2], uint32_t nn)
{
	uint32_t i = 0, j = 0;
	if (no && nn) { /* the first old key becomes the first new one */
		bin_move(t, old[0][1] - old[0][0], vbt_tie(old[0][0]), nw[0][1] - nw[0][0],
			 vbt_tie(nw[0][0]));
		i = j = 1;
	}
	for (; i < no; i++)
		bin_edit(t, old[i][1] - old[i][0], vbt_tie(old[i][0]), false);
	for (; j < nn; j++)
		bin_edit(t, nw[j][1] - nw[j][0], vbt_tie(nw[j][0]), true);
}

void vbt_best_index_entry(struct va_btree *t, const struct vbt_node *n, uint32_t j, uint64_t ns,
			  uint64_t ne)
{
	if (j == UINT32_MAX) {
		bin_edit(t, ne - ns, vbt_tie(ns), true);
		return;
	}
	uint64_t os = VBT_LD(n->leaf.start[j]), oe = VBT_LD(n->leaf.end[j]);
	if (ns == ne)
		bin_edit(t, oe - os, vbt_tie(os), false);
	else
		bin_move(t, oe - os, vbt_tie(os), ne - ns, vbt_tie(ns));
}

void vbt_best_index_edit(struct va_btree *t, const struct vbt_node *n, const struct vbt_edit *ed)
{
	uint64_t old[2][2];
	uint32_t no = 0;
	MM_ASSERT(ed->to - ed->from <= 2, "va_btree: an edit of more than two ranges");
	for (uint32_t i = ed->from; i < ed->to; i++, no++) {
		old[no][0] = VBT_LD(n->leaf.start[i]);
		old[no][1] = VBT_LD(n->leaf.end[i]);
	}
	vbt_best_index(t, (const uint64_t(*)[2])old, no, (const uint64_t(*)[2])ed->r, ed->k);
}

int vbt_best_init(struct va_btree *t)
{
	uint64_t pa, pz; /* (a page_source takes no frame back: as the node pool's) */
	if (t->ps.alloc(t->ps.ctx, &pa) != MM_OK || t->ps.alloc(t->ps.ctx, &pz) != MM_OK)
		return MM_ENOMEM;
	t->bins = t->ps.to_virt(t->ps.ctx, pa);
	t->stripes = t->ps.to_virt(t->ps.ctx, pz);
	mm_zero(t->bins, sizeof(*t->bins));
	mm_zero(t->stripes, VBT_STRIPES * sizeof(*t->stripes));
	for (uint32_t z = 0; z < VBT_STRIPES; z++)
		t->stripes[z].t = t;
	bin_edit(t, t->size, vbt_tie(t->base), true);
	return MM_OK;
}

/* ---- the search ------------------------------------------------------------------ */

/* The smallest key >= (l, x) of bin b into *fl, *fx, read under its stripe's
 * lock (l <= bin_lo(b) and x == 0: its first key); false if none. */
static bool bin_ge(const struct va_btree *t, uint32_t b, uint64_t l, uint64_t x, uint64_t *fl,
		   uint64_t *fx)
{
	struct vbt_stripe *z = stripe_of(t, b);
	spin_lock(&z->lock);
	const struct vbt_node *r = t->bins->root[b];
	bool ok =
	    r && (!x && l <= bin_lo(b) ? vbt_sz_first(r, fl, fx) : vbt_sz_ge(r, l, x, fl, fx));
	spin_unlock(&z->lock);
	return ok;
}

/* The smallest key >= (l, x) over all bins, as each bin is when read; false if
 * none was seen. */
static bool bins_ge(const struct va_btree *t, uint64_t l, uint64_t x, uint64_t *fl, uint64_t *fx)
{
	uint32_t b = bin_of(l);
	if (bin_ge(t, b, l, x, fl, fx))
		return true;
	for (b = bin_next(t, b + 1); b < VBT_BINS; b = bin_next(t, b + 1))
		if (bin_ge(t, b, 0, 0, fl, fx))
			return true;
	return false;
}

bool vbt_best_find(const struct va_btree *t, uint64_t size, uint64_t align, uint64_t need,
		   uint64_t *s, uint64_t *a)
{
	uint64_t l = 0, x = 0;
	if (bins_ge(t, need, 0, &l, &x)) {
		*s = vbt_untie(x);
		return vbt_fits_high(*s, *s + l, size, align, a);
	}
	for (l = size, x = 0; bins_ge(t, l, x, &l, &x);) {
		*s = vbt_untie(x);
		if (vbt_fits_high(*s, *s + l, size, align, a))
			return true;
		l += x == UINT64_MAX; /* the next key after (l, x) */
		x++;
	}
	return false;
}

/* ---- check (quiescent) ------------------------------------------------------------ */

bool vbt_sz_has(const struct va_btree *t, uint64_t len, uint64_t addr)
{
	uint64_t l = 0, a = 0;
	uint64_t k = vbt_tie(addr);
	return vbt_sz_ge(t->bins->root[bin_of(len)], len, k, &l, &a) && l == len && a == k;
}

uint64_t vbt_sz_check(const struct va_btree *t, uint64_t ranges)
{
	uint64_t nodes = 0, keys = 0;
	for (uint32_t b = 0; b < VBT_BINS; b++) {
		uint64_t k = 0;
		nodes += vbt_sz_walk(t, t->bins->root[b], bin_lo(b), bin_lo(b + 1), &k);
		keys += k;
		MM_ASSERT(!t->bins->root[b] == !(t->bins->map[b / 64] >> (b % 64) & 1),
			  "va_btree check: bin bitmap bit differs from the bin's contents");
	}
	MM_ASSERT(!(VBT_BINS % 64) || !(t->bins->map[VBT_BIN_WORDS - 1] >> (VBT_BINS % 64)),
		  "va_btree check: bitmap bit set past the last bin");
	MM_ASSERT(keys == ranges, "va_btree check: bins and address tree differ in count");
	uint64_t spare = 0;
	for (uint32_t z = 0; z < VBT_STRIPES; z++) {
		uint32_t k = 0;
		for (const struct vbt_node *n = t->stripes[z].spare; n; n = n->next_free)
			k++;
		MM_ASSERT(k == t->stripes[z].nspare && k <= VBT_STRIPE_SPARE,
			  "va_btree check: spare size-tree nodes miscounted");
		spare += k;
	}
	return nodes + spare;
}
