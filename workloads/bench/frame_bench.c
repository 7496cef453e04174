/* frame_bench.c: frame allocator figures, buddy and freelist in the same run
 * (host engine: strategies linked into this process, one pthread per CPU).
 *
 *   op        ns per alloc / free of 4 KiB and 2 MiB blocks, 1 and 2 threads, after
 *             filling memory to 50% and 90% with blocks of that size; each thread
 *             allocates a batch, then frees it in random order, repeatedly.
 *   frag      the same ops when memory is fragmented into 10,000 free ranges
 *             (every ~23rd frame free, plus the top 10% of memory free).
 *   Timings are the median over rounds (and threads) of a round's ns per op, which
 *   resists preemption on a shared machine; the mean is reported too (_mean).
 *   churn     fill to 90% with mixed requests (half the bytes as 4 KiB frames, half
 *             as 2 MiB blocks, random order), then 100 rounds each freeing random
 *             allocations worth 10% of memory and allocating as much again; the
 *             share of free memory available as whole 2 MiB blocks (LLFree's metric).
 *   meta      metadata bytes per GiB (state + bitmaps / range arrays).
 *
 * Memory is hostmem's --holes layout (1 MiB firmware, a hole of 1/16 in the
 * middle, a small odd one near the top). Rows: engine,timing_trusted,kind,phys,
 * cpus,fill_pct,op,value,unit,seed,build,cpu_model,cores,mem_bytes,kernel,kvm
 * (results/README.md names; build = $MTB_BUILD_ID, else "dev"; the machine as
 * host_ctx.h reads it). Written atomically.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../strategies/frame.h"
#include "../host/cli_util.h"
#include "../host/host_ctx.h"
#include "../host/hostmem.h"
#include "../host/out_file.h"
#include "../host/spill_heap.h"
#include "../../strategies/frame_freelist.h"

static const char *usage =
	"usage: frame_bench [--out FILE] [--mem MIB] [--churn-mem MIB] [--rounds N] [--seed N]\n"
	"  Frame allocator benchmark (buddy vs freelist, host engine); CSV rows to FILE\n"
	"  (default stdout), progress on stderr.\n"
	"  --mem MIB        machine size for op/frag/meta figures, 96..1048576 (default\n"
	"                   1024; the frag figure needs 10,000 free ranges: 96 MiB at least)\n"
	"  --churn-mem MIB  machine size for the churn figure, 64..1048576 (default 512)\n"
	"  --rounds N       churn rounds, 0..100000 (default 100)\n"
	"  --seed N         seed of every random choice (default 1)\n"
	"Numbers are decimal; a bad value exits 2 before anything runs.\n";

struct bench {
	FILE *out;
	uint64_t seed;
	const char *build; /* build id for the rows */
	struct host_ctx ctx; /* the machine, in every row */
};

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void row(struct bench *b, const char *kind, const char *phys, unsigned cpus,
		unsigned fill, const char *op, double value, const char *unit)
{
	fprintf(b->out, "host,true,%s,%s,%u,%u,%s,%.6g,%s,%" PRIu64 ",%s,", kind, phys, cpus,
		fill, op, value, unit, b->seed, b->build);
	host_ctx_csv(b->out, &b->ctx);
	fputc('\n', b->out);
	fflush(b->out);
}

static void die(const char *msg)
{
	fprintf(stderr, "frame_bench: %s\n", msg);
	exit(1);
}

/* ---- instances ---------------------------------------------------------------- */

struct inst {
	const struct frame_ops *ops;
	void *st, *meta;
	size_t meta_len;
	struct mem_map map;
	struct spill_heap spill; /* the free list's heap (malloc, as Hermit's global one) */
};

static void inst_init(struct inst *in, const struct frame_ops *ops, uint64_t mib, unsigned ncpus)
{
	in->ops = ops;
	if (hostmem_layout(&in->map, mib << 20, HOSTMEM_HOLES))
		die("memory map");
	in->meta_len = ops->meta_size(&in->map, ncpus);
	in->st = aligned_alloc(64, (ops->state_size + 63) / 64 * 64);
	in->meta = aligned_alloc(64, (in->meta_len + 64) / 64 * 64);
	if (!in->st || !in->meta)
		die("out of memory");
	memset(in->meta, 0, in->meta_len);
	if (ops->init(in->st, &in->map, ncpus, in->meta, in->meta_len) != MM_OK)
		die("init failed");
	spill_heap_init(&in->spill);
	spill_heap_attach_frames(&in->spill, ops, in->st);
}

