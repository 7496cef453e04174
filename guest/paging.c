/* paging.c: the kernel's own page tables, the Hardware region.
 *
 * Identity map (virtual == physical) of [4 KiB, top), top = max(4 GiB, end of
 * the highest non-reserved memory-map region rounded up to 1 GiB; QEMU lists a
 * reserved range at 1012 GiB for AMD CPUs, which stays unmapped); page 0 stays unmapped so
 * NULL dereferences fault. The first 2 MiB use 4 KiB pages, the rest 1 GiB pages
 * where the CPU has them (CPUID 0x80000001 EDX.26), else 2 MiB pages. Memory the
 * map lists (RAM, ACPI, kernel) is write-back; everything else (MMIO: LAPIC,
 * IOAPIC, PCI holes) is mapped uncached (PCD|PWT). Table frames come from a
 * static pool (EARLY_PT_FRAMES 4 KiB frames in .bss, so the root lies below
 * 4 GiB for the AP trampoline), then from the Early allocator (early.c).
 */
#include "kernel.h"
#include "../strategies/pagetable.h"
#include "x86.h"

#define EARLY_PT_FRAMES 64

static uint8_t early_frames[EARLY_PT_FRAMES][4096] __attribute__((aligned(4096)));
static unsigned early_used;
static struct pagetable kernel_pt;

static int pool_frame(void *ctx, uint64_t *pa)
{
	if (early_used == EARLY_PT_FRAMES)
		return early_frame(ctx, pa);
	uint8_t *f = early_frames[early_used++];
	__builtin_memset(f, 0, 4096);
	*pa = (uintptr_t)f;
	return MM_OK;
}

static void *identity(void *ctx, uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

static bool cpu_has_1g_pages(void)
{
	uint32_t r[4];
	cpuid(0x80000000u, 0, r);
	if (r[0] < 0x80000001u)
		return false;
	cpuid(0x80000001u, 0, r);
	return (r[3] >> 26) & 1;
}

/* Cache flags for the 2 MiB chunk at pa: write-back if any map region overlaps it. */
static uint64_t chunk_flags(const struct mem_map *map, uint64_t pa)
{
	for (uint32_t i = 0; i < map->count; i++) {
		const struct mem_region *r = &map->r[i];
		if (r->type != MEM_RESERVED && r->base < pa + SIZE_2M && pa < r->base + r->len)
			return PTE_W;
	}
	return PTE_W | PTE_PCD | PTE_PWT;
}

static void map_or_panic(uint64_t pa, uint64_t len, uint64_t flags)
{
	int rc = pt_map(&kernel_pt, pa, pa, len, flags);
	if (rc != MM_OK) {
		char msg[128];
		ksnprintf(msg, sizeof(msg), "paging: identity map of [0x%lx, +0x%lx) failed: %d%s",
			  pa, len, rc, rc == MM_ENOMEM ? " (out of early page-table frames)" : "");
		guest_panic(msg);
	}
}

void paging_init(const struct mem_map *map)
{
	uint64_t top = 4 * SIZE_1G;
	for (uint32_t i = 0; i < map->count; i++)
		if (map->r[i].type != MEM_RESERVED)
			top = MM_MAX(top, MM_ALIGN_UP(map->r[i].base + map->r[i].len, SIZE_1G));
	kernel_pt = (struct pagetable){
	    .has_1g = cpu_has_1g_pages(), .alloc_frame = pool_frame, .to_virt = identity};
	if (pt_init(&kernel_pt) != MM_OK)
		guest_panic("paging: no frame for the root table");
	map_or_panic(PAGE_SIZE, SIZE_2M - PAGE_SIZE, PTE_W);
	/* Runs of 2 MiB chunks with equal cache flags, each mapped in one call. */
	uint64_t run = SIZE_2M, flags = chunk_flags(map, SIZE_2M);
	for (uint64_t pa = SIZE_2M; pa <= top; pa += SIZE_2M) {
		uint64_t f = pa < top ? chunk_flags(map, pa) : ~0ull;
		if (f == flags)
			continue;
		map_or_panic(run, pa - run, flags);
		run = pa;
		flags = f;
	}
	write_cr3(kernel_pt.root);
}

uint64_t paging_root(void)
{
	return kernel_pt.root;
}

void paging_guard(uint64_t va)
{
	if (pt_unmap(&kernel_pt, va, PAGE_SIZE) != MM_OK)
		guest_panic("paging: cannot unmap a stack guard page");
	invlpg(va);
}

struct pagetable *paging_kernel(void)
{
	return &kernel_pt;
}

uint64_t paging_lookup(uint64_t va)
{
	uint64_t pa, size, flags;
	return pt_lookup(&kernel_pt, va, &pa, &size, &flags) == MM_OK ? pa : ~0ull;
}
