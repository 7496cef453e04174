/* replay.c: trace replay against a heap_ops instance (contract in replay.h).
 *
 * Invariants, serial mode, after every op:
 *   live == sum over live, non-failed ids of objs[id].size,  peak_live == max(live),
 *   fp_at_peak == heap footprint right after live first reached the trace's peak_live.
 * Parallel mode, for every id: objs[id].done == number of ops on id completed, and op i
 * runs only when objs[id].done == seq[i] (acquire), publishing done = seq[i] + 1
 * (release), so each op sees the previous op's pointer and size.
 * Metrics follow DESIGN.md: J&W #3 = fp_at_peak / peak_live - 1, #4 = peak footprint /
 * peak_live - 1 (Johnstone & Wilson, ISMM 1998), kept in integer ppm (no FP in the guest).
 */
#include "replay.h"

#include "../../strategies/sync.h"

static uint64_t align_up8(uint64_t x)
{
	return (x + 7) & ~7ull;
}

uint64_t replay_mem_size(const struct trace *t, unsigned ncpus)
{
	uint64_t n = align_up8((uint64_t)t->h.nids * sizeof(struct replay_obj));
	if (ncpus > 1) /* seq and idx */
		n += 2 * align_up8(t->h.nops * sizeof(uint32_t));
	return n + (uint64_t)ncpus * sizeof(struct replay_cpu);
}

/* seq[i] = ordinal of op i among the ops on its id; idx = op indices grouped by CPU
 * (CPU c's ops, in trace order, are idx[start[c] .. start[c+1])). */
static void seq_compute(struct replay *r)
{
	unsigned n = r->cfg.ncpus;
	uint64_t pos[HEAP_MAX_CPUS];
	for (unsigned c = 0; c <= n; c++)
		r->start[c] = 0;
	for (uint64_t i = 0; i < r->t->h.nops; i++) {
		r->seq[i] = r->objs[r->t->ops[i].id].done++;
		r->start[r->t->ops[i].thread % n + 1]++;
	}
	for (unsigned c = 0; c < n; c++) /* counts -> start[c] = first op of CPU c */
		r->start[c + 1] += r->start[c];
	for (unsigned c = 0; c < n; c++)
		pos[c] = r->start[c];
	for (uint64_t i = 0; i < r->t->h.nops; i++)
		r->idx[pos[r->t->ops[i].thread % n]++] = (uint32_t)i;
	for (uint32_t i = 0; i < r->t->h.nids; i++)
		r->objs[i].done = 0;
}

int replay_init(struct replay *r, const struct replay_cfg *cfg, const struct trace *t,
		void *mem)
{
	if (!cfg->heap || !cfg->ncpus || cfg->ncpus > HEAP_MAX_CPUS ||
	    (cfg->ncpus > 1 && t->h.nops > UINT32_MAX))
		return MM_EINVAL;
	mm_zero(r, sizeof(*r));
	r->cfg = *cfg;
	if (!r->cfg.clock_num || !r->cfg.clock_den)
		r->cfg.clock_num = r->cfg.clock_den = 1;
	r->t = t;
	uint8_t *m = mem;
	uint64_t objs_bytes = (uint64_t)t->h.nids * sizeof(struct replay_obj);
	r->objs = (struct replay_obj *)(void *)m;
	mm_zero(m, objs_bytes);
	m += align_up8(objs_bytes);
	if (cfg->ncpus > 1) {
		r->seq = (uint32_t *)(void *)m;
		m += align_up8(t->h.nops * sizeof(uint32_t));
		r->idx = (uint32_t *)(void *)m;
		m += align_up8(t->h.nops * sizeof(uint32_t));
		seq_compute(r);
	}
	r->cpu = (struct replay_cpu *)(void *)m;
	mm_zero(r->cpu, cfg->ncpus * sizeof(struct replay_cpu));
	for (unsigned c = 0; c < cfg->ncpus; c++)
		lat_hist_init(&r->cpu[c].lat);
	return 0;
}

static uint64_t now(const struct replay *r)
{
	return r->cfg.clock ? r->cfg.clock(r->cfg.clock_ctx) : 0;
}

/* Writes the first and last byte (calloc: zeroes all), so a bad pointer faults here. */
static void touch(void *p, uint64_t size, bool zero)
{
	if (!size)
		return;
	if (zero) {
		mm_zero(p, size);
		return;
	}
	((volatile uint8_t *)p)[0] = 0xa5;
	((volatile uint8_t *)p)[size - 1] = 0x5a;
}

