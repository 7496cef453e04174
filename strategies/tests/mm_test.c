/* mm_test.c: the mm API over both frame allocators and the reference VA allocator.
 * Layout requests of odd sizes and alignments leave exactly ceil(size/4K) frames
 * allocated (checked against a byte-per-frame model and the allocator's own
 * free count after every step), pow2 and page-size requests are naturally
 * aligned, malformed requests are MM_EINVAL, the VA half hands out aligned,
 * disjoint ranges whose reserved bytes add up, and the Early region plan takes
 * exactly the lowest usable frames, which the allocators then never hand out. */
#include "frame_model.h"
#include "va_ref.h"

#include "../mm.h"

struct live {
	uint64_t pa;
	struct mm_req req;
	uint64_t frames;
};

static struct mm_req random_req(struct rng *r)
{
	static const uint64_t sizes[] = {1, 4096, 3 * 4096, 5 * 4096, 1000 * 4096, 4097,
					 7 * 4096 - 1, 513 * 4096, 100, 65 * 4096};
	static const uint64_t aligns[] = {0, 1, 4096, 16384, 65536, 2 << 20};
	switch (rng_below(r, 4)) {
	case 0:
		return mm_req_pow2((unsigned)(10 + rng_below(r, 13)));
	case 1:
		return mm_req_page(rng_below(r, 8) ? MM_PAGE_4K : MM_PAGE_2M);
	default:
		return mm_req_layout(sizes[rng_below(r, 10)], aligns[rng_below(r, 6)]);
	}
}

static void expect_free(struct mm *mm, struct frame_model *fm, const char *what)
{
	struct frame_stats s;
	mm->frames->stats(mm->frame_st, &s);
	CHECK(s.free_frames == frame_model_count(fm, FM_FREE), "%s %s: free %" PRIu64
	      " model %" PRIu64, mm->frames->name, what, s.free_frames, frame_model_count(fm, FM_FREE));
	CHECK(mm->frames->check(mm->frame_st), "check");
}

static void frames_sequence(const struct frame_ops *ops, uint64_t seed)
{
	struct mem_map map = frame_map_holes(48);
	struct frame_inst fi;
	struct frame_model fm;
	struct mm mm;
	frame_inst_init(&fi, ops, &map, 2);
	frame_model_init(&fm, &map);
	CHECK(mm_init(&mm, 2, ops, fi.st, NULL, NULL, NULL) == MM_OK, "mm_init");
	struct live *lv = calloc(4096, sizeof(*lv));
	size_t n = 0;
	struct rng r = {seed};
	uint64_t odd = 0;
	for (int step = 0; step < 3000; step++) {
		if (n && (rng_below(&r, 100) < 40 || n == 4096)) {
			size_t i = (size_t)rng_below(&r, n);
			mm_frames_free(&mm, (unsigned)(step & 1), lv[i].pa, lv[i].req);
			memset(fm.s + (lv[i].pa >> PAGE_SHIFT), FM_FREE, lv[i].frames);
			lv[i] = lv[--n];
		} else {
			struct mm_req q = random_req(&r);
			uint64_t size, align, pa;
			CHECK(mm_req_bytes(q, &size, &align) == MM_OK, "req");
			int rc = mm_frames_alloc(&mm, (unsigned)(step & 1), q, &pa);
			if (rc == MM_ENOMEM)
				continue;
			CHECK(rc == MM_OK && pa % align == 0, "%s: alloc rc %d, pa %" PRIx64 " align %"
			      PRIx64, ops->name, rc, pa, align);
			uint64_t nf = size >> PAGE_SHIFT, pfn = pa >> PAGE_SHIFT;
			for (uint64_t k = 0; k < nf; k++)
				CHECK(fm.s[pfn + k] == FM_FREE, "%s: frame %" PRIu64 " not free", ops->name,
				      pfn + k);
			memset(fm.s + pfn, FM_USED, nf);
			odd += !MM_IS_POW2(nf);
			lv[n++] = (struct live){pa, q, nf};
		}
		expect_free(&mm, &fm, "step");
	}
	while (n) {
		n--;
		mm_frames_free(&mm, 0, lv[n].pa, lv[n].req);
		memset(fm.s + (lv[n].pa >> PAGE_SHIFT), FM_FREE, lv[n].frames);
	}
	expect_free(&mm, &fm, "end");
	CHECK(odd > 100, "too few odd-sized requests (%" PRIu64 ")", odd);
	printf("  %s: 3000 mm steps ok, %" PRIu64 " odd-sized layouts\n", ops->name, odd);
	free(lv);
	free(fm.s);
	frame_inst_fini(&fi);
}

