/* replay_plan.c: the parallel replay's plan (replay.h): per-CPU op streams and
 * where each object lives, computed once before the clock starts.
 *
 * An object is one allocation's lifetime (alloc, reallocs, free): ids are reused
 * after a free, but two lifetimes of one id never need ordering between them, so
 * each allocation gets its own slot. Pass 1 (trace order) copies every op into
 * its CPU's stream and, per object, notes where its latest op is: an op whose
 * previous op on the object ran on another CPU gets RSTEP_WAIT with that CPU (from)
 * and that op's ordinal in its stream, counted from 1 (after), and the object is
 * shared. Pass 2 gives every object a slot in its
 * allocating CPU's private or shared array, in allocation order (each array
 * starts on a line boundary); pass 3 turns the steps' object numbers into slot
 * indices and flags the allocs of objects the trace leaves live (RSTEP_LEAKED);
 * pass 4, once the slots are laid, marks those objects' slots ends_live (the replay
 * never writes ends_live: no per-op cost).
 * Invariants after replay_plan:
 *   start[c + 1] - start[c] == ops of CPU c;  steps of CPU c are in trace order;
 *   WAIT at step s <=> the object's previous op ran on CPU s.from != s's CPU, at
 *                      step start[s.from] + s.after - 1;
 *   an object without WAIT steps is touched by one CPU only;
 *   sum over c of npriv[c] + nshared[c] == nobjects.
 *
 * Memory (replay_plan_size): the steps, then one region that first holds the
 * scratch tables (current object per id, per-object notes) and, once they are
 * dead, the slots: max(scratch, private + shared slots) with the worst case of
 * every object shared.
 */
#include "replay.h"

#define NO_OBJ 0xffffffffu

struct obj_note {
	uint32_t last_step; /* global step index of the object's latest op */
	uint32_t count;	    /* ops seen so far; after pass 2: the slot index */
	uint32_t last_fin;  /* when its latest op ends in the unit-cost schedule (pass 1) */
	uint8_t owner;	    /* CPU of the alloc */
	uint8_t last_cpu;
	uint8_t shared;
	uint8_t freed;
};

static uint64_t line_up(uint64_t x)
{
	return (x + REPLAY_LINE - 1) & ~(uint64_t)(REPLAY_LINE - 1);
}

static uint64_t scratch_size(const struct trace *t)
{
	return line_up((uint64_t)t->h.nids * 4) + line_up(t->h.nobjects * sizeof(struct obj_note));
}

static uint64_t slots_size(const struct trace *t, unsigned ncpus)
{
	return t->h.nobjects * sizeof(struct replay_obj) + 2ull * ncpus * REPLAY_LINE;
}

uint64_t replay_plan_size(const struct trace *t, unsigned ncpus)
{
	uint64_t s = scratch_size(t), o = slots_size(t, ncpus);
	return line_up(t->h.nops * sizeof(struct replay_step)) + (s > o ? s : o);
}

static bool is_alloc(unsigned op)
{
	return op <= TOP_MEMALIGN;
}

/* Pass 1 for op i (CPU c, written to step index si). MM_EINVAL if its id is not live.
 * fin[c]: when CPU c's latest op ends in the unit-cost schedule (critical_ops). */
static int note_op(struct replay *r, uint32_t *cur, struct obj_note *notes, uint64_t *nobj,
		   const struct trace_op *o, unsigned c, uint64_t si, uint32_t *fin)
{
	struct replay_step *s = &r->steps[si];
	*s = (struct replay_step){.size = o->size,
				  .op = o->op,
				  .align_log2 = o->align_log2,
				  .index = (uint32_t)(o - r->t->ops)};
	uint32_t k;
	if (is_alloc(o->op)) {
		if (*nobj >= r->t->h.nobjects)
			return MM_EINVAL;
		k = (uint32_t)(*nobj)++;
		cur[o->id] = k;
		notes[k] = (struct obj_note){.owner = (uint8_t)c, .last_cpu = (uint8_t)c};
	} else if ((k = cur[o->id]) == NO_OBJ) {
		return MM_EINVAL;
	}
	struct obj_note *n = &notes[k];
	if (n->count && n->last_cpu != c) {
		s->flags |= RSTEP_WAIT;
		s->from = n->last_cpu;
		s->after = (uint32_t)(n->last_step - r->start[n->last_cpu] + 1);
		n->shared = 1;
		fin[c] = fin[c] > n->last_fin ? fin[c] : n->last_fin; /* starts after that op */
	}
	n->last_fin = ++fin[c];
	s->slot = k;
	n->count++;
	n->last_step = (uint32_t)si;
	n->last_cpu = (uint8_t)c;
	if (o->op == TOP_FREE) {
		cur[o->id] = NO_OBJ;
		n->freed = 1;
	}
	return MM_OK;
}

