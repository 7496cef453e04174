/* mtb_host.c: the host engine (build/bin/mtb_host): replays a trace or a synthetic
 * generator on a heap inside this process, one pthread per "CPU", and writes one
 * JSON result row per CPU count (fields: workloads/core/json_row.h, README).
 *
 *   mtb_host --trace FILE | --gen NAME [--ops N] [--threads T] [--slots S] [--seed S]
 *            [--heap H] [--phys P] [--virt V] [--mem MIB] [--fixed-heap B]
 *            [--cpus 1,2,4] [--mode serial|parallel] [--out FILE] [--build ID] [--lenient]
 *   mtb_host --list     (the strategies and peers linked in, one line per layer)
 *
 * Heaps: ours (talc, slab) over a frame allocator (--phys) and a VA allocator (--virt)
 * on a fresh replay machine per row (workloads/core/machine.h: the code the guest's
 * replay runs, so serial rows equal the guest's on every deterministic metric for
 * the same --mem); "null", the harness ceiling (heap_null.h), on the same machine;
 * the peers glibc, jemalloc, tcmalloc, mimalloc and snmalloc ($MTB_SNMALLOC_LIB) in
 * this process (heap_peer.h: loaded with dlopen, footprint = resident bytes, the same
 * definition as ours).
 * The trace is loaded by a child process (trace_iso.h), so no allocator measured
 * here has seen it. Timings come from CLOCK_MONOTONIC (host_run.h says what they
 * include) and are trusted unless more CPUs than cores were asked for.
 * MTB_PERTURB=FIELD adds one unit to that metric of every row (negative control of
 * scripts/crosscheck.py; the guest's replay takes perturb=FIELD).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/json_row.h"
#include "../host/c2c.h"
#include "../host/cli_util.h"
#include "../host/heap_peer.h"
#include "../host/host_ctx.h"
#include "../host/host_run.h"
#include "../host/trace_file.h"
#include "../host/trace_iso.h"
#include "../../strategies/tests/heap_support.h"

#define ROW_CAP 8192

struct opts {
	const char *trace, *gen, *heap, *phys, *virt, *mode, *out, *build, *workload;
	uint64_t ops, seed, mem_mib, fixed_heap;
	unsigned threads, slots, lat_every;
	unsigned cpus[16], ncpus_list;
	bool lenient;
};

static void usage(FILE *f)
{
	fputs("usage: mtb_host (--trace FILE | --gen NAME) [options]\n"
	      "  --trace FILE       trace in any format `workloads/trace` reads\n"
	      "  --gen NAME         random_actions larson xmalloc threadtest alloc_test\n"
	      "                     va_churn hermit64\n"
	      "                     (not in run.sh's sweep: hermit_box, Hermit #1984's\n"
	      "                     calloc(64) + free loop, scripts/hermit_case.sh)\n"
	      "  --ops N            generator ops (default 1000000)\n"
	      "  --threads T        generator threads (default: the largest --cpus; 128 for\n"
	      "                     hermit_box); trace thread t runs on CPU t % cpus\n"
	      "  --slots S          generator objects per thread (default: generator's)\n"
	      "  --seed S           generator seed (default 1)\n"
	      "  --heap NAME        talc, slab, null (the harness ceiling), or a peer:\n"
	      "                     glibc, jemalloc, tcmalloc, mimalloc, snmalloc (default\n"
	      "                     glibc; snmalloc: the library $MTB_SNMALLOC_LIB names, a\n"
	      "                     libsnmallocshim.so built outside the project, README)\n"
	      "  --phys NAME        frame allocator under talc/slab/null (default buddy)\n"
	      "  --virt NAME        VA allocator under talc/slab/null (default: the first\n"
	      "                     of --list's virt line)\n"
	      "  --mem MIB          the replay machine's memory (default 1024; the guest\n"
	      "                     engines take the same value: same numbers)\n"
	      "  --fixed-heap B     talc's fixed heap in bytes (default: Hermit's size for\n"
	      "                     the machine's free memory)\n"
	      "  --list             print the heaps and strategies linked in and exit\n"
	      "  --context          print the machine context rows carry (JSON) and exit\n"
	      "  --cpus LIST        CPU counts, e.g. 1,2,4: one row each (default 1)\n"
	      "  --mode M           serial (deterministic, one thread) or parallel (one\n"
	      "                     thread per CPU); default serial at 1 CPU, else parallel\n"
	      "  --out FILE         write the JSON rows there (atomically), else stdout\n"
	      "  --build ID         build id for the rows (default: $MTB_BUILD_ID or 'dev')\n"
	      "  --workload NAME    the rows' workload (default: the generator, or the trace\n"
	      "                     file's name without .xz and its format suffix)\n"
	      "  --lenient          skip bad ops in text traces instead of failing\n"
	      "  --lat-every N      time one op in N, drawn at random (a power of two,\n"
	      "                     1..4096; 1: every op). Default: the largest power of\n"
	      "                     two up to 64 that still times 32,768 ops of the trace\n"
	      "                     (64 at 4M ops, 1 under 65,536). Two clock reads cost\n"
	      "                     about 50 ns here, more than many heap calls: timing\n"
	      "                     more ops makes ops_per_s the clock's; rows say lat_every\n"
	      "Numbers are decimal (010 is ten; no sign, no 0x).\n" TRACE_INPUT_HELP,
	      f);
}

static int die(const char *msg, const char *arg)
{
	return cli_die("mtb_host", msg, arg);
}

/* --cpus: comma-separated decimal counts 1..HEAP_MAX_CPUS, at most 16, no empty one. */
static bool parse_cpus(const char *s, struct opts *o)
{
	o->ncpus_list = 0;
	for (const char *p = s;; p++) {
		size_t n = strcspn(p, ",");
		char tok[24];
		uint64_t v;
		snprintf(tok, sizeof(tok), "%.*s", (int)(n < sizeof(tok) ? n : sizeof(tok) - 1), p);
		if (n >= sizeof(tok) || !cli_parse_u64(tok, &v) || !v || v > HEAP_MAX_CPUS ||
		    o->ncpus_list == 16)
			return false;
		o->cpus[o->ncpus_list++] = (unsigned)v;
		p += n;
		if (!*p)
			return true;
	}
}

