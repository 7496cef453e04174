/* frame_overlap.c: 2-thread alloc/free timing of a frame allocator that counts only
 * the rounds in which both threads really ran at the same time.
 *
 * On a shared, loaded host the two threads of frame_bench rarely run together, so
 * its medians fall back to 1-thread figures and hide contention. Here each thread
 * runs frame_bench's op workload (fill to --fill % with blocks of --order, then
 * rounds of: allocate a batch, free it in random order) and records when each
 * round started and ended. A round counts as "overlapped" if at least 90% of its
 * span is covered by the other thread's rounds that were themselves short
 * (< 50 us: not preempted), i.e. the other thread was running then. Prints the
 * median ns per alloc and per free over the overlapped rounds, and how many there
 * were. --separate gives each thread its own instance (no shared state): the
 * control that tells contention from the host's own 2-thread slowdown.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../strategies/frame.h"
#include "../host/cli_util.h"
#include "../host/hostmem.h"
#include "../host/spill_heap.h"

#define MAX_ROUNDS 20000
#define SHORT_NS   50000.0

static const char *usage =
    "usage: frame_overlap [--phys buddy|freelist] [--order N] [--fill PCT] [--mem MIB]\n"
    "                     [--separate] [--seed N]\n"
    "  2-thread ns per alloc/free (frame_bench's op workload), median over the rounds\n"
    "  in which both threads ran at once; one line on stdout.\n"
    "  --order N   block order, 0..18 (default 9 = 2 MiB)\n"
    "  --fill PCT  fill before timing, 0..95 (default 50)\n"
    "  --mem MIB   machine size (default 1024), frame_bench's map with holes\n"
    "  --separate  one instance per thread (control: no shared allocator state)\n";

struct thr {
	const struct frame_ops *ops;
	void *st;
	unsigned cpu, order;
	size_t batch;
	int rounds;
	uint64_t seed;
	pthread_barrier_t *bar;
	double (*t)[4]; /* per round: alloc start, alloc end, free start, free end */
	size_t *n;	/* per round: blocks allocated */
};

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static _Noreturn void die(const char *msg)
{
	fprintf(stderr, "frame_overlap: %s\n", msg);
	exit(2);
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	return z ^ (z >> 27);
}

static void *thr_main(void *arg)
{
	struct thr *w = arg;
	uint64_t *p = malloc(w->batch * sizeof(*p)), s = w->seed;
	if (!p)
		die("out of memory");
	pthread_barrier_wait(w->bar);
	for (int r = 0; r < w->rounds; r++) {
		size_t n = 0;
		w->t[r][0] = now_ns();
		while (n < w->batch && w->ops->alloc(w->st, w->cpu, w->order, &p[n]) == MM_OK)
			n++;
		w->t[r][1] = now_ns();
		for (size_t i = n; i > 1; i--) {
			size_t j = (size_t)(rnd(&s) % i);
			uint64_t x = p[i - 1];
			p[i - 1] = p[j];
			p[j] = x;
		}
		w->t[r][2] = now_ns();
		for (size_t i = 0; i < n; i++)
			w->ops->free(w->st, w->cpu, p[i], w->order);
		w->t[r][3] = now_ns();
		w->n[r] = n;
	}
	free(p);
	return NULL;
}

