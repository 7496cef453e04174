/* replay.c: trace replay against a heap_ops instance (contract in replay.h).
 *
 * Invariants, serial mode, after every op:
 *   live == sum over live, non-failed ids of objs[id].size,  peak_live == max(live),
 *   fp_at_peak == heap footprint right after live first reached the trace's peak_live.
 * Parallel mode (plan: replay_plan.c), per CPU c: published(c) <= ops(c), both
 * monotonic, and the slots written by c's first published(c) ops are visible to
 * whoever read published(c) (release/acquire). A step with RSTEP_WAIT runs only once
 * published(from) >= after, so each op sees the previous op's pointer and size. A CPU
 * publishes every REPLAY_PUBLISH_EVERY ops (not per op: a waiter then reads only slot
 * lines their writer has left, instead of trailing it line by line), before it waits
 * (so the CPU with the earliest blocked op in trace order always runs: no deadlock)
 * and at its end. Private objects are touched by one CPU only and need none of this.
 * Metrics follow DESIGN.md: J&W #3 = fp_at_peak / peak_live - 1, #4 = peak footprint /
 * peak_live - 1 (Johnstone & Wilson, ISMM 1998), kept in integer ppm (no FP in the guest).
 * Failures: every CPU keeps its first failed op (trace index, size) on its own line;
 * serial mode also takes live and footprint at the first failure. A parallel replay
 * with failures has no such snapshot, and its peak_live (the trace's) was never
 * reached: failure_unmeasured, frag4 invalid (a footprint below the trace's peak live
 * would read as negative fragmentation).
 */
#include "replay.h"

#include "../../strategies/sync.h"

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static uint64_t cpus_size(unsigned ncpus)
{
	return (uint64_t)ncpus * sizeof(struct replay_cpu);
}

uint64_t replay_mem_size(const struct trace *t, const struct replay_cfg *cfg)
{
	uint64_t n = REPLAY_LINE + cpus_size(cfg->ncpus); /* line alignment slack */
	if (cfg->parallel)
		return n + replay_plan_size(t, cfg->ncpus);
	return n + align_up((uint64_t)t->h.nids * sizeof(struct replay_obj), 8);
}

static uint64_t lat_gap(const struct replay *r, struct replay_cpu *pc);

int replay_init(struct replay *r, const struct replay_cfg *cfg, const struct trace *t, void *mem)
{
	if (!cfg->heap || !cfg->ncpus || cfg->ncpus > HEAP_MAX_CPUS ||
	    (cfg->parallel && t->h.nops > UINT32_MAX) || (cfg->lat_every & (cfg->lat_every - 1)))
		return MM_EINVAL;
	mm_zero(r, sizeof(*r));
	r->cfg = *cfg;
	if (!r->cfg.clock_num || !r->cfg.clock_den)
		r->cfg.clock_num = r->cfg.clock_den = 1;
	r->t = t;
	uint8_t *m = (uint8_t *)(uintptr_t)align_up((uintptr_t)mem, REPLAY_LINE);
	r->cpu = (struct replay_cpu *)(void *)m;
	mm_zero(r->cpu, cpus_size(cfg->ncpus));
	if (!r->cfg.lat_every)
		r->cfg.lat_every = 1;
	r->lat_k = (unsigned)mm_log2_ceil(r->cfg.lat_every);
	for (unsigned g = 0; r->lat_k && g < 64 / r->lat_k; g++)
		r->lat_lo |= 1ull << (g * r->lat_k);
	for (unsigned c = 0; c < cfg->ncpus; c++) {
		r->cpu[c].lat_rng = 0x9e3779b97f4a7c15ull * (c + 1);
		r->cpu[c].lat_left = lat_gap(r, &r->cpu[c]);
	}
	m += cpus_size(cfg->ncpus);
	if (cfg->parallel)
		return replay_plan(r, m);
	r->objs = (struct replay_obj *)(void *)m;
	mm_zero(m, (uint64_t)t->h.nids * sizeof(struct replay_obj));
	return MM_OK;
}

