/* trace.c: the trace converter and inspector (build/bin/trace; wrapper workloads/trace).
 *
 *   trace convert [--lenient] IN OUT   any supported format -> binary (.mtb, default)
 *                                      or allocrec text (OUT ending in .trc); IN named
 *                                      *.vmt or *.vmt.xz is an address-space trace
 *                                      (workloads/host/vmt.h: reserve/release ops, the
 *                                      blob the guest's `vareplay` replays)
 *   trace stats [--lenient] FILE       ops, objects, threads, peak live, size histogram
 *   trace gen NAME OUT [--ops N] [--threads T] [--slots S] [--seed S]
 *             [--min-size B] [--max-size B]
 *                                      a synthetic workload (core/gen.h) as a trace file
 *
 * Bad input: one line "trace: FILE:LINE: problem" on stderr and exit 1; with
 * --lenient bad ops are counted, skipped and reported. Usage errors exit 2.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/gen.h"
#include "../host/cli_util.h"
#include "../host/gen_host.h"
#include "../host/trace_file.h"
#include "../host/vmt.h"

static void usage(FILE *f)
{
	fputs("usage: trace convert [--lenient] IN OUT\n"
	      "       trace stats [--lenient] FILE\n"
	      "       trace gen NAME OUT [--ops N] [--threads T] [--slots S] [--seed S]\n"
	      "                 [--min-size B] [--max-size B]\n"
	      "Generators: random_actions larson xmalloc threadtest alloc_test va_churn\n"
	      "hermit64 hermit_box (seeded; default 1000000 ops, seed 1, 1 thread; hermit_box:\n"
	      "128 threads, Hermit #1984's calloc(64) + free loop). --min-size, --max-size:\n"
	      "the request size bounds (default: the generator's; va_churn 1073741824 is\n"
	      "va_replay --gen mix, with --slots 1000).\n"
	      "Formats (detected from content, any may be .xz, or the one file of a .zip):\n"
	      "binary .mtb, allocrec .trc, libmtbrec.so recordings (.rec), CS:APP .rep,\n"
	      "valgrind --trace-malloc=yes logs, Android memory_replay text (AOSP ships it\n"
	      "zipped; workloads/FORMATS.md); by name, *.vmt and\n"
	      "*.vmt.xz: address-space traces (their reservations and releases as ops).\n"
	      "convert writes allocrec text when OUT ends in .trc, else the binary format.\n"
	      "--lenient: skip and count bad ops (unknown op, free of a never-allocated id,\n"
	      "absurd size) instead of failing.\n"
	      "Numbers are decimal (010 is ten; no sign, no 0x).\n" TRACE_INPUT_HELP,
	      f);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

/* The format name stats prints: .vmt inputs are not a trace_fmt (named, not detected). */
static const char *fmt_name(const char *path, const struct trace_loaded *lt)
{
	return has_suffix(path, ".vmt") || has_suffix(path, ".vmt.xz") ? "vmt"
								       : trace_fmt_name(lt->fmt);
}

/* path in any format (.vmt by name) into lt; 0, or -1 (message printed). */
static int load(const char *path, bool lenient, struct trace_loaded *lt)
{
	char err[1024];
	struct vmt_loaded vl;
	bool vmt = !strcmp(fmt_name(path, lt), "vmt");
	int rc = vmt ? vmt_load(path, lenient, &vl, err, sizeof(err))
		     : trace_load(path, lenient, lt, err, sizeof(err));
	if (vmt && !rc)
		*lt = vl.tl;
	if (rc) {
		fprintf(stderr, "trace: %s\n", err);
		return -1;
	}
	if (lt->skipped)
		fprintf(stderr, "trace: %s: skipped %llu bad ops (first: %s)\n", path,
			(unsigned long long)lt->skipped, lt->first_skip);
	return 0;
}

static int cmd_convert(const char *in, const char *out, bool lenient)
{
	struct trace_loaded lt;
	char err[1024];
	if (load(in, lenient, &lt))
		return 1;
	int rc = has_suffix(out, ".trc") ? trace_write_trc(out, &lt.t, in, err, sizeof(err))
					 : trace_write_bin(out, &lt.t, err, sizeof(err));
	if (rc)
		fprintf(stderr, "trace: %s\n", err);
	else
		printf("%s -> %s: %llu ops, %llu objects, %u threads, peak_live %llu\n", in, out,
		       (unsigned long long)lt.t.h.nops, (unsigned long long)lt.t.h.nobjects,
		       lt.t.h.nthreads, (unsigned long long)lt.t.h.peak_live);
	trace_loaded_free(&lt);
	return rc ? (rc == -2 ? 2 : 1) : 0;
}