static void inst_fini(struct inst *in)
{
	spill_heap_fini(&in->spill);
	free(in->st);
	free(in->meta);
}

static uint64_t free_frames(struct inst *in)
{
	struct frame_stats s;
	in->ops->stats(in->st, &s);
	return s.free_frames;
}

/* ---- op: batches of alloc then shuffled free --------------------------------- */

struct worker {
	struct inst *in;
	unsigned cpu, order;
	size_t batch;
	int rounds;
	uint64_t seed;
	pthread_barrier_t *bar;
	double ns_alloc, ns_free;
	double *round_alloc, *round_free; /* ns per op in each round (for the median) */
	uint64_t n_alloc, n_free;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct frame_ops *ops = w->in->ops;
	uint64_t *p = malloc(w->batch * sizeof(*p)), s = w->seed;
	pthread_barrier_wait(w->bar);
	for (int r = 0; r < w->rounds; r++) {
		size_t n = 0;
		double t0 = now_ns();
		while (n < w->batch && ops->alloc(w->in->st, w->cpu, w->order, &p[n]) == MM_OK)
			n++;
		double t1 = now_ns();
		for (size_t i = n; i > 1; i--) {
			size_t j = (size_t)(rnd(&s) % i);
			uint64_t x = p[i - 1];
			p[i - 1] = p[j];
			p[j] = x;
		}
		double t2 = now_ns();
		for (size_t i = 0; i < n; i++)
			ops->free(w->in->st, w->cpu, p[i], w->order);
		double t3 = now_ns();
		w->ns_alloc += t1 - t0;
		w->ns_free += t3 - t2;
		if (w->round_alloc && n) {
			w->round_alloc[r] = (t1 - t0) / (double)n;
			w->round_free[r] = (t3 - t2) / (double)n;
		}
		w->n_alloc += n;
		w->n_free += n;
	}
	free(p);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n ? v[n / 2] : 0;
}

struct timing {
	double med_alloc, med_free;   /* median over all threads' rounds of ns per op */
	double mean_alloc, mean_free; /* total ns / total ops */
	int samples;
};

/* Runs threads x (batch, rounds) of alloc-then-shuffled-free on in. */
static struct timing run_workers(struct inst *in, unsigned threads, unsigned order, size_t batch,
				 int rounds, uint64_t seed)
{
	pthread_t th[FRAME_MAX_CPUS];
	struct worker w[FRAME_MAX_CPUS];
	pthread_barrier_t bar;
	size_t nr = (size_t)rounds * threads;
	double *ra = calloc(nr, sizeof(double)), *rf = calloc(nr, sizeof(double));
	double na = 0, ta = 0, tf = 0;
	pthread_barrier_init(&bar, NULL, threads);
	for (unsigned t = 0; t < threads; t++) {
		w[t] = (struct worker){.in = in, .cpu = t, .order = order, .batch = batch,
				       .rounds = rounds, .seed = seed * 77 + t, .bar = &bar,
				       .round_alloc = ra + (size_t)t * rounds,
				       .round_free = rf + (size_t)t * rounds};
		if (pthread_create(&th[t], NULL, worker_main, &w[t]))
			die("pthread_create");
	}
	for (unsigned t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		na += (double)w[t].n_alloc;
		ta += w[t].ns_alloc;
		tf += w[t].ns_free;
	}
	pthread_barrier_destroy(&bar);
	if (na == 0)
		die("no allocation succeeded in a timed batch");
	struct timing r = {median(ra, nr), median(rf, nr), ta / na, tf / na, (int)nr};
	free(ra);
	free(rf);
	return r;
}

