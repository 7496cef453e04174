/* gbench_bench.c: Google Benchmark microbenchmarks of every strategy, through the C API of
 * gbench.h (gbench_shim.cc), with the peer allocators (glibc, jemalloc, tcmalloc, mimalloc,
 * snmalloc: workloads/host/heap_peer.h) in the same binary and the same loops.
 *
 *   heap/COMBO/pair64       alloc(64) + free, per thread            (talc, slab on every
 *   heap/COMBO/random1000   a 256-slot window per thread: free the  frame x VA strategy,
 *                           slot's object, allocate 8..1000 B       linked in; the peers)
 *   frame/NAME/order0|order9  alloc + free of one 4 KiB / 2 MiB block, per thread
 *   va/NAME/64k             alloc + free of a 64 KiB range, per thread
 * Each at 1 and 2 threads (thread i is CPU i); time = real time per iteration. Our
 * strategies run on a fresh hostmem machine per run (strategies/tests/heap_fixture.c).
 *
 *   gbench_bench [--out FILE] [--benchmark_* flags]
 * --out FILE writes Google Benchmark's JSON there (as workloads/host/out_file.h writes);
 * the console table goes to stdout. --quick runs each benchmark for 0.01 s (tests).
 * A --benchmark_filter that matches no benchmark (a misspelled name, an invalid regex)
 * exits 2 naming it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../strategies/tests/heap_support.h"
#include "gbench.h"
#include "../host/heap_peer.h"
#include "../host/out_file.h"

#define NTHREADS   2
#define WINDOW	   256
#define PHYS_BYTES (256ull << 20)
#define VA_BYTES   (16ull << 30)

enum wl { WL_PAIR64, WL_RANDOM1000, WL_FRAME0, WL_FRAME9, WL_VA64K };

struct bench {
	char name[96];
	enum wl wl;
	const struct heap_ops *peer; /* heap workloads on a peer (NULL: ours, on fx) */
	void *peer_st;
	const struct frame_ops *fops; /* ours: the machine */
	const struct va_ops *vops;
	const struct heap_ops *hops;
	struct heap_fixture fx;
};

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void setup(void *arg, int threads)
{
	struct bench *b = arg;
	if (b->peer) {
		b->peer_st = mmap(NULL, b->peer->state_size, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b->peer_st == MAP_FAILED || b->peer->init(b->peer_st, NULL) != MM_OK) {
			fprintf(stderr, "gbench_bench: %s: cannot start the heap\n", b->name);
			exit(1);
		}
		return;
	}
	if (heap_fixture_init(&b->fx, b->fops, b->vops, b->hops, NTHREADS, PHYS_BYTES, VA_BYTES,
			      16ull << 20, 1)) {
		fprintf(stderr, "gbench_bench: %s: machine setup failed\n", b->name);
		exit(1);
	}
}

static void teardown(void *arg)
{
	struct bench *b = arg;
	if (b->fops) {
		heap_fixture_fini(&b->fx);
	} else {
		heap_peer_fini(b->peer_st);
		munmap(b->peer_st, b->peer->state_size);
	}
}

static void *h_alloc(struct bench *b, unsigned cpu, size_t s)
{
	if (b->fops)
		return b->fx.hops->alloc(b->fx.heap_st, cpu, s, 8);
	return b->peer->alloc(b->peer_st, cpu, s, 8);
}

static void h_free(struct bench *b, unsigned cpu, void *p, size_t s)
{
	if (b->fops)
		b->fx.hops->free(b->fx.heap_st, cpu, p, s, 8);
	else
		b->peer->free(b->peer_st, cpu, p, s, 8);
}

