/* heap_cost_test.c: heap_bench's single-thread workloads as fixed op sequences, for
 * callgrind's instruction counts (deterministic, whatever the machine's load) and as
 * a test of the slab heap's steady state.
 *
 *   heap_cost_test                       test: every workload on slab (and null) over
 *                                        buddy/bitmap; afterwards the heap's check
 *                                        passes and, flushed, it holds no more than
 *                                        its stated keep bound
 *   heap_cost_test WL HEAP [OPS]         one workload: OPS ops untimed (warm-up),
 *                                        then OPS more inside cost_measure (default
 *                                        100000), on a fresh heap (ours over
 *                                        buddy/bitmap, 256 MiB, 4 GiB window, as
 *                                        heap_bench --callgrind) or a peer
 *
 * Count with
 *   MTB_REEXECED=1 GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536 \
 *   valgrind --tool=callgrind --toggle-collect=cost_measure \
 *       build/rel/bin/strategies/tests/heap_cost_test random10000 slab
 * and divide the total Ir by the OPS the program prints. An op is one alloc, free or
 * realloc call; the count includes the harness (RNG, slot arrays, touching the first
 * and last byte of each new object): the null heap shows that share. What callgrind
 * does not see, the program prints for the counted part: page faults (getrusage
 * minflt), for ours the machine's map and unmap calls (each an mmap or a
 * PROT_NONE mprotect here; page-table edits and a TLB shootdown in a guest) and
 * for slab its allocation slow paths.
 *
 * WL: hermit64 (alloc + free of 64 B; a fresh heap), random1000, random10000
 * (heap_bench's random_actions: Talc's sizes and alignments, reallocs up to 3x max),
 * larson (2 sets of 1000 slots, 8..1000 B, epochs of 10000 ops), xmalloc (batches of
 * 64 objects of 8..256 B, freed after the next batch is made), and larson2, xmalloc2:
 * the same with two CPUs simulated in this one thread (larson: the sets change CPU
 * every epoch; xmalloc: CPU 0 and CPU 1 each make a batch, and each frees the
 * other's): slab's remote-free path, deterministically (a peer ignores the CPU).
 */
#include <sys/resource.h>

#include "testlib.h"

#include "../../workloads/host/heap_machine.h"
#include "../../workloads/host/heap_peer.h"
#include "../../workloads/bench/heap_bench.h"
#include "../heap_slab.h"
#include "heap_support.h"

#define NOBJ 4096 /* random_actions: most live objects */

struct obj {
	void *p;
	size_t size, align;
};

struct cost {
	const struct heap_ops *h;
	void *st;
	uint64_t seed, ops;
	struct obj *v;
	size_t n;     /* random_actions: live objects in v */
	uint64_t k;   /* larson, xmalloc: steps done */
	size_t param; /* random_actions: max size */
	bool two;     /* two CPUs simulated */
};

static inline void touch(void *p, size_t n)
{
	if (n) {
		((volatile char *)p)[0] = 1;
		((volatile char *)p)[n - 1] = 1;
	}
}

static void *c_new(struct cost *c, unsigned cpu, size_t s, size_t a)
{
	void *p = c->h->alloc(c->st, cpu, s, a);
	CHECK(p, "%s: alloc(%zu, %zu) failed", c->h->name, s, a);
	touch(p, s);
	c->ops++;
	return p;
}

static void c_del(struct cost *c, unsigned cpu, struct obj *o)
{
	c->h->free(c->st, cpu, o->p, o->size, o->align);
	o->p = NULL;
	c->ops++;
}

static void hermit64(struct cost *c, uint64_t ops)
{
	for (uint64_t end = c->ops + ops; c->ops < end;) {
		struct obj o = {c_new(c, 0, 64, 8), 64, 8};
		c_del(c, 0, &o);
	}
}