static uint64_t now(const struct replay *r)
{
	return r->cfg.clock ? r->cfg.clock(r->cfg.clock_ctx) : 0;
}

static uint64_t standin(const struct replay *r, unsigned cpu)
{
	return r->cfg.standin ? r->cfg.standin(r->cfg.standin_ctx, cpu) : 0;
}

/* Writes the first byte, one byte in every 4 KiB page and the last byte (calloc:
 * zeroes all), as a program uses what it allocates: a bad pointer faults here, and
 * every page of a live object is resident, so a footprint measured as resident bytes
 * (the peers', heap_peer.h) covers the live bytes as frames mapped (ours) do. */
static inline void touch(void *p, uint64_t size, bool zero)
{
	if (!size)
		return;
	if (zero) {
		mm_zero(p, size);
		return;
	}
	volatile uint8_t *b = p;
	uint64_t off = PAGE_SIZE - ((uintptr_t)p & (PAGE_SIZE - 1));
	b[0] = 0xa5;
	for (; off < size; off += PAGE_SIZE) /* none for an object within one page */
		b[off] = 0xa5;
	b[size - 1] = 0x5a;
}

/* An alloc or realloc of trace op `index` (asking for size bytes) returned NULL. */
static __attribute__((noinline, cold)) void note_failure(struct replay *r, struct replay_cpu *pc,
							 uint64_t index, uint64_t size)
{
	pc->failed++;
	if (!pc->fail_op1) { /* a CPU runs its ops in trace order: the earliest */
		pc->fail_op1 = index + 1;
		pc->fail_size = size;
	}
	if (r->serial && !r->failed_once) {
		struct heap_stats hs;
		r->cfg.heap->stats(r->cfg.heap_st, &hs);
		r->failed_once = true;
		r->live_at_first_failure = r->live;
		r->fp_at_first_failure = hs.footprint;
	}
}

/* The heap call of one op and its bookkeeping (no clock, no touch); returns the
 * change of live bytes. Inlined into the loops: heap and heap_st are their locals,
 * serial a constant (a free clears a serial slot: replay_release frees the rest). */
static inline __attribute__((always_inline)) int64_t
op_heap(struct replay *r, const struct heap_ops *h, void *st, struct replay_cpu *pc, unsigned cpu,
	uint64_t index, unsigned op, uint64_t size, unsigned align_log2, struct replay_obj *ob,
	bool serial)
{
	if (op <= TOP_MEMALIGN) {
		void *p = h->alloc(st, cpu, (size_t)size, (size_t)1 << align_log2);
		ob->p = p; /* others read it after an acquire of published */
		ob->size = size;
		ob->align_log2 = (uint8_t)align_log2;
		ob->cpu = (uint8_t)cpu;
		ob->failed = !p;
		pc->allocs++;
		if (!p) {
			note_failure(r, pc, index, size);
			return 0;
		}
		pc->objs_delta++;
		return (int64_t)size;
	}
	if (op == TOP_FREE) { /* the slot is not written (a shared one stays clean) */
		pc->frees++;
		if (ob->failed)
			return 0;
		h->free(st, cpu, ob->p, (size_t)ob->size, (size_t)1 << ob->align_log2);
		pc->cross_frees += ob->cpu != cpu;
		pc->objs_delta--;
		if (serial)
			ob->p = 0;
		return -(int64_t)ob->size;
	}
	pc->reallocs++;
	if (ob->failed)
		return 0;
	void *p =
	    h->realloc(st, cpu, ob->p, (size_t)ob->size, (size_t)1 << ob->align_log2, (size_t)size);
	if (!p) { /* old block kept: the trace goes on with it */
		note_failure(r, pc, index, size);
		return 0;
	}
	int64_t d = (int64_t)size - (int64_t)ob->size;
	ob->p = p;
	ob->size = size;
	ob->cpu = (uint8_t)cpu;
	return d;
}

