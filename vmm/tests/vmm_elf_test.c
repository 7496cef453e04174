/* vmm_elf_test.c: the ELF64 loader (vmm/elf.c) on images built here: a good
 * one loads byte for byte with bss zeroed; every truncation and each broken
 * field gives a one-line error; seeded random corruptions never crash (ASan)
 * and, when accepted, load only inside guest RAM. */
#include <elf.h>

#include "../../strategies/tests/testlib.h"

#include "../vmm.h"

#define FILE_SIZE 0x1180u
#define TEXT_PA	  0x100000ull
#define DATA_PA	  0x200000ull

static uint8_t img_buf[FILE_SIZE];

/* A valid image: text (R+X) at 1 MiB, data+bss (RW) at 2 MiB, one PT_NOTE. */
static void build(uint8_t *b)
{
	memset(b, 0, FILE_SIZE);
	Elf64_Ehdr eh = {.e_type = ET_EXEC,
			 .e_machine = EM_X86_64,
			 .e_version = EV_CURRENT,
			 .e_entry = TEXT_PA + 0x10,
			 .e_phoff = sizeof(Elf64_Ehdr),
			 .e_ehsize = sizeof(Elf64_Ehdr),
			 .e_phentsize = sizeof(Elf64_Phdr),
			 .e_phnum = 3};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	Elf64_Phdr ph[3] = {
	    {.p_type = PT_LOAD,
	     .p_flags = PF_R | PF_X,
	     .p_offset = 0x1000,
	     .p_vaddr = TEXT_PA,
	     .p_paddr = TEXT_PA,
	     .p_filesz = 0x100,
	     .p_memsz = 0x100},
	    {.p_type = PT_NOTE, .p_offset = 0x10f0, .p_filesz = 0x10},
	    {.p_type = PT_LOAD,
	     .p_flags = PF_R | PF_W,
	     .p_offset = 0x1100,
	     .p_vaddr = DATA_PA,
	     .p_paddr = DATA_PA,
	     .p_filesz = 0x80,
	     .p_memsz = 0x3000},
	};
	memcpy(b, &eh, sizeof(eh));
	memcpy(b + sizeof(eh), ph, sizeof(ph));
	for (unsigned i = 0x1000; i < FILE_SIZE; i++)
		b[i] = (uint8_t)(i * 7 + 1);
}

static Elf64_Ehdr *ehdr(uint8_t *b)
{
	return (Elf64_Ehdr *)b;
}

static Elf64_Phdr *phdr(uint8_t *b, unsigned i)
{
	return (Elf64_Phdr *)(b + sizeof(Elf64_Ehdr)) + i;
}

static void expect_reject(const uint8_t *b, size_t size, const char *needle, const char *what)
{
	struct elf_image img;
	char err[VMM_ERRLEN];
	CHECK(elf_parse(&img, b, size, err, sizeof(err)) == -1, "%s accepted", what);
	CHECK(strstr(err, needle) && !strchr(err, '\n'), "%s: '%s' lacks '%s'", what, err, needle);
}

static void test_good(struct guest_mem *gm)
{
	struct elf_image img;
	char err[VMM_ERRLEN];
	build(img_buf);
	CHECK(elf_parse(&img, img_buf, FILE_SIZE, err, sizeof(err)) == 0, "%s", err);
	CHECK(img.nsegs == 2 && img.entry == TEXT_PA + 0x10, "segments %u", img.nsegs);
	CHECK(img.lo == TEXT_PA && img.hi == DATA_PA + 0x3000, "span");
	uint8_t *bss = guest_mem_ptr(gm, DATA_PA + 0x80, 0x2f80);
	memset(bss, 0xee, 0x2f80); /* loading must zero it */
	CHECK(elf_load(&img, gm, err, sizeof(err)) == 0, "%s", err);
	CHECK(memcmp(guest_mem_ptr(gm, TEXT_PA, 0x100), img_buf + 0x1000, 0x100) == 0, "text");
	CHECK(memcmp(guest_mem_ptr(gm, DATA_PA, 0x80), img_buf + 0x1100, 0x80) == 0, "data");
	for (unsigned i = 0; i < 0x2f80; i++)
		CHECK(bss[i] == 0, "bss byte %u not zeroed", i);
}

static void test_truncations(void)
{
	build(img_buf);
	expect_reject(img_buf, 0, "not an ELF", "empty file");
	expect_reject(img_buf, 3, "not an ELF", "3 bytes");
	expect_reject((const uint8_t *)"#!/bin/sh\necho hi\n", 18, "not an ELF", "script");
	for (size_t n = 4; n < sizeof(Elf64_Ehdr); n++)
		expect_reject(img_buf, n, "truncated", "short header");
	for (size_t n = sizeof(Elf64_Ehdr); n < 0x1100 + 0x80; n++) {
		struct elf_image img;
		char err[VMM_ERRLEN];
		CHECK(elf_parse(&img, img_buf, n, err, sizeof(err)) == -1, "%zu bytes accepted", n);
		CHECK(strstr(err, "truncated"), "%zu bytes: '%s'", n, err);
	}
}

