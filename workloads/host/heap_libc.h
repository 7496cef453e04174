/* heap_libc.h: the C library's malloc behind a heap_ops table, as the peer baseline
 * of the host engine (glibc here; jemalloc/mimalloc/tcmalloc when LD_PRELOADed).
 *
 * Footprint (approximate, whole process) = bytes the allocator holds from the system
 * now minus the bytes the process had in use at init (its free space counts, as the
 * replay may reuse it), from glibc's mallinfo2 or the peer's own counters; mimalloc
 * has none here, so its footprint is unknown (0, printed as null). Read only in
 * stats(), so peak_footprint is the max over the moments stats() ran (peak live and
 * the end): a lower bound of the true peak.
 */
#ifndef WL_HEAP_LIBC_H
#define WL_HEAP_LIBC_H

#include "../../strategies/heap.h"

struct heap_libc {
	uint64_t peak_footprint; /* max seen by stats() */
	uint64_t base;		 /* bytes in use at init (the process's own), subtracted */
	bool known;		 /* the allocator has counters */
};

extern const struct heap_ops heap_libc_ops;

#endif
