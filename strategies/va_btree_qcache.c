/* va_btree_qcache.c: VIRT=btree, the B+-tree of va_btree.c behind per-CPU
 * quantum caches (Bonwick and Adams 2001, "Magazines and Vmem", quantum
 * caching: vmem keeps small multiples of the quantum in per-CPU caches in front
 * of its segment lists). A free of 1 .. VQC_MAX_PAGES pages (up to one 2 MiB
 * large page, the bitmap's granule) goes into its CPU's bin for exactly that
 * page count while the bin has room; an alloc of that page count with
 * alignment <= 4 KiB takes it back from the bin. Everything else, and every
 * miss, goes to the tree.
 *
 *   cpu slot ──► frame[k] (4 KiB, from the page_source, on the slot's first miss
 *                │         for a page count in 64k+1 .. 64k+64)
 *                └► bin[0..63]: n, addr[0..VQC_DEPTH)   [addr, addr + pages * 4 KiB)
 *
 * Invariants (quiescent):
 *     tree free ranges, cached ranges and allocations are pairwise disjoint
 *     tree reserved bytes == allocated bytes + sum(cached bytes)
 *     free bytes reported == tree free bytes + sum(cached bytes)
 * A cached range keeps the tree's allocation unit, so the tree's node reserve
 * still covers it when it returns. Bins hold at most VQC_DEPTH ranges: when the
 * frees and allocs of one page count balance, a bin's fill is a symmetric
 * random walk on 0..VQC_DEPTH and an alloc misses about 1 / (VQC_DEPTH + 1) of
 * the time. Before alloc fails with MM_ENOMEM, and before reserve answers
 * MM_EBUSY, every CPU's bins are flushed into the tree and the call is retried,
 * so cached space never makes an allocation fail that the tree alone would
 * serve (exact when no other CPU refills a bin meanwhile).
 *
 * Concurrency: one spinlock per slot, taken by its CPU (uncontended) and by a
 * flush, check or stats on another CPU. The lock is never held across a tree
 * call except a frame allocation from the page_source (lock order: slot, then
 * the tree's or the frame allocator's). With MM_DEBUG a free is checked against
 * the tree and every bin, so a double free still panics.
 */
#include "va_btree.h"

#define VQC_MAX_PAGES	   512u
#define VQC_BINS_PER_FRAME 64u
#define VQC_DEPTH	   7u
#define VQC_FRAMES	   (VQC_MAX_PAGES / VQC_BINS_PER_FRAME)

struct vqc_bin {
	uint64_t n;
	uint64_t addr[VQC_DEPTH];
};

struct vqc_frame {
	struct vqc_bin bin[VQC_BINS_PER_FRAME];
};
_Static_assert(sizeof(struct vqc_frame) == PAGE_SIZE, "a bin frame is one 4 KiB frame");

struct vqc_cpu {
	struct spinlock lock;
	uint32_t frames;		     /* frame[] entries set (under lock) */
	struct vqc_frame *frame[VQC_FRAMES]; /* bins for pages 64k+1 .. 64k+64 */
	uint64_t used[VQC_FRAMES];	     /* bit i of used[k]: bin i of frame[k] not empty */
	uint64_t hits, misses;		     /* allocs served / not served (under lock) */
	char pad[40];
};

struct va_btree_qc {
	struct va_btree tree;
	struct vqc_cpu cpu[VBT_CPU_SLOTS];
};

/* Which of a slot's frames holds the bin for `pages`, and the bin's bit in used[]. */
static unsigned frame_idx(uint64_t pages)
{
	return (unsigned)((pages - 1) / VQC_BINS_PER_FRAME);
}

static uint64_t bin_bit(uint64_t pages)
{
	return 1ull << ((pages - 1) % VQC_BINS_PER_FRAME);
}

static struct vqc_bin *bin_of(struct vqc_cpu *c, uint64_t pages)
{
	struct vqc_frame *f = c->frame[frame_idx(pages)];
	return f ? &f->bin[(pages - 1) % VQC_BINS_PER_FRAME] : NULL;
}

