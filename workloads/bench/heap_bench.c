/* heap_bench.c: the heaps (talc, slab) against glibc, jemalloc, tcmalloc, mimalloc
 * and snmalloc (when $MTB_SNMALLOC_LIB names its library), and the null heap (the
 * harness's ceiling), in one process (host engine).
 *
 * What: Talc's heap_efficiency (ours only, not timed; heap_bench_heaps.c) and the timed
 * workloads random_actions, larson, xmalloc, threadtest and hermit64 at 1 and 2 threads
 * (heap_bench_wl.c says what each does, what an op is and what a timing includes).
 * How: --rounds rounds; in each, every (workload, threads) cell runs every allocator
 * once, in an order shuffled per round and cell (seeded), so ours and the peers are
 * measured side by side. A run = a fresh instance for ours and the null heap (a new
 * heap_machine over the --phys and --virt strategies; set up and torn down outside the
 * timing), new threads, --warmup-ms untimed then --duration-ms timed. The peers keep
 * their process-wide state from run to run (a process cannot have them fresh); every
 * allocator gets the same warm-up in every run. All allocators of a round see the
 * same random draws (the round's seed).
 * Rows: per cell and allocator the median ops/s and ns/op (threads x wall ns per op:
 * each thread's time per op) with the distribution-free interval of
 * shared/MEASUREMENT.md (workloads/host/median_ci.h) and its coverage; per round the
 * ratios ours / each peer and every allocator / null (its share of the ceiling) and each
 * allocator's 2-thread / 1-thread speedup, each reported as the median of the per-round
 * values with its interval. Every row carries the machine context (host_ctx.h): load
 * before/after (highest over the row's runs), steal, runs with the load above the
 * core count. With 2-thread cells on 2+ cores, a cache line's round trip between CPUs
 * 0 and 1 is taken before each round (c2c.c; row workload "machine", metric
 * c2c_roundtrip_ns): the price of every line two threads share, which on a VM follows
 * the vCPU placement.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../host/c2c.h"
#include "../host/cli_util.h"
#include "../host/host_ctx.h"
#include "../host/median_ci.h"
#include "../../strategies/tests/heap_support.h"
#include "../host/heap_peer.h"
#include "heap_bench.h"

#define MAX_ROUNDS MEDIAN_CI_MAX_N
#define HE_PARAM   10000

struct opts {
	const char *out;
	double dur, warm;
	int rounds, he_trials;
	uint64_t seed, epoch_ops, mem_mib;
	const char *only, *heaps; /* comma lists, NULL = all */
	const char *phys, *virt;
	long callgrind;	   /* pairs; 0: the normal benchmark */
	const char *cg_wl; /* callgrind mode: hermit64 or random_actions */
};

#define NHEAPS 8 /* null last */
static const char *const heap_names[NHEAPS] = {"talc",	   "slab",     "glibc",	   "jemalloc",
					       "tcmalloc", "mimalloc", "snmalloc", "null"};
static struct contender heaps[NHEAPS];
static bool enabled[NHEAPS];

static const struct hb_cell cells[] = {
    {WL_RANDOM, 1000, 1},     {WL_RANDOM, 1000, 2}, {WL_RANDOM, 10000, 1},
    {WL_RANDOM, 10000, 2},    {WL_LARSON, 1000, 1}, {WL_LARSON, 1000, 2},
    {WL_XMALLOC, 256, 1},     {WL_XMALLOC, 256, 2}, {WL_THREADTEST, 1000, 1},
    {WL_THREADTEST, 1000, 2}, {WL_HERMIT, 64, 1},   {WL_HERMIT, 64, 2},
};
#define NCELLS (sizeof(cells) / sizeof(cells[0]))

/* Per cell, allocator and round: ops/s (NAN: not run or failed), and the context. */
static double res[NCELLS][NHEAPS][MAX_ROUNDS];
static double standin[NCELLS][NHEAPS][MAX_ROUNDS]; /* hb_run's share in stand-ins */
static double c2c_ns[MAX_ROUNDS]; /* per round: a cache line's round trip, CPUs 0-1 (c2c.c) */
static struct host_sample ctx[NCELLS][NHEAPS];
static struct host_ctx host;

