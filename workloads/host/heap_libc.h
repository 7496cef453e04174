/* heap_libc.h: the C library's malloc behind a heap_ops table, as the peer baseline
 * of the host engine (glibc here; jemalloc/mimalloc/tcmalloc when LD_PRELOADed).
 *
 * Footprint (approximate, whole process) = bytes the allocator holds from the system
 * (glibc: mallinfo2 arena + hblkhd; jemalloc, tcmalloc, mimalloc: their own counter)
 * minus a base taken at init: glibc's bytes in use then (its free space counts, as
 * the replay may reuse it); for a peer, all it held then. Read only in stats(), so
 * peak_footprint is the max over the moments stats() ran (peak live and the end): a
 * lower bound of the true peak. Other code's use in the process blurs it further;
 * a footprint of 0 with live bytes is reported as unknown (null) in rows.
 */
#ifndef WL_HEAP_LIBC_H
#define WL_HEAP_LIBC_H

#include "../../strategies/heap.h"

struct heap_libc {
	uint64_t peak_footprint; /* max seen by stats() */
	uint64_t base;		 /* bytes in use at init (the process's own), subtracted */
};

extern const struct heap_ops heap_libc_ops;

#endif
