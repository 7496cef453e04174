/* va_qcache_test.c: the per-CPU quantum caches of VIRT=btree (va_btree_qcache.c)
 * by what they must do beyond the shared suite (va_test, va_mt_test): a free of
 * a cached size comes back to the same CPU's next alloc of that size (LIFO),
 * bins stop at their depth, other sizes, alignments and CPUs miss; cached space
 * is flushed before an alloc fails or a reserve answers busy; a CPU whose bin
 * frame cannot be had still works (uncached); stats count cached space as free
 * and join it with its neighbours; double frees of cached ranges panic. */
#include "va_btree_fixture.h"

#define BASE  (1ull << 44)
#define DEPTH 7 /* VQC_DEPTH */

static void *qc_new(struct test_ps *p, uint64_t pages)
{
	void *st = aligned_alloc(64, MM_ALIGN_UP(va_btree_ops.state_size, (size_t)64));
	CHECK(st, "out of memory");
	memset(st, 0, va_btree_ops.state_size);
	CHECK(va_btree_ops.init(st, BASE, pages * PAGE_SIZE, NULL, 0, &p->ps) == MM_OK, "init");
	return st;
}

static uint64_t alloc_ok(void *st, unsigned cpu, uint64_t size, uint64_t align)
{
	uint64_t a = 0;
	int rc = va_btree_ops.alloc(st, cpu, size, align, &a);
	CHECK(rc == MM_OK, "alloc(cpu %u, %#" PRIx64 ", align %#" PRIx64 ") = %d", cpu, size, align,
	      rc);
	return a;
}

static void stats(void *st, struct va_stats *s)
{
	CHECK(va_btree_ops.check(st), "check");
	va_btree_ops.stats(st, s);
}

/* LIFO reuse on the freeing CPU, bin depth, and what misses. */
static void test_hits(void)
{
	struct test_ps tps;
	tps_init(&tps, SIZE_MAX);
	void *st = qc_new(&tps, 4096);
	uint64_t a[DEPTH + 2], h0, m0, h1, m1, cached;
	for (int i = 0; i < DEPTH + 2; i++)
		a[i] = alloc_ok(st, 0, 3 * PAGE_SIZE, 0);
	va_btree_qcache_counts(st, &h0, &m0, &cached);
	CHECK(h0 == 0 && m0 == DEPTH + 2 && cached == 0, "fresh: %" PRIu64 " hits", h0);
	for (int i = 0; i < DEPTH + 2; i++)
		va_btree_ops.free(st, 1, a[i], 3 * PAGE_SIZE - 100); /* same page count */
	va_btree_qcache_counts(st, &h1, &m1, &cached);
	CHECK(cached == 0, "cpu 1 had no bin frame yet, so nothing is cached");
	for (int i = 0; i < DEPTH + 2; i++)
		a[i] = alloc_ok(st, 1, 3 * PAGE_SIZE, 0); /* misses; cpu 1 gets its frame */
	for (int i = 0; i < DEPTH + 2; i++)
		va_btree_ops.free(st, 1, a[i], 3 * PAGE_SIZE);
	va_btree_qcache_counts(st, &h1, &m1, &cached);
	CHECK(cached == DEPTH * 3 * PAGE_SIZE, "cached %" PRIu64 " bytes, want %d ranges", cached,
	      DEPTH);
	CHECK(alloc_ok(st, 1, 3 * PAGE_SIZE, 0) == a[DEPTH - 1], "LIFO: last cached comes first");
	uint64_t b = alloc_ok(st, 0, 3 * PAGE_SIZE, 0);	      /* cpu 0's bin is empty */
	uint64_t c = alloc_ok(st, 1, 3 * PAGE_SIZE, SIZE_2M); /* alignment > 4 KiB: tree */
	CHECK(c % SIZE_2M == 0, "aligned");
	uint64_t d = alloc_ok(st, 1, 2 * PAGE_SIZE, 0); /* other size: tree */
	va_btree_qcache_counts(st, &h1, &m1, &cached);
	CHECK(h1 == 1 && cached == (DEPTH - 1) * 3 * PAGE_SIZE, "one hit: %" PRIu64, h1);
	va_btree_ops.free(st, 0, b, 3 * PAGE_SIZE);
	va_btree_ops.free(st, 1, c, 3 * PAGE_SIZE);
	va_btree_ops.free(st, 1, d, 2 * PAGE_SIZE);
	va_btree_ops.free(st, 1, a[DEPTH - 1], 3 * PAGE_SIZE);
	uint64_t big = alloc_ok(st, 0, 600 * PAGE_SIZE, 0); /* above 2 MiB: never cached */
	va_btree_ops.free(st, 0, big, 600 * PAGE_SIZE);
	struct va_stats s;
	stats(st, &s);
	CHECK(s.reserved_bytes == 0 && s.free_bytes == 4096 * PAGE_SIZE, "all free again");
	CHECK(s.free_ranges == 1 && s.largest_free == 4096 * PAGE_SIZE,
	      "cached ranges join their neighbours: %" PRIu64 " runs, largest %#" PRIx64,
	      s.free_ranges, s.largest_free);
	free(st);
	tps_fini(&tps);
}

