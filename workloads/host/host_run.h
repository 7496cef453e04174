/* host_run.h: one replay in the host engine (host_run.c): the heap brought up (ours
 * on a fresh replay machine, a peer in this process), one pthread per CPU in
 * parallel mode, and the layers' state at the end.
 *
 * What the timings include (replay.h has the rule): latencies the heap call and the
 * replay's bookkeeping, wall time also touching the returned memory; for our heaps the
 * machine's page-table edits (real table code, as in a kernel) and the host's stand-in
 * that makes them usable (an mmap with MAP_POPULATE, reported apart as standin_ns and
 * excluded from lat_ex_*). Our machine's memory is prefaulted: no Linux page fault in an
 * op of ours. A peer's memory comes from Linux as in any process: the faults of its own
 * first writes stay in its latencies (minor_faults counts every fault of the replay).
 */
#ifndef WL_HOST_RUN_H
#define WL_HOST_RUN_H

#include "../core/machine.h"
#include "../core/replay.h"

struct host_run_cfg {
	const struct heap_ops *heap;
	const struct frame_ops *fops; /* NULL: heap is a peer (heap_peer.h) */
	const struct va_ops *vops;
	unsigned ncpus;
	bool parallel;
	uint64_t mem_bytes;	   /* the machine's memory (ours) */
	uint64_t fixed_heap_bytes; /* 0: Hermit's */
	unsigned lat_every;	   /* replay_cfg.lat_every */
};

struct host_run_out {
	struct replay_result res;
	uint64_t minor_faults; /* Linux page faults of the process during the replay */
	bool machine; /* ours: the fields below hold */
	struct frame_stats fs;
	struct va_stats vs;
	struct machine_counts mc;
};

/* Runs t under c into out. 0, or -1 with a one-line message in err (heap or machine
 * setup failed, out of memory, thread creation failed). */
int host_run(const struct host_run_cfg *c, const struct trace *t, struct host_run_out *out,
	     char *err, size_t cap);

/* One line (no newline) into buf describing the failed allocations of out: how many,
 * the first failed op (trace index, size), live and footprint then, or in parallel mode
 * why those and frag4 are null; empty when nothing failed. Truncated to cap. */
void host_run_failure_line(const struct host_run_out *out, char *buf, size_t cap);

#endif
