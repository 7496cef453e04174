/* va_bench.c: VA allocator speed, bitmap, btree (the tree behind its per-CPU
 * quantum caches), btree-bare (the tree alone) and freelist in the same run (host
 * engine: strategies linked into this process, one pthread per CPU).
 *
 *   pair   ns per alloc + free pair at 1 and 2 threads with 10 and 10,000 live
 *          ranges held. Prefill: the live ranges (split evenly between the threads,
 *          each thread's allocated by its own CPU) with random sizes 4 KiB..2 MiB,
 *          log-uniform (uniform octave, then uniform page count within it); then
 *          each thread repeatedly frees one of its
 *          ranges at random and allocates a new random size in its place, which
 *          keeps the live count fixed and, with first fit, fragments the free space
 *          into about as many free ranges as live ones. An untimed warm-up of 2x the
 *          live count pairs reaches that steady state before timing. Timings are the
 *          median over rounds (and threads) of a round's ns per pair, which resists
 *          preemption on a shared machine; the mean is reported too (_mean).
 *          btree also reports the share of its allocs served by the caches
 *          (qcache_hits, %, over the whole run including prefill and warm-up).
 *   c2c    with 2+ threads on 2+ cores, before and after the runs: what moving a
 *          cache line between CPUs 0 and 1 costs (ns per round trip, c2c.c), the
 *          price of every line two threads share (virt "machine",
 *          c2c_roundtrip_ns_start / _end).
 *   split  with 2+ threads, the ceiling of that figure: the same strategy with an
 *          instance per thread (live / threads ranges each, nothing shared), in
 *          VB_BLOCKS blocks of rounds alternating with the shared runs (A, B, A,
 *          B, ...; each block a fresh prefill and warm-up): alloc_free_pair_split,
 *          and shared_over_split = alloc_free_pair / alloc_free_pair_split, what
 *          sharing one instance costs (1.0: nothing).
 *   speedup  with 2+ threads, when the 1-thread run of the same strategy and live
 *          count came first: thread_speedup = threads x t1 / t (t: ns per pair per
 *          thread, so pairs per second over one thread's), and thread_speedup_split,
 *          the same for the split runs (what the machine allows with nothing shared).
 *   ratio  in the same run: freelist ns / X ns for X = bitmap, btree, btree-bare
 *          (speedup_X) and X ns / bitmap ns for X = btree, btree-bare
 *          (X_over_bitmap), per thread count and live count.
 *
 *   --live / --threads pick other live counts and thread counts (defaults 10,10000
 *          and 1,2); --virt any strategy of va_run_strategies, the best-fit trees
 *          btree-best and btree-bare-best included (the ratio rows need the four
 *          default ones).
 *   callgrind  (--callgrind PAIRS) no timing: per strategy and live count, one
 *          thread, a fresh instance, the prefill, 2x live + PAIRS pairs untimed, then
 *          PAIRS pairs inside vb_callgrind_pairs (valgrind --tool=callgrind
 *          --toggle-collect=vb_callgrind_pairs counts exactly those;
 *          scripts/va_callgrind.sh); a line "callgrind VIRT LIVE: ..." on stderr
 *          with the free ranges after.
 *   holes  (--holes N) the adversarial layout (va_bench_holes.c): N one-page free
 *          ranges between N live pages (every other page live), then pairs (free a
 *          random live page, allocate one page), one thread. Timed: every strategy
 *          holds its layout at once, the caches are evicted (a buffer twice the
 *          last-level cache streamed through), and the rounds interleave them; rows holes_pair
 *          (median ns per pair, with holes_pair_lo / _hi, its 95% interval),
 *          holes_over_bitmap (median of the per-round ratios to the bitmap, with
 *          _lo / _hi), holes_free_ranges and holes_meta_bytes (once the layout is
 *          built; _end: after the rounds), holes_meta_per_range (bytes per free
 *          range), so the trees' metadata can be set against the bitmap's fixed
 *          one. With --callgrind PAIRS: PAIRS pairs inside vb_callgrind_holes and a
 *          line on stderr, no rows.
 *
 * Each allocator manages 64 TiB (workloads/host/va_host.h; B+-tree nodes from
 * malloc). Rows: engine,timing_trusted,kind,virt,cpus,live,op,value,unit,seed,build,
 * cpu_model,cores,mem_bytes,kernel,kvm (build = $MTB_BUILD_ID, else "dev", as
 * frame_bench; the machine as host_ctx.h reads it)
 * (results/README.md names). Written atomically; progress on stderr. This file is
 * the command line and the rows; the runs are va_bench_run.c's.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/c2c.h"
#include "../host/cli_util.h"
#include "../host/host_ctx.h"
#include "../host/median_ci.h"
#include "../host/out_file.h"
#include "../host/va_host.h"
#include "../../strategies/va_btree.h"
#include "va_bench_run.h"

static const char *usage =
    "usage: va_bench [--out FILE] [--rounds N] [--pairs N] [--seed N] [--virt LIST]\n"
    "                [--live LIST] [--threads LIST]\n"
    "       va_bench --holes N [--out FILE] [--rounds N] [--pairs N] [--seed N]\n"
    "                [--virt LIST]\n"
    "       va_bench --callgrind PAIRS [--seed N] [--virt LIST] [--live LIST [--cpu N] |\n"
    "                --holes N]\n"
    "  VA allocator benchmark (bitmap, btree, freelist; host engine): ns per alloc+free\n"
    "  pair at 1 and 2 threads with 10 and 10,000 live ranges, the ratios vs\n"
    "  freelist, and each strategy's speedup over 1 thread, shared and with an\n"
    "  instance per thread (the ceiling). CSV rows to FILE (default stdout), progress\n"
    "  on stderr.\n"
    "  --rounds N     timed rounds per configuration (default 51)\n"
    "  --pairs N      alloc+free pairs per thread and round (default 5000; --holes\n"
    "                 N: N / 50 / rounds, so the layout keeps most of its holes)\n"
    "  --seed N       seed of every random choice (default 1)\n"
    "  --virt LIST    comma-separated strategies to run (default\n"
    "                 bitmap,btree,btree-bare,freelist; the ratio rows need all four;\n"
    "                 also bitmap-64k, btree-best, btree-bare-best: best fit)\n"
    "  --live LIST    live range counts (default 10,10000; each 1..10000000 and at\n"
    "                 least the largest thread count)\n"
    "  --threads LIST thread counts (default 1,2; each 1..64)\n"
    "  --callgrind PAIRS  no timing: for each strategy and live count, 1 thread, a fresh\n"
    "                 instance, prefill and 2x live + PAIRS pairs untimed, then PAIRS\n"
    "                 pairs inside vb_callgrind_pairs (valgrind --tool=callgrind\n"
    "                 --toggle-collect=vb_callgrind_pairs; scripts/va_callgrind.sh)\n"
    "  --holes N      the adversarial layout instead of --live: 2N one-page\n"
    "                 allocations, every other one freed (N one-page free ranges\n"
    "                 between N live pages; N <= 10000000), then pairs (free a random\n"
    "                 live page, allocate one page; no warm-up), one thread. Timed:\n"
    "                 the strategies (default bitmap,btree,btree-bare,btree-bare-best:\n"
    "                 freelist's free is linear in the free ranges) hold their layouts\n"
    "                 at once, the caches are evicted (twice the last-level cache\n"
    "                 streamed), each round times each in turn (order rotated), --rounds\n"
    "                 at most 120; rows holes_pair (ns, median and 95% interval),\n"
    "                 holes_over_bitmap, holes_free_ranges, holes_meta_bytes,\n"
    "                 holes_meta_per_range. With --callgrind: PAIRS pairs inside\n"
    "                 vb_callgrind_holes (--toggle-collect=vb_callgrind_holes) and a\n"
    "                 line \"holes VIRT N: ...\" on stderr with free ranges and\n"
    "                 metadata bytes (tree frames or bitmap) before and after\n"
    "  --cpu N        with --callgrind, the CPU every prefill and pair names (default\n"
    "                 0; N < 64): a tree's CPU k > 0 starts first fit at its zone\n"
    "Numbers are decimal; a bad or missing value exits 2 before anything runs.\n";

static void row(struct bench *b, const char *virt, unsigned cpus, unsigned live, const char *op,
		double value, const char *unit)
{
	fprintf(b->out, "host,true,va_op,%s,%u,%u,%s,%.6g,%s,%" PRIu64 ",%s,", virt, cpus, live,
		op, value, unit, b->seed, b->build);
	host_ctx_csv(b->out, &b->ctx);
	fputc('\n', b->out);
	fflush(b->out);
}

/* ---- main --------------------------------------------------------------------- */

