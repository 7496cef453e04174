/* va_mt_test.c: every VA strategy of va_strategies.c under 2 and 8 threads (one
 * CPU id each), then a longer seeded stress. Each range handed out is claimed,
 * granule by granule, in a shared owner map with a CAS from 0, so a range given
 * to two threads at once fails the test. Threads meet at a barrier after every
 * phase; then, quiescent, check() runs and the accounting must be exact:
 * reserved_bytes == bytes the threads hold, reserved + free == size; at the end
 * everything is back as one free range. Also built under TSan (shorter there). */
#include "va_strategies.h"

#define MAX_THREADS 8
#define GRANULES    4096  /* region size in granules of the strategy */
#define MAX_LIVE    256   /* ranges one thread holds at most */

#if defined(__SANITIZE_THREAD__)
#define OPS_SCALE 1 /* TSan: 4 stress phases */
#else
#define OPS_SCALE 8
#endif

struct shared {
	struct va_inst vi;
	uint8_t *owner; /* per granule: 0 or thread id + 1 */
	pthread_barrier_t bar;
	unsigned nthreads;
	int phases, ops_per_phase;
	uint64_t seed;
	uint64_t held[MAX_THREADS]; /* bytes, published before each barrier */
	uint64_t enomem, busy;	    /* outcomes (atomic) */
};

struct live {
	uint64_t addr, size, lo, len;
};

struct worker {
	struct shared *sh;
	unsigned id;
	struct live l[MAX_LIVE];
	size_t n;
};

static void claim(struct shared *sh, unsigned id, uint64_t lo, uint64_t len)
{
	uint64_t g = sh->vi.s->granule, i0 = (lo - sh->vi.base) / g;
	CHECK(lo >= sh->vi.base && lo % g == 0 && len % g == 0 && i0 + len / g <= GRANULES,
	      "%s: range %#" PRIx64 "+%#" PRIx64 " outside the region or unaligned",
	      sh->vi.ops->name, lo, len);
	for (uint64_t i = i0; i < i0 + len / g; i++) {
		uint8_t expect = 0;
		CHECK(__atomic_compare_exchange_n(&sh->owner[i], &expect, (uint8_t)(id + 1), 0,
						  __ATOMIC_RELAXED, __ATOMIC_RELAXED),
		      "%s: granule %" PRIu64 " given to thread %u while thread %u holds it",
		      sh->vi.ops->name, i, id, expect - 1u);
	}
}

static void release(struct shared *sh, unsigned id, const struct live *x)
{
	uint64_t g = sh->vi.s->granule, i0 = (x->lo - sh->vi.base) / g;
	for (uint64_t i = i0; i < i0 + x->len / g; i++) {
		uint8_t v = __atomic_exchange_n(&sh->owner[i], 0, __ATOMIC_RELAXED);
		CHECK(v == id + 1, "granule %" PRIu64 " not held by thread %u", i, id);
	}
}

static void drop(struct worker *w, size_t i)
{
	struct shared *sh = w->sh;
	release(sh, w->id, &w->l[i]);
	sh->vi.ops->free(sh->vi.st, w->id, w->l[i].addr, w->l[i].size);
	w->l[i] = w->l[--w->n];
}

static void do_reserve(struct worker *w, struct rng *r)
{
	struct shared *sh = w->sh;
	uint64_t g = sh->vi.s->granule;
	uint64_t addr = sh->vi.base + rng_below(r, GRANULES) * g, size = (1 + rng_below(r, 4)) * g;
	int rc = sh->vi.ops->reserve(sh->vi.st, addr, size);
	/* MM_ENOMEM: the free list's storage is full and reserve has no cpu to grow it */
	CHECK(rc == MM_OK || rc == MM_EBUSY ||
		  (rc == MM_EINVAL && addr + size > sh->vi.base + sh->vi.size) ||
		  (rc == MM_ENOMEM && sh->vi.ops == &va_freelist_ops),
	      "%s: reserve rc %d", sh->vi.ops->name, rc);
	if (rc == MM_EBUSY)
		__atomic_fetch_add(&sh->busy, 1, __ATOMIC_RELAXED);
	if (rc != MM_OK)
		return;
	claim(sh, w->id, addr, size);
	w->l[w->n++] = (struct live){addr, size, addr, size};
}