/* Pass 1: streams in trace order, per-object notes, and r->critical_ops: the makespan of
 * the schedule where every op takes one unit, each CPU runs its steps in order as early
 * as it can, and a WAIT step starts once the op it waits for has ended. Trace order is a
 * topological order of those constraints (a step waits only for earlier ops), so one
 * pass gives every op its earliest end: fin(op) = max(fin(CPU's previous op), fin(the
 * object's previous op if on another CPU)) + 1. No schedule of these steps is shorter,
 * so with equal op costs no heap's speedup over 1 CPU exceeds nops / critical_ops
 * (<= nops / busiest CPU's ops; the replay's publication every REPLAY_PUBLISH_EVERY
 * ops is the harness's, not counted). */
static int pass_streams(struct replay *r, uint32_t *cur, struct obj_note *notes)
{
	unsigned n = r->cfg.ncpus;
	uint64_t pos[HEAP_MAX_CPUS], nobj = 0;
	uint32_t fin[HEAP_MAX_CPUS];
	for (unsigned c = 0; c <= n; c++)
		r->start[c] = 0;
	for (uint64_t i = 0; i < r->t->h.nops; i++)
		r->start[r->t->ops[i].thread % n + 1]++;
	for (unsigned c = 0; c < n; c++) {
		r->start[c + 1] += r->start[c];
		pos[c] = r->start[c];
		fin[c] = 0;
	}
	for (uint32_t id = 0; id < r->t->h.nids; id++)
		cur[id] = NO_OBJ;
	for (uint64_t i = 0; i < r->t->h.nops; i++) {
		const struct trace_op *o = &r->t->ops[i];
		unsigned c = o->thread % n;
		if (note_op(r, cur, notes, &nobj, o, c, pos[c]++, fin) != MM_OK)
			return MM_EINVAL;
	}
	r->nobjects = nobj;
	r->critical_ops = 0;
	for (unsigned c = 0; c < n; c++)
		r->critical_ops = fin[c] > r->critical_ops ? fin[c] : r->critical_ops;
	return MM_OK;
}

/* Pass 2: slot index per object (notes[k].count) in its owner's private or shared array. */
static void pass_slots(struct replay *r, struct obj_note *notes)
{
	for (unsigned c = 0; c < r->cfg.ncpus; c++)
		r->npriv[c] = r->nshared[c] = 0;
	r->shared_total = 0;
	for (uint64_t k = 0; k < r->nobjects; k++) {
		struct obj_note *n = &notes[k];
		n->count = (uint32_t)(n->shared ? r->nshared[n->owner]++ : r->npriv[n->owner]++);
		r->shared_total += n->shared;
	}
}

/* The slot arrays over mem, each on a line boundary: CPU 0's private, CPU 0's shared,
 * CPU 1's private, ...; zeroed. */
static void lay_slots(struct replay *r, uint8_t *mem)
{
	uint64_t off = 0;
	for (unsigned c = 0; c < r->cfg.ncpus; c++) {
		r->priv[c] = (struct replay_obj *)(void *)(mem + off);
		off = line_up(off + r->npriv[c] * sizeof(struct replay_obj));
		r->shared[c] = (struct replay_obj *)(void *)(mem + off);
		off = line_up(off + r->nshared[c] * sizeof(struct replay_obj));
	}
	mm_zero(mem, off);
}

/* Pass 4: the slots of objects the trace leaves live get ends_live (replay_release). */
static void mark_leaked(struct replay *r)
{
	for (uint64_t s = 0; s < r->t->h.nops; s++) {
		const struct replay_step *st = &r->steps[s];
		struct replay_obj *const *slots = (st->flags & RSTEP_SHARED) ? r->shared : r->priv;
		if (st->flags & RSTEP_LEAKED)
			slots[st->owner][st->slot].ends_live = 1;
	}
}

int replay_plan(struct replay *r, uint8_t *mem)
{
	const struct trace *t = r->t;
	r->steps = (struct replay_step *)(void *)mem;
	uint8_t *region = mem + line_up(t->h.nops * sizeof(struct replay_step));
	uint32_t *cur = (uint32_t *)(void *)region;
	struct obj_note *notes =
	    (struct obj_note *)(void *)(region + line_up((uint64_t)t->h.nids * 4));
	if (pass_streams(r, cur, notes) != MM_OK)
		return MM_EINVAL;
	pass_slots(r, notes);
	for (uint64_t s = 0; s < t->h.nops; s++) { /* pass 3: object -> slot */
		struct replay_step *st = &r->steps[s];
		const struct obj_note *n = &notes[st->slot];
		/* an object's only alloc is its first op */
		st->flags |= (n->shared ? RSTEP_SHARED : 0) |
			     (is_alloc(st->op) && !n->freed ? RSTEP_LEAKED : 0);
		st->owner = n->owner;
		st->slot = n->count;
	}
	lay_slots(r, region); /* the notes are dead from here */
	mark_leaked(r);
	return MM_OK;
}
