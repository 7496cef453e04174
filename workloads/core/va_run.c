/* va_run.c: the address-space trace replay core (contract and model: va_run.h).
 *
 * One pass over the ops with a per-id table of held ranges; the checks, the mutation
 * and the clock are the caller's hooks, so the same loop runs in the host tool and in
 * the guest. Snapshots are read with ops->stats, outside the timed span.
 */
#include "va_run.h"

#include "../../strategies/va_bitmap.h"
#include "../../strategies/va_btree.h"

const struct va_ops *const va_run_strategies[VA_RUN_NALL] = {
    &va_bitmap_ops,	&va_btree_ops,	    &va_btree_bare_ops,	    &va_freelist_ops,
    &va_bitmap_64k_ops, &va_btree_best_ops, &va_btree_bare_best_ops};

int va_run_find(const char *name)
{
	for (int i = 0; i < VA_RUN_NALL; i++)
		if (!__builtin_strcmp(name, va_run_strategies[i]->name))
			return i;
	return -1;
}

struct va_run_live {
	uint64_t addr, size; /* size 0: not held (free, or its allocation failed) */
};

/* The walk's state: requested bytes and ranges held now. */
struct vr {
	const struct va_run_cfg *c;
	struct va_run_live *lr;
	struct va_run_result *r;
	uint64_t req, live;
};

uint64_t va_run_scratch_size(const struct trace *t)
{
	return ((uint64_t)t->h.nids + 1) * sizeof(struct va_run_live);
}

static uint64_t now(const struct va_run_cfg *c)
{
	return c->clock ? c->clock(c->ctx) : 0;
}

static uint64_t to_ns(const struct va_run_cfg *c, uint64_t ticks)
{
	if (!c->clock_den)
		return ticks;
	return (uint64_t)((unsigned __int128)ticks * c->clock_num / c->clock_den);
}

static void snap(struct vr *v, struct va_run_snapshot *s)
{
	s->valid = true;
	s->requested = v->req;
	s->live = v->live;
	v->c->ops->stats(v->c->st, &s->s);
}

/* Releases l (if held); returns its size. */
static uint64_t release(struct vr *v, struct va_run_live *l)
{
	uint64_t n = l->size;
	if (n)
		v->c->ops->free(v->c->st, 0, l->addr, n);
	l->size = 0;
	return n;
}

/* Applies one op to its id's range l. */
static void apply_op(struct vr *v, const struct trace_op *o, struct va_run_live *l)
{
	if (o->op == TOP_FREE || o->op == TOP_REALLOC) {
		uint64_t n = release(v, l);
		v->req -= n;
		v->live -= n != 0;
		v->r->frees += n != 0;
	}
	if (o->op == TOP_FREE)
		return;
	uint64_t al = o->op == TOP_MEMALIGN ? 1ull << o->align_log2 : 0;
	v->r->allocs++;
	if (v->c->ops->alloc(v->c->st, 0, o->size, al, &l->addr) == MM_OK) {
		l->size = o->size;
		v->req += o->size;
		v->live++;
	} else {
		v->r->failed++;
	}
}

/* The mutation: frees l twice (after telling the caller) and forgets it. */
static void mutate(struct vr *v, struct va_run_live *l, uint64_t i)
{
	if (v->c->mutated)
		v->c->mutated(v->c->ctx, i);
	v->c->ops->free(v->c->st, 0, l->addr, l->size);
	v->c->ops->free(v->c->st, 0, l->addr, l->size);
	v->req -= l->size;
	v->live--;
	l->size = 0;
}

/* The ops in trace order; 0, or -2 when a check failed. */
static int walk(struct vr *v, const struct trace *t)
{
	const struct va_run_cfg *c = v->c;
	uint64_t n = t->h.nops, every = c->check_every, t0 = now(c);
	bool mutated = false;
	for (uint64_t i = 0; i < n; i++) {
		struct va_run_live *l = &v->lr[t->ops[i].id];
		apply_op(v, &t->ops[i], l);
		if (c->mutate_at && !mutated && i + 1 >= c->mutate_at && l->size)
			mutate(v, l, i), mutated = true;
		if (every && ((i + 1) % every == 0 || i + 1 == n) && !c->check(c->ctx, i, n))
			return -2;
		if (!v->r->peak.valid && !v->r->failed && v->req == t->h.peak_live) {
			uint64_t t1 = now(c);
			snap(v, &v->r->peak);
			t0 += now(c) - t1; /* the snapshot is not timed */
		}
	}
	v->r->elapsed_ns = to_ns(c, now(c) - t0);
	return 0;
}

