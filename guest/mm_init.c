/* mm_init.c: the kernel's memory at boot: the Early region, the frame allocator
 * (PHYS_OPS), the VA allocator (VIRT_OPS) over Managed and the kernel heap
 * (HEAP_OPS), in that order (layout.h draws the regions; mm.h gives the plan).
 *
 * Early region: one contiguous piece holding, 64-byte aligned, the frame state,
 * its metadata (meta_size of the map before carving: carving only shrinks it),
 * the VA state and metadata and the heap state. Its frames are the lowest usable
 * frames (mm_early_carve: may span holes), mapped one after another at EARLY_BASE;
 * the page tables of that mapping come from the carved frames too, so
 *   early.frames == mm_early_frames(bytes) == meta frames + table frames (+ spare).
 * Every other usable frame of boot.map is then given to PHYS_OPS. From here on the
 * Early bump allocator (early.c) and every new page-table frame (paging.c's static
 * pool is no longer used) come from the frame allocator through kframe_ops, a
 * counting wrapper, so at any quiescent point
 *   PHYS_OPS free frames == usable(boot.map0) - early.frames - bump frames - kmem.held
 * (frametest checks this; boot.map0 is the map before any kernel allocation).
 */
#include "kmem.h"
#include "layout.h"
#include "../strategies/pagetable.h"

struct kmem kmem;
static struct heap_rl spill_heap; /* the free lists' spill storage: the kernel heap */

/* ---- kframe_ops: PHYS_OPS counting the frames the kernel holds ---- */
static int kf_init(void *st, const struct mem_map *map, unsigned ncpus, void *meta, size_t len)
{
	return MM_EINVAL; /* the wrapped instance is initialised by kmem_init */
}

static size_t kf_meta_size(const struct mem_map *map, unsigned ncpus)
{
	return 0;
}

static int kf_alloc(void *st, unsigned cpu, unsigned order, uint64_t *pfn)
{
	int rc = PHYS_OPS.alloc(kmem.frame_st, cpu, order, pfn);
	if (rc == MM_OK)
		atomic_fetch_add_rlx(&kmem.held, 1ull << order);
	return rc;
}

static void kf_free(void *st, unsigned cpu, uint64_t pfn, unsigned order)
{
	PHYS_OPS.free(kmem.frame_st, cpu, pfn, order);
	__atomic_fetch_sub(&kmem.held, 1ull << order, __ATOMIC_RELAXED);
}

static int kf_alloc_at(void *st, uint64_t pfn, unsigned order)
{
	int rc = PHYS_OPS.alloc_at(kmem.frame_st, pfn, order);
	if (rc == MM_OK)
		atomic_fetch_add_rlx(&kmem.held, 1ull << order);
	return rc;
}

static bool kf_check(const void *st)
{
	return PHYS_OPS.check(kmem.frame_st);
}

static void kf_stats(const void *st, struct frame_stats *out)
{
	PHYS_OPS.stats(kmem.frame_st, out);
}

const struct frame_ops kframe_ops = {
    .name = PHYS_NAME,
    .state_size = 0,
    .meta_size = kf_meta_size,
    .init = kf_init,
    .alloc = kf_alloc,
    .free = kf_free,
    .alloc_at = kf_alloc_at,
    .check = kf_check,
    .stats = kf_stats,
};

/* ---- the Early region ---- */

uint64_t kmem_early_nth(uint64_t k)
{
	for (uint32_t i = 0; i < kmem.early.count; i++) {
		uint64_t n = kmem.early.r[i].len >> PAGE_SHIFT;
		if (k < n)
			return kmem.early.r[i].base + (k << PAGE_SHIFT);
		k -= n;
	}
	guest_panic("mm_init: Early frame index past the carved frames");
}

/* Page-table frames for the Early mapping: the carved frames after the meta frames. */
static int early_table_frame(void *ctx, uint64_t *pa)
{
	if (kmem.early_next >= kmem.early_frames)
		return MM_ENOMEM;
	*pa = kmem_early_nth(kmem.early_next++);
	__builtin_memset((void *)(uintptr_t)*pa, 0, PAGE_SIZE);
	kmem.early_table_frames++;
	return MM_OK;
}

/* Maps the first meta_frames carved frames at EARLY_BASE, in runs of contiguous frames,
 * and zeroes the first zero_bytes of them. */