/* Writes the rows of one timing; returns median alloc + free ns. */
static double report(struct bench *b, const char *kind, const char *phys, unsigned threads,
		     unsigned fill, const char *tag, struct timing t)
{
	char op[64];
	snprintf(op, sizeof(op), "alloc_%s", tag);
	row(b, kind, phys, threads, fill, op, t.med_alloc, "ns");
	snprintf(op, sizeof(op), "free_%s", tag);
	row(b, kind, phys, threads, fill, op, t.med_free, "ns");
	snprintf(op, sizeof(op), "alloc_%s_mean", tag);
	row(b, kind, phys, threads, fill, op, t.mean_alloc, "ns");
	snprintf(op, sizeof(op), "free_%s_mean", tag);
	row(b, kind, phys, threads, fill, op, t.mean_free, "ns");
	fprintf(stderr, "  %-8s %-12s %u thr fill %2u%%: alloc %8.1f ns, free %8.1f ns (median "
		"of %d rounds; means %.1f, %.1f)\n", phys, tag, threads, fill, t.med_alloc,
		t.med_free, t.samples, t.mean_alloc, t.mean_free);
	return t.med_alloc + t.med_free;
}

static void fill_to(struct inst *in, unsigned threads, unsigned order, uint64_t frames)
{
	uint64_t pfn, got = 0;
	for (uint64_t i = 0; got + (1ull << order) <= frames; i++) {
		if (in->ops->alloc(in->st, (unsigned)(i % threads), order, &pfn) != MM_OK)
			break;
		got += 1ull << order;
	}
}

