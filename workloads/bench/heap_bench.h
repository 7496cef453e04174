/* heap_bench.h: what the parts of heap_bench share (heap_bench.c: options, rounds
 * and rows; heap_bench_heaps.c: the contenders and heap_efficiency; heap_bench_wl.c:
 * the timed workloads). The file header of heap_bench.c describes the benchmark.
 */
#ifndef HEAP_BENCH_H
#define HEAP_BENCH_H

#include "../host/heap_machine.h"

#define HB_MAX_THREADS 2
/* Trace threads of the generated larson and threadtest (scripts/run.sh generates them
 * with --threads = the CPU count, 2 here); their direct versions keep this many sets
 * at 1 thread too, as a 1-CPU replay of that trace does. */
#define HB_SETS 2
/* Talc's fixed heap: 0 = Hermit's size for the machine's free memory (machine.h). */
#define HB_FIXED_HEAP_BYTES 0
#define HB_VA_BYTES	    (64ull << 30) /* the Managed window (callgrind mode: 4 GiB) */

/* One allocator of the benchmark, always through a heap_ops table. Ours (talc, slab)
 * and the null heap on a fresh replay machine per timed run; a peer (glibc, jemalloc,
 * tcmalloc, mimalloc, snmalloc: workloads/host/heap_peer.h) on a fresh heap_peer
 * state, its process-wide state (arenas, caches, mapped memory) kept across runs. */
struct contender {
	const char *name;
	char version[96];
	const struct heap_ops *hops;
	bool ours;	       /* talc or slab */
	bool peer;	       /* glibc, jemalloc, tcmalloc, mimalloc, snmalloc */
	struct heap_machine m; /* ours and null, during a run */
	void *heap_st;	       /* during a run */
};

struct hb_layers {
	const struct frame_ops *fops; /* --phys */
	const struct va_ops *vops;    /* --virt */
	uint64_t phys_bytes;	      /* --mem */
	uint64_t va_bytes;	      /* HB_VA_BYTES */
};

/* Sets c up by name ("talc", "slab", "null", or a peer); false (a line on stderr) when
 * the peer's library is missing. The version names the layers for ours. */
bool contender_setup(struct contender *c, const char *name, const struct hb_layers *l);
static inline bool contender_is_peer(const struct contender *c)
{
	return c->peer;
}
/* A fresh instance for a run on ncpus threads; 0 or -1 (message printed).
 * contender_down releases it. */
int contender_up(struct contender *c, const struct hb_layers *l, unsigned ncpus);
void contender_down(struct contender *c);

static inline void *c_alloc(struct contender *c, unsigned cpu, size_t s, size_t a)
{
	return c->hops->alloc(c->heap_st, cpu, s, a);
}

static inline void c_free(struct contender *c, unsigned cpu, void *p, size_t s, size_t a)
{
	c->hops->free(c->heap_st, cpu, p, s, a);
}

static inline void *c_realloc(struct contender *c, unsigned cpu, void *p, size_t o, size_t a,
			      size_t n)
{
	return c->hops->realloc(c->heap_st, cpu, p, o, a, n);
}

/* splitmix64, as the generators (workloads/core/gen.c). */
static inline uint64_t hb_rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Talc's size and alignment generators: sizes biased small (4 .. max), alignment 8
 * with probability 3/4, 16 with 3/16, ... */
static inline size_t talc_size(uint64_t *s, size_t max)
{
	size_t cap = 16 + hb_rnd(s) % (max - 16);
	return 4 + hb_rnd(s) % (cap - 4);
}

static inline size_t talc_align(uint64_t *s)
{
	unsigned z = (unsigned)__builtin_ctz((unsigned)(hb_rnd(s) & 0xffff) | 0x10000);
	return (size_t)8 << (z / 2);
}

/* Talc's heap_efficiency for ours on heap_fixture over l's strategies (it needs the
 * fixture's frame budget): per trial live / arena in percent into pct[trials]; false if
 * a trial could not start. */
bool heap_efficiency(struct contender *c, const struct hb_layers *l, int trials, uint64_t seed,
		     double *pct);

/* ---- timed workloads (heap_bench_wl.c) -------------------------------------- */

enum hb_wl { WL_RANDOM, WL_LARSON, WL_XMALLOC, WL_THREADTEST, WL_HERMIT, WL_COUNT };
extern const char *const hb_wl_name[WL_COUNT];

struct hb_cell {
	enum hb_wl w;
	int param; /* random_actions: max size; larson, threadtest: slots; xmalloc: max size;
		    * hermit64: object size */
	unsigned threads;
};

struct hb_timing {
	double warm_s, dur_s; /* warm-up, then the timed window, in one run */
	uint64_t seed;	      /* the round's; threads derive theirs */
	uint64_t epoch_ops;   /* larson: ops of one epoch over all sets */
};

/* One run of cell k on c (already up): threads start together, run the workload for
 * warm_s untimed and dur_s timed, then everything left is freed. Returns ops/s in the
 * timed window (all threads), -1 if an allocation failed (or the harness's memory could
 * not be mapped), or HB_NOT_TIMED if no op fell into the timed window (every thread was
 * descheduled through it: a busy machine; worth another run). *standin: the share of
 * the threads' timed windows spent in hostmem's stand-ins for page-table edits (an
 * mmap with MAP_POPULATE per map, a PROT_NONE mmap per unmap; ours only, 0 for a peer). */
#define HB_NOT_TIMED (-2.0)
double hb_run(struct contender *c, const struct hb_cell *k, const struct hb_timing *t,
	      double *standin);
/* callgrind mode: ops alloc+free pairs of `size` bytes on CPU 0, in the non-inlined
 * function hb_callgrind_hermit64 (valgrind --toggle-collect=hb_callgrind_hermit64). */
void hb_callgrind_hermit64(struct contender *c, long pairs, size_t size);
/* Talc's random actions (sizes up to max) on a fresh c: ops untimed, then ops more
 * inside hb_callgrind_random (its toggle); returns the ops done inside, or -1 when
 * the harness's array cannot be mapped. Frees what is left. */
long hb_callgrind_random_run(struct contender *c, long ops, size_t max);

#endif
