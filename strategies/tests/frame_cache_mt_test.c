/* frame_cache_mt_test.c: the bitmap buddy's per-CPU 2 MiB caches never strand
 * memory (frame_buddy_cache.c), on a 1 GiB machine (one chunk) where they matter.
 * Part 1, one thread playing 2 CPUs (seeded): fill to exhaustion with 2 MiB from
 * both CPUs alternating (exactly 512 blocks, none twice), free in random order on
 * random CPUs, then a 1 GiB alloc succeeds; 4 KiB allocations reach every frame
 * while the caches hold blocks; stealing from the other CPU's cache; alloc_at and
 * any_free of cached blocks. check() and exact accounting after each part.
 * Part 2, 2 and 8 threads (also under TSan): rounds of concurrent 2 MiB fill to
 * exhaustion (each frame claimed by CAS; at the barrier nothing may be left free),
 * concurrent shuffled frees, then a 1 GiB alloc must succeed. Debug builds: a
 * free inside (or of) a cached block panics as a double free. */
#include <pthread.h>

#include "../frame_buddy.h"
#include "frame_model.h"

#define NBLK 512u /* 2 MiB blocks in 1 GiB */

static const struct frame_ops *ops = &frame_buddy_ops;

static struct mem_map map_1g(void)
{
	return (struct mem_map){.count = 1, .r = {{0, 1ull << 30, MEM_USABLE}}};
}

static void expect_free(struct frame_inst *fi, uint64_t frames, const char *what)
{
	struct frame_stats s;
	CHECK(ops->check(fi->st), "check");
	ops->stats(fi->st, &s);
	CHECK(s.free_frames == frames, "%s: free %" PRIu64 " != %" PRIu64, what, s.free_frames,
	      frames);
	CHECK(s.free_2m_blocks == frames / NBLK || frames % NBLK, "%s: free 2M %" PRIu64, what,
	      s.free_2m_blocks);
}

/* Allocates 2 MiB blocks on CPUs 0, 1, 0, ... until ENOMEM; returns the count. */
static unsigned fill_2m(struct frame_inst *fi, uint64_t *p, uint8_t *seen)
{
	unsigned n = 0;
	while (ops->alloc(fi->st, n % 2, FRAME_ORDER_2M, &p[n]) == MM_OK) {
		CHECK(n < NBLK, "more than %u 2 MiB blocks", NBLK);
		CHECK(p[n] % NBLK == 0 && !seen[p[n] / NBLK], "block %" PRIu64 " twice", p[n]);
		seen[p[n] / NBLK] = 1;
		n++;
	}
	return n;
}

static void free_shuffled(struct frame_inst *fi, struct rng *r, uint64_t *p, unsigned n,
			  unsigned order, int cpu)
{
	for (unsigned i = n; i > 1; i--) {
		unsigned j = (unsigned)rng_below(r, i);
		uint64_t x = p[i - 1];
		p[i - 1] = p[j];
		p[j] = x;
	}
	for (unsigned i = 0; i < n; i++)
		ops->free(fi->st, cpu >= 0 ? (unsigned)cpu : (unsigned)rng_below(r, 2), p[i],
			  order);
}

static void one_gib(struct frame_inst *fi, unsigned cpu)
{
	uint64_t pfn;
	CHECK(ops->alloc(fi->st, cpu, FRAME_ORDER_1G, &pfn) == MM_OK && pfn == 0,
	      "1 GiB alloc after freeing all");
	ops->free(fi->st, cpu ^ 1, pfn, FRAME_ORDER_1G);
}

