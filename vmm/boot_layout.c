/* boot_layout.c: everything the VMM writes into guest RAM besides the kernel
 * image, at the guest/abi.h addresses:
 *
 *   0x1000   GDT: null, 64-bit code (0x08, L=1), data (0x10)
 *   0x2000   struct hvm_start_info, 0x2040 struct mtb_boot_ext,
 *            0x2080 module list (PVH module 0 = trace blob), 0x2100 memmap
 *   0x3000   command line (NUL-terminated, up to the page tables)
 *   0x10000  identity page tables: PML4, one PDPT, one PD per GiB (2 MiB
 *            pages) or none (1 GiB pages); pages wholly inside holes are
 *            not present
 *   0x80000  stacks, 16 KiB per CPU downwards from 0x9f000 when they fit
 *            (7 CPUs); more CPUs get one block high in RAM below 4 GiB
 *            (hypercall pointers to stack buffers are 32-bit), below the
 *            trace blob (ext.stack_top says where, the memmap marks it)
 *   top      trace blob, page aligned, ending at the top of the highest RAM
 *            region with room for it
 *
 * Memory map given to the guest: RAM regions as MEM_USABLE, then MEM_KERNEL
 * over [0, 1 MiB), the kernel image, a high stack block and the trace blob.
 * Invariants checked here: each structure lies inside one RAM region and none
 * overlaps the kernel image or another one.
 */
#include <string.h>

#include "vmm.h"

#define BOOT_STACKS_LOW 0x80000ull
#define BOOT_EXT_ADDR	(MTB_BOOTINFO_ADDR + 0x40)
#define BOOT_MODLIST	(MTB_BOOTINFO_ADDR + 0x80)
#define BOOT_MEMMAP	(MTB_BOOTINFO_ADDR + 0x100)
#define PTE_P		1ull
#define PTE_RW		2ull
#define PTE_PS		0x80ull

