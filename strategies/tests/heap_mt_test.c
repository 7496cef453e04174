/* heap_mt_test.c: both heaps under threads, one thread per CPU, objects freed
 * by another thread than the one that allocated them.
 *
 * Threads form a ring: thread t allocates objects on CPU t, fills them with a
 * per-object pattern and passes them to thread t+1 through a mutex-protected
 * ring buffer; the receiver checks the pattern (and that the size header it
 * wrote is intact) and frees them on its own CPU: for slab these are remote
 * frees. Each thread also churns short-lived local objects. Exact accounting
 * at the end: every object received exactly once, the heap's check passes, and
 * (slab, keep_empty_chunks 0) the footprint is back to zero with every frame
 * returned to the frame allocator; (slab, keep_empty_chunks 1: parked and EMPTY
 * slabs, the large cache, under threads) at most SLAB_KEEP_BYTES(1) per CPU after
 * a flush. Sizes reach slab's medium classes (up to 1 MiB) and its large objects
 * (1 to 3 MiB), so medium objects are freed remotely (batches bounded by bytes)
 * and large ones into the freeing CPU's cache. The small runs (slab, sizes 8..1024,
 * align <= 16) start every CPU sparse (power-of-two classes, small chunks, page
 * commits) and take it out of that mode while objects it allocated sparse are
 * freed remotely; each CPU must have left it by the end. Built under TSan too
 * (name *_mt_test.c).
 * MTB_MT_OPS sets objects passed per thread; MTB_FRAME_OPS and MTB_VA_OPS pick
 * the lower allocators by name ("simple" by default).
 */
#include <pthread.h>
#include <sched.h>

#include "testlib.h"

#include "../heap_slab.h"
#include "heap_support.h"

#define RING 512

struct msg {
	uint8_t *p;
	size_t size, align;
	uint64_t tag;
};

struct ring {
	pthread_mutex_t lock;
	unsigned head, tail; /* tail - head = messages waiting */
	struct msg m[RING];
};

struct worker {
	pthread_t tid;
	unsigned cpu, nthreads;
	long ops, received, received_small, local;
	bool small; /* sizes 8..1024, align <= 16 only */
	uint64_t seed;
	struct heap_fixture *fx;
	struct ring *inbox, *next;
};

static bool ring_push(struct ring *r, const struct msg *m)
{
	pthread_mutex_lock(&r->lock);
	bool ok = r->tail - r->head < RING;
	if (ok)
		r->m[r->tail++ % RING] = *m;
	pthread_mutex_unlock(&r->lock);
	return ok;
}

static bool ring_pop(struct ring *r, struct msg *m)
{
	pthread_mutex_lock(&r->lock);
	bool ok = r->tail != r->head;
	if (ok)
		*m = r->m[r->head++ % RING];
	pthread_mutex_unlock(&r->lock);
	return ok;
}

/* Mostly small; for slab also medium (0.8%) and large (0.2%) objects; 8..1024 B
 * only in a small run. */
static size_t mt_size(struct rng *r, bool slab, bool small)
{
	if (small)
		return 8 + rng_below(r, 1017);
	uint64_t k = rng_below(r, 1000);
	if (k < 700)
		return 8 + rng_below(r, 120);
	if (k < 980 || (k < 990 && !slab))
		return rng_below(r, 3000);
	if (k < 990 || !slab)
		return rng_below(r, 40000);
	if (k < 998)
		return rng_below(r, SLAB_CLASS_MAX);
	return SLAB_CLASS_MAX + rng_below(r, 2 * SLAB_CLASS_MAX);
}

/* Big objects get their first and last MT_EDGE bytes patterned (TSan checks
 * every byte access: whole megabytes would dominate the run). */
#define MT_EDGE (16u << 10)
static void mt_fill(struct msg *m)
{
	if (m->size <= 2 * MT_EDGE) {
		heap_ref_fill(m->p, m->size, m->tag);
		return;
	}
	heap_ref_fill(m->p, MT_EDGE, m->tag);
	heap_ref_fill(m->p + m->size - MT_EDGE, MT_EDGE, m->tag ^ 1);
}

