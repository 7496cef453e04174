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
 *   hermit_box      Hermit issue #1984 (hermit-os/kernel, "Poor multi-threaded
 *                   allocation performance"): T threads (default 128, see
 *                   gen_default_threads) each loop `Box::new([0u64; 8])`, dropped at
 *                   once: an iteration is calloc(64) then free of the thread's one id
 *                   (slots is always 1). Each thread gets k = nops / (2T) iterations;
 *                   when 2T does not divide nops the last round is partial (threads
 *                   0.. get one more op). Rust asks align 8; the trace's calloc carries
 *                   no alignment, so heaps give their minimum (8 or 16). Threads'
 *                   iterations interleave round-robin; peak live is 64 B.
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
	GEN_HERMIT_BOX,
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
/* Threads a tool should default to for k when --threads is not given: 128 for
 * hermit_box (Hermit #1984's case), 0 for the others (the tool's own default). */
unsigned gen_default_threads(enum gen_kind k);
/* Slots per thread the generator will use for p. */
uint32_t gen_slots(enum gen_kind k, const struct gen_params *p);
/* Scratch words gen_run needs (nthreads * slots). */
uint64_t gen_scratch_words(enum gen_kind k, const struct gen_params *p);

/* Writes p->nops ops into ops (capacity p->nops) and fills t (t->ops = ops). scratch:
 * gen_scratch_words() words. 0, or MM_EINVAL-like -22 on bad parameters. */
int gen_run(enum gen_kind k, const struct gen_params *p, struct trace_op *ops,
	    uint64_t *scratch, struct trace *t);

#endif