static const char usage[] =
    "usage: heap_bench --out FILE [--duration-ms N] [--warmup-ms N] [--rounds N]\n"
    "                  [--he-trials N] [--seed N] [--only LIST] [--heaps LIST]\n"
    "                  [--phys NAME] [--virt NAME] [--mem MIB] [--epoch-ops N]\n"
    "       heap_bench --callgrind PAIRS [--callgrind-wl hermit64|random_actions]\n"
    "                  [--heaps LIST] [--phys NAME] [--virt NAME]\n"
    "  Benchmarks talc and slab against glibc, jemalloc, tcmalloc, mimalloc, snmalloc\n"
    "  and the null heap (heap_efficiency; random_actions, larson, xmalloc, threadtest,\n"
    "  hermit64 at 1 and 2 threads) in interleaved rounds and writes one CSV atomically,\n"
    "  columns\n"
    "  workload,allocator,version,phys,virt,threads,param,metric,value,lo,hi,n,coverage,\n"
    "  duration_ms,warmup_ms,load_before,load_after,steal_pct,overloaded,cpu_model,cores,\n"
    "  mem_bytes,kernel,kvm,engine,timing_trusted,seed,build (build = $MTB_BUILD_ID, else\n"
    "  'dev'); metric: ops_per_s, ns_per_op, ratio_ops_per_s, speedup_2_1,\n"
    "  heap_efficiency_pct, and for talc and slab standin_pct (share of the threads'\n"
    "  time in the host's mmap stand-ins for page-table edits) and\n"
    "  ns_per_op_ex_standin; c2c_roundtrip_ns (workload machine: a cache line's round\n"
    "  trip between CPUs 0 and 1 before each round); value = median over the rounds,\n"
    "  [lo, hi] its interval (results/README.md).\n"
    "  --duration-ms  timed part of one run (default 200)\n"
    "  --warmup-ms    untimed part before it, same workload and threads (default 50)\n"
    "  --rounds       rounds; each runs every allocator once per cell (default 9)\n"
    "  --he-trials    heap_efficiency trials, each until the first failure (default 30)\n"
    "  --seed N       round r draws from seed + r (default 42)\n"
    "  --only LIST    workloads (comma list of heap_efficiency and the names above)\n"
    "  --heaps LIST   allocators (talc,slab,glibc,jemalloc,tcmalloc,mimalloc,snmalloc,\n"
    "                 null); a peer whose library cannot be loaded is skipped with a\n"
    "                 line saying why\n"
    "  --phys NAME    frame allocator under talc and slab: buddy (default), freelist\n"
    "  --virt NAME    VA allocator under them: bitmap (default), btree, freelist\n"
    "  --mem MIB      physical memory of their machine (default 256)\n"
    "  --epoch-ops N  larson: ops per epoch over all sets (default 125000: the generated\n"
    "                 trace's nops / 8 at make run's 1,000,000 ops)\n"
    "  --callgrind PAIRS  no benchmark: for each allocator, a fresh instance, PAIRS\n"
    "                 alloc+free pairs of 64 B untimed, then PAIRS more inside\n"
    "                 hb_callgrind_hermit64 (valgrind --tool=callgrind\n"
    "                 --toggle-collect=hb_callgrind_hermit64; scripts/heap_callgrind.sh);\n"
    "                 ours get a 4 GiB VA window there (valgrind cannot reserve 64 GiB)\n"
    "  --callgrind-wl random_actions  instead: 2 x PAIRS of Talc's random actions\n"
    "                 (sizes up to 1000) untimed, then 2 x PAIRS inside\n"
    "                 hb_callgrind_random (--toggle-collect=hb_callgrind_random)\n"
    "  Environment: MTB_SNMALLOC_LIB=PATH  snmalloc's shared library (libsnmallocshim.so,\n"
    "                 built outside the project: README, peers); unset: no snmalloc\n";

static _Noreturn void bad(const char *msg, const char *arg)
{
	cli_die("heap_bench", msg, arg);
	exit(2);
}

static uint64_t arg_num(const char *opt, const char *v, uint64_t lo, uint64_t hi)
{
	return cli_num_or_exit("heap_bench", opt, v, lo, hi);
}

/* The value of a string option: v, or exits 2 saying that opt needs one. */
static const char *arg_str(const char *opt, const char *v)
{
	if (!v) {
		fprintf(stderr, "heap_bench: %s needs a value\n", opt);
		exit(2);
	}
	return v;
}

/* Whether name is an element of the comma list (NULL: everything is). */
static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == 0))
			return true;
	return !list;
}

/* Every element of the comma list is one of names[0..n) (or "heap_efficiency" when
 * he); else exits 2 naming it. */
