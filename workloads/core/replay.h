/* replay.h: replays a binary trace (trace_bin.h) against any heap_ops instance,
 * in the guest (one call per vCPU) and in the host engine (one call per pthread).
 *
 * Trace thread t runs on CPU t % ncpus. Two modes:
 *  - serial (replay_run_serial): one caller runs every op in trace order, passing
 *    cpu = thread % ncpus to the heap. Fully deterministic: live bytes are exact,
 *    J&W #3 is measured, and every engine gives the same deterministic metrics.
 *  - parallel (replay_run_cpu on each CPU): CPU c runs the ops of its threads in
 *    trace order; an op on object id waits until the previous op on that id (by
 *    any CPU) is done, so a free of another thread's object is a cross-CPU free.
 *    No deadlock: the earliest unfinished op never waits. Peak live is the trace's
 *    (header) value; footprint at peak live (J&W #3) is not measured.
 *
 * Memory: the caller supplies replay_mem_size() bytes (8-byte aligned); the replay
 * keeps no globals. Latency comes from a caller clock (rdtsc in the guest,
 * clock_gettime on the host) converted with ns = ticks * clock_num / clock_den.
 */
#ifndef WL_REPLAY_H
#define WL_REPLAY_H

#include "../../strategies/heap.h"
#include "lat_hist.h"
#include "trace_bin.h"

struct replay_cfg {
	const struct heap_ops *heap;
	void *heap_st;
	unsigned ncpus;		   /* 1..HEAP_MAX_CPUS */
	uint64_t (*clock)(void *ctx); /* NULL: no latency or elapsed time */
	void *clock_ctx;
	uint64_t clock_num, clock_den; /* ticks -> ns; 0/0 means 1/1 */
	bool check_each_op;	       /* heap->check() after every op (tests, MM_DEBUG) */
	void (*wait)(void);	       /* parallel mode: called every 256 spins while an op
					* waits for another CPU (host: sched_yield); NULL: spin */
};

/* One live object slot (per id). done counts ops finished on the id (parallel mode). */
struct replay_obj {
	void *p;
	uint64_t size;
	uint32_t done;
	uint8_t align_log2;
	uint8_t cpu;	/* CPU that allocated it */
	uint8_t failed; /* its alloc returned NULL: later ops on it are skipped */
	uint8_t pad;
};

struct replay_cpu {
	struct lat_hist lat;
	uint64_t ops, allocs, frees, reallocs, failed, cross_frees;
	int64_t live_delta, objs_delta; /* bytes/objects allocated minus freed by this CPU */
	uint64_t t_start, t_end;
};

struct replay {
	struct replay_cfg cfg;
	const struct trace *t;
	struct replay_obj *objs; /* nids */
	uint32_t *seq;		 /* nops: ordinal of op i among ops on its id; parallel only */
	uint32_t *idx;		 /* nops: op indices grouped by CPU; parallel only */
	uint64_t start[HEAP_MAX_CPUS + 1]; /* CPU c's ops: idx[start[c] .. start[c+1]) */
	struct replay_cpu *cpu;	 /* ncpus */
	bool serial;		 /* replay_run_serial was used */
	uint64_t live, peak_live; /* serial mode: exact */
	uint64_t fp_at_peak;
	bool fp_at_peak_valid;
	uint64_t live_at_first_failure, fp_at_first_failure;
	bool failed_once;
};

struct replay_result {
	uint64_t ops, allocs, frees, reallocs, failed, cross_cpu_frees;
	uint64_t peak_live;		       /* serial: measured; parallel: the header's */
	uint64_t live_end_objects, live_end_bytes; /* leaked by the trace: reported */
	uint64_t fp_at_peak;		       /* valid only if fp_at_peak_valid */
	bool fp_at_peak_valid;
	int64_t frag3_ppm, frag4_ppm;	       /* J&W #3, #4 in parts per million */
	uint64_t live_at_first_failure;	       /* serial: live when an alloc first failed */
	uint64_t fp_at_first_failure;	       /* and the footprint then: Talc's heap
						* efficiency = live / footprint; 0 if none */
	struct heap_stats heap;		       /* at the end, before leftovers are freed */
	bool timed;			       /* a clock was given */
	uint64_t elapsed_ns, ops_per_s;
	uint64_t lat_p50_ns, lat_p99_ns, lat_p999_ns, lat_max_ns, lat_mean_ns;
};

/* Bytes of caller memory replay_init needs for t with ncpus CPUs. */
uint64_t replay_mem_size(const struct trace *t, unsigned ncpus);
/* Sets up r over mem (replay_mem_size bytes, 8-aligned) and, when ncpus > 1, computes
 * the per-id op ordinals and per-CPU op lists (two passes). 0, or MM_EINVAL (bad cfg,
 * or more than 2^32 ops with ncpus > 1). t must be valid. */
int replay_init(struct replay *r, const struct replay_cfg *cfg, const struct trace *t,
		void *mem);
/* Runs every op in trace order on the caller (serial mode). */
void replay_run_serial(struct replay *r);
/* Runs CPU cpu's share (parallel mode); call once on each CPU 0..ncpus-1, concurrently. */
void replay_run_cpu(struct replay *r, unsigned cpu);
/* Fills res after the runs have finished (reads heap stats once). */
void replay_finish(struct replay *r, struct replay_result *res);
/* Frees the objects still live (after replay_finish), on CPU 0. */
void replay_release(struct replay *r);

#endif