/* The examples from the issue, one at a time, and the page sizes up to 1 GiB. */
static void frames_exact(const struct frame_ops *ops)
{
	struct mem_map map = frame_map_holes(768);
	CHECK(mem_map_set(&map, 1ull << 30, 1ull << 30, MEM_USABLE) == 0, "map");
	struct frame_inst fi;
	struct mm mm;
	frame_inst_init(&fi, ops, &map, 1);
	CHECK(mm_init(&mm, 1, ops, fi.st, NULL, NULL, NULL) == MM_OK, "mm_init");
	struct frame_stats s0, s;
	ops->stats(fi.st, &s0);
	static const uint64_t frames[] = {3, 5, 1000, 1, 513, 262143};
	static const uint64_t aligns[] = {4096, 65536, 1 << 20, 2 << 20, 4096};
	for (int i = 0; i < 6; i++) {
		for (int a = 0; a < 5; a++) {
			struct mm_req q = mm_req_layout(frames[i] * 4096, aligns[a]);
			uint64_t pa;
			CHECK(mm_frames_alloc(&mm, 0, q, &pa) == MM_OK, "layout %" PRIu64, frames[i]);
			CHECK(pa % aligns[a] == 0, "alignment");
			ops->stats(fi.st, &s);
			CHECK(s0.free_frames - s.free_frames == frames[i], "%s: %" PRIu64
			      " frames asked, %" PRIu64 " taken", ops->name, frames[i],
			      s0.free_frames - s.free_frames);
			mm_frames_free(&mm, 0, pa, q);
			ops->stats(fi.st, &s);
			CHECK(s.free_frames == s0.free_frames && ops->check(fi.st), "free");
		}
	}
	enum mm_page_size ps[] = {MM_PAGE_4K, MM_PAGE_2M, MM_PAGE_1G};
	for (int i = 0; i < 3; i++) {
		uint64_t pa;
		CHECK(mm_frames_alloc(&mm, 0, mm_req_page(ps[i]), &pa) == MM_OK, "page %d", i);
		CHECK(pa % (1ull << ps[i]) == 0, "page alignment");
		mm_frames_free(&mm, 0, pa, mm_req_page(ps[i]));
	}
	uint64_t pa;
	CHECK(mm_frames_alloc(&mm, 0, mm_req_layout(0, 0), &pa) == MM_EINVAL, "size 0");
	CHECK(mm_frames_alloc(&mm, 0, mm_req_layout(4096, 3000), &pa) == MM_EINVAL, "align");
	CHECK(mm_frames_alloc(&mm, 0, mm_req_layout(SIZE_1G + 1, 0), &pa) == MM_EINVAL, ">1G");
	CHECK(mm_frames_alloc(&mm, 0, mm_req_page((enum mm_page_size)13), &pa) == MM_EINVAL,
	      "page size");
	CHECK(mm_frames_alloc(&mm, 0, mm_req_pow2(31), &pa) == MM_EINVAL, "2 GiB");
	ops->stats(fi.st, &s);
	CHECK(s.free_frames == s0.free_frames, "leak");
	printf("  %s: exact layouts and page sizes ok\n", ops->name);
	frame_inst_fini(&fi);
}

static void va_half(void)
{
	struct va_ops const *vo = &va_ref_ops;
	uint64_t base = 1ull << 40, size = 256ull << 20;
	void *vst = calloc(1, vo->state_size), *vmeta = calloc(1, vo->meta_size(base, size));
	CHECK(vo->init(vst, base, size, vmeta, vo->meta_size(base, size), NULL) == MM_OK, "va");
	struct mem_map map = frame_map_holes(16);
	struct frame_inst fi;
	struct mm mm;
	frame_inst_init(&fi, &frame_buddy_ops, &map, 1);
	CHECK(mm_init(&mm, 1, fi.ops, fi.st, vo, vst, NULL) == MM_OK, "mm_init");
	struct rng r = {99};
	uint64_t addr[200], bytes = 0;
	struct mm_req q[200];
	for (int i = 0; i < 200; i++) {
		uint64_t sz, al;
		q[i] = random_req(&r);
		CHECK(mm_req_bytes(q[i], &sz, &al) == MM_OK, "req");
		CHECK(mm_va_alloc(&mm, 0, q[i], &addr[i]) == MM_OK, "va alloc %d", i);
		CHECK(addr[i] % al == 0 && addr[i] >= base && addr[i] + sz <= base + size, "range");
		for (int j = 0; j < i; j++) {
			uint64_t sj, aj;
			mm_req_bytes(q[j], &sj, &aj);
			CHECK(addr[i] + sz <= addr[j] || addr[j] + sj <= addr[i], "overlap %d %d", i, j);
		}
		bytes += sz;
	}
	struct va_stats vs;
	vo->stats(vst, &vs);
	CHECK(vs.reserved_bytes == bytes, "reserved %" PRIu64 " != %" PRIu64, vs.reserved_bytes,
	      bytes);
	for (int i = 0; i < 200; i++)
		mm_va_free(&mm, 0, addr[i], q[i]);
	vo->stats(vst, &vs);
	CHECK(vs.reserved_bytes == 0 && vo->check(vst), "va not all back");
	struct mm bare;
	CHECK(mm_init(&bare, 1, fi.ops, fi.st, NULL, NULL, NULL) == MM_OK, "mm_init");
	CHECK(mm_va_alloc(&bare, 0, q[0], &addr[0]) == MM_EINVAL, "no VA allocator");
	printf("  va: 200 ranges ok\n");
	frame_inst_fini(&fi);
	free(vst);
	free(vmeta);
}

