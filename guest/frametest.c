/* frametest.c: the `frametest` command, the frame allocator (PHYS_OPS) checked
 * against the memory map on every CPU.
 *
 * 1. Every CPU allocates 4 KiB frames until MM_ENOMEM and sets each frame's bit
 *    in a shared bitmap (early_alloc) with an atomic OR: a bit already set is a
 *    duplicate; a frame outside the usable part of boot.map0 or inside the Early
 *    region is "bad". Expectation, computed from the map alone:
 *      frames == usable(boot.map0) - early frames - bump frames - frames the kernel holds
 *    (kmem.held: heap, VA metadata, page tables, this bitmap).
 * 2. The largest naturally aligned block entirely inside the allocated set
 *    (max_order) is computed from the bitmap.
 * 3. Every CPU frees an interleaved share of the bitmap (cross-CPU frees); free
 *    frames must be back to their count before step 1.
 * 4. One block of order max_order (1 GiB when memory allows, else the largest that
 *    fits; the row says which) must be allocatable, aligned and inside the map, and,
 *    below 1 GiB, one of order max_order + 1 must not.
 */
#include "kmem.h"
#include "x86.h"

struct ft {
	uint64_t *bits;
	uint64_t nbits;
	uint64_t count, dups, bad;
};

static bool frame_ok(uint64_t pfn)
{
	uint64_t pa = pfn << PAGE_SHIFT;
	return mem_map_covers(&boot.map0, pa, PAGE_SIZE, MEM_USABLE) &&
	       !mem_map_covers(&kmem.early, pa, PAGE_SIZE, MEM_KERNEL);
}

static void alloc_all(unsigned cpu, void *arg)
{
	struct ft *t = arg;
	uint64_t pfn, n = 0, dups = 0, bad = 0;
	while (PHYS_OPS.alloc(kmem.frame_st, cpu, 0, &pfn) == MM_OK) {
		n++;
		if (pfn >= t->nbits || !frame_ok(pfn)) {
			bad++;
			continue;
		}
		uint64_t bit = 1ull << (pfn & 63);
		if (__atomic_fetch_or(&t->bits[pfn >> 6], bit, __ATOMIC_RELAXED) & bit)
			dups++;
	}
	atomic_fetch_add_acqrel(&t->count, n);
	atomic_fetch_add_acqrel(&t->dups, dups);
	atomic_fetch_add_acqrel(&t->bad, bad);
}

static void free_share(unsigned cpu, void *arg)
{
	struct ft *t = arg;
	unsigned n = smp_ncpus();
	for (uint64_t w = cpu; w < (t->nbits + 63) / 64; w += n)
		for (uint64_t b = t->bits[w]; b; b &= b - 1)
			PHYS_OPS.free(kmem.frame_st, cpu, w * 64 + (unsigned)__builtin_ctzll(b), 0);
}

static bool bit_set(const struct ft *t, uint64_t pfn)
{
	return pfn < t->nbits && (t->bits[pfn >> 6] >> (pfn & 63)) & 1;
}

/* Largest k <= FRAME_MAX_ORDER with an aligned 2^k block of set bits. */
static unsigned max_free_order(const struct ft *t)
{
	int best = -1;
	uint64_t pfn = 0;
	while (pfn < t->nbits) {
		if (!bit_set(t, pfn)) {
			pfn++;
			continue;
		}
		uint64_t end = pfn;
		while (end < t->nbits && bit_set(t, end))
			end++;
		for (int k = FRAME_MAX_ORDER; k > best; k--) {
			uint64_t a = MM_ALIGN_UP(pfn, 1ull << k);
			if (a + (1ull << k) <= end) {
				best = k;
				break;
			}
		}
		pfn = end;
	}
	return best < 0 ? 0 : (unsigned)best;
}

static uint64_t usable_frames(const struct mem_map *m)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < m->count; i++) {
		uint64_t b = MM_ALIGN_UP(m->r[i].base, PAGE_SIZE);
		uint64_t e = MM_ALIGN_DOWN(m->r[i].base + m->r[i].len, PAGE_SIZE);
		if (m->r[i].type == MEM_USABLE && e > b)
			n += (e - b) >> PAGE_SHIFT;
	}
	return n;
}

