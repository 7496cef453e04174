/* heap_bench_wl.c: heap_bench's timed workloads and the run that times them (contract
 * in heap_bench.h; larson in heap_bench_larson.c, a job's marks in heap_bench_job.c).
 *
 * A run starts its threads together (thread i passes CPU i to the heap); each runs the
 * workload from a fresh start until warm-up + duration has passed, taking (ops, time)
 * when it first sees the warm-up deadline and again when it first sees the end, both at
 * batch boundaries (the clock is read once per batch: every 100 to 4000 ops). ops/s =
 * sum of the threads' ops between their two marks / (latest end mark - earliest warm-up
 * mark). An op is one alloc, free or realloc call. A timing includes the call, the
 * harness's bookkeeping (RNG, slot arrays, xmalloc's locked queues), writing the first
 * and last byte of each new object, and whatever the allocator does underneath: for
 * ours hostmem's mmap calls that stand in for page-table edits and the Linux page faults
 * on first touch of a page (nothing is pre-faulted; the warm-up takes most of them).
 * The harness's own arrays come from mmap, never from an allocator under test.
 *
 *   random_actions  Talc's: 3/7 alloc, 3/7 free (when >= 300 live), 1/7 realloc; sizes
 *                   <= param (1000, 10000), Talc's alignments; per thread
 *   larson          gen.c's larson, live: HB_SETS sets of param (1000) slots; logical
 *                   thread t works on set (t - e) mod HB_SETS in epoch e; a step frees
 *                   the object in a random slot (if any) and allocates 8..1000 B there;
 *                   an epoch is epoch_ops / (2 HB_SETS) steps per logical thread; a
 *                   step in epoch e + 1 waits for the last step of epoch e on its slot,
 *                   as the replay orders it (heap_bench_larson.c), so a set's objects
 *                   are freed by another thread
 *   xmalloc         xmalloc-like: batches of 64 objects (8..256 B) allocated by one
 *                   thread and freed by the next one (1 thread: by itself)
 *   threadtest      gen.c's threadtest, live: per logical thread, rounds of allocating
 *                   param (1000) objects of 8 B, then freeing them all
 *   hermit64        Hermit's problem: alloc + free of one 64 B object, in a loop
 *
 * larson and threadtest keep the generated traces' HB_SETS logical threads at every
 * thread count: OS thread p runs logical threads p, p + P, ... step by step in turn, as
 * the replay runs trace thread t on CPU t % P. They differ from a replay of the trace
 * in what a trace cannot hold: they run for a time instead of a fixed op count (so
 * larson's epoch count and threadtest's round count follow from the speed), the random
 * draws come from per-thread streams (same distributions, other values). Both pass
 * alignment 1 as the replay does for a plain alloc.
 * xmalloc and random_actions are not gen.c's (gen.c's xmalloc frees batches of 100 in
 * producer/consumer pairs; its random_actions uses uniform sizes), nor is hermit64
 * (gen.c's allocates 10,000 objects of 64 B, then frees them).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include "heap_bench_wl.h"
#include "../host/cli_util.h"

#define RA_OBJS	  100000 /* random_actions: live objects per thread at most */
#define TT_SIZE	  8	 /* threadtest's object size (gen.c's default) */

const char *const hb_wl_name[WL_COUNT] = {"random_actions", "larson", "xmalloc", "threadtest",
					  "hermit64"};

/* ---- random_actions -------------------------------------------------------------- */

static void ra_step(struct job *j, struct obj *v, size_t *n, size_t max)
{
	struct contender *c = j->sh->c;
	uint64_t a = hb_rnd(&j->seed) % 7;
	if (a == 6 && *n) {
		struct obj *o = &v[hb_rnd(&j->seed) % *n];
		size_t ns = 1 + hb_rnd(&j->seed) % (max * 3 - 1);
		void *q = c_realloc(c, j->cpu, o->p, o->size, o->align, ns);
		if (q) {
			o->p = q;
			o->size = ns;
			j->ops++;
		}
	} else if ((a < 3 || *n < 300) && *n < RA_OBJS) {
		struct obj o = {NULL, talc_size(&j->seed, max), talc_align(&j->seed)};
		if ((o.p = c_alloc(c, j->cpu, o.size, o.align))) {
			hb_touch(o.p, o.size);
			v[(*n)++] = o;
			j->ops++;
		}
	} else if (*n) {
		size_t i = hb_rnd(&j->seed) % *n;
		c_free(c, j->cpu, v[i].p, v[i].size, v[i].align);
		v[i] = v[--*n];
		j->ops++;
	}
}

__attribute__((noinline, noclone)) void hb_callgrind_random(struct job *j, struct obj *v,
							     size_t *n, size_t max, long ops)
{
	for (long k = 0; k < ops; k++)
		ra_step(j, v, n, max);
}