/* The Early region: frames for the metadata and its page tables come from the
 * start of usable memory across a hole; the allocator then never hands them out
 * and every other usable frame exactly once. */
static void early_region(const struct frame_ops *ops)
{
	struct mem_map map = frame_map_holes(64);
	CHECK(mem_map_set(&map, (1 << 20) + 2 * PAGE_SIZE, 3 * PAGE_SIZE, MEM_RESERVED) == 0, "map");
	struct frame_model before;
	frame_model_init(&before, &map);
	uint64_t usable = mem_map_bytes(&map, MEM_USABLE) >> PAGE_SHIFT;
	size_t meta_len = ops->meta_size(&map, 2);
	/* at least 4 frames (the free list has no meta area): the Early frames then span
	 * the 2 usable frames before the hole */
	uint64_t early_bytes = MM_MAX(meta_len, 4 * PAGE_SIZE);
	uint64_t n = mm_early_frames(early_bytes);
	CHECK(n > (early_bytes + 4095) / 4096, "page-table frames not counted");
	struct mem_map taken;
	CHECK(mm_early_carve(&map, n, &taken) == MM_OK, "carve");
	CHECK(taken.count >= 2, "the Early frames should span the hole (got %u ranges)", taken.count);
	CHECK(mem_map_bytes(&map, MEM_USABLE) >> PAGE_SHIFT == usable - n, "usable after carve");
	CHECK(mem_map_bytes(&taken, MEM_KERNEL) >> PAGE_SHIFT == n, "taken bytes");
	uint64_t p = 0, k = 0; /* taken == the n lowest usable frames */
	for (; k < n; p++)
		if (before.s[p] == FM_FREE) {
			bool in = false;
			for (uint32_t i = 0; i < taken.count; i++)
				in |= p << PAGE_SHIFT >= taken.r[i].base &&
				      p << PAGE_SHIFT < taken.r[i].base + taken.r[i].len;
			CHECK(in, "frame %" PRIu64 " skipped by the carve", p);
			k++;
		}
	CHECK(ops->meta_size(&map, 2) <= meta_len, "carving grew the metadata");
	struct frame_inst fi;
	frame_inst_init(&fi, ops, &map, 2);
	uint64_t pfn, got = 0;
	while (ops->alloc(fi.st, (unsigned)(got & 1), 0, &pfn) == MM_OK) {
		CHECK(before.s[pfn] == FM_FREE && pfn >= p, "%s: frame %" PRIu64 " is Early or a hole",
		      ops->name, pfn);
		got++;
	}
	CHECK(got == usable - n, "%s: %" PRIu64 " frames, want %" PRIu64, ops->name, got, usable - n);
	struct mem_map small = {.count = 1, .r = {{0, 64 * PAGE_SIZE, MEM_USABLE}}}, t2;
	CHECK(mm_early_carve(&small, 65, &t2) == MM_ENOMEM && small.count == 1 &&
		      small.r[0].type == MEM_USABLE, "too few frames must leave the map alone");
	printf("  %s: Early region of %" PRIu64 " frames in %u ranges ok\n", ops->name, n,
	       taken.count);
	free(before.s);
	frame_inst_fini(&fi);
}

int main(void)
{
	uint64_t seed = test_seed("mm_test", 3);
	const struct frame_ops *all[] = {&frame_buddy_ops, &frame_freelist_ops};
	for (int i = 0; i < 2; i++) {
		frames_sequence(all[i], seed);
		frames_exact(all[i]);
		early_region(all[i]);
	}
	va_half();
	printf("mm_test: ok\n");
	return 0;
}