/* Step 4: 0 ok, else 1; *got = the order obtained. */
static int block_check(unsigned order, int *got)
{
	uint64_t pfn, pfn2;
	*got = -1;
	if (PHYS_OPS.alloc(kmem.frame_st, 0, order, &pfn) != MM_OK)
		return 1;
	*got = (int)order;
	bool ok = (pfn & ((1ull << order) - 1)) == 0 &&
		  mem_map_covers(&boot.map, pfn << PAGE_SHIFT, PAGE_SIZE << order, MEM_USABLE);
	if (order < FRAME_MAX_ORDER &&
	    PHYS_OPS.alloc(kmem.frame_st, 0, order + 1, &pfn2) == MM_OK) {
		*got = (int)order + 1;
		PHYS_OPS.free(kmem.frame_st, 0, pfn2, order + 1);
		ok = false;
	}
	PHYS_OPS.free(kmem.frame_st, 0, pfn, order);
	return ok ? 0 : 1;
}

int cmd_frametest(int argc, char **argv, const char *val)
{
	static struct ft t;
	unsigned n = smp_ncpus();
	t.nbits = mem_map_end(&boot.map0) >> PAGE_SHIFT;
	uint64_t pa;
	if (early_alloc(MM_ALIGN_UP(t.nbits, 64) / 8, PAGE_SIZE, &pa) != MM_OK) {
		kprintf("frametest: no memory for the bitmap\n");
		return 1;
	}
	t.bits = (uint64_t *)(uintptr_t)pa;
	struct frame_stats s0, s1;
	PHYS_OPS.stats(kmem.frame_st, &s0);
	uint64_t held = atomic_load_acq(&kmem.held), t0 = rdtsc();
	smp_run_all(alloc_all, &t);
	uint64_t t1 = rdtsc();
	uint64_t map_frames = usable_frames(&boot.map0);
	uint64_t expected = map_frames - kmem.early_frames - kmem.bump_frames - held;
	unsigned order = max_free_order(&t);
	smp_run_all(free_share, &t);
	uint64_t t2 = rdtsc();
	PHYS_OPS.stats(kmem.frame_st, &s1);
	int got;
	int block_rc = block_check(order, &got);
	bool total_ok = s0.total_frames == map_frames - kmem.early_frames - kmem.bump_frames;
	bool ok = t.count == expected && t.dups == 0 && t.bad == 0 && total_ok &&
		  s1.free_frames == s0.free_frames && block_rc == 0 && PHYS_OPS.check(kmem.frame_st);
	result_emit("frametest",
		    "\"cpus\":%u,\"regions\":%u,\"frames\":%lu,\"expected\":%lu,\"map_frames\":%lu,"
		    "\"early_frames\":%lu,\"bump_frames\":%lu,\"held_frames\":%lu,"
		    "\"total_frames\":%lu,\"dups\":%lu,\"bad\":%lu,\"free_before\":%lu,"
		    "\"free_after\":%lu,\"max_order\":%u,\"block_order\":%d,\"block_1g\":%s,"
		    "\"alloc_ns\":%lu,\"free_ns\":%lu,\"ok\":%s",
		    n, boot.map0.count, t.count, expected, map_frames, kmem.early_frames,
		    kmem.bump_frames, held, s0.total_frames, t.dups, t.bad, s0.free_frames,
		    s1.free_frames, order, got, order == FRAME_MAX_ORDER && block_rc == 0 ? "true" : "false",
		    tsc_to_ns(t1 - t0), tsc_to_ns(t2 - t1), ok ? "true" : "false");
	kprintf("frametest: %lu frames (expected %lu), largest block order %u (%lu KiB)%s: %s\n",
		t.count, expected, order, (PAGE_SIZE << order) >> 10,
		order == FRAME_MAX_ORDER ? ", 1 GiB" : ", less than 1 GiB fits", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
