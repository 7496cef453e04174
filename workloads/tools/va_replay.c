/* va_replay.c: replays address-space traces (.vmt, workloads/host/vmt.h) or the
 * synthetic mix on the VA allocators and writes one kind=va_frag JSON row per
 * (strategy, trace) (build/bin/va_replay; row fields: results/README.md).
 *
 *   va_replay --trace F.vmt [--trace G.vmt ...] | --gen mix [--virt bitmap|btree|
 *             btree-bare|freelist|all] [--ops N] [--slots S] [--seed N] [--size-tib T]
 *             [--check | --check-every N] [--out F.jsonl] [--build ID] [--lenient]
 *
 * Each allocator manages a Managed window of --size-tib TiB (default 64) at 64 TiB;
 * metadata frames (B+-tree nodes) come from malloc (workloads/host/va_host.h). The
 * replay and the row's metrics are the shared core's (workloads/core/va_run.h), which
 * the guest's `vareplay` command runs too: ops serially in trace order on CPU 0, a
 * reservation is alloc(size, 4 KiB) and its release free(addr, size). "Requested"
 * bytes are the trace's (page-rounded) sizes, "reserved" the allocator's after its
 * own rounding, so at the peak of requested bytes reserved / requested is the
 * internal fragmentation. Peak and end snapshots, the release at the end and its
 * check: va_run.h. This tool adds the .vmt parse counts (vmt_*) and the checked
 * mode's hooks. Timing: CLOCK_MONOTONIC around the ops only.
 *
 * Checked mode (--check, --check-every N): the strategy's full invariant walk (va_ops
 * check) after every op, or after every Nth op and the last, before the release; rows
 * then carry check_every. A broken invariant panics inside the walk; the panic line is
 * followed by `va_replay: STRATEGY: invariant check failed after op I` and exit 1.
 * MTB_VA_MUTATE=I (negative control of the checked mode) frees the first range
 * allocated at or after op I a second time, a double free that a release build's
 * strategies do not refuse: their state breaks and the next check must say so.
 *
 * The synthetic mix is the va_churn generator (workloads/core/gen.h) with sizes
 * 4 KiB .. 1 GiB, log-uniform (uniform exponent, then uniform within the octave),
 * and random lifetimes (each step picks one of S slots at random and allocates it
 * if free, else frees it).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/gen.h"
#include "../core/json_row.h"
#include "../host/cli_util.h"
#include "../host/gen_host.h"
#include "../host/host_ctx.h"
#include "../host/va_host.h"
#include "../host/vmt.h"
#include "../../strategies/va_btree.h"

#define MAX_TRACES 64

static struct host_ctx machine; /* every row's machine context (host_ctx.h) */

struct opts {
	const char *traces[MAX_TRACES], *gen, *virt, *out, *build;
	unsigned ntraces;
	uint64_t ops, slots, seed, size_tib;
	uint64_t check_every; /* 0: no checks; 1: after every op; N: every Nth and the last */
	bool lenient;
	uint64_t mutate_at; /* MTB_VA_MUTATE=I: I + 1; 0: none */
};

/* One workload: ops plus where they came from. */
struct workload {
	const char *name;
	struct trace t;
	const struct vmt_counts *vc; /* NULL for the generator */
	uint64_t skipped;
	uint64_t seed;
};

static void usage(FILE *f)
{
	fputs("usage: va_replay (--trace FILE.vmt ... | --gen mix) [options]\n"
	      "  Replays address-space traces on the VA allocators; one JSON row\n"
	      "  (kind=va_frag) per strategy and trace.\n"
	      "  --trace FILE     .vmt trace, plain or xz (repeatable)\n"
	      "  --gen mix        synthetic mix: 4 KiB..1 GiB log-uniform, random lifetimes\n"
	      "  --virt S         bitmap, btree, btree-bare (the tree without its per-CPU\n"
	      "                   caches), freelist or all (default all: these four);\n"
	      "                   bitmap-64k: the bitmap at a 64 KiB granule, btree-best,\n"
	      "                   btree-bare-best: the trees with best fit (not in all)\n"
	      "  --ops N          generator ops (default 100000)\n"
	      "  --slots S        generator slots, about twice the live ranges (default 1000)\n"
	      "  --seed N         generator seed (default 1)\n"
	      "  --size-tib T     Managed window in TiB (default 64)\n"
	      "  --check          run the strategy's full invariant check after every op\n"
	      "                   (the bitmap's walk skips empty nodes: a 3,000-op trace\n"
	      "                   on the default window checks in seconds)\n"
	      "  --check-every N  the full check after every Nth op and after the last\n"
	      "                   (for very long traces); rows carry check_every\n"
	      "  --out FILE       write the rows there (atomically), else stdout\n"
	      "  --build ID       build id for the rows (default: $MTB_BUILD_ID or 'dev')\n"
	      "  --lenient        skip bad trace lines instead of failing\n"
	      "Numbers are decimal (010 is ten; no sign, no 0x).\n" TRACE_INPUT_HELP,
	      f);
}

