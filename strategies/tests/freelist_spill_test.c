/* freelist_spill_test.c: the free lists (frame_freelist.c, va_freelist.c) keep 16
 * ranges inline and take the rest from the heap given by set_heap, as Hermit's
 * SmallVec takes it from the global allocator (range_list.h has the rules).
 *
 * Each scenario builds a hosted machine (heap_fixture), hands the heap under test
 * to the list (heap_rl through a counting hook), learns every free unit by
 * draining the list, then runs: many single-unit allocations with every other one
 * freed (past 16, 32, 64 ranges), seeded random alloc/free, and a full drain back.
 * Every operation is checked against a byte-per-unit model: first-fit address,
 * whether it splits a range or needs a new slot, so whether the heap is called;
 * then the outcome: growth (capacity doubled, one more heap block, exact
 * meta_bytes) or its failure (alloc MM_ENOMEM; free dropped and counted lost),
 * free/lost/range counts exact, check() after every step.
 *   frames under talc: the heap always has room: storage grows, never lost.
 *   frames under slab: growth calls slab, which needs frames from the same list
 *     on the same cpu: each such call is refused as a re-entry (counted), the
 *     growth fails, and the documented outcome follows; no deadlock.
 *   the VA free list under talc and under slab: slab serves storage up to 1 MiB
 *     (32 KiB here) from slots of a chunk it holds, so no growth needs address
 *     space and every one is held, as under talc.
 * freelist_edge_test.c covers the lists before set_heap and a heap that frees
 * into the list from inside a growth.
 * Never hangs: with rl_reentered disabled the nested call reaches rl_lock, whose
 * MM_DEBUG holder check panics; a heap that calls the list back with another cpu
 * (which rl_reentered cannot see: Hermit would spin) fails the guard wrappers the
 * heaps get between them and the lists.
 */
#include "heap_support.h"
#include "testlib.h"

#include "../frame_freelist.h"

enum { U_OTHER, U_FREE, U_HELD, U_LOST };

/* The rl_heap the list gets: counts what it passes to the heap under test; in_heap
 * while a call is in flight (for the guards below). */
struct counting_hook {
	struct rl_heap hook;
	struct heap_rl inner;
	uint64_t allocs, failed, frees, live;
	unsigned cpu; /* every call must come with the test's cpu */
	bool in_heap;
};

static void *ch_alloc(void *ctx, unsigned cpu, size_t bytes)
{
	struct counting_hook *c = ctx;
	CHECK(cpu == c->cpu, "heap called with cpu %u, the operation's is %u", cpu, c->cpu);
	c->in_heap = true;
	void *p = c->inner.hook.alloc(c->inner.hook.ctx, cpu, bytes);
	c->in_heap = false;
	c->allocs += p != NULL;
	c->failed += p == NULL;
	c->live += p ? bytes : 0;
	return p;
}

static void ch_free(void *ctx, unsigned cpu, void *p, size_t bytes)
{
	struct counting_hook *c = ctx;
	c->frees++;
	c->live -= bytes;
	c->in_heap = true;
	c->inner.hook.free(c->inner.hook.ctx, cpu, p, bytes);
	c->in_heap = false;
}

/* Guards between the heap and the layers below it: while the heap serves a list's
 * growth, it must call down with the list's caller's cpu; with another one a nested
 * call into the list would spin on the lock its own operation holds. */
static struct counting_hook *guarded; /* the scenario running (one at a time) */
static const struct frame_ops *g_fops;
static void *g_fst;
static const struct va_ops *g_vops;
static void *g_vst;

static void guard(unsigned cpu)
{
	CHECK(!guarded || !guarded->in_heap || cpu == guarded->cpu,
	      "the heap called down with cpu %u inside a growth for cpu %u: a self-deadlock "
	      "rl_reentered cannot see",
	      cpu, guarded->cpu);
}

static int gf_alloc(void *st, unsigned cpu, unsigned order, uint64_t *pfn)
{
	guard(cpu);
	return g_fops->alloc(g_fst, cpu, order, pfn);
}

static void gf_free(void *st, unsigned cpu, uint64_t pfn, unsigned order)
{
	guard(cpu);
	g_fops->free(g_fst, cpu, pfn, order);
}