/* heap_bench's ra_step, on a slot array of NOBJ. */
static void random_actions(struct cost *c, uint64_t ops)
{
	for (uint64_t end = c->ops + ops; c->ops < end;) {
		uint64_t a = hb_rnd(&c->seed) % 7;
		if (a == 6 && c->n) {
			struct obj *o = &c->v[hb_rnd(&c->seed) % c->n];
			size_t ns = 1 + hb_rnd(&c->seed) % (c->param * 3 - 1);
			void *q = c->h->realloc(c->st, 0, o->p, o->size, o->align, ns);
			CHECK(q, "%s: realloc to %zu failed", c->h->name, ns);
			o->p = q;
			o->size = ns;
			touch(q, ns);
			c->ops++;
		} else if ((a < 3 || c->n < 300) && c->n < NOBJ) {
			struct obj o = {NULL, talc_size(&c->seed, c->param), talc_align(&c->seed)};
			o.p = c_new(c, 0, o.size, o.align);
			c->v[c->n++] = o;
		} else if (c->n) {
			size_t i = hb_rnd(&c->seed) % c->n;
			c_del(c, 0, &c->v[i]);
			c->v[i] = c->v[--c->n];
			c->v[c->n].p = NULL;
		}
	}
}

/* Two sets of 1000 slots; in epoch e set s is worked on by CPU (s + e) % 2 (two) or 0. */
static void larson(struct cost *c, uint64_t ops)
{
	for (uint64_t end = c->ops + ops; c->ops < end; c->k++) {
		unsigned e = (unsigned)(c->k / 5000), s = (unsigned)(c->k % 2);
		unsigned cpu = c->two ? (s + e) % 2 : 0;
		struct obj *o = &c->v[s * 1000 + hb_rnd(&c->seed) % 1000];
		if (o->p)
			c_del(c, cpu, o);
		*o = (struct obj){NULL, 8 + hb_rnd(&c->seed) % 993, 1};
		o->p = c_new(c, cpu, o->size, 1);
	}
}

/* Batches of 64 in v[0..64) and v[64..128) (two: v[128..256) too): a batch is freed
 * once the next one of its maker is made; two: by the other CPU. */
static void xmalloc(struct cost *c, uint64_t ops)
{
	for (uint64_t end = c->ops + ops; c->ops < end; c->k++) {
		unsigned makers = c->two ? 2 : 1;
		for (unsigned cpu = 0; cpu < makers; cpu++) {
			struct obj *b = &c->v[(cpu * 2 + c->k % 2) * 64];
			for (int i = 0; i < 64; i++) {
				b[i] = (struct obj){NULL, 8 + hb_rnd(&c->seed) % 249, 8};
				b[i].p = c_new(c, cpu, b[i].size, 8);
			}
			struct obj *old = &c->v[(cpu * 2 + (c->k + 1) % 2) * 64];
			for (int i = 0; i < 64; i++)
				if (old[i].p)
					c_del(c, c->two ? 1 - cpu : cpu, &old[i]);
		}
	}
}

struct wl {
	const char *name;
	void (*run)(struct cost *c, uint64_t ops);
	size_t param;
	bool two;
};
static const struct wl wls[] = {
	{"hermit64", hermit64, 0, false},   {"random1000", random_actions, 1000, false},
	{"random10000", random_actions, 10000, false}, {"larson", larson, 0, false},
	{"xmalloc", xmalloc, 0, false},	    {"larson2", larson, 0, true},
	{"xmalloc2", xmalloc, 0, true},
};
#define NWL (sizeof(wls) / sizeof(wls[0]))

__attribute__((noinline, noclone)) void cost_measure(const struct wl *w, struct cost *c,
						     uint64_t ops);
__attribute__((noinline, noclone)) void cost_measure(const struct wl *w, struct cost *c,
						     uint64_t ops)
{
	w->run(c, ops);
}

/* Frees every object the workload still holds (CPU 0). */
static void free_all(struct cost *c)
{
	for (size_t i = 0; i < NOBJ; i++)
		if (c->v[i].p)
			c_del(c, 0, &c->v[i]);
	c->n = 0;
}

static const struct wl *wl_find(const char *name)
{
	for (size_t i = 0; i < NWL; i++)
		if (!strcmp(wls[i].name, name))
			return &wls[i];
	return NULL;
}

