/* heap_null.h: the null heap (heap_null.c): every allocation on a CPU returns that
 * CPU's scratch memory (objects overlap; the replay only writes into them), nothing is
 * shared between CPUs. Not a strategy: the ceiling a replay's throughput and scaling
 * are read against (every engine runs it as heap "null"); no footprint. */
#ifndef WL_HEAP_NULL_H
#define WL_HEAP_NULL_H

#include "../../strategies/heap.h"

/* Upper bound of heap_null_ops.state_size, for callers that reserve state statically. */
#define HEAP_NULL_STATE_SIZE (HEAP_MAX_CPUS * 448u + 256u)

extern const struct heap_ops heap_null_ops;

#endif
