/* freelist_edge_test.c: the free lists' (frame_freelist.c, va_freelist.c) rules
 * of range_list.h at their edges, on bare instances:
 *   before set_heap: 16 ranges only; a free that needs the 17th is dropped and
 *     counted lost (also at init, past 16 regions), an alloc or reserve that
 *     would split a range fails with MM_ENOMEM; after set_heap the same request
 *     grows the list;
 *   a heap that frees into the list and allocates from it while serving its
 *     growth (slab does so when it reclaims): both nested calls refused, the free
 *     counted lost and never handed out again, the outer operation completes.
 * freelist_spill_test.c runs the lists under the real heaps.
 */
#include "heap_support.h"
#include "testlib.h"

struct obs {
	uint64_t free, lost, spill_allocs, reentries;
};

/* ---- before set_heap ------------------------------------------------------- */

static void *zalloc64(size_t n)
{
	void *p = aligned_alloc(64, MM_ALIGN_UP(MM_MAX(n, (size_t)64), (size_t)64));
	CHECK(p, "out of memory");
	return memset(p, 0, MM_MAX(n, (size_t)64));
}

/* 256 frames; 41 taken, 0, 2, ... 30 freed: the 16th free needs a 17th range. */
static void frames_no_heap(void)
{
	const struct frame_ops *ops = &frame_freelist_ops;
	struct mem_map map = {.count = 1, .r = {{0, 256 * PAGE_SIZE, MEM_USABLE}}};
	void *st = zalloc64(ops->state_size);
	CHECK(ops->meta_size(&map, 1) == 0 && ops->init(st, &map, 1, NULL, 0) == MM_OK, "init");
	uint64_t pfn;
	for (uint64_t i = 0; i <= 40; i++)
		CHECK(ops->alloc(st, 0, 0, &pfn) == MM_OK && pfn == i, "fill");
	for (uint64_t i = 0; i <= 30; i += 2)
		ops->free(st, 0, i, 0);
	struct frame_stats s;
	ops->stats(st, &s);
	CHECK(ops->check(st) && s.lost_frames == 1 && s.free_frames == 215 + 15 &&
		  s.spill_allocs == 0 && s.meta_bytes == ops->state_size,
	      "17th range: lost %" PRIu64 " free %" PRIu64, s.lost_frames, s.free_frames);
	CHECK(ops->alloc(st, 0, 4, &pfn) == MM_ENOMEM, "a split needing the 17th range");
	struct spill_heap sp;
	spill_heap_init(&sp);
	ops->set_heap(st, &sp.hook);
	CHECK(ops->alloc(st, 0, 4, &pfn) == MM_OK && pfn == 48, "after set_heap: %" PRIu64, pfn);
	ops->stats(st, &s);
	CHECK(ops->check(st) && s.spill_allocs == 1 && sp.live_bytes == 32 * 16 &&
		  s.meta_bytes == ops->state_size + 32 * 16 && s.lost_frames == 1,
	      "growth after set_heap");
	spill_heap_fini(&sp);
	free(st);
	printf("  frames before set_heap: 17th range lost (1 frame) or refused (ENOMEM); after: "
	       "grown to 32\n");
}

/* 20 usable regions of 4 frames: without a heap, init keeps 16 and loses 4. */
static void frames_init_17(void)
{
	const struct frame_ops *ops = &frame_freelist_ops;
	struct mem_map map = {0};
	for (unsigned i = 0; i < 20; i++)
		map.r[map.count++] =
		    (struct mem_region){i * 5 * PAGE_SIZE, 4 * PAGE_SIZE, MEM_USABLE};
	void *st = zalloc64(ops->state_size);
	CHECK(ops->init(st, &map, 1, NULL, 0) == MM_OK, "init");
	struct frame_stats s;
	ops->stats(st, &s);
	CHECK(ops->check(st) && s.total_frames == 80 && s.free_frames == 64 && s.lost_frames == 16,
	      "init past 16 regions: total %" PRIu64 " free %" PRIu64 " lost %" PRIu64,
	      s.total_frames, s.free_frames, s.lost_frames);
	free(st);
	printf("  frames init with 20 regions before set_heap: 16 kept, 16 frames lost\n");
}