static void early_map(uint64_t meta_frames, uint64_t zero_bytes)
{
	struct pagetable *pt = paging_kernel();
	int (*saved)(void *, uint64_t *) = pt->alloc_frame;
	pt->alloc_frame = early_table_frame;
	kmem.early_next = meta_frames;
	uint64_t k = 0;
	while (k < meta_frames) {
		uint64_t pa = kmem_early_nth(k), n = 1;
		while (k + n < meta_frames && kmem_early_nth(k + n) == pa + (n << PAGE_SHIFT))
			n++;
		if (pt_map(pt, EARLY_BASE + (k << PAGE_SHIFT), pa, n << PAGE_SHIFT, PTE_W) != MM_OK)
			guest_panic("mm_init: mapping the Early region failed");
		k += n;
	}
	pt->alloc_frame = saved;
	__builtin_memset((void *)(uintptr_t)EARLY_BASE, 0, zero_bytes);
}

/* Hands out 64-byte aligned pieces of the Early region. */
static void *early_piece(uint64_t *off, uint64_t size)
{
	void *p = (void *)(uintptr_t)(EARLY_BASE + *off);
	*off += MM_ALIGN_UP(size, 64);
	return size ? p : NULL;
}

/* key=N on the command line (key includes the '='): N, capped at max; 0 if absent. */
static uint64_t cmdline_num(const char *key, uint64_t max)
{
	const char *c = boot.cmdline;
	size_t k = __builtin_strlen(key);
	for (; *c; c++)
		if ((c == boot.cmdline || c[-1] == ' ') && __builtin_memcmp(c, key, k) == 0)
			break;
	uint64_t v = 0;
	for (c += *c ? k : 0; *c >= '0' && *c <= '9' && v <= max; c++)
		v = v * 10 + (uint64_t)(*c - '0');
	return MM_MIN(v, max);
}

/* earlypad=N on the command line: N MiB (at most 1024) more in the Early region. */
static uint64_t early_pad_bytes(void)
{
	return cmdline_num("earlypad=", 1024) << 20;
}

/* The replay machine's RAM (replay_cmd.c): rmem=MiB, or when a word starts with
 * "replay" and rmem= is absent, half of usable RAM; 2 MiB multiples, at least 16 MiB. */
static uint64_t replay_bytes(void)
{
	uint64_t b = cmdline_num("rmem=", 1u << 16) << 20;
	bool replay = false;
	for (const char *c = boot.cmdline; *c && !replay; c++)
		replay = (c == boot.cmdline || c[-1] == ' ') && __builtin_memcmp(c, "replay", 6) == 0;
	if (!b && replay)
		b = mem_map_bytes(&boot.map, MEM_USABLE) / 2;
	b = MM_ALIGN_DOWN(b, SIZE_2M);
	return b < (16u << 20) ? 0 : b;
}

/* Takes a 2 MiB aligned usable range of replay_bytes() from the top of boot.map for the
 * replay machine (before any allocator exists, so nothing else ever uses it). */
static void replay_region_init(void)
{
	uint64_t want = replay_bytes();
	for (uint32_t i = boot.map.count; want && i-- > 0;) {
		const struct mem_region *r = &boot.map.r[i];
		uint64_t lo = MM_ALIGN_UP(r->base, SIZE_2M), top = MM_ALIGN_DOWN(r->base + r->len, SIZE_2M);
		if (r->type != MEM_USABLE || top < lo + want)
			continue;
		if (mem_map_set(&boot.map, top - want, want, MEM_KERNEL) != MM_OK)
			break;
		kmem.replay_pa = top - want;
		kmem.replay_len = want;
		return;
	}
	if (want)
		kprintf("mm_init: no usable range of %lu MiB for the replay machine\n", want >> 20);
}

static void early_region_init(unsigned ncpus)
{
	kmem.frame_meta_len = PHYS_OPS.meta_size(&boot.map, ncpus);
	kmem.va_meta_len = VIRT_OPS.meta_size(MANAGED_BASE, MANAGED_SIZE);
	uint64_t bytes = MM_ALIGN_UP(PHYS_OPS.state_size, 64) + MM_ALIGN_UP(kmem.frame_meta_len, 64) +
			 MM_ALIGN_UP(VIRT_OPS.state_size, 64) + MM_ALIGN_UP(kmem.va_meta_len, 64) +
			 MM_ALIGN_UP(HEAP_OPS.state_size, 64);
	uint64_t pad = early_pad_bytes(); /* mapped, never used, so not zeroed */
	bytes += pad;
	kmem.early_bytes = bytes;
	kmem.early_frames = mm_early_frames(bytes);
	if (bytes > EARLY_MAX || mm_early_carve(&boot.map, kmem.early_frames, &kmem.early) != MM_OK)
		guest_panic("mm_init: not enough usable memory for the Early region");
	kmem.early_meta_frames = MM_ALIGN_UP(bytes, PAGE_SIZE) >> PAGE_SHIFT;
	early_map(kmem.early_meta_frames, bytes - pad);
	uint64_t off = 0;
	kmem.frame_st = early_piece(&off, PHYS_OPS.state_size);
	kmem.frame_meta = early_piece(&off, kmem.frame_meta_len);
	kmem.va_st = early_piece(&off, VIRT_OPS.state_size);
	kmem.va_meta = early_piece(&off, kmem.va_meta_len);
	kmem.heap_st = early_piece(&off, HEAP_OPS.state_size);
}

