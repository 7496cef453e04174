/* heap_null.h: the null heap (heap_null.c): per-CPU size-class free lists and bump
 * chunks, nothing shared between CPUs. Not a strategy: the ceiling a replay's
 * throughput and scaling are read against (every engine runs it as heap "null"). */
#ifndef WL_HEAP_NULL_H
#define WL_HEAP_NULL_H

#include "../../strategies/heap.h"

/* Upper bound of heap_null_ops.state_size, for callers that reserve state statically. */
#define HEAP_NULL_STATE_SIZE (HEAP_MAX_CPUS * 448u + 256u)

extern const struct heap_ops heap_null_ops;

#endif
