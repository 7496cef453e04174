/* va_test.c: every VA strategy of va_strategies.c through one suite against a
 * page-exact reference model (va_model.h): seeded random alloc/free/reserve
 * sequences with check() after every step and exact accounting, alignment, no
 * overlap, exact ENOMEM, reserve() semantics, argument errors, fill/drain, misuse
 * panics (forked, MM_DEBUG), and a printout of metadata bytes per TiB. */
#include "va_model.h"

struct held {
	uint64_t addr, size; /* as passed to alloc/reserve and free */
	uint64_t lo, len;    /* what it holds */
};

struct run {
	struct va_inst vi;
	struct va_model m;
	struct rng r;
	struct held *h;
	size_t nh, cap;
	uint64_t reserved;			   /* model's reserved bytes */
	uint64_t n_ok, n_enomem, n_res_ok, n_busy, n_inval; /* outcomes seen */
};

static uint64_t reserved_now(const struct run *u)
{
	struct va_stats s;
	u->vi.ops->stats(u->vi.st, &s);
	return s.reserved_bytes;
}

static void expect_stats(const struct run *u, int step)
{
	const struct va_strategy *vs = u->vi.s;
	const char *name = vs->ops->name;
	struct va_stats s;
	vs->ops->stats(u->vi.st, &s);
	uint64_t runs, lrun, lblock;
	va_model_runs(&u->m, vs->max_block ? vs->max_block : 1ull << 63, &runs, &lrun, &lblock);
	CHECK(s.size == u->vi.size && s.reserved_bytes + s.free_bytes == s.size,
	      "%s step %d: reserved %" PRIu64 " + free %" PRIu64 " != size", name, step,
	      s.reserved_bytes, s.free_bytes);
	CHECK(s.free_bytes == va_model_free_bytes(&u->m) && s.reserved_bytes == u->reserved,
	      "%s step %d: free %" PRIu64 ", model %" PRIu64, name, step, s.free_bytes,
	      va_model_free_bytes(&u->m));
	CHECK(s.free_ranges == runs, "%s step %d: free_ranges %" PRIu64 ", model %" PRIu64, name,
	      step, s.free_ranges, runs);
	uint64_t want = vs->pow2 ? lblock : vs->max_block ? MM_MIN(lrun, vs->max_block) : lrun;
	CHECK(s.largest_free == want, "%s step %d: largest_free %" PRIu64 ", model %" PRIu64,
	      name, step, s.largest_free, want);
	CHECK(s.granule == vs->granule && s.meta_bytes > 0, "%s: granule/meta", name);
}

static void hold(struct run *u, struct held h)
{
	if (u->nh == u->cap) {
		u->cap = u->cap ? 2 * u->cap : 256;
		u->h = realloc(u->h, u->cap * sizeof(*u->h));
		CHECK(u->h, "out of memory");
	}
	u->h[u->nh++] = h;
	va_model_set(&u->m, h.lo, h.len, 1);
	u->reserved += h.len;
}

/* Log-uniform 1 byte .. max_sz, mostly page multiples. */
static uint64_t pick_size(struct rng *r, uint64_t max_sz)
{
	uint64_t s = 1 + rng_below(r, 1ull << rng_below(r, mm_log2_floor(max_sz) + 1));
	return rng_below(r, 4) ? MM_ALIGN_UP(s, PAGE_SIZE) : s;
}

static uint64_t pick_align(struct rng *r)
{
	static const uint64_t a[] = {0, 0, 0, 0, PAGE_SIZE, 1 << 16, SIZE_2M, 1 << 23, SIZE_1G, 1};
	return a[rng_below(r, sizeof(a) / sizeof(a[0]))];
}

static void op_alloc(struct run *u, uint64_t max_sz, int step)
{
	const struct va_strategy *vs = u->vi.s;
	uint64_t size = pick_size(&u->r, max_sz), align = pick_align(&u->r), addr = 0;
	uint64_t len = va_strategy_round(vs, size), al = MM_MAX(align, vs->granule);
	int rc = vs->ops->alloc(u->vi.st, (unsigned)rng_below(&u->r, 4), size, align, &addr);
	uint64_t need = vs->pow2 ? MM_MAX(len, al) : len, need_al = vs->pow2 ? need : al;
	if (rc == MM_ENOMEM) {
		CHECK((vs->max_block && need > vs->max_block) || !va_model_fits(&u->m, need, need_al),
		      "%s step %d: ENOMEM for %#" PRIx64 " align %#" PRIx64 " with room",
		      vs->ops->name, step, size, align);
		u->n_enomem++;
		return;
	}
	CHECK(rc == MM_OK, "%s step %d: alloc(%#" PRIx64 ", %#" PRIx64 ") = %d", vs->ops->name,
	      step, size, align, rc);
	CHECK(addr % al == 0 && (!vs->pow2 || addr % len == 0), "%s: %#" PRIx64 " misaligned",
	      vs->ops->name, addr);
	CHECK(va_model_all(&u->m, addr, len, 0),
	      "%s step %d: [%#" PRIx64 ", +%#" PRIx64 ") not free in the model (overlap)",
	      vs->ops->name, step, addr, len);
	hold(u, (struct held){addr, size, addr, len});
	CHECK(reserved_now(u) == u->reserved, "%s step %d: reserved_bytes after alloc of %#" PRIx64,
	      vs->ops->name, step, size);
	u->n_ok++;
}

