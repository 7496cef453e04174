/* va_strategies.h: the one table of VA strategies every VA test runs
 * (strategies/tests/va_strategies.c), and instance setup for them.
 *
 * Adding a strategy to the shared suite (va_test, va_mt_test) is one line in
 * va_strategies.c. What the suite assumes of every strategy (va.h):
 *   alloc(size) holds [addr, addr + H) where H = round(size) below, and
 *   reserved_bytes grows by exactly H; ENOMEM only when no fitting free block
 *   exists (first fit over exact runs, or for pow2 strategies no free block of
 *   max(H, align) bytes aligned to its size); free_ranges == maximal free runs;
 *   largest_free == the largest free run (exact strategies) or the largest
 *   aligned power-of-two block inside one (pow2), capped at max_block;
 *   free of a range that is free panics, with a message containing
 *   "never allocated" in MM_DEBUG builds.
 */
#ifndef VA_STRATEGIES_H
#define VA_STRATEGIES_H

#include <pthread.h>

#include "testlib.h"

#include "../va.h"
#include "../../workloads/host/va_host.h"

struct va_strategy {
	const struct va_ops *ops;
	uint64_t granule;   /* bytes; base, size and every range are multiples of it */
	bool pow2;	    /* buddy: sizes round up to 2^k granules, blocks aligned to their size */
	uint64_t max_block; /* largest allocation in bytes; 0 means no limit but the range */
};

extern const struct va_strategy va_strategies[];
extern const unsigned va_nstrategies;

/* Bytes a request of `size` holds under s (size > 0). */
uint64_t va_strategy_round(const struct va_strategy *s, uint64_t size);

/* An instance of s on malloc'd state, metadata and page_source frames (the host
 * tools' va_host: zeroed 4 KiB frames, pa == pointer, thread-safe, all freed by
 * va_inst_fini). */
struct va_inst {
	const struct va_strategy *s;
	const struct va_ops *ops;
	void *st; /* == vh.st */
	uint64_t base, size;
	struct va_host vh;
};

/* Initialises s over [base, base+size) (multiples of s->granule); exits on failure. */
void va_inst_init(struct va_inst *vi, const struct va_strategy *s, uint64_t base,
		  uint64_t size);
void va_inst_fini(struct va_inst *vi);

#endif
