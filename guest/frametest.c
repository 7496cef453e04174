/* frametest.c: the `frametest` command, the frame allocator (PHYS_OPS) checked
 * against the memory map on every CPU.
 *
 * 1. Every CPU allocates 4 KiB frames until MM_ENOMEM and sets each frame's bit
 *    in a shared bitmap (early_alloc) with an atomic OR: a bit already set is a
 *    duplicate; a frame outside the usable part of boot.map0 or inside the Early
 *    region is "bad". Expectation, computed from the map alone:
 *      frames == usable(boot.map0) - early frames - bump frames - replay machine frames
 *                - frames the kernel holds
 *    (kmem.held: heap, VA metadata, page tables, this bitmap).
 * 2. The largest naturally aligned block entirely inside the allocated set
 *    (max_order) is computed from the bitmap.
 * 3. Every CPU frees an interleaved share of the bitmap (cross-CPU frees); free
 *    frames must be back to their count before step 1.
 * Also every Early frame k must be mapped at EARLY_BASE + k * 4 KiB (the Early region
 * may span holes: `earlypad=MiB` makes it large enough to in tests).
 * 4. One block of order max_order (1 GiB when memory allows, else the largest that
 *    fits; the row says which) must be allocatable, aligned and inside the map, and,
 *    below 1 GiB, one of order max_order + 1 must not.
 */
#include "kmem.h"
#include "layout.h"
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

/* Every Early meta frame is mapped where mm_init says (EARLY_BASE + k * 4 KiB). */
static bool early_map_ok(void)
{
	for (uint64_t k = 0; k < kmem.early_meta_frames; k++)
		if (paging_lookup(EARLY_BASE + (k << PAGE_SHIFT)) != kmem_early_nth(k))
			return false;
	return true;
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

/* The expectation and the measured numbers of one run. */
struct ft_res {
	uint64_t map_frames, expected, held, alloc_ns, free_ns;
	struct frame_stats s0, s1;
	unsigned order;
	int got;
	bool block_ok, early_ok, ok;
};

static void ft_emit(const struct ft *t, const struct ft_res *r)
{
	bool g1 = r->order == FRAME_MAX_ORDER && r->block_ok;
	result_emit(
	    "frametest",
	    "\"cpus\":%u,\"regions\":%u,\"frames\":%lu,\"expected_frames\":%lu,\"map_frames\":%lu,"
	    "\"early_frames\":%lu,\"bump_frames\":%lu,\"held_frames\":%lu,"
	    "\"total_frames\":%lu,\"dups\":%lu,\"bad\":%lu,\"free_before_frames\":%lu,"
	    "\"free_after_frames\":%lu,\"max_order\":%u,\"block_order\":%d,\"block_1g\":%s,"
	    "\"early_ranges\":%u,\"early_map_ok\":%s,\"alloc_ns\":%lu,\"free_ns\":%lu,"
	    "\"ok\":%s",
	    smp_ncpus(), boot.map0.count, t->count, r->expected, r->map_frames, kmem.early_frames,
	    kmem.bump_frames, r->held, r->s0.total_frames, t->dups, t->bad, r->s0.free_frames,
	    r->s1.free_frames, r->order, r->got, g1 ? "true" : "false", kmem.early.count,
	    r->early_ok ? "true" : "false", r->alloc_ns, r->free_ns, r->ok ? "true" : "false");
	kprintf("frametest: %lu frames (expected %lu), largest block order %u (%lu KiB)%s: %s\n",
		t->count, r->expected, r->order, (PAGE_SIZE << r->order) >> 10,
		r->order == FRAME_MAX_ORDER ? ", 1 GiB" : ", less than 1 GiB fits",
		r->ok ? "ok" : "FAILED");
}

int cmd_frametest(int argc, char **argv, const char *val)
{
	static struct ft t;
	struct ft_res r = {0};
	t.nbits = mem_map_end(&boot.map0) >> PAGE_SHIFT;
	uint64_t pa;
	if (early_alloc(MM_ALIGN_UP(t.nbits, 64) / 8, PAGE_SIZE, &pa) != MM_OK) {
		kprintf("frametest: no memory for the bitmap\n");
		return 1;
	}
	t.bits = (uint64_t *)(uintptr_t)pa;
	PHYS_OPS.stats(kmem.frame_st, &r.s0);
	r.held = atomic_load_acq(&kmem.held);
	uint64_t t0 = rdtsc();
	smp_run_all(alloc_all, &t);
	uint64_t t1 = rdtsc();
	r.map_frames = usable_frames(&boot.map0);
	uint64_t owned = r.map_frames - kmem.early_frames - kmem.bump_frames -
			 (kmem.replay_len >> PAGE_SHIFT);
	r.expected = owned - r.held;
	r.order = max_free_order(&t);
	smp_run_all(free_share, &t);
	r.alloc_ns = tsc_to_ns(t1 - t0);
	r.free_ns = tsc_to_ns(rdtsc() - t1);
	PHYS_OPS.stats(kmem.frame_st, &r.s1);
	r.block_ok = block_check(r.order, &r.got) == 0;
	r.early_ok = early_map_ok();
	r.ok = r.early_ok && t.count == r.expected && t.dups == 0 && t.bad == 0 && r.s0.total_frames == owned &&
	       r.s1.free_frames == r.s0.free_frames && r.block_ok && PHYS_OPS.check(kmem.frame_st);
	ft_emit(&t, &r);
	return r.ok ? 0 : 1;
}
