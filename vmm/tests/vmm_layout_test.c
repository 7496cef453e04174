/* vmm_layout_test.c: guest RAM plans (vmm/guest_mem.c) and the boot layout
 * (vmm/boot_layout.c), with and without holes, for fixed and seeded random
 * (mem, cpus, trace, kernel size, command line) choices. After each layout:
 * the plan keeps exactly `mem` bytes out of the holes; the memory map covers
 * exactly RAM; GDT, boot info, command line, page tables, every stack, the
 * kernel and the trace lie inside RAM, overlap nothing else and are kernel
 * memory in the map; the boot info in guest RAM says what the layout says;
 * a walk of the page tables maps every RAM byte to itself and nothing that
 * lies wholly in a hole. */
#include "../../strategies/tests/testlib.h"

#include "../vmm.h"

#define GAP_START (3ull << 30)
#define GAP_END	  (4ull << 30)

static uint8_t kernel_file[1 << 16];

static void check_plan(const struct guest_mem *gm, uint64_t mem, bool holes)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct guest_region *r = &gm->r[i];
		CHECK(r->size > 0 && ((r->gpa | r->size) & (PAGE_SIZE - 1)) == 0, "region %u", i);
		CHECK(i == 0 || gm->r[i - 1].gpa + gm->r[i - 1].size < r->gpa,
		      "regions %u and %u touch or overlap", i - 1, i);
		CHECK(r->gpa + r->size <= GAP_START || r->gpa >= GAP_END, "RAM in the PC gap");
		if (holes)
			CHECK(r->gpa + r->size <= 0xa0000 || r->gpa >= 0x100000, "RAM in 640K-1M");
		sum += r->size;
	}
	CHECK(sum == mem && gm->total == mem, "plan holds %llu bytes, not %llu",
	      (unsigned long long)sum, (unsigned long long)mem);
	CHECK(gm->r[0].gpa == 0, "RAM must start at 0");
	if (holes)
		CHECK(gm->nregions >= 3, "--holes must give several regions, got %u", gm->nregions);
	else
		CHECK(gm->nregions == (mem > GAP_START ? 2u : 1u), "no holes: %u regions",
		      gm->nregions);
}

/* Physical address va translates to through the boot page tables, or ~0. */
static uint64_t walk(const struct guest_mem *gm, const struct boot_layout *bl, uint64_t va)
{
	const uint64_t mask = 0x000ffffffffff000ull;
	const uint64_t *t = guest_mem_ptr(gm, MTB_PAGETABLE_ADDR, PAGE_SIZE);
	for (int level = 3; level >= 1; level--) {
		uint64_t e = t[(va >> (12 + 9 * level)) & 511];
		if (!(e & 1))
			return ~0ull;
		uint64_t span = 1ull << (12 + 9 * level);
		if (e & 0x80) {
			CHECK(level <= 2, "PS bit in the PML4");
			CHECK(level == 1 || bl->pt_1g, "1 GiB page in a 2 MiB layout");
			return (e & mask & ~(span - 1)) | (va & (span - 1));
		}
		CHECK(level > 1, "4 KiB tables in the boot map");
		uint64_t next = e & mask;
		CHECK(next >= MTB_PAGETABLE_ADDR && next + PAGE_SIZE <= bl->pt_end,
		      "table at 0x%llx outside the page-table area", (unsigned long long)next);
		t = guest_mem_ptr(gm, next, PAGE_SIZE);
	}
	return ~0ull;
}

static void check_page_tables(const struct guest_mem *gm, const struct boot_layout *bl,
			      struct rng *r)
{
	uint64_t page = bl->pt_1g ? SIZE_1G : SIZE_2M, end = guest_mem_end(gm);
	for (uint64_t a = 0; a < end; a += page) {
		bool ram = false;
		for (unsigned i = 0; i < gm->nregions; i++)
			ram |= gm->r[i].gpa < a + page && a < gm->r[i].gpa + gm->r[i].size;
		uint64_t pa = walk(gm, bl, a + page - 1);
		CHECK(ram ? pa == a + page - 1 : pa == ~0ull, "page 0x%llx: ram %d -> 0x%llx",
		      (unsigned long long)a, ram, (unsigned long long)pa);
	}
	for (int k = 0; k < 2000; k++) {
		const struct guest_region *g = &gm->r[rng_below(r, gm->nregions)];
		uint64_t a = g->gpa + rng_below(r, g->size);
		CHECK(walk(gm, bl, a) == a, "RAM byte 0x%llx not identity-mapped",
		      (unsigned long long)a);
	}
	CHECK(walk(gm, bl, MM_ALIGN_UP(end, SIZE_1G) + 5) == ~0ull, "mapped past RAM");
}