int va_run(const struct va_run_cfg *c, const struct trace *t, void *scratch,
	   struct va_run_result *r)
{
	struct vr v = {c, scratch, r, 0, 0};
	mm_zero(scratch, va_run_scratch_size(t));
	mm_zero(r, sizeof(*r));
	int rc = walk(&v, t);
	if (rc)
		return rc;
	r->ops = t->h.nops;
	r->has_qcache = c->ops == &va_btree_ops || c->ops == &va_btree_best_ops;
	uint64_t cached;
	if (r->has_qcache)
		va_btree_qcache_counts(c->st, &r->qc_hits, &r->qc_misses, &cached);
	snap(&v, &r->end);
	for (uint64_t id = 0; id < t->h.nids; id++)
		release(&v, &v.lr[id]);
	if (c->check_every && !c->check(c->ctx, t->h.nops, t->h.nops))
		return -2;
	c->ops->stats(c->st, &r->released);
	return r->released.reserved_bytes ? -1 : 0;
}

/* ---- the row -------------------------------------------------------------------- */

/* k = pre "_" suf (both short). */
static void key_of(char *k, size_t cap, const char *pre, const char *suf)
{
	size_t n = 0;
	for (; *pre && n + 1 < cap; pre++)
		k[n++] = *pre;
	for (k[n++] = '_'; *suf && n + 1 < cap; suf++)
		k[n++] = *suf;
	k[n] = 0;
}

/* a * 10^6 / b (b != 0), exact floor: a is at most the window, so 128 bits. */
static int64_t ppm_of(uint64_t a, uint64_t b)
{
	return (int64_t)((unsigned __int128)a * 1000000u / b);
}

static void snap_fields(struct json_buf *j, const char *pre, const struct va_run_snapshot *s)
{
	static const char *const keys[] = {"requested_bytes", "reserved_bytes",	    "live_ranges",
					   "free_ranges",     "largest_free_bytes", "meta_bytes"};
	uint64_t v[6] = {s->requested,	   s->s.reserved_bytes, s->live,
			 s->s.free_ranges, s->s.largest_free,	s->s.meta_bytes};
	char k[64];
	for (int i = 0; i < 6; i++) {
		key_of(k, sizeof(k), pre, keys[i]);
		if (s->valid)
			json_u64(j, k, v[i]);
		else
			json_null(j, k);
	}
	key_of(k, sizeof(k), pre, "reserved_per_requested");
	if (s->valid && s->requested)
		json_ppm(j, k, ppm_of(s->s.reserved_bytes, s->requested));
	else
		json_null(j, k);
}

void va_run_row_metrics(struct json_buf *j, const char *workload, const struct va_run_result *r)
{
	json_str(j, "workload", workload);
	json_u64(j, "ops", r->ops);
	json_u64(j, "allocs", r->allocs);
	json_u64(j, "frees", r->frees);
	json_u64(j, "failed", r->failed);
	json_u64(j, "va_size_bytes", r->end.s.size);
	json_u64(j, "granule_bytes", r->end.s.granule);
	snap_fields(j, "peak", &r->peak);
	snap_fields(j, "end", &r->end);
	json_u64(j, "released_free_ranges", r->released.free_ranges);
	if (r->has_qcache) {
		uint64_t n = r->qc_hits + r->qc_misses;
		json_ppm(j, "qcache_hit_rate", ppm_of(r->qc_hits, n ? n : 1));
	}
}

void va_run_row_tail(struct json_buf *j, uint64_t check_every, const struct va_run_result *r)
{
	if (check_every) /* checked: the timing includes no check, but the run is slower */
		json_u64(j, "check_every", check_every);
	json_u64(j, "elapsed_ns", r->elapsed_ns);
	json_u64(j, "ns_per_op", r->ops ? r->elapsed_ns / r->ops : 0);
}