static int die(const char *msg, const char *arg)
{
	return cli_die("va_replay", msg, arg);
}

/* --ops, --slots, --seed or --size-tib (getopt code c) into o; false after a message. */
static bool parse_num(int c, const char *s, struct opts *o)
{
	switch (c) {
	case 'n': return cli_num("va_replay", "--ops", s, 1, 1ull << 32, &o->ops);
	case 'S': return cli_num("va_replay", "--slots", s, 1, 1u << 24, &o->slots);
	case 's': return cli_num("va_replay", "--seed", s, 0, UINT64_MAX, &o->seed);
	case 'z': return cli_num("va_replay", "--size-tib", s, 1, 64, &o->size_tib);
	default: return cli_num("va_replay", "--check-every", s, 1, UINT64_MAX, &o->check_every);
	}
}

/* 0, 1 (help) or 2 (bad usage, message printed). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"trace", 1, 0, 't'}, {"gen", 1, 0, 'g'},   {"virt", 1, 0, 'v'},
		{"ops", 1, 0, 'n'},   {"slots", 1, 0, 'S'}, {"seed", 1, 0, 's'},
		{"size-tib", 1, 0, 'z'}, {"check", 0, 0, 'c'}, {"check-every", 1, 0, 'e'},
		{"out", 1, 0, 'o'}, {"build", 1, 0, 'b'}, {"lenient", 0, 0, 'l'},
		{"help", 0, 0, 'h'}, {0, 0, 0, 0}};
	*o = (struct opts){.virt = "all", .ops = 100000, .slots = 1000, .seed = 1, .size_tib = 64};
	o->build = cli_build_id();
	opterr = 0;
	for (int c; (c = getopt_long(argc, argv, ":h", lo, NULL)) != -1;) {
		switch (c) {
		case 't':
			if (o->ntraces == MAX_TRACES)
				return die("too many --trace", optarg);
			o->traces[o->ntraces++] = optarg;
			break;
		case 'g': o->gen = optarg; break;
		case 'v': o->virt = optarg; break;
		case 'o': o->out = optarg; break;
		case 'b': o->build = optarg; break;
		case 'c': o->check_every = o->check_every ? o->check_every : 1; break;
		case 'l': o->lenient = true; break;
		case 'h': return 1;
		case 'n': case 'S': case 's': case 'z': case 'e':
			if (!parse_num(c, optarg, o))
				return 2;
			break;
		case ':':
			fprintf(stderr, "va_replay: %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			return die("unknown option (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return die("unexpected argument", argv[optind]);
	if (!o->ntraces && !o->gen)
		return die("give --trace FILE and/or --gen mix", NULL);
	if (o->gen && strcmp(o->gen, "mix"))
		return die("unknown generator (only 'mix')", o->gen);
	return 0;
}

/* ---- replay ------------------------------------------------------------------- */

/* What a failed check says; formatted before the walk, so that the SIGABRT of a
 * panic inside it can write it (async-signal-safe) and exit 1. */
static char check_line[160];
static volatile sig_atomic_t in_check;

static void on_abort(int sig)
{
	if (!in_check)
		return; /* a panic elsewhere: abort() goes on */
	ssize_t n = write(2, check_line, strlen(check_line));
	(void)n;
	_exit(1);
}

/* va_run's check hook: the full invariant walk; exits 1 naming the op when it fails
 * (i == nops: after the release at the end). */
