/* va_btree_test.c: the B+-tree VA allocator against a page-exact reference model:
 * seeded random alloc/free/reserve sequences at several fan-outs (down to 4, so
 * the tree grows many levels, splits and merges), check() and an exact
 * comparison of the free ranges after every step, drains to a single range,
 * the aligned exact-fit fallback, page_source OOM (MM_ENOMEM, tree consistent,
 * frees still succeed), argument errors, misuse panics (forked), every alloc
 * at the model's first fit from its CPU's zone (CPU 0: plain first fit), and
 * best fit (btree-bare-best): every alloc at the model's best-fit address. */
#include "va_btree_fixture.h"

#define BASE ((uint64_t)1 << 40)

struct held {
	uint64_t addr, size; /* as passed to alloc/reserve and free */
	uint64_t page, n;    /* pages held */
};

struct run {
	struct test_ps tps;
	struct vmodel m;
	struct rng r;
	void *st;
	struct held *h;
	size_t nh;
	uint64_t (*ranges)[2];
	unsigned max_height;
	bool best; /* a best-fit tree: every alloc's address is checked against the model */
	bool one;  /* one zone: every CPU's first fit from the base */
	uint64_t n_alloc, n_enomem, n_res, n_busy, n_free;
};

static void run_init_policy(struct run *u, uint64_t seed, uint64_t pages, uint32_t lc, uint32_t ic,
			    size_t frame_limit, bool best, bool one)
{
	memset(u, 0, sizeof(*u));
	u->r.s = seed;
	u->best = best;
	u->one = one;
	tps_init(&u->tps, frame_limit);
	u->st = one ? vbt_new_one_zone(&u->tps, BASE, pages, lc, ic)
		    : vbt_new_policy(&u->tps, BASE, pages, lc, ic, best);
	vmodel_init(&u->m, BASE, pages);
	u->h = calloc(pages, sizeof(*u->h));
	u->ranges = calloc(pages + 1, sizeof(*u->ranges));
	CHECK(u->h && u->ranges, "out of memory");
}

static void run_init(struct run *u, uint64_t seed, uint64_t pages, uint32_t lc, uint32_t ic,
		     size_t frame_limit, bool one)
{
	run_init_policy(u, seed, pages, lc, ic, frame_limit, false, one);
}

static void run_fini(struct run *u)
{
	free(u->st);
	tps_fini(&u->tps);
	free(u->m.map);
	free(u->h);
	free(u->ranges);
}

/* check(), stats and the exact free ranges against the model. */
static void verify(struct run *u, int step)
{
	CHECK(va_btree_bare_ops.check(u->st), "step %d: check", step);
	struct va_stats s;
	va_btree_bare_ops.stats(u->st, &s);
	uint64_t n = va_btree_ranges(u->st, u->ranges, u->m.pages + 1), k = 0, largest = 0;
	for (uint64_t i = 0; i < u->m.pages;) {
		if (u->m.map[i]) {
			i++;
			continue;
		}
		uint64_t j = i;
		while (j < u->m.pages && !u->m.map[j])
			j++;
		CHECK(k < n && u->ranges[k][0] == BASE + i * PAGE_SIZE &&
			  u->ranges[k][1] == BASE + j * PAGE_SIZE,
		      "step %d: free range %" PRIu64 " differs from the model ([%#" PRIx64
		      ", %#" PRIx64 "))",
		      step, k, BASE + i * PAGE_SIZE, BASE + j * PAGE_SIZE);
		largest = MM_MAX(largest, (j - i) * PAGE_SIZE);
		k++;
		i = j;
	}
	CHECK(k == n && s.free_ranges == n && s.largest_free == largest,
	      "step %d: %" PRIu64 " ranges, model %" PRIu64, step, n, k);
	CHECK(s.reserved_bytes == u->m.used * PAGE_SIZE &&
		  s.free_bytes + s.reserved_bytes == s.size,
	      "step %d: reserved %" PRIu64 ", model %" PRIu64, step, s.reserved_bytes,
	      u->m.used * PAGE_SIZE);
	CHECK(s.meta_bytes == u->tps.n * PAGE_SIZE + va_btree_bare_ops.state_size, "meta_bytes");
	u->max_height = MM_MAX(u->max_height, va_btree_height(u->st));
}