/* Ops until pc's next timed one (1: the next): one in cfg.lat_every at random, per op
 * (a fixed stride could fall in step with a trace's pattern, e.g. only frees). Each
 * op is a trial that succeeds when its lat_k random bits are all zero; a 64-bit draw
 * holds 64 / lat_k trials, and the lowest all-zero group (the classic SWAR zero-group
 * test, exact for the lowest) is the next success. No clock: never (2^64 ops). */
static uint64_t lat_gap(const struct replay *r, struct replay_cpu *pc)
{
	unsigned k = r->lat_k;
	if (!r->cfg.clock)
		return UINT64_MAX;
	if (!k)
		return 1;
	for (uint64_t gap = 1;; gap += 64 / k) {
		uint64_t x = pc->lat_rng;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pc->lat_rng = x;
		uint64_t m = (x - r->lat_lo) & ~x & (r->lat_lo << (k - 1));
		if (m)
			return gap + (uint64_t)__builtin_ctzll(m) / k;
	}
}

/* op_heap under the clock (a sampled op): latency into pc's histograms. */
static __attribute__((noinline)) int64_t op_timed(struct replay *r, struct replay_cpu *pc,
						  unsigned cpu, uint64_t index, unsigned op,
						  uint64_t size, unsigned align_log2,
						  struct replay_obj *ob)
{
	uint64_t s0 = standin(r, cpu), t0 = now(r);
	int64_t d = op_heap(r, r->cfg.heap, r->cfg.heap_st, pc, cpu, index, op, size, align_log2,
			    ob, !r->cfg.parallel);
	uint64_t t = now(r) - t0;
	lat_hist_add(&pc->lat, t);
	if (r->cfg.standin) {
		uint64_t s = standin(r, cpu) - s0;
		lat_hist_add(&pc->lat_ex, t > s ? t - s : 0);
	}
	pc->lat_left = lat_gap(r, pc);
	return d;
}

/* One op (trace op index) on ob by cpu: the heap call, timed if sampled; touching the
 * memory it returned (calloc: zeroing) follows, outside the latency but inside the
 * wall time. Returns the change of live bytes (also in pc->live_delta). */
static inline __attribute__((always_inline)) int64_t
do_op(struct replay *r, const struct heap_ops *h, void *st, struct replay_cpu *pc, unsigned cpu,
      uint64_t index, unsigned op, uint64_t size, unsigned align_log2, struct replay_obj *ob,
      bool serial)
{
	uint64_t old = ob->size;
	void *before = ob->p;
	int64_t d = __builtin_expect(--pc->lat_left == 0, 0)
			? op_timed(r, pc, cpu, index, op, size, align_log2, ob)
			: op_heap(r, h, st, pc, cpu, index, op, size, align_log2, ob, serial);
	pc->live_delta += d;
	pc->ops++;
	if (op <= TOP_MEMALIGN) {
		if (ob->p)
			touch(ob->p, size, op == TOP_CALLOC);
	} else if (op == TOP_REALLOC && ob->p != before) { /* moved: touch it all */
		touch(ob->p, ob->size, false);
	} else if (op == TOP_REALLOC && ob->size > old) { /* grew in place: the new tail */
		touch((uint8_t *)ob->p + old, ob->size - old, false);
	}
	return d;
}

/* heap->check() after an op (cfg.check_each_op). */
static __attribute__((noinline, cold)) void check_op(const struct replay *r)
{
	if (r->cfg.heap->check)
		MM_ASSERT(r->cfg.heap->check(r->cfg.heap_st), "heap check failed during replay");
}

/* Serial mode, after an op that changed live by d: exact live, its peak, and the
 * footprint when live first reaches the trace's peak (fp_target, then UINT64_MAX). */
static inline void serial_account(struct replay *r, int64_t d, uint64_t *fp_target)
{
	r->live += (uint64_t)d;
	if (r->live > r->peak_live)
		r->peak_live = r->live;
	if (__builtin_expect(r->live == *fp_target, 0)) {
		struct heap_stats hs;
		r->cfg.heap->stats(r->cfg.heap_st, &hs);
		r->fp_at_peak = hs.footprint;
		r->fp_at_peak_valid = true;
		*fp_target = UINT64_MAX;
	}
}