static void check_list(const char *opt, const char *list, const char *const *names, unsigned n,
		       bool he)
{
	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		size_t l = strcspn(p, ",");
		bool ok = he && l == 15 && !strncmp(p, "heap_efficiency", 15);
		for (unsigned i = 0; i < n && !ok; i++)
			ok = strlen(names[i]) == l && !strncmp(p, names[i], l);
		char name[64], msg[64];
		snprintf(name, sizeof(name), "%.*s", (int)(l < 63 ? l : 63), p);
		snprintf(msg, sizeof(msg), "%s: unknown name (see --help)", opt);
		if (!ok)
			bad(msg, name);
	}
}

/* One option with its value v; false if a is not an option taking a value. */
static bool parse_valued(struct opts *o, const char *a, const char *v)
{
	if (!strcmp(a, "--out"))
		o->out = arg_str(a, v);
	else if (!strcmp(a, "--duration-ms"))
		o->dur = (double)arg_num(a, v, 10, 100000) / 1000.0;
	else if (!strcmp(a, "--warmup-ms"))
		o->warm = (double)arg_num(a, v, 0, 100000) / 1000.0;
	else if (!strcmp(a, "--rounds"))
		o->rounds = (int)arg_num(a, v, 1, MAX_ROUNDS);
	else if (!strcmp(a, "--he-trials"))
		o->he_trials = (int)arg_num(a, v, 1, MAX_ROUNDS);
	else if (!strcmp(a, "--seed"))
		o->seed = arg_num(a, v, 0, 1ull << 62);
	else if (!strcmp(a, "--epoch-ops"))
		o->epoch_ops = arg_num(a, v, 2 * HB_SETS, 1ull << 40);
	else if (!strcmp(a, "--mem"))
		o->mem_mib = arg_num(a, v, 64, 1 << 20);
	else if (!strcmp(a, "--callgrind"))
		o->callgrind = (long)arg_num(a, v, 1, 1ull << 40);
	else if (!strcmp(a, "--callgrind-wl"))
		o->cg_wl = arg_str(a, v);
	else if (!strcmp(a, "--only"))
		o->only = arg_str(a, v);
	else if (!strcmp(a, "--heaps"))
		o->heaps = arg_str(a, v);
	else if (!strcmp(a, "--phys"))
		o->phys = arg_str(a, v);
	else if (!strcmp(a, "--virt"))
		o->virt = arg_str(a, v);
	else
		return false;
	return true;
}

static void parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.dur = 0.2,
			   .warm = 0.05,
			   .rounds = 9,
			   .he_trials = 30,
			   .seed = 42,
			   .epoch_ops = 125000,
			   .mem_mib = 256,
			   .phys = "buddy",
			   .virt = "bitmap"};
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			exit(0);
		}
		if (!parse_valued(o, a, v))
			bad("unknown argument (see --help)", a);
	}
	const struct frame_ops *f = heap_fixture_frame_ops(o->phys);
	const struct va_ops *va = heap_fixture_va_ops(o->virt);
	if (!f || !strcmp(o->phys, "simple"))
		bad("--phys: not buddy or freelist", o->phys);
	if (!va || !strcmp(o->virt, "simple"))
		bad("--virt: not bitmap, btree or freelist", o->virt);
	check_list("--only", o->only, hb_wl_name, WL_COUNT, true);
	check_list("--heaps", o->heaps, heap_names, NHEAPS, false);
	if (o->cg_wl && strcmp(o->cg_wl, "hermit64") && strcmp(o->cg_wl, "random_actions"))
		bad("--callgrind-wl: not hermit64 or random_actions", o->cg_wl);
	if (!o->out && !o->callgrind)
		bad("--out FILE is required (see --help)", NULL);
}

/* ---- rounds ------------------------------------------------------------------------ */

/* One run of cell c by allocator a; ops/s or NAN. A run that timed no op (the
 * machine was too busy to run its threads in the window) is run again, on a fresh
 * instance, up to HB_TRIES times in all. */
#define HB_TRIES 3
static double timed_run(unsigned c, unsigned a, const struct hb_layers *l,
			const struct hb_timing *tm, double *sd)
{
	struct contender *h = &heaps[a];
	double v = HB_NOT_TIMED;
	for (int k = 0; k < HB_TRIES && v == HB_NOT_TIMED; k++) {
		if (contender_up(h, l, cells[c].threads))
			return NAN;
		struct host_sample s;
		host_sample_begin(&s);
		v = hb_run(h, &cells[c], tm, sd);
		host_sample_end(&s, &host);
		contender_down(h);
		host_sample_merge(&ctx[c][a], &s);
	}
	if (v < 0)
		fprintf(stderr, "heap_bench: %s %s t=%u: %s\n", h->name, hb_wl_name[cells[c].w],
			cells[c].threads,
			v == HB_NOT_TIMED ? "no op was timed in 3 tries (a busy machine)"
					  : "an allocation failed");
	return v < 0 ? NAN : v;
}