/* A numeric option c with value s into o; 0 or 2 (message printed). */
static int parse_num(int c, const char *s, struct opts *o)
{
	static const char *const names[] = {"--ops", "--threads", "--slots", "--seed", "--mem",
					    "--fixed-heap", "--lat-every"};
	int i = (int)(strchr("nTSsMFE", c) - "nTSsMFE");
	uint64_t v, lo = c == 's' || c == 'F' ? 0 : c == 'M' ? 16 : 1,
		    hi = c == 's' || c == 'F' ? UINT64_MAX
			 : c == 'M'	      ? 64u << 10
			 : c == 'E'	      ? 4096
					      : UINT32_MAX;
	if (!cli_num("mtb_host", names[i], s, lo, hi, &v))
		return 2;
	if (c == 'F' && v && v < PAGE_SIZE)
		return die("bad --fixed-heap (bytes, 0 or at least 4096)", s);
	if (c == 'E' && (v & (v - 1)))
		return die("bad --lat-every (a power of two, 1..4096)", s);
	if (c == 'M') o->mem_mib = v;
	else if (c == 'F') o->fixed_heap = v;
	else if (c == 'n') o->ops = v;
	else if (c == 'T') o->threads = (unsigned)v;
	else if (c == 'S') o->slots = (unsigned)v;
	else if (c == 'E') o->lat_every = (unsigned)v;
	else o->seed = v;
	return 0;
}

