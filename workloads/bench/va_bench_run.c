/* va_bench_run.c: va_bench's runs (contract in va_bench_run.h; what they measure in
 * va_bench.c's opening comment): worker threads that free a random range of their own
 * and allocate a new random size in its place, timed in rounds; a configuration's
 * shared runs (one instance) and split runs (an instance per thread, the ceiling),
 * alternating in blocks; and the counted pairs of --callgrind, inside a function of
 * its own that callgrind's --toggle-collect names (--holes: va_bench_holes.c).
 */
#define _GNU_SOURCE
#include "va_bench_run.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

#include "../host/cli_util.h"
#include "../../strategies/va_btree.h"
#include "va_bench_draw.h"

_Noreturn void vb_die(const char *msg, const char *what)
{
	fprintf(stderr, "va_bench: %s%s%s\n", msg, what ? ": " : "", what ? what : "");
	exit(1);
}

/* ---- workers ------------------------------------------------------------------ */

struct range {
	uint64_t addr, size;
};

struct worker {
	struct va_host *vh;
	unsigned cpu;
	struct range *r; /* this thread's live ranges */
	uint64_t n, warmup, rounds, pairs, seed;
	pthread_barrier_t *bar;
	double *round_ns; /* ns per pair in each round */
	double total_ns;
};