static void op_free(struct run *u, int step)
{
	if (u->nh == 0)
		return;
	size_t i = (size_t)rng_below(&u->r, u->nh);
	struct held h = u->h[i];
	u->vi.ops->free(u->vi.st, (unsigned)rng_below(&u->r, 4), h.addr, h.size);
	va_model_set(&u->m, h.lo, h.len, 0);
	u->reserved -= h.len;
	u->h[i] = u->h[--u->nh];
	CHECK(reserved_now(u) == u->reserved, "%s step %d: reserved_bytes after free",
	      u->vi.ops->name, step);
}

/* What reserve(addr, size) must answer, and the granule range it takes. */
static int reserve_want(const struct run *u, uint64_t addr, uint64_t size, uint64_t *lo,
			uint64_t *hi)
{
	uint64_t g = u->vi.s->granule, end = u->vi.base + u->vi.size;
	if (size == 0 || addr < u->vi.base || addr >= end || size > end - addr)
		return MM_EINVAL;
	*lo = MM_ALIGN_DOWN(addr, g);
	*hi = MM_ALIGN_UP(addr + size, g);
	return va_model_all(&u->m, *lo, *hi - *lo, 0) ? MM_OK : MM_EBUSY;
}

static void op_reserve(struct run *u, int step)
{
	uint64_t g = u->vi.s->granule, x = rng_below(&u->r, 10);
	uint64_t addr = u->vi.base + rng_below(&u->r, u->vi.size / g) * g;
	uint64_t size = (1 + rng_below(&u->r, 8)) * g;
	if (x < 3) /* any page, any length */
		addr += rng_below(&u->r, g / PAGE_SIZE) * PAGE_SIZE, size -= rng_below(&u->r, g);
	else if (x == 3) /* across an edge */
		addr = rng_below(&u->r, 2) ? u->vi.base - g : u->vi.base + u->vi.size - g;
	uint64_t lo = 0, hi = 0;
	int want = reserve_want(u, addr, size, &lo, &hi);
	int rc = u->vi.ops->reserve(u->vi.st, addr, size);
	if (rc == MM_ENOMEM && want == MM_OK && u->vi.ops == &va_freelist_ops) {
		struct va_stats s; /* no cpu to grow with: only when its storage is full */
		u->vi.ops->stats(u->vi.st, &s);
		uint64_t cap = u->vi.vh.spill.live_bytes ? u->vi.vh.spill.live_bytes / 16 : 16;
		if (s.free_ranges == cap)
			want = MM_ENOMEM;
	}
	CHECK(rc == want, "%s step %d: reserve(%#" PRIx64 ", %#" PRIx64 ") = %d, model says %d",
	      u->vi.ops->name, step, addr, size, rc, want);
	u->n_res_ok += rc == MM_OK;
	u->n_busy += rc == MM_EBUSY;
	u->n_inval += rc == MM_EINVAL;
	if (rc == MM_OK)
		hold(u, (struct held){addr, size, lo, hi - lo});
	CHECK(reserved_now(u) == u->reserved, "%s step %d: reserved_bytes after reserve",
	      u->vi.ops->name, step);
}

static void run_init(struct run *u, const struct va_strategy *vs, uint64_t base, uint64_t size,
		     uint64_t seed)
{
	memset(u, 0, sizeof(*u));
	va_inst_init(&u->vi, vs, base, size);
	va_model_init(&u->m, base, size);
	u->r.s = seed;
}

static void run_fini(struct run *u)
{
	free(u->h);
	free(u->m.used);
	va_inst_fini(&u->vi);
}