/* Breaks one field of a good image; returns what the error must mention. */
static const char *mutate(uint8_t *b, int m)
{
	switch (m) {
	case 0:
		b[1] = 'X';
		return "not an ELF";
	case 1:
		ehdr(b)->e_ident[EI_CLASS] = ELFCLASS32;
		return "64-bit";
	case 2:
		ehdr(b)->e_ident[EI_DATA] = ELFDATA2MSB;
		return "little-endian";
	case 3:
		ehdr(b)->e_machine = EM_AARCH64;
		return "x86_64";
	case 4:
		ehdr(b)->e_type = ET_DYN;
		return "executable";
	case 5:
		ehdr(b)->e_phentsize = 32;
		return "program headers";
	case 6:
		ehdr(b)->e_phnum = 0;
		return "program headers";
	case 7:
		ehdr(b)->e_phoff = UINT64_MAX - 8;
		return "truncated";
	case 8:
		ehdr(b)->e_phnum = 0xffff;
		return "truncated";
	case 9:
		phdr(b, 0)->p_filesz = 0x101;
		return "p_filesz > p_memsz";
	case 10:
		phdr(b, 2)->p_offset = UINT64_MAX - 0x40;
		return "truncated";
	case 11:
		phdr(b, 2)->p_filesz = UINT64_MAX;
		phdr(b, 2)->p_memsz = UINT64_MAX;
		return "truncated";
	case 12:
		phdr(b, 2)->p_paddr = UINT64_MAX - 0x1000;
		return "wraps";
	case 13:
		ehdr(b)->e_entry = DATA_PA;
		return "not in an executable segment";
	case 14:
		ehdr(b)->e_entry = TEXT_PA + 0x100;
		return "not in an executable segment";
	case 15:
		phdr(b, 0)->p_type = PT_NULL;
		phdr(b, 2)->p_type = PT_NULL;
		return "no PT_LOAD";
	case 16: /* data starts inside text */
		phdr(b, 2)->p_paddr = TEXT_PA + 0xf0;
		return "segments overlap";
	case 17: /* data's zeroed tail covers all of text */
		phdr(b, 2)->p_paddr = TEXT_PA - 0x1000;
		return "segments overlap";
	default:
		return NULL;
	}
}

static void test_broken_fields(void)
{
	for (int m = 0;; m++) {
		build(img_buf);
		const char *needle = mutate(img_buf, m);
		if (!needle)
			break;
		char what[32];
		snprintf(what, sizeof(what), "mutation %d", m);
		expect_reject(img_buf, FILE_SIZE, needle, what);
	}
}

/* Segments the parser accepts but guest RAM (16M with holes) cannot hold. */
static void test_bad_placement(struct guest_mem *gm)
{
	static const struct {
		unsigned seg;
		uint64_t pa;
	} cases[] = {
	    {0, 0x50000},		/* over the boot data */
	    {0, 0xa0000},		/* in the legacy hole */
	    {2, (8ull << 20) - 0x1000}, /* runs into the mid-memory hole */
	    {2, 1ull << 30},		/* past the end of RAM */
	    {2, UINT64_MAX - 0x3000},	/* near the top of the address space */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct elf_image img;
		char err[VMM_ERRLEN];
		build(img_buf);
		phdr(img_buf, cases[i].seg)->p_paddr = cases[i].pa;
		if (cases[i].seg == 0)
			ehdr(img_buf)->e_entry = cases[i].pa;
		CHECK(elf_parse(&img, img_buf, FILE_SIZE, err, sizeof(err)) == 0, "case %zu: %s", i,
		      err);
		CHECK(elf_load(&img, gm, err, sizeof(err)) == -1, "case %zu loaded", i);
		CHECK(strstr(err, "not inside guest RAM"), "case %zu: '%s'", i, err);
	}
}

/* Random corruptions of the headers: never a crash; accepted images load
 * inside RAM or are refused. */
static void test_fuzz(struct guest_mem *gm)
{
	struct rng r = {test_seed("vmm_elf_test", 42)};
	unsigned accepted = 0, loaded = 0;
	for (int it = 0; it < 20000; it++) {
		build(img_buf);
		unsigned flips = 1 + (unsigned)rng_below(&r, 6);
		for (unsigned k = 0; k < flips; k++)
			img_buf[rng_below(&r, sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr))] =
			    (uint8_t)rng_next(&r);
		size_t size = rng_below(&r, 4) ? FILE_SIZE : rng_below(&r, FILE_SIZE + 1);
		uint8_t *copy = malloc(size ? size : 1); /* exact size: ASan sees overreads */
		memcpy(copy, img_buf, size);
		struct elf_image img;
		char err[VMM_ERRLEN];
		if (elf_parse(&img, copy, size, err, sizeof(err)) == 0) {
			accepted++;
			if (elf_load(&img, gm, err, sizeof(err)) == 0) {
				loaded++;
				for (unsigned s = 0; s < img.nsegs; s++)
					CHECK(guest_mem_ptr(gm, img.seg[s].paddr, img.seg[s].memsz),
					      "iteration %d: segment %u loaded outside RAM", it, s);
			}
		} else {
			CHECK(err[0] && !strchr(err, '\n'), "iteration %d: no one-line error", it);
		}
		free(copy);
	}
	printf("fuzz: 20000 images, %u accepted, %u loaded\n", accepted, loaded);
	CHECK(accepted > 0 && accepted < 20000, "fuzzing should both accept and reject");
}

int main(void)
{
	struct guest_mem gm;
	CHECK(guest_mem_plan(&gm, 16ull << 20, true) == 0, "plan");
	CHECK(guest_mem_alloc(&gm) == 0, "alloc");
	test_good(&gm);
	test_truncations();
	test_broken_fields();
	test_bad_placement(&gm);
	test_fuzz(&gm);
	guest_mem_free(&gm);
	printf("vmm_elf_test: ok\n");
	return 0;
}