/* talc's fixed heap: 1/32 of usable memory, 2 MiB granules, 2..64 MiB. */
static uint64_t fixed_heap_bytes(void)
{
	uint64_t b = MM_ALIGN_DOWN(mem_map_bytes(&boot.map, MEM_USABLE) / 32, SIZE_2M);
	return MM_MIN(MM_MAX(b, SIZE_2M), (uint64_t)64 << 20);
}

void kmem_init(void)
{
	unsigned n = smp_ncpus();
	uint64_t t0 = __builtin_ia32_rdtsc();
	kmem.bump_frames = early_bump_frames();
	replay_region_init();
	early_region_init(n);
	if (PHYS_OPS.init(kmem.frame_st, &boot.map, n, kmem.frame_meta, kmem.frame_meta_len))
		guest_panic("mm_init: " PHYS_NAME " init failed");
	early_use_frames(&kmem.mm);
	paging_kernel()->alloc_frame = early_frame; /* new page tables: frame allocator */
	if (guest_mmu_init(&kmem.mmu) != MM_OK) {
		kprintf("mm_init: %u CPUs but no IPIs: no VA allocator and no heap\n", n);
		mm_init(&kmem.mm, n, &kframe_ops, &kmem, NULL, NULL, NULL);
		return;
	}
	frame_page_source_init(&kmem.fps, &kframe_ops, &kmem, &kmem.mmu);
	if (VIRT_OPS.init(kmem.va_st, MANAGED_BASE, MANAGED_SIZE, kmem.va_meta, kmem.va_meta_len,
			  &kmem.fps.ps))
		guest_panic("mm_init: " VIRT_NAME " init failed");
	mm_init(&kmem.mm, n, &kframe_ops, &kmem, &VIRT_OPS, kmem.va_st, &kmem.mmu);
	kmem.env = (struct heap_env){.ncpus = n,
				     .frames = &kframe_ops,
				     .frame_st = &kmem,
				     .va = &VIRT_OPS,
				     .va_st = kmem.va_st,
				     .mmu = &kmem.mmu,
				     .fixed_heap_bytes = fixed_heap_bytes(),
				     .keep_empty_chunks = 1};
	if (HEAP_OPS.init(kmem.heap_st, &kmem.env))
		guest_panic("mm_init: " HEAP_NAME " init failed");
	kmem.heap_ok = true;
	/* As in Hermit, a free list past 16 ranges spills into the kernel heap. */
	heap_rl_init(&spill_heap, &HEAP_OPS, kmem.heap_st);
	if (PHYS_OPS.set_heap)
		PHYS_OPS.set_heap(kmem.frame_st, &spill_heap.hook);
	if (VIRT_OPS.set_heap)
		VIRT_OPS.set_heap(kmem.va_st, &spill_heap.hook);
	kprintf("mm: early %lu frames (%lu B meta, %lu tables) in %u ranges from 0x%lx, "
		"%lu frames free, heap %s ready in %lu us\n",
		kmem.early_frames, kmem.early_bytes, kmem.early_table_frames, kmem.early.count,
		kmem.early.count ? kmem.early.r[0].base : 0, kmem_free_frames(), HEAP_NAME,
		tsc_to_ns(__builtin_ia32_rdtsc() - t0) / 1000);
}

uint64_t kmem_free_frames(void)
{
	struct frame_stats s;
	PHYS_OPS.stats(kmem.frame_st, &s);
	return s.free_frames;
}

void *kmalloc(size_t size)
{
	if (!kmem.heap_ok)
		guest_panic("kmalloc: no kernel heap (mm_init failed or not run)");
	return HEAP_OPS.alloc(kmem.heap_st, this_cpu()->id, size, KMALLOC_ALIGN);
}

void kfree(void *p, size_t size)
{
	if (p)
		HEAP_OPS.free(kmem.heap_st, this_cpu()->id, p, size, KMALLOC_ALIGN);
}

bool kmem_heap_ok(void)
{
	return kmem.heap_ok;
}