static void bench_ops(struct bench *b, const struct frame_ops *ops, uint64_t mib)
{
	static const unsigned fills[] = {50, 90}, orders[] = {0, 9}, thr[] = {1, 2};
	for (int o = 0; o < 2; o++) {
		for (int f = 0; f < 2; f++) {
			for (int t = 0; t < 2; t++) {
				struct inst in;
				inst_init(&in, ops, mib, thr[t]);
				uint64_t total = free_frames(&in);
				fill_to(&in, thr[t], orders[o], total * fills[f] / 100);
				uint64_t blocks = (free_frames(&in) >> orders[o]) / (2 * thr[t]);
				size_t batch = (size_t)MM_MIN(blocks, 4096);
				if (batch == 0)
					die("memory too small for a batch (raise --mem)");
				int rounds = (int)MM_MAX(1, 100000 / batch);
				report(b, "frame_op", ops->name, thr[t], fills[f],
				       orders[o] ? "2m" : "4k",
				       run_workers(&in, thr[t], orders[o], batch, rounds, b->seed));
				inst_fini(&in);
			}
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Fragments memory into 10,000 single free frames (every ~23rd of the lowest 90%)
 * plus the free top 10%. */
static void fragment(struct inst *in)
{
	uint64_t n = 0, *p = malloc(free_frames(in) * sizeof(*p));
	while (in->ops->alloc(in->st, 0, 0, &p[n]) == MM_OK)
		n++;
	qsort(p, n, sizeof(*p), cmp_u64);
	uint64_t top = n - n / 10, stride = top / 10000;
	if (stride < 2)
		die("memory too small for 10,000 free ranges (raise --mem)");
	for (uint64_t i = 0; i < 10000; i++)
		in->ops->free(in->st, 0, p[i * stride], 0);
	for (uint64_t i = top; i < n; i++)
		in->ops->free(in->st, 0, p[i], 0);
	free(p);
}

/* Times 4 KiB and 2 MiB ops (1 thread) in fragmented memory; ns[size] gets the
 * median alloc + free. */
static void bench_frag(struct bench *b, const struct frame_ops *ops, uint64_t mib, double *ns)
{
	struct inst in;
	inst_init(&in, ops, mib, 1);
	fragment(&in);
	if (ops == &frame_freelist_ops) {
		struct frame_freelist_info fi;
		frame_freelist_info(in.st, &fi);
		fprintf(stderr, "  freelist fragmented: %" PRIu64 " free ranges\n", fi.ranges);
		row(b, "frame_frag", ops->name, 1, 90, "free_ranges", (double)fi.ranges, "ranges");
	}
	ns[0] = report(b, "frame_frag", ops->name, 1, 90, "4k_frag10000",
		       run_workers(&in, 1, 0, 1000, 40, b->seed));
	ns[1] = report(b, "frame_frag", ops->name, 1, 90, "2m_frag10000",
		       run_workers(&in, 1, 9, 16, 100, b->seed));
	inst_fini(&in);
}

/* ---- churn: fragmentation after mixed alloc/free rounds ---------------------- */

struct alloc_rec {
	uint64_t pfn;
	unsigned order;
};

/* Mixed requests in random order: per kind a quota of frames; the next request's
 * kind is drawn with probability proportional to its remaining quota. A failed
 * 2 MiB request (ENOMEM) is counted and its frames asked for as 4 KiB frames. */
struct churn {
	struct inst *in;
	struct alloc_rec *h[2]; /* [0] 4 KiB, [1] 2 MiB allocations */
	uint64_t n[2], s, enomem_2m;
};

static void churn_alloc(struct churn *c, uint64_t q4, uint64_t q2)
{
	uint64_t pfn;
	while (q4 + q2 >= 1) {
		int big = q2 >= 512 && rnd(&c->s) % (q4 + q2) >= q4;
		if (!big && q4 == 0) {
			q4 = q2, q2 = 0; /* less than 2 MiB left as 2 MiB quota */
			continue;
		}
		unsigned cpu = (unsigned)(rnd(&c->s) % 4);
		if (c->in->ops->alloc(c->in->st, cpu, big ? 9 : 0, &pfn) != MM_OK) {
			if (!big)
				die("churn: out of memory for a 4 KiB frame");
			c->enomem_2m++;
			q4 += 512, q2 -= 512;
			continue;
		}
		c->h[big][c->n[big]++] = (struct alloc_rec){pfn, big ? 9 : 0};
		if (big)
			q2 -= 512;
		else
			q4--;
	}
}

/* Frees random allocations: about q4 frames of 4 KiB ones and q2 of 2 MiB ones,
 * interleaved at random; returns the frames freed per kind. */
static void churn_free(struct churn *c, uint64_t q4, uint64_t q2, uint64_t *f4, uint64_t *f2)
{
	*f4 = *f2 = 0;
	while ((*f4 < q4 && c->n[0]) || (*f2 < q2 && c->n[1])) {
		int big = (*f2 < q2 && c->n[1]) && (!(*f4 < q4 && c->n[0]) || rnd(&c->s) % 2);
		uint64_t i = rnd(&c->s) % c->n[big];
		struct alloc_rec r = c->h[big][i];
		c->in->ops->free(c->in->st, (unsigned)(rnd(&c->s) % 4), r.pfn, r.order);
		c->h[big][i] = c->h[big][--c->n[big]];
		*(big ? f2 : f4) += 1ull << r.order;
	}
}

/* The "uniform" variant: frees random allocations (each equally likely, so by
 * bytes about half 2 MiB) until q frames are free; requests are 2 MiB with
 * probability 1/513 (half the bytes), so the split drifts from round to round. */
static void churn_free_uniform(struct churn *c, uint64_t q, uint64_t *freed)
{
	*freed = 0;
	while (*freed < q && c->n[0] + c->n[1]) {
		uint64_t i = rnd(&c->s) % (c->n[0] + c->n[1]);
		int big = i >= c->n[0];
		i -= big ? c->n[0] : 0;
		struct alloc_rec r = c->h[big][i];
		c->in->ops->free(c->in->st, (unsigned)(rnd(&c->s) % 4), r.pfn, r.order);
		c->h[big][i] = c->h[big][--c->n[big]];
		*freed += 1ull << r.order;
	}
}

static void churn_alloc_uniform(struct churn *c, uint64_t q)
{
	uint64_t pfn;
	while (q > 0) {
		int big = q >= 512 && rnd(&c->s) % 513 == 0;
		unsigned cpu = (unsigned)(rnd(&c->s) % 4);
		if (c->in->ops->alloc(c->in->st, cpu, big ? 9 : 0, &pfn) != MM_OK) {
			if (!big)
				die("churn: out of memory for a 4 KiB frame");
			c->enomem_2m++;
			continue;
		}
		c->h[big][c->n[big]++] = (struct alloc_rec){pfn, big ? 9 : 0};
		q -= 1ull << (big ? 9 : 0);
	}
}

static double share_2m(struct inst *in, struct frame_stats *st)
{
	in->ops->stats(in->st, st);
	return st->free_frames ? 100.0 * (double)(st->free_2m_blocks * 512) / (double)st->free_frames
			       : 0;
}

static void bench_churn(struct bench *b, const struct frame_ops *ops, uint64_t mib, int rounds,
			bool uniform)
{
	const char *variant = uniform ? "uniform" : "balanced";
	char op[96];
	struct inst in;
	inst_init(&in, ops, mib, 4);
	uint64_t total = free_frames(&in), f4, f2;
	struct churn c = {.in = &in, .s = b->seed};
	c.h[0] = malloc(total * sizeof(struct alloc_rec));
	c.h[1] = malloc(total / 512 * sizeof(struct alloc_rec) + 1);
	double t0 = now_ns(), sum = 0;
	churn_alloc(&c, total * 45 / 100, MM_ALIGN_DOWN(total * 45 / 100, 512));
	struct frame_stats st;
	for (int r = 0; r < rounds; r++) {
		if (uniform) {
			churn_free_uniform(&c, total / 10, &f4);
			churn_alloc_uniform(&c, f4);
		} else {
			churn_free(&c, total / 20, total / 20, &f4, &f2);
			churn_alloc(&c, f4, f2);
		}
		sum += share_2m(&in, &st);
	}
	double share = share_2m(&in, &st);
	snprintf(op, sizeof(op), "free_in_2m_blocks_%s", variant);
	row(b, "frame_churn", ops->name, 4, 90, op, share, "pct");
	snprintf(op, sizeof(op), "free_in_2m_blocks_%s_mean_over_rounds", variant);
	row(b, "frame_churn", ops->name, 4, 90, op, rounds ? sum / rounds : share, "pct");
	snprintf(op, sizeof(op), "enomem_2m_%s", variant);
	row(b, "frame_churn", ops->name, 4, 90, op, (double)c.enomem_2m, "count");
	snprintf(op, sizeof(op), "meta_bytes_per_gib_after_churn_%s", variant);
	row(b, "frame_churn", ops->name, 4, 90, op, (double)st.meta_bytes * 1024 / (double)mib,
	    "bytes");
	fprintf(stderr, "  %-8s churn %-8s %d rounds: %.1f%% of free memory in whole 2 MiB blocks "
		"(mean over rounds %.1f%%; %" PRIu64 " of %" PRIu64 " frames free, %" PRIu64
		" 2M ENOMEM, %.1f s)\n", ops->name, variant, rounds, share, rounds ? sum / rounds : share,
		st.free_frames, total, c.enomem_2m, (now_ns() - t0) / 1e9);
	free(c.h[0]);
	free(c.h[1]);
	inst_fini(&in);
}

static void bench_meta(struct bench *b, const struct frame_ops *ops, uint64_t mib)
{
	struct inst in;
	inst_init(&in, ops, mib, 2);
	struct frame_stats st;
	struct mem_map plain = {.count = 1, .r = {{0, mib << 20, MEM_USABLE}}};
	size_t plain_meta = ops->meta_size(&plain, 2) + ops->state_size;
	row(b, "frame_meta", ops->name, 2, 0, "meta_reserved_bits_per_frame_no_holes",
	    (double)plain_meta * 8 / (double)((mib << 20) >> PAGE_SHIFT), "bits");
	ops->stats(in.st, &st);
	double per_gib = (double)st.meta_bytes * 1024 / (double)mib;
	row(b, "frame_meta", ops->name, 2, 0, "meta_bytes_per_gib", per_gib, "bytes");
	row(b, "frame_meta", ops->name, 2, 0, "meta_reserved_bytes_per_gib",
	    (double)(ops->state_size + in.meta_len) * 1024 / (double)mib, "bytes");
	row(b, "frame_meta", ops->name, 2, 0, "meta_bits_per_frame",
	    (double)st.meta_bytes * 8 / (double)st.total_frames, "bits");
	fprintf(stderr, "  %-8s meta: %.0f bytes/GiB in use (%.3f bits/frame), %.0f reserved\n",
		ops->name, per_gib, (double)st.meta_bytes * 8 / (double)st.total_frames,
		(double)(ops->state_size + in.meta_len) * 1024 / (double)mib);
	inst_fini(&in);
}

/* The value v of option opt, a decimal number in [lo, hi]; exits 2 after one line
 * (cli_num) when it is missing or not one. */
static uint64_t parse_u64(const char *opt, const char *v, uint64_t lo, uint64_t hi)
{
	return cli_num_or_exit("frame_bench", opt, v, lo, hi);
}

/* The smallest --mem every figure runs at: fragment() needs 10,000 free ranges
 * (top / 10000 >= 2 of the frames below the free top 10%), bench_ops a batch of 2 MiB
 * blocks per thread at 90% fill; 94 MiB is the least that passes, rounded up. */
#define MIN_MEM_MIB 96

struct opts {
	const char *out;
	uint64_t mib, cmib, rounds, seed;
};

/* Parses the command line; exits 0 after --help, 2 on bad input (one line). */
static struct opts parse_args(int argc, char **argv)
{
	static const struct option lo[] = {{"out", 1, 0, 'o'},	 {"mem", 1, 0, 'm'},
					   {"churn-mem", 1, 0, 'c'}, {"rounds", 1, 0, 'r'},
					   {"seed", 1, 0, 's'},	 {"help", 0, 0, 'h'},
					   {0, 0, 0, 0}};
	struct opts o = {NULL, 1024, 512, 100, 1};
	for (int c; (c = getopt_long(argc, argv, ":o:m:c:r:s:h", lo, NULL)) != -1;) {
		switch (c) {
		case 'o': o.out = optarg; break;
		case 'm': o.mib = parse_u64("--mem", optarg, MIN_MEM_MIB, 1 << 20); break;
		case 'c': o.cmib = parse_u64("--churn-mem", optarg, 64, 1 << 20); break;
		case 'r': o.rounds = parse_u64("--rounds", optarg, 0, 100000); break;
		case 's': o.seed = parse_u64("--seed", optarg, 0, UINT64_MAX); break;
		case 'h': fputs(usage, stdout); exit(0);
		case ':':
			fprintf(stderr, "frame_bench: %s needs a value\n", argv[optind - 1]);
			exit(2);
		default:
			fprintf(stderr, "frame_bench: unknown option %s (see --help)\n", argv[optind - 1]);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "frame_bench: unexpected argument '%s' (see --help)\n", argv[optind]);
		exit(2);
	}
	return o;
}

static void run_all(struct bench *b, const struct opts *o)
{
	const struct frame_ops *all[] = {&frame_buddy_ops, &frame_freelist_ops};
	double frag[2][2];
	b->build = getenv("MTB_BUILD_ID") && *getenv("MTB_BUILD_ID") ? getenv("MTB_BUILD_ID") : "dev";
	host_ctx_init(&b->ctx);
	fprintf(b->out, "engine,timing_trusted,kind,phys,cpus,fill_pct,op,value,unit,seed,build," HOST_CTX_CSV_COLS "\n");
	fprintf(stderr, "frame_bench: ops, %" PRIu64 " MiB\n", o->mib);
	for (int i = 0; i < 2; i++)
		bench_ops(b, all[i], o->mib);
	fprintf(stderr, "frame_bench: 10,000 free ranges\n");
	for (int i = 0; i < 2; i++)
		bench_frag(b, all[i], o->mib, frag[i]);
	row(b, "frame_frag", "buddy_vs_freelist", 1, 90, "speedup_4k_frag10000",
	    frag[1][0] / frag[0][0], "x");
	row(b, "frame_frag", "buddy_vs_freelist", 1, 90, "speedup_2m_frag10000",
	    frag[1][1] / frag[0][1], "x");
	fprintf(stderr, "  buddy vs freelist (median alloc+free): 4 KiB %.1fx, 2 MiB %.1fx\n",
		frag[1][0] / frag[0][0], frag[1][1] / frag[0][1]);
	fprintf(stderr, "frame_bench: churn, %" PRIu64 " MiB\n", o->cmib);
	for (int v = 0; v < 2; v++)
		for (int i = 0; i < 2; i++)
			bench_churn(b, all[i], o->cmib, (int)o->rounds, v == 1);
	fprintf(stderr, "frame_bench: metadata\n");
	for (int i = 0; i < 2; i++)
		bench_meta(b, all[i], o->mib);
}

int main(int argc, char **argv)
{
	struct opts o = parse_args(argc, argv);
	struct bench b = {.out = stdout, .seed = o.seed};
	struct out_file of = {0};
	int e = o.out ? out_open(&of, o.out) : 0;
	if (e)
		return out_fail("frame_bench", o.out, e);
	if (o.out)
		b.out = of.f;
	run_all(&b, &o);
	if (o.out && (e = out_commit(&of)))
		return out_fail("frame_bench", o.out, e);
	return 0;
}