/* The enabled allocators in an order drawn from seed (Fisher-Yates). */
static unsigned shuffled(unsigned *order, uint64_t seed)
{
	unsigned n = 0;
	for (unsigned a = 0; a < NHEAPS; a++)
		if (enabled[a])
			order[n++] = a;
	for (unsigned i = n; i > 1; i--) {
		unsigned k = (unsigned)(hb_rnd(&seed) % i), t = order[i - 1];
		order[i - 1] = order[k];
		order[k] = t;
	}
	return n;
}

static void rounds(const struct opts *o, const struct hb_layers *l)
{
	for (unsigned c = 0; c < NCELLS; c++)
		for (unsigned a = 0; a < NHEAPS; a++) {
			ctx[c][a] = HOST_SAMPLE_EMPTY;
			for (int r = 0; r < MAX_ROUNDS; r++)
				res[c][a][r] = NAN;
		}
	bool multi = false; /* a 2-thread cell runs (c2c.c answers -1 without a CPU 1) */
	for (unsigned c = 0; c < NCELLS; c++)
		multi = multi || (cells[c].threads > 1 && in_list(o->only, hb_wl_name[cells[c].w]));
	for (int r = 0; r < o->rounds; r++) {
		c2c_ns[r] = multi ? c2c_roundtrip_ns(0, 1) : -1;
		fprintf(stderr, "heap_bench: round %d/%d", r + 1, o->rounds);
		if (c2c_ns[r] > 0)
			fprintf(stderr, " (cache-line round trip, CPUs 0-1: %.0f ns)", c2c_ns[r]);
		fputc('\n', stderr);
		struct hb_timing tm = {o->warm, o->dur, o->seed + (uint64_t)r, o->epoch_ops};
		for (unsigned c = 0; c < NCELLS; c++) {
			if (!in_list(o->only, hb_wl_name[cells[c].w]))
				continue;
			unsigned order[NHEAPS],
			    n = shuffled(order, o->seed * 1000003 + (uint64_t)r * 101 + c);
			for (unsigned i = 0; i < n; i++)
				res[c][order[i]][r] =
				    timed_run(c, order[i], l, &tm, &standin[c][order[i]][r]);
		}
	}
}

/* ---- rows -------------------------------------------------------------------------- */

struct row {
	const char *workload, *alloc, *version, *phys, *virt, *metric;
	unsigned threads;
	int param;
	bool timed; /* duration and warm-up apply */
	struct median_ci m;
	struct host_sample s;
};

static const char header[] =
    "workload,allocator,version,phys,virt,threads,param,metric,value,lo,hi,n,coverage,"
    "duration_ms,warmup_ms," HOST_SAMPLE_CSV_COLS "," HOST_CTX_CSV_COLS
    ",engine,timing_trusted,seed,build\n";

static void put_row(FILE *f, const struct opts *o, const struct row *r)
{
	const struct median_ci *m = &r->m;
	fprintf(f, "%s,%s,\"%s\",%s,%s,%u,%d,%s,", r->workload, r->alloc, r->version, r->phys,
		r->virt, r->threads, r->param, r->metric);
	if (m->n)
		fprintf(f, "%.6g,%.6g,%.6g,%u,%.4f,", m->median, m->lo, m->hi, m->n, m->coverage);
	else
		fprintf(f, ",,,0,,");
	if (r->timed)
		fprintf(f, "%.0f,%.0f,", o->dur * 1000, o->warm * 1000);
	else
		fprintf(f, ",,");
	host_sample_csv(f, &r->s);
	fputc(',', f);
	host_ctx_csv(f, &host);
	fprintf(f, ",host,true,%llu,%s\n", (unsigned long long)o->seed, cli_build_id());
	fprintf(stderr, "  %-15s %-18s t=%u p=%-5d %-16s %11.4g [%.4g, %.4g] n=%u\n", r->workload,
		r->alloc, r->threads, r->param, r->metric, m->median, m->lo, m->hi, m->n);
}