static void op_alloc(struct run *u, int step)
{
	static const uint64_t aligns[] = {0,	   0,	   0, 0, 1, PAGE_SIZE, 2 * PAGE_SIZE,
					  1 << 14, 1 << 16};
	uint64_t pages = rng_below(&u->r, 8) ? 1 + rng_below(&u->r, 8) : 1 + rng_below(&u->r, 64);
	uint64_t size = pages * PAGE_SIZE - (rng_below(&u->r, 4) ? 0 : rng_below(&u->r, PAGE_SIZE));
	uint64_t align = aligns[rng_below(&u->r, sizeof(aligns) / sizeof(aligns[0]))], addr = 0;
	uint64_t al = MM_MAX(align, PAGE_SIZE), want = 0, alt[2] = {0, 0};
	unsigned cpu = rng_below(&u->r, 2) ? 0 : (unsigned)rng_below(&u->r, 8);
	uint64_t zone = MM_ALIGN_DOWN(u->m.pages * PAGE_SIZE / VBT_CPU_SLOTS, PAGE_SIZE);
	bool fits = u->best ? vmodel_best(&u->m, pages, al, &want)
			    : vmodel_zone(&u->m, pages, al, cpu && !u->one ? BASE + cpu * zone : 0,
					  &want, alt);
	int rc = va_btree_bare_ops.alloc(u->st, cpu, size, align, &addr);
	if (rc == MM_ENOMEM) {
		CHECK(u->tps.n >= u->tps.limit || !vmodel_fits(&u->m, pages, al),
		      "step %d: ENOMEM for %" PRIu64 " pages align %#" PRIx64 " with room", step,
		      pages, al);
		u->n_enomem++;
		return;
	}
	CHECK(rc == MM_OK, "step %d: alloc = %d", step, rc);
	CHECK(!u->best || (fits && addr == want),
	      "step %d: best fit of %" PRIu64 " pages align %#" PRIx64 " gave %#" PRIx64
	      ", the model's best is %#" PRIx64,
	      step, pages, al, addr, want);
	/* first fit from the CPU's zone (CPU 0: the base, plain address-ordered
	 * first fit, exactly; the others as vmodel_zone says) */
	CHECK(u->best || (fits && (addr == want || (cpu && (addr == alt[0] || addr == alt[1])))),
	      "step %d: cpu %u first fit of %" PRIu64 " pages align %#" PRIx64 " gave %#" PRIx64
	      ", the model's is %#" PRIx64 " (or %#" PRIx64 ", %#" PRIx64 ")",
	      step, cpu, pages, al, addr, want, alt[0], alt[1]);
	uint64_t p = vmodel_page(&u->m, addr);
	CHECK(addr >= BASE && addr % al == 0 && vmodel_all(&u->m, p, pages, 0),
	      "step %d: alloc gave %#" PRIx64 " (misaligned or not free)", step, addr);
	vmodel_set(&u->m, p, pages, 1);
	u->h[u->nh++] = (struct held){addr, size, p, pages};
	u->n_alloc++;
}

static void op_reserve(struct run *u, int step)
{
	uint64_t p = rng_below(&u->r, u->m.pages + 2), n = 1 + rng_below(&u->r, 6);
	uint64_t off = rng_below(&u->r, 4) ? 0 : rng_below(&u->r, PAGE_SIZE);
	uint64_t addr = BASE + p * PAGE_SIZE + off, size = n * PAGE_SIZE - off;
	int want = p + n > u->m.pages ? MM_EINVAL : vmodel_all(&u->m, p, n, 0) ? MM_OK : MM_EBUSY;
	int rc = va_btree_bare_ops.reserve(u->st, addr, size);
	if (rc == MM_ENOMEM && u->tps.n >= u->tps.limit && want == MM_OK)
		return;
	CHECK(rc == want, "step %d: reserve(page %" PRIu64 ", %" PRIu64 ") = %d, want %d", step, p,
	      n, rc, want);
	if (rc == MM_OK) {
		vmodel_set(&u->m, p, n, 1);
		u->h[u->nh++] = (struct held){addr, size, p, n};
		u->n_res++;
	} else if (rc == MM_EBUSY) {
		u->n_busy++;
	}
}