/* Host pointer for a VMM-chosen structure: being outside RAM is a VMM bug. */
static void *gptr(struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	void *p = guest_mem_ptr(gm, gpa, len);
	MM_ASSERT(p != NULL, "boot structure outside guest RAM");
	return p;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool overlaps_ram(const struct guest_mem *gm, uint64_t lo, uint64_t len)
{
	for (unsigned i = 0; i < gm->nregions; i++)
		if (overlaps(lo, len, gm->r[i].gpa, gm->r[i].size))
			return true;
	return false;
}

/* Places `size` bytes ending at or below *top (page aligned) inside one RAM
 * region and clear of the kernel; moves *top down. 0, or -1. */
static int place_high(struct boot_layout *bl, struct guest_mem *gm, uint64_t *top, uint64_t size,
		      uint64_t *out)
{
	uint64_t len = MM_ALIGN_UP(size, PAGE_SIZE);
	if (len > *top || len == 0)
		return -1;
	uint64_t lo = MM_ALIGN_DOWN(*top - len, PAGE_SIZE);
	if (lo < MTB_KERNEL_MIN_ADDR || !guest_mem_ptr(gm, lo, len) ||
	    overlaps(lo, len, bl->kernel_lo, bl->kernel_hi - bl->kernel_lo))
		return -1;
	*out = lo;
	*top = lo;
	return 0;
}

/* place_high in the highest RAM region, at or below *top, that has room. */
static int place_top_down(struct boot_layout *bl, struct guest_mem *gm, uint64_t *top,
			  uint64_t size, uint64_t *out)
{
	for (unsigned i = gm->nregions; i-- > 0;) {
		uint64_t t = MM_MIN(*top, gm->r[i].gpa + gm->r[i].size);
		if (t > gm->r[i].gpa && place_high(bl, gm, &t, size, out) == 0) {
			*top = t;
			return 0;
		}
	}
	return -1;
}

static void write_gdt(struct guest_mem *gm)
{
	uint64_t *gdt = gptr(gm, MTB_GDT_ADDR, 3 * 8);
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull; /* code: P, DPL0, exec/read, L=1, G=1 */
	gdt[2] = 0x00cf93000000ffffull; /* data: P, DPL0, read/write, D/B=1, G=1 */
}

/* Builds bl->map: RAM usable, boot data/kernel/stacks/trace MEM_KERNEL. */
static int build_map(struct boot_layout *bl, const struct guest_mem *gm, uint64_t stack_block)
{
	struct mem_map *m = &bl->map;
	m->count = 0;
	for (unsigned i = 0; i < gm->nregions; i++)
		m->r[m->count++] = (struct mem_region){gm->r[i].gpa, gm->r[i].size, MEM_USABLE};
	uint64_t klo = MM_ALIGN_DOWN(bl->kernel_lo, PAGE_SIZE);
	uint64_t khi = MM_ALIGN_UP(bl->kernel_hi, PAGE_SIZE);
	int rc = mem_map_set(m, 0, MM_MIN(MTB_KERNEL_MIN_ADDR, gm->r[0].size), MEM_KERNEL);
	rc |= mem_map_set(m, klo, khi - klo, MEM_KERNEL);
	if (stack_block)
		rc |= mem_map_set(m, bl->stack_top - stack_block, stack_block, MEM_KERNEL);
	if (bl->trace_size)
		rc |= mem_map_set(m, bl->trace_gpa, MM_ALIGN_UP(bl->trace_size, PAGE_SIZE),
				  MEM_KERNEL);
	return rc ? -1 : 0;
}

static void write_boot_info(struct boot_layout *bl, struct guest_mem *gm,
			    const struct boot_params *p, size_t cmdlen)
{
	struct hvm_start_info *si = gptr(gm, MTB_BOOTINFO_ADDR, sizeof(*si));
	*si = (struct hvm_start_info){.magic = XEN_HVM_START_MAGIC,
				      .version = 1,
				      .nr_modules = bl->trace_size ? 1 : 0,
				      .modlist_paddr = bl->trace_size ? BOOT_MODLIST : 0,
				      .cmdline_paddr = BOOT_CMDLINE_ADDR,
				      .memmap_paddr = BOOT_MEMMAP,
				      .memmap_entries = bl->map.count};
	struct mtb_boot_ext *ext = gptr(gm, BOOT_EXT_ADDR, sizeof(*ext));
	*ext = (struct mtb_boot_ext){.magic = MTB_BOOT_EXT_MAGIC,
				     .ncpus = p->ncpus,
				     .tsc_khz = p->tsc_khz,
				     .flags = MTB_EXT_HYPERCALLS | MTB_EXT_LAPIC, /* kvm_vm.c always creates the irqchip */
				     .stack_top = bl->stack_top,
				     .stack_size = bl->stack_size};
	struct hvm_modlist_entry *mod = gptr(gm, BOOT_MODLIST, sizeof(*mod));
	*mod = (struct hvm_modlist_entry){.paddr = bl->trace_gpa, .size = bl->trace_size};
	struct hvm_memmap_table_entry *e = gptr(gm, BOOT_MEMMAP, bl->map.count * sizeof(*e));
	for (uint32_t i = 0; i < bl->map.count; i++)
		e[i] = (struct hvm_memmap_table_entry){bl->map.r[i].base, bl->map.r[i].len,
						       bl->map.r[i].type, 0};
	memcpy(gptr(gm, BOOT_CMDLINE_ADDR, cmdlen + 1), p->cmdline, cmdlen + 1);
	bl->ext_gpa = BOOT_EXT_ADDR;
	bl->modlist_gpa = bl->trace_size ? BOOT_MODLIST : 0;
	bl->memmap_gpa = BOOT_MEMMAP;
	bl->memmap_entries = bl->map.count;
	bl->cmdline_gpa = BOOT_CMDLINE_ADDR;
}

/* Chooses where the stacks go; *block = bytes of a high stack block (0 = low). */
static int place_stacks(struct boot_layout *bl, struct guest_mem *gm, uint64_t *top,
			uint64_t *block)
{
	uint64_t need = (uint64_t)bl->ncpus * MTB_STACK_SIZE;
	bl->stack_size = MTB_STACK_SIZE;
	*block = 0;
	if (need <= MTB_STACKS_TOP - BOOT_STACKS_LOW) {
		bl->stack_top = MTB_STACKS_TOP;
		return 0;
	}
	uint64_t lo, below_4g = MM_MIN(*top, 1ull << 32);
	if (place_top_down(bl, gm, &below_4g, need, &lo))
		return -1;
	*top = MM_MIN(*top, lo);
	*block = need;
	bl->stack_top = lo + need;
	return 0;
}

int boot_layout_build(struct boot_layout *bl, struct guest_mem *gm, const struct elf_image *img,
		      const struct boot_params *p, char *err, size_t errlen)
{
	*bl = (struct boot_layout){
	    .ncpus = p->ncpus, .entry = img->entry, .kernel_lo = img->lo, .kernel_hi = img->hi};
	size_t cmdlen = strlen(p->cmdline);
	if (cmdlen + 1 > MTB_PAGETABLE_ADDR - BOOT_CMDLINE_ADDR)
		return vmm_fail(err, errlen, "workload command line too long (%zu bytes, max %llu)",
			    cmdlen,
			    (unsigned long long)(MTB_PAGETABLE_ADDR - BOOT_CMDLINE_ADDR - 1));
	uint64_t top = guest_mem_end(gm), block;
	if (p->trace_size) {
		if (place_top_down(bl, gm, &top, p->trace_size, &bl->trace_gpa))
			return vmm_fail(err, errlen,
				    "trace (%llu bytes) does not fit in a RAM region "
				    "beside the kernel: use a larger --mem",
				    (unsigned long long)p->trace_size);
		bl->trace_size = p->trace_size;
		memcpy(gptr(gm, bl->trace_gpa, p->trace_size), p->trace, p->trace_size);
	}
	if (place_stacks(bl, gm, &top, &block))
		return vmm_fail(err, errlen, "no room for %u CPU stacks at the top of guest RAM",
			    p->ncpus);
	if (build_map(bl, gm, block))
		return vmm_fail(err, errlen, "memory map has too many entries");
	write_gdt(gm);
	write_boot_info(bl, gm, p, cmdlen);
	return boot_page_tables(bl, gm, false, err, errlen);
}

int boot_page_tables(struct boot_layout *bl, struct guest_mem *gm, bool use_1g, char *err,
		     size_t errlen)
{
	uint64_t gib = (guest_mem_end(gm) + SIZE_1G - 1) / SIZE_1G;
	uint64_t end = MTB_PAGETABLE_ADDR + (2 + (use_1g ? 0 : gib)) * PAGE_SIZE;
	if (gib > 512 || end > BOOT_STACKS_LOW)
		return vmm_fail(err, errlen,
			    "identity page tables for %llu GiB do not fit below 0x%llx",
			    (unsigned long long)gib, (unsigned long long)BOOT_STACKS_LOW);
	uint64_t old = MM_MAX(bl->pt_end, end);
	memset(gptr(gm, MTB_PAGETABLE_ADDR, old - MTB_PAGETABLE_ADDR), 0, old - MTB_PAGETABLE_ADDR);
	uint64_t *pml4 = gptr(gm, MTB_PAGETABLE_ADDR, PAGE_SIZE);
	uint64_t *pdpt = gptr(gm, MTB_PAGETABLE_ADDR + PAGE_SIZE, PAGE_SIZE);
	pml4[0] = (MTB_PAGETABLE_ADDR + PAGE_SIZE) | PTE_P | PTE_RW;
	bl->pt_mapped = 0;
	for (uint64_t g = 0; g < gib; g++) {
		if (!overlaps_ram(gm, g * SIZE_1G, SIZE_1G))
			continue;
		if (use_1g) {
			pdpt[g] = (g * SIZE_1G) | PTE_P | PTE_RW | PTE_PS;
			bl->pt_mapped += SIZE_1G;
			continue;
		}
		uint64_t pd_gpa = MTB_PAGETABLE_ADDR + (2 + g) * PAGE_SIZE;
		uint64_t *pd = gptr(gm, pd_gpa, PAGE_SIZE);
		pdpt[g] = pd_gpa | PTE_P | PTE_RW;
		for (uint64_t j = 0; j < 512; j++) {
			uint64_t a = g * SIZE_1G + j * SIZE_2M;
			if (overlaps_ram(gm, a, SIZE_2M)) {
				pd[j] = a | PTE_P | PTE_RW | PTE_PS;
				bl->pt_mapped += SIZE_2M;
			}
		}
	}
	bl->pt_end = end;
	bl->pt_1g = use_1g;
	return 0;
}

static const char *type_name(uint32_t t)
{
	switch (t) {
	case MEM_USABLE:
		return "usable";
	case MEM_RESERVED:
		return "reserved";
	case MEM_ACPI:
		return "acpi";
	case MEM_NVS:
		return "nvs";
	case MEM_KERNEL:
		return "kernel";
	default:
		return "?";
	}
}

void boot_layout_print(FILE *f, const struct boot_layout *bl, const struct guest_mem *gm)
{
	fprintf(f, "guest RAM: %llu MiB in %u region(s)\n", (unsigned long long)(gm->total >> 20),
		gm->nregions);
	for (unsigned i = 0; i < gm->nregions; i++)
		fprintf(f, "  region %u: [0x%011llx, 0x%011llx) %llu KiB\n", i,
			(unsigned long long)gm->r[i].gpa,
			(unsigned long long)(gm->r[i].gpa + gm->r[i].size),
			(unsigned long long)(gm->r[i].size >> 10));
	fprintf(f, "memory map (%u entries at 0x%llx):\n", bl->map.count,
		(unsigned long long)bl->memmap_gpa);
	for (uint32_t i = 0; i < bl->map.count; i++)
		fprintf(f, "  [0x%011llx, 0x%011llx) %-8s %llu KiB\n",
			(unsigned long long)bl->map.r[i].base,
			(unsigned long long)(bl->map.r[i].base + bl->map.r[i].len),
			type_name(bl->map.r[i].type), (unsigned long long)(bl->map.r[i].len >> 10));
	fprintf(f, "kernel: [0x%llx, 0x%llx) entry 0x%llx\n", (unsigned long long)bl->kernel_lo,
		(unsigned long long)bl->kernel_hi, (unsigned long long)bl->entry);
	fprintf(f,
		"boot info: hvm_start_info 0x%llx, mtb_boot_ext 0x%llx, cmdline 0x%llx, "
		"gdt 0x%llx\n",
		(unsigned long long)MTB_BOOTINFO_ADDR, (unsigned long long)bl->ext_gpa,
		(unsigned long long)bl->cmdline_gpa, (unsigned long long)MTB_GDT_ADDR);
	fprintf(f, "cpus: %u, stacks: top 0x%llx, %llu KiB each\n", bl->ncpus,
		(unsigned long long)bl->stack_top, (unsigned long long)(bl->stack_size >> 10));
	if (bl->trace_size)
		fprintf(f, "trace: module 0 at [0x%llx, 0x%llx), %llu bytes\n",
			(unsigned long long)bl->trace_gpa,
			(unsigned long long)(bl->trace_gpa + bl->trace_size),
			(unsigned long long)bl->trace_size);
	fprintf(f, "page tables: [0x%llx, 0x%llx) %llu pages, %s pages, identity-map %llu MiB\n",
		(unsigned long long)MTB_PAGETABLE_ADDR, (unsigned long long)bl->pt_end,
		(unsigned long long)((bl->pt_end - MTB_PAGETABLE_ADDR) / PAGE_SIZE),
		bl->pt_1g ? "1 GiB" : "2 MiB", (unsigned long long)(bl->pt_mapped >> 20));
}
