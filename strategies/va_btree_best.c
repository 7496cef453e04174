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
 *     map: bit b set iff bin b is non-empty; sum: bit w set iff map[w] != 0
 *         (find-first-set over the bins: two words)
 *
 * The search: the smallest key >= (need, 0) in bin_of(need), else the smallest
 * key of the next non-empty bin. Since bins partition the lengths in order and
 * each tree is ordered by (length, tie), this is exactly the smallest key
 * >= (need, 0) of one tree over all ranges: the policy is the one tree's, at
 * the cost of a small tree (most bins hold a few ranges: a one-leaf tree).
 *
 * Invariant (quiescent): the bins hold exactly the address tree's free
 * ranges, each in bin_of(its length); bin_map and bin_sum as above. Their
 * nodes come from the tree's node reserve, sized for both (vbt_nodes_needed),
 * so a free still never needs a frame.
 *
 * Concurrency: every writer of a best-fit tree (alloc, free, reserve) holds
 * t->slow for the whole operation, as vmem holds its arena lock; the bins are
 * read and written only there (va_btree_sz.c on stale optimistic readers of
 * their nodes). The address tree is edited in one leaf where it can be
 * (va_btree_best_addr.h: under t->slow no writer races it, so its reads need
 * no validation) and by the locked slow path otherwise.
 */
#include "va_btree.h"
#include "va_btree_best_addr.h"
#include "va_btree_sz.h"
#include "va_btree_units.h"

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

/* The first non-empty bin >= b; VBT_BINS if none. */
static uint32_t bin_next(const struct va_btree *t, uint32_t b)
{
	if (b >= VBT_BINS)
		return VBT_BINS;
	uint32_t w = b / 64;
	uint64_t m = t->bins->map[w] & (~0ull << (b % 64));
	if (m)
		return w * 64 + (uint32_t)__builtin_ctzll(m);
	uint64_t s = t->bins->sum & ~((2ull << w) - 1); /* words above w */
	if (!s)
		return VBT_BINS;
	w = (uint32_t)__builtin_ctzll(s);
	return w * 64 + (uint32_t)__builtin_ctzll(t->bins->map[w]);
}

/* Inserts key (l, a) into bin b = bin_of(l). */
VBT_INLINE void bin_ins(struct vbt_op *op, uint32_t b, uint64_t l, uint64_t a)
{
	struct va_btree *t = op->t;
	if (!t->bins->root[b]) {
		t->bins->map[b / 64] |= 1ull << (b % 64);
		t->bins->sum |= 1ull << (b / 64);
	}
	vbt_sz_ins(op, &t->bins->root[b], l, a);
}

/* Deletes key (l, a) from bin b = bin_of(l) (idx: its path in the bin's tree,
 * or NULL). */
VBT_INLINE void bin_del(struct vbt_op *op, uint32_t b, uint64_t l, uint64_t a, const uint32_t *idx)
{
	struct va_btree *t = op->t;
	vbt_sz_del(op, &t->bins->root[b], l, a, idx);
	if (!t->bins->root[b]) {
		t->bins->map[b / 64] &= ~(1ull << (b % 64));
		if (!t->bins->map[b / 64])
			t->bins->sum &= ~(1ull << (b / 64));
	}
}

/* Replaces key (ol, oa) of bin b = bin_of(ol) by (nl, na): in place within
 * one bin, else moved. */
VBT_INLINE void bin_move(struct vbt_op *op, uint32_t b, uint64_t ol, uint64_t oa, uint64_t nl,
			 uint64_t na, const uint32_t *idx)
{
	uint32_t nb = bin_of(nl);
	if (nb == b) {
		vbt_sz_replace(op, &op->t->bins->root[b], ol, oa, nl, na, idx);
		return;
	}
	bin_del(op, b, ol, oa, idx);
	bin_ins(op, nb, nl, na);
}

/* The smallest key >= (l, x) over all bins into *fl, *fx (its bin into *fb,
 * its path in the bin's tree into idx); false if none. */
VBT_INLINE bool bins_ge(const struct va_btree *t, uint64_t l, uint64_t x, uint64_t *fl,
			uint64_t *fx, uint32_t *fb, uint32_t *idx)
{
	uint32_t b = *fb = bin_of(l);
	const struct vbt_node *r = t->bins->root[b];
	if (r && !x && l == bin_lo(b)) /* every key of the bin is >= (l, 0) */
		return vbt_sz_first(r, fl, fx, idx);
	if (r && vbt_sz_ge(r, l, x, fl, fx, idx))
		return true;
	b = *fb = bin_next(t, b + 1);
	return b < VBT_BINS && vbt_sz_first(t->bins->root[b], fl, fx, idx);
}

/* ---- operations (caller holds t->slow through op) ---------------------------- */