/* The same on the VA list: 256 pages, 41 taken, 0, 2, ... 30 freed. */
static void va_no_heap(void)
{
	const struct va_ops *ops = &va_freelist_ops;
	const uint64_t base = 1ull << 40, size = 256 * PAGE_SIZE;
	void *st = zalloc64(ops->state_size);
	CHECK(ops->meta_size(base, size) == 0 && ops->init(st, base, size, NULL, 0, NULL) == MM_OK,
	      "init");
	uint64_t a;
	for (uint64_t i = 0; i <= 40; i++)
		CHECK(ops->alloc(st, 0, PAGE_SIZE, 0, &a) == MM_OK && a == base + i * PAGE_SIZE,
		      "fill");
	for (uint64_t i = 0; i <= 30; i += 2)
		ops->free(st, 0, base + i * PAGE_SIZE, PAGE_SIZE);
	struct va_stats s;
	ops->stats(st, &s);
	CHECK(ops->check(st) && s.lost_bytes == PAGE_SIZE && s.free_ranges == 16 &&
		  s.free_bytes == (215 + 15) * PAGE_SIZE &&
		  s.reserved_bytes + s.free_bytes + s.lost_bytes == size,
	      "17th range: lost %" PRIu64, s.lost_bytes);
	CHECK(ops->alloc(st, 0, 2 * PAGE_SIZE, 16 * PAGE_SIZE, &a) == MM_ENOMEM &&
		  ops->reserve(st, base + 100 * PAGE_SIZE, PAGE_SIZE) == MM_ENOMEM,
	      "a split needing the 17th range");
	struct spill_heap sp;
	spill_heap_init(&sp);
	ops->set_heap(st, &sp.hook);
	CHECK(ops->alloc(st, 0, 2 * PAGE_SIZE, 16 * PAGE_SIZE, &a) == MM_OK &&
		  a == base + 48 * PAGE_SIZE,
	      "after set_heap");
	ops->stats(st, &s);
	CHECK(ops->check(st) && s.spill_allocs == 1 && s.meta_bytes == ops->state_size + 32 * 16,
	      "growth after set_heap");
	spill_heap_fini(&sp);
	free(st);
	printf("  va before set_heap: 17th range lost (4 KiB) or refused (ENOMEM); after: grown\n");
}

/* ---- a heap that calls the list back while serving its growth -------------- */

struct echo_hook {
	struct rl_heap hook;
	struct spill_heap sp; /* where the storage really comes from */
	bool va;
	void *st;	 /* the list */
	uint64_t victim; /* a unit the heap gives back from inside the growth */
	int nested_rc;
	unsigned calls;
};

static void *echo_alloc(void *ctx, unsigned cpu, size_t bytes)
{
	struct echo_hook *e = ctx;
	uint64_t x;
	if (e->calls++ == 0 && e->va) {
		va_freelist_ops.free(e->st, cpu, e->victim << PAGE_SHIFT, PAGE_SIZE);
		e->nested_rc = va_freelist_ops.alloc(e->st, cpu, PAGE_SIZE, 0, &x);
	} else if (e->calls == 1) {
		frame_freelist_ops.free(e->st, cpu, e->victim, 0);
		e->nested_rc = frame_freelist_ops.alloc(e->st, cpu, 0, &x);
	}
	return e->sp.hook.alloc(e->sp.hook.ctx, cpu, bytes);
}

static void echo_free(void *ctx, unsigned cpu, void *p, size_t bytes)
{
	struct echo_hook *e = ctx;
	e->sp.hook.free(e->sp.hook.ctx, cpu, p, bytes);
}