/* One workload on a fresh instance; ops untimed then ops in cost_measure. Returns
 * the ops counted there. Ours: check and keep bound afterwards. */
/* slab: allocation slow paths taken so far on both CPUs (0 for other heaps). */
static uint64_t slab_slow(const struct cost *c)
{
	if (c->h != &heap_slab_ops)
		return 0;
	const struct slab_heap *h = c->st;
	return h->cpu[0].refills + h->cpu[1].refills;
}

static long minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static uint64_t run_one(const struct wl *w, const char *hname, uint64_t ops, bool test)
{
	struct heap_machine m;
	struct cost c = {.seed = 42, .param = w->param, .two = w->two};
	static struct obj v[NOBJ];
	memset(v, 0, sizeof(v));
	c.v = v;
	bool peer = (c.h = heap_peer_find(hname)) != NULL;
	if (peer) {
		char why[200];
		if (!heap_peer_load(c.h, why, sizeof(why)))
			test_skip(why);
		CHECK((c.st = calloc(1, c.h->state_size)) && c.h->init(c.st, NULL) == MM_OK,
		      "%s: init", hname);
	} else {
		CHECK((c.h = heap_fixture_heap_ops(hname)), "unknown heap %s", hname);
		CHECK(heap_machine_init(&m, &frame_buddy_ops, &va_bitmap_ops, c.h, 2,
					256ull << 20, 4ull << 30, 0) == 0,
		      "machine");
		c.st = m.heap_st;
	}
	w->run(&c, ops);
	uint64_t before = c.ops;
	struct machine_counts n0 = {0}, n1 = {0};
	uint64_t sp0 = slab_slow(&c), sp1;
	if (!peer)
		machine_counts(&m.mc, &n0);
	long f0 = minflt();
	cost_measure(w, &c, ops);
	long f1 = minflt();
	sp1 = slab_slow(&c);
	if (!peer)
		machine_counts(&m.mc, &n1);
	uint64_t counted = c.ops - before;
	if (!test)
		printf("cost %s %s ops %llu faults %ld maps %llu unmaps %llu slow %llu\n", w->name,
		       hname, (unsigned long long)counted, f1 - f0,
		       (unsigned long long)(n1.maps - n0.maps),
		       (unsigned long long)(n1.unmaps - n0.unmaps), (unsigned long long)(sp1 - sp0));
	free_all(&c);
	if (c.h == &heap_slab_ops) {
		for (int r = 0; r < 2; r++)
			for (unsigned cpu = 0; cpu < 2; cpu++)
				heap_slab_flush(c.st, cpu);
		struct heap_stats hs;
		c.h->stats(c.st, &hs);
		if (test) {
			CHECK(c.h->check(c.st), "%s: check after %s", hname, w->name);
			CHECK(hs.footprint <= 2 * SLAB_KEEP_BYTES(1),
			      "%s: %llu bytes held after freeing everything", w->name,
			      (unsigned long long)hs.footprint);
		}
		printf("  %-12s %-8s ops %llu, peak footprint %llu, after %llu\n", w->name, hname,
		       (unsigned long long)counted, (unsigned long long)hs.peak_footprint,
		       (unsigned long long)hs.footprint);
	}
	if (peer) {
		heap_peer_fini(c.st);
		free(c.st);
	} else {
		heap_machine_fini(&m);
	}
	return counted;
}

int main(int argc, char **argv)
{
	if (argc >= 3) {
		const struct wl *w = wl_find(argv[1]);
		CHECK(w, "unknown workload %s", argv[1]);
		uint64_t ops = argc > 3 ? strtoull(argv[3], NULL, 0) : 100000;
		run_one(w, argv[2], ops, false);
		return 0;
	}
	CHECK(argc == 1, "usage: heap_cost_test [WL HEAP [OPS]]");
	for (size_t i = 0; i < NWL; i++) {
		run_one(&wls[i], "slab", 20000, true);
		run_one(&wls[i], "null", 2000, true);
	}
	printf("heap_cost_test: ok\n");
	return 0;
}