static void cpu_begin(struct replay *r, unsigned c)
{
	r->cpu[c].standin = standin(r, c);
	r->cpu[c].t_start = now(r);
}

static void cpu_end(struct replay *r, unsigned c)
{
	r->cpu[c].t_end = now(r);
	r->cpu[c].standin = standin(r, c) - r->cpu[c].standin;
}

/* The serial loop over ops [o, end); check: a constant (heap->check after each op). */
static inline __attribute__((always_inline)) void
serial_ops(struct replay *r, const struct trace_op *o, const struct trace_op *end, bool check)
{
	unsigned n = r->cfg.ncpus;
	const struct heap_ops *h = r->cfg.heap;
	void *st = r->cfg.heap_st;
	const struct trace_op *ops = o;
	uint64_t fp_target = r->t->h.peak_live ? r->t->h.peak_live : UINT64_MAX;
	for (; o < end; o++) {
		unsigned c = o->thread < n ? o->thread : o->thread % n;
		int64_t d = do_op(r, h, st, &r->cpu[c], c, (uint64_t)(o - ops), o->op, o->size,
				  o->align_log2, &r->objs[o->id], true);
		serial_account(r, d, &fp_target);
		if (check)
			check_op(r);
	}
}

void replay_run_serial(struct replay *r)
{
	unsigned n = r->cfg.ncpus;
	const struct trace_op *o = r->t->ops, *end = o + r->t->h.nops;
	MM_ASSERT(!r->cfg.parallel, "replay: serial run of a parallel plan");
	r->serial = true;
	for (unsigned c = 0; c < n; c++)
		cpu_begin(r, c);
	if (r->cfg.check_each_op)
		serial_ops(r, o, end, true);
	else
		serial_ops(r, o, end, false);
	for (unsigned c = 0; c < n; c++)
		cpu_end(r, c);
}

/* Publishes that pc's CPU has done its first pc->ops ops (their slots written). */
static inline void publish(struct replay_cpu *pc)
{
	atomic_store_rel(&pc->published, pc->ops);
}

/* Waits until CPU from has published at least `after` ops; returns what it read; the
 * time it polled goes to pc->waited. Publishes the caller's own ops first (a CPU never waits with
 * ops unpublished: no deadlock). Polls with exponential backoff (1 .. 64 pauses); after 16 polls it
 * calls cfg.wait (the host yields: a CPU count above the cores must let the other run). */
static __attribute__((noinline)) uint64_t wait_for(const struct replay *r, struct replay_cpu *pc,
						   unsigned from, uint64_t after)
{
	uint64_t seen = atomic_load_acq(&r->cpu[from].published);
	if (seen >= after)
		return seen;
	publish(pc);
	uint64_t t0 = now(r);
	unsigned pause = 1;
	for (unsigned polls = 1; (seen = atomic_load_acq(&r->cpu[from].published)) < after;
	     polls++) {
		for (unsigned i = 0; i < pause; i++)
			cpu_relax();
		pause = pause < 64 ? pause * 2 : pause;
		if (r->cfg.wait && polls >= 16)
			r->cfg.wait();
	}
	pc->waited += now(r) - t0;
	return seen;
}

/* The object slot of step s on the running CPU (priv: its private slots); a shared
 * object's previous op elsewhere is waited for. seen[c]: what CPU c was last seen to
 * have published (read again only when a step needs more). */
static inline struct replay_obj *step_obj(const struct replay *r, struct replay_cpu *pc,
					  struct replay_obj *priv, uint64_t *seen,
					  const struct replay_step *s)
{
	if (!(s->flags & RSTEP_SHARED))
		return &priv[s->slot];
	if ((s->flags & RSTEP_WAIT) && seen[s->from] < s->after)
		seen[s->from] = wait_for(r, pc, s->from, s->after);
	return &r->shared[s->owner][s->slot];
}

/* CPU cpu's steps [s, end); check: a constant (heap->check after each op). Publishes
 * every REPLAY_PUBLISH_EVERY ops and at the end. */