long hb_callgrind_random_run(struct contender *c, long ops, size_t max)
{
	struct hb_shared sh = {.c = c};
	struct job j = {.sh = &sh, .cpu = 0, .seed = 42};
	struct obj *v = hb_harness_map(RA_OBJS * sizeof(*v));
	size_t n = 0;
	if (!v)
		return -1;
	hb_callgrind_random(&j, v, &n, max, 0); /* resolved before the counted call */
	for (long k = 0; k < ops; k++)
		ra_step(&j, v, &n, max);
	uint64_t before = j.ops;
	hb_callgrind_random(&j, v, &n, max, ops);
	long done = (long)(j.ops - before);
	for (size_t i = 0; i < n; i++)
		c_free(c, 0, v[i].p, v[i].size, v[i].align);
	munmap(v, RA_OBJS * sizeof(*v));
	return done;
}

static void random_actions(struct job *j)
{
	struct obj *v = hb_harness_map(RA_OBJS * sizeof(*v));
	size_t n = 0, max = (size_t)j->sh->k->param;
	if (!v) {
		hb_fail(j);
		return;
	}
	while (hb_go_on(j))
		for (int k = 0; k < 100; k++)
			ra_step(j, v, &n, max);
	for (size_t i = 0; i < n; i++)
		c_free(j->sh->c, j->cpu, v[i].p, v[i].size, v[i].align);
	munmap(v, RA_OBJS * sizeof(*v));
}

/* ---- xmalloc ---------------------------------------------------------------------- */

static bool xq_push(struct xqueue *q, const struct xbatch *b)
{
	pthread_mutex_lock(&q->lock);
	bool ok = q->tail - q->head < XQ;
	if (ok)
		q->q[q->tail++ % XQ] = *b;
	pthread_mutex_unlock(&q->lock);
	return ok;
}

static bool xq_pop(struct xqueue *q, struct xbatch *b)
{
	pthread_mutex_lock(&q->lock);
	bool ok = q->tail != q->head;
	if (ok)
		*b = q->q[q->head++ % XQ];
	pthread_mutex_unlock(&q->lock);
	return ok;
}

static void xfree(struct job *j, struct xbatch *x)
{
	for (int i = 0; i < 64; i++)
		c_free(j->sh->c, j->cpu, x->p[i], x->s[i], 8);
	j->ops += 64;
}

static bool xalloc(struct job *j, struct xbatch *x)
{
	for (int i = 0; i < 64; i++) {
		x->s[i] = 8 + hb_rnd(&j->seed) % 249;
		if (!(x->p[i] = c_alloc(j->sh->c, j->cpu, x->s[i], 8))) {
			for (int k = 0; k < i; k++)
				c_free(j->sh->c, j->cpu, x->p[k], x->s[k], 8);
			return hb_fail(j);
		}
		hb_touch(x->p[i], x->s[i]);
	}
	j->ops += 64;
	return true;
}

static void xmalloc_like(struct job *j)
{
	struct hb_shared *sh = j->sh;
	struct xqueue *mine = &sh->xq[j->cpu], *next = &sh->xq[(j->cpu + 1) % sh->k->threads];
	struct xbatch x, y;
	while (hb_go_on(j) && xalloc(j, &x)) {
		while (!xq_push(next, &x)) {
			if (xq_pop(mine, &y)) {
				xfree(j, &y);
			} else if (!hb_go_on(j)) { /* the consumer has stopped */
				xfree(j, &x);
				break;
			} else {
				sched_yield(); /* let the consumer run (cores are shared) */
			}
		}
		if (xq_pop(mine, &y))
			xfree(j, &y);
	}
}

/* ---- threadtest, hermit64 --------------------------------------------------------- */

static void threadtest(struct job *j)
{
	struct hb_shared *sh = j->sh;
	unsigned P = sh->k->threads, slots = (unsigned)sh->k->param;
	while (hb_go_on(j)) {
		for (unsigned s = 0; s < slots; s++)
			for (unsigned t = j->cpu; t < HB_SETS; t += P) {
				struct obj *o = &sh->sets[(size_t)t * slots + s];
				if (!(o->p = c_alloc(sh->c, j->cpu, TT_SIZE, GEN_ALIGN))) {
					hb_fail(j);
					return;
				}
				o->size = TT_SIZE;
				hb_touch(o->p, TT_SIZE);
				j->ops++;
			}
		for (unsigned s = 0; s < slots; s++)
			for (unsigned t = j->cpu; t < HB_SETS; t += P) {
				struct obj *o = &sh->sets[(size_t)t * slots + s];
				c_free(sh->c, j->cpu, o->p, TT_SIZE, GEN_ALIGN);
				o->p = NULL;
				j->ops++;
			}
	}
}

static void hermit64(struct job *j)
{
	struct contender *c = j->sh->c;
	size_t size = (size_t)j->sh->k->param;
	while (hb_go_on(j)) {
		for (int k = 0; k < 1000; k++) {
			void *p = c_alloc(c, j->cpu, size, 8);
			if (!p) {
				hb_fail(j);
				return;
			}
			hb_touch(p, size);
			c_free(c, j->cpu, p, size, 8);
		}
		j->ops += 2000;
	}
}