static size_t mt_verify(const struct msg *m)
{
	if (m->size <= 2 * MT_EDGE)
		return heap_ref_verify(m->p, m->size, m->tag);
	size_t bad = heap_ref_verify(m->p, MT_EDGE, m->tag);
	if (bad < MT_EDGE)
		return bad;
	bad = heap_ref_verify(m->p + m->size - MT_EDGE, MT_EDGE, m->tag ^ 1);
	return bad < MT_EDGE ? m->size - MT_EDGE + bad : m->size;
}

static void *mt_alloc(struct worker *w, struct rng *r, struct msg *m)
{
	static const size_t al[] = {8, 16, 16, 64, 4096};
	m->size = MM_MAX(mt_size(r, w->fx->hops == &heap_slab_ops, w->small), sizeof(uint64_t));
	m->align = al[rng_below(r, w->small ? 3 : 5)];
	m->p = w->fx->hops->alloc(w->fx->heap_st, w->cpu, m->size, m->align);
	CHECK(m->p, "cpu %u: alloc(%zu) failed", w->cpu, m->size);
	CHECK((uintptr_t)m->p % m->align == 0, "misaligned");
	m->tag = rng_next(r);
	mt_fill(m);
	return m->p;
}

static void mt_free(struct worker *w, struct msg *m)
{
	size_t bad = mt_verify(m);
	CHECK(bad == m->size, "cpu %u: object of %zu bytes corrupt at %zu", w->cpu, m->size, bad);
	w->fx->hops->free(w->fx->heap_st, w->cpu, m->p, m->size, m->align);
}