static void run_heap(struct gb_state *st, struct bench *b)
{
	unsigned cpu = (unsigned)gb_thread_index(st);
	uint64_t seed = 1 + cpu;
	void *slot[WINDOW] = {0};
	size_t size[WINDOW] = {0};
	while (gb_keep_running(st)) {
		if (b->wl == WL_PAIR64) {
			void *p = h_alloc(b, cpu, 64);
			if (!p) {
				gb_skip_with_error(st, "out of memory");
				break;
			}
			*(volatile char *)p = 1;
			h_free(b, cpu, p, 64);
			continue;
		}
		uint64_t r = rnd(&seed);
		unsigned i = (unsigned)(r % WINDOW);
		if (slot[i])
			h_free(b, cpu, slot[i], size[i]);
		size[i] = 8 + (size_t)((r >> 16) % 993);
		if (!(slot[i] = h_alloc(b, cpu, size[i]))) {
			gb_skip_with_error(st, "out of memory");
			break;
		}
		*(volatile char *)slot[i] = 1;
	}
	for (unsigned i = 0; i < WINDOW; i++)
		if (slot[i])
			h_free(b, cpu, slot[i], size[i]);
}

/* The machine is read only inside the loop: thread 0 builds it before the first
 * gb_keep_running() (a barrier), other threads may get here earlier. */
static void run_lower(struct gb_state *st, struct bench *b)
{
	unsigned cpu = (unsigned)gb_thread_index(st);
	unsigned order = b->wl == WL_FRAME9 ? 9 : 0;
	while (gb_keep_running(st)) {
		uint64_t x;
		const char *err = NULL;
		if (b->wl == WL_VA64K) {
			if (b->fx.vops->alloc(b->fx.va_st, cpu, 64 << 10, 0, &x))
				err = "VA allocator out of space";
			else
				b->fx.vops->free(b->fx.va_st, cpu, x, 64 << 10);
		} else {
			if (b->fx.fops->alloc(b->fx.frame_st, cpu, order, &x))
				err = "frame allocator out of memory";
			else
				b->fx.fops->free(b->fx.frame_st, cpu, x, order);
		}
		if (err) {
			gb_skip_with_error(st, err);
			break;
		}
	}
}

static void run(struct gb_state *st, void *arg)
{
	struct bench *b = arg;
	if (b->wl == WL_PAIR64 || b->wl == WL_RANDOM1000)
		run_heap(st, b);
	else
		run_lower(st, b);
}

/* Registers one benchmark at 1 and NTHREADS threads (the struct lives for the run). */
static void add(const struct bench *tmpl)
{
	for (int t = 1; t <= NTHREADS; t++) {
		struct bench *b = calloc(1, sizeof(*b));
		if (!b)
			exit(1);
		*b = *tmpl;
		struct gb_bench g = {b->name, setup, run, teardown, b, t};
		gb_register(&g);
	}
}

static void add_ours(void)
{
	const char *fn[8], *vn[8], *hn[8];
	unsigned nf = heap_fixture_list(HEAP_FX_FRAME, fn, 8);
	unsigned nv = heap_fixture_list(HEAP_FX_VA, vn, 8);
	unsigned nh = heap_fixture_list(HEAP_FX_HEAP, hn, 8);
	for (unsigned f = 0; f < nf; f++)
		for (unsigned v = 0; v < nv; v++)
			for (unsigned h = 0; h < nh; h++)
				for (int w = WL_PAIR64; w <= WL_RANDOM1000; w++) {
					if (!strcmp(fn[f], "simple") || !strcmp(vn[v], "simple"))
						continue;
					struct bench b = {.wl = w,
							  .fops = heap_fixture_frame_ops(fn[f]),
							  .vops = heap_fixture_va_ops(vn[v]),
							  .hops = heap_fixture_heap_ops(hn[h])};
					snprintf(b.name, sizeof(b.name), "heap/%s-%s-%s/%s", fn[f],
						 vn[v], hn[h],
						 w == WL_PAIR64 ? "pair64" : "random1000");
					add(&b);
				}
	for (unsigned f = 0; f < nf; f++)
		for (int w = WL_FRAME0; w <= WL_FRAME9; w++) {
			struct bench b = {.wl = w,
					  .fops = heap_fixture_frame_ops(fn[f]),
					  .vops = &test_va_simple_ops,
					  .hops = &heap_talc_ops};
			snprintf(b.name, sizeof(b.name), "frame/%s/%s", fn[f],
				 w == WL_FRAME0 ? "order0" : "order9");
			add(&b);
		}
	for (unsigned v = 0; v < nv; v++) {
		struct bench b = {.wl = WL_VA64K,
				  .fops = &frame_buddy_ops,
				  .vops = heap_fixture_va_ops(vn[v]),
				  .hops = &heap_talc_ops};
		snprintf(b.name, sizeof(b.name), "va/%s/64k", vn[v]);
		add(&b);
	}
}