static inline __attribute__((always_inline)) void cpu_steps(struct replay *r, unsigned cpu,
							    const struct replay_step *s,
							    const struct replay_step *end,
							    bool check)
{
	const struct heap_ops *h = r->cfg.heap;
	void *st = r->cfg.heap_st;
	struct replay_cpu *pc = &r->cpu[cpu];
	struct replay_obj *priv = r->priv[cpu];
	uint64_t seen[HEAP_MAX_CPUS];
	mm_zero(seen, sizeof(seen));
	for (; s < end; s++) {
		struct replay_obj *ob = step_obj(r, pc, priv, seen, s);
		do_op(r, h, st, pc, cpu, s->index, s->op, s->size, s->align_log2, ob, false);
		if (check)
			check_op(r);
		if (!(pc->ops & (REPLAY_PUBLISH_EVERY - 1)))
			publish(pc);
	}
	publish(pc);
}

void replay_run_cpu(struct replay *r, unsigned cpu)
{
	MM_ASSERT(r->cfg.parallel, "replay: replay_run_cpu needs cfg.parallel");
	const struct replay_step *s = r->steps + r->start[cpu], *end = r->steps + r->start[cpu + 1];
	cpu_begin(r, cpu);
	if (r->cfg.check_each_op)
		cpu_steps(r, cpu, s, end, true);
	else
		cpu_steps(r, cpu, s, end, false);
	cpu_end(r, cpu);
}

static int64_t frag_ppm(uint64_t fp, uint64_t live)
{
	return live ? (int64_t)(fp * 1000000u / live) - 1000000 : 0;
}

static uint64_t ticks_ns(const struct replay *r, uint64_t t)
{
	return (uint64_t)((unsigned __int128)t * r->cfg.clock_num / r->cfg.clock_den);
}

/* p50/p99/p99.9/max/mean of h, in ns, into out[0..5). */
static void hist_ns(const struct replay *r, const struct lat_hist *h, uint64_t *out)
{
	out[0] = ticks_ns(r, lat_hist_quantile(h, 50000));
	out[1] = ticks_ns(r, lat_hist_quantile(h, 99000));
	out[2] = ticks_ns(r, lat_hist_quantile(h, 99900));
	out[3] = ticks_ns(r, h->max);
	out[4] = h->count ? ticks_ns(r, h->sum / h->count) : 0;
}

static void finish_timing(struct replay *r, struct replay_result *res)
{
	struct lat_hist *all = &r->cpu[0].lat, *ex = &r->cpu[0].lat_ex; /* merged into CPU 0's */
	uint64_t t0 = r->cpu[0].t_start, t1 = r->cpu[0].t_end, sd = r->cpu[0].standin;
	uint64_t wt = r->cpu[0].waited, busy_max = 0, busy_sum = 0;
	for (unsigned c = 0; c < r->cfg.ncpus; c++) {
		const struct replay_cpu *pc = &r->cpu[c];
		uint64_t run = pc->t_end - pc->t_start, b = run > pc->waited ? run - pc->waited : 0;
		busy_max = b > busy_max ? b : busy_max;
		busy_sum += b;
	}
	for (unsigned c = 1; c < r->cfg.ncpus; c++) {
		lat_hist_merge(all, &r->cpu[c].lat);
		lat_hist_merge(ex, &r->cpu[c].lat_ex);
		t0 = r->cpu[c].t_start < t0 ? r->cpu[c].t_start : t0;
		t1 = r->cpu[c].t_end > t1 ? r->cpu[c].t_end : t1;
		sd += r->cpu[c].standin;
		wt += r->cpu[c].waited;
		lat_hist_init(&r->cpu[c].lat);
		lat_hist_init(&r->cpu[c].lat_ex);
	}
	res->timed = true;
	res->lat_every = r->cfg.lat_every;
	res->elapsed_ns = ticks_ns(r, t1 - t0);
	res->ops_per_s =
	    res->elapsed_ns
		? (uint64_t)((unsigned __int128)res->ops * 1000000000u / res->elapsed_ns)
		: 0;
	res->wait_ns = ticks_ns(r, wt);
	res->busy_max_ns = ticks_ns(r, busy_max);
	res->busy_sum_ns = ticks_ns(r, busy_sum);
	hist_ns(r, all, &res->lat_p50_ns);
	res->standin_known = r->cfg.standin != 0;
	if (res->standin_known) {
		res->standin_ns = ticks_ns(r, sd);
		hist_ns(r, ex, &res->lat_ex_p50_ns);
	}
}