int vbt_sz_init(struct vbt_op *op)
{
	struct va_btree *t = op->t;
	uint64_t pa;
	if (t->ps.alloc(t->ps.ctx, &pa) != MM_OK)
		return MM_ENOMEM;
	t->bins = t->ps.to_virt(t->ps.ctx, pa);
	mm_zero(t->bins, sizeof(*t->bins));
	bin_ins(op, bin_of(t->size), t->size, vbt_tie(t->base));
	return MM_OK;
}

/* The bins after [x, y) was taken out of [s, e), whose key's path in its bin's
 * tree is idx (NULL: not known). */
VBT_INLINE void took_at(struct vbt_op *op, uint32_t b, uint64_t s, uint64_t e, uint64_t x,
			uint64_t y, const uint32_t *idx)
{
	if (x > s)
		bin_move(op, b, e - s, vbt_tie(s), x - s, vbt_tie(s), idx);
	else if (e > y)
		bin_move(op, b, e - s, vbt_tie(s), e - y, vbt_tie(y), idx);
	else
		bin_del(op, b, e - s, vbt_tie(s), idx);
	if (x > s && e > y)
		bin_ins(op, bin_of(e - y), e - y, vbt_tie(y));
}

void vbt_best_took(struct vbt_op *op, uint64_t s, uint64_t e, uint64_t x, uint64_t y)
{
	took_at(op, bin_of(e - s), s, e, x, y, NULL);
}

/* The best range for size bytes aligned to align: the smallest >= need (any
 * holds an aligned block), else the smallest holding one exactly (only when
 * align > 4 KiB: ranges of length in [size, need) in key order); ties by the
 * smallest tie key; the highest aligned block in it into *a. */
VBT_INLINE bool best_range(const struct va_btree *t, uint64_t size, uint64_t align, uint64_t need,
			   uint64_t *s, uint64_t *e, uint64_t *a, uint32_t *b, uint32_t *idx)
{
	uint64_t l = 0, x = 0;
	if (bins_ge(t, need, 0, &l, &x, b, idx)) {
		*s = vbt_untie(x);
		*e = *s + l;
		return vbt_fits_high(*s, *e, size, align, a);
	}
	for (l = size, x = 0; bins_ge(t, l, x, &l, &x, b, idx);) {
		*s = vbt_untie(x);
		*e = *s + l;
		if (vbt_fits_high(*s, *e, size, align, a))
			return true;
		l += x == UINT64_MAX; /* the next key after (l, x) */
		x++;
	}
	return false;
}

/* After a leaf edit at key's leaf returned rc: a leaf that was full (VBT_FULL)
 * split, one at its minimum (VBT_LOW) grown, by the lock-coupled structure
 * changes (counted in cpu slot 0); true if so (the edit can be retried). */
static bool fixed_shape(struct va_btree *t, int rc, uint64_t key)
{
	if (rc == VBT_FULL)
		vbt_smo_split(t, &t->cpu[0], key, 0);
	else if (rc == VBT_LOW)
		vbt_smo_grow(t, &t->cpu[0], key, 0);
	return rc == VBT_FULL || rc == VBT_LOW;
}

/* The alloc of size bytes aligned to align (need = size + align - 4 KiB) under
 * op: the best range, its carve from the address tree, the bins after it;
 * MM_OK or MM_ENOMEM. */
VBT_INLINE int best_alloc(struct vbt_op *op, uint64_t size, uint64_t align, uint64_t need,
			  uint64_t *addr)
{
	struct va_btree *t = op->t;
	uint64_t s = 0, e = 0, a = 0;
	uint32_t b = 0, idx[VBT_MAX_DEPTH];
	if (!best_range(t, size, align, need, &s, &e, &a, &b, idx))
		return MM_ENOMEM;
	/* Nobody else writes (t->slow): the leaf edit cannot restart; it may need
	 * a split or merge first (va_btree_smo.c), or the slow path (a remainder
	 * past the leaf). */
	int rc = vbt_best_carve(t, s, e, a, size);
	if (fixed_shape(t, rc, s))
		rc = vbt_best_carve(t, s, e, a, size);
	if (rc != MM_OK) {
		rc = vbt_slow_reserve(op, a, a + size, 0);
		MM_ASSERT(rc == MM_OK, "va_btree: best-fit range not free in the address tree");
	}
	took_at(op, b, s, e, a, a + size, idx); /* b, idx: the bins are unchanged since */
	*addr = a;
	return MM_OK;
}

