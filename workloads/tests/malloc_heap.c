/* malloc_heap.c: heap_ops over libc malloc with a deterministic footprint model
 * (see malloc_heap.h). Invariant: footprint == sum of charge(size, align) over live
 * objects; peak_footprint == max over time of footprint. Optional failure injection
 * (SQLite-style): after fail_after successful allocations, alloc/realloc fail. */
#define _GNU_SOURCE
#include "malloc_heap.h"

#include <stdlib.h>
#include <string.h>

uint64_t malloc_heap_charge(uint64_t size, uint64_t align)
{
	return ((size + 15) & ~15ull) + 16 + (align > 16 ? align - 16 : 0);
}

static void charge(struct malloc_heap *h, int64_t d)
{
	uint64_t now = __atomic_add_fetch(&h->footprint, (uint64_t)d, __ATOMIC_RELAXED);
	uint64_t peak = __atomic_load_n(&h->peak_footprint, __ATOMIC_RELAXED);
	while (now > peak && !__atomic_compare_exchange_n(&h->peak_footprint, &peak, now, 0,
							   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static int mh_init(void *st, const struct heap_env *env)
{
	memset(st, 0, sizeof(struct malloc_heap));
	return 0;
}

static bool may_alloc(struct malloc_heap *h)
{
	uint64_t n = __atomic_add_fetch(&h->allocs, 1, __ATOMIC_RELAXED);
	return !h->fail_after || n <= h->fail_after;
}

static void *mh_alloc(void *st, unsigned cpu, size_t size, size_t align)
{
	struct malloc_heap *h = st;
	if (!may_alloc(h))
		return NULL;
	void *p = align > 16 ? aligned_alloc(align, (size + align - 1) & ~(align - 1))
			     : malloc(size ? size : 1);
	if (p) {
		charge(h, (int64_t)malloc_heap_charge(size, align));
		__atomic_add_fetch(&h->live_objects, 1, __ATOMIC_RELAXED);
	}
	return p;
}

static void mh_free(void *st, unsigned cpu, void *p, size_t size, size_t align)
{
	struct malloc_heap *h = st;
	free(p);
	charge(h, -(int64_t)malloc_heap_charge(size, align));
	__atomic_sub_fetch(&h->live_objects, 1, __ATOMIC_RELAXED);
}

static void *mh_realloc(void *st, unsigned cpu, void *p, size_t old, size_t align, size_t n)
{
	struct malloc_heap *h = st;
	if (!may_alloc(h))
		return NULL;
	void *q;
	if (align > 16) {
		q = aligned_alloc(align, (n + align - 1) & ~(align - 1));
		if (q) {
			memcpy(q, p, old < n ? old : n);
			free(p);
		}
	} else {
		q = realloc(p, n ? n : 1);
	}
	if (q)
		charge(h, (int64_t)malloc_heap_charge(n, align) -
				  (int64_t)malloc_heap_charge(old, align));
	return q;
}

static bool mh_check(const void *st)
{
	const struct malloc_heap *h = st;
	return h->footprint <= h->peak_footprint;
}

static void mh_stats(const void *st, struct heap_stats *out)
{
	const struct malloc_heap *h = st;
	memset(out, 0, sizeof(*out));
	out->footprint = __atomic_load_n(&h->footprint, __ATOMIC_RELAXED);
	out->peak_footprint = __atomic_load_n(&h->peak_footprint, __ATOMIC_RELAXED);
	out->meta_bytes = 16 * __atomic_load_n(&h->live_objects, __ATOMIC_RELAXED);
}

const struct heap_ops heap_malloc_ops = {
	.name = "malloc",
	.state_size = sizeof(struct malloc_heap),
	.init = mh_init,
	.alloc = mh_alloc,
	.free = mh_free,
	.realloc = mh_realloc,
	.check = mh_check,
	.stats = mh_stats,
};