/* Decimal digits only (no sign, space, 0x or empty string) within [lo, hi] into
 * *x; false otherwise. */
static bool parse_dec(const char *v, size_t len, uint64_t lo, uint64_t hi, uint64_t *x)
{
	uint64_t n = 0;
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9' || n > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
			return false;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*x = n;
	return n >= lo && n <= hi;
}

static _Noreturn void bad_value(const char *opt, const char *v, uint64_t lo, uint64_t hi)
{
	fprintf(stderr, "va_bench: %s: bad value '%s' (decimal %" PRIu64 "..%" PRIu64 ")\n", opt,
		v, lo, hi);
	exit(2);
}

static uint64_t parse_u64(const char *opt, const char *v, uint64_t lo, uint64_t hi)
{
	return cli_num_or_exit("va_bench", opt, v, lo, hi);
}

/* A comma-separated list of decimal numbers in [lo, hi] into out[0..MAX_LIST);
 * returns the count; exits 2 on an empty element, a bad value or too many. */
static unsigned parse_list(const char *opt, const char *v, uint64_t lo, uint64_t hi,
			   uint64_t out[MAX_LIST])
{
	unsigned n = 0;
	for (const char *p = v;; p++) {
		size_t len = strcspn(p, ",");
		if (n == MAX_LIST || !parse_dec(p, len, lo, hi, &out[n++]))
			bad_value(opt, v, lo, hi);
		p += len;
		if (!*p)
			return n;
	}
}

