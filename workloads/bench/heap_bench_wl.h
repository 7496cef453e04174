/* heap_bench_wl.h: what heap_bench's workload files share (heap_bench_wl.c: the run
 * and random_actions, xmalloc, threadtest, hermit64; heap_bench_larson.c: larson).
 * Internal to heap_bench; the benchmark's contract is heap_bench.h.
 */
#ifndef HEAP_BENCH_WL_H
#define HEAP_BENCH_WL_H

#include <pthread.h>

#include "heap_bench.h"

#define XQ	  16 /* xmalloc: batches a queue holds */
#define GEN_ALIGN 1  /* what the replay passes for a plain alloc */

struct obj {
	void *p;
	size_t size, align;
};

struct xbatch {
	void *p[64];
	size_t s[64];
};
struct xqueue {
	pthread_mutex_t lock;
	unsigned head, tail;
	struct xbatch q[XQ];
};

/* larson: one set's hand-off state (heap_bench_larson.c). Each prog word is written
 * by one epoch's owner as it goes and read by the next owner: a line of its own. */
#define LS_GENS 3
struct ls_word {
	_Alignas(64) uint64_t v;
};
struct larson_set {
	struct ls_word prog[LS_GENS]; /* epoch e: e * S + its steps done (atomic) */
	struct ls_word drawn;	      /* epochs whose need[] is published (atomic) */
	uint64_t *need[LS_GENS];      /* per slot, epoch e in need[e % LS_GENS] */
};

/* What the threads of one run share. */
struct hb_shared {
	struct contender *c;
	const struct hb_cell *k;
	const struct hb_timing *tm;
	double warm_end, end;
	int stop, failed;		  /* atomic */
	struct obj *sets;		  /* larson, threadtest: HB_SETS * param slots */
	size_t sets_len;		  /* bytes mapped for sets and larson's need arrays */
	struct larson_set ls[HB_SETS];	  /* larson */
	struct xqueue xq[HB_MAX_THREADS]; /* xmalloc */
	pthread_barrier_t bar;
};

/* One thread's state. Written on every op (ops, seed): each job has its own cache
 * lines, or the two threads' counters would share one and every op would move it. */
struct job {
	_Alignas(64) struct hb_shared *sh;
	unsigned cpu;
	uint64_t seed;
	uint64_t ops, ops_w, ops_e; /* all ops; at the warm-up mark; at the end mark */
	double t_w, t_e;
	uint64_t sd_w, sd_e; /* the thread's stand-in ns (hostmem_standin_ns) at the marks */
	bool warm_done, done;
	char pad[64];
};

/* ---- heap_bench_job.c ---- */
/* CLOCK_MONOTONIC in seconds. */
double hb_now_s(void);
/* Anonymous memory for the harness's own arrays (never from an allocator under
 * test); NULL if mmap fails. */
void *hb_harness_map(size_t len);
/* Takes the marks; false once the run is over for this thread (then stays false). */
bool hb_go_on(struct job *j);
/* An allocation returned NULL: the run ends and reports failure; returns false. */
bool hb_fail(struct job *j);
/* larson on j's logical threads until the run ends (heap_bench_larson.c). */
void hb_larson(struct job *j);
/* Bytes of harness memory larson needs beyond the sets: the need arrays. */
size_t hb_larson_extra(unsigned slots);
/* Points sh->ls[].need into mem (hb_larson_extra(slots) bytes, zeroed). */
void hb_larson_setup(struct hb_shared *sh, void *mem, unsigned slots);

/* ops steps of random_actions on j's contender (callgrind's toggle function). */
void hb_callgrind_random(struct job *j, struct obj *v, size_t *n, size_t max, long ops);

/* Writes the first and last byte of a new object, as a program would. */
static inline void hb_touch(void *p, size_t n)
{
	if (n) {
		((volatile char *)p)[0] = 1;
		((volatile char *)p)[n - 1] = 1;
	}
}

#endif