static void op_free(struct run *u)
{
	if (!u->nh)
		return;
	size_t i = (size_t)rng_below(&u->r, u->nh);
	struct held h = u->h[i];
	va_btree_bare_ops.free(u->st, (unsigned)rng_below(&u->r, 8), h.addr, h.size);
	vmodel_set(&u->m, h.page, h.n, 0);
	u->h[i] = u->h[--u->nh];
	u->n_free++;
}

/* steps random operations; every `drain_every` steps most live ranges are freed. */
static void random_ops(struct run *u, int steps, int drain_every)
{
	for (int step = 0; step < steps; step++) {
		uint64_t x = rng_below(&u->r, 100);
		if (drain_every && step % drain_every == drain_every - 1) {
			while (u->nh > u->m.pages / 64)
				op_free(u);
		} else if (x < 56) {
			op_alloc(u, step);
		} else if (x < 64) {
			op_reserve(u, step);
		} else {
			op_free(u);
		}
		verify(u, step);
	}
}

static void test_random(uint64_t seed, uint64_t pages, uint32_t lc, uint32_t ic, int steps,
			unsigned min_height, bool one)
{
	struct run u;
	run_init(&u, seed, pages, lc, ic, SIZE_MAX, one);
	random_ops(&u, steps, steps / 5);
	while (u.nh)
		op_free(&u);
	verify(&u, steps);
	CHECK(va_btree_height(u.st) == 1, "drained tree has height %u", va_btree_height(u.st));
	CHECK(u.max_height >= min_height, "caps %u/%u: height only reached %u", lc, ic,
	      u.max_height);
	CHECK(u.n_alloc && u.n_enomem && u.n_res && u.n_busy, "an outcome never happened");
	uint64_t fast, slow;
	struct vbt_counts k;
	va_btree_path_counts(u.st, &fast, &slow);
	va_btree_smo_counts(u.st, VBT_CPU_SLOTS, &k);
	/* one tree: first fit never takes the serialised path alone (splits,
	 * merges and borrows are lock-coupled structure changes, va_btree_smo.c);
	 * with zones, edits across two zones' trees and MM_ENOMEM take it */
	CHECK(fast > 0 && (!one || (slow == 0 && k.serial == 0)),
	      "fast %" PRIu64 ", slow %" PRIu64 ", serial %" PRIu64, fast, slow, k.serial);
	CHECK(k.splits && k.merges && k.borrows && k.roots && k.xleaf,
	      "structure changes %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64, k.splits, k.merges,
	      k.borrows, k.roots);
	printf("random caps %u/%u%s: %d steps, height <= %u, %" PRIu64 " allocs, %" PRIu64
	       " ENOMEM, %" PRIu64 " reserves, %" PRIu64 " busy, %zu frames, %" PRIu64
	       " fast / %" PRIu64 " slow (%" PRIu64 " serialised), %" PRIu64 " splits, %" PRIu64
	       " merges, %" PRIu64 " borrows, %" PRIu64 " two-leaf edits\n",
	       lc, ic, one ? " one zone" : "", steps, u.max_height, u.n_alloc, u.n_enomem, u.n_res,
	       u.n_busy, u.tps.n, fast, slow, k.serial, k.splits, k.merges, k.borrows, k.xleaf);
	run_fini(&u);
}

/* Best fit against the model: every alloc lands in the shortest fitting run
 * (lowest address among equals), with check() (size index included) and the
 * exact free ranges after every step, at several fan-outs. */
static void test_best(uint64_t seed, uint64_t pages, uint32_t lc, uint32_t ic, int steps,
		      unsigned min_height)
{
	struct run u;
	run_init_policy(&u, seed, pages, lc, ic, SIZE_MAX, true, false);
	random_ops(&u, steps, steps / 5);
	while (u.nh)
		op_free(&u);
	verify(&u, steps);
	CHECK(va_btree_height(u.st) == 1, "drained tree has height %u", va_btree_height(u.st));
	CHECK(u.max_height >= min_height, "best caps %u/%u: height only reached %u", lc, ic,
	      u.max_height);
	CHECK(u.n_alloc && u.n_enomem && u.n_res && u.n_busy, "an outcome never happened");
	printf("best caps %u/%u: %d steps, height <= %u, %" PRIu64 " allocs at the model's best "
	       "fit, %" PRIu64 " ENOMEM, %" PRIu64 " reserves, %zu frames\n",
	       lc, ic, steps, u.max_height, u.n_alloc, u.n_enomem, u.n_res, u.tps.n);
	run_fini(&u);
}

