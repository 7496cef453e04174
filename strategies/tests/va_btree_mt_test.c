/* va_btree_mt_test.c: 2 and 8 threads hammer one B+-tree VA allocator with
 * alloc/free/reserve (default fan-out and fan-out 4, so splits and merges race
 * with optimistic readers). Every page of a live range is claimed in a shared
 * byte map by atomic CAS, so two live ranges that overlap fail the test at
 * once. At the end: exact accounting against the threads' holdings, check(),
 * then everything freed back to one range. Also built under TSan (fewer ops).
 * MTB_VA_OPS=<n> sets the operations per run. */
#include "va_btree_fixture.h"

#define BASE	 ((uint64_t)1 << 40)
#define MAX_HELD 96

struct shared {
	void *st;
	uint64_t pages;
	uint8_t *owner; /* per page: holder thread + 1, or 0 */
	uint64_t ops;	/* per thread */
};

struct held {
	uint64_t addr, size, n;
};

struct worker {
	pthread_t th;
	struct shared *sh;
	unsigned id;
	struct rng r;
	struct held h[MAX_HELD];
	size_t nh;
	uint64_t n_alloc, n_enomem, n_res, n_busy;
};

static void claim(struct worker *w, uint64_t addr, uint64_t n)
{
	uint64_t p = (addr - BASE) / PAGE_SIZE;
	CHECK(addr >= BASE && p + n <= w->sh->pages, "range %#" PRIx64 " outside", addr);
	for (uint64_t i = 0; i < n; i++) {
		uint8_t zero = 0;
		bool ok =
		    __atomic_compare_exchange_n(&w->sh->owner[p + i], &zero, (uint8_t)(w->id + 1),
						false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		CHECK(ok, "thread %u: page %#" PRIx64 " already held by thread %u", w->id,
		      BASE + (p + i) * PAGE_SIZE, zero - 1u);
	}
}

static void unclaim(struct worker *w, uint64_t addr, uint64_t n)
{
	uint64_t p = (addr - BASE) / PAGE_SIZE;
	for (uint64_t i = 0; i < n; i++) {
		uint8_t was = __atomic_exchange_n(&w->sh->owner[p + i], 0, __ATOMIC_ACQ_REL);
		CHECK(was == w->id + 1, "thread %u: page lost its owner (%u)", w->id, was);
	}
}

static void w_alloc(struct worker *w)
{
	static const uint64_t aligns[] = {0, 0, 0, 0, 0, PAGE_SIZE, 1 << 14, 1 << 16};
	uint64_t n = rng_below(&w->r, 8) ? 1 + rng_below(&w->r, 8) : 1 + rng_below(&w->r, 48);
	uint64_t align = aligns[rng_below(&w->r, sizeof(aligns) / sizeof(aligns[0]))], addr;
	int rc = va_btree_bare_ops.alloc(w->sh->st, w->id, n * PAGE_SIZE, align, &addr);
	if (rc == MM_ENOMEM) {
		w->n_enomem++;
		return;
	}
	CHECK(rc == MM_OK, "alloc: %d", rc);
	CHECK(addr % MM_MAX(align, PAGE_SIZE) == 0, "misaligned %#" PRIx64, addr);
	claim(w, addr, n);
	w->h[w->nh++] = (struct held){addr, n * PAGE_SIZE, n};
	w->n_alloc++;
}

static void w_reserve(struct worker *w)
{
	uint64_t n = 1 + rng_below(&w->r, 4), p = rng_below(&w->r, w->sh->pages - n);
	int rc = va_btree_bare_ops.reserve(w->sh->st, BASE + p * PAGE_SIZE, n * PAGE_SIZE);
	if (rc == MM_EBUSY) {
		w->n_busy++;
		return;
	}
	CHECK(rc == MM_OK, "reserve: %d", rc);
	claim(w, BASE + p * PAGE_SIZE, n);
	w->h[w->nh++] = (struct held){BASE + p * PAGE_SIZE, n * PAGE_SIZE, n};
	w->n_res++;
}

static void w_free(struct worker *w)
{
	size_t i = (size_t)rng_below(&w->r, w->nh);
	struct held h = w->h[i];
	unclaim(w, h.addr, h.n);
	va_btree_bare_ops.free(w->sh->st, w->id, h.addr, h.size);
	w->h[i] = w->h[--w->nh];
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (uint64_t k = 0; k < w->sh->ops; k++) {
		uint64_t x = rng_below(&w->r, 100);
		if (w->nh && (w->nh == MAX_HELD || x < 45))
			w_free(w);
		else if (x < 50)
			w_reserve(w);
		else
			w_alloc(w);
	}
	return NULL;
}

static void run(unsigned nthreads, uint32_t cap_leaf, uint32_t cap_inner, uint64_t pages,
		uint64_t total_ops, uint64_t seed)
{
	struct test_ps tps;
	tps_init(&tps, SIZE_MAX);
	struct shared sh = {.st = vbt_new(&tps, BASE, pages, cap_leaf, cap_inner),
			    .pages = pages,
			    .owner = calloc(pages, 1),
			    .ops = total_ops / nthreads};
	struct worker *w = calloc(nthreads, sizeof(*w));
	CHECK(sh.owner && w, "out of memory");
	for (unsigned i = 0; i < nthreads; i++) {
		w[i] = (struct worker){.sh = &sh, .id = i, .r = {seed * 1000 + i}};
		CHECK(pthread_create(&w[i].th, NULL, worker_main, &w[i]) == 0, "pthread_create");
	}
	uint64_t held = 0, allocs = 0, enomem = 0, res = 0, busy = 0, fast, slow;
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(w[i].th, NULL);
		for (size_t k = 0; k < w[i].nh; k++)
			held += w[i].h[k].size;
		allocs += w[i].n_alloc;
		enomem += w[i].n_enomem;
		res += w[i].n_res;
		busy += w[i].n_busy;
	}
	CHECK(va_btree_bare_ops.check(sh.st), "check after the threads");
	struct va_stats s;
	va_btree_bare_ops.stats(sh.st, &s);
	CHECK(s.reserved_bytes == held && s.free_bytes == s.size - held,
	      "reserved %" PRIu64 ", threads hold %" PRIu64, s.reserved_bytes, held);
	unsigned height = va_btree_height(sh.st);
	for (unsigned i = 0; i < nthreads; i++)
		while (w[i].nh)
			w_free(&w[i]);
	CHECK(va_btree_bare_ops.check(sh.st), "check after freeing everything");
	va_btree_bare_ops.stats(sh.st, &s);
	CHECK(s.reserved_bytes == 0 && s.free_ranges == 1 && s.largest_free == s.size,
	      "not back to one range: %" PRIu64 " ranges", s.free_ranges);
	va_btree_path_counts(sh.st, &fast, &slow);
	CHECK(fast > 0 && allocs > 0 && res > 0, "no optimistic operation or no allocation");
	printf("%u threads, caps %u/%u: %" PRIu64 " allocs, %" PRIu64 " ENOMEM, %" PRIu64
	       " reserves, %" PRIu64 " busy, height %u at the end, %" PRIu64 " fast / %" PRIu64
	       " slow\n",
	       nthreads, cap_leaf, cap_inner, allocs, enomem, res, busy, height, fast, slow);
	free(sh.st);
	free(sh.owner);
	free(w);
	tps_fini(&tps);
}

int main(void)
{
	uint64_t seed = test_seed("va_btree_mt_test", 7);
	const char *e = getenv("MTB_VA_OPS");
#ifdef __SANITIZE_THREAD__
	uint64_t ops = e ? strtoull(e, NULL, 0) : 30000; /* TSan runs ~30x slower */
#else
	uint64_t ops = e ? strtoull(e, NULL, 0) : 200000;
#endif
	run(2, VBT_LEAF_CAP, VBT_INNER_CAP, 1 << 16, ops, seed);
	run(8, VBT_LEAF_CAP, VBT_INNER_CAP, 1 << 16, ops, seed + 1);
	run(2, VBT_MIN_CAP, VBT_MIN_CAP, 1 << 14, ops, seed + 2);
	run(8, VBT_MIN_CAP, VBT_MIN_CAP, 1 << 14, ops, seed + 3);
	printf("va_btree_mt_test: ok\n");
	return 0;
}