struct opts {
	const char *out, *virt, *live, *threads;
	uint64_t rounds, pairs, seed, callgrind, holes, cpu;
};

/* Parses --virt's comma-separated names into run[]; exits 2 naming a bad one. */
static void parse_virt(const char *list, bool run[NVIRT])
{
	char buf[256];
	if (strlen(list) >= sizeof(buf)) {
		fprintf(stderr, "va_bench: --virt: list longer than %zu characters\n", sizeof(buf) - 1);
		exit(2);
	}
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *tok = buf, *next; tok; tok = next) {
		if ((next = strchr(tok, ',')))
			*next++ = 0;
		int v = *tok ? va_run_find(tok) : -1;
		if (v < 0 || v >= NVIRT) {
			fprintf(stderr, "va_bench: --virt: %s '%s' in '%s' (bitmap, btree, "
				"btree-bare, freelist, bitmap-64k, btree-best, btree-bare-best)\n",
				*tok ? "unknown strategy" : "empty name", tok, list);
			exit(2);
		}
		run[v] = true;
	}
}

/* Parses the command line; exits 0 after --help, 2 on bad input (one line). */
static struct opts parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"out", 1, 0, 'o'},	    {"rounds", 1, 0, 'r'},    {"pairs", 1, 0, 'p'},
	    {"seed", 1, 0, 's'},    {"virt", 1, 0, 'v'},      {"live", 1, 0, 'l'},
	    {"threads", 1, 0, 't'}, {"callgrind", 1, 0, 'c'}, {"holes", 1, 0, 'H'},
	    {"cpu", 1, 0, 'C'},	    {"help", 0, 0, 'h'},      {0, 0, 0, 0}};
	struct opts o = {NULL, NULL, NULL, NULL, 51, 0, 1, 0, 0, UINT64_MAX};
	for (int c; (c = getopt_long(argc, argv, ":o:r:p:s:v:l:t:c:H:C:h", lo, NULL)) != -1;) {
		switch (c) {
		case 'o': o.out = optarg; break;
		case 'r': o.rounds = parse_u64("--rounds", optarg, 1, 100000); break;
		case 'p': o.pairs = parse_u64("--pairs", optarg, 1, 100000000); break;
		case 's': o.seed = parse_u64("--seed", optarg, 0, UINT64_MAX); break;
		case 'v': o.virt = optarg; break;
		case 'l': o.live = optarg; break;
		case 't': o.threads = optarg; break;
		case 'c': o.callgrind = parse_u64("--callgrind", optarg, 1, 100000000); break;
		case 'H': o.holes = parse_u64("--holes", optarg, 1, 10000000); break;
		case 'C': o.cpu = parse_u64("--cpu", optarg, 0, MAX_THREADS - 1); break;
		case 'h': fputs(usage, stdout); exit(0);
		case ':':
			fprintf(stderr, "va_bench: %s needs a value\n", argv[optind - 1]);
			exit(2);
		default:
			fprintf(stderr, "va_bench: unknown option %s (see --help)\n", argv[optind - 1]);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "va_bench: unexpected argument '%s' (see --help)\n", argv[optind]);
		exit(2);
	}
	if (o.cpu != UINT64_MAX && (!o.callgrind || o.holes)) {
		fprintf(stderr, "va_bench: --cpu needs --callgrind (and no --holes)\n");
		exit(2);
	}
	if (o.holes && (o.live || o.threads)) {
		fprintf(stderr, "va_bench: --%s does not apply to --holes\n",
			o.live ? "live" : "threads");
		exit(2);
	}
	o.live = o.live ? o.live : "10,10000";
	if (o.holes && !o.callgrind && o.rounds > MEDIAN_CI_MAX_N) {
		fprintf(stderr, "va_bench: --holes: at most %u --rounds\n", MEDIAN_CI_MAX_N);
		exit(2);
	}
	if (!o.pairs) /* --holes: 2% of N pairs in all (each takes a free range or two) */
		o.pairs = o.holes && !o.callgrind ? MM_MAX(1, o.holes / 50 / o.rounds) : 5000;
	if (!o.virt)
		o.virt = o.holes && !o.callgrind ? "bitmap,btree,btree-bare,btree-bare-best"
						 : "bitmap,btree,btree-bare,freelist";
	if (o.callgrind && (o.threads || o.out)) {
		fprintf(stderr, "va_bench: --%s does not apply to --callgrind\n",
			o.threads ? "threads" : "out");
		exit(2);
	}
	return o;
}

