/* replay.h: replays a binary trace (trace_bin.h) against any heap_ops instance,
 * in the guest (one call per vCPU) and in the host engine (one call per pthread).
 *
 * Trace thread t runs on CPU t % ncpus (T threads on C CPUs for any T and C: with
 * T > C several threads share a CPU, their ops interleaved in trace order; with
 * T < C the CPUs above T - 1 stay idle). Two modes:
 *  - serial (replay_run_serial): one caller runs every op in trace order, passing
 *    cpu = thread % ncpus to the heap. Fully deterministic: live bytes are exact,
 *    J&W #3 is measured, and every engine gives the same deterministic metrics.
 *  - parallel (cfg.parallel, then replay_run_cpu on each CPU): CPU c runs the ops of
 *    its threads in trace order. Ordering between CPUs exists only where the trace
 *    needs it: an object (one allocation's lifetime: alloc .. reallocs .. free) whose
 *    ops all run on one CPU lives in that CPU's private slots and is never waited
 *    for; an op whose previous op on the same object ran on another CPU waits for
 *    it (acquire), and that previous op publishes its completion (release). Such
 *    shared objects live in their allocating CPU's shared slots, packed in
 *    allocation order (a consumer that lags reads whole lines its producer wrote),
 *    and a free writes nothing into a shared slot. Every CPU's counters, histograms
 *    and slot arrays are cache-line aligned, so the harness writes no line another
 *    CPU writes, and on a private object's op touches no line another CPU reads: its
 *    own cost does not grow with the CPU count (the null heap, heap_null.h, measures
 *    what is left). No deadlock: the earliest unfinished op never waits. On more than
 *    one CPU the live set at a moment follows the CPUs' relative progress, not the
 *    trace's order (a producer may run far ahead of its consumer), so neither J&W #3
 *    nor #4 is measured (the peak footprint is; peak_live is the trace's value).
 *
 * What a latency includes: the heap call and the harness's bookkeeping around it, for
 * a random sample of the ops (cfg.lat_every; every op by default). The
 * returned memory is touched right after (first and last byte and one byte per 4 KiB
 * page, as a program uses what it allocates; calloc: zeroed), outside the latency and
 * inside the wall time (elapsed_ns, ops_per_s): a first-touch page fault (host engine,
 * peers) is Linux's cost, not the allocator's. An engine
 * whose page-table edits are stand-ins (the host engine's mmap calls) reports their
 * time through cfg.standin; latencies are then given with and without it.
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

#define REPLAY_LINE 64u /* cache line: the unit of separation between CPUs */

struct replay_cfg {
	const struct heap_ops *heap;
	void *heap_st;
	unsigned ncpus;		      /* 1..HEAP_MAX_CPUS */
	bool parallel;		      /* build the per-CPU plan for replay_run_cpu */
	uint64_t (*clock)(void *ctx); /* NULL: no latency or elapsed time */
	void *clock_ctx;
	uint64_t clock_num, clock_den; /* ticks -> ns; 0/0 means 1/1 */
	bool check_each_op;	       /* heap->check() after every op (tests, MM_DEBUG) */
	void (*wait)(void);	       /* parallel mode: called on every poll after the 16th
					* while an op waits for another CPU (host:
					* sched_yield); NULL: spin */
	/* Clock ticks the calling CPU (cpu) has spent so far in the engine's stand-ins for
	 * page-table edits; NULL when there are none (the guest's edits are real work). */
	uint64_t (*standin)(void *ctx, unsigned cpu);
	void *standin_ctx;
	/* Latency sampling: one op in lat_every, drawn at random per op (a power of two;
	 * 0 or 1: every op). Two clock reads cost about 50 ns on the host (kvm-clock),
	 * more than many heap calls: timing every op makes the throughput the clock's. */
	unsigned lat_every;
};

/* One object's slot: serial mode one per id, parallel mode one per allocation. */
struct replay_obj {
	void *p;
	uint64_t size;
	uint8_t align_log2;
	uint8_t cpu;	   /* CPU that allocated (or last reallocated) it */
	uint8_t failed;	   /* its alloc returned NULL: later ops on it are skipped */
	uint8_t ends_live; /* parallel: the trace leaves it allocated (replay_release; set
			    * by the plan) */
};