/* No guard: the heap reads the totals once, at init (slab sizes its keep by them). */
static void gf_stats(const void *st, struct frame_stats *out)
{
	g_fops->stats(g_fst, out);
}

static int gv_alloc(void *st, unsigned cpu, uint64_t size, uint64_t align, uint64_t *addr)
{
	guard(cpu);
	return g_vops->alloc(g_vst, cpu, size, align, addr);
}

static void gv_free(void *st, unsigned cpu, uint64_t addr, uint64_t size)
{
	guard(cpu);
	g_vops->free(g_vst, cpu, addr, size);
}

static const struct frame_ops guard_frame_ops = {
    .name = "guard", .alloc = gf_alloc, .free = gf_free, .stats = gf_stats};
static const struct va_ops guard_va_ops = {.name = "guard", .alloc = gv_alloc, .free = gv_free};

/* One scenario: the list under test (frames or VA) inside a machine, and the model. */
struct run {
	const char *name;
	bool va, slab;
	unsigned cpu;
	struct heap_fixture fx;
	struct counting_hook ch;
	uint64_t lo, n; /* units [lo, lo + n) */
	uint8_t *u;
	uint64_t cap; /* the list's capacity as the model follows it */
	struct rng r;
	uint64_t (*held)[2];
	size_t nheld;
	uint64_t grew, refused, dropped; /* growths, failed growths, dropped frees */
};

struct obs {
	uint64_t free, lost, ranges, spill_allocs, reentries, meta;
	uint64_t cap; /* frames: frame_freelist_info; VA: from meta_bytes */
};

static void observe(struct run *t, struct obs *o)
{
	if (t->va) {
		struct va_stats s;
		CHECK(t->fx.vops->check(t->fx.va_st), "check");
		t->fx.vops->stats(t->fx.va_st, &s);
		CHECK(s.reserved_bytes + s.free_bytes + s.lost_bytes == s.size, "va accounting");
		uint64_t heap = s.meta_bytes - t->fx.vops->state_size;
		*o = (struct obs){s.free_bytes >> PAGE_SHIFT,
				  s.lost_bytes >> PAGE_SHIFT,
				  s.free_ranges,
				  s.spill_allocs,
				  s.spill_reentries,
				  s.meta_bytes,
				  heap ? heap / sizeof(struct rl_range) : RL_INLINE};
		return;
	}
	struct frame_stats s;
	struct frame_freelist_info in;
	CHECK(t->fx.fops->check(t->fx.frame_st), "check");
	t->fx.fops->stats(t->fx.frame_st, &s);
	frame_freelist_info(t->fx.frame_st, &in);
	*o = (struct obs){s.free_frames,     s.lost_frames, in.ranges,	s.spill_allocs,
			  s.spill_reentries, s.meta_bytes,  in.capacity};
}

static uint64_t m_count(const struct run *t, uint8_t v)
{
	uint64_t k = 0;
	for (uint64_t i = 0; i < t->n; i++)
		k += t->u[i] == v;
	return k;
}

/* Maximal runs of free units: the list's ranges. */
static uint64_t m_runs(const struct run *t)
{
	uint64_t k = 0;
	for (uint64_t i = 0; i < t->n; i++)
		k += t->u[i] == U_FREE && (i == 0 || t->u[i - 1] != U_FREE);
	return k;
}

/* First fit of len units aligned to align into *s; *split if it cuts a run in three. */
static bool m_first_fit(const struct run *t, uint64_t len, uint64_t align, uint64_t *s, bool *split)
{
	for (uint64_t i = 0; i < t->n; i++) {
		if (t->u[i] != U_FREE || (i && t->u[i - 1] == U_FREE))
			continue;
		uint64_t a = t->lo + i, b = a;
		while (b - t->lo < t->n && t->u[b - t->lo] == U_FREE)
			b++;
		uint64_t x = MM_ALIGN_UP(a, align);
		if (x < b && len <= b - x) {
			*s = x;
			*split = x > a && x + len < b;
			return true;
		}
	}
	return false;
}

