/* heap_bench.c: the heaps against glibc, jemalloc, tcmalloc and mimalloc, all
 * in one process and one run (host engine; ratios are what to compare).
 *
 * Our heaps run on the test-support frame and VA allocators over hostmem
 * (strategies/tests/heap_fixture.c); the peers are Debian's shared libraries,
 * loaded with dlopen(RTLD_LOCAL) and called through their own prefixed API
 * (mi_*, tc_*, mallocx/sdallocx) so none of them interposes malloc.
 * Workloads:
 *   heap_efficiency  Talc's: 50% alloc (size <= 10 KB), 10% free, 40% realloc
 *                    (<= 100 KB) until the first failure in a 128 MiB arena;
 *                    sum(live)/sum(arena) over trials (talc, slab only)
 *   random_actions   Talc's: 3/7 alloc, 3/7 free (when >= 300 live), 1/7
 *                    realloc; max size 1000 and 10000 B; per thread
 *   larson           larson-like: 1000 slots per thread, free+alloc 8..1000 B
 *                    in a random slot; after each round of 1000 the thread
 *                    trades its slots with another thread (cross-thread frees)
 *   xmalloc          xmalloc-like: batches of 64 objects (8..256 B) allocated
 *                    by one thread and freed by the next one
 *   hermit64         Hermit's problem: alloc + free of 64 B objects in a loop
 * Throughput = operations (alloc, free, realloc) per second of wall time,
 * median of --trials runs of --duration-ms each, per thread count.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../heap_slab.h"
#include "../tests/heap_support.h"
#include "heap_peers.h"

#define MAX_THREADS 2
#define HE_ARENA    (128ull << 20)

/* ---- one interface over ours and the peers -------------------------------- */

static inline void *b_alloc(struct bench_heap *b, unsigned cpu, size_t s, size_t a)
{
	if (b->fx)
		return b->fx->hops->alloc(b->fx->heap_st, cpu, s, a);
	return b->p_alloc(s, a);
}

static inline void b_free(struct bench_heap *b, unsigned cpu, void *p, size_t s, size_t a)
{
	if (b->fx)
		b->fx->hops->free(b->fx->heap_st, cpu, p, s, a);
	else
		b->p_free(p, s, a);
}