/* Returns 0, 1 (show help), 3 (--list), 4 (--context) or 2 (bad usage, message printed). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"trace", 1, 0, 't'}, {"gen", 1, 0, 'g'},    {"ops", 1, 0, 'n'},
		{"threads", 1, 0, 'T'}, {"slots", 1, 0, 'S'}, {"seed", 1, 0, 's'},
		{"heap", 1, 0, 'H'},  {"cpus", 1, 0, 'c'},   {"mode", 1, 0, 'm'},
		{"out", 1, 0, 'o'},   {"build", 1, 0, 'b'},  {"lenient", 0, 0, 'l'},
		{"phys", 1, 0, 'P'},  {"virt", 1, 0, 'V'},   {"mem", 1, 0, 'M'},
		{"list", 0, 0, 'L'},  {"fixed-heap", 1, 0, 'F'}, {"help", 0, 0, 'h'},
		{"context", 0, 0, 'C'}, {"lat-every", 1, 0, 'E'}, {"workload", 1, 0, 'W'},
		{0, 0, 0, 0}};
	*o = (struct opts){.heap = "glibc", .phys = "buddy", .ops = 1000000, .seed = 1,
			   .mem_mib = 1024, .cpus = {1}, .ncpus_list = 1};
	o->build = cli_build_id();
	int c, rc = 0;
	opterr = 0;
	while (!rc && (c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 't': o->trace = optarg; break;
		case 'g': o->gen = optarg; break;
		case 'H': o->heap = optarg; break;
		case 'm': o->mode = optarg; break;
		case 'o': o->out = optarg; break;
		case 'b': o->build = optarg; break;
		case 'W': o->workload = optarg; break;
		case 'l': o->lenient = true; break;
		case 'P': o->phys = optarg; break;
		case 'V': o->virt = optarg; break;
		case 'h': return 1;
		case 'L': return 3;
		case 'C': return 4;
		case 'c':
			if (!parse_cpus(optarg, o))
				return die("bad --cpus (decimal counts 1..64, comma separated)", optarg);
			break;
		case 'n': case 'T': case 'S': case 's': case 'M': case 'F': case 'E':
			rc = parse_num(c, optarg, o);
			break;
		case ':':
			fprintf(stderr, "mtb_host: %s needs a value\n", argv[optind - 1]);
			return 2;
		default: return die("unknown option (see --help)", argv[optind - 1]);
		}
	}
	if (rc)
		return rc;
	if (optind < argc)
		return die("unexpected argument", argv[optind]);
	if (!o->trace == !o->gen)
		return die("give exactly one of --trace and --gen", NULL);
	if (o->mode && strcmp(o->mode, "serial") && strcmp(o->mode, "parallel"))
		return die("--mode must be serial or parallel", o->mode);
	return 0;
}

/* The heap of --heap and, for one of ours, its lower layers; 0 or 2 (message). */
static int find_heap(struct opts *o, struct host_run_cfg *c)
{
	/* Checked for every heap: a misspelt --phys/--virt is an error even where a peer
	 * would not use it. */
	if (!heap_fixture_frame_ops(o->phys))
		return die("unknown or unmerged frame allocator (see --list)", o->phys);
	if (o->virt && !heap_fixture_va_ops(o->virt))
		return die("unknown or unmerged VA allocator (see --list)", o->virt);
	if ((c->heap = heap_peer_find(o->heap))) {
		char why[200];
		return heap_peer_load(c->heap, why, sizeof(why)) ? 0 : die("peer not usable", why);
	}
	if (!(c->heap = heap_fixture_heap_ops(o->heap)))
		return die("unknown heap (see --list)", o->heap);
	const char *first_va = NULL;
	heap_fixture_list(HEAP_FX_VA, &first_va, 1);
	if (!o->virt)
		o->virt = first_va;
	if (!(c->fops = heap_fixture_frame_ops(o->phys)))
		return die("unknown or unmerged frame allocator (see --list)", o->phys);
	if (!(c->vops = heap_fixture_va_ops(o->virt)))
		return die("unknown or unmerged VA allocator (see --list)", o->virt);
	return 0;
}

static void list_strategies(void)
{
	static const char *const layer[] = {"phys", "virt", "heap"};
	for (int l = HEAP_FX_FRAME; l <= HEAP_FX_HEAP; l++) {
		const char *names[8];
		unsigned n = heap_fixture_list(l, names, 8);
		printf("%s", layer[l]);
		for (unsigned i = 0; i < n; i++)
			printf(" %s", names[i]);
		printf(l == HEAP_FX_HEAP ? "\n" : "\n");
	}
	char why[200];
	printf("peers");
	for (unsigned i = 0; heap_peer_name(i); i++)
		if (heap_peer_load(heap_peer_find(heap_peer_name(i)), why, sizeof(why)))
			printf(" %s", heap_peer_name(i));
	printf("\n");
}