/* Freeing [s, s+len) touches no free unit: it needs a slot of its own. */
static bool m_needs_slot(const struct run *t, uint64_t s, uint64_t len)
{
	uint64_t i = s - t->lo, e = i + len;
	return !(i > 0 && t->u[i - 1] == U_FREE) && !(e < t->n && t->u[e] == U_FREE);
}

static void m_set(struct run *t, uint64_t s, uint64_t len, uint8_t v)
{
	memset(t->u + (s - t->lo), v, len);
}

/* Everything the list, its heap and the model say must agree. */
static void expect_state(struct run *t, const struct obs *o, const char *what)
{
	size_t state = t->va ? t->fx.vops->state_size : t->fx.fops->state_size;
	uint64_t storage = t->cap > RL_INLINE ? t->cap * sizeof(struct rl_range) : 0;
	CHECK(o->free == m_count(t, U_FREE) && o->lost == m_count(t, U_LOST) &&
		  o->ranges == m_runs(t),
	      "%s %s: free %" PRIu64 " lost %" PRIu64 " ranges %" PRIu64 "; model %" PRIu64
	      " %" PRIu64 " %" PRIu64,
	      t->name, what, o->free, o->lost, o->ranges, m_count(t, U_FREE), m_count(t, U_LOST),
	      m_runs(t));
	CHECK(o->cap == t->cap && o->meta == state + storage && t->ch.live == storage &&
		  o->spill_allocs == t->ch.allocs && RL_INLINE << o->spill_allocs == t->cap,
	      "%s %s: meta %" PRIu64 ", heap holds %" PRIu64 " for capacity %" PRIu64, t->name,
	      what, o->meta, t->ch.live, t->cap);
}

/* A heap call happened (a before, b after): growth, or a failure whose cause must
 * be a refused re-entry under slab (talc always has room here). */
static bool heap_outcome(struct run *t, const struct obs *a, const struct obs *b)
{
	if (b->spill_allocs == a->spill_allocs + 1) {
		t->cap *= 2;
		t->grew++;
		return true;
	}
	CHECK(b->spill_allocs == a->spill_allocs, "%s: two growths at once", t->name);
	CHECK(t->slab && b->reentries > a->reentries,
	      "%s: growth failed without a refused re-entry (slab %d)", t->name, t->slab);
	t->refused++;
	return false;
}

static int do_alloc(struct run *t, uint64_t len, uint64_t align, uint64_t *s)
{
	if (!t->va)
		return t->fx.fops->alloc(t->fx.frame_st, t->cpu, mm_log2_floor(len), s);
	int rc = t->fx.vops->alloc(t->fx.va_st, t->cpu, len << PAGE_SHIFT, align << PAGE_SHIFT, s);
	*s >>= PAGE_SHIFT;
	return rc;
}

static void do_free(struct run *t, uint64_t s, uint64_t len)
{
	if (t->va)
		t->fx.vops->free(t->fx.va_st, t->cpu, s << PAGE_SHIFT, len << PAGE_SHIFT);
	else
		t->fx.fops->free(t->fx.frame_st, t->cpu, s, mm_log2_floor(len));
}

/* Allocates len units aligned to align (frames: len == align, a power of two); true
 * if it succeeded (then held[] has it). */
static bool step_alloc(struct run *t, uint64_t len, uint64_t align)
{
	struct obs a, b;
	uint64_t want = 0, s = 0;
	bool split = false, fit = m_first_fit(t, len, align, &want, &split);
	observe(t, &a);
	bool call = fit && split && a.ranges == a.cap;
	int rc = do_alloc(t, len, align, &s);
	observe(t, &b);
	bool ok = fit && (!call || heap_outcome(t, &a, &b));
	CHECK(ok ? rc == MM_OK && s == want : rc == MM_ENOMEM,
	      "%s: alloc(%" PRIu64 ", %" PRIu64 ") = %d at %#" PRIx64
	      ", model: fit %d at %#" PRIx64,
	      t->name, len, align, rc, s, fit, want);
	CHECK(call || (b.spill_allocs == a.spill_allocs && b.reentries == a.reentries),
	      "%s: heap called by an alloc that needed no slot", t->name);
	CHECK(b.lost == a.lost, "%s: an alloc lost units", t->name);
	if (ok) {
		m_set(t, s, len, U_HELD);
		t->held[t->nheld][0] = s;
		t->held[t->nheld++][1] = len;
	}
	expect_state(t, &b, "alloc");
	return ok;
}

