/* faulty_frame.c: a frame_ops wrapper that refuses allocations once a budget of
 * frames is spent (SQLite's fault-injecting allocator, for frames): OOM paths
 * of heaps get tested by lowering the budget mid-run, and paths that fragmented
 * physical memory takes by refusing blocks above an order.
 * Invariant: budget + frames handed out through the wrapper == initial budget.
 */
#include <string.h>

#include "heap_support.h"

static size_t ff_meta_size(const struct mem_map *map, unsigned ncpus)
{
	return 0; /* the inner allocator is set up by the caller */
}

static int ff_init(void *st, const struct mem_map *map, unsigned ncpus, void *meta,
		   size_t meta_len)
{
	return MM_OK;
}

static int ff_alloc(void *st, unsigned cpu, unsigned order, uint64_t *pfn)
{
	struct faulty_frame *f = st;
	int64_t n = (int64_t)1 << order;
	if (order > __atomic_load_n(&f->max_order, __ATOMIC_RELAXED))
		return MM_ENOMEM;
	if (__atomic_sub_fetch(&f->budget, n, __ATOMIC_RELAXED) < 0) {
		__atomic_add_fetch(&f->budget, n, __ATOMIC_RELAXED);
		__atomic_add_fetch(&f->refusals, 1, __ATOMIC_RELAXED);
		return MM_ENOMEM;
	}
	int rc = f->inner->alloc(f->inner_st, cpu, order, pfn);
	if (rc != MM_OK)
		__atomic_add_fetch(&f->budget, n, __ATOMIC_RELAXED);
	return rc;
}

static void ff_free(void *st, unsigned cpu, uint64_t pfn, unsigned order)
{
	struct faulty_frame *f = st;
	f->inner->free(f->inner_st, cpu, pfn, order);
	__atomic_add_fetch(&f->budget, (int64_t)1 << order, __ATOMIC_RELAXED);
}

static int ff_alloc_at(void *st, uint64_t pfn, unsigned order)
{
	struct faulty_frame *f = st;
	return f->inner->alloc_at(f->inner_st, pfn, order);
}

static bool ff_check(const void *st)
{
	const struct faulty_frame *f = st;
	return f->inner->check(f->inner_st);
}

static void ff_stats(const void *st, struct frame_stats *out)
{
	const struct faulty_frame *f = st;
	f->inner->stats(f->inner_st, out);
}

const struct frame_ops faulty_frame_ops = {
	.name = "faulty",
	.state_size = sizeof(struct faulty_frame),
	.meta_size = ff_meta_size,
	.init = ff_init,
	.alloc = ff_alloc,
	.free = ff_free,
	.alloc_at = ff_alloc_at,
	.check = ff_check,
	.stats = ff_stats,
};

void faulty_frame_wrap(struct faulty_frame *f, const struct frame_ops *inner, void *inner_st,
		       int64_t budget)
{
	memset(f, 0, sizeof(*f));
	f->inner = inner;
	f->inner_st = inner_st;
	f->budget = budget;
	f->max_order = 63;
}

void faulty_frame_set_budget(struct faulty_frame *f, int64_t budget)
{
	__atomic_store_n(&f->budget, budget, __ATOMIC_RELAXED);
}

void faulty_frame_set_max_order(struct faulty_frame *f, unsigned max)
{
	__atomic_store_n(&f->max_order, max, __ATOMIC_RELAXED);
}