static bool check_or_die(void *ctx, uint64_t i, uint64_t nops)
{
	const struct va_host *vh = ctx;
	char when[48];
	if (i < nops)
		snprintf(when, sizeof(when), "op %llu", (unsigned long long)i);
	else
		snprintf(when, sizeof(when), "the release at the end");
	snprintf(check_line, sizeof(check_line), "va_replay: %s: invariant check failed after %s\n",
		 vh->ops->name, when);
	in_check = 1;
	bool ok = vh->ops->check(vh->st);
	in_check = 0;
	if (!ok) {
		fputs(check_line, stderr);
		exit(1);
	}
	return true;
}

/* va_run's mutation hook (MTB_VA_MUTATE, see the header). */
static void mutated(void *ctx, uint64_t i)
{
	const struct va_host *vh = ctx;
	fprintf(stderr, "va_replay: MTB_VA_MUTATE: %s: the range of op %llu freed twice\n",
		vh->ops->name, (unsigned long long)i);
}

static uint64_t mono_ns(void *ctx)
{
	return cli_mono_ns();
}

/* Replays w on vh (checked and mutated as o says) with the shared core; leftovers are
 * released at the end. 0, or 1 (message printed). */
static int replay(struct va_host *vh, const struct workload *w, const struct opts *o,
		  struct va_run_result *r)
{
	void *scratch = malloc(va_run_scratch_size(&w->t));
	if (!scratch) {
		die("out of memory", NULL);
		return 1;
	}
	struct va_run_cfg c = {.ops = vh->ops, .st = vh->st, .clock = mono_ns, .ctx = vh,
			       .check_every = o->check_every, .check = check_or_die,
			       .mutate_at = o->mutate_at, .mutated = mutated};
	int rc = va_run(&c, &w->t, scratch, r);
	free(scratch);
	if (rc) {
		fprintf(stderr, "va_replay: %s: %llu bytes still reserved after releasing all\n",
			vh->ops->name, (unsigned long long)r->released.reserved_bytes);
		return 1;
	}
	return 0;
}

/* ---- rows --------------------------------------------------------------------- */

static void vmt_fields(struct json_buf *j, const struct workload *w)
{
	const struct vmt_counts *c = w->vc;
	if (!c)
		return;
	json_u64(j, "vmt_events", c->events);
	json_u64(j, "vmt_procs", c->procs);
	json_u64(j, "vmt_maps", c->maps);
	json_u64(j, "vmt_maps_fixed_inside", c->maps_fixed_inside);
	json_u64(j, "vmt_unmaps", c->unmaps);
	json_u64(j, "vmt_unmaps_partial", c->unmaps_partial);
	json_u64(j, "vmt_unmaps_untracked", c->unmaps_untracked);
	json_u64(j, "vmt_remaps", c->remaps);
	json_u64(j, "vmt_brks", c->brks);
	json_u64(j, "vmt_prots_ignored", c->prots);
	json_u64(j, "vmt_advises_ignored", c->advises);
	json_u64(j, "vmt_execs", c->execs);
	json_u64(j, "vmt_execs_replacing", c->execs_replacing);
	json_u64(j, "vmt_skipped_lines", w->skipped);
}


static long va_frag_row(const struct opts *o, const struct va_host *vh,
			const struct workload *w, const struct va_run_result *r, char *buf, size_t cap)
{
	struct result_prov p = {"va_frag", vh->ops->name, "-", vh->ops->name, "-", "host", 1, 1,
				"serial", w->name, w->t.h.payload_hash, o->build, w->seed};
	struct json_buf j;
	json_begin(&j, buf, cap);
	json_prov(&j, &p);
	va_run_row_metrics(&j, w->vc ? "vmt" : "mix", r);
	vmt_fields(&j, w);
	va_run_row_tail(&j, o->check_every, r);
	host_ctx_json(&j, &machine);
	return json_end(&j);
}

/* ---- main --------------------------------------------------------------------- */