__attribute__((noinline, noclone)) void hb_callgrind_hermit64(struct contender *c, long pairs,
							      size_t size)
{
	for (long k = 0; k < pairs; k++) {
		void *p = c_alloc(c, 0, size, 8);
		hb_touch(p, size);
		c_free(c, 0, p, size, 8);
	}
}

/* ---- the run ---------------------------------------------------------------------- */

static void *job_main(void *arg)
{
	struct job *j = arg;
	pthread_barrier_wait(&j->sh->bar);
	switch (j->sh->k->w) {
	case WL_RANDOM:
		random_actions(j);
		break;
	case WL_LARSON:
		hb_larson(j);
		break;
	case WL_XMALLOC:
		xmalloc_like(j);
		break;
	case WL_THREADTEST:
		threadtest(j);
		break;
	default:
		hermit64(j);
		break;
	}
	hb_go_on(j); /* marks taken even when the workload stopped on a failure */
	return NULL;
}

/* Frees what a run left in flight (set slots, xmalloc's queues), on CPU 0. */
static void run_cleanup(struct hb_shared *sh)
{
	for (size_t i = 0; sh->sets && i < (size_t)HB_SETS * (size_t)sh->k->param; i++)
		if (sh->sets[i].p)
			c_free(sh->c, 0, sh->sets[i].p, sh->sets[i].size, GEN_ALIGN);
	struct xbatch x;
	for (unsigned t = 0; t < HB_MAX_THREADS; t++) {
		while (xq_pop(&sh->xq[t], &x))
			for (int i = 0; i < 64; i++)
				c_free(sh->c, 0, x.p[i], x.s[i], 8);
		pthread_mutex_destroy(&sh->xq[t].lock);
	}
	if (sh->sets)
		munmap(sh->sets, sh->sets_len);
}

/* ops/s over the threads' windows; -1 after a failure, HB_NOT_TIMED when no op fell
 * into the timed window. *standin: the share of the threads' windows spent in the
 * host's stand-ins for page-table edits (0 for a peer). */
static double run_rate(const struct hb_shared *sh, const struct job *j, unsigned n, double *standin)
{
	double ops = 0, t_w = j[0].t_w, t_e = j[0].t_e, sd = 0, busy = 0;
	for (unsigned t = 0; t < n; t++) {
		ops += (double)(j[t].ops_e - j[t].ops_w);
		t_w = j[t].t_w < t_w ? j[t].t_w : t_w;
		t_e = j[t].t_e > t_e ? j[t].t_e : t_e;
		sd += (double)(j[t].sd_e - j[t].sd_w) * 1e-9;
		busy += j[t].t_e - j[t].t_w;
	}
	*standin = busy > 0 ? sd / busy : 0;
	if (sh->failed)
		return -1;
	return ops <= 0 || t_e <= t_w ? HB_NOT_TIMED : ops / (t_e - t_w);
}

double hb_run(struct contender *c, const struct hb_cell *k, const struct hb_timing *tm,
	      double *standin)
{
	*standin = 0;
	static struct hb_shared sh; /* one run at a time; too big for the stack */
	memset(&sh, 0, sizeof(sh));
	sh.c = c, sh.k = k, sh.tm = tm;
	for (unsigned t = 0; t < HB_MAX_THREADS; t++)
		pthread_mutex_init(&sh.xq[t].lock, NULL);
	if (k->w == WL_LARSON || k->w == WL_THREADTEST) {
		size_t set_bytes = (size_t)HB_SETS * (size_t)k->param * sizeof(struct obj);
		sh.sets_len = set_bytes + (k->w == WL_LARSON ? hb_larson_extra((unsigned)k->param) : 0);
		if (!(sh.sets = hb_harness_map(sh.sets_len)))
			return -1;
		if (k->w == WL_LARSON)
			hb_larson_setup(&sh, (char *)sh.sets + set_bytes, (unsigned)k->param);
	}
	pthread_barrier_init(&sh.bar, NULL, k->threads + 1);
	struct job j[HB_MAX_THREADS];
	pthread_t tid[HB_MAX_THREADS];
	for (unsigned t = 0; t < k->threads; t++) {
		j[t] = (struct job){.sh = &sh, .cpu = t, .seed = tm->seed * 7919 + t};
		pthread_attr_t a;
		pthread_attr_init(&a);
		cli_pin_attr(&a, t); /* one thread per core, as the replay's CPUs */
		pthread_create(&tid[t], &a, job_main, &j[t]);
		pthread_attr_destroy(&a);
	}
	sh.warm_end = hb_now_s() + tm->warm_s;
	sh.end = sh.warm_end + tm->dur_s;
	pthread_barrier_wait(&sh.bar);
	for (unsigned t = 0; t < k->threads; t++)
		pthread_join(tid[t], NULL);
	run_cleanup(&sh);
	pthread_barrier_destroy(&sh.bar);
	return run_rate(&sh, j, k->threads, standin);
}