/* The bench from the options: lists parsed, every live count >= every thread count. */
static void setup(struct bench *b, const struct opts *o)
{
	*b = (struct bench){.out = stdout,
			    .seed = o->seed,
			    .rounds = o->rounds,
			    .pairs = o->pairs,
			    .cpu = o->cpu == UINT64_MAX ? 0 : (unsigned)o->cpu};
	parse_virt(o->virt, b->run);
	b->nlive = parse_list("--live", o->live, 1, 10000000, b->live);
	b->nthreads = parse_list("--threads", o->threads ? o->threads : "1,2", 1, MAX_THREADS,
				 b->threads);
	if (o->callgrind)
		b->pairs = o->callgrind;
	for (unsigned l = 0; l < b->nlive; l++)
		for (unsigned t = 0; t < b->nthreads && !o->callgrind; t++)
			if (b->live[l] < b->threads[t]) {
				fprintf(stderr, "va_bench: --live %" PRIu64 " is below --threads %"
					PRIu64 " (a thread needs a live range)\n", b->live[l],
					b->threads[t]);
				exit(2);
			}
}

static void ratios(struct bench *b, unsigned cpus, unsigned live, const double ns[NVIRT])
{
	/* ns[]: bitmap, btree, btree-bare, freelist (va_run_strategies' order) */
	row(b, "bitmap_vs_freelist", cpus, live, "speedup_bitmap", ns[3] / ns[0], "x");
	row(b, "btree_vs_freelist", cpus, live, "speedup_btree", ns[3] / ns[1], "x");
	row(b, "btree-bare_vs_freelist", cpus, live, "speedup_btree-bare", ns[3] / ns[2], "x");
	row(b, "btree_vs_bitmap", cpus, live, "btree_over_bitmap", ns[1] / ns[0], "x");
	row(b, "btree-bare_vs_bitmap", cpus, live, "btree-bare_over_bitmap", ns[2] / ns[0], "x");
	fprintf(stderr, "  %u thr %5u live: freelist/bitmap %.1fx, freelist/btree %.1fx "
		"(bare %.1fx), btree/bitmap %.2fx (bare %.2fx)\n", cpus, live, ns[3] / ns[0],
		ns[3] / ns[1], ns[3] / ns[2], ns[1] / ns[0], ns[2] / ns[0]);
}

