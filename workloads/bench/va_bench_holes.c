/* va_bench_holes.c: va_bench's adversarial layout (--holes N, contract in
 * va_bench_run.h): every other page live, so N one-page free ranges lie between N
 * live pages, the worst case for an allocator that keeps an entry per free range
 * (the B+-trees, the free list) and nothing special for one with fixed metadata
 * (the bitmap: one granule per page allocation). Then pairs on it: free a random
 * live page, allocate one page in its place (the layout stays near N free ranges).
 *
 *     VA_RUN_BASE: | L | . | L | . | L | . | ... | L | . | the rest, free ... |
 *                   L: a live page   .: a one-page free range (2N pages in all)
 *
 * The pairs are counted under callgrind (vb_holes_one: one strategy,
 * vb_callgrind_holes) or timed (vb_holes_timed: every strategy asked for holds its
 * layout at once, the caches are evicted, and each round times every strategy's
 * pairs in turn, the order rotated from round to round: A B C, B C A, ...; one
 * thread, CPU 0). A timed figure is the median over rounds with its
 * order-statistic interval (median_ci.h); the ratio to the bitmap is the median
 * of the per-round ratios, so both sides of each ratio ran seconds apart.
 */
#define _GNU_SOURCE
#include "va_bench_run.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../host/cli_util.h"
#include "../host/median_ci.h"
#include "va_bench_draw.h"

/* One strategy's instance holding the layout. Not moved after layout_build (the
 * va_host inside must not move). */
struct layout {
	struct va_host vh;
	uint64_t *live; /* the live pages' addresses, n of them */
	uint64_t n, rng;
};

/* A fresh instance of ops holding the layout: 2n one-page allocations by CPU 0,
 * every second one freed again. Exits via vb_die on a failure. */
static void layout_build(struct layout *l, const struct va_ops *ops, uint64_t n, uint64_t seed)
{
	if (va_host_init(&l->vh, ops, VA_RUN_BASE, VA_RUN_SIZE))
		vb_die("init failed", ops->name);
	uint64_t *all = calloc(2 * n, sizeof(*all));
	if (!all)
		vb_die("out of memory", NULL);
	for (uint64_t i = 0; i < 2 * n; i++)
		if (ops->alloc(l->vh.st, 0, PAGE_SIZE, 0, &all[i]) != MM_OK)
			vb_die("holes prefill failed", ops->name);
	for (uint64_t i = 0; i < n; i++) {
		ops->free(l->vh.st, 0, all[2 * i + 1], PAGE_SIZE);
		all[i] = all[2 * i]; /* the live ones move to the front */
	}
	l->live = all;
	l->n = n;
	l->rng = seed * 77;
}

/* Checks the invariants (vb_die if broken), frees the live pages and the instance. */
static void layout_free(struct layout *l)
{
	const struct va_ops *ops = l->vh.ops;
	if (!ops->check(l->vh.st))
		vb_die("invariant check failed after the run", ops->name);
	for (uint64_t i = 0; i < l->n; i++)
		ops->free(l->vh.st, 0, l->live[i], PAGE_SIZE);
	free(l->live);
	va_host_fini(&l->vh);
}

/* n pairs: free a random live page, allocate one page in its place. */
static inline void holes_pairs(struct layout *l, uint64_t n)
{
	const struct va_ops *ops = l->vh.ops;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t *p = &l->live[vb_rnd(&l->rng) % l->n];
		ops->free(l->vh.st, 0, *p, PAGE_SIZE);
		if (ops->alloc(l->vh.st, 0, PAGE_SIZE, 0, p) != MM_OK)
			vb_die("allocation failed in a holes pair", ops->name);
	}
}

/* The pairs callgrind counts (--toggle-collect=vb_callgrind_holes): not inlined,
 * nothing else inside. */
__attribute__((noinline)) void vb_callgrind_holes(struct layout *l, uint64_t n);
__attribute__((noinline)) void vb_callgrind_holes(struct layout *l, uint64_t n)
{
	holes_pairs(l, n);
}

void vb_holes_one(const struct bench *b, const struct va_ops *ops, uint64_t holes)
{
	struct layout l;
	struct va_stats st0, st1;
	layout_build(&l, ops, holes, b->seed);
	ops->stats(l.vh.st, &st0);
	vb_callgrind_holes(&l, b->pairs);
	ops->stats(l.vh.st, &st1);
	fprintf(stderr,
		"holes %s %" PRIu64 ": %" PRIu64 " pairs counted, free ranges %" PRIu64
		" before, %" PRIu64 " after, meta_bytes %" PRIu64 " before, %" PRIu64 " after\n",
		ops->name, holes, b->pairs, st0.free_ranges, st1.free_ranges, st0.meta_bytes,
		st1.meta_bytes);
	layout_free(&l);
}

/* Median and interval of v[0..n) (a copy is sorted) into *lo, *hi; the median. */
static double med(const double *v, unsigned n, double *lo, double *hi)
{
	double *c = malloc(n * sizeof(*c));
	struct median_ci ci;
	if (!c)
		vb_die("out of memory", NULL);
	memcpy(c, v, n * sizeof(*c));
	median_ci(c, n, &ci);
	free(c);
	*lo = ci.lo;
	*hi = ci.hi;
	return ci.median;
}