static bool is_ours(unsigned a)
{
	return heaps[a].ours;
}

/* A row for allocator a on cell c (alloc and version of a unless set later). */
static struct row row_for(const struct opts *o, unsigned c, unsigned a, const char *metric)
{
	return (struct row){.workload = hb_wl_name[cells[c].w],
			    .alloc = heaps[a].name,
			    .version = heaps[a].version,
			    .phys = is_ours(a) ? o->phys : "-",
			    .virt = is_ours(a) ? o->virt : "-",
			    .metric = metric,
			    .threads = cells[c].threads,
			    .param = cells[c].param,
			    .timed = true,
			    .s = ctx[c][a]};
}

/* ops/s and ns/op of every allocator on cell c; for ours also the share of time in
 * the host's stand-ins for page-table edits and ns/op without it (per round). */
static void cell_rows(FILE *f, const struct opts *o, unsigned c)
{
	for (unsigned a = 0; a < NHEAPS; a++) {
		double v[MAX_ROUNDS], ns[MAX_ROUNDS], pct[MAX_ROUNDS], ex[MAX_ROUNDS];
		unsigned n = 0;
		for (int r = 0; r < o->rounds; r++)
			if (!isnan(res[c][a][r])) {
				v[n] = res[c][a][r];
				ns[n] = cells[c].threads * 1e9 / res[c][a][r];
				pct[n] = 100 * standin[c][a][r];
				ex[n] = ns[n] * (1 - standin[c][a][r]);
				n++;
			}
		if (!enabled[a] || !n)
			continue;
		struct row w = row_for(o, c, a, "ops_per_s");
		median_ci(v, n, &w.m);
		put_row(f, o, &w);
		w.metric = "ns_per_op";
		median_ci(ns, n, &w.m);
		put_row(f, o, &w);
		if (!is_ours(a))
			continue;
		w.metric = "standin_pct";
		median_ci(pct, n, &w.m);
		put_row(f, o, &w);
		w.metric = "ns_per_op_ex_standin";
		median_ci(ex, n, &w.m);
		put_row(f, o, &w);
	}
}

/* Per-round x[ca][a] / x[cb][b] over the rounds where both ran, as a row. */
static void ratio_row(FILE *f, const struct opts *o, struct row *w, unsigned ca, unsigned a,
		      unsigned cb, unsigned b)
{
	double v[MAX_ROUNDS];
	unsigned n = 0;
	for (int r = 0; r < o->rounds; r++)
		if (!isnan(res[ca][a][r]) && !isnan(res[cb][b][r]))
			v[n++] = res[ca][a][r] / res[cb][b][r];
	if (!n)
		return;
	median_ci(v, n, &w->m);
	host_sample_merge(&w->s, &ctx[cb][b]);
	put_row(f, o, w);
}

/* ours / each peer, and every allocator / null, on cell c. */
static void ratio_rows(FILE *f, const struct opts *o, unsigned c)
{
	unsigned null = NHEAPS - 1;
	for (unsigned a = 0; a < NHEAPS; a++)
		for (unsigned b = 0; b < NHEAPS; b++) {
			bool vs_peer = is_ours(a) && contender_is_peer(&heaps[b]);
			if (!enabled[a] || !enabled[b] || a == b || !(vs_peer || b == null))
				continue;
			char name[64];
			snprintf(name, sizeof(name), "%s/%s", heaps[a].name, heaps[b].name);
			struct row w = row_for(o, c, a, "ratio_ops_per_s");
			w.alloc = name;
			w.version = "per-round ratio of ops/s";
			ratio_row(f, o, &w, c, a, c, b);
		}
}

/* 2-thread / 1-thread ops/s of every allocator, for the 2-thread cell c2. */
static void speedup_rows(FILE *f, const struct opts *o, unsigned c2)
{
	for (unsigned c1 = 0; c1 < NCELLS; c1++) {
		if (cells[c1].w != cells[c2].w || cells[c1].param != cells[c2].param ||
		    cells[c1].threads != 1)
			continue;
		for (unsigned a = 0; a < NHEAPS; a++) {
			if (!enabled[a])
				continue;
			struct row w = row_for(o, c2, a, "speedup_2_1");
			ratio_row(f, o, &w, c2, a, c1, a);
		}
	}
}

/* The cache-line round trip between CPUs 0 and 1 taken before each round (c2c.c),
 * the price of every line two threads share in the 2-thread cells: on a VM it
 * follows the hypervisor's vCPU placement and can change between runs. */
