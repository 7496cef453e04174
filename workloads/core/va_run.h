/* va_run.h: the address-space trace replay core: a binary trace (trace_bin.h, e.g. a
 * .vmt converted by workloads/host/vmt.h) replayed on one VA allocator instance, and
 * its kind=va_frag result row. Freestanding: the host's build/bin/va_replay and the
 * guest's `vareplay` command both run this code, so on the same trace, strategy and
 * window every deterministic field of their rows is equal (scripts/crosscheck.py).
 *
 * Ops run serially in trace order on CPU 0; an allocation is alloc(size, 4 KiB, or
 * the op's alignment for TOP_MEMALIGN) and its release free(addr, size); a realloc is
 * a release then an allocation. "Requested" bytes are the trace's sizes, "reserved"
 * the allocator's after its own rounding. The peak snapshot is taken the first time
 * live requested bytes reach the trace's peak_live (never when an allocation failed
 * before: the peak_* fields are then null); the end snapshot before the leftovers
 * are released. After the release the strategy must be back to 0 reserved bytes.
 * Timing: the caller's clock around the ops only (snapshots excluded).
 * Invariant of the scratch (one va_run_live per trace id): size != 0 exactly for
 * the ids whose range is held now, and req/live sum over those.
 */
#ifndef WL_VA_RUN_H
#define WL_VA_RUN_H

#include "../../strategies/va.h"
#include "json_row.h"
#include "trace_bin.h"

/* The default window: 64 TiB at 64 TiB (canonical lower half, 2^46 aligned). */
#define VA_RUN_BASE (1ull << 46)
#define VA_RUN_SIZE (1ull << 46)

/* The VA strategies the tools run, in report order: the first VA_RUN_NMAIN (bitmap,
 * btree, btree-bare, freelist) are "all"; after them bitmap-64k and the best-fit trees
 * (btree-best, btree-bare-best). */
#define VA_RUN_NMAIN 4
#define VA_RUN_NALL  7
extern const struct va_ops *const va_run_strategies[VA_RUN_NALL];
/* Index in va_run_strategies of the strategy called name, or -1. */
int va_run_find(const char *name);

struct va_run_snapshot {
	bool valid;
	uint64_t requested, live;
	struct va_stats s;
};

struct va_run_result {
	uint64_t ops, allocs, frees, failed, elapsed_ns;
	struct va_run_snapshot peak, end;
	struct va_stats released;
	bool has_qcache;	     /* a tree with quantum caches: the two counts below */
	uint64_t qc_hits, qc_misses; /* allocs served / missed by the caches */
};

struct va_run_cfg {
	const struct va_ops *ops;
	void *st;		       /* an initialized instance of ops */
	uint64_t (*clock)(void *ctx);  /* NULL: elapsed_ns is 0 */
	uint64_t clock_num, clock_den; /* ticks -> ns; 0/0 means 1/1 */
	void *ctx;		       /* for clock, check and mutated */
	/* Checked mode: check(ctx, i, nops) after every check_every-th op i and after the
	 * last (0: never); once more with i == nops after the release. A false return
	 * stops the replay (va_run returns -2). */
	uint64_t check_every;
	bool (*check)(void *ctx, uint64_t i, uint64_t nops);
	/* Negative control of the checked mode: mutate_at = I + 1 frees the first range
	 * held at or after op I a second time (mutated(ctx, i) is told first); 0: never. */
	uint64_t mutate_at;
	void (*mutated)(void *ctx, uint64_t i);
};

/* Bytes of the scratch va_run needs for t (8-byte aligned memory). */
uint64_t va_run_scratch_size(const struct trace *t);

/* Replays t (validated) as the header says, then releases what is left. 0; -1 when
 * reserved bytes remain after the release (r->released.reserved_bytes); -2 when a
 * check returned false. */
int va_run(const struct va_run_cfg *c, const struct trace *t, void *scratch,
	   struct va_run_result *r);

/* The row's metric fields after json_prov (p->kind "va_frag", combo and virt the
 * strategy): workload ("vmt" or "mix"), op counts, the window, the peak and end
 * snapshots, released_free_ranges and, for the cached trees, qcache_hit_rate. */
void va_run_row_metrics(struct json_buf *j, const char *workload, const struct va_run_result *r);
/* The row's last fields: check_every (when checked), elapsed_ns, ns_per_op. */
void va_run_row_tail(struct json_buf *j, uint64_t check_every, const struct va_run_result *r);

#endif