/* vbt_best_free, inlined into it and into the op below. */
VBT_INLINE void free_locked(struct va_btree *t, uint64_t a, uint64_t b)
{
	struct vbt_op op;
	uint64_t m[2] = {a, b}, ps = 0, pe = 0, ss = 0, se = 0;
	vbt_slow_begin(t, &op);
	int rc = vbt_best_free_leaf(t, a, b, m);
	if (fixed_shape(t, rc, a))
		rc = vbt_best_free_leaf(t, a, b, m);
	if (rc != MM_OK) {
		/* The neighbours it joins, read before the slow path locks nodes. */
		m[0] = a;
		m[1] = b;
		if (a > t->base && va_btree_pred(t, a - 1, &ps, &pe) && pe == a)
			m[0] = ps;
		if (va_btree_pred(t, b, &ss, &se) && ss == b)
			m[1] = se;
		vbt_slow_free(&op, a, b);
	}
	if (m[0] < a && m[1] > b)
		bin_del(&op, bin_of(m[1] - b), m[1] - b, vbt_tie(b), NULL);
	if (m[0] < a)
		bin_move(&op, bin_of(a - m[0]), a - m[0], vbt_tie(m[0]), m[1] - m[0], vbt_tie(m[0]),
			 NULL);
	else if (m[1] > b)
		bin_move(&op, bin_of(m[1] - b), m[1] - b, vbt_tie(b), m[1] - a, vbt_tie(a), NULL);
	else
		bin_ins(&op, bin_of(m[1] - m[0]), m[1] - m[0], vbt_tie(m[0]));
	vbt_slow_end(&op);
}

void vbt_best_free(struct va_btree *t, uint64_t a, uint64_t b)
{
	free_locked(t, a, b);
}

/* ---- the ops (allocation units as in va_btree.c) ----------------------------- */

/* Counts an operation done on the serialised path (MM_DEBUG). */
static void count_slow(struct vbt_cpu *c)
{
	if (MM_DEBUG)
		atomic_fetch_add_rlx(&c->slow, 1);
}

/* vbt_best_alloc, inlined into it and into the op below. */
VBT_INLINE int alloc_locked(struct va_btree *t, struct vbt_cpu *c, bool unit, uint64_t size,
			    uint64_t align, uint64_t need, uint64_t *addr)
{
	struct vbt_op op;
	vbt_slow_begin(t, &op);
	int rc = unit ? MM_OK : grant_unit(t); /* without a credit: one granted under the lock */
	bool granted = !unit && rc == MM_OK;
	if (rc == MM_OK)
		rc = best_alloc(&op, size, align, need, addr);
	if (granted && rc == MM_OK)
		atomic_fetch_add_rlx(&c->word, size);
	else if (granted)
		atomic_fetch_add_acqrel(&t->granted, (uint64_t)-1);
	vbt_slow_end(&op);
	if (rc == MM_OK)
		count_slow(c);
	return rc;
}

int vbt_best_alloc(struct va_btree *t, struct vbt_cpu *c, bool unit, uint64_t size, uint64_t align,
		   uint64_t need, uint64_t *addr)
{
	return alloc_locked(t, c, unit, size, align, need, addr);
}

int vbt_best_alloc_op(void *st, unsigned cpu, uint64_t size, uint64_t align, uint64_t *addr)
{
	struct va_btree *t = st;
	struct vbt_req rq;
	int arc = alloc_begin(t, cpu, size, align, &rq);
	if (arc != MM_OK)
		return arc;
	int rc = alloc_locked(t, rq.c, rq.unit, rq.size, rq.align, rq.need, addr);
	if (rc != MM_OK && rq.unit)
		slot_put(t, rq.c, rq.size);
	return rc;
}

void vbt_best_free_op(void *st, unsigned cpu, uint64_t addr, uint64_t size)
{
	struct va_btree *t = st;
	struct vbt_cpu *c = slot(t, cpu);
	uint64_t a, b;
	if (!size || !vbt_span(t, addr, size, &a, &b))
		mm_panic("va_btree: free outside the managed range (never allocated)");
	free_locked(t, a, b);
	count_slow(c);
	slot_put(t, c, b - a);
}

/* ---- check (quiescent, under t->slow) ----------------------------------------- */

bool vbt_sz_has(const struct va_btree *t, uint64_t len, uint64_t addr)
{
	uint64_t l = 0, a = 0;
	uint64_t k = vbt_tie(addr);
	uint32_t idx[VBT_MAX_DEPTH];
	return vbt_sz_ge(t->bins->root[bin_of(len)], len, k, &l, &a, idx) && l == len && a == k;
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
	for (uint32_t w = 0; w < VBT_BIN_WORDS; w++)
		MM_ASSERT(!t->bins->map[w] == !(t->bins->sum >> w & 1),
			  "va_btree check: bin summary bit differs from the bitmap word");
	MM_ASSERT(!(VBT_BINS % 64) || !(t->bins->map[VBT_BIN_WORDS - 1] >> (VBT_BINS % 64)),
		  "va_btree check: bitmap bit set past the last bin");
	MM_ASSERT(keys == ranges, "va_btree check: bins and address tree differ in count");
	uint32_t spare = 0;
	for (const struct vbt_node *n = t->bin_spare; n; n = n->next_free)
		spare++;
	MM_ASSERT(spare == t->bin_nspare && spare <= VBT_BIN_SPARE,
		  "va_btree check: spare size-tree nodes miscounted");
	return nodes + spare;
}