/* The workloads: every --trace, then the mix. 0, or 1/2 (message printed). */
static int load_all(const struct opts *o, struct workload *w, struct vmt_loaded *vl,
		    struct trace_op **gen_ops, unsigned *n)
{
	char err[1024];
	for (*n = 0; *n < o->ntraces; (*n)++) {
		if (vmt_load(o->traces[*n], o->lenient, &vl[*n], err, sizeof(err)))
			return fprintf(stderr, "va_replay: %s\n", err), 1;
		if (vl[*n].tl.skipped)
			fprintf(stderr, "va_replay: note: %llu bad lines skipped, the first: %s\n",
				(unsigned long long)vl[*n].tl.skipped, vl[*n].tl.first_skip);
		const char *b = strrchr(o->traces[*n], '/');
		w[*n] = (struct workload){b ? b + 1 : o->traces[*n], vl[*n].tl.t, &vl[*n].c,
					  vl[*n].tl.skipped, 0};
	}
	if (!o->gen)
		return 0;
	struct gen_params p = {o->seed, 1, o->ops, (uint32_t)o->slots, 4096, SIZE_1G};
	if (gen_host_run(GEN_VA_CHURN, &p, gen_ops, &w[*n].t))
		return die("generator failed (out of memory)", o->gen);
	w[*n].name = "mix";
	w[*n].seed = o->seed;
	(*n)++;
	return 0;
}

/* ", invariants checked after ..." for the progress line ("" when not checking). */
static const char *checked_note(const struct opts *o, uint64_t ops)
{
	static char buf[128];
	if (!o->check_every)
		return "";
	if (o->check_every == 1)
		return ", invariants checked after every op";
	snprintf(buf, sizeof(buf), ", invariants checked after every %llu ops and the last (%llu checks)",
		 (unsigned long long)o->check_every,
		 (unsigned long long)((ops + o->check_every - 1) / o->check_every));
	return buf;
}

static int run_all(const struct opts *o, const struct va_ops *const *virts, unsigned nv,
		   const struct workload *w, unsigned nw, char *rows, size_t cap)
{
	size_t len = 0;
	for (unsigned wi = 0; wi < nw; wi++) {
		for (unsigned vi = 0; vi < nv; vi++) {
			struct va_host vh;
			struct va_run_result r;
			if (va_host_init(&vh, virts[vi], VA_RUN_BASE, o->size_tib << 40)) {
				die("strategy init failed", virts[vi]->name);
				return 1;
			}
			int rc = replay(&vh, &w[wi], o, &r);
			long n = rc ? 0
				    : va_frag_row(o, &vh, &w[wi], &r, rows + len, cap - len - 1);
			va_host_fini(&vh);
			if (rc || n < 0)
				return n < 0 ? die("result row too long", NULL) : rc;
			len += (size_t)n;
			rows[len++] = '\n';
			rows[len] = 0;
			fprintf(stderr, "va_replay: %-24s %-8s %llu ops, %llu failed%s\n", w[wi].name,
				virts[vi]->name, (unsigned long long)r.ops,
				(unsigned long long)r.failed, checked_note(o, r.ops));
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc == 1 ? (usage(stdout), 0) : 2;
	const char *mut = getenv("MTB_VA_MUTATE"); /* the checked mode's negative control */
	if (mut && *mut && (!cli_parse_u64(mut, &o.mutate_at) || o.mutate_at++ == UINT64_MAX))
		return die("MTB_VA_MUTATE: not an op index", mut), 2;
	if (o.check_every)
		signal(SIGABRT, on_abort);
	host_ctx_init(&machine);
	const struct va_ops *virts[VA_RUN_NALL];
	unsigned nv = 0;
	int one = va_run_find(o.virt);
	for (unsigned i = 0; i < VA_RUN_NALL; i++)
		if ((i < VA_RUN_NMAIN && !strcmp(o.virt, "all")) || (int)i == one)
			virts[nv++] = va_run_strategies[i];
	if (!nv)
		return die("unknown strategy (bitmap, btree, btree-bare, freelist, bitmap-64k, "
			   "btree-best, btree-bare-best, all)",
			   o.virt);
	struct workload w[MAX_TRACES + 1];
	struct vmt_loaded vl[MAX_TRACES];
	struct trace_op *gen_ops = NULL;
	unsigned nw = 0;
	rc = load_all(&o, w, vl, &gen_ops, &nw);
	size_t cap = 4096 * (size_t)(nw * nv + 1);
	char *rows = calloc(1, cap);
	if (!rc)
		rc = rows ? run_all(&o, virts, nv, w, nw, rows, cap) : 1;
	if (!rc)
		rc = cli_write_rows("va_replay", o.out, rows);
	free(rows);
	free(gen_ops);
	for (unsigned i = 0; i < o.ntraces && i < nw; i++)
		vmt_loaded_free(&vl[i]);
	return rc;
}