/* One op of a CPU's parallel stream (the trace op plus where its object lives). */
struct replay_step {
	uint64_t size;
	uint32_t slot;		   /* index into the owner's private slots, or its shared ones */
	uint32_t after;		   /* RSTEP_WAIT: ops CPU `from` must have published (its previous
				    * op on the object is its after-th, counting from 1) */
	uint8_t op : 4, flags : 4; /* enum trace_opcode, RSTEP_* */
	uint8_t align_log2;
	uint8_t owner;	/* CPU that allocated the object (whose slot array holds it) */
	uint8_t from;	/* RSTEP_WAIT: the CPU that ran the object's previous op */
	uint32_t index; /* the op's index in the trace (failure reports) */
};
_Static_assert(sizeof(struct replay_step) == 24, "replay_step: 24 bytes a step");

#define RSTEP_SHARED 1u /* the object lives in a shared slot */
#define RSTEP_WAIT   2u /* wait until CPU from has published `after` ops */
#define RSTEP_LEAKED 4u /* on an alloc: the trace never frees this object */
/* A CPU publishes how many ops it has done every REPLAY_PUBLISH_EVERY ops, before it
 * waits and at its end: a waiter never reads a slot line its writer is still filling. */
#define REPLAY_PUBLISH_EVERY 512u
_Static_assert((REPLAY_PUBLISH_EVERY & (REPLAY_PUBLISH_EVERY - 1)) == 0,
	       "REPLAY_PUBLISH_EVERY: a power of two (replay.c masks ops with it - 1)");

/* Everything one CPU writes during a replay; starts and ends on a line boundary. */
struct replay_cpu {
	_Alignas(REPLAY_LINE) uint64_t ops;
	uint64_t allocs, frees, reallocs, failed, cross_frees;
	int64_t live_delta, objs_delta; /* bytes/objects allocated minus freed by this CPU */
	uint64_t t_start, t_end;
	uint64_t standin;	/* ticks spent in the engine's stand-ins during the replay */
	uint64_t waited;	/* ticks spent waiting for other CPUs' ops (parallel, clock) */
	uint64_t fail_op1, fail_size; /* this CPU's first failed op: trace index + 1 (0: none),
				       * and the size it asked for */
	uint64_t lat_rng;	/* xorshift state of the latency sampling */
	uint64_t lat_left;	/* ops until the next timed one (1: the next) */
	struct lat_hist lat;	/* per op, everything */
	struct lat_hist lat_ex; /* per op, minus the stand-ins (only with cfg.standin) */
	/* The one line other CPUs read: ops this CPU has done and published (release). */
	_Alignas(REPLAY_LINE) uint64_t published;
};

struct replay {
	struct replay_cfg cfg;
	const struct trace *t;
	struct replay_obj *objs;   /* serial: nids slots */
	struct replay_step *steps; /* parallel: CPU c's are steps[start[c] .. start[c+1]) */
	uint64_t start[HEAP_MAX_CPUS + 1];
	struct replay_obj *priv[HEAP_MAX_CPUS];	  /* parallel: CPU c's private slots */
	struct replay_obj *shared[HEAP_MAX_CPUS]; /* and those other CPUs touch too */
	uint64_t npriv[HEAP_MAX_CPUS], nshared[HEAP_MAX_CPUS];
	uint64_t shared_total, nobjects; /* parallel: shared objects among all */
	uint64_t critical_ops; /* parallel: the plan's unit-cost makespan (replay_plan.c) */
	struct replay_cpu *cpu;		 /* ncpus, line aligned */
	unsigned lat_k;			 /* log2(cfg.lat_every): random bits per op */
	uint64_t lat_lo;		 /* bit 0 of each lat_k-bit group of a draw */
	bool serial;			 /* replay_run_serial was used */
	uint64_t live, peak_live;	 /* serial mode: exact */
	uint64_t fp_at_peak;
	bool fp_at_peak_valid;
	uint64_t live_at_first_failure, fp_at_first_failure;
	bool failed_once;
};

