/* frame_test.c: both frame allocators (buddy, freelist) against a byte-per-frame
 * reference model: seeded random alloc/free/alloc_at sequences on a map with
 * holes, reserved ranges and a gap, full check() after every step, exact
 * accounting, exact ENOMEM (fails only when no aligned free block exists), the
 * freelist spill past 16 ranges, and a whole-machine fill/drain/1 GiB cycle. */
#include "frame_model.h"

#include "../frame_freelist.h"

/* How often each outcome happened (a test that never sees ENOMEM proves little). */
static uint64_t n_enomem, n_ok_at, n_busy_at, n_inval_at;

struct held {
	uint64_t pfn;
	unsigned order;
};

static unsigned pick_order(struct rng *r)
{
	uint64_t x = rng_below(r, 100);
	if (x < 55)
		return 0;
	if (x < 80)
		return (unsigned)(1 + rng_below(r, 3));
	if (x < 95)
		return (unsigned)(4 + rng_below(r, 5));
	return (unsigned)(9 + rng_below(r, 3));
}

static void expect_accounting(struct frame_inst *fi, struct frame_model *fm, int step)
{
	struct frame_stats s;
	fi->ops->stats(fi->st, &s);
	uint64_t mfree = frame_model_count(fm, FM_FREE), mused = frame_model_count(fm, FM_USED);
	CHECK(s.free_frames == mfree, "%s step %d: free %" PRIu64 " model %" PRIu64,
	      fi->ops->name, step, s.free_frames, mfree);
	CHECK(s.total_frames == mfree + mused, "%s step %d: total", fi->ops->name, step);
	CHECK(s.free_2m_blocks == frame_model_free_2m(fm), "%s step %d: free 2M %" PRIu64,
	      fi->ops->name, step, s.free_2m_blocks);
	uint64_t sum = 0, largest = 0;
	for (unsigned j = 0; j <= FRAME_MAX_ORDER; j++) {
		sum += s.free_blocks[j] << j;
		if (s.free_blocks[j]) {
			largest = PAGE_SIZE << j;
			CHECK(frame_model_has_block(fm, j), "%s: a free order-%u block the model lacks",
			      fi->ops->name, j);
		}
	}
	CHECK(sum == mfree && s.largest_free == largest, "%s step %d: free_blocks add to %" PRIu64,
	      fi->ops->name, step, sum);
}

static void op_alloc(struct frame_inst *fi, struct frame_model *fm, struct rng *r,
		     struct held *h, size_t *nh, unsigned ncpus, int step)
{
	unsigned order = pick_order(r);
	uint64_t pfn = 0;
	int rc = fi->ops->alloc(fi->st, (unsigned)rng_below(r, ncpus), order, &pfn);
	if (rc == MM_ENOMEM) {
		CHECK(!frame_model_has_block(fm, order),
		      "%s step %d: ENOMEM for order %u with a free block", fi->ops->name, step,
		      order);
		n_enomem++;
		return;
	}
	CHECK(rc == MM_OK, "%s alloc rc %d", fi->ops->name, rc);
	CHECK(pfn % (1ull << order) == 0, "%s: misaligned block", fi->ops->name);
	CHECK(frame_model_all(fm, pfn, order, FM_FREE),
	      "%s step %d: block %" PRIu64 "/%u not free in the model (twice, or a hole)",
	      fi->ops->name, step, pfn, order);
	memset(fm->s + pfn, FM_USED, 1ull << order);
	h[(*nh)++] = (struct held){pfn, order};
}

static void op_free(struct frame_inst *fi, struct frame_model *fm, struct rng *r,
		    struct held *h, size_t *nh, unsigned ncpus)
{
	if (*nh == 0)
		return;
	size_t i = (size_t)rng_below(r, *nh);
	fi->ops->free(fi->st, (unsigned)rng_below(r, ncpus), h[i].pfn, h[i].order);
	memset(fm->s + h[i].pfn, FM_FREE, 1ull << h[i].order);
	h[i] = h[--*nh];
}