/* Node frames run out: alloc/reserve return MM_ENOMEM, the tree stays
 * consistent, frees never fail; with frames again, allocation works. */
static void test_oom(uint64_t seed, bool best)
{
	struct run u;
	/* what init takes (the zones' root leaves; best fit: the bins, the stripes
	 * and their spares too), and a few frames more */
	run_init_policy(&u, seed, 2048, 4, 4, SIZE_MAX, best, false);
	u.tps.limit = u.tps.n + (best ? 5 : 2);
	random_ops(&u, 3000, 0);
	CHECK(u.tps.failures > 0, "the page_source never ran out");
	uint64_t fails = u.tps.failures;
	while (u.nh)
		op_free(&u);
	verify(&u, -1);
	CHECK(u.tps.failures == fails, "free asked the page_source for a frame");
	u.tps.limit = SIZE_MAX;
	random_ops(&u, 2000, 0);
	while (u.nh)
		op_free(&u);
	verify(&u, -2);
	printf("oom%s: %" PRIu64 " failed frame requests, %" PRIu64 " ENOMEM, %zu frames after\n",
	       best ? " (best fit)" : "", fails, u.n_enomem, u.tps.n);
	run_fini(&u);

	struct test_ps tps;
	tps_init(&tps, 0);
	void *st = calloc(1, va_btree_bare_ops.state_size);
	CHECK(va_btree_bare_ops.init(st, BASE, SIZE_1G, NULL, 0, &tps.ps) == MM_ENOMEM, "init OOM");
	free(st);
	tps_fini(&tps);
}

/* Alignment: a fitting range shorter than size + align - 4 KiB is still found. */
static void test_align_fallback(void)
{
	struct test_ps tps;
	tps_init(&tps, SIZE_MAX);
	void *st = vbt_new(&tps, BASE, 64, 4, 4);
	uint64_t a[64], addr;
	for (int i = 0; i < 64; i++) {
		CHECK(va_btree_bare_ops.alloc(st, 0, PAGE_SIZE, 0, &a[i]) == MM_OK, "fill");
		CHECK(a[i] == BASE + (uint64_t)i * PAGE_SIZE, "address-ordered first fit");
	}
	CHECK(va_btree_bare_ops.alloc(st, 0, PAGE_SIZE, 0, &addr) == MM_ENOMEM, "full");
	for (int i = 17; i < 33; i++) /* [17, 33): 16 pages, aligned run at 32 only */
		va_btree_bare_ops.free(st, 0, a[i], PAGE_SIZE);
	CHECK(va_btree_bare_ops.alloc(st, 0, 16 * PAGE_SIZE, 1 << 16, &addr) == MM_ENOMEM,
	      "no fit");
	va_btree_bare_ops.free(st, 0, a[16], PAGE_SIZE);
	CHECK(va_btree_bare_ops.alloc(st, 0, 16 * PAGE_SIZE, 1 << 16, &addr) == MM_OK &&
		  addr == BASE + 16 * PAGE_SIZE,
	      "exact aligned fit not found");
	CHECK(va_btree_bare_ops.alloc(st, 0, PAGE_SIZE, 1 << 16, &addr) == MM_OK &&
		  addr == BASE + 32 * PAGE_SIZE,
	      "aligned single page");
	CHECK(va_btree_bare_ops.check(st), "check");
	free(st);
	tps_fini(&tps);
}

/* The serialised path's aligned walk (vbt_slow_alloc's last resort, reached
 * after VBT_FAST_TRIES restarts) visits every subtree holding a range >= size;
 * it must hold only the path it is on, not every node visited (it locked more
 * than VBT_MAX_LOCKED nodes and panicked in a tree of 4-entry nodes with 1,000
 * two-page ranges, none holding a 16 KiB-aligned two-page block). */