static void note_failure(struct replay *r, struct replay_cpu *pc)
{
	pc->failed++;
	if (r->serial && !r->failed_once) {
		struct heap_stats hs;
		r->cfg.heap->stats(r->cfg.heap_st, &hs);
		r->failed_once = true;
		r->live_at_first_failure = r->live;
		r->fp_at_first_failure = hs.footprint;
	}
}

static void do_alloc(struct replay *r, unsigned cpu, const struct trace_op *o,
		     struct replay_obj *ob)
{
	struct replay_cpu *pc = &r->cpu[cpu];
	size_t align = (size_t)1 << o->align_log2;
	void *p = r->cfg.heap->alloc(r->cfg.heap_st, cpu, (size_t)o->size, align);
	ob->p = p;
	ob->size = o->size;
	ob->align_log2 = o->align_log2;
	ob->cpu = (uint8_t)cpu;
	ob->failed = !p;
	pc->allocs++;
	if (!p) {
		note_failure(r, pc);
		return;
	}
	touch(p, o->size, o->op == TOP_CALLOC);
	pc->live_delta += (int64_t)o->size;
	pc->objs_delta++;
}

static void do_free(struct replay *r, unsigned cpu, struct replay_obj *ob)
{
	struct replay_cpu *pc = &r->cpu[cpu];
	pc->frees++;
	if (ob->failed)
		return;
	r->cfg.heap->free(r->cfg.heap_st, cpu, ob->p, (size_t)ob->size,
			  (size_t)1 << ob->align_log2);
	pc->cross_frees += ob->cpu != cpu;
	pc->live_delta -= (int64_t)ob->size;
	pc->objs_delta--;
	ob->p = 0;
}

static void do_realloc(struct replay *r, unsigned cpu, const struct trace_op *o,
		       struct replay_obj *ob)
{
	struct replay_cpu *pc = &r->cpu[cpu];
	pc->reallocs++;
	if (ob->failed)
		return;
	void *p = r->cfg.heap->realloc(r->cfg.heap_st, cpu, ob->p, (size_t)ob->size,
				       (size_t)1 << ob->align_log2, (size_t)o->size);
	if (!p) { /* old block kept: the trace goes on with it */
		note_failure(r, pc);
		return;
	}
	if (o->size > ob->size)
		touch(p, o->size, false);
	pc->live_delta += (int64_t)o->size - (int64_t)ob->size;
	ob->p = p;
	ob->size = o->size;
	ob->cpu = (uint8_t)cpu;
}

static void do_op(struct replay *r, unsigned cpu, const struct trace_op *o)
{
	struct replay_obj *ob = &r->objs[o->id];
	struct replay_cpu *pc = &r->cpu[cpu];
	uint64_t t0 = now(r);
	if (o->op <= TOP_MEMALIGN)
		do_alloc(r, cpu, o, ob);
	else if (o->op == TOP_FREE)
		do_free(r, cpu, ob);
	else
		do_realloc(r, cpu, o, ob);
	if (r->cfg.clock)
		lat_hist_add(&pc->lat, now(r) - t0);
	pc->ops++;
	if (r->cfg.check_each_op && r->cfg.heap->check)
		MM_ASSERT(r->cfg.heap->check(r->cfg.heap_st), "heap check failed during replay");
}

/* Serial mode bookkeeping after an op: exact live and the footprint at peak live. */
static void serial_account(struct replay *r)
{
	int64_t live = 0;
	for (unsigned c = 0; c < r->cfg.ncpus; c++)
		live += r->cpu[c].live_delta;
	r->live = (uint64_t)live;
	if (r->live > r->peak_live)
		r->peak_live = r->live;
	if (!r->fp_at_peak_valid && r->live == r->t->h.peak_live && r->t->h.peak_live) {
		struct heap_stats hs;
		r->cfg.heap->stats(r->cfg.heap_st, &hs);
		r->fp_at_peak = hs.footprint;
		r->fp_at_peak_valid = true;
	}
}

void replay_run_serial(struct replay *r)
{
	unsigned n = r->cfg.ncpus;
	r->serial = true;
	for (unsigned c = 0; c < n; c++)
		r->cpu[c].t_start = now(r);
	for (uint64_t i = 0; i < r->t->h.nops; i++) {
		const struct trace_op *o = &r->t->ops[i];
		do_op(r, o->thread % n, o);
		serial_account(r);
	}
	for (unsigned c = 0; c < n; c++)
		r->cpu[c].t_end = now(r);
}