static void op_alloc_at(struct frame_inst *fi, struct frame_model *fm, struct rng *r,
			struct held *h, size_t *nh, int step)
{
	unsigned order = pick_order(r) % 10;
	uint64_t pfn = MM_ALIGN_DOWN(rng_below(r, fm->n + 64), 1ull << order);
	int want = MM_OK;
	for (uint64_t i = 0; i < (1ull << order); i++) {
		uint8_t v = pfn + i < fm->n ? fm->s[pfn + i] : FM_NONE;
		if (v == FM_NONE) {
			want = MM_EINVAL;
			break;
		}
		if (v == FM_USED)
			want = MM_EBUSY;
	}
	int rc = fi->ops->alloc_at(fi->st, pfn, order);
	if (rc == MM_ENOMEM && want == MM_OK && fi->ops == &frame_freelist_ops) {
		struct frame_freelist_info info; /* no cpu to grow with: only when full */
		frame_freelist_info(fi->st, &info);
		if (info.ranges == info.capacity)
			want = MM_ENOMEM;
	}
	CHECK(rc == want, "%s step %d: alloc_at(%" PRIu64 ", %u) = %d, model says %d",
	      fi->ops->name, step, pfn, order, rc, want);
	n_ok_at += rc == MM_OK;
	n_busy_at += rc == MM_EBUSY;
	n_inval_at += rc == MM_EINVAL;
	if (rc == MM_OK) {
		memset(fm->s + pfn, FM_USED, 1ull << order);
		h[(*nh)++] = (struct held){pfn, order};
	}
}

static void random_sequence(const struct frame_ops *ops, uint64_t seed, int steps)
{
	struct mem_map map = frame_map_holes(24);
	struct frame_inst fi;
	struct frame_model fm;
	const unsigned ncpus = 4;
	frame_inst_init(&fi, ops, &map, ncpus);
	frame_model_init(&fm, &map);
	struct held *h = calloc(fm.n + 1, sizeof(*h));
	size_t nh = 0;
	struct rng r = {seed};
	expect_accounting(&fi, &fm, -1);
	for (int step = 0; step < steps; step++) {
		/* Phases: fill up, churn, drain, so ENOMEM and coalescing both happen. */
		int phase = (step / 1000) % 3;
		uint64_t x = rng_below(&r, 100);
		uint64_t p_alloc = phase == 0 ? 75 : phase == 1 ? 50 : 25;
		if (x < 8)
			op_alloc_at(&fi, &fm, &r, h, &nh, step);
		else if (x < 8 + p_alloc)
			op_alloc(&fi, &fm, &r, h, &nh, ncpus, step);
		else
			op_free(&fi, &fm, &r, h, &nh, ncpus);
		CHECK(ops->check(fi.st), "check");
		if (step % 16 == 0)
			expect_accounting(&fi, &fm, step);
	}
	while (nh)
		op_free(&fi, &fm, &r, h, &nh, ncpus);
	CHECK(ops->check(fi.st), "check");
	expect_accounting(&fi, &fm, steps);
	struct frame_stats s;
	ops->stats(fi.st, &s);
	CHECK(s.free_frames == mem_map_bytes(&map, MEM_USABLE) >> PAGE_SHIFT, "all back");
	printf("  %s: %d random steps ok (meta %" PRIu64 " bytes; ENOMEM %" PRIu64
	       ", alloc_at ok/busy/inval %" PRIu64 "/%" PRIu64 "/%" PRIu64 ")\n",
	       ops->name, steps, s.meta_bytes, n_enomem, n_ok_at, n_busy_at, n_inval_at);
	CHECK(n_enomem > 10 && n_ok_at > 10 && n_busy_at > 10 && n_inval_at > 0,
	      "the sequence missed an outcome");
	n_enomem = n_ok_at = n_busy_at = n_inval_at = 0;
	free(h);
	free(fm.s);
	frame_inst_fini(&fi);
}

/* The guest test on the host: allocate every frame of a ~2 GiB machine with
 * holes, the count equals usable memory, free all, then take the one 1 GiB block. */