/* Share of [a0, a1) covered by the short rounds of o. */
static double covered(const struct thr *o, double a0, double a1)
{
	double c = 0;
	for (int r = 0; r < o->rounds; r++) {
		double s0 = o->t[r][0], s1 = o->t[r][3];
		if (s1 - s0 > SHORT_NS)
			continue;
		double lo = s0 > a0 ? s0 : a0, hi = s1 < a1 ? s1 : a1;
		if (hi > lo)
			c += hi - lo;
	}
	return a1 > a0 ? c / (a1 - a0) : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* A filled instance (2 CPUs; the free list spills into malloc, as Hermit's into its
 * global allocator; kept until exit); returns its free frames after the fill. */
static uint64_t make_inst(const struct frame_ops *ops, const struct mem_map *m, unsigned order,
			  unsigned fill, void **st)
{
	size_t ml = ops->meta_size(m, 2);
	void *meta = aligned_alloc(64, (ml + 64) / 64 * 64);
	*st = aligned_alloc(64, (ops->state_size + 63) / 64 * 64);
	if (!meta || !*st)
		die("out of memory");
	memset(meta, 0, ml);
	if (ops->init(*st, m, 2, meta, ml) != MM_OK)
		die("init failed");
	struct spill_heap *spill = malloc(sizeof(*spill));
	if (!spill)
		die("out of memory");
	spill_heap_init(spill);
	spill_heap_attach_frames(spill, ops, *st);
	struct frame_stats fs;
	ops->stats(*st, &fs);
	uint64_t goal = fs.free_frames * fill / 100, got = 0, pfn;
	for (uint64_t i = 0; got + (1ull << order) <= goal; i++, got += 1ull << order)
		if (ops->alloc(*st, (unsigned)(i % 2), order, &pfn) != MM_OK)
			break;
	ops->stats(*st, &fs);
	return fs.free_frames;
}

/* Median ns per op of phase k (0 alloc, 1 free) over the overlapped rounds. */
static double overlapped_median(struct thr *w, int k, int *count)
{
	double *v = malloc(sizeof(double) * 2 * (size_t)w[0].rounds);
	int nv = 0;
	if (!v)
		die("out of memory");
	for (int t = 0; t < 2; t++)
		for (int r = 0; r < w[t].rounds; r++) {
			double a0 = w[t].t[r][2 * k], a1 = w[t].t[r][2 * k + 1];
			if (w[t].n[r] && covered(&w[!t], a0, a1) >= 0.9)
				v[nv++] = (a1 - a0) / (double)w[t].n[r];
		}
	qsort(v, (size_t)nv, sizeof(*v), cmp_double);
	double med = nv ? v[nv / 2] : 0;
	free(v);
	*count = nv;
	return med;
}

/* The value s of option opt, a decimal number in [0, max]; exits 2 after one line
 * (cli_num) when it is missing or not one. */
static unsigned long num_arg(const char *opt, const char *s, unsigned long max)
{
	uint64_t v;
	if (!cli_num("frame_overlap", opt, s, 0, max, &v))
		exit(2);
	return (unsigned long)v;
}

int main(int argc, char **argv)
{
	const struct frame_ops *ops = &frame_buddy_ops;
	unsigned long order = 9, fill = 50, mib = 1024, seed = 1;
	int separate = 0;
	static const struct option lo[] = {
	    {"phys", 1, 0, 'p'},     {"order", 1, 0, 'o'}, {"fill", 1, 0, 'f'}, {"mem", 1, 0, 'm'},
	    {"separate", 0, 0, 'x'}, {"seed", 1, 0, 's'},  {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
	for (int c; (c = getopt_long(argc, argv, ":p:o:f:m:xs:h", lo, NULL)) != -1;) {
		if (c == 'p' && !strcmp(optarg, "freelist"))
			ops = &frame_freelist_ops;
		else if (c == 'p' && strcmp(optarg, "buddy"))
			die("--phys: buddy or freelist");
		else if (c == 'o')
			order = num_arg("--order", optarg, FRAME_MAX_ORDER);
		else if (c == 'f')
			fill = num_arg("--fill", optarg, 95);
		else if (c == 'm')
			mib = num_arg("--mem", optarg, 1ul << 20);
		else if (c == 'x')
			separate = 1;
		else if (c == 's')
			seed = num_arg("--seed", optarg, ~0ul);
		else if (c == 'h')
			return fputs(usage, stdout), 0;
		else if (c == ':')
			return fprintf(stderr, "frame_overlap: %s needs a value\n", argv[optind - 1]), 2;
		else if (c != 'p')
			die("unknown option (see --help)");
	}
	if (optind != argc || mib < 64)
		die("bad arguments (see --help; --mem at least 64)");
	struct mem_map m;
	if (hostmem_layout(&m, mib << 20, HOSTMEM_HOLES))
		die("memory map");
	void *st[2];
	uint64_t freef = make_inst(ops, &m, (unsigned)order, (unsigned)fill, &st[0]);
	st[1] = st[0];
	if (separate)
		make_inst(ops, &m, (unsigned)order, (unsigned)fill, &st[1]);
	size_t batch = (size_t)((freef >> order) / 4);
	batch = batch > 4096 ? 4096 : batch;
	if (!batch)
		die("memory too small for a batch (raise --mem)");
	int rounds = (int)(100000 / batch);
	rounds = rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds < 1 ? 1 : rounds;
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, 2);
	struct thr w[2];
	pthread_t th[2];
	for (unsigned t = 0; t < 2; t++) {
		w[t] = (struct thr){ops,
				    st[t],
				    t,
				    (unsigned)order,
				    batch,
				    rounds,
				    seed + t,
				    &bar,
				    calloc((size_t)rounds, sizeof(*w[t].t)),
				    calloc((size_t)rounds, sizeof(size_t))};
		if (!w[t].t || !w[t].n || pthread_create(&th[t], NULL, thr_main, &w[t]))
			die("thread setup");
	}
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	int na, nf;
	double ma = overlapped_median(w, 0, &na), mf = overlapped_median(w, 1, &nf);
	printf("%s %s order %lu fill %lu%% mem %lu MiB batch %zu: overlapped rounds %d/%d alloc "
	       "%.1f ns, %d/%d free %.1f ns\n",
	       ops->name, separate ? "separate" : "shared", order, fill, mib, batch, na, 2 * rounds,
	       ma, nf, 2 * rounds, mf);
	return 0;
}