/* Frees held[i]: inserted, or, when it needed a slot growth could not give, lost. */
static void step_free(struct run *t, size_t i)
{
	uint64_t s = t->held[i][0], len = t->held[i][1];
	t->held[i][0] = t->held[t->nheld - 1][0];
	t->held[i][1] = t->held[--t->nheld][1];
	struct obs a, b;
	bool needs = m_needs_slot(t, s, len);
	observe(t, &a);
	bool call = needs && a.ranges == a.cap;
	do_free(t, s, len);
	observe(t, &b);
	bool kept = !call || heap_outcome(t, &a, &b);
	CHECK(call || (b.spill_allocs == a.spill_allocs && b.reentries == a.reentries),
	      "%s: heap called by a free that needed no slot", t->name);
	CHECK(b.lost == a.lost + (kept ? 0 : len),
	      "%s: free of %" PRIu64 " units: lost %" PRIu64 " -> %" PRIu64 " (kept %d)", t->name,
	      len, a.lost, b.lost, kept);
	t->dropped += !kept;
	m_set(t, s, len, kept ? U_FREE : U_LOST);
	expect_state(t, &b, "free");
}

/* Learns the free units: takes all of them (no split: whole ranges, or frames from a
 * range's start), then gives them back; every other unit is U_OTHER. */
static void learn(struct run *t)
{
	struct obs o;
	observe(t, &o);
	while (o.free) {
		uint64_t s, len = 1, align = 1;
		if (t->va) {
			struct va_stats vs;
			t->fx.vops->stats(t->fx.va_st, &vs);
			len = vs.largest_free >> PAGE_SHIFT;
		}
		CHECK(do_alloc(t, len, align, &s) == MM_OK && s >= t->lo && s + len <= t->lo + t->n,
		      "%s: drain", t->name);
		m_set(t, s, len, U_HELD);
		t->held[t->nheld][0] = s;
		t->held[t->nheld++][1] = len;
		observe(t, &o);
	}
	CHECK(o.spill_allocs == 0 && o.reentries == 0, "%s: the drain called the heap", t->name);
	while (t->nheld)
		step_free(t, t->nheld - 1);
}

static void run_init(struct run *t, const char *name, bool va, bool slab, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	*t = (struct run){.name = name, .va = va, .slab = slab, .cpu = 1, .cap = RL_INLINE};
	t->r.s = seed;
	const struct heap_ops *h = slab ? &heap_slab_ops : &heap_talc_ops;
	CHECK(heap_fixture_init(&t->fx, va ? &frame_buddy_ops : &frame_freelist_ops,
				va ? &va_freelist_ops : &test_va_simple_ops, h, 2, 32ull << 20,
				64ull << 20, 2ull << 20, 1) == 0,
	      "%s: fixture", name);
	/* the heap again, this time over the guards (fresh lower layers too) */
	g_fops = t->fx.env.frames;
	g_fst = t->fx.env.frame_st;
	g_vops = t->fx.env.va;
	g_vst = t->fx.env.va_st;
	t->fx.env.frames = &guard_frame_ops;
	t->fx.env.va = &guard_va_ops;
	CHECK(heap_fixture_reinit(&t->fx, 2ull << 20, 1) == 0, "%s: guarded heap", name);
	t->ch = (struct counting_hook){.hook = {&t->ch, ch_alloc, ch_free}, .cpu = t->cpu};
	guarded = &t->ch;
	heap_rl_init(&t->ch.inner, h, t->fx.heap_st);
	if (va)
		t->fx.vops->set_heap(t->fx.va_st, &t->ch.hook);
	else
		t->fx.fops->set_heap(t->fx.frame_st, &t->ch.hook);
	if (slab) { /* one empty slab kept on our cpu: slab can serve one growth frame-free */
		void *p = h->alloc(t->fx.heap_st, t->cpu, 512, 8);
		CHECK(p, "%s: warm-up", name);
		h->free(t->fx.heap_st, t->cpu, p, 512, 8);
	}
	t->lo = va ? (uint64_t)(uintptr_t)t->fx.hm.va_base >> PAGE_SHIFT : 0;
	t->n = va ? t->fx.hm.va_size >> PAGE_SHIFT : mem_map_end(&t->fx.hm.map) >> PAGE_SHIFT;
	t->u = calloc(t->n, 1);
	t->held = calloc(t->n, sizeof(*t->held));
	CHECK(t->u && t->held, "calloc");
	learn(t);
}