static void fill_all(const struct frame_ops *ops)
{
	struct mem_map map = frame_map_holes(768);
	CHECK(mem_map_set(&map, 1ull << 30, (1ull << 30) + (5 << 20), MEM_USABLE) == 0, "map");
	CHECK(mem_map_set(&map, (2ull << 30) + (1 << 20), 3 * PAGE_SIZE, MEM_RESERVED) == 0, "map");
	struct frame_inst fi;
	frame_inst_init(&fi, ops, &map, 2);
	uint64_t usable = mem_map_bytes(&map, MEM_USABLE) >> PAGE_SHIFT;
	uint64_t *p = malloc(usable * sizeof(*p)), n = 0, pfn;
	while (ops->alloc(fi.st, (unsigned)(n & 1), 0, &pfn) == MM_OK) {
		CHECK(n < usable, "%s: more frames than usable memory", ops->name);
		p[n++] = pfn;
	}
	CHECK(n == usable, "%s: got %" PRIu64 " of %" PRIu64 " frames", ops->name, n, usable);
	CHECK(ops->check(fi.st), "check");
	for (uint64_t i = 0; i < n; i++)
		ops->free(fi.st, (unsigned)(i & 1), p[i], 0);
	CHECK(ops->check(fi.st), "check");
	CHECK(ops->alloc(fi.st, 0, FRAME_ORDER_1G, &pfn) == MM_OK, "%s: no 1 GiB block", ops->name);
	CHECK(pfn == (1ull << 18), "%s: 1 GiB block at pfn %" PRIu64, ops->name, pfn);
	ops->free(fi.st, 0, pfn, FRAME_ORDER_1G);
	CHECK(ops->alloc_at(fi.st, 1ull << 18, FRAME_ORDER_1G) == MM_OK, "alloc_at 1G");
	CHECK(ops->alloc(fi.st, 0, FRAME_ORDER_1G, &pfn) == MM_ENOMEM, "second 1G block?");
	CHECK(ops->alloc(fi.st, 0, FRAME_MAX_ORDER + 1, &pfn) == MM_EINVAL, "order 19");
	struct frame_stats s;
	ops->stats(fi.st, &s);
	printf("  %s: filled %" PRIu64 " frames, 1 GiB block ok, %.3f bits/frame\n", ops->name,
	       n, (double)s.meta_bytes * 8 / (double)usable);
	free(p);
	frame_inst_fini(&fi);
}

/* 10,000 free ranges: the freelist spills out of its 16 inline slots into its heap
 * (frame_inst's malloc spill_heap), doubling, and keeps that capacity. */
static void freelist_spill(void)
{
	const struct frame_ops *ops = &frame_freelist_ops;
	struct mem_map map = {.count = 1, .r = {{0, 256 << 20, MEM_USABLE}}};
	struct frame_inst fi;
	frame_inst_init(&fi, ops, &map, 1);
	uint64_t pfn;
	for (uint64_t i = 0; i < 20000; i++)
		CHECK(ops->alloc(fi.st, 0, 0, &pfn) == MM_OK && pfn == i, "fill");
	for (uint64_t i = 0; i < 20000; i += 2)
		ops->free(fi.st, 0, i, 0);
	CHECK(ops->check(fi.st), "check");
	struct frame_freelist_info info;
	frame_freelist_info(fi.st, &info);
	CHECK(info.ranges == 10001 && info.spilled && info.capacity == 16384 &&
		  info.spill_allocs == 10,
	      "ranges %" PRIu64 " capacity %" PRIu64, info.ranges, info.capacity);
	struct frame_stats s;
	ops->stats(fi.st, &s);
	CHECK(fi.spill.live_bytes == 16384 * 16 && fi.spill.allocs == 10 && fi.spill.frees == 9 &&
		  s.meta_bytes == ops->state_size + 16384 * 16 && s.spill_allocs == 10,
	      "spill heap: %" PRIu64 " bytes live, meta %" PRIu64, fi.spill.live_bytes,
	      s.meta_bytes);
	for (uint64_t i = 1; i < 20000; i += 2)
		ops->free(fi.st, 0, i, 0);
	frame_freelist_info(fi.st, &info);
	CHECK(info.ranges == 1 && info.max_ranges == 10001 && info.capacity == 16384,
	      "merged back (capacity kept: no shrink)");
	CHECK(ops->check(fi.st), "check");
	printf("  freelist: spilled to %" PRIu64 " slots for 10001 ranges\n", info.capacity);
	frame_inst_fini(&fi);
}

int main(void)
{
	uint64_t seed = test_seed("frame_test", 42);
	const struct frame_ops *all[] = {&frame_buddy_ops, &frame_freelist_ops};
	for (int i = 0; i < 2; i++) {
		random_sequence(all[i], seed, 6000);
		fill_all(all[i]);
	}
	freelist_spill();
	printf("frame_test: ok\n");
	return 0;
}