static void test_slow_exact_walk(void)
{
	enum { PAGES = 4000 };
	struct test_ps tps;
	tps_init(&tps, SIZE_MAX);
	void *st = vbt_new(&tps, BASE, PAGES, 4, 4);
	uint64_t addr;
	for (int i = 0; i < PAGES; i++)
		CHECK(va_btree_bare_ops.alloc(st, 0, PAGE_SIZE, 0, &addr) == MM_OK, "fill");
	for (uint64_t k = 0; k < PAGES / 4; k++) /* pages 4k + 1, 4k + 2: unaligned to 16 KiB */
		va_btree_bare_ops.free(st, 0, BASE + (4 * k + 1) * PAGE_SIZE, 2 * PAGE_SIZE);
	struct vbt_op op;
	vbt_slow_begin(st, &op);
	int rc = vbt_slow_alloc(&op, 2 * PAGE_SIZE, 4 * PAGE_SIZE, 5 * PAGE_SIZE, 0, &addr);
	uint32_t held = op.nlocked;
	vbt_slow_end(&op);
	CHECK(rc == MM_ENOMEM, "slow aligned walk: %d, not ENOMEM", rc);
	/* the zone trees' roots (their "no range >= need" answers hold while they
	 * are held) and one path */
	CHECK(held <= VBT_CPU_SLOTS + va_btree_height(st),
	      "slow aligned walk ended holding %u nodes (height %u)", held, va_btree_height(st));
	CHECK(va_btree_bare_ops.check(st), "check");
	printf("slow aligned walk: %u nodes held at the end, height %u\n", held,
	       va_btree_height(st));
	free(st);
	tps_fini(&tps);
}

static void test_args(void)
{
	struct test_ps tps;
	tps_init(&tps, SIZE_MAX);
	void *st = vbt_new(&tps, BASE, 256, VBT_LEAF_CAP, VBT_INNER_CAP);
	uint64_t addr;
	CHECK(va_btree_bare_ops.meta_size(BASE, SIZE_1G) == 0, "meta_size");
	CHECK(va_btree_bare_ops.alloc(st, 0, 0, 0, &addr) == MM_EINVAL, "size 0");
	CHECK(va_btree_bare_ops.alloc(st, 0, PAGE_SIZE, 3 * PAGE_SIZE, &addr) == MM_EINVAL,
	      "align 3");
	CHECK(va_btree_bare_ops.alloc(st, 0, 257 * PAGE_SIZE, 0, &addr) == MM_ENOMEM, "too big");
	CHECK(va_btree_bare_ops.alloc(st, 0, UINT64_MAX, 0, &addr) == MM_ENOMEM, "huge");
	CHECK(va_btree_bare_ops.alloc(st, 0, PAGE_SIZE, 1ull << 63, &addr) == MM_ENOMEM,
	      "huge align");
	CHECK(va_btree_bare_ops.reserve(st, BASE - PAGE_SIZE, 2 * PAGE_SIZE) == MM_EINVAL, "below");
	CHECK(va_btree_bare_ops.reserve(st, BASE + 255 * PAGE_SIZE, 2 * PAGE_SIZE) == MM_EINVAL,
	      "above");
	CHECK(va_btree_bare_ops.reserve(st, BASE, 0) == MM_EINVAL, "empty");
	CHECK(va_btree_bare_ops.reserve(st, BASE, 256 * PAGE_SIZE) == MM_OK, "whole");
	CHECK(va_btree_bare_ops.alloc(st, 0, PAGE_SIZE, 0, &addr) == MM_ENOMEM, "whole reserved");
	CHECK(va_btree_bare_ops.check(st), "check");
	va_btree_bare_ops.free(st, 0, BASE, 256 * PAGE_SIZE);
	CHECK(va_btree_bare_ops.check(st), "check");
	uint8_t junk[64];
	memset(junk, 0, sizeof(junk));
	CHECK(va_btree_bare_ops.init(junk, BASE + 1, SIZE_1G, NULL, 0, &tps.ps) == MM_EINVAL,
	      "unaligned");
	CHECK(va_btree_bare_ops.init(junk, BASE, 0, NULL, 0, &tps.ps) == MM_EINVAL, "empty");
	free(st);
	tps_fini(&tps);
}

/* ---- misuse panics ---------------------------------------------------------- */

struct misuse {
	uint32_t cap;
	int kind; /* 0 double free, 1 never allocated, 2 overlapping, 3 outside */
};