/* One configuration: its rows and progress line; returns the median ns per pair.
 * one: the same strategy's median at 1 thread and this live count (0: not run),
 * for the thread_speedup rows. */
static double bench_one(struct bench *b, const struct va_ops *ops, unsigned threads, unsigned live,
			double one)
{
	uint64_t t0 = cli_mono_ns();
	double split = 0;
	struct timing r = vb_run_config(b, ops, threads, live, &split);
	row(b, ops->name, threads, live, "alloc_free_pair", r.median, "ns");
	row(b, ops->name, threads, live, "alloc_free_pair_mean", r.mean, "ns");
	if (threads > 1) {
		row(b, ops->name, threads, live, "alloc_free_pair_split", split, "ns");
		row(b, ops->name, threads, live, "shared_over_split", r.median / split, "x");
	}
	if (threads > 1 && one > 0) { /* pairs per second over one thread's */
		row(b, ops->name, threads, live, "thread_speedup", threads * one / r.median, "x");
		row(b, ops->name, threads, live, "thread_speedup_split", threads * one / split,
		    "x");
	}
	row(b, ops->name, threads, live, "free_ranges_after", (double)r.free_ranges, "ranges");
	if (r.hit_pct >= 0)
		row(b, ops->name, threads, live, "qcache_hits", r.hit_pct, "%");
	fprintf(stderr, "  %-10s %u thr %5u live: %9.1f ns/pair (median; mean %.1f), %" PRIu64
		" free ranges after", ops->name, threads, live, r.median, r.mean, r.free_ranges);
	if (threads > 1)
		fprintf(stderr, ", %.1f ns/pair split (%.2fx)", split, r.median / split);
	if (threads > 1 && one > 0)
		fprintf(stderr, ", speedup %.2fx (split %.2fx)", threads * one / r.median,
			threads * one / split);
	if (r.hit_pct >= 0)
		fprintf(stderr, ", %.1f%% cache hits", r.hit_pct);
	fprintf(stderr, " (%.1f s)\n", (double)(cli_mono_ns() - t0) / 1e9);
	return r.median;
}

/* A row with what moving a cache line between CPUs 0 and 1 costs now (c2c.c), when
 * the run has 2+ threads and the machine a CPU 1; `when`: start or end. */
static void c2c_row(struct bench *b, const char *when)
{
	bool multi = false;
	for (unsigned t = 0; t < b->nthreads; t++)
		multi = multi || b->threads[t] > 1;
	double ns = multi ? c2c_roundtrip_ns(0, 1) : -1;
	if (ns <= 0)
		return;
	char op[64];
	snprintf(op, sizeof(op), "c2c_roundtrip_ns_%s", when);
	row(b, "machine", 2, 0, op, ns, "ns");
	fprintf(stderr, "va_bench: a cache line between CPUs 0 and 1, round trip (%s): %.0f ns\n",
		when, ns);
}

/* The build id and the machine every row carries, and the CSV header. */
static void begin_rows(struct bench *b)
{
	b->build = cli_build_id();
	host_ctx_init(&b->ctx);
	fprintf(b->out, "engine,timing_trusted,kind,virt,cpus,live,op,value,unit,seed,build," HOST_CTX_CSV_COLS "\n");
}

static void run_all(struct bench *b)
{
	begin_rows(b);
	fprintf(stderr, "va_bench: alloc+free pairs, 64 TiB, %" PRIu64 " rounds x %" PRIu64
		" pairs per thread\n", b->rounds, b->pairs);
	c2c_row(b, "start");
	double one[MAX_LIST][NVIRT] = {{0}}; /* 1-thread medians (0: not run) */
	for (unsigned t = 0; t < b->nthreads; t++) {
		for (unsigned l = 0; l < b->nlive; l++) {
			unsigned thr = (unsigned)b->threads[t], live = (unsigned)b->live[l];
			double ns[NVIRT];
			for (int v = 0; v < NVIRT; v++)
				if (b->run[v])
					ns[v] = bench_one(b, va_run_strategies[v], thr, live,
							  one[l][v]);
			for (int v = 0; v < NVIRT && thr == 1; v++)
				one[l][v] = b->run[v] ? ns[v] : 0;
			if (b->run[0] && b->run[1] && b->run[2] && b->run[3])
				ratios(b, thr, live, ns);
		}
	}
	c2c_row(b, "end");
}