static void run_fini(struct run *t)
{
	guarded = NULL;
	heap_fixture_fini(&t->fx);
	free(t->u);
	free(t->held);
}

/* Single units, every other one freed: 16, 32, 64... ranges. Then random steps,
 * then everything back. */
static void run_steps(struct run *t, int singles, int steps)
{
	size_t first = t->nheld;
	for (int i = 0; i < singles; i++)
		CHECK(step_alloc(t, 1, 1), "%s: single %d", t->name, i);
	for (int i = singles - 2; i >= 0; i -= 2) /* from the top: swaps keep the rest */
		step_free(t, first + (size_t)i);
	for (int i = 0; i < steps; i++) {
		if (t->nheld && rng_below(&t->r, 100) < 45) {
			step_free(t, (size_t)rng_below(&t->r, t->nheld));
			continue;
		}
		uint64_t len = 1ull << rng_below(&t->r, 4), align = len;
		if (t->va) {
			len = 1 + rng_below(&t->r, 8);
			align = rng_below(&t->r, 3) ? 1 : 1ull << rng_below(&t->r, 5);
		}
		step_alloc(t, len, align);
	}
	while (t->nheld)
		step_free(t, t->nheld - 1);
}

static void scenario(const char *name, bool va, bool slab, uint64_t seed)
{
	struct run *t = calloc(1, sizeof(*t));
	CHECK(t, "calloc");
	run_init(t, name, va, slab, seed);
	struct heap_stats h0, h1;
	t->fx.hops->stats(t->fx.heap_st, &h0);
	run_steps(t, va ? 2200 : 600, 3000); /* VA under slab: past 16 KiB of storage */
	t->fx.hops->stats(t->fx.heap_st, &h1);
	struct obs o;
	observe(t, &o);
	printf("  %s: capacity %" PRIu64 ", %" PRIu64 " growths, %" PRIu64 " failed, %" PRIu64
	       " re-entries refused, %" PRIu64 " frees dropped (%" PRIu64 " units lost); heap %s "
	       "footprint %" PRIu64 " -> %" PRIu64 "\n",
	       name, t->cap, t->grew, t->refused, o.reentries, t->dropped, o.lost, t->fx.hops->name,
	       h0.footprint, h1.footprint);
	if (slab && !va) {
		CHECK(o.reentries > 0 && t->refused > 0 && t->dropped > 0 && o.lost > 0,
		      "%s: the chain list -> slab -> list never happened", name);
	} else if (slab) {
		CHECK(t->grew >= 5 && o.lost == 0 && o.reentries == 0 && t->ch.failed == 0,
		      "%s: slab should hold every growth from its chunk", name);
	} else {
		CHECK(t->grew >= 5 && o.lost == 0 && o.reentries == 0 && t->ch.failed == 0,
		      "%s: talc should hold every growth", name);
		CHECK(h1.footprint > h0.footprint, "%s: the storage did not come from talc", name);
	}
	CHECK(t->ch.allocs == t->ch.frees + (t->cap > RL_INLINE), "%s: heap blocks leaked", name);
	run_fini(t);
	free(t);
}

int main(void)
{
	uint64_t seed = test_seed("freelist_spill_test", 11);
	scenario("frames/talc", false, false, seed);
	scenario("frames/slab", false, true, seed + 1);
	scenario("va/talc", true, false, seed + 2);
	scenario("va/slab", true, true, seed + 3);
	printf("freelist_spill_test: ok\n");
	return 0;
}