/* The trace to run, mapped (never through this process's malloc). */
static int get_trace(const struct opts *o, struct trace_mapped *tm)
{
	char err[1024];
	int rc;
	if (o->trace) {
		rc = trace_load_isolated(o->trace, o->lenient, tm, err, sizeof(err));
	} else {
		enum gen_kind k = gen_kind_from_name(o->gen);
		if (k == GEN_COUNT)
			return die("unknown generator (see --help)", o->gen);
		unsigned maxc = 1;
		for (unsigned i = 0; i < o->ncpus_list; i++)
			maxc = o->cpus[i] > maxc ? o->cpus[i] : maxc;
		unsigned T = o->threads ? o->threads : gen_default_threads(k) ? gen_default_threads(k) : maxc;
		struct gen_params p = {o->seed, T, o->ops, o->slots, 0, 0};
		rc = trace_gen_mapped(k, &p, tm, err, sizeof(err));
	}
	if (rc)
		fprintf(stderr, "mtb_host: %s\n", err);
	return rc ? 1 : 0;
}

static struct host_ctx ctx;

/* The members host_ctx_json and host_sample_json write (s NULL: the static part only),
 * without braces, into buf. */
static void ctx_members(const struct host_sample *s, char *buf, size_t cap)
{
	struct json_buf j;
	json_begin(&j, buf, cap);
	host_ctx_json(&j, &ctx);
	if (s)
		host_sample_json(&j, s);
	long n = json_end(&j);
	if (n < 2) {
		buf[0] = 0;
		return;
	}
	__builtin_memmove(buf, buf + 1, (size_t)n - 2);
	buf[n - 2] = 0;
}

/* Appends ,MEMBERS before the row's closing brace; false if it does not fit. */
static bool row_append(char *row, size_t cap, const char *members)
{
	size_t n = strlen(row);
	if (!n || row[n - 1] != '}')
		return false;
	int k = snprintf(row + n - 1, cap - (n - 1), ",%s}", members);
	return k > 0 && (size_t)k < cap - (n - 1);
}

/* Appends "key":"val" (JSON-escaped) to the row; false if it does not fit. */
static bool row_append_str(char *row, size_t cap, const char *key, const char *val)
{
	char m[512];
	struct json_buf j;
	json_begin(&j, m, sizeof(m));
	json_str(&j, key, val);
	long n = json_end(&j);
	if (n < 2)
		return false;
	m[n - 1] = 0;
	return row_append(row, cap, m + 1);
}

/* The workload's name: --workload, the generator, or the trace file's base name without
 * .xz and then one format suffix (gnu-as.trc.xz -> gnu-as), as run.sh names workloads. */
static const char *workload_name(const struct opts *o, char *buf, size_t cap)
{
	static const char *const sfx[] = {".xz",  ".zip", ".trc", ".mtb", ".rec",
					  ".rep", ".log", ".txt", ".vmt"};
	if (o->workload || o->gen)
		return o->workload ? o->workload : o->gen;
	const char *b = strrchr(o->trace, '/') ? strrchr(o->trace, '/') + 1 : o->trace;
	snprintf(buf, cap, "%s", b);
	for (unsigned i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t n = strlen(buf), k = strlen(sfx[i]);
		if (n <= k || strcmp(buf + n - k, sfx[i]))
			continue;
		buf[n - k] = 0;
		if (i > 1) /* one format suffix, after .xz or .zip */
			break;
	}
	return buf;
}

/* --lat-every's default for a trace of nops ops: the largest power of two <= 64 that
 * still times at least 32,768 of them (the p99.9 then rests on >= 32 ops); 1 under
 * 65,536 ops. */
static unsigned lat_every_for(uint64_t nops)
{
	unsigned e = 1;
	while (e < 64 && nops / (2u * e) >= 32768)
		e *= 2;
	return e;
}