/* Cached space is given back before ENOMEM and before EBUSY. */
static void test_flush(void)
{
	struct test_ps tps;
	tps_init(&tps, SIZE_MAX);
	enum { N = 64 };
	void *st = qc_new(&tps, N);
	uint64_t a[N], x;
	for (int i = 0; i < N; i++)
		a[i] = alloc_ok(st, (unsigned)i % 4, PAGE_SIZE, 0);
	CHECK(va_btree_ops.alloc(st, 0, PAGE_SIZE, 0, &x) == MM_ENOMEM, "full");
	for (int i = 0; i < N; i++)
		va_btree_ops.free(st, (unsigned)i % 4, a[i], PAGE_SIZE);
	uint64_t h, m, cached;
	va_btree_qcache_counts(st, &h, &m, &cached);
	CHECK(cached == 4 * DEPTH * PAGE_SIZE, "4 CPUs x %d cached pages, got %" PRIu64, DEPTH,
	      cached / PAGE_SIZE);
	CHECK(alloc_ok(st, 5, N * PAGE_SIZE, 0) == BASE, "whole range after a flush");
	va_btree_ops.free(st, 5, BASE, N * PAGE_SIZE);
	for (int i = 0; i < N; i++)
		a[i] = alloc_ok(st, 2, PAGE_SIZE, 0);
	for (int i = 0; i < N; i++)
		va_btree_ops.free(st, 2, a[i], PAGE_SIZE);
	va_btree_qcache_counts(st, &h, &m, &cached);
	CHECK(cached == DEPTH * PAGE_SIZE, "cpu 2 caches %d pages", DEPTH);
	CHECK(va_btree_ops.reserve(st, BASE, N * PAGE_SIZE) == MM_OK, "reserve after a flush");
	struct va_stats s;
	stats(st, &s);
	CHECK(s.reserved_bytes == N * PAGE_SIZE && s.free_ranges == 0, "reserved all");
	va_btree_ops.free(st, 0, BASE, N * PAGE_SIZE);
	free(st);
	tps_fini(&tps);
}

/* Without frames for bins the caches are bypassed; nothing breaks or leaks. */
static void test_no_frames(void)
{
	struct test_ps tps;
	tps_init(&tps, SIZE_MAX);
	void *st = qc_new(&tps, 1024);
	tps.limit = tps.n; /* the tree has its root; no frame for any bin */
	uint64_t a = alloc_ok(st, 0, 5 * PAGE_SIZE, 0), h, m, cached;
	va_btree_ops.free(st, 0, a, 5 * PAGE_SIZE);
	va_btree_qcache_counts(st, &h, &m, &cached);
	CHECK(cached == 0 && tps.failures > 0, "no bin frame, nothing cached");
	CHECK(alloc_ok(st, 0, 5 * PAGE_SIZE, 0) == a, "tree first fit");
	va_btree_ops.free(st, 0, a, 5 * PAGE_SIZE);
	struct va_stats s;
	stats(st, &s);
	CHECK(s.free_ranges == 1 && s.reserved_bytes == 0, "all free");
	free(st);
	tps_fini(&tps);
}