/* A holes row and, when the figure has one, its interval's two rows (_lo, _hi). */
static void holes_row(struct bench *b, const char *virt, unsigned live, const char *op, double v,
		      const double *lo, const double *hi, const char *unit)
{
	char name[64];
	row(b, virt, 1, live, op, v, unit);
	if (!lo)
		return;
	snprintf(name, sizeof(name), "%s_lo", op);
	row(b, virt, 1, live, name, *lo, unit);
	snprintf(name, sizeof(name), "%s_hi", op);
	row(b, virt, 1, live, name, *hi, unit);
}

/* Strategy name's rows of its holes figures, and its line on stderr. */
static void holes_rows(struct bench *b, const char *name, unsigned n, const struct holes_fig *f)
{
	holes_row(b, name, n, "holes_pair", f->median, &f->lo, &f->hi, "ns");
	holes_row(b, name, n, "holes_pair_mean", f->mean, NULL, NULL, "ns");
	if (f->ratio >= 0)
		holes_row(b, name, n, "holes_over_bitmap", f->ratio, &f->ratio_lo, &f->ratio_hi,
			  "x");
	holes_row(b, name, n, "holes_free_ranges", (double)f->free_ranges, NULL, NULL, "ranges");
	holes_row(b, name, n, "holes_free_ranges_end", (double)f->free_ranges_end, NULL, NULL,
		  "ranges");
	holes_row(b, name, n, "holes_meta_bytes", (double)f->meta_bytes, NULL, NULL, "B");
	holes_row(b, name, n, "holes_meta_bytes_end", (double)f->meta_bytes_end, NULL, NULL, "B");
	holes_row(b, name, n, "holes_meta_per_range",
		  (double)f->meta_bytes / (double)(f->free_ranges ? f->free_ranges : 1), NULL, NULL,
		  "B");
	fprintf(stderr, "  %-15s %.1f ns/pair [%.1f, %.1f] (mean %.1f)", name, f->median, f->lo,
		f->hi, f->mean);
	if (f->ratio >= 0)
		fprintf(stderr, ", %.2fx the bitmap [%.2f, %.2f]", f->ratio, f->ratio_lo,
			f->ratio_hi);
	fprintf(stderr, ", %" PRIu64 " free ranges, %.1f MB metadata\n", f->free_ranges,
		(double)f->meta_bytes / 1e6);
}

/* --holes N, timed: vb_holes_timed's figures as rows. */
static void run_holes(struct bench *b, uint64_t holes)
{
	struct holes_fig fig[NVIRT];
	begin_rows(b);
	fprintf(stderr,
		"va_bench: every other page live, %" PRIu64 " holes, %" PRIu64 " rounds x %" PRIu64
		" pairs per strategy\n",
		holes, b->rounds, b->pairs);
	vb_holes_timed(b, holes, fig);
	for (int v = 0; v < NVIRT; v++)
		if (b->run[v])
			holes_rows(b, va_run_strategies[v]->name, (unsigned)holes, &fig[v]);
}

int main(int argc, char **argv)
{
	struct opts o = parse_args(argc, argv);
	struct bench b;
	setup(&b, &o);
	if (o.holes && o.callgrind) {
		for (int v = 0; v < NVIRT; v++)
			if (b.run[v])
				vb_holes_one(&b, va_run_strategies[v], o.holes);
		return 0;
	}
	if (o.callgrind) {
		for (int v = 0; v < NVIRT; v++)
			for (unsigned l = 0; l < b.nlive && b.run[v]; l++)
				vb_callgrind_one(&b, va_run_strategies[v], (unsigned)b.live[l]);
		return 0;
	}
	struct out_file of = {0};
	int e = o.out ? out_open(&of, o.out) : 0;
	if (e)
		return out_fail("va_bench", o.out, e);
	if (o.out)
		b.out = of.f;
	if (o.holes)
		run_holes(&b, o.holes);
	else
		run_all(&b);
	if (o.out && (e = out_commit(&of)))
		return out_fail("va_bench", o.out, e);
	return 0;
}