/* Pages of a request the caches serve (1 .. VQC_MAX_PAGES), else 0. */
static uint64_t cached_pages(uint64_t size, uint64_t align)
{
	if (!size || size > (uint64_t)VQC_MAX_PAGES * PAGE_SIZE || align > PAGE_SIZE ||
	    (align && !MM_IS_POW2(align)))
		return 0;
	return (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

/* The bins' frame for `pages` in c, allocated on first use; NULL if the
 * page_source has no frame (the caller just misses). Called under c->lock. */
static struct vqc_frame *frame_get(struct va_btree_qc *q, struct vqc_cpu *c, uint64_t pages)
{
	struct vqc_frame **f = &c->frame[frame_idx(pages)];
	uint64_t pa;
	if (!*f && q->tree.ps.alloc(q->tree.ps.ctx, &pa) == MM_OK) {
		*f = q->tree.ps.to_virt(q->tree.ps.ctx, pa); /* zeroed: every bin empty */
		c->frames++;
	}
	return *f;
}

/* A cached range of `pages` from c into *addr; false on a miss. */
static bool qc_pop(struct va_btree_qc *q, struct vqc_cpu *c, uint64_t pages, uint64_t *addr)
{
	bool hit = false;
	spin_lock(&c->lock);
	struct vqc_bin *b = frame_get(q, c, pages) ? bin_of(c, pages) : NULL;
	if (b && b->n) {
		*addr = b->addr[--b->n];
		hit = true;
		if (!b->n)
			c->used[frame_idx(pages)] &= ~bin_bit(pages);
	}
	if (hit)
		c->hits++;
	else
		c->misses++;
	spin_unlock(&c->lock);
	return hit;
}

/* Caches [a, a + pages * 4 KiB) in c; false if its bin is full or absent. */
static bool qc_push(struct vqc_cpu *c, uint64_t pages, uint64_t a)
{
	spin_lock(&c->lock);
	struct vqc_bin *b = bin_of(c, pages);
	bool ok = b && b->n < VQC_DEPTH;
	if (ok) {
		b->addr[b->n++] = a;
		c->used[frame_idx(pages)] |= bin_bit(pages);
	}
	spin_unlock(&c->lock);
	return ok;
}

/* Takes up to max ranges out of c's bins into a[] / pages[]; their count. */
static unsigned qc_take(struct vqc_cpu *c, uint64_t *a, uint64_t *pages, unsigned max)
{
	unsigned n = 0;
	spin_lock(&c->lock);
	for (unsigned k = 0; k < VQC_FRAMES && n < max; k++) {
		while (c->used[k] && n < max) {
			unsigned i = (unsigned)__builtin_ctzll(c->used[k]);
			struct vqc_bin *b = &c->frame[k]->bin[i];
			while (b->n && n < max) {
				a[n] = b->addr[--b->n];
				pages[n++] = (uint64_t)k * VQC_BINS_PER_FRAME + i + 1;
			}
			if (!b->n)
				c->used[k] &= ~(1ull << i);
		}
	}
	spin_unlock(&c->lock);
	return n;
}

/* Empties every bin of every CPU into the tree; true if anything was cached. */
static bool qc_flush_all(struct va_btree_qc *q)
{
	bool any = false;
	for (unsigned s = 0; s < VBT_CPU_SLOTS; s++) {
		uint64_t a[32], pages[32];
		unsigned n;
		while ((n = qc_take(&q->cpu[s], a, pages, 32)) > 0) {
			for (unsigned i = 0; i < n; i++)
				va_btree_bare_ops.free(&q->tree, s, a[i], pages[i] * PAGE_SIZE);
			any = true;
		}
	}
	return any;
}

/* Calls fn(ctx, start, pages) on every range cached in c (caller holds c->lock
 * or the tree is quiescent); stops and returns true when fn does. */
static bool each_in_slot(const struct vqc_cpu *c, bool (*fn)(void *, uint64_t, uint64_t), void *ctx)
{
	for (unsigned k = 0; k < VQC_FRAMES; k++) {
		for (uint64_t m = c->used[k]; m; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctzll(m);
			const struct vqc_bin *b = &c->frame[k]->bin[i];
			for (uint64_t j = 0; j < b->n; j++)
				if (fn(ctx, b->addr[j], (uint64_t)k * VQC_BINS_PER_FRAME + i + 1))
					return true;
		}
	}
	return false;
}

struct vqc_probe {
	uint64_t lo, hi;     /* range probed */
	uint64_t hits, s, e; /* cached ranges overlapping it; the last one found */
};

static bool probe_fn(void *ctx, uint64_t a, uint64_t pages)
{
	struct vqc_probe *p = ctx;
	uint64_t b = a + pages * PAGE_SIZE;
	if (a < p->hi && p->lo < b) {
		p->hits++;
		p->s = a;
		p->e = b;
	}
	return false;
}

/* True if a free range of the tree overlaps [a, b) (a < b). */
static bool tree_overlaps(const struct va_btree_qc *q, uint64_t a, uint64_t b)
{
	uint64_t s, e;
	return va_btree_pred((struct va_btree *)&q->tree, b - 1, &s, &e) && e > a;
}

/* Panics if [a, b) overlaps a free range of the tree or a cached range (MM_DEBUG). */
static void qc_debug_check_free(struct va_btree_qc *q, uint64_t a, uint64_t b)
{
	if (tree_overlaps(q, a, b))
		mm_panic("va_btree: double free, or free of a range never allocated");
	for (unsigned k = 0; k < VBT_CPU_SLOTS; k++) {
		struct vqc_cpu *c = &q->cpu[k];
		struct vqc_probe p = {a, b, 0, 0, 0};
		spin_lock(&c->lock);
		each_in_slot(c, probe_fn, &p);
		spin_unlock(&c->lock);
		if (p.hits)
			mm_panic("va_btree: double free, or free of a range never allocated "
				 "(cached)");
	}
}

static size_t vqc_meta_size(uint64_t base, uint64_t size)
{
	return va_btree_bare_ops.meta_size(base, size);
}

static int vqc_init(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
		    const struct page_source *ps)
{
	struct va_btree_qc *q = st;
	mm_zero(q->cpu, sizeof(q->cpu));
	return va_btree_bare_ops.init(&q->tree, base, size, meta, meta_len, ps);
}

/* btree-best: the tree is a best-fit one; the bare ops serve both kinds. */
static int vqc_init_best(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
			 const struct page_source *ps)
{
	struct va_btree_qc *q = st;
	mm_zero(q->cpu, sizeof(q->cpu));
	return va_btree_bare_best_ops.init(&q->tree, base, size, meta, meta_len, ps);
}

static int vqc_alloc(void *st, unsigned cpu, uint64_t size, uint64_t align, uint64_t *addr)
{
	struct va_btree_qc *q = st;
	uint64_t pages = cached_pages(size, align);
	if (pages && qc_pop(q, &q->cpu[cpu % VBT_CPU_SLOTS], pages, addr))
		return MM_OK;
	int rc = va_btree_bare_ops.alloc(&q->tree, cpu, size, align, addr);
	if (rc == MM_ENOMEM && qc_flush_all(q))
		rc = va_btree_bare_ops.alloc(&q->tree, cpu, size, align, addr);
	return rc;
}

static void vqc_free(void *st, unsigned cpu, uint64_t addr, uint64_t size)
{
	struct va_btree_qc *q = st;
	uint64_t a, b, pages;
	if (size && vbt_span(&q->tree, addr, size, &a, &b) && (pages = cached_pages(b - a, 0))) {
		if (MM_DEBUG)
			qc_debug_check_free(q, a, b);
		if (qc_push(&q->cpu[cpu % VBT_CPU_SLOTS], pages, a))
			return;
	}
	va_btree_bare_ops.free(&q->tree, cpu, addr, size);
}

static int vqc_reserve(void *st, uint64_t addr, uint64_t size)
{
	struct va_btree_qc *q = st;
	int rc = va_btree_bare_ops.reserve(&q->tree, addr, size);
	if (rc == MM_EBUSY && qc_flush_all(q))
		rc = va_btree_bare_ops.reserve(&q->tree, addr, size);
	return rc;
}

/* ---- check and stats (quiescent) -------------------------------------------- */

/* Calls fn(ctx, start, pages) on every cached range (quiescent); stops when fn
 * returns true. */
static bool each_cached(const struct va_btree_qc *q, bool (*fn)(void *, uint64_t, uint64_t),
			void *ctx)
{
	for (unsigned k = 0; k < VBT_CPU_SLOTS; k++)
		if (each_in_slot(&q->cpu[k], fn, ctx))
			return true;
	return false;
}

/* ---- cached ranges in address order, VQC_BATCH at a time (no memory to sort
 * in): each pass over all bins keeps the VQC_BATCH smallest starts above the
 * last one handed out, so a walk costs O(C * C / VQC_BATCH) for C cached. */
#define VQC_BATCH 128u

struct vqc_batch {
	uint64_t after;	 /* only starts > after (or all, when first) */
	bool first, dup; /* dup: two cached ranges share a start */
	uint32_t n;
	uint64_t s[VQC_BATCH], pages[VQC_BATCH]; /* sorted by start */
};

static bool batch_fn(void *ctx, uint64_t a, uint64_t pages)
{
	struct vqc_batch *b = ctx;
	if ((!b->first && a <= b->after) || (b->n == VQC_BATCH && a >= b->s[VQC_BATCH - 1]))
		return false;
	uint32_t i = b->n < VQC_BATCH ? b->n++ : VQC_BATCH - 1;
	for (; i > 0 && b->s[i - 1] >= a; i--) {
		b->dup |= b->s[i - 1] == a;
		b->s[i] = b->s[i - 1];
		b->pages[i] = b->pages[i - 1];
	}
	b->s[i] = a;
	b->pages[i] = pages;
	return false;
}

static bool count_fn(void *ctx, uint64_t a, uint64_t pages)
{
	uint64_t *c = ctx;
	c[0]++;
	c[1] += pages * PAGE_SIZE;
	return false;
}

/* Calls fn on every cached range in address order (quiescent); panics if two
 * share a start (a range cached twice). */
static void each_sorted(const struct va_btree_qc *q, void (*fn)(void *, uint64_t, uint64_t),
			void *ctx)
{
	struct vqc_batch b = {.first = true};
	uint64_t total[2] = {0, 0}, seen = 0;
	each_cached(q, count_fn, total);
	do {
		b.n = 0;
		each_cached(q, batch_fn, &b);
		MM_ASSERT(!b.dup, "va_btree check: a range is cached twice");
		for (uint32_t i = 0; i < b.n; i++)
			fn(ctx, b.s[i], b.s[i] + b.pages[i] * PAGE_SIZE);
		seen += b.n;
		b.after = b.n ? b.s[b.n - 1] : 0;
		b.first = false;
	} while (b.n == VQC_BATCH);
	MM_ASSERT(seen == total[0], "va_btree check: a range is cached twice");
}

/* The tree's free range ending exactly at x / starting exactly at x. */
static bool tree_ends_at(const struct va_btree_qc *q, uint64_t x, uint64_t *s)
{
	uint64_t e;
	return x > q->tree.base && va_btree_pred((struct va_btree *)&q->tree, x - 1, s, &e) &&
	       e == x;
}

static bool tree_starts_at(const struct va_btree_qc *q, uint64_t x, uint64_t *e)
{
	uint64_t s;
	return va_btree_pred((struct va_btree *)&q->tree, x, &s, e) && s == x;
}

struct vqc_acc {
	const struct va_btree_qc *q;
	uint64_t count, bytes, merges, largest;
	uint64_t prev_end;	 /* end of the cached range before (count > 0) */
	uint64_t run_lo, run_hi; /* the maximal free run the last range lies in */
};

/* Stats of one cached range [a, b), in address order: its joins with the free
 * segments on either side, and the run it lies in (extended right through a
 * tree range; a cached range further right continues it). */
static void stat_fn(void *ctx, uint64_t a, uint64_t b)
{
	struct vqc_acc *acc = ctx;
	uint64_t ts, te;
	bool left_tree = tree_ends_at(acc->q, a, &ts), after_one = acc->count > 0;
	acc->merges += left_tree || (after_one && acc->prev_end == a);
	/* A tree range on the left that does not continue the previous run has no
	 * cached range left of it: that one would have extended the run to a. */
	if (!after_one || acc->run_hi != a)
		acc->run_lo = left_tree ? ts : a;
	acc->run_hi = b;
	if (tree_starts_at(acc->q, b, &te)) {
		acc->merges++;
		acc->run_hi = te;
	}
	acc->count++;
	acc->bytes += b - a;
	acc->prev_end = b;
	acc->largest = MM_MAX(acc->largest, acc->run_hi - acc->run_lo);
}

static void vqc_stats(const void *st, struct va_stats *out)
{
	const struct va_btree_qc *q = st;
	va_btree_bare_ops.stats(&q->tree, out);
	struct vqc_acc acc = {.q = q, .largest = out->largest_free};
	each_sorted(q, stat_fn, &acc);
	out->reserved_bytes -= acc.bytes;
	out->free_bytes += acc.bytes;
	out->free_ranges = out->free_ranges + acc.count - acc.merges;
	out->largest_free = acc.largest;
	out->meta_bytes += sizeof(q->cpu);
	for (unsigned k = 0; k < VBT_CPU_SLOTS; k++)
		out->meta_bytes += (uint64_t)q->cpu[k].frames * PAGE_SIZE;
}

static void check_fn(void *ctx, uint64_t a, uint64_t b)
{
	struct vqc_acc *acc = ctx;
	const struct va_btree_qc *q = acc->q;
	MM_ASSERT(a % PAGE_SIZE == 0 && a >= q->tree.base && b <= q->tree.base + q->tree.size,
		  "va_btree check: cached range outside the managed range");
	MM_ASSERT(!tree_overlaps(q, a, b),
		  "va_btree check: cached range overlaps a free range of the tree");
	MM_ASSERT(acc->prev_end <= a, "va_btree check: cached ranges overlap");
	acc->prev_end = b;
	acc->bytes += b - a;
}

static bool vqc_check(const void *st)
{
	const struct va_btree_qc *q = st;
	struct va_stats ts;
	if (!va_btree_bare_ops.check(&q->tree))
		return false;
	for (unsigned k = 0; k < VBT_CPU_SLOTS; k++) {
		const struct vqc_cpu *c = &q->cpu[k];
		for (unsigned f = 0; f < VQC_FRAMES; f++) {
			MM_ASSERT(c->frame[f] || !c->used[f],
				  "va_btree check: used bins, no frame");
			for (unsigned i = 0; c->frame[f] && i < VQC_BINS_PER_FRAME; i++) {
				uint64_t n = c->frame[f]->bin[i].n;
				MM_ASSERT(n <= VQC_DEPTH, "va_btree check: bin over its depth");
				MM_ASSERT(!n == !(c->used[f] >> i & 1),
					  "va_btree check: bin's used bit != (fill > 0)");
			}
		}
	}
	struct vqc_acc acc = {.q = q};
	each_sorted(q, check_fn, &acc);
	va_btree_bare_ops.stats(&q->tree, &ts);
	MM_ASSERT(acc.bytes <= ts.reserved_bytes,
		  "va_btree check: more cached bytes than the tree has handed out");
	return true;
}

void va_btree_qcache_counts(const void *st, uint64_t *hits, uint64_t *misses, uint64_t *cached)
{
	const struct va_btree_qc *q = st;
	uint64_t total[2] = {0, 0};
	*hits = *misses = 0;
	for (unsigned k = 0; k < VBT_CPU_SLOTS; k++) {
		*hits += q->cpu[k].hits;
		*misses += q->cpu[k].misses;
	}
	each_cached(q, count_fn, total);
	*cached = total[1];
}

const struct va_ops va_btree_ops = {
    .name = "btree",
    .state_size = sizeof(struct va_btree_qc),
    .meta_size = vqc_meta_size,
    .init = vqc_init,
    .alloc = vqc_alloc,
    .free = vqc_free,
    .reserve = vqc_reserve,
    .check = vqc_check,
    .stats = vqc_stats,
};

const struct va_ops va_btree_best_ops = {
    .name = "btree-best",
    .state_size = sizeof(struct va_btree_qc),
    .meta_size = vqc_meta_size,
    .init = vqc_init_best,
    .alloc = vqc_alloc,
    .free = vqc_free,
    .reserve = vqc_reserve,
    .check = vqc_check,
    .stats = vqc_stats,
};