static void random_sequence(const struct va_strategy *vs, uint64_t base, uint64_t size,
			    uint64_t seed, int steps)
{
	struct run u;
	run_init(&u, vs, base, size, seed);
	uint64_t max_sz = MM_MAX(size / 16, vs->granule);
	expect_stats(&u, -1);
	for (int step = 0; step < steps; step++) {
		/* Phases fill up, churn, drain, so ENOMEM and merging both happen. */
		int phase = (step / 500) % 3;
		uint64_t x = rng_below(&u.r, 100), p_alloc = phase == 0 ? 75 : phase == 1 ? 50 : 20;
		if (x < 10)
			op_reserve(&u, step);
		else if (x < 10 + p_alloc)
			op_alloc(&u, max_sz, step);
		else
			op_free(&u, step);
		CHECK(vs->ops->check(u.vi.st), "check");
		if (step % 16 == 0)
			expect_stats(&u, step);
	}
	while (u.nh)
		op_free(&u, steps);
	CHECK(vs->ops->check(u.vi.st), "check");
	expect_stats(&u, steps);
	printf("  %s [%#" PRIx64 ", +%#" PRIx64 "): %d steps ok (alloc ok/ENOMEM %" PRIu64
	       "/%" PRIu64 ", reserve ok/busy/inval %" PRIu64 "/%" PRIu64 "/%" PRIu64 ")\n",
	       vs->ops->name, base, size, steps, u.n_ok, u.n_enomem, u.n_res_ok, u.n_busy,
	       u.n_inval);
	CHECK(u.n_ok > 50 && u.n_enomem > 10 && u.n_res_ok > 10 && u.n_busy > 10 && u.n_inval > 0,
	      "%s: the sequence missed an outcome", vs->ops->name);
	run_fini(&u);
}

/* Argument errors and reserve() edges on [base, base + size), nothing held. */
static void edge_args(struct run *u, uint64_t base, uint64_t size)
{
	const struct va_ops *o = u->vi.ops;
	void *st = u->vi.st;
	uint64_t g = u->vi.s->granule, a;
	CHECK(o->alloc(st, 0, 0, 0, &a) == MM_EINVAL, "%s: size 0", o->name);
	CHECK(o->alloc(st, 0, g, 3 * g, &a) == MM_EINVAL, "%s: align 3 granules", o->name);
	CHECK(o->alloc(st, 0, size + 1, 0, &a) == MM_ENOMEM, "%s: larger than the range", o->name);
	CHECK(o->alloc(st, 0, UINT64_MAX, 0, &a) == MM_ENOMEM, "%s: 2^64 - 1 bytes", o->name);
	CHECK(o->alloc(st, 0, g, 1ull << 63, &a) == MM_ENOMEM, "%s: align 2^63", o->name);
	CHECK(o->reserve(st, base, 0) == MM_EINVAL, "%s: reserve 0 bytes", o->name);
	CHECK(o->reserve(st, base - g, g) == MM_EINVAL, "%s: reserve below", o->name);
	CHECK(o->reserve(st, base + size - g, 2 * g) == MM_EINVAL, "%s: reserve across the end",
	      o->name);
	CHECK(o->reserve(st, base + size, g) == MM_EINVAL, "%s: reserve above", o->name);
	CHECK(o->reserve(st, UINT64_MAX - PAGE_SIZE + 1, 2 * PAGE_SIZE) == MM_EINVAL,
	      "%s: reserve wrapping around", o->name);
	expect_stats(u, 0);
}

/* Argument errors, fill to ENOMEM and drain, the whole range in one piece, and a
 * reserve whose rounding differs from alloc's. */
static void edge_cases(const struct va_strategy *vs)
{
	uint64_t g = vs->granule, base = 1ull << 44, size = 64 * g, a;
	struct run u;
	run_init(&u, vs, base, size, 1);
	const struct va_ops *o = vs->ops;
	void *st = u.vi.st;
	edge_args(&u, base, size);
	uint64_t n = 0;
	while (o->alloc(st, (unsigned)n % 4, g, 0, &a) == MM_OK) {
		CHECK(va_model_all(&u.m, a, g, 0), "%s: fill overlaps", o->name);
		hold(&u, (struct held){a, g, a, g});
		n++;
	}
	CHECK(n == size / g, "%s: filled %" PRIu64 " granules of %" PRIu64, o->name, n, size / g);
	CHECK(o->check(st) && o->alloc(st, 0, g, 0, &a) == MM_ENOMEM && o->check(st),
	      "%s: ENOMEM when full", o->name);
	CHECK(o->reserve(st, base + g, g) == MM_EBUSY, "%s: reserve when full", o->name);
	expect_stats(&u, 1);
	while (u.nh)
		op_free(&u, 2);
	expect_stats(&u, 3);
	CHECK(o->alloc(st, 0, size, 0, &a) == MM_OK && a == base, "%s: whole range", o->name);
	o->free(st, 0, a, size);
	CHECK(o->reserve(st, base, 3 * g) == MM_OK, "%s: reserve 3 granules", o->name);
	CHECK(o->reserve(st, base + 2 * g, PAGE_SIZE) == MM_EBUSY, "%s: busy", o->name);
	CHECK(o->alloc(st, 1, g, 0, &a) == MM_OK, "%s: alloc next to a reserve", o->name);
	o->free(st, 0, base, 3 * g);
	CHECK(o->check(st) && reserved_now(&u) == va_strategy_round(vs, g),
	      "%s: free of a 3-granule reserve", o->name);
	o->free(st, 1, a, g);
	expect_stats(&u, 4);
	printf("  %s: edge cases ok (filled %" PRIu64 " granules)\n", o->name, n);
	run_fini(&u);
}

