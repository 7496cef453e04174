/* mtb_host.c: the host engine (build/bin/mtb_host): replays a trace or a synthetic
 * generator on a heap inside this process, one pthread per "CPU", and writes one
 * JSON result row per CPU count (fields: workloads/core/json_row.h).
 *
 *   mtb_host --trace FILE | --gen NAME [--ops N] [--threads T] [--slots S] [--seed S]
 *            [--heap libc|talc|slab] [--phys P] [--virt V] [--mem MIB] [--cpus 1,2,4]
 *            [--mode serial|parallel] [--out FILE] [--build ID] [--lenient]
 *   mtb_host --list     (the strategies linked in, one line per layer)
 *
 * Heaps: "libc" (the C library allocator, the peer baseline; run under
 * LD_PRELOAD=libjemalloc.so / libmimalloc.so / libtcmalloc.so its rows say
 * "libc:jemalloc" etc., so peers are measured by the same engine), and the strategy
 * heaps (talc, slab) over a frame allocator (--phys) and a VA allocator (--virt) on a
 * fresh hostmem machine per row set up like the guest's kernel memory (heap_machine.h;
 * --fixed-heap is talc's initial heap, 2 MiB as in a 64 MiB guest), so serial rows
 * match the guest's PHYS-VIRT-HEAP rows on every deterministic metric; they carry the
 * phys_* and va_* state at the end of the trace (json_replay_row_env). Strategies are
 * found by name in heap_fixture's table (strategies/tests/heap_support.h). Timings
 * come from CLOCK_MONOTONIC and are trusted (timing_trusted=true): this engine runs
 * natively.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/gen.h"
#include "../core/json_row.h"
#include "../host/cli_util.h"
#include "../host/gen_host.h"
#include "../host/heap_libc.h"
#include "../host/heap_machine.h"
#include "../host/trace_file.h"
#include "../../strategies/tests/heap_support.h"

struct opts {
	const char *trace, *gen, *heap, *phys, *virt, *mode, *out, *build;
	uint64_t ops, seed, mem_mib, fixed_heap;
	unsigned threads, slots;
	unsigned cpus[16], ncpus_list;
	bool lenient;
};

/* The machine a strategy heap runs on (one per row), and its shape. */
#define VA_BYTES      (64ull << 30)

static void usage(FILE *f)
{
	fputs("usage: mtb_host (--trace FILE | --gen NAME) [options]\n"
	      "  --trace FILE       trace in any format `workloads/trace` reads\n"
	      "  --gen NAME         random_actions larson xmalloc threadtest alloc_test\n"
	      "                     va_churn hermit64\n"
	      "  --ops N            generator ops (default 1000000)\n"
	      "  --threads T        generator threads (default: the largest --cpus)\n"
	      "  --slots S          generator objects per thread (default: generator's)\n"
	      "  --seed S           generator seed (default 1)\n"
	      "  --heap NAME        heap: libc (default), talc, slab (see --list)\n"
	      "  --phys NAME        frame allocator under talc/slab (default buddy)\n"
	      "  --virt NAME        VA allocator under talc/slab (default: the first of\n"
	      "                     --list's virt line)\n"
	      "  --mem MIB          physical memory of that machine (default 1024)\n"
	      "  --fixed-heap B     talc's initial heap in bytes (default 2097152)\n"
	      "  --list             print the strategies linked in and exit\n"
	      "  --cpus LIST        CPU counts, e.g. 1,2,4: one row each (default 1)\n"
	      "  --mode M           serial (deterministic, one thread) or parallel (one\n"
	      "                     thread per CPU); default serial at 1 CPU, else parallel\n"
	      "  --out FILE         write the JSON rows there (atomically), else stdout\n"
	      "  --build ID         build id for the rows (default: $MTB_BUILD_ID or 'dev')\n"
	      "  --lenient          skip bad ops in text traces instead of failing\n",
	      f);
}

static int die(const char *msg, const char *arg)
{
	return cli_die("mtb_host", msg, arg);
}

static bool parse_cpus(const char *s, struct opts *o)
{
	o->ncpus_list = 0;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;
		if (!cli_parse_u64(tok, &v) || !v || v > HEAP_MAX_CPUS || o->ncpus_list == 16)
			return false;
		o->cpus[o->ncpus_list++] = (unsigned)v;
	}
	return o->ncpus_list > 0;
}