static void one_op(struct worker *w, struct rng *r)
{
	struct shared *sh = w->sh;
	const struct va_strategy *vs = sh->vi.s;
	if (w->n == MAX_LIVE || (w->n && rng_below(r, 100) < 48)) {
		drop(w, (size_t)rng_below(r, w->n));
		return;
	}
	if (rng_below(r, 100) < 5) {
		do_reserve(w, r);
		return;
	}
	uint64_t size = 1 + rng_below(r, vs->granule << rng_below(r, 7)), addr;
	uint64_t align = rng_below(r, 8) ? 0 : vs->granule << rng_below(r, 4);
	int rc = vs->ops->alloc(sh->vi.st, w->id, size, align, &addr);
	if (rc == MM_ENOMEM) {
		__atomic_fetch_add(&sh->enomem, 1, __ATOMIC_RELAXED);
		return;
	}
	CHECK(rc == MM_OK, "%s: alloc rc %d", vs->ops->name, rc);
	CHECK(!align || addr % align == 0, "%s: misaligned", vs->ops->name);
	uint64_t len = va_strategy_round(vs, size);
	claim(sh, w->id, addr, len);
	w->l[w->n++] = (struct live){addr, size, addr, len};
}

static void quiescent_check(struct shared *sh, int phase)
{
	const struct va_ops *ops = sh->vi.ops;
	struct va_stats s;
	CHECK(ops->check(sh->vi.st), "check");
	ops->stats(sh->vi.st, &s);
	uint64_t held = 0;
	for (unsigned t = 0; t < sh->nthreads; t++)
		held += sh->held[t];
	CHECK(s.reserved_bytes == held && s.reserved_bytes + s.free_bytes == s.size,
	      "%s phase %d: reserved %" PRIu64 ", threads hold %" PRIu64 ", free %" PRIu64,
	      ops->name, phase, s.reserved_bytes, held, s.free_bytes);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	struct rng r = {sh->seed * 1000 + w->id};
	for (int phase = 0; phase < sh->phases; phase++) {
		for (int k = 0; k < sh->ops_per_phase; k++)
			one_op(w, &r);
		if (phase == sh->phases - 1) /* last phase: give everything back */
			while (w->n)
				drop(w, w->n - 1);
		uint64_t h = 0;
		for (size_t i = 0; i < w->n; i++)
			h += w->l[i].len;
		sh->held[w->id] = h;
		pthread_barrier_wait(&sh->bar);
		if (w->id == 0)
			quiescent_check(sh, phase);
		pthread_barrier_wait(&sh->bar);
	}
	return NULL;
}

static void run(const struct va_strategy *vs, unsigned nthreads, uint64_t seed, int phases,
		int ops_per_phase)
{
	struct shared sh = {.nthreads = nthreads, .phases = phases,
			    .ops_per_phase = ops_per_phase, .seed = seed};
	va_inst_init(&sh.vi, vs, 1ull << 44, GRANULES * vs->granule);
	sh.owner = calloc(GRANULES, 1);
	struct worker *w = calloc(nthreads, sizeof(*w));
	CHECK(sh.owner && w, "out of memory");
	pthread_barrier_init(&sh.bar, NULL, nthreads);
	pthread_t th[MAX_THREADS];
	for (unsigned t = 0; t < nthreads; t++) {
		w[t] = (struct worker){.sh = &sh, .id = t};
		CHECK(pthread_create(&th[t], NULL, worker_main, &w[t]) == 0, "pthread_create");
	}
	for (unsigned t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	struct va_stats s;
	vs->ops->stats(sh.vi.st, &s);
	CHECK(s.reserved_bytes == 0 && s.free_bytes == s.size && s.free_ranges == 1 &&
		      vs->ops->check(sh.vi.st),
	      "%s: not everything came back (reserved %" PRIu64 ", %" PRIu64 " free ranges)",
	      vs->ops->name, s.reserved_bytes, s.free_ranges);
	for (uint64_t i = 0; i < GRANULES; i++)
		CHECK(sh.owner[i] == 0, "granule %" PRIu64 " still claimed", i);
	printf("  %s, %u threads: %d x %d ops each, ENOMEM %" PRIu64 ", reserve busy %" PRIu64
	       ", exact accounting ok\n",
	       vs->ops->name, nthreads, phases, ops_per_phase, sh.enomem, sh.busy);
	CHECK(sh.enomem > 0 && sh.busy > 0, "%s: never full or never busy", vs->ops->name);
	pthread_barrier_destroy(&sh.bar);
	free(w);
	free(sh.owner);
	va_inst_fini(&sh.vi);
}

int main(void)
{
	uint64_t seed = test_seed("va_mt_test", 7);
	unsigned threads[] = {2, 8};
	for (unsigned i = 0; i < va_nstrategies; i++)
		for (int t = 0; t < 2; t++)
			run(&va_strategies[i], threads[t], seed, 4, 20000 / (int)threads[t]);
	printf("stress: seed %" PRIu64 "\n", seed + 1);
	for (unsigned i = 0; i < va_nstrategies; i++)
		run(&va_strategies[i], 4, seed + 1, 4 * OPS_SCALE, 25000);
	printf("va_mt_test: ok\n");
	return 0;
}
