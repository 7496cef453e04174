/* heap_slab_test.c: the slab heap's sleep/wake policy, step by step.
 *
 * A slab that fills leaves its avail list asleep and comes back only after
 * slab_wake(cap) of its objects were freed (heap_slab.h); an asleep slab that
 * has room still serves allocations once the frame allocator refuses
 * (slab_wake_any), so sleeping never turns into an earlier out-of-memory. The
 * test fills three slabs of one class, frees seeded random objects of them,
 * and checks list membership, which object comes back, the OOM fallback, and
 * the heap's full invariant check after every step (MM_DEBUG).
 */
#include "testlib.h"

#include "heap_support.h"
#include "../heap_slab.h"

#define OBJ	 1024u /* one class: 64 objects per slab, wake after 8 frees */
#define MAX_OBJS (3 * (SLAB_SIZE / OBJ))

struct t {
	struct heap_fixture fx;
	struct slab_cpu *c;
	void *p[MAX_OBJS];
};

static void check_heap(struct t *t)
{
	CHECK(t->fx.hops->check(t->fx.heap_st), "slab: check failed");
}

static struct slab *slab_at(void *p)
{
	return slab_of(slab_chunk_of(p), p);
}

static bool on_avail(const struct slab_cpu *c, const struct slab *s)
{
	for (const struct slab *x = c->avail[s->cls]; x; x = x->next)
		if (x == s)
			return true;
	return false;
}

static void *t_alloc(struct t *t)
{
	void *q = t->fx.hops->alloc(t->fx.heap_st, 0, OBJ, 16);
	check_heap(t);
	return q;
}

static void t_free(struct t *t, unsigned i)
{
	t->fx.hops->free(t->fx.heap_st, 0, t->p[i], OBJ, 16);
	t->p[i] = NULL;
	check_heap(t);
}

/* Frees n distinct random objects of slab k (objects k*cap .. k*cap+cap-1);
 * returns the index of the last one freed and its address in *lastp. */
static unsigned free_some(struct t *t, struct rng *r, unsigned k, uint32_t cap, uint32_t n,
			  void **lastp)
{
	unsigned last = 0;
	for (uint32_t done = 0; done < n;) {
		unsigned i = k * cap + (unsigned)rng_below(r, cap);
		if (!t->p[i])
			continue;
		last = i;
		*lastp = t->p[i];
		t_free(t, i);
		done++;
	}
	return last;
}

/* Fills three slabs; each falls asleep (off avail) when full. */
static void fill(struct t *t, unsigned cls, uint32_t cap)
{
	for (unsigned i = 0; i < 3 * cap; i++) {
		CHECK((t->p[i] = t_alloc(t)), "alloc %u failed", i);
		if (i % cap == cap - 1) {
			struct slab *s = slab_at(t->p[i]);
			CHECK(s->used == cap && s->low == cap - slab_wake(cap) && !on_avail(t->c, s),
			      "a full slab is not asleep");
		}
	}
	CHECK(!t->c->avail[cls], "avail not empty with every slab full");
	CHECK(slab_at(t->p[0]) != slab_at(t->p[cap]) && slab_at(t->p[cap]) != slab_at(t->p[2 * cap]),
	      "objects of three slabs share a slab");
}

/* Slab 0 gets wake - 1 frees (stays asleep), slab 1 gets wake (wakes, and
 * hands out the object freed last); then with frames refused the rest of
 * slab 1 and then slab 0's room must still be usable. */
static void test_sleep_wake(struct t *t, struct rng *r, uint32_t cap)
{
	uint32_t wake = slab_wake(cap);
	struct slab *s0 = slab_at(t->p[0]), *s1 = slab_at(t->p[cap]);
	void *lastp = NULL;
	free_some(t, r, 0, cap, wake - 1, &lastp);
	CHECK(s0->low && !on_avail(t->c, s0) && s0->used == cap - (wake - 1),
	      "slab woke before slab_wake frees");
	unsigned last = free_some(t, r, 1, cap, wake, &lastp);
	CHECK(!s1->low && on_avail(t->c, s1) && s1->used == cap - wake, "slab did not wake");
	CHECK((t->p[last] = t_alloc(t)) == lastp, "the woken slab's last free did not come back");
	faulty_frame_set_budget(&t->fx.faulty, 0);
	for (unsigned i = cap; i < 2 * cap; i++)
		if (!t->p[i])
			CHECK((t->p[i] = t_alloc(t)) && slab_at(t->p[i]) == s1,
			      "the woken slab's room is not used first");
	CHECK(s1->low, "a refilled slab stayed awake");
	for (unsigned i = 0; i < cap; i++)
		if (!t->p[i])
			CHECK((t->p[i] = t_alloc(t)) && slab_at(t->p[i]) == s0,
			      "out of frames, an asleep slab's room was not used");
	CHECK(t->fx.faulty.refusals > 0, "the frame allocator never refused");
	CHECK(!t_alloc(t), "alloc succeeded with every slab full and no frames");
	faulty_frame_set_budget(&t->fx.faulty, FAULTY_UNLIMITED);
}

int main(void)
{
	uint64_t seed = test_seed("heap_slab_test", 3);
	struct rng r = {seed};
	struct t *t = calloc(1, sizeof(*t));
	CHECK(t, "calloc");
	int rc = heap_fixture_init(&t->fx, &test_frame_simple_ops, &test_va_simple_ops,
				   &heap_slab_ops, 1, 64ull << 20, 1ull << 30, 8ull << 20, 1);
	CHECK(rc == 0, "fixture: %d", rc);
	struct slab_heap *h = t->fx.heap_st;
	t->c = &h->cpu[0];
	unsigned cls = slab_class_of(OBJ, 16);
	uint32_t cap = SLAB_SIZE / slab_class_size(cls);
	CHECK(slab_class_size(cls) == OBJ && 3 * cap <= MAX_OBJS && slab_wake(cap) >= 2,
	      "test needs an exact class with a wake threshold of 2 or more");
	CHECK(slab_wake(4) == 1 && slab_wake(64) == 8 && slab_wake(256) == 32 &&
		      slab_wake(4096) == 32,
	      "slab_wake is not cap / 8 in [1, 32]");
	fill(t, cls, cap);
	test_sleep_wake(t, &r, cap);
	for (unsigned i = 0; i < 3 * cap; i++)
		t_free(t, i);
	CHECK(t->c->nempty == 3, "the three emptied slabs were not kept");
	heap_fixture_fini(&t->fx);
	free(t);
	printf("heap_slab_test: ok\n");
	return 0;
}