/* Waits until the previous op on ob (by any CPU) is done: done == want. */
static void wait_turn(const struct replay *r, struct replay_obj *ob, uint32_t want)
{
	for (unsigned spins = 1; atomic_load_acq(&ob->done) != want; spins++) {
		cpu_relax();
		if (r->cfg.wait && !(spins % 256))
			r->cfg.wait();
	}
}

void replay_run_cpu(struct replay *r, unsigned cpu)
{
	struct replay_cpu *pc = &r->cpu[cpu];
	pc->t_start = now(r);
	if (!r->idx) { /* one CPU: every op, in order */
		for (uint64_t i = 0; i < r->t->h.nops; i++)
			do_op(r, 0, &r->t->ops[i]);
	}
	for (uint64_t k = r->idx ? r->start[cpu] : 0; r->idx && k < r->start[cpu + 1]; k++) {
		uint32_t i = r->idx[k];
		const struct trace_op *o = &r->t->ops[i];
		struct replay_obj *ob = &r->objs[o->id];
		wait_turn(r, ob, r->seq[i]);
		do_op(r, cpu, o);
		atomic_store_rel(&ob->done, r->seq[i] + 1);
	}
	pc->t_end = now(r);
}

static int64_t frag_ppm(uint64_t fp, uint64_t live)
{
	return live ? (int64_t)(fp * 1000000u / live) - 1000000 : 0;
}

static uint64_t ticks_ns(const struct replay *r, uint64_t t)
{
	return (uint64_t)((unsigned __int128)t * r->cfg.clock_num / r->cfg.clock_den);
}

static void finish_timing(struct replay *r, struct replay_result *res)
{
	struct lat_hist *all = &r->cpu[0].lat; /* merged into CPU 0's */
	uint64_t t0 = r->cpu[0].t_start, t1 = r->cpu[0].t_end;
	for (unsigned c = 1; c < r->cfg.ncpus; c++) {
		lat_hist_merge(all, &r->cpu[c].lat);
		t0 = r->cpu[c].t_start < t0 ? r->cpu[c].t_start : t0;
		t1 = r->cpu[c].t_end > t1 ? r->cpu[c].t_end : t1;
		lat_hist_init(&r->cpu[c].lat);
	}
	res->timed = true;
	res->elapsed_ns = ticks_ns(r, t1 - t0);
	res->ops_per_s = res->elapsed_ns
		? (uint64_t)((unsigned __int128)res->ops * 1000000000u / res->elapsed_ns) : 0;
	res->lat_p50_ns = ticks_ns(r, lat_hist_quantile(all, 50000));
	res->lat_p99_ns = ticks_ns(r, lat_hist_quantile(all, 99000));
	res->lat_p999_ns = ticks_ns(r, lat_hist_quantile(all, 99900));
	res->lat_max_ns = ticks_ns(r, all->max);
	res->lat_mean_ns = all->count ? ticks_ns(r, all->sum / all->count) : 0;
}

void replay_finish(struct replay *r, struct replay_result *res)
{
	mm_zero(res, sizeof(*res));
	int64_t live = 0, objs = 0;
	for (unsigned c = 0; c < r->cfg.ncpus; c++) {
		const struct replay_cpu *pc = &r->cpu[c];
		res->ops += pc->ops;
		res->allocs += pc->allocs;
		res->frees += pc->frees;
		res->reallocs += pc->reallocs;
		res->failed += pc->failed;
		res->cross_cpu_frees += pc->cross_frees;
		live += pc->live_delta;
		objs += pc->objs_delta;
	}
	res->live_end_bytes = (uint64_t)live;
	res->live_end_objects = (uint64_t)objs;
	res->peak_live = r->serial ? r->peak_live : r->t->h.peak_live;
	res->fp_at_peak = r->fp_at_peak;
	res->fp_at_peak_valid = r->fp_at_peak_valid;
	res->live_at_first_failure = r->live_at_first_failure;
	res->fp_at_first_failure = r->fp_at_first_failure;
	r->cfg.heap->stats(r->cfg.heap_st, &res->heap);
	res->frag4_ppm = frag_ppm(res->heap.peak_footprint, res->peak_live);
	res->frag3_ppm = r->fp_at_peak_valid ? frag_ppm(r->fp_at_peak, res->peak_live) : 0;
	if (r->cfg.clock)
		finish_timing(r, res);
}

void replay_release(struct replay *r)
{
	for (uint32_t i = 0; i < r->t->h.nids; i++) {
		struct replay_obj *ob = &r->objs[i];
		if (ob->p)
			r->cfg.heap->free(r->cfg.heap_st, 0, ob->p, (size_t)ob->size,
					  (size_t)1 << ob->align_log2);
		ob->p = 0;
	}
}