static void pair(struct worker *w, uint64_t *s)
{
	struct range *r = &w->r[vb_rnd(s) % w->n];
	w->vh->ops->free(w->vh->st, w->cpu, r->addr, r->size);
	r->size = vb_rand_size(s);
	if (w->vh->ops->alloc(w->vh->st, w->cpu, r->size, 0, &r->addr) != MM_OK)
		vb_die("allocation failed in a timed pair", w->vh->ops->name);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t s = w->seed;
	pthread_barrier_wait(w->bar);
	for (uint64_t i = 0; i < w->warmup; i++)
		pair(w, &s);
	pthread_barrier_wait(w->bar);
	for (uint64_t k = 0; k < w->rounds; k++) {
		uint64_t t0 = cli_mono_ns();
		for (uint64_t i = 0; i < w->pairs; i++)
			pair(w, &s);
		double dt = (double)(cli_mono_ns() - t0);
		w->round_ns[k] = dt / (double)w->pairs;
		w->total_ns += dt;
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* btree: % of its allocs its quantum caches served so far; -1 for the others. */
static double hit_pct(const struct va_ops *ops, const void *st)
{
	uint64_t hits, misses, cached;
	if (ops != &va_btree_ops && ops != &va_btree_best_ops)
		return -1;
	va_btree_qcache_counts(st, &hits, &misses, &cached);
	return 100.0 * (double)hits / (double)(hits + misses ? hits + misses : 1);
}

/* A fresh instance of ops in *vh with live ranges, the i-th of each thread's
 * live / threads allocated by that thread's CPU (cpu0 + t), so each thread
 * starts in its own CPU's zone; the ranges (calloc'd) are returned. */
static struct range *prefill(const struct bench *b, struct va_host *vh, const struct va_ops *ops,
			     unsigned threads, unsigned live, unsigned cpu0)
{
	if (va_host_init(vh, ops, VA_RUN_BASE, VA_RUN_SIZE))
		vb_die("init failed", ops->name);
	struct range *all = calloc(live, sizeof(*all));
	if (!all)
		vb_die("out of memory", NULL);
	uint64_t s = b->seed * 1000003 + live;
	for (unsigned i = 0; i < live; i++) {
		all[i].size = vb_rand_size(&s);
		unsigned t = live / threads ? i / (live / threads) : 0;
		if (ops->alloc(vh->st, cpu0 + (t < threads ? t : threads - 1), all[i].size, 0,
			       &all[i].addr) != MM_OK)
			vb_die("prefill failed", ops->name);
	}
	return all;
}

/* Frees the ranges and the instance. */
static void teardown(struct va_host *vh, struct range *all, unsigned live)
{
	for (unsigned i = 0; i < live; i++)
		vh->ops->free(vh->st, 0, all[i].addr, all[i].size);
	free(all);
	va_host_fini(vh);
}

/* One block of a configuration: fresh instances and threads x rounds timed rounds
 * after the warm-up; each round's ns per pair into ns[] (threads x rounds), the sum
 * of round times added to *total. Shared: one instance, thread t working on the
 * ranges its CPU allocated; split: an instance per thread, prefilled by its CPU
 * with live / threads ranges, nothing shared (the ceiling of a shared run). The
 * free ranges and cache hits returned are the shared instance's (split: -). */
static struct timing run_block(const struct bench *b, const struct va_ops *ops, unsigned threads,
			       unsigned live, bool split, uint64_t rounds, double *ns,
			       double *total)
{
	static struct va_host vh[MAX_THREADS];
	struct range *all[MAX_THREADS];
	uint64_t per = live / threads;
	unsigned ninst = split ? threads : 1;
	for (unsigned t = 0; t < ninst; t++)
		all[t] = split ? prefill(b, &vh[t], ops, 1, (unsigned)per, t)
			       : prefill(b, &vh[0], ops, threads, live, 0);
	pthread_t th[MAX_THREADS];
	struct worker w[MAX_THREADS];
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, threads);
	for (unsigned t = 0; t < threads; t++) {
		w[t] = (struct worker){&vh[split ? t : 0],
				       t,
				       split ? all[t] : all[0] + t * per,
				       per,
				       2 * per,
				       rounds,
				       b->pairs,
				       b->seed * 77 + t,
				       &bar,
				       ns + t * rounds,
				       0};
		if (pthread_create(&th[t], NULL, worker_main, &w[t]))
			vb_die("pthread_create", NULL);
	}
	for (unsigned t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		*total += w[t].total_ns;
	}
	pthread_barrier_destroy(&bar);
	struct timing r = {0, 0, 0, -1};
	for (unsigned t = 0; t < ninst; t++) {
		struct va_stats st;
		ops->stats(vh[t].st, &st);
		if (!ops->check(vh[t].st))
			vb_die("invariant check failed after the run", ops->name);
		if (!split)
			r = (struct timing){0, 0, st.free_ranges, hit_pct(ops, vh[t].st)};
		teardown(&vh[t], all[t], split ? (unsigned)per : live);
	}
	return r;
}

/* The median of n doubles (sorted in place). */
static double median(double *x, uint64_t n)
{
	qsort(x, n, sizeof(double), cmp_double);
	return x[n / 2];
}

/* A configuration: with threads > 1, VB_BLOCKS blocks of rounds alternating
 * shared and split (A, B, A, B, ...); medians and means over all their rounds.
 * *split_ns: the split runs' median (0 with one thread). */
struct timing vb_run_config(const struct bench *b, const struct va_ops *ops, unsigned threads,
			    unsigned live, double *split_ns)
{
	uint64_t nb = threads > 1 ? (b->rounds < VB_BLOCKS ? b->rounds : VB_BLOCKS) : 1;
	uint64_t n = b->rounds * threads, off = 0;
	double *ns = calloc(2 * n, sizeof(double)), total = 0, stotal = 0;
	if (!ns)
		vb_die("out of memory", NULL);
	struct timing r = {0};
	for (uint64_t k = 0; k < nb; k++) {
		uint64_t rounds = b->rounds / nb + (k < b->rounds % nb);
		r = run_block(b, ops, threads, live, false, rounds, ns + off, &total);
		if (threads > 1)
			run_block(b, ops, threads, live, true, rounds, ns + n + off, &stotal);
		off += rounds * threads;
	}
	r.median = median(ns, n);
	r.mean = total / (double)(n * b->pairs);
	*split_ns = threads > 1 ? median(ns + n, n) : 0;
	free(ns);
	return r;
}

/* The pairs callgrind counts (--toggle-collect=vb_callgrind_pairs): not inlined,
 * nothing else inside. */
__attribute__((noinline)) void vb_callgrind_pairs(struct worker *w, uint64_t *s, uint64_t n);
__attribute__((noinline)) void vb_callgrind_pairs(struct worker *w, uint64_t *s, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		pair(w, s);
}

/* --callgrind: one thread, prefill, 2x live + pairs untimed, then pairs counted. */
void vb_callgrind_one(const struct bench *b, const struct va_ops *ops, unsigned live)
{
	struct va_host vh;
	struct range *all = prefill(b, &vh, ops, 1, live, b->cpu);
	struct worker w = {&vh, b->cpu, all, live, 0, 0, 0, b->seed * 77, NULL, NULL, 0};
	uint64_t s = w.seed;
	for (uint64_t i = 0; i < 2 * (uint64_t)live + b->pairs; i++)
		pair(&w, &s);
	vb_callgrind_pairs(&w, &s, b->pairs);
	struct va_stats st;
	ops->stats(vh.st, &st);
	if (!ops->check(vh.st))
		vb_die("invariant check failed after the run", ops->name);
	fprintf(stderr,
		"callgrind %s %u: %" PRIu64 " pairs counted, %" PRIu64 " free ranges after\n",
		ops->name, live, b->pairs, st.free_ranges);
	teardown(&vh, all, live);
}