/* Bytes to stream through to evict the caches: twice the last-level cache
 * (sysconf's L3, else its L2, else 128 MiB), within [64 MiB, 4 GiB]. */
static size_t evict_bytes(void)
{
	long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
	uint64_t llc = l3 > 0 ? (uint64_t)l3 : l2 > 0 ? (uint64_t)l2 : (uint64_t)128 << 20;
	uint64_t n = 2 * llc;
	n = n < ((uint64_t)64 << 20) ? (uint64_t)64 << 20 : n;
	return (size_t)(n > ((uint64_t)4 << 30) ? (uint64_t)4 << 30 : n);
}

/* Writes and reads a buffer twice the last-level cache, so that no layout
 * starts the rounds with its metadata in the caches because it was built last
 * (on a VM with a 300 MiB L3, --virt bitmap,btree-bare gave btree-bare / the
 * bitmap 3.45-3.80 without this and 4.02-4.24 with it, 3 runs each). */
static void evict_caches(void)
{
	size_t n = evict_bytes();
	volatile uint8_t *buf = malloc(n);
	uint64_t sum = 0;
	if (!buf)
		vb_die("out of memory (cache eviction buffer)", NULL);
	for (size_t i = 0; i < n; i += 64)
		buf[i] = (uint8_t)i;
	for (size_t i = 0; i < n; i += 64)
		sum += buf[i];
	free((void *)buf);
	fprintf(stderr, "  holes: caches evicted (%zu MiB streamed, sum %" PRIu64 ")\n", n >> 20,
		sum & 0xff);
}

/* The rounds: ns[i * rounds + k] = strategy i's ns per pair in round k; each
 * strategy's total ns into tot[i]. Progress on stderr every tenth of the rounds. */
static void timed_rounds(const struct bench *b, struct layout *l, unsigned m, double *ns,
			 double *tot)
{
	for (uint64_t k = 0; k < b->rounds; k++) {
		for (unsigned j = 0; j < m; j++) {
			unsigned i = (unsigned)((j + k) % m);
			uint64_t t0 = cli_mono_ns();
			holes_pairs(&l[i], b->pairs);
			double dt = (double)(cli_mono_ns() - t0);
			ns[i * b->rounds + k] = dt / (double)b->pairs;
			tot[i] += dt;
		}
		if ((k + 1) % (b->rounds / 10 ? b->rounds / 10 : 1) == 0)
			fprintf(stderr, "  holes: round %" PRIu64 " of %" PRIu64 "\n", k + 1,
				b->rounds);
	}
}

/* Strategy i's figures from its rounds: the ratio to strategy ref's when ref is
 * another strategy that ran (ref < m), else none (-1). */
static void figures(const struct bench *b, struct layout *l, unsigned i, unsigned ref,
		    const double *ns, double tot, struct holes_fig *f)
{
	unsigned n = (unsigned)b->rounds;
	struct va_stats st;
	f->median = med(ns + i * n, n, &f->lo, &f->hi);
	f->mean = tot / (double)(n * b->pairs);
	f->ratio = f->ratio_lo = f->ratio_hi = -1;
	if (ref != UINT32_MAX && ref != i) {
		double r[MEDIAN_CI_MAX_N];
		for (unsigned k = 0; k < n; k++)
			r[k] = ns[i * n + k] / ns[ref * n + k];
		f->ratio = med(r, n, &f->ratio_lo, &f->ratio_hi);
	}
	l[i].vh.ops->stats(l[i].vh.st, &st);
	f->free_ranges_end = st.free_ranges;
	f->meta_bytes_end = st.meta_bytes;
}

void vb_holes_timed(const struct bench *b, uint64_t holes, struct holes_fig fig[NVIRT])
{
	struct layout *l = calloc(NVIRT, sizeof(*l));
	unsigned idx[NVIRT], m = 0, ref = UINT32_MAX;
	double *ns = calloc(NVIRT * b->rounds, sizeof(*ns)), tot[NVIRT] = {0};
	if (!l || !ns)
		vb_die("out of memory", NULL);
	for (unsigned v = 0; v < NVIRT; v++) {
		if (!b->run[v])
			continue;
		uint64_t t0 = cli_mono_ns();
		struct va_stats st;
		layout_build(&l[m], va_run_strategies[v], holes, b->seed);
		l[m].vh.ops->stats(l[m].vh.st, &st);
		fig[v] =
		    (struct holes_fig){.free_ranges = st.free_ranges, .meta_bytes = st.meta_bytes};
		fprintf(stderr,
			"  holes: %s holds %" PRIu64 " free ranges, %" PRIu64
			" metadata bytes (%.1f s)\n",
			va_run_strategies[v]->name, st.free_ranges, st.meta_bytes,
			(double)(cli_mono_ns() - t0) / 1e9);
		ref = !strcmp(va_run_strategies[v]->name, "bitmap") ? m : ref;
		idx[m++] = v;
	}
	evict_caches();
	timed_rounds(b, l, m, ns, tot);
	for (unsigned i = 0; i < m; i++) {
		struct holes_fig *f = &fig[idx[i]];
		figures(b, l, i, ref, ns, tot[i], f);
		layout_free(&l[i]);
	}
	free(ns);
	free(l);
}