static uint32_t map_type_of(const struct boot_layout *bl, uint64_t lo, uint64_t len)
{
	for (uint32_t i = 0; i < bl->map.count; i++) {
		const struct mem_region *m = &bl->map.r[i];
		if (lo >= m->base && lo + len <= m->base + m->len)
			return m->type;
	}
	return 0;
}

static void check_map(const struct guest_mem *gm, const struct boot_layout *bl)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < bl->map.count; i++) {
		const struct mem_region *m = &bl->map.r[i];
		CHECK(guest_mem_ptr(gm, m->base, m->len), "map entry %u is not inside RAM", i);
		CHECK(i == 0 || bl->map.r[i - 1].base + bl->map.r[i - 1].len <= m->base,
		      "map entries %u,%u unsorted/overlapping", i - 1, i);
		CHECK(m->type == MEM_USABLE || m->type == MEM_KERNEL, "type %u", m->type);
		sum += m->len;
	}
	CHECK(sum == gm->total, "map covers %llu of %llu bytes", (unsigned long long)sum,
	      (unsigned long long)gm->total);
	CHECK(mem_map_bytes(&bl->map, MEM_USABLE) > gm->total / 2, "most RAM must be usable");
}

struct range {
	uint64_t lo, len;
	const char *what;
};

static void check_structures(const struct guest_mem *gm, const struct boot_layout *bl,
			     size_t cmdlen)
{
	struct range s[VMM_MAX_CPUS + 12];
	unsigned n = 0;
	s[n++] = (struct range){MTB_GDT_ADDR, 24, "gdt"};
	s[n++] = (struct range){MTB_BOOTINFO_ADDR, sizeof(struct hvm_start_info), "start_info"};
	s[n++] = (struct range){bl->ext_gpa, sizeof(struct mtb_boot_ext), "ext"};
	s[n++] = (struct range){bl->memmap_gpa, bl->memmap_entries * 24ull, "memmap"};
	s[n++] = (struct range){bl->cmdline_gpa, cmdlen + 1, "cmdline"};
	s[n++] = (struct range){MTB_PAGETABLE_ADDR, bl->pt_end - MTB_PAGETABLE_ADDR, "pt"};
	s[n++] = (struct range){bl->kernel_lo, bl->kernel_hi - bl->kernel_lo, "kernel"};
	if (bl->trace_size) {
		s[n++] =
		    (struct range){bl->modlist_gpa, sizeof(struct hvm_modlist_entry), "modlist"};
		s[n++] = (struct range){bl->trace_gpa, bl->trace_size, "trace"};
	}
	for (unsigned c = 0; c < bl->ncpus; c++)
		s[n++] = (struct range){bl->stack_top - (c + 1) * bl->stack_size, bl->stack_size,
					"stack"};
	for (unsigned i = 0; i < n; i++) {
		CHECK(guest_mem_ptr(gm, s[i].lo, s[i].len),
		      "%s [0x%llx,+0x%llx) not in one RAM region", s[i].what,
		      (unsigned long long)s[i].lo, (unsigned long long)s[i].len);
		CHECK(map_type_of(bl, s[i].lo, s[i].len) == MEM_KERNEL, "%s is not kernel memory",
		      s[i].what);
		for (unsigned j = 0; j < i; j++)
			CHECK(s[i].lo + s[i].len <= s[j].lo || s[j].lo + s[j].len <= s[i].lo,
			      "%s overlaps %s", s[i].what, s[j].what);
	}
	CHECK(bl->stack_top % 16 == 0 && bl->stack_top <= (1ull << 32),
	      "stack top 0x%llx: aligned, below 4 GiB", (unsigned long long)bl->stack_top);
}