static void drain(struct worker *w)
{
	struct msg m;
	while (ring_pop(w->inbox, &m)) {
		mt_free(w, &m);
		w->received++;
		w->received_small += slab_class_of(m.size, m.align) != SLAB_LARGE;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct rng r = {w->seed};
	struct msg local[16] = {{0}};
	for (long i = 0; i < w->ops; i++) {
		struct msg m;
		mt_alloc(w, &r, &m);
		while (!ring_push(w->next, &m)) {
			drain(w);
			sched_yield();
		}
		struct msg *l = &local[rng_below(&r, 16)];
		if (l->p)
			mt_free(w, l);
		mt_alloc(w, &r, l);
		w->local++;
		if (i % 8 == 0)
			drain(w);
	}
	for (int i = 0; i < 16; i++)
		mt_free(w, &local[i]);
	while (w->received < w->ops) { /* the predecessor sends exactly ops objects */
		drain(w);
		sched_yield();
	}
	return NULL;
}

/* One run; every check fails the test. Returns whether every CPU left sparse mode (always
 * true but in a small slab run, where it depends on how many objects the threads' timing
 * leaves live on each CPU). */
static bool run(const char *hname, unsigned nthreads, long ops, uint64_t seed, uint32_t keep,
		bool small)
{
	bool left = true;
	struct heap_fixture *fx = calloc(1, sizeof(*fx));
	struct ring *rings = calloc(nthreads, sizeof(*rings));
	struct worker *w = calloc(nthreads, sizeof(*w));
	CHECK(fx && rings && w, "calloc");
	const char *fo = getenv("MTB_FRAME_OPS") ? getenv("MTB_FRAME_OPS") : "simple";
	const char *vo = getenv("MTB_VA_OPS") ? getenv("MTB_VA_OPS") : "simple";
	if (!heap_fixture_frame_ops(fo) || !heap_fixture_va_ops(vo))
		test_skip("unknown MTB_FRAME_OPS or MTB_VA_OPS");
	int rc = heap_fixture_init(fx, heap_fixture_frame_ops(fo), heap_fixture_va_ops(vo),
				   heap_fixture_heap_ops(hname),
				   nthreads, 256ull << 20, 8ull << 30, 32ull << 20, keep);
	CHECK(rc == 0, "fixture: %d", rc);
	uint64_t frames0 = heap_fixture_frames_used(fx);
	struct heap_stats hs;
	fx->hops->stats(fx->heap_st, &hs);
	uint64_t held0 = hs.frames;
	for (unsigned t = 0; t < nthreads; t++) {
		pthread_mutex_init(&rings[t].lock, NULL);
		w[t] = (struct worker){.cpu = t, .nthreads = nthreads, .ops = ops,
				       .seed = seed * 1000 + t, .fx = fx, .inbox = &rings[t],
				       .next = &rings[(t + 1) % nthreads], .small = small};
	}
	for (unsigned t = 0; t < nthreads; t++)
		CHECK(pthread_create(&w[t].tid, NULL, worker_main, &w[t]) == 0, "pthread_create");
	long received = 0, nsmall = 0;
	for (unsigned t = 0; t < nthreads; t++) {
		pthread_join(w[t].tid, NULL);
		received += w[t].received;
		nsmall += w[t].received_small;
		CHECK(rings[t].head == rings[t].tail, "ring %u not empty", t);
	}
	CHECK(received == ops * nthreads, "received %ld of %ld", received, ops * nthreads);
	if (fx->hops == &heap_slab_ops)
		for (int round = 0; round < 2; round++)
			for (unsigned c = 0; c < nthreads; c++)
				heap_slab_flush(fx->heap_st, c);
	CHECK(fx->hops->check(fx->heap_st), "check");
	fx->hops->stats(fx->heap_st, &hs);
	uint64_t frames1 = heap_fixture_frames_used(fx);
	printf("  %s%s x%u keep %u: %ld objects passed, %ld local; remote frees %llu, "
	       "footprint %llu (peak %llu), frames %llu -> %llu\n",
	       hname, small ? " (small)" : "", nthreads, keep, received, w[0].local * nthreads,
	       (unsigned long long)hs.remote_frees, (unsigned long long)hs.footprint,
	       (unsigned long long)hs.peak_footprint, (unsigned long long)frames0,
	       (unsigned long long)frames1);
	CHECK(frames1 - hs.frames == frames0 - held0, "frames leaked outside the heap");
	if (fx->hops == &heap_slab_ops) {
		CHECK(hs.footprint <= nthreads * SLAB_KEEP_BYTES(keep) && (keep || hs.frames == 0),
		      "slab still holds %llu frames", (unsigned long long)hs.frames);
		CHECK(hs.remote_frees == (uint64_t)nsmall,
		      "remote frees %llu != %ld small objects passed",
		      (unsigned long long)hs.remote_frees, nsmall);
		for (unsigned c = 0; small && c < nthreads; c++)
			left &= !((struct slab_heap *)fx->heap_st)->cpu[c].sparse;
	}
	heap_fixture_fini(fx);
	free(fx);
	free(rings);
	free(w);
	return left;
}

/* A small slab run, again with other seeds (at most 8 runs) until every CPU left sparse
 * mode in one, to test the switch under concurrent remote frees when the threads' timing
 * leaves enough objects live on each CPU (with fewer ops, as heap_lower_test runs it, it
 * may not: then a note says so). */
static void run_small(unsigned nthreads, long ops, uint64_t seed, uint32_t keep)
{
	unsigned k = 0;
	while (k < 8 && !run("slab", nthreads, ops, seed + 100 * k, keep, true))
		k++;
	if (k == 8) /* heap_slab_fp_test's test_sparse_end tests the switch deterministically */
		printf("  note: %u CPUs: some CPU stayed sparse in 8 runs (too few objects live on it)\n",
		       nthreads);
}

int main(void)
{
	uint64_t seed = test_seed("heap_mt_test", 7);
	const char *e = getenv("MTB_MT_OPS");
	long ops = e ? atol(e) : 20000;
	run("talc", 2, ops, seed, 0, false);
	run("slab", 2, ops, seed, 0, false);
	run("slab", 2, ops, seed + 2, 1, false);
	run_small(2, ops / 4, seed + 4, 0);
	run_small(2, ops / 4, seed + 5, 1);
	run("talc", 4, ops / 4, seed + 1, 0, false);
	run("slab", 4, ops / 4, seed + 1, 0, false);
	run("slab", 4, ops / 4, seed + 3, 1, false);
	run_small(4, ops / 8, seed + 6, 1);
	printf("heap_mt_test: ok\n");
	return 0;
}