/* One unit of the echo list: alloc (*x) or free (x) on cpu 1. */
static int echo_op(struct echo_hook *e, bool alloc, uint64_t *x)
{
	if (e->va && alloc) {
		int rc = va_freelist_ops.alloc(e->st, 1, PAGE_SIZE, 0, x);
		*x >>= PAGE_SHIFT;
		return rc;
	}
	if (alloc)
		return frame_freelist_ops.alloc(e->st, 1, 0, x);
	if (e->va)
		va_freelist_ops.free(e->st, 1, *x << PAGE_SHIFT, PAGE_SIZE);
	else
		frame_freelist_ops.free(e->st, 1, *x, 0);
	return MM_OK;
}

static struct obs echo_observe(struct echo_hook *e)
{
	if (e->va) {
		struct va_stats s;
		CHECK(va_freelist_ops.check(e->st), "check");
		va_freelist_ops.stats(e->st, &s);
		return (struct obs){.free = s.free_bytes >> PAGE_SHIFT,
				    .lost = s.lost_bytes >> PAGE_SHIFT,
				    .spill_allocs = s.spill_allocs,
				    .reentries = s.spill_reentries};
	}
	struct frame_stats s;
	CHECK(frame_freelist_ops.check(e->st), "check");
	frame_freelist_ops.stats(e->st, &s);
	CHECK(frame_freelist_ops.alloc_at(e->st, e->victim, 0) == MM_EBUSY, "a lost frame is free");
	return (struct obs){.free = s.free_frames,
			    .lost = s.lost_frames,
			    .spill_allocs = s.spill_allocs,
			    .reentries = s.spill_reentries};
}

/* 256 units, 41 taken, 0, 2, ... 28 freed (16 ranges); freeing 30 grows the list,
 * and the heap frees unit 40 and allocates one unit from inside that growth. */
static void echo(bool va)
{
	const uint64_t base = va ? 1ull << 28 : 0; /* in units */
	struct echo_hook e = {.hook = {&e, echo_alloc, echo_free}, .va = va, .victim = base + 40};
	spill_heap_init(&e.sp);
	e.st = zalloc64(va ? va_freelist_ops.state_size : frame_freelist_ops.state_size);
	struct mem_map map = {.count = 1, .r = {{0, 256 * PAGE_SIZE, MEM_USABLE}}};
	CHECK((va ? va_freelist_ops.init(e.st, base << PAGE_SHIFT, 256 * PAGE_SIZE, NULL, 0, NULL)
		  : frame_freelist_ops.init(e.st, &map, 2, NULL, 0)) == MM_OK,
	      "init");
	uint64_t x;
	for (uint64_t i = 0; i <= 40; i++)
		CHECK(echo_op(&e, true, &x) == MM_OK && x == base + i, "fill");
	if (va)
		va_freelist_ops.set_heap(e.st, &e.hook);
	else
		frame_freelist_ops.set_heap(e.st, &e.hook);
	for (x = base; x <= base + 30; x += 2) /* the last one needs the 17th range */
		echo_op(&e, false, &x);
	struct obs o = echo_observe(&e);
	CHECK(e.calls == 1 && e.nested_rc == MM_ENOMEM && o.spill_allocs == 1 && o.reentries == 2 &&
		  o.lost == 1 && o.free == 215 + 16,
	      "%s: nested calls: rc %d, %" PRIu64 " refused, %" PRIu64 " lost, %" PRIu64 " free",
	      va ? "va" : "frames", e.nested_rc, o.reentries, o.lost, o.free);
	spill_heap_fini(&e.sp);
	free(e.st);
	printf(
	    "  %s: a free and an alloc from inside a growth refused (the free lost), growth ok\n",
	    va ? "va" : "frames");
}

int main(void)
{
	frames_no_heap();
	frames_init_17();
	va_no_heap();
	echo(false);
	echo(true);
	printf("freelist_edge_test: ok\n");
	return 0;
}