/* One replay at ncpus; the row goes into row[cap]. 0, or 1 (message printed). */
static int run_one(const struct opts *o, struct host_run_cfg *c, const struct trace *t,
		   unsigned ncpus, const char *name, char *row, size_t cap)
{
	c->ncpus = ncpus;
	c->parallel = o->mode ? !strcmp(o->mode, "parallel") : ncpus > 1;
	c->mem_bytes = o->mem_mib << 20;
	c->fixed_heap_bytes = o->fixed_heap;
	c->lat_every = o->lat_every ? o->lat_every : lat_every_for(t->h.nops);
	struct host_run_out out;
	struct host_sample hs;
	char err[512];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	/* a parallel row's price of a shared line now (c2c.c; -1 without a CPU 1), taken
	 * before the cell */
	double c2c = c->parallel && ncpus > 1 ? c2c_roundtrip_ns(0, 1) : -1;
	host_sample_begin(&hs);
	int rc = host_run(c, t, &out, err, sizeof(err));
	host_sample_end(&hs, &ctx);
	if (rc) {
		fprintf(stderr, "mtb_host: %s\n", err);
		return 1;
	}
	host_run_failure_line(&out, err, sizeof(err));
	if (err[0])
		fprintf(stderr, "mtb_host: %s, %u CPU(s), %s: %s\n", c->heap->name, ncpus,
			c->parallel ? "parallel" : "serial", err);
	bool over = cores > 0 && ncpus > (unsigned)cores;
	char combo[96];
	snprintf(combo, sizeof(combo), "%s-%s-%s", c->fops ? c->fops->name : "-",
		 c->vops ? c->vops->name : "-", c->heap->name);
	struct result_prov p = {"replay", c->fops ? combo : c->heap->name,
				c->fops ? c->fops->name : "-", c->vops ? c->vops->name : "-",
				c->heap->name, "host", !over, ncpus,
				c->parallel ? "parallel" : "serial", name, t->h.payload_hash, o->build,
				o->gen ? o->seed : 0};
	struct env_metrics em = {&out.fs, &out.vs, &out.mc, c->mem_bytes};
	long n = json_replay_row_env(&p, &out.res, out.machine ? &em : NULL, row, cap);
	char extra[1024];
	int k = snprintf(extra, sizeof(extra), "\"oversubscribed\":%s,\"minor_faults\":%llu",
			 over ? "true" : "false", (unsigned long long)out.minor_faults);
	if (c2c > 0 && k > 0 && (size_t)k < sizeof(extra))
		snprintf(extra + k, sizeof(extra) - (size_t)k, ",\"c2c_roundtrip_ns\":%llu",
			 (unsigned long long)(c2c + 0.5));
	bool ok = n > 0 && row_append(row, cap, extra);
	ctx_members(&hs, extra, sizeof(extra));
	ok = ok && row_append(row, cap, extra);
	if (ok && !c->fops) {
		snprintf(extra, sizeof(extra), "\"heap_version\":\"%s\"", heap_peer_version(c->heap));
		ok = row_append(row, cap, extra);
	}
	char wl[256];
	ok = ok && row_append_str(row, cap, "workload", workload_name(o, wl, sizeof(wl)));
	const char *perturb = getenv("MTB_PERTURB"); /* the cross-check's negative control */
	if (ok && perturb && *perturb && !json_row_perturb(row, cap, perturb)) {
		fprintf(stderr, "mtb_host: MTB_PERTURB=%s: no such numeric field in the row\n", perturb);
		return 1;
	}
	return ok ? 0 : (fprintf(stderr, "mtb_host: result row too long\n"), 1);
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc = parse_args(argc, argv, &o);
	if (rc == 0 || rc == 3)
		heap_peer_reexec("mtb_host", argv); /* the same conditions for every heap */
	host_ctx_init(&ctx);
	if (rc == 3)
		return list_strategies(), 0;
	if (rc == 4) { /* --context: the machine, as rows carry it */
		char buf[1024];
		ctx_members(NULL, buf, sizeof(buf));
		printf("{%s}\n", buf);
		return 0;
	}
	if (rc)
		return rc == 1 ? (usage(stdout), 0) : 2;
	struct host_run_cfg c = {0};
	if (find_heap(&o, &c))
		return 2;
	struct trace_mapped tm;
	if ((rc = get_trace(&o, &tm)))
		return rc;
	const char *name = o.trace ? strrchr(o.trace, '/') ? strrchr(o.trace, '/') + 1 : o.trace
				   : o.gen;
	static char rows[16 * (ROW_CAP + 1)];
	char *p = rows;
	for (unsigned i = 0; !rc && i < o.ncpus_list; i++) {
		rc = run_one(&o, &c, &tm.t, o.cpus[i], name, p, ROW_CAP);
		p += strlen(p);
		*p++ = '\n';
	}
	*p = 0;
	if (!rc)
		rc = cli_write_rows("mtb_host", o.out, rows);
	trace_mapped_free(&tm);
	return rc;
}