static inline void *b_realloc(struct bench_heap *b, unsigned cpu, void *p, size_t o, size_t a,
			      size_t n)
{
	if (b->fx)
		return b->fx->hops->realloc(b->fx->heap_st, cpu, p, o, a, n);
	return b->p_realloc(p, o, a, n);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Talc's size and alignment generators: sizes biased small, alignment 8 with
 * probability 3/4, 16 with 3/16, ... */
static size_t talc_size(uint64_t *s, size_t max)
{
	size_t cap = 16 + rnd(s) % (max - 16);
	return 4 + rnd(s) % (cap - 4);
}

static size_t talc_align(uint64_t *s)
{
	unsigned z = (unsigned)__builtin_ctz((unsigned)(rnd(s) & 0xffff) | 0x10000);
	return (size_t)8 << (z / 2);
}

struct obj {
	void *p;
	size_t size, align;
};

static inline void touch(void *p, size_t n)
{
	if (n) {
		((volatile char *)p)[0] = 1;
		((volatile char *)p)[n - 1] = 1;
	}
}

/* ---- heap efficiency (ours only: peers take memory from the OS) ------------- */

static double heap_efficiency(struct bench_heap *b, int trials, uint64_t seed)
{
	struct obj *v = calloc(200000, sizeof(*v));
	double used = 0, total = 0;
	for (int t = 0; t < trials; t++) {
		bool talc = b->fx->hops == &heap_talc_ops;
		if (heap_fixture_reinit(b->fx, HE_ARENA, 1) != MM_OK)
			return -1;
		faulty_frame_set_budget(&b->fx->faulty, talc ? 0 : (int64_t)(HE_ARENA / PAGE_SIZE));
		size_t n = 0;
		for (;;) {
			uint64_t a = rnd(&seed) % 10;
			if (a <= 4) {
				struct obj o = {NULL, talc_size(&seed, 10000), talc_align(&seed)};
				if (n == 200000 || !(o.p = b_alloc(b, 0, o.size, o.align)))
					break;
				v[n++] = o;
			} else if (a == 5 && n) {
				size_t i = rnd(&seed) % n;
				b_free(b, 0, v[i].p, v[i].size, v[i].align);
				v[i] = v[--n];
			} else if (a > 5 && n) {
				struct obj *o = &v[rnd(&seed) % n];
				size_t ns = 1 + rnd(&seed) % 99999;
				void *q = b_realloc(b, 0, o->p, o->size, o->align, ns);
				if (!q)
					break;
				o->p = q;
				o->size = ns;
			}
		}
		for (size_t i = 0; i < n; i++)
			used += (double)v[i].size;
		total += (double)HE_ARENA;
		faulty_frame_set_budget(&b->fx->faulty, FAULTY_UNLIMITED);
	}
	free(v);
	return used / total * 100.0;
}

/* ---- throughput workloads ---------------------------------------------------- */

struct job {
	struct bench_heap *b;
	unsigned cpu, nthreads;
	int param;
	double dur;
	uint64_t seed;
	pthread_barrier_t *bar;
	struct shared *sh;
	long ops;
	double secs;
};

#define XQ 16
struct xbatch {
	void *p[64];
	size_t s[64];
};
struct xqueue {
	pthread_mutex_t lock;
	unsigned head, tail;
	struct xbatch q[XQ];
};
struct shared {
	struct obj *spare; /* larson: the slot array threads trade (atomic) */
	struct xqueue xq[MAX_THREADS];
};

static void random_actions(struct job *j, double end)
{
	struct obj *v = calloc(100000, sizeof(*v));
	size_t n = 0, max = (size_t)j->param;
	while (now_s() < end) {
		for (int k = 0; k < 100; k++) {
			uint64_t a = rnd(&j->seed) % 7;
			if (a == 6 && n) {
				struct obj *o = &v[rnd(&j->seed) % n];
				size_t ns = 1 + rnd(&j->seed) % (max * 3 - 1);
				void *q = b_realloc(j->b, j->cpu, o->p, o->size, o->align, ns);
				if (q) {
					o->p = q;
					o->size = ns;
					j->ops++;
				}
			} else if ((a < 3 || n < 300) && n < 100000) {
				struct obj o = {NULL, talc_size(&j->seed, max), talc_align(&j->seed)};
				if ((o.p = b_alloc(j->b, j->cpu, o.size, o.align))) {
					touch(o.p, o.size);
					v[n++] = o;
					j->ops++;
				}
			} else if (n) {
				size_t i = rnd(&j->seed) % n;
				b_free(j->b, j->cpu, v[i].p, v[i].size, v[i].align);
				v[i] = v[--n];
				j->ops++;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		b_free(j->b, j->cpu, v[i].p, v[i].size, v[i].align);
	free(v);
}

#define LARSON_SLOTS 1000

static void larson_fill(struct bench_heap *b, unsigned cpu, struct obj *v, uint64_t *seed)
{
	for (int i = 0; i < LARSON_SLOTS; i++) {
		v[i].size = 8 + rnd(seed) % 993;
		v[i].align = 8;
		v[i].p = b_alloc(b, cpu, v[i].size, 8);
		touch(v[i].p, v[i].size);
	}
}

static void larson(struct job *j, double end)
{
	struct obj *v = calloc(LARSON_SLOTS, sizeof(*v));
	larson_fill(j->b, j->cpu, v, &j->seed);
	while (now_s() < end) {
		for (int k = 0; k < LARSON_SLOTS; k++) {
			struct obj *o = &v[rnd(&j->seed) % LARSON_SLOTS];
			b_free(j->b, j->cpu, o->p, o->size, 8);
			o->size = 8 + rnd(&j->seed) % 993;
			o->p = b_alloc(j->b, j->cpu, o->size, 8);
			touch(o->p, o->size);
		}
		j->ops += 2 * LARSON_SLOTS;
		v = __atomic_exchange_n(&j->sh->spare, v, __ATOMIC_ACQ_REL);
	}
	for (int i = 0; i < LARSON_SLOTS; i++)
		b_free(j->b, j->cpu, v[i].p, v[i].size, 8);
	free(v);
}

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
		b_free(j->b, j->cpu, x->p[i], x->s[i], 8);
	j->ops += 64;
}

static void xmalloc_like(struct job *j, double end)
{
	struct xqueue *mine = &j->sh->xq[j->cpu], *next = &j->sh->xq[(j->cpu + 1) % j->nthreads];
	struct xbatch x, y;
	while (now_s() < end) {
		for (int i = 0; i < 64; i++) {
			x.s[i] = 8 + rnd(&j->seed) % 249;
			x.p[i] = b_alloc(j->b, j->cpu, x.s[i], 8);
			touch(x.p[i], x.s[i]);
		}
		j->ops += 64;
		while (!xq_push(next, &x)) {
			if (xq_pop(mine, &y)) {
				xfree(j, &y);
			} else if (now_s() >= end) { /* the consumer has stopped */
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

static void hermit64(struct job *j, double end)
{
	while (now_s() < end) {
		for (int k = 0; k < 1000; k++) {
			void *p = b_alloc(j->b, j->cpu, 64, 8);
			touch(p, 64);
			b_free(j->b, j->cpu, p, 64, 8);
		}
		j->ops += 2000;
	}
}

/* ---- runner ----------------------------------------------------------------- */

enum wl { WL_RANDOM, WL_LARSON, WL_XMALLOC, WL_HERMIT };
static const char *const wl_name[] = {"random_actions", "larson", "xmalloc", "hermit64"};

static void *job_main(void *arg)
{
	struct job *j = arg;
	pthread_barrier_wait(j->bar);
	double t0 = now_s(), end = t0 + j->dur;
	switch (j->param >> 24) {
	case WL_RANDOM:
		j->param &= 0xffffff;
		random_actions(j, end);
		break;
	case WL_LARSON:
		larson(j, end);
		break;
	case WL_XMALLOC:
		xmalloc_like(j, end);
		break;
	default:
		hermit64(j, end);
	}
	j->secs = now_s() - t0;
	return NULL;
}

/* Frees what a run left in flight (larson's spare slots, xmalloc's queues). */
static void run_cleanup(struct bench_heap *b, struct shared *sh, unsigned nthreads)
{
	if (sh->spare) {
		for (int i = 0; i < LARSON_SLOTS; i++)
			b_free(b, 0, sh->spare[i].p, sh->spare[i].size, 8);
		free(sh->spare);
	}
	struct xbatch x;
	for (unsigned t = 0; t < nthreads; t++)
		while (xq_pop(&sh->xq[t], &x))
			for (int i = 0; i < 64; i++)
				b_free(b, 0, x.p[i], x.s[i], 8);
}

/* One timed run: ops/s over all threads. Heaps persist across runs, ours as
 * much as the peers (whose memory stays warm in the process). */
static double run_once(struct bench_heap *b, enum wl w, int param, unsigned nthreads, double dur,
		       uint64_t seed)
{
	struct shared sh;
	memset(&sh, 0, sizeof(sh));
	for (unsigned t = 0; t < MAX_THREADS; t++)
		pthread_mutex_init(&sh.xq[t].lock, NULL);
	if (w == WL_LARSON) {
		sh.spare = calloc(LARSON_SLOTS, sizeof(*sh.spare));
		larson_fill(b, 0, sh.spare, &seed);
	}
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, nthreads);
	struct job j[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	for (unsigned t = 0; t < nthreads; t++) {
		j[t] = (struct job){.b = b, .cpu = t, .nthreads = nthreads,
				    .param = (int)w << 24 | param, .dur = dur,
				    .seed = seed * 7919 + t, .bar = &bar, .sh = &sh};
		pthread_create(&tid[t], NULL, job_main, &j[t]);
	}
	long ops = 0;
	double secs = 0;
	for (unsigned t = 0; t < nthreads; t++) {
		pthread_join(tid[t], NULL);
		ops += j[t].ops;
		secs = MM_MAX(secs, j[t].secs);
	}
	run_cleanup(b, &sh, nthreads);
	pthread_barrier_destroy(&bar);
	return (double)ops / secs;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* ---- main ----------------------------------------------------------------------- */

struct opts {
	const char *out;
	double dur;
	int trials, he_trials;
	uint64_t seed;
	const char *only, *heaps; /* comma lists, NULL = all */
	const char *frames;	  /* frame allocator under talc and slab */
};

/* Provenance of every row (results/README.md): seed and build id. */
static uint64_t prov_seed;
static const char *prov_build = "dev";

static const char usage[] =
	"usage: heap_bench --out FILE [--duration-ms N] [--trials N] [--he-trials N] [--seed N]\n"
	"                  [--only LIST] [--heaps LIST] [--frames NAME]\n"
	"  Benchmarks the talc and slab heaps against glibc, jemalloc, tcmalloc and mimalloc\n"
	"  (heap_efficiency, random_actions, larson, xmalloc, hermit64 at 1 and 2 threads) and\n"
	"  writes one CSV (workload,allocator,version,threads,param,value,unit,engine,\n"
	"  timing_trusted,seed,build) atomically; build = $MTB_BUILD_ID, else 'dev'.\n"
	"  --duration-ms  length of one timed run (default 200)\n"
	"  --trials       timed runs per configuration, the median is kept (default 3)\n"
	"  --he-trials    heap_efficiency trials, each until the first failure (default 30)\n"
	"  --only LIST    workloads to run (comma list of the names above)\n"
	"  --heaps LIST   allocators to run (talc,slab,glibc,jemalloc,tcmalloc,mimalloc)\n"
	"  --frames NAME  frame allocator under talc and slab: simple (test stand-in,\n"
	"                 default), buddy or freelist\n";

static long arg_num(const char *opt, const char *v, long lo, long hi)
{
	char *end;
	errno = 0;
	long n = v ? strtol(v, &end, 0) : 0;
	if (!v || errno || *end || n < lo || n > hi) {
		fprintf(stderr, "heap_bench: %s needs a number in %ld..%ld\n", opt, lo, hi);
		exit(2);
	}
	return n;
}

static void parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){NULL, 0.2, 3, 30, 42, NULL, NULL, "simple"};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			exit(0);
		} else if (!strcmp(a, "--out") && v) {
			o->out = v;
		} else if (!strcmp(a, "--duration-ms")) {
			o->dur = (double)arg_num(a, v, 10, 100000) / 1000.0;
		} else if (!strcmp(a, "--trials")) {
			o->trials = (int)arg_num(a, v, 1, 99);
		} else if (!strcmp(a, "--he-trials")) {
			o->he_trials = (int)arg_num(a, v, 1, 10000);
		} else if (!strcmp(a, "--only") && v) {
			o->only = v;
		} else if (!strcmp(a, "--heaps") && v) {
			o->heaps = v;
		} else if (!strcmp(a, "--frames") && v) {
			if (!heap_fixture_frame_ops(v)) {
				fprintf(stderr, "heap_bench: --frames %s: not simple, buddy or freelist\n", v);
				exit(2);
			}
			o->frames = v;
		} else if (!strcmp(a, "--seed")) {
			o->seed = (uint64_t)arg_num(a, v, 0, 1L << 62);
		} else {
			fprintf(stderr, "heap_bench: unknown or incomplete argument '%s' (see --help)\n", a);
			exit(2);
		}
		i++;
	}
	if (!o->out) {
		fprintf(stderr, "heap_bench: --out FILE is required (see --help)\n");
		exit(2);
	}
}

#define NALLOC 6
static struct bench_heap heaps[NALLOC] = {{.name = "talc"},	{.name = "slab"},
					  {.name = "glibc"},	{.name = "jemalloc"},
					  {.name = "tcmalloc"}, {.name = "mimalloc"}};

/* Whether name is an element of the comma list (NULL: everything is). */
static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == 0))
			return true;
	return !list;
}

static bool setup(struct bench_heap *b, const char *frames)
{
	if (strcmp(b->name, "talc") && strcmp(b->name, "slab"))
		return peer_load(b);
	b->fx = calloc(1, sizeof(*b->fx));
	snprintf(b->version, sizeof(b->version), "memtestbed %s on %s/simple, keep 1", b->name,
		 frames);
	return b->fx && heap_fixture_init(b->fx, heap_fixture_frame_ops(frames), &test_va_simple_ops,
					  heap_fixture_heap_ops(b->name), MAX_THREADS, 1ull << 30,
					  16ull << 30, 256ull << 20, 1) == MM_OK;
}

struct cfg {
	enum wl w;
	int param;
	unsigned threads;
};
static const struct cfg cfgs[] = {
	{WL_RANDOM, 1000, 1},  {WL_RANDOM, 1000, 2},  {WL_RANDOM, 10000, 1},
	{WL_RANDOM, 10000, 2}, {WL_LARSON, 1000, 1},  {WL_LARSON, 1000, 2},
	{WL_XMALLOC, 256, 1},  {WL_XMALLOC, 256, 2},  {WL_HERMIT, 64, 1},
	{WL_HERMIT, 64, 2},
};
#define NCFG (sizeof(cfgs) / sizeof(cfgs[0]))

static void row(FILE *f, const char *w, const char *a, const char *ver, unsigned thr, int param,
		double v, const char *unit)
{
	fprintf(f, "%s,%s,\"%s\",%u,%d,%.4g,%s,host,true,%llu,%s\n", w, a, ver, thr, param, v,
		unit, (unsigned long long)prov_seed, prov_build);
	fprintf(stderr, "  %-15s %-16s t=%u p=%-5d %12.4g %s\n", w, a, thr, param, v, unit);
}

/* Ratio rows for the goals: ours / a peer on the same configuration. */
static void ratios(FILE *f, double res[][NALLOC], bool *ok)
{
	for (size_t c = 0; c < NCFG; c++) {
		const struct cfg *k = &cfgs[c];
		if (k->w == WL_LARSON || k->w == WL_XMALLOC)
			if (res[c][1] > 0 && res[c][5] > 0)
				row(f, wl_name[k->w], "slab/mimalloc", "ratio", k->threads, k->param,
				    res[c][1] / res[c][5], "ratio");
		if (k->w == WL_RANDOM && res[c][0] > 0 && res[c][2] > 0)
			row(f, wl_name[k->w], "talc/glibc", "ratio", k->threads, k->param,
			    res[c][0] / res[c][2], "ratio");
		if (k->w == WL_HERMIT && k->threads == 2)
			for (int a = 0; a < NALLOC; a++)
				if (res[c][a] > 0 && res[c - 1][a] > 0)
					row(f, "hermit64_scaling", heaps[a].name, heaps[a].version, 2,
					    64, res[c][a] / res[c - 1][a], "x");
	}
}

/* jemalloc's library uses initial-exec TLS, which dlopen can only place in the
 * static TLS surplus: re-executes once with a bigger surplus (a glibc tunable). */
static void reexec_for_tls(char **argv)
{
	if (getenv("HEAP_BENCH_TLS"))
		return;
	setenv("HEAP_BENCH_TLS", "1", 1);
	setenv("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=65536", 1);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "heap_bench: re-exec for TLS failed (%s), going on\n", strerror(errno));
}