/* Returns 0, 1 (show help) or 2 (bad usage, message printed). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"trace", 1, 0, 't'}, {"gen", 1, 0, 'g'},    {"ops", 1, 0, 'n'},
		{"threads", 1, 0, 'T'}, {"slots", 1, 0, 'S'}, {"seed", 1, 0, 's'},
		{"heap", 1, 0, 'H'},  {"cpus", 1, 0, 'c'},   {"mode", 1, 0, 'm'},
		{"out", 1, 0, 'o'},   {"build", 1, 0, 'b'},  {"lenient", 0, 0, 'l'},
		{"phys", 1, 0, 'P'},  {"virt", 1, 0, 'V'},   {"mem", 1, 0, 'M'},
		{"list", 0, 0, 'L'},  {"fixed-heap", 1, 0, 'F'}, {"help", 0, 0, 'h'},
		{0, 0, 0, 0}};
	*o = (struct opts){.heap = "libc", .phys = "buddy", .ops = 1000000, .seed = 1,
			   .mem_mib = 1024, .fixed_heap = SIZE_2M, .cpus = {1}, .ncpus_list = 1};
	o->build = cli_build_id();
	int c;
	uint64_t v;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 't': o->trace = optarg; break;
		case 'g': o->gen = optarg; break;
		case 'H': o->heap = optarg; break;
		case 'm': o->mode = optarg; break;
		case 'o': o->out = optarg; break;
		case 'b': o->build = optarg; break;
		case 'l': o->lenient = true; break;
		case 'P': o->phys = optarg; break;
		case 'V': o->virt = optarg; break;
		case 'h': return 1;
		case 'L': return 3;
		case 'F':
			if (!cli_parse_u64(optarg, &o->fixed_heap) || o->fixed_heap < PAGE_SIZE)
				return die("bad --fixed-heap (bytes, at least 4096)", optarg);
			break;
		case 'c':
			if (!parse_cpus(optarg, o))
				return die("bad --cpus (1..64, comma separated)", optarg);
			break;
		case 'n': case 'T': case 'S': case 's': case 'M':
			if (!cli_parse_u64(optarg, &v) || (c != 's' && (!v || v > UINT32_MAX)))
				return die("bad number", optarg);
			if (c == 'M') o->mem_mib = v;
			else if (c == 'n') o->ops = v;
			else if (c == 'T') o->threads = (unsigned)v;
			else if (c == 'S') o->slots = (unsigned)v;
			else o->seed = v;
			break;
		default: return die("unknown option (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return die("unexpected argument", argv[optind]);
	if (!o->trace == !o->gen)
		return die("give exactly one of --trace and --gen", NULL);
	if (o->mode && strcmp(o->mode, "serial") && strcmp(o->mode, "parallel"))
		return die("--mode must be serial or parallel", o->mode);
	return 0;
}

/* "libc", or "libc:jemalloc" when a known allocator is LD_PRELOADed. */
static const char *heap_label(const struct heap_ops *heap)
{
	static const char *const peers[] = {"jemalloc", "mimalloc", "tcmalloc"};
	static char label[64];
	const char *pre = getenv("LD_PRELOAD");
	snprintf(label, sizeof(label), "%s", heap->name);
	for (size_t i = 0; pre && heap == &heap_libc_ops && i < 3; i++)
		if (strstr(pre, peers[i]))
			snprintf(label, sizeof(label), "%s:%s", heap->name, peers[i]);
	return label;
}

/* The heap of --heap and, for a strategy heap, its lower layers; 0 or 2 (message). */
static int find_strategies(struct opts *o, const struct heap_ops **heap,
			   const struct frame_ops **fops, const struct va_ops **vops)
{
	*fops = NULL;
	*vops = NULL;
	if (!strcmp(o->heap, heap_libc_ops.name)) {
		*heap = &heap_libc_ops;
		return 0;
	}
	if (!(*heap = heap_fixture_heap_ops(o->heap)))
		return die("unknown heap (see --list)", o->heap);
	const char *first_va = NULL;
	heap_fixture_list(HEAP_FX_VA, &first_va, 1);
	if (!o->virt)
		o->virt = first_va;
	if (!(*fops = heap_fixture_frame_ops(o->phys)))
		return die("unknown or unmerged frame allocator (see --list)", o->phys);
	if (!(*vops = heap_fixture_va_ops(o->virt)))
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
		printf(l == HEAP_FX_HEAP ? " libc\n" : "\n");
	}
}

/* The trace to run: loaded (lt) or generated (ops malloc'd into *gen_ops). */
static int get_trace(const struct opts *o, struct trace_loaded *lt, struct trace *t,
		     struct trace_op **gen_ops)
{
	char err[1024];
	if (o->trace) {
		if (trace_load(o->trace, o->lenient, lt, err, sizeof(err))) {
			fprintf(stderr, "mtb_host: %s\n", err);
			return 1;
		}
		*t = lt->t;
		return 0;
	}
	enum gen_kind k = gen_kind_from_name(o->gen);
	if (k == GEN_COUNT)
		return die("unknown generator (see --help)", o->gen);
	unsigned maxc = 1;
	for (unsigned i = 0; i < o->ncpus_list; i++)
		maxc = o->cpus[i] > maxc ? o->cpus[i] : maxc;
	struct gen_params p = {o->seed, o->threads ? o->threads : maxc, o->ops, o->slots, 0, 0};
	if (gen_host_run(k, &p, gen_ops, t))
		return die("generator failed (bad parameters or out of memory)", o->gen);
	return 0;
}

static uint64_t mono_ns(void *ctx)
{
	return cli_mono_ns();
}

static void yield(void)
{
	sched_yield();
}

struct cpu_arg {
	struct replay *r;
	unsigned cpu;
	pthread_barrier_t *start;
};

