/* heap_bench_larson.c: heap_bench's larson, handing sets over in the trace's order.
 *
 * gen.c's larson (the trace the replay runs) has HB_SETS logical threads; in epoch e
 * logical thread t works on set (t - e) mod HB_SETS, a step at a time: free the object
 * in a random slot (if any), allocate 8..1000 B there. The replay orders op by op: a
 * step on slot i in epoch e + 1 waits for the last step on slot i in epoch e (whose
 * object it frees), not for the whole epoch. Waiting for the whole epoch made every
 * epoch end a barrier between the threads, and the barrier, not the allocator, what
 * 2 threads measured (null heap 1.65x against 1.87x with no hand-off at all). So here:
 *
 *   - an epoch is S = epoch_ops / (2 * HB_SETS) steps per logical thread (a step is
 *     2 ops once the slots are full); its slots come from a stream seeded by (thread
 *     seed, logical thread, epoch), drawn twice: ahead, to publish need[], and as the
 *     steps run;
 *   - the owner of epoch e on set s first waits until epoch e - 2 has finished on s
 *     (for HB_SETS = 2 that was its own), publishes need[i] = e * S + 1 + its last
 *     step on slot i (0: untouched), then drawn = e + 1 (release);
 *   - it publishes prog[e % G] = e * S + steps done, every LS_PUBLISH steps and at the
 *     end (G = LS_GENS);
 *   - the owner of epoch e + 1 steps on slot i only once prog[e % G] >= need[i] of
 *     epoch e; slots untouched in e wait for nothing (epoch e - 1 is over).
 * Invariants: prog[g] only grows (each use starts S above the last); need and prog of
 * epoch e are read only by the owner of e + 1, after drawn >= e + 1 (acquire), and
 * rewritten only for epoch e + G by its owner, once epoch e + G - 2 >= e + 1 has
 * finished. A thread waits only where the trace's order makes it wait (and, for more
 * than 2 logical threads, for the epoch before last).
 */
#define _GNU_SOURCE
#include <sched.h>

#include "heap_bench_wl.h"

#define LS_PUBLISH 8 /* steps between progress stores */

size_t hb_larson_extra(unsigned slots)
{
	return (size_t)HB_SETS * LS_GENS * slots * sizeof(uint64_t);
}

void hb_larson_setup(struct hb_shared *sh, void *mem, unsigned slots)
{
	uint64_t *n = mem;
	for (unsigned s = 0; s < HB_SETS; s++)
		for (unsigned g = 0; g < LS_GENS; g++, n += slots)
			sh->ls[s].need[g] = n;
}

/* Waits until *w >= v; false if the run ended meanwhile. */
static bool ls_wait(struct job *j, const uint64_t *w, uint64_t v)
{
	for (unsigned spin = 0; __atomic_load_n(w, __ATOMIC_ACQUIRE) < v; spin++)
		if (spin % 64 == 63) {
			if (!hb_go_on(j))
				return false;
			sched_yield(); /* the owner may need this core (cores are shared) */
		}
	return true;
}

/* One logical thread's epoch on one set. */
struct ls_epoch {
	struct larson_set *ls;
	struct obj *set;
	uint64_t base, steps; /* e * S; S */
	uint64_t stream;      /* seed of its slot draws */
	const uint64_t *prev; /* need[] of epoch e - 1 (NULL in epoch 0) */
	uint64_t *prog;	      /* this epoch's progress word */
	const uint64_t *prev_prog;
	uint64_t seen; /* *prev_prog, last read */
	uint64_t k;    /* steps done */
};

/* Starts logical thread t's epoch e: waits until the set may take it, publishes
 * need[]; false if the run ended meanwhile. */
static bool ls_begin(struct job *j, struct ls_epoch *ep, unsigned t, unsigned e)
{
	struct hb_shared *sh = j->sh;
	unsigned slots = (unsigned)sh->k->param, s = (t + HB_SETS - e % HB_SETS) % HB_SETS;
	uint64_t S = sh->tm->epoch_ops / (2 * HB_SETS) ? sh->tm->epoch_ops / (2 * HB_SETS) : 1;
	struct larson_set *ls = &sh->ls[s];
	*ep = (struct ls_epoch){.ls = ls,
				.set = sh->sets + (size_t)s * slots,
				.base = (uint64_t)e * S,
				.steps = S,
				.stream = j->seed ^ ((uint64_t)t << 48) ^
					  ((uint64_t)e * 0x9e3779b97f4a7c15ull),
				.prog = &ls->prog[e % LS_GENS].v};
	if (e) {
		ep->prev = ls->need[(e - 1) % LS_GENS];
		ep->prev_prog = &ls->prog[(e - 1) % LS_GENS].v;
	}
	if (!ls_wait(j, &ls->drawn.v, e) ||
	    (e >= 2 && !ls_wait(j, &ls->prog[(e - 2) % LS_GENS].v, (uint64_t)(e - 1) * S)))
		return false;
	uint64_t *need = ls->need[e % LS_GENS], r = ep->stream;
	for (unsigned i = 0; i < slots; i++)
		need[i] = 0;
	for (uint64_t k = 0; k < S; k++)
		need[hb_rnd(&r) % slots] = ep->base + k + 1;
	__atomic_store_n(&ls->drawn.v, (uint64_t)e + 1, __ATOMIC_RELEASE);
	return true;
}

/* The next step of an epoch: free the object in the drawn slot, allocate there. */
static bool ls_step(struct job *j, struct ls_epoch *ep)
{
	struct contender *c = j->sh->c;
	unsigned slots = (unsigned)j->sh->k->param;
	unsigned i = (unsigned)(hb_rnd(&ep->stream) % slots);
	if (ep->prev && ep->prev[i] > ep->seen) {
		if (!ls_wait(j, ep->prev_prog, ep->prev[i]))
			return false;
		ep->seen = __atomic_load_n(ep->prev_prog, __ATOMIC_ACQUIRE);
	}
	struct obj *o = &ep->set[i];
	if (o->p) {
		c_free(c, j->cpu, o->p, o->size, GEN_ALIGN);
		j->ops++;
	}
	o->size = 8 + hb_rnd(&j->seed) % 993;
	if (!(o->p = c_alloc(c, j->cpu, o->size, GEN_ALIGN)))
		return hb_fail(j);
	hb_touch(o->p, o->size);
	j->ops++;
	if (++ep->k % LS_PUBLISH == 0 || ep->k == ep->steps)
		__atomic_store_n(ep->prog, ep->base + ep->k, __ATOMIC_RELEASE);
	return true;
}

void hb_larson(struct job *j)
{
	unsigned P = j->sh->k->threads, n = 0;
	struct ls_epoch ep[HB_SETS];
	for (unsigned e = 0;; e++) {
		n = 0;
		for (unsigned t = j->cpu; t < HB_SETS; t += P)
			if (!ls_begin(j, &ep[n++], t, e))
				return;
		for (uint64_t k = 0; k < ep[0].steps; k++) {
			if (k % 256 == 0 && !hb_go_on(j))
				return;
			for (unsigned m = 0; m < n; m++)
				if (!ls_step(j, &ep[m]))
					return;
		}
	}
}
