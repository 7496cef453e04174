/* heap_rl.c: adapts a heap (heap.h) into the rl_heap hook from which the free
 * lists (range_list.h) take their storage beyond 16 ranges, as Hermit's SmallVec
 * takes it from the global allocator. Alignment 8: Layout::array of the ranges.
 * No state of its own beyond struct heap_rl; the heap's own rules (locking,
 * per-CPU state) apply to every call, made with the free list's caller's cpu. */
#include "heap.h"

#define HEAP_RL_ALIGN 8u

static void *hrl_alloc(void *ctx, unsigned cpu, size_t bytes)
{
	struct heap_rl *a = ctx;
	return a->ops->alloc(a->heap_st, cpu, bytes, HEAP_RL_ALIGN);
}

static void hrl_free(void *ctx, unsigned cpu, void *p, size_t bytes)
{
	struct heap_rl *a = ctx;
	a->ops->free(a->heap_st, cpu, p, bytes, HEAP_RL_ALIGN);
}

void heap_rl_init(struct heap_rl *a, const struct heap_ops *ops, void *heap_st)
{
	a->hook = (struct rl_heap){.ctx = a, .alloc = hrl_alloc, .free = hrl_free};
	a->ops = ops;
	a->heap_st = heap_st;
}
