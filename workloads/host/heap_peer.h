/* heap_peer.h: the peer allocators (glibc, jemalloc, tcmalloc, mimalloc from
 * Debian; snmalloc, which Debian lacks, from the shared library named by
 * $MTB_SNMALLOC_LIB, built outside the project) as heap_ops, so the host engine and
 * the benchmarks measure them exactly as they measure our heaps (heap_peer.c).
 *
 * The peers other than glibc are loaded with dlopen(RTLD_LOCAL) and called through
 * their own API (mallocx/sdallocx/rallocx, tc_*, mi_*; snmalloc's shim exports the
 * libc names, looked up on its handle: malloc, aligned_alloc, free_sized, realloc), so
 * none of them replaces malloc: the harness (trace loader, tables) keeps using glibc,
 * and a peer's heap holds only what the workload allocated.
 *
 * Footprint, the same definition as for our heaps: bytes of memory the heap holds
 * from the system, here resident bytes. init samples the process's resident set
 * (/proc/self/smaps_rollup: exact) as the baseline, trims glibc (malloc_trim: its free memory is
 * given back, so the harness's freed memory is not silently reused) and resets the
 * kernel's peak-RSS mark (/proc/self/clear_refs "5"); stats() gives
 *   footprint      = resident now - baseline,
 *   peak_footprint = the larger of VmHWM (/proc/self/status) - baseline, which the
 *                    kernel tracks in parallel replays too (up to its per-CPU counter
 *                    lag), and every footprint stats() returned, So a caller must have touched
 * every page of its own (trace, tables, thread stacks) before init and allocate
 * nothing during the run. Unknown (no /proc) gives 0, which rows print as null.
 */
#ifndef WL_HEAP_PEER_H
#define WL_HEAP_PEER_H

#include "../../strategies/heap.h"

struct heap_peer {
	const struct peer_api *api;
	int rss_fd, status_fd; /* smaps_rollup, status */
	uint64_t base; /* resident bytes at init */
	bool hwm_ok;   /* clear_refs worked: VmHWM is the run's peak */
	uint64_t peak; /* highest footprint seen by stats (atomic), without VmHWM */
};

extern const struct heap_ops heap_glibc_ops, heap_jemalloc_ops, heap_tcmalloc_ops,
    heap_mimalloc_ops, heap_snmalloc_ops;

/* The peer named name ("glibc", "jemalloc", "tcmalloc", "mimalloc", "snmalloc"), or
 * NULL. */
const struct heap_ops *heap_peer_find(const char *name);
/* The name of peer i (0, 1, ... in the order above), NULL past the last. */
const char *heap_peer_name(unsigned i);
/* Loads the peer's library now (init does it too); false with a one-line reason in
 * why when it is not installed (snmalloc: $MTB_SNMALLOC_LIB unset, or the file
 * cannot be opened: the reason names it) or lacks a symbol. */
bool heap_peer_load(const struct heap_ops *ops, char *why, size_t cap);
/* The peer's version ("jemalloc 5.3.0-0-g54eaed1d8b56..."; snmalloc, which has no
 * version call: its library's file name), after a load. */
const char *heap_peer_version(const struct heap_ops *ops);
/* Re-executes the program once (argv; MTB_REEXECED marks the second run) so that every
 * heap, ours and the peers', is measured in the same conditions:
 *  - glibc's static TLS surplus raised (GLIBC_TUNABLES): jemalloc uses initial-exec
 *    TLS, which dlopen can only place there, too small once the program has TLS of
 *    its own (a loader setting; it changes no allocator);
 *  - address-space randomisation off (personality ADDR_NO_RANDOMIZE): a peer's layout,
 *    and with it its resident footprint, then repeats from run to run (seen: glibc and
 *    jemalloc exact; mimalloc's peak footprint still moves by about 0.5% now and then,
 *    from its time-based decommit).
 * Call it first in main, before any thread exists. */
void heap_peer_reexec(const char *prog, char **argv);
/* Closes what init opened (heap_ops has no fini); st stays unusable. */
void heap_peer_fini(void *st);
/* Resident bytes of this process now (smaps_rollup), or 0 if unknown. */
uint64_t heap_peer_rss(void);

#endif
