/* va_bench_run.h: va_bench's timed and counted runs (va_bench_run.c), below its
 * command line and rows (va_bench.c). */
#ifndef VA_BENCH_RUN_H
#define VA_BENCH_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../host/host_ctx.h"
#include "../host/va_host.h"

#define NVIRT	    VA_RUN_NALL
#define MAX_THREADS 64u
#define MAX_LIST    16u /* entries of --live / --threads */
#define VB_BLOCKS   3u	/* shared and split runs alternate in blocks of rounds */

struct bench {
	FILE *out;
	uint64_t seed, rounds, pairs;
	unsigned cpu;	     /* --callgrind: the CPU every operation names (its zone) */
	const char *build;   /* build id for the rows */
	struct host_ctx ctx; /* the machine, in every row */
	bool run[NVIRT];     /* --virt: which of va_run_strategies run */
	uint64_t live[MAX_LIST], threads[MAX_LIST];
	unsigned nlive, nthreads;
};

/* One configuration's figures. */
struct timing {
	double median, mean;
	uint64_t free_ranges; /* after the run */
	double hit_pct;	      /* btree: allocs served by the quantum caches, % (else -1) */
};

/* "va_bench: MSG[: WHAT]" on stderr, exit 1. */
_Noreturn void vb_die(const char *msg, const char *what);
/* A configuration (ops at threads and live ranges): its shared runs' median and mean ns
 * per pair, free ranges and cache hits; with threads > 1 also the split runs' median
 * into *split_ns (0 with one thread). Exits via vb_die on any failure. */
struct timing vb_run_config(const struct bench *b, const struct va_ops *ops, unsigned threads,
			    unsigned live, double *split_ns);
/* --callgrind: one thread on b->cpu, prefill, 2x live + pairs untimed, then b->pairs
 * pairs inside vb_callgrind_pairs; a line on stderr. */
void vb_callgrind_one(const struct bench *b, const struct va_ops *ops, unsigned live);

/* ---- va_bench_holes.c: the adversarial layout (every other page live) ---- */

/* One strategy's figures on the layout of --holes N (timed). */
struct holes_fig {
	double median, lo, hi;		  /* ns per pair over the rounds, with its 95% interval */
	double mean;			  /* total time / pairs */
	double ratio, ratio_lo, ratio_hi; /* per-round ns / the bitmap's: median, interval
					   * (-1: the bitmap itself, or it did not run) */
	uint64_t free_ranges, meta_bytes; /* once the layout is built */
	uint64_t free_ranges_end, meta_bytes_end; /* after the rounds */
};

/* --callgrind with --holes N: the layout of N holes, then b->pairs pairs inside
 * vb_callgrind_holes; a line on stderr. Exits via vb_die on any failure. */
void vb_holes_one(const struct bench *b, const struct va_ops *ops, uint64_t holes);
/* --holes N, timed: every strategy of b->run holds the layout at once; b->rounds
 * rounds (at most MEDIAN_CI_MAX_N) of b->pairs pairs each, the strategies in turn,
 * into fig[v] for each v that runs. Exits via vb_die on any failure. */
void vb_holes_timed(const struct bench *b, uint64_t holes, struct holes_fig fig[NVIRT]);

#endif