struct replay_result {
	uint64_t ops, allocs, frees, reallocs, failed, cross_cpu_frees;
	uint64_t peak_live;			   /* serial: measured; parallel: the header's */
	uint64_t live_end_objects, live_end_bytes; /* leaked by the trace: reported */
	uint64_t fp_at_peak;			   /* valid only if fp_at_peak_valid */
	bool fp_at_peak_valid;
	int64_t frag3_ppm, frag4_ppm;	/* J&W #3, #4 in parts per million */
	bool frag4_valid;		/* peak footprint known (heap_stats) */
	bool live_ordered;		/* the live set followed the trace's order (serial,
					 * or parallel on 1 CPU): frag4 means J&W #4 */
	uint64_t live_at_first_failure; /* serial: live when an alloc first failed */
	uint64_t fp_at_first_failure;	/* and the footprint then: Talc's heap
					 * efficiency = live / footprint; 0 if none */
	/* failed > 0: the trace index of the earliest op that failed and the size it asked
	 * for. Serial: the first failure. Parallel: which ops fail depends on timing; this
	 * is the earliest in trace order among those that did. */
	uint64_t first_failure_op, first_failure_size;
	/* Parallel mode with failed > 0: live and footprint at the first failure are not
	 * measured (the other CPUs run on; the two *_at_first_failure fields are 0) and
	 * peak_live, the trace's, was never reached, so frag4 is not valid either. */
	bool failure_unmeasured;
	uint64_t objects;		/* allocations (objects) in the trace */
	bool parallel;			/* parallel mode: shared_objects holds */
	uint64_t shared_objects;	/* objects that needed cross-CPU ordering */
	uint64_t busiest_cpu_ops;	/* parallel: ops of the CPU with the most (ops /
					 * this bounds any heap's speedup) */
	uint64_t critical_path_ops;	/* parallel: the shortest schedule, in ops, when
					 * every op costs the same and each waits as the
					 * replay's do (>= busiest_cpu_ops; ops / this bounds
					 * any heap's speedup, the trace's order included) */
	struct heap_stats heap;		/* at the end, before leftovers are freed */
	bool timed;			/* a clock was given */
	unsigned lat_every;		/* latencies are over one op in this many, at random */
	bool standin_known;		/* cfg.standin was given: the _ex fields hold */
	uint64_t elapsed_ns, ops_per_s;
	uint64_t lat_p50_ns, lat_p99_ns, lat_p999_ns, lat_max_ns, lat_mean_ns;
	uint64_t standin_ns; /* summed over CPUs */
	uint64_t wait_ns;    /* parallel: time CPUs spent waiting for other CPUs' ops, summed */
	/* parallel: each CPU's own work, its replay time minus its waits: the most any CPU
	 * did and the sum over CPUs (busy_sum_ns / busy_max_ns below the CPU count: the
	 * CPUs' work was uneven, op costs included, which bounds the speedup as the op
	 * counts of busiest_cpu_ops do) */
	uint64_t busy_max_ns, busy_sum_ns;
	uint64_t lat_ex_p50_ns, lat_ex_p99_ns, lat_ex_p999_ns, lat_ex_max_ns, lat_ex_mean_ns;
};

/* Bytes of caller memory replay_init needs for t under cfg (ncpus, parallel). */
uint64_t replay_mem_size(const struct trace *t, const struct replay_cfg *cfg);
/* Sets up r over mem (replay_mem_size bytes, 8-aligned); for cfg->parallel computes
 * the per-CPU streams and object slots (replay_plan.c). 0, or MM_EINVAL (bad cfg,
 * more than 2^32 ops in parallel mode, or an op on an id that is not live). t must
 * be valid. */
int replay_init(struct replay *r, const struct replay_cfg *cfg, const struct trace *t, void *mem);
/* Runs every op in trace order on the caller (serial mode). */
void replay_run_serial(struct replay *r);
/* Runs CPU cpu's share (parallel mode); call once on each CPU 0..ncpus-1, concurrently. */
void replay_run_cpu(struct replay *r, unsigned cpu);
/* Fills res after the runs have finished (reads heap stats once). */
void replay_finish(struct replay *r, struct replay_result *res);
/* Frees the objects still live (after replay_finish), on CPU 0. */
void replay_release(struct replay *r);

/* ---- replay_plan.c: the parallel plan (used by replay_init) ---- */
/* Bytes replay_plan needs for t on ncpus CPUs (worst case: every object shared). */
uint64_t replay_plan_size(const struct trace *t, unsigned ncpus);
/* Builds r->steps, r->start, r->priv, r->shared, their counts over mem (replay_plan_size bytes,
 * REPLAY_LINE aligned). 0, or MM_EINVAL (an op on an id that is not live). */
int replay_plan(struct replay *r, uint8_t *mem);

#endif