static void check_boot_info(const struct guest_mem *gm, const struct boot_layout *bl,
			    const struct boot_params *p)
{
	const struct hvm_start_info *si = guest_mem_ptr(gm, MTB_BOOTINFO_ADDR, sizeof(*si));
	CHECK(si->magic == XEN_HVM_START_MAGIC && si->version == 1, "start_info magic");
	CHECK(si->memmap_paddr == bl->memmap_gpa && si->memmap_entries == bl->map.count, "memmap");
	const struct hvm_memmap_table_entry *e =
	    guest_mem_ptr(gm, si->memmap_paddr, si->memmap_entries * sizeof(*e));
	for (uint32_t i = 0; i < si->memmap_entries; i++)
		CHECK(e[i].addr == bl->map.r[i].base && e[i].size == bl->map.r[i].len &&
			  e[i].type == bl->map.r[i].type,
		      "memmap entry %u", i);
	const char *cmd = guest_mem_ptr(gm, si->cmdline_paddr, strlen(p->cmdline) + 1);
	CHECK(cmd && strcmp(cmd, p->cmdline) == 0, "cmdline");
	const struct mtb_boot_ext *x = guest_mem_ptr(gm, bl->ext_gpa, sizeof(*x));
	CHECK(x->magic == MTB_BOOT_EXT_MAGIC && x->ncpus == p->ncpus && x->tsc_khz == p->tsc_khz &&
		  x->flags == (MTB_EXT_HYPERCALLS | MTB_EXT_LAPIC) && x->stack_top == bl->stack_top &&
		  x->stack_size == MTB_STACK_SIZE,
	      "mtb_boot_ext");
	CHECK(p->ncpus > 7 || bl->stack_top == MTB_STACKS_TOP, "few CPUs: abi.h stacks");
	CHECK(si->nr_modules == (p->trace_size ? 1u : 0u), "nr_modules");
	if (p->trace_size) {
		const struct hvm_modlist_entry *m =
		    guest_mem_ptr(gm, si->modlist_paddr, sizeof(*m));
		CHECK(m && m->paddr == bl->trace_gpa && m->size == p->trace_size, "module 0");
		CHECK(memcmp(guest_mem_ptr(gm, m->paddr, m->size), p->trace, p->trace_size) == 0,
		      "trace bytes");
		bool at_top = false;
		for (unsigned i = 0; i < gm->nregions; i++)
			at_top |= bl->trace_gpa + MM_ALIGN_UP(p->trace_size, PAGE_SIZE) ==
				  gm->r[i].gpa + gm->r[i].size;
		CHECK(at_top, "trace not at the top of a RAM region");
	}
	const uint64_t *gdt = guest_mem_ptr(gm, MTB_GDT_ADDR, 24);
	CHECK(gdt[0] == 0 && (gdt[1] >> 53 & 1) && (gdt[1] >> 47 & 1) && (gdt[2] >> 47 & 1),
	      "GDT: 64-bit code (L, P) and data (P)");
}

/* One layout: plan, load a kernel of ksize bytes, build, check everything. */
static void one(uint64_t mem, bool holes, unsigned cpus, uint64_t ksize, uint64_t tsize,
		size_t cmdlen, struct rng *r)
{
	struct guest_mem gm;
	CHECK(guest_mem_plan(&gm, mem, holes) == 0, "plan %llu", (unsigned long long)mem);
	check_plan(&gm, mem, holes);
	CHECK(guest_mem_alloc(&gm) == 0, "alloc");
	struct elf_image img = {.entry = MTB_KERNEL_MIN_ADDR,
				.lo = MTB_KERNEL_MIN_ADDR,
				.hi = MTB_KERNEL_MIN_ADDR + ksize,
				.nsegs = 1,
				.file = kernel_file,
				.file_size = sizeof(kernel_file)};
	img.seg[0] =
	    (struct elf_seg){MTB_KERNEL_MIN_ADDR, 0, MM_MIN(ksize, sizeof(kernel_file)), ksize, 5};
	char err[VMM_ERRLEN], *cmd = malloc(cmdlen + 1);
	uint8_t *trace = malloc(tsize + 1);
	for (size_t i = 0; i < cmdlen; i++)
		cmd[i] = (char)('a' + rng_below(r, 26));
	cmd[cmdlen] = '\0';
	for (uint64_t i = 0; i < tsize; i++)
		trace[i] = (uint8_t)rng_next(r);
	struct boot_params p = {.ncpus = cpus,
				.cmdline = cmd,
				.trace = tsize ? trace : NULL,
				.trace_size = tsize,
				.tsc_khz = 2500000};
	struct boot_layout bl;
	CHECK(elf_load(&img, &gm, err, sizeof(err)) == 0, "%s", err);
	CHECK(boot_layout_build(&bl, &gm, &img, &p, err, sizeof(err)) == 0,
	      "mem %llu holes %d cpus %u trace %llu: %s", (unsigned long long)mem, holes, cpus,
	      (unsigned long long)tsize, err);
	for (int pass = 0; pass < 2; pass++) {
		CHECK(bl.pt_1g == (pass == 1), "page size");
		check_map(&gm, &bl);
		check_structures(&gm, &bl, cmdlen);
		check_boot_info(&gm, &bl, &p);
		check_page_tables(&gm, &bl, r);
		CHECK(boot_page_tables(&bl, &gm, true, err, sizeof(err)) == 0, "1G: %s", err);
	}
	free(cmd);
	free(trace);
	guest_mem_free(&gm);
}

