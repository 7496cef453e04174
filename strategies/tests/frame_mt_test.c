/* frame_mt_test.c: both frame allocators under 2 and 8 threads (one CPU id each).
 * Every frame handed out is claimed in a shared owner array with a CAS from 0,
 * so a frame given to two threads at once fails the test. Threads stop at a
 * barrier every phase; then, quiescent, check() runs and the accounting must be
 * exact: free_frames + frames held by the threads == total. Also built under TSan. */
#include <pthread.h>

#include "frame_model.h"

#define PHASES 4

struct shared {
	struct frame_inst fi;
	uint8_t *owner; /* per frame: 0 or thread id + 1 */
	uint64_t nframes;
	pthread_barrier_t bar;
	int ops_per_phase;
	unsigned nthreads;
	uint64_t seed;
	uint64_t held[FRAME_MAX_CPUS];
};

struct worker {
	struct shared *sh;
	unsigned id;
	uint64_t *pfn;
	unsigned *order;
	size_t n;
};

static void claim(struct shared *sh, unsigned id, uint64_t pfn, unsigned order)
{
	CHECK(pfn + (1ull << order) <= sh->nframes, "block beyond memory");
	for (uint64_t i = 0; i < (1ull << order); i++) {
		uint8_t expect = 0;
		CHECK(__atomic_compare_exchange_n(&sh->owner[pfn + i], &expect, (uint8_t)(id + 1), 0,
						  __ATOMIC_RELAXED, __ATOMIC_RELAXED),
		      "frame %" PRIu64 " given to thread %u while thread %u holds it", pfn + i, id,
		      expect - 1u);
	}
}

static void release(struct shared *sh, unsigned id, uint64_t pfn, unsigned order)
{
	for (uint64_t i = 0; i < (1ull << order); i++) {
		uint8_t v = __atomic_exchange_n(&sh->owner[pfn + i], 0, __ATOMIC_RELAXED);
		CHECK(v == id + 1, "frame %" PRIu64 " not held by thread %u", pfn + i, id);
	}
}

static void one_op(struct worker *w, struct rng *r)
{
	const struct frame_ops *ops = w->sh->fi.ops;
	void *st = w->sh->fi.st;
	uint64_t x = rng_below(r, 100), pfn;
	unsigned order = x < 70 ? 0 : x < 90 ? (unsigned)rng_below(r, 9) : 9 + (unsigned)rng_below(r, 2);
	if (w->n && rng_below(r, 100) < 48) {
		size_t i = (size_t)rng_below(r, w->n);
		release(w->sh, w->id, w->pfn[i], w->order[i]);
		ops->free(st, w->id, w->pfn[i], w->order[i]);
		w->n--;
		w->pfn[i] = w->pfn[w->n];
		w->order[i] = w->order[w->n];
		return;
	}
	int rc;
	if (rng_below(r, 100) < 5) {
		order %= 4;
		pfn = MM_ALIGN_DOWN(rng_below(r, w->sh->nframes), 1ull << order);
		rc = ops->alloc_at(st, pfn, order);
		/* MM_ENOMEM: the free list is full and alloc_at has no cpu to grow it */
		CHECK(rc == MM_OK || rc == MM_EBUSY || rc == MM_EINVAL ||
			  (rc == MM_ENOMEM && ops == &frame_freelist_ops),
		      "alloc_at rc %d", rc);
	} else {
		rc = ops->alloc(st, w->id, order, &pfn);
		CHECK(rc == MM_OK || rc == MM_ENOMEM, "alloc rc %d", rc);
	}
	if (rc != MM_OK)
		return;
	CHECK(pfn % (1ull << order) == 0, "misaligned block");
	claim(w->sh, w->id, pfn, order);
	w->pfn[w->n] = pfn;
	w->order[w->n++] = order;
}

static void free_all(struct worker *w)
{
	while (w->n) {
		w->n--;
		release(w->sh, w->id, w->pfn[w->n], w->order[w->n]);
		w->sh->fi.ops->free(w->sh->fi.st, w->id, w->pfn[w->n], w->order[w->n]);
	}
}

static void quiescent_check(struct shared *sh, unsigned nthreads, int phase)
{
	struct frame_stats s;
	const struct frame_ops *ops = sh->fi.ops;
	CHECK(ops->check(sh->fi.st), "check");
	ops->stats(sh->fi.st, &s);
	uint64_t held = 0;
	for (unsigned t = 0; t < nthreads; t++)
		held += sh->held[t];
	CHECK(s.free_frames + held == s.total_frames,
	      "%s phase %d: free %" PRIu64 " + held %" PRIu64 " != total %" PRIu64, ops->name,
	      phase, s.free_frames, held, s.total_frames);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	struct rng r = {sh->seed * 1000 + w->id};
	for (int phase = 0; phase < PHASES; phase++) {
		for (int k = 0; k < sh->ops_per_phase; k++)
			one_op(w, &r);
		if (phase == PHASES - 1) /* last phase: give everything back */
			free_all(w);
		uint64_t h = 0;
		for (size_t i = 0; i < w->n; i++)
			h += 1ull << w->order[i];
		sh->held[w->id] = h;
		pthread_barrier_wait(&sh->bar);
		if (w->id == 0)
			quiescent_check(sh, sh->nthreads, phase);
		pthread_barrier_wait(&sh->bar);
	}
	return NULL;
}

static void run(const struct frame_ops *ops, unsigned nthreads, uint64_t seed, int ops_per_phase)
{
	struct mem_map map = frame_map_holes(64);
	struct shared sh = {.seed = seed, .ops_per_phase = ops_per_phase, .nthreads = nthreads};
	frame_inst_init(&sh.fi, ops, &map, nthreads);
	sh.nframes = mem_map_end(&map) >> PAGE_SHIFT;
	sh.owner = calloc(sh.nframes, 1);
	pthread_barrier_init(&sh.bar, NULL, nthreads);
	pthread_t th[FRAME_MAX_CPUS];
	struct worker w[FRAME_MAX_CPUS];
	for (unsigned t = 0; t < nthreads; t++) {
		w[t] = (struct worker){.sh = &sh, .id = t};
		w[t].pfn = calloc(sh.nframes, sizeof(uint64_t));
		w[t].order = calloc(sh.nframes, sizeof(unsigned));
		CHECK(pthread_create(&th[t], NULL, worker_main, &w[t]) == 0, "pthread_create");
	}
	for (unsigned t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		free(w[t].pfn);
		free(w[t].order);
	}
	struct frame_stats s;
	ops->stats(sh.fi.st, &s);
	CHECK(s.free_frames == s.total_frames &&
		      s.total_frames == mem_map_bytes(&map, MEM_USABLE) >> PAGE_SHIFT,
	      "%s: not all frames came back", ops->name);
	for (uint64_t i = 0; i < sh.nframes; i++)
		CHECK(sh.owner[i] == 0, "frame %" PRIu64 " still claimed", i);
	printf("  %s, %u threads: %d ops each, exact accounting ok\n", ops->name, nthreads,
	       ops_per_phase * PHASES);
	pthread_barrier_destroy(&sh.bar);
	free(sh.owner);
	frame_inst_fini(&sh.fi);
}

int main(void)
{
	uint64_t seed = test_seed("frame_mt_test", 7);
	const struct frame_ops *all[] = {&frame_buddy_ops, &frame_freelist_ops};
	unsigned threads[] = {2, 8};
	for (int s = 0; s < 2; s++)
		for (int t = 0; t < 2; t++)
			run(all[s], threads[t], seed, 100000 / (int)threads[t]);
	printf("frame_mt_test: ok\n");
	return 0;
}
