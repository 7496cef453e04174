/* gen.h: seeded synthetic workload generators producing binary-format ops, so
 * every engine (host, VMM guest, QEMU) replays exactly the same sequence.
 *
 *   random_actions  Talc's benchmark: random alloc / free / realloc over a slot set,
 *                   sizes uniform, 1/8 of allocations aligned (8..4096)
 *   larson          Larson & Krishnan: each thread replaces random objects of its set;
 *                   every epoch the sets move to the next thread (cross-thread frees)
 *   xmalloc         producer/consumer pairs: thread 2k allocates batches that thread
 *                   2k+1 frees (all frees remote)
 *   threadtest      each thread allocates `slots` objects then frees them, in rounds
 *   alloc_test      random alloc/free with Pareto (alpha = 1) sizes, heavy tail
 *   va_churn        mmap-like: page-multiple sizes 4 KiB..4 MiB (log-uniform), page
 *                   aligned, random lifetimes
 *   hermit64        N threads x 64-byte objects: each thread allocates `slots`
 *                   objects of 64 B, then frees them all
 *
 * Threads' ops are interleaved round-robin in trace order. Object ids are
 * thread_set * slots + slot, so nids = nthreads * slots. Freestanding, no FP.
 */
#ifndef WL_GEN_H
#define WL_GEN_H

#include "trace_bin.h"

enum gen_kind {
	GEN_RANDOM_ACTIONS,
	GEN_LARSON,
	GEN_XMALLOC,
	GEN_THREADTEST,
	GEN_ALLOC_TEST,
	GEN_VA_CHURN,
	GEN_HERMIT64,
	GEN_COUNT
};

struct gen_params {
	uint64_t seed;
	unsigned nthreads;	      /* >= 1 */
	uint64_t nops;		      /* ops to produce (the output holds exactly nops) */
	uint32_t slots;		      /* objects per thread; 0: the generator's default */
	uint64_t min_size, max_size; /* 0: the generator's default */
};

/* Name ("larson") <-> kind; GEN_COUNT if unknown. */
enum gen_kind gen_kind_from_name(const char *name);
const char *gen_kind_name(enum gen_kind k);
/* Slots per thread the generator will use for p. */
uint32_t gen_slots(enum gen_kind k, const struct gen_params *p);
/* Scratch words gen_run needs (nthreads * slots). */
uint64_t gen_scratch_words(enum gen_kind k, const struct gen_params *p);

/* Writes p->nops ops into ops (capacity p->nops) and fills t (t->ops = ops). scratch:
 * gen_scratch_words() words. 0, or MM_EINVAL-like -22 on bad parameters. */
int gen_run(enum gen_kind k, const struct gen_params *p, struct trace_op *ops,
	    uint64_t *scratch, struct trace *t);

#endif