static void part1(uint64_t seed)
{
	struct mem_map m = map_1g();
	struct frame_inst fi;
	frame_inst_init(&fi, ops, &m, 2);
	struct rng r = {seed};
	uint64_t *p = calloc(1u << 18, sizeof(*p)), total = 1u << 18;
	uint8_t seen[NBLK];
	for (int round = 0; round < 4; round++) {
		memset(seen, 0, sizeof(seen));
		CHECK(fill_2m(&fi, p, seen) == NBLK, "round %d: not every 2 MiB block", round);
		expect_free(&fi, 0, "full");
		free_shuffled(&fi, &r, p, NBLK, FRAME_ORDER_2M, -1);
		expect_free(&fi, total, "freed");
		one_gib(&fi, (unsigned)round % 2);
	}
	/* 4 KiB on CPU 0 reaches every frame while CPU 1's cache holds blocks */
	memset(seen, 0, sizeof(seen));
	CHECK(fill_2m(&fi, p, seen) == NBLK, "refill");
	free_shuffled(&fi, &r, p, NBLK, FRAME_ORDER_2M, 1);
	uint64_t n = 0;
	while (ops->alloc(fi.st, 0, 0, &p[n]) == MM_OK)
		n++;
	CHECK(n == total, "4 KiB frames: %" PRIu64 " of %" PRIu64, n, total);
	free_shuffled(&fi, &r, p, (unsigned)n, 0, -1);
	expect_free(&fi, total, "4 KiB freed");
	one_gib(&fi, 1);
	/* stealing: CPU 0 holds all, frees 5 into CPU 1's cache, then gets exactly 5 */
	memset(seen, 0, sizeof(seen));
	CHECK(fill_2m(&fi, p, seen) == NBLK, "refill");
	for (unsigned i = 0; i < 5; i++)
		ops->free(fi.st, 1, p[i], FRAME_ORDER_2M);
	for (unsigned i = 0; i < 5; i++)
		CHECK(ops->alloc(fi.st, 0, FRAME_ORDER_2M, &p[i]) == MM_OK, "steal %u", i);
	CHECK(ops->alloc(fi.st, 0, FRAME_ORDER_2M, &p[NBLK]) == MM_ENOMEM, "a 6th block?");
	/* alloc_at and any_free of a cached block */
	uint64_t x = p[7];
	ops->free(fi.st, 1, x, FRAME_ORDER_2M);
	CHECK(frame_buddy_any_free(fi.st, x, FRAME_ORDER_2M), "cached block not free");
	CHECK(frame_buddy_any_free(fi.st, x + 3, 0), "frame of a cached block not free");
	CHECK(ops->alloc_at(fi.st, x, FRAME_ORDER_2M) == MM_OK, "alloc_at of a cached block");
	CHECK(!frame_buddy_any_free(fi.st, x, FRAME_ORDER_2M), "taken block free");
	ops->free(fi.st, 0, x, FRAME_ORDER_2M);
	CHECK(ops->alloc_at(fi.st, x + 3, 0) == MM_OK, "alloc_at of a frame of a cached block");
	CHECK(ops->alloc_at(fi.st, x, FRAME_ORDER_2M) == MM_EBUSY, "alloc_at of a split block");
	expect_free(&fi, 511, "alloc_at"); /* the 511 other frames of x's area */
	ops->free(fi.st, 1, x + 3, 0);
	for (unsigned i = 0; i < NBLK; i++)
		if (i != 7)
			ops->free(fi.st, i % 2, p[i], FRAME_ORDER_2M);
	expect_free(&fi, total, "all back");
	one_gib(&fi, 0);
	printf("  one thread, 2 CPUs: fill/free/1 GiB, 4 KiB past caches, steal, alloc_at ok\n");
	free(p);
	frame_inst_fini(&fi);
}

/* Debug builds: freeing a frame of (or the whole) cached block is a double free. */
struct misuse {
	unsigned order;
};

static void free_in_cached(void *arg)
{
	const struct misuse *m = arg;
	struct mem_map map = map_1g();
	struct frame_inst fi;
	uint64_t pfn;
	frame_inst_init(&fi, ops, &map, 2);
	CHECK(ops->alloc(fi.st, 1, FRAME_ORDER_2M, &pfn) == MM_OK, "alloc");
	ops->free(fi.st, 1, pfn, FRAME_ORDER_2M); /* into CPU 1's cache */
	ops->free(fi.st, 0, pfn + (m->order ? 0 : 5), m->order);
}

