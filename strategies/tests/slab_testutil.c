/* slab_testutil.c: the slab tests' fixture and checked calls (slab_testutil.h). */
#include "testlib.h"

#include "slab_testutil.h"

static int count_map(void *ctx, unsigned cpu, uint64_t va, uint64_t pa, uint64_t len,
		     unsigned flags)
{
	struct slt *t = ctx;
	t->maps++;
	return t->inner->map(t->inner->ctx, cpu, va, pa, len, flags);
}

static void count_unmap(void *ctx, unsigned cpu, uint64_t va, uint64_t len)
{
	struct slt *t = ctx;
	t->unmaps++;
	t->inner->unmap(t->inner->ctx, cpu, va, len);
}

static void *count_to_virt(void *ctx, uint64_t pa)
{
	struct slt *t = ctx;
	return t->inner->to_virt(t->inner->ctx, pa);
}

void slt_fresh(struct slt *t, unsigned keep)
{
	CHECK(heap_fixture_reinit(&t->fx, 0, keep) == 0, "reinit");
	t->h = t->fx.heap_st;
	t->c = &t->h->cpu[0];
	t->inner = &t->fx.hm.mmu;
	t->mmu = (struct mmu){t, count_map, count_unmap, count_to_virt};
	t->h->env.mmu = &t->mmu;
	t->maps = t->unmaps = 0;
	memset(t->p, 0, sizeof(t->p));
}

void slt_check(struct slt *t)
{
	CHECK(t->fx.hops->check(t->fx.heap_st), "slab: check failed");
}

uint64_t slt_frames(struct slt *t)
{
	struct heap_stats hs;
	t->fx.hops->stats(t->fx.heap_st, &hs);
	return hs.frames;
}

uint64_t slt_peak_frames(struct slt *t)
{
	struct heap_stats hs;
	t->fx.hops->stats(t->fx.heap_st, &hs);
	return hs.peak_footprint / PAGE_SIZE;
}

void *slt_alloc(struct slt *t, unsigned cpu, size_t size)
{
	void *q = t->fx.hops->alloc(t->fx.heap_st, cpu, size, 16);
	slt_check(t);
	return q;
}

void slt_free(struct slt *t, unsigned cpu, void *p, size_t size)
{
	t->fx.hops->free(t->fx.heap_st, cpu, p, size, 16);
	slt_check(t);
}

void slt_flush_all(struct slt *t)
{
	for (int r = 0; r < 2; r++)
		for (unsigned cpu = 0; cpu < t->fx.env.ncpus; cpu++)
			heap_slab_flush(t->fx.heap_st, cpu);
	slt_check(t);
}

struct slab *slt_slab_at(void *p)
{
	return slab_of(slab_chunk_of(p), p);
}

bool slt_on_avail(const struct slab_cpu *c, const struct slab *s)
{
	for (const struct slab *x = c->avail[s->cls]; x; x = x->next)
		if (x == s)
			return true;
	return false;
}