struct misuse {
	const struct va_strategy *vs;
	int kind; /* 0 double free, 1 never allocated, 2 outside, 3 partly free */
};

static void do_misuse(void *arg)
{
	struct misuse *mu = arg;
	uint64_t g = mu->vs->granule, base = 1ull << 44, a;
	struct va_inst vi;
	va_inst_init(&vi, mu->vs, base, 64 * g);
	const struct va_ops *o = vi.ops;
	CHECK(o->alloc(vi.st, 0, g, 0, &a) == MM_OK, "alloc");
	switch (mu->kind) {
	case 0:
		o->free(vi.st, 0, a, g);
		o->free(vi.st, 1, a, g);
		break;
	case 1:
		o->free(vi.st, 0, base + 32 * g, g);
		break;
	case 2:
		o->free(vi.st, 0, base - g, g);
		break;
	default:
		o->free(vi.st, 0, a, 2 * g);
		break;
	}
}

static void misuse(const struct va_strategy *vs)
{
	if (!MM_DEBUG) {
		printf("  %s: misuse panics not tested (needs MM_DEBUG)\n", vs->ops->name);
		return;
	}
	for (int kind = 0; kind < 4; kind++) {
		struct misuse mu = {vs, kind};
		CHECK(expect_panic(do_misuse, &mu, "never allocated"), "%s: misuse %d not caught",
		      vs->ops->name, kind);
	}
	printf("  %s: 4 misuses panic\n", vs->ops->name);
}

/* Metadata for 1 TiB: fresh, and with 10,000 free ranges (20,000 granule-sized
 * allocations, every other one freed). */
static void meta_per_tib(void)
{
	const uint64_t tib = 1ull << 40, base = 1ull << 44;
	for (unsigned i = 0; i < va_nstrategies; i++) {
		const struct va_strategy *vs = &va_strategies[i];
		size_t ms = vs->ops->meta_size(base, tib);
		if (ms > (64u << 20)) {
			printf("  meta per TiB: %s: meta area %zu bytes (not instantiated)\n",
			       vs->ops->name, ms);
			continue;
		}
		struct va_inst vi;
		va_inst_init(&vi, vs, base, tib);
		struct va_stats s0, s1;
		vs->ops->stats(vi.st, &s0);
		uint64_t *a = calloc(20000, sizeof(*a));
		for (int k = 0; k < 20000; k++)
			CHECK(vs->ops->alloc(vi.st, 0, vs->granule, 0, &a[k]) == MM_OK, "alloc");
		for (int k = 0; k < 20000; k += 2)
			vs->ops->free(vi.st, 0, a[k], vs->granule);
		vs->ops->stats(vi.st, &s1);
		printf("  meta per TiB: %s (granule %" PRIu64 " KiB): %" PRIu64
		       " bytes fresh (%.3f bits/granule), %" PRIu64 " bytes with %" PRIu64
		       " free ranges; meta area %zu bytes\n",
		       vs->ops->name, vs->granule >> 10, s0.meta_bytes,
		       (double)s0.meta_bytes * 8 / (double)(tib / vs->granule), s1.meta_bytes,
		       s1.free_ranges, ms);
		free(a);
		va_inst_fini(&vi);
	}
}

int main(void)
{
	uint64_t seed = test_seed("va_test", 42);
	for (unsigned i = 0; i < va_nstrategies; i++) {
		const struct va_strategy *vs = &va_strategies[i];
		uint64_t g = vs->granule;
		random_sequence(vs, 1ull << 44, 1ull << 31, seed, 6000);
		/* an odd base and an odd size */
		random_sequence(vs, (1ull << 44) + (1ull << 30) + 3 * g, 700 * g, seed + 1, 3000);
		edge_cases(vs);
		misuse(vs);
	}
	meta_per_tib();
	printf("va_test: ok\n");
	return 0;
}