static void sum_cpus(const struct replay *r, struct replay_result *res)
{
	int64_t live = 0, objs = 0;
	for (unsigned c = 0; c < r->cfg.ncpus; c++) {
		const struct replay_cpu *pc = &r->cpu[c];
		res->ops += pc->ops;
		res->allocs += pc->allocs;
		res->frees += pc->frees;
		res->reallocs += pc->reallocs;
		res->failed += pc->failed;
		res->cross_cpu_frees += pc->cross_frees;
		res->busiest_cpu_ops = MM_MAX(res->busiest_cpu_ops, pc->ops);
		if (pc->fail_op1 &&
		    (!res->first_failure_op || pc->fail_op1 < res->first_failure_op)) {
			res->first_failure_op = pc->fail_op1; /* + 1 until replay_finish */
			res->first_failure_size = pc->fail_size;
		}
		live += pc->live_delta;
		objs += pc->objs_delta;
	}
	res->live_end_bytes = (uint64_t)live;
	res->live_end_objects = (uint64_t)objs;
}

void replay_finish(struct replay *r, struct replay_result *res)
{
	mm_zero(res, sizeof(*res));
	sum_cpus(r, res);
	if (res->first_failure_op)
		res->first_failure_op--;
	res->failure_unmeasured = r->cfg.parallel && res->failed;
	res->peak_live = r->serial ? r->peak_live : r->t->h.peak_live;
	res->fp_at_peak = r->fp_at_peak;
	res->fp_at_peak_valid = r->fp_at_peak_valid;
	res->live_at_first_failure = r->live_at_first_failure;
	res->fp_at_first_failure = r->fp_at_first_failure;
	res->shared_objects = r->shared_total;
	res->critical_path_ops = r->cfg.parallel ? r->critical_ops : 0;
	res->objects = r->t->h.nobjects;
	res->parallel = r->cfg.parallel;
	r->cfg.heap->stats(r->cfg.heap_st, &res->heap);
	res->frag4_valid = res->heap.peak_footprint && res->peak_live;
	res->live_ordered = r->serial || r->cfg.ncpus == 1;
	res->frag4_ppm = res->frag4_valid && !res->failure_unmeasured
			     ? frag_ppm(res->heap.peak_footprint, res->peak_live)
			     : 0;
	res->frag3_ppm = r->fp_at_peak_valid ? frag_ppm(r->fp_at_peak, res->peak_live) : 0;
	if (r->cfg.clock)
		finish_timing(r, res);
}

/* Frees one object if it is still live. */
static void release_obj(struct replay *r, struct replay_obj *ob)
{
	if (ob->p)
		r->cfg.heap->free(r->cfg.heap_st, 0, ob->p, (size_t)ob->size,
				  (size_t)1 << ob->align_log2);
	ob->p = 0;
}

void replay_release(struct replay *r)
{
	if (!r->cfg.parallel) {
		for (uint32_t i = 0; i < r->t->h.nids; i++)
			release_obj(r, &r->objs[i]);
		return;
	}
	for (unsigned c = 0; c < r->cfg.ncpus; c++) {
		for (uint64_t k = 0; k < r->npriv[c]; k++)
			if (r->priv[c][k].ends_live)
				release_obj(r, &r->priv[c][k]);
		for (uint64_t k = 0; k < r->nshared[c]; k++)
			if (r->shared[c][k].ends_live)
				release_obj(r, &r->shared[c][k]);
	}
}