static void do_misuse(void *arg)
{
	struct misuse *m = arg;
	struct test_ps tps;
	tps_init(&tps, SIZE_MAX);
	void *st = vbt_new(&tps, BASE, 4096, m->cap, m->cap);
	uint64_t a[1024];
	for (int i = 0; i < 1024; i++)
		CHECK(va_btree_bare_ops.alloc(st, 0, PAGE_SIZE, 0, &a[i]) == MM_OK, "alloc");
	for (int i = 0; i < 1024; i += 2) /* many free ranges, several levels */
		va_btree_bare_ops.free(st, 0, a[i], PAGE_SIZE);
	switch (m->kind) {
	case 0:
		va_btree_bare_ops.free(st, 0, a[501], PAGE_SIZE);
		va_btree_bare_ops.free(st, 0, a[501], PAGE_SIZE);
		break;
	case 1:
		va_btree_bare_ops.free(st, 0, a[500], PAGE_SIZE);
		break;
	case 2:
		va_btree_bare_ops.free(st, 0, a[501], 2 * PAGE_SIZE);
		break;
	default:
		va_btree_bare_ops.free(st, 0, BASE + 4096 * PAGE_SIZE, PAGE_SIZE);
		break;
	}
}

static void test_panics(void)
{
	static const char *needle[] = {"double free", "never allocated", "never allocated",
				       "outside the managed range"};
	int n = 0;
	for (int c = 0; c < 2; c++)
		for (int kind = 0; kind < 4; kind++) {
			struct misuse m = {.cap = c ? VBT_MIN_CAP : VBT_INNER_CAP, .kind = kind};
			CHECK(expect_panic(do_misuse, &m, needle[kind]),
			      "misuse %d cap %u not caught", kind, m.cap);
			n++;
		}
	printf("panics: %d misuses caught\n", n);
}

static uint64_t alloc_at(void *st, unsigned cpu, uint64_t pages)
{
	uint64_t a = 0;
	int rc = va_btree_bare_ops.alloc(st, cpu, pages * PAGE_SIZE, 0, &a);
	CHECK(rc == MM_OK, "alloc(cpu %u, %" PRIu64 " pages) = %d", cpu, pages, rc);
	return (a - BASE) / PAGE_SIZE;
}

/* Per-CPU first-fit start (1024 pages: CPU k's zone starts at page 16k): first
 * fit from the range at or after the zone start, else first fit from the base. */
static void test_cpu_hint(uint32_t leaf_cap, uint32_t inner_cap)
{
	struct test_ps tps;
	tps_init(&tps, SIZE_MAX);
	void *st = vbt_new(&tps, BASE, 1024, leaf_cap, inner_cap);
	CHECK(alloc_at(st, 3, 1) == 48 && alloc_at(st, 0, 1) == 0, "zone starts");
	va_btree_bare_ops.free(st, 3, BASE + 48 * PAGE_SIZE, PAGE_SIZE);
	va_btree_bare_ops.free(st, 0, BASE, PAGE_SIZE);
	for (uint64_t i = 0; i < 1024; i++)
		CHECK(alloc_at(st, 0, 1) == i, "cpu 0: plain address-ordered first fit");
	for (uint64_t i = 0; i < 1024; i += 2) /* single free pages at even indices */
		va_btree_bare_ops.free(st, 1, BASE + i * PAGE_SIZE, PAGE_SIZE);
	va_btree_bare_ops.free(st, 0, BASE + 601 * PAGE_SIZE, PAGE_SIZE); /* [600, 603) */
	va_btree_bare_ops.free(st, 0, BASE + 951 * PAGE_SIZE, PAGE_SIZE); /* [950, 953) */
	/* 64 zones of 16 pages, each with 8 one-page ranges: at cap 4, trees of
	 * several leaves (va_btree_height: the tallest zone tree) */
	CHECK(leaf_cap > 8 || va_btree_height(st) >= 2, "zone trees of several leaves");
	CHECK(alloc_at(st, 1, 2) == 600, "cpu 1 (zone at 16): the first fit after it");
	CHECK(alloc_at(st, 60, 2) == 950, "cpu 60 (zone at 960): none after it, first fit");
	CHECK(alloc_at(st, 60, 1) == 960, "cpu 60: a single page in its zone");
	CHECK(alloc_at(st, 33, 1) == 528, "cpu 33 (zone at 528)");
	CHECK(va_btree_bare_ops.alloc(st, 7, 2 * PAGE_SIZE, 0, &(uint64_t){0}) == MM_ENOMEM,
	      "no 2-page run left anywhere");
	CHECK(va_btree_bare_ops.check(st), "check");
	free(st);
	tps_fini(&tps);
}