/* Stats join cached ranges with each other and with tree ranges on both sides. */
static void test_stats_runs(void)
{
	struct test_ps tps;
	tps_init(&tps, SIZE_MAX);
	void *st = qc_new(&tps, 64);
	uint64_t a[8];
	for (int i = 0; i < 8; i++)
		a[i] = alloc_ok(st, 0, 2 * PAGE_SIZE, 0); /* pages [0, 16) */
	va_btree_ops.free(st, 0, a[0], 2 * PAGE_SIZE);	  /* cached: cpu 0 has its bin frame */
	struct va_stats s;
	stats(st, &s);
	uint64_t h, m, cached;
	va_btree_qcache_counts(st, &h, &m, &cached);
	CHECK(cached == 2 * PAGE_SIZE, "a[0] cached");
	CHECK(s.free_ranges == 2 && s.largest_free == 48 * PAGE_SIZE, "runs %" PRIu64,
	      s.free_ranges);
	va_btree_ops.free(st, 0, a[1], 2 * PAGE_SIZE); /* cached, joins a[0]: [0, 4) */
	va_btree_ops.free(st, 0, a[7], 2 * PAGE_SIZE); /* cached, joins the tree's [16, 64) */
	stats(st, &s);
	CHECK(s.free_ranges == 2 && s.largest_free == 50 * PAGE_SIZE,
	      "runs %" PRIu64 ", largest %" PRIu64 " pages", s.free_ranges,
	      s.largest_free / PAGE_SIZE);
	CHECK(s.free_bytes == 54 * PAGE_SIZE && s.reserved_bytes == 10 * PAGE_SIZE, "bytes");
	for (int i = 2; i < 7; i++)
		va_btree_ops.free(st, 0, a[i], 2 * PAGE_SIZE); /* 5 more: the bin overflows */
	stats(st, &s);
	CHECK(s.free_ranges == 1 && s.largest_free == 64 * PAGE_SIZE && s.reserved_bytes == 0,
	      "one run of cached and tree pieces: %" PRIu64, s.free_ranges);
	free(st);
	tps_fini(&tps);
}

struct df {
	int kind;
};

static void do_double_free(void *arg)
{
	struct df *d = arg;
	struct test_ps tps;
	tps_init(&tps, SIZE_MAX);
	void *st = qc_new(&tps, 64);
	uint64_t a = alloc_ok(st, 0, PAGE_SIZE, 0); /* a miss: cpu 0 gets its bin frame */
	va_btree_ops.free(st, 0, a, PAGE_SIZE);	    /* cached */
	CHECK(alloc_ok(st, 0, PAGE_SIZE, 0) == a, "hit");
	va_btree_ops.free(st, 0, a, PAGE_SIZE);			/* cached again */
	va_btree_ops.free(st, (unsigned)d->kind, a, PAGE_SIZE); /* double: same or other CPU */
}

static void test_double_free(void)
{
	if (!MM_DEBUG) {
		printf("  double-free panics not tested (needs MM_DEBUG)\n");
		return;
	}
	for (int kind = 0; kind < 2; kind++) {
		struct df d = {kind};
		CHECK(expect_panic(do_double_free, &d, "never allocated"),
		      "double free of a cached range (cpu %d) not caught", kind);
	}
	printf("  double frees of cached ranges panic\n");
}

int main(void)
{
	test_hits();
	test_flush();
	test_no_frames();
	test_stats_runs();
	test_double_free();
	printf("va_qcache_test: ok\n");
	return 0;
}