static void add_peers(void)
{
	for (unsigned i = 0; heap_peer_name(i); i++) {
		char why[200];
		struct bench b = {.peer = heap_peer_find(heap_peer_name(i))};
		if (!heap_peer_load(b.peer, why, sizeof(why))) {
			fprintf(stderr, "gbench_bench: skipping %s\n", why);
			continue;
		}
		for (int w = WL_PAIR64; w <= WL_RANDOM1000; w++) {
			b.wl = w;
			snprintf(b.name, sizeof(b.name), "heap/%s/%s", heap_peer_name(i),
				 w == WL_PAIR64 ? "pair64" : "random1000");
			add(&b);
		}
	}
}

/* The value of the last --benchmark_filter= in args[0..n) ("." when none). */
static const char *filter_of(char *const *args, int n)
{
	const char *f = ".";
	for (int i = 1; i < n; i++)
		if (!strncmp(args[i], "--benchmark_filter=", 19))
			f = args[i] + 19;
	return f;
}

/* Runs the benchmarks registered (args[0..n), room for 3 more) with the JSON going to
 * out (NULL: none) as out_file.h writes it: the library writes only to a path of its
 * own, a private scratch file, copied into out once it succeeded. The exit status. */
static int run_to(char **args, int n, const char *out)
{
	static char fmt[] = "--benchmark_out_format=json";
	char flag_out[4200], scratch[4096];
	struct out_file of = {0};
	int fd = -1, e = out ? out_open(&of, out) : 0;
	snprintf(scratch, sizeof(scratch), "%s/gbench_bench.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!e && out && (fd = mkstemp(scratch)) < 0) {
		e = -errno;
		out_abort(&of);
	}
	if (e)
		return out_fail("gbench_bench", out, e);
	if (out) {
		close(fd);
		snprintf(flag_out, sizeof(flag_out), "--benchmark_out=%s", scratch);
		args[n++] = flag_out;
		args[n++] = fmt;
	}
	args[n] = NULL;
	const char *filter = filter_of(args, n); /* before gb_main: it consumes args */
	int rc = gb_main(n, args);
	if (rc == 2)
		fprintf(stderr,
			"gbench_bench: --benchmark_filter '%s' matched no benchmark (or is not a "
			"valid regex; --benchmark_list_tests=true lists the names)\n",
			filter);
	rc = rc ? 2 : 0;
	e = out && !rc ? out_copy_from(&of, scratch) : 0;
	if (out && (rc || e))
		out_abort(&of);
	else if (out)
		e = out_commit(&of);
	if (out)
		unlink(scratch);
	return e ? out_fail("gbench_bench", out, e) : rc;
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	static char min_time[] = "--benchmark_min_time=0.01";
	char *args[64];
	int n = 0;
	args[n++] = argv[0];
	for (int i = 1; i < argc && n < 60; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			puts(
			    "usage: gbench_bench [--out FILE] [--quick] [--benchmark_* flags]\n"
			    "  Microbenchmarks of every frame, VA and heap strategy linked in and "
			    "the\n"
			    "  peer allocators (Google Benchmark); JSON to FILE, table to stdout.\n"
			    "  MTB_SNMALLOC_LIB=PATH adds snmalloc (libsnmallocshim.so, README).");
			return 0;
		} else if (!strcmp(argv[i], "--out")) {
			if (i + 1 == argc) {
				fputs("gbench_bench: --out needs a value\n", stderr);
				return 2;
			}
			out = argv[++i];
		} else if (!strcmp(argv[i], "--quick")) {
			args[n++] = min_time;
		} else if (!strncmp(argv[i], "--benchmark_", 12)) {
			args[n++] = argv[i];
		} else {
			fprintf(stderr, "gbench_bench: unknown argument '%s' (see --help)\n",
				argv[i]);
			return 2;
		}
	}
	heap_peer_reexec("gbench_bench", argv);
	add_ours();
	add_peers();
	return run_to(args, n, out);
}