int main(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o);
	reexec_for_tls(argv);
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", o.out, (int)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "heap_bench: cannot write %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	prov_seed = o.seed;
	if (getenv("MTB_BUILD_ID") && *getenv("MTB_BUILD_ID"))
		prov_build = getenv("MTB_BUILD_ID");
	fprintf(f, "workload,allocator,version,threads,param,value,unit,engine,timing_trusted,seed,"
		   "build\n");
	bool ok[NALLOC];
	for (int a = 0; a < NALLOC; a++)
		ok[a] = in_list(o.heaps, heaps[a].name) && setup(&heaps[a], o.frames);
	fprintf(stderr, "heap_bench: heap_efficiency, %d trials of a %llu MiB arena\n", o.he_trials,
		(unsigned long long)(HE_ARENA >> 20));
	for (int a = 0; a < 2; a++)
		if (ok[a] && in_list(o.only, "heap_efficiency"))
			row(f, "heap_efficiency", heaps[a].name, heaps[a].version, 1, 10000,
			    heap_efficiency(&heaps[a], o.he_trials, o.seed), "percent");
	for (int a = 0; a < 2; a++) /* a fresh heap (256 MiB for talc) for the timed runs */
		if (ok[a] && heap_fixture_reinit(heaps[a].fx, 256ull << 20, 1) != MM_OK) {
			fprintf(stderr, "heap_bench: %s: cannot start the heap\n", heaps[a].name);
			ok[a] = false;
		}
	static double res[NCFG][NALLOC], tr[NCFG][NALLOC][99];
	for (int t = 0; t < o.trials; t++) { /* trials outermost: drift hits everyone alike */
		fprintf(stderr, "heap_bench: throughput trial %d/%d\n", t + 1, o.trials);
		for (size_t c = 0; c < NCFG; c++)
			for (int a = 0; a < NALLOC; a++)
				if (ok[a] && in_list(o.only, wl_name[cfgs[c].w]))
					tr[c][a][t] = run_once(&heaps[a], cfgs[c].w, cfgs[c].param,
							       cfgs[c].threads, o.dur, o.seed + (uint64_t)t);
	}
	for (size_t c = 0; c < NCFG; c++)
		for (int a = 0; a < NALLOC; a++)
			if (ok[a] && in_list(o.only, wl_name[cfgs[c].w])) {
				qsort(tr[c][a], (size_t)o.trials, sizeof(double), cmp_double);
				res[c][a] = tr[c][a][o.trials / 2];
				row(f, wl_name[cfgs[c].w], heaps[a].name, heaps[a].version,
				    cfgs[c].threads, cfgs[c].param, res[c][a], "ops/s");
			}
	ratios(f, res, ok);
	if (fclose(f) != 0 || rename(tmp, o.out) != 0) {
		fprintf(stderr, "heap_bench: cannot write %s: %s\n", o.out, strerror(errno));
		unlink(tmp);
		return 1;
	}
	fprintf(stderr, "heap_bench: wrote %s\n", o.out);
	return 0;
}