static void part_panic(void)
{
	if (!MM_DEBUG)
		return;
	for (unsigned o = 0; o <= FRAME_ORDER_2M; o += FRAME_ORDER_2M) {
		struct misuse m = {o};
		CHECK(expect_panic(free_in_cached, &m, "double free"),
		      "free (order %u) inside a cached 2 MiB block not caught", o);
	}
	printf("  double free of / inside a cached block caught\n");
}

struct shared {
	struct frame_inst fi;
	uint8_t *owner; /* per 2 MiB block: 0 or thread id + 1 */
	pthread_barrier_t bar;
	unsigned nthreads, got[FRAME_MAX_CPUS];
	int rounds;
	uint64_t seed;
};

struct worker {
	struct shared *sh;
	unsigned id;
	uint64_t p[NBLK];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	struct rng r = {sh->seed * 1000 + w->id};
	for (int round = 0; round < sh->rounds; round++) {
		unsigned n = 0;
		while (n < NBLK &&
		       ops->alloc(sh->fi.st, w->id, FRAME_ORDER_2M, &w->p[n]) == MM_OK) {
			uint8_t zero = 0;
			CHECK(__atomic_compare_exchange_n(&sh->owner[w->p[n] / NBLK], &zero,
							  (uint8_t)(w->id + 1), 0, __ATOMIC_ACQ_REL,
							  __ATOMIC_ACQUIRE),
			      "block %" PRIu64 " given to threads %u and %u", w->p[n], w->id,
			      zero - 1u);
			n++;
		}
		sh->got[w->id] = n;
		pthread_barrier_wait(&sh->bar);
		if (w->id == 0) {
			unsigned sum = 0;
			for (unsigned t = 0; t < sh->nthreads; t++)
				sum += sh->got[t];
			CHECK(sum == NBLK, "round %d: %u threads got %u of %u blocks", round,
			      sh->nthreads, sum, NBLK);
			expect_free(&sh->fi, 0, "after a concurrent fill");
		}
		pthread_barrier_wait(&sh->bar);
		for (unsigned i = 0; i < n; i++)
			__atomic_store_n(&sh->owner[w->p[i] / NBLK], 0, __ATOMIC_RELEASE);
		free_shuffled(&sh->fi, &r, w->p, n, FRAME_ORDER_2M, (int)w->id);
		pthread_barrier_wait(&sh->bar);
		if (w->id == 0) {
			expect_free(&sh->fi, 1u << 18, "after concurrent frees");
			one_gib(&sh->fi, (unsigned)round % 2);
		}
		pthread_barrier_wait(&sh->bar);
	}
	return NULL;
}

static void part2(unsigned nthreads, uint64_t seed, int rounds)
{
	struct mem_map m = map_1g();
	struct shared sh = {.nthreads = nthreads, .rounds = rounds, .seed = seed};
	frame_inst_init(&sh.fi, ops, &m, nthreads);
	sh.owner = calloc(NBLK, 1);
	pthread_barrier_init(&sh.bar, NULL, nthreads);
	pthread_t th[FRAME_MAX_CPUS];
	struct worker *w = calloc(nthreads, sizeof(*w));
	for (unsigned t = 0; t < nthreads; t++) {
		w[t] = (struct worker){.sh = &sh, .id = t};
		CHECK(pthread_create(&th[t], NULL, worker_main, &w[t]) == 0, "pthread_create");
	}
	for (unsigned t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	printf("  %u threads: %d rounds of concurrent 2 MiB fill to exhaustion + 1 GiB ok\n",
	       nthreads, rounds);
	pthread_barrier_destroy(&sh.bar);
	free(w);
	free(sh.owner);
	frame_inst_fini(&sh.fi);
}

int main(void)
{
	uint64_t seed = test_seed("frame_cache_mt_test", 11);
	part1(seed);
	part_panic();
	part2(2, seed, 40);
	part2(8, seed, 10);
	printf("frame_cache_mt_test: ok\n");
	return 0;
}
