/* heap_libc.h: the C library's malloc behind a heap_ops table, as the peer baseline
 * of the host engine (glibc here; jemalloc/mimalloc/tcmalloc when LD_PRELOADed).
 * Footprint = mallinfo2() arena + hblkhd (bytes glibc holds from the system, for the
 * whole process) minus what the process had in use at init (uordblks + hblkhd then;
 * its free space counts, as the heap may reuse it), read only in stats(): an
 * approximation, as other code's use may change. peak_footprint is the max over the
 * moments stats() was called (replay calls it at peak live and at the end), so it
 * is a lower bound of the true peak. */
#ifndef WL_HEAP_LIBC_H
#define WL_HEAP_LIBC_H

#include "../../strategies/heap.h"

struct heap_libc {
	uint64_t peak_footprint; /* max seen by stats() */
	uint64_t base;		 /* bytes in use at init (the process's own), subtracted */
};

extern const struct heap_ops heap_libc_ops;

#endif