/* Leaves below n. */
static uint64_t leaves_below(const struct vbt_node *n)
{
	uint64_t k = 0;
	if (!n->level)
		return 1;
	for (uint32_t i = 0; i < n->count; i++)
		k += leaves_below(n->in.child[i]);
	return k;
}

/* Frees in address order fill the leaves to 3/4, not to their minimum (a split
 * leaves the left half at the minimum, and the shed to it, va_btree_smo.c,
 * lifts it before the next split): 2n single pages, then every other one freed
 * page by page upwards (va_bench --holes' layout), the model compared after
 * every free; then the leaves hold >= 0.65 of their cap on average (0.5 when
 * every full leaf splits). */
static void test_in_order(uint32_t lc, uint32_t ic)
{
	struct run u;
	uint64_t n = 40 * lc, addr;
	run_init(&u, 1, 2 * n + 8, lc, ic, SIZE_MAX, true);
	for (uint64_t i = 0; i < 2 * n; i++) {
		CHECK(va_btree_bare_ops.alloc(u.st, 0, PAGE_SIZE, 0, &addr) == MM_OK &&
			  addr == BASE + i * PAGE_SIZE,
		      "in order: page %" PRIu64 " at %#" PRIx64, i, addr);
		vmodel_set(&u.m, i, 1, 1);
	}
	for (uint64_t i = 0; i < n; i++) {
		va_btree_bare_ops.free(u.st, 0, BASE + (2 * i + 1) * PAGE_SIZE, PAGE_SIZE);
		vmodel_set(&u.m, 2 * i + 1, 1, 0);
		verify(&u, (int)i);
	}
	const struct va_btree *t = u.st;
	uint64_t leaves = leaves_below(t->zone[0].root), ranges = n + 1;
	CHECK(100 * ranges >= 65 * (uint64_t)lc * leaves,
	      "caps %u/%u: %" PRIu64 " ranges in %" PRIu64 " leaves (%.2f of the cap)", lc, ic,
	      ranges, leaves, (double)ranges / (double)(leaves * lc));
	printf("in order caps %u/%u: %" PRIu64 " ranges in %" PRIu64 " leaves (%.2f of the cap)\n",
	       lc, ic, ranges, leaves, (double)ranges / (double)(leaves * lc));
	for (uint64_t i = 0; i < n; i++)
		va_btree_bare_ops.free(u.st, 0, BASE + 2 * i * PAGE_SIZE, PAGE_SIZE);
	CHECK(va_btree_bare_ops.check(u.st) && va_btree_height(u.st) == 1, "in order: drained");
	run_fini(&u);
}

int main(void)
{
	uint64_t seed = test_seed("va_btree_test", 20261201);
	test_cpu_hint(4, 4);
	test_cpu_hint(VBT_LEAF_CAP, VBT_INNER_CAP);
	test_args();
	test_align_fallback();
	test_slow_exact_walk();
	test_in_order(4, 4);
	test_in_order(VBT_LEAF_CAP, VBT_INNER_CAP);
	test_random(seed, 4096, 4, 4, 20000, 5, true);
	test_random(seed + 1, 2048, 5, 4, 12000, 4, true);
	test_random(seed + 2, 2048, 8, 6, 8000, 3, true);
	test_random(seed + 3, 2048, VBT_LEAF_CAP, VBT_INNER_CAP, 8000, 2, true);
	/* wide inner nodes over narrow leaves: inner borrows move several children */
	test_random(seed + 11, 4096, 4, 12, 20000, 3, true);
	test_random(seed + 9, 4096, 4, 4, 20000, 2, false);
	test_random(seed + 10, 2048, 5, 4, 12000, 2, false);
	test_oom(seed + 4, false);
	test_oom(seed + 8, true);
	test_best(seed + 5, 4096, 4, 4, 12000, 4);
	test_best(seed + 6, 2048, 5, 4, 8000, 3);
	test_best(seed + 7, 2048, VBT_LEAF_CAP, VBT_INNER_CAP, 6000, 2);
	if (MM_DEBUG)
		test_panics();
	printf("va_btree_test: ok\n");
	return 0;
}