static void test_errors(void)
{
	struct guest_mem gm;
	struct boot_layout bl;
	char err[VMM_ERRLEN];
	CHECK(guest_mem_plan(&gm, 8ull << 20, false) == -1, "8M accepted");
	CHECK(guest_mem_plan(&gm, 65ull << 30, false) == -1, "65G accepted");
	CHECK(guest_mem_plan(&gm, 16ull << 20, true) == 0 && guest_mem_alloc(&gm) == 0, "16M");
	struct elf_image img = {.entry = MTB_KERNEL_MIN_ADDR,
				.lo = MTB_KERNEL_MIN_ADDR,
				.hi = MTB_KERNEL_MIN_ADDR + 4096,
				.nsegs = 1,
				.file = kernel_file};
	static uint8_t big[12 << 20];
	char *longcmd = malloc(0x10000);
	memset(longcmd, 'x', 0xffff);
	longcmd[0xffff] = '\0';
	struct boot_params p = {.ncpus = 1, .cmdline = "", .trace = big, .trace_size = sizeof(big)};
	CHECK(boot_layout_build(&bl, &gm, &img, &p, err, sizeof(err)) == -1 &&
		  strstr(err, "does not fit"),
	      "12M trace in 16M: '%s'", err);
	p = (struct boot_params){.ncpus = 1, .cmdline = longcmd};
	CHECK(boot_layout_build(&bl, &gm, &img, &p, err, sizeof(err)) == -1 &&
		  strstr(err, "too long"),
	      "64K command line: '%s'", err);
	/* A trace that leaves 512K in the last region and a kernel that fills the
	 * one below: no room anywhere for 64 stacks (1 MiB). */
	uint64_t last = gm.r[gm.nregions - 1].size;
	img.hi = gm.r[1].gpa + gm.r[1].size;
	p = (struct boot_params){
	    .ncpus = 64, .cmdline = "", .trace = big, .trace_size = last - (512 << 10)};
	CHECK(boot_layout_build(&bl, &gm, &img, &p, err, sizeof(err)) == -1 &&
		  strstr(err, "stacks"),
	      "stacks: '%s'", err);
	free(longcmd);
	guest_mem_free(&gm);
}

int main(void)
{
	struct rng r = {test_seed("vmm_layout_test", 7)};
	static const uint64_t mems[] = {
	    16ull << 20, 18ull << 20, 256ull << 20, 3ull << 30, (3ull << 30) + SIZE_2M,
	    4ull << 30,	 6ull << 30,  64ull << 30};
	for (size_t i = 0; i < sizeof(mems) / sizeof(mems[0]); i++)
		for (int holes = 0; holes < 2; holes++) {
			one(mems[i], holes, 1, 4096, 0, 0, &r);
			one(mems[i], holes, 64, 1 << 20, 3 << 20, 300, &r);
		}
	for (int k = 0; k < 60; k++) {
		uint64_t mem = rng_below(&r, 4) ? (8 + rng_below(&r, 2048)) * SIZE_2M
						: (8 + rng_below(&r, 32760)) * SIZE_2M;
		unsigned cpus = 1 + (unsigned)rng_below(&r, VMM_MAX_CPUS);
		uint64_t tsize = rng_below(&r, 2) ? 1 + rng_below(&r, 4 << 20) : 0;
		one(mem, rng_below(&r, 2), cpus, 1 + rng_below(&r, 4 << 20), tsize,
		    rng_below(&r, 2000), &r);
	}
	test_errors();
	printf("vmm_layout_test: ok\n");
	return 0;
}