static void *cpu_main(void *a)
{
	struct cpu_arg *c = a;
	pthread_barrier_wait(c->start);
	replay_run_cpu(c->r, c->cpu);
	return NULL;
}

static int run_parallel(struct replay *r, unsigned n)
{
	pthread_t th[HEAP_MAX_CPUS];
	struct cpu_arg args[HEAP_MAX_CPUS];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, n);
	unsigned made = 0;
	for (; made < n; made++) {
		args[made] = (struct cpu_arg){r, made, &start};
		if (pthread_create(&th[made], NULL, cpu_main, &args[made]))
			break;
	}
	if (made < n) {
		fprintf(stderr, "mtb_host: pthread_create failed\n");
		exit(1); /* the started threads wait at the barrier forever */
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	return 0;
}

struct stack {
	const struct heap_ops *heap;
	const struct frame_ops *fops; /* NULL for libc */
	const struct va_ops *vops;
};

/* Brings up the heap for ncpus: libc directly, a strategy heap on a fresh machine m.
 * The heap state, or NULL (message printed). */
static void *stack_up(const struct opts *o, const struct stack *sk, unsigned ncpus,
		      struct heap_machine *m)
{
	if (sk->fops)
		return heap_machine_init(m, sk->fops, sk->vops, sk->heap, ncpus, o->mem_mib << 20,
					 VA_BYTES, o->fixed_heap)
			       ? NULL
			       : m->heap_st;
	void *hst = calloc(1, sk->heap->state_size);
	struct heap_env env = {.ncpus = ncpus};
	if (hst && sk->heap->init(hst, &env)) {
		free(hst);
		hst = NULL;
	}
	return hst;
}

/* One replay at ncpus; the row goes into row[cap]. 0, or 1 (message printed). */
static int run_one(const struct opts *o, const struct stack *sk, const struct trace *t,
		   unsigned ncpus, const char *name, char *row, size_t cap)
{
	bool serial = o->mode ? !strcmp(o->mode, "serial") : ncpus == 1;
	struct heap_machine m = {0};
	void *hst = stack_up(o, sk, ncpus, &m);
	void *mem = malloc(replay_mem_size(t, ncpus));
	if (!hst || !mem) {
		fprintf(stderr, "mtb_host: heap %s: init failed\n", sk->heap->name);
		return 1;
	}
	struct replay_cfg cfg = {sk->heap, hst, ncpus, mono_ns, NULL, 1, 1, false, yield};
	struct replay r;
	if (replay_init(&r, &cfg, t, mem))
		return die("bad replay configuration", NULL) ? 1 : 1;
	if (serial)
		replay_run_serial(&r);
	else
		run_parallel(&r, ncpus);
	struct replay_result res;
	replay_finish(&r, &res);
	/* The layers' state at the end of the trace, live objects still allocated. */
	struct frame_stats fs;
	struct va_stats vs;
	struct env_metrics em = {&fs, &vs, -1, -1};
	if (sk->fops) {
		sk->fops->stats(m.frame_st, &fs);
		sk->vops->stats(m.va_st, &vs);
	}
	replay_release(&r);
	const char *label = heap_label(sk->heap);
	char combo[96];
	snprintf(combo, sizeof(combo), "%s-%s-%s", sk->fops ? sk->fops->name : "-",
		 sk->vops ? sk->vops->name : "-", label);
	struct result_prov p = {"replay", sk->fops ? combo : label,
				sk->fops ? sk->fops->name : "-", sk->vops ? sk->vops->name : "-",
				label, "host", 1, ncpus, serial ? "serial" : "parallel", name,
				t->h.payload_hash, o->build, o->gen ? o->seed : 0};
	long n = json_replay_row_env(&p, &res, sk->fops ? &em : NULL, row, cap);
	free(mem);
	if (sk->fops)
		heap_machine_fini(&m);
	else
		free(hst);
	return n < 0 ? (fprintf(stderr, "mtb_host: result row too long\n"), 1) : 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc = parse_args(argc, argv, &o);
	if (rc == 3)
		return list_strategies(), 0;
	if (rc)
		return rc == 1 ? (usage(stdout), 0) : 2;
	struct stack sk;
	if (find_strategies(&o, &sk.heap, &sk.fops, &sk.vops))
		return 2;
	struct trace_loaded lt = {0};
	struct trace t;
	struct trace_op *gen_ops = NULL;
	if ((rc = get_trace(&o, &lt, &t, &gen_ops)))
		return rc;
	const char *name = o.trace ? strrchr(o.trace, '/') ? strrchr(o.trace, '/') + 1 : o.trace
				   : o.gen;
	size_t cap = 4096 * (o.ncpus_list + 1);
	char *rows = calloc(1, cap), *p = rows;
	for (unsigned i = 0; !rc && i < o.ncpus_list; i++) {
		rc = run_one(&o, &sk, &t, o.cpus[i], name, p, 4000);
		p += strlen(p);
		*p++ = '\n';
	}
	*p = 0;
	if (!rc)
		rc = cli_write_rows("mtb_host", o.out, rows);
	free(rows);
	free(gen_ops);
	trace_loaded_free(&lt);
	return rc;
}