static void print_stats(const char *path, const struct trace_loaded *lt)
{
	const struct trace *t = &lt->t;
	uint64_t byop[6] = {0}, hist[48] = {0}, live = 0, live_objs = 0;
	uint64_t *sz = calloc(t->h.nids + 1, sizeof(*sz));
	for (uint64_t i = 0; sz && i < t->h.nops; i++) {
		const struct trace_op *o = &t->ops[i];
		byop[o->op]++;
		if (o->op != TOP_FREE)
			hist[o->size ? 64 - __builtin_clzll(o->size) : 0]++;
		live -= sz[o->id] ? sz[o->id] - 1 : 0;
		live_objs -= sz[o->id] != 0;
		sz[o->id] = o->op == TOP_FREE ? 0 : o->size + 1;
		live += sz[o->id] ? sz[o->id] - 1 : 0;
		live_objs += sz[o->id] != 0;
	}
	free(sz);
	printf("file        %s\nformat      %s\nops         %llu\nobjects     %llu\n"
	       "threads     %u\npeak_live   %llu\nid_slots    %u\nhash        %016llx\n",
	       path, fmt_name(path, lt), (unsigned long long)t->h.nops,
	       (unsigned long long)t->h.nobjects, t->h.nthreads, (unsigned long long)t->h.peak_live,
	       t->h.nids, (unsigned long long)t->h.payload_hash);
	printf("by op       malloc %llu calloc %llu memalign %llu realloc %llu free %llu\n",
	       (unsigned long long)byop[1], (unsigned long long)byop[2],
	       (unsigned long long)byop[3], (unsigned long long)byop[4],
	       (unsigned long long)byop[5]);
	printf("live at end %llu objects, %llu bytes\nskipped     %llu\n",
	       (unsigned long long)live_objs, (unsigned long long)live,
	       (unsigned long long)lt->skipped);
	printf("size histogram (requests of size in [lo, hi]):\n");
	for (int i = 0; i < 48; i++)
		if (hist[i])
			printf("  %12llu .. %-12llu %llu\n", i ? 1ull << (i - 1) : 0ull,
			       i ? (1ull << i) - 1 : 0ull, (unsigned long long)hist[i]);
}

static int cmd_gen(const char *name, const char *out, const struct gen_params *given)
{
	enum gen_kind k = gen_kind_from_name(name);
	if (k == GEN_COUNT) {
		fprintf(stderr, "trace: unknown generator '%s' (see --help)\n", name);
		return 2;
	}
	struct gen_params gp = *given, *p = &gp; /* nthreads 0: not given */
	if (!gp.nthreads)
		gp.nthreads = gen_default_threads(k) ? gen_default_threads(k) : 1;
	struct trace_op *ops;
	struct trace t;
	char err[1024];
	int rc = 1;
	if (gen_host_run(k, p, &ops, &t))
		fprintf(stderr, "trace: gen %s: bad parameters or out of memory\n", name);
	else if ((rc = has_suffix(out, ".trc") ? trace_write_trc(out, &t, name, err, sizeof(err))
					       : trace_write_bin(out, &t, err, sizeof(err))))
		rc = rc == -2 ? 2 : 1, fprintf(stderr, "trace: %s\n", err);
	else
		rc = 0, printf("%s -> %s: %llu ops, %u threads, peak_live %llu\n", name, out,
			       (unsigned long long)t.h.nops, t.h.nthreads,
			       (unsigned long long)t.h.peak_live);
	free(ops);
	return rc;
}

/* --ops/--threads/--slots/--seed/--min-size/--max-size VALUE into p; false after a
 * one-line message. */
static bool gen_opt(const char *opt, const char *val, struct gen_params *p)
{
	uint64_t v;
	if (!strcmp(opt, "--threads")) {
		if (!cli_num("trace", opt, val, 1, TRACE_MAX_THREADS, &v))
			return false;
		p->nthreads = (unsigned)v;
	} else if (!strcmp(opt, "--slots")) {
		if (!cli_num("trace", opt, val, 1, UINT32_MAX, &v))
			return false;
		p->slots = (uint32_t)v;
	} else if (!strcmp(opt, "--min-size") || !strcmp(opt, "--max-size")) {
		if (!cli_num("trace", opt, val, 1, TRACE_MAX_SIZE, &v))
			return false;
		*(!strcmp(opt, "--min-size") ? &p->min_size : &p->max_size) = v;
	} else if (!cli_num("trace", opt, val, 0, UINT64_MAX, &v)) {
		return false;
	} else {
		*(!strcmp(opt, "--ops") ? &p->nops : &p->seed) = v;
	}
	return true;
}

struct cli {
	bool lenient;
	struct gen_params gp;
	const char *args[3];
	int n;
};

/* Fills c from argv; -1 to go on, else the exit code (0 after --help). */
static int parse_cli(int argc, char **argv, struct cli *c)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--lenient")) {
			c->lenient = true;
		} else if (!strcmp(a, "--ops") || !strcmp(a, "--threads") || !strcmp(a, "--slots") ||
			   !strcmp(a, "--seed") || !strcmp(a, "--min-size") || !strcmp(a, "--max-size")) {
			if (!gen_opt(a, i + 1 < argc ? argv[i + 1] : NULL, &c->gp))
				return 2;
			i++;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "trace: unknown option %s (see --help)\n", a);
			return 2;
		} else if (c->n < 3) {
			c->args[c->n++] = a;
		} else {
			fprintf(stderr, "trace: too many arguments (see --help)\n");
			return 2;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct cli c = {.gp = {1, 0, 1000000, 0, 0, 0}};
	int rc = parse_cli(argc, argv, &c);
	if (rc >= 0)
		return rc;
	if (c.n == 3 && !strcmp(c.args[0], "gen"))
		return cmd_gen(c.args[1], c.args[2], &c.gp);
	if (c.n == 3 && !strcmp(c.args[0], "convert"))
		return cmd_convert(c.args[1], c.args[2], c.lenient);
	if (c.n == 2 && !strcmp(c.args[0], "stats")) {
		struct trace_loaded lt;
		if (load(c.args[1], c.lenient, &lt))
			return 1;
		print_stats(c.args[1], &lt);
		trace_loaded_free(&lt);
		return 0;
	}
	fprintf(stderr, "trace: expected 'convert IN OUT', 'stats FILE' or 'gen NAME OUT' "
			"(see --help)\n");
	return 2;
}