static void c2c_row(FILE *f, const struct opts *o)
{
	double v[MAX_ROUNDS];
	unsigned n = 0;
	for (int r = 0; r < o->rounds; r++)
		if (c2c_ns[r] > 0)
			v[n++] = c2c_ns[r];
	if (!n)
		return;
	struct row w = {.workload = "machine",
			.alloc = "-",
			.version = "cache-line round trip, CPUs 0-1, before each round",
			.phys = "-",
			.virt = "-",
			.metric = "c2c_roundtrip_ns",
			.threads = 2,
			.s = HOST_SAMPLE_EMPTY};
	median_ci(v, n, &w.m);
	put_row(f, o, &w);
}

static void he_rows(FILE *f, const struct opts *o, const struct hb_layers *l)
{
	fprintf(stderr, "heap_bench: heap_efficiency, %d trials of a 128 MiB arena\n",
		o->he_trials);
	for (unsigned a = 0; a < NHEAPS; a++) {
		double pct[MAX_ROUNDS];
		struct row w = {.workload = "heap_efficiency",
				.alloc = heaps[a].name,
				.version = heaps[a].version,
				.phys = o->phys,
				.virt = o->virt,
				.metric = "heap_efficiency_pct",
				.threads = 1,
				.param = HE_PARAM};
		if (!enabled[a] || !is_ours(a))
			continue;
		host_sample_begin(&w.s);
		bool ok = heap_efficiency(&heaps[a], l, o->he_trials, o->seed, pct);
		host_sample_end(&w.s, &host);
		if (!ok) {
			fprintf(stderr, "heap_bench: %s: heap_efficiency could not run\n",
				heaps[a].name);
			continue;
		}
		median_ci(pct, (unsigned)o->he_trials, &w.m);
		put_row(f, o, &w);
	}
}

/* ---- main -------------------------------------------------------------------------- */

/* callgrind mode: see --help. */
static int callgrind(const struct opts *o, const struct hb_layers *l)
{
	for (unsigned a = 0; a < NHEAPS; a++) {
		if (!enabled[a])
			continue;
		if (contender_up(&heaps[a], l, 1))
			return 1;
		if (o->cg_wl && !strcmp(o->cg_wl, "random_actions")) {
			long ops = hb_callgrind_random_run(&heaps[a], 2 * o->callgrind, 1000);
			contender_down(&heaps[a]);
			printf("heap_bench: callgrind %s: %ld ops in hb_callgrind_random\n",
			       heaps[a].name, ops);
			continue;
		}
		for (long k = 0; k < o->callgrind; k++) { /* warm-up, outside the toggle */
			void *p = c_alloc(&heaps[a], 0, 64, 8);
			c_free(&heaps[a], 0, p, 64, 8);
		}
		hb_callgrind_hermit64(&heaps[a], o->callgrind, 64);
		contender_down(&heaps[a]);
		printf("heap_bench: callgrind %s: %ld ops in hb_callgrind_hermit64\n",
		       heaps[a].name, 2 * o->callgrind);
	}
	return 0;
}

static int bench(const struct opts *o, const struct hb_layers *l)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return 1;
	fputs(header, f);
	if (in_list(o->only, "heap_efficiency"))
		he_rows(f, o, l);
	rounds(o, l);
	for (unsigned c = 0; c < NCELLS; c++)
		cell_rows(f, o, c);
	for (unsigned c = 0; c < NCELLS; c++)
		ratio_rows(f, o, c);
	for (unsigned c = 0; c < NCELLS; c++)
		if (cells[c].threads == 2)
			speedup_rows(f, o, c);
	c2c_row(f, o);
	fclose(f);
	int rc = cli_write_rows("heap_bench", o->out, buf);
	free(buf);
	if (!rc)
		fprintf(stderr, "heap_bench: wrote %s\n", o->out);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o);
	heap_peer_reexec("heap_bench", argv);
	host_ctx_init(&host);
	struct hb_layers l = {heap_fixture_frame_ops(o.phys), heap_fixture_va_ops(o.virt),
			      o.mem_mib << 20, o.callgrind ? 4ull << 30 : HB_VA_BYTES};
	for (unsigned a = 0; a < NHEAPS; a++)
		enabled[a] = in_list(o.heaps, heap_names[a]) &&
			     contender_setup(&heaps[a], heap_names[a], &l);
	return o.callgrind ? callgrind(&o, &l) : bench(&o, &l);
}
