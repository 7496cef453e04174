/* elf.c: validating and loading an x86_64 ELF64 kernel image.
 *
 * Only what a statically linked, identity-mapped kernel needs: ELF64, little
 * endian, EM_X86_64, ET_EXEC, PT_LOAD segments loaded at their physical
 * addresses (p_paddr). Every offset and size is checked against the file and
 * against guest RAM before anything is copied (no arithmetic may wrap):
 *   p_offset + p_filesz <= file size, p_filesz <= p_memsz,
 *   [p_paddr, p_paddr + p_memsz) inside one RAM region, >= MTB_STACKS_TOP (clear
 *   of the boot data; linkers often put the ELF headers in the page below
 *   MTB_KERNEL_MIN_ADDR),
 *   e_entry inside an executable PT_LOAD,
 *   no two PT_LOAD segments overlapping in [p_paddr, p_paddr + p_memsz) (a later
 *   segment's bytes, or its zeroed .bss tail, would silently overwrite an earlier one).
 */
#include <elf.h>
#include <string.h>

#include "vmm.h"

static int check_header(const Elf64_Ehdr *eh, size_t size, char *err, size_t errlen)
{
	if (size < SELFMAG || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return vmm_fail(err, errlen, "not an ELF file");
	if (size < sizeof(*eh))
		return vmm_fail(err, errlen, "truncated ELF header");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return vmm_fail(err, errlen, "not a 64-bit ELF (class %u)", eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return vmm_fail(err, errlen, "not a little-endian ELF");
	if (eh->e_machine != EM_X86_64)
		return vmm_fail(err, errlen, "not an x86_64 ELF (machine %u)", eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return vmm_fail(err, errlen,
			    "not an executable ELF (type %u; link with -static -no-pie)",
			    eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0)
		return vmm_fail(err, errlen, "ELF has no usable program headers");
	if (eh->e_phoff > size || (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum)
		return vmm_fail(err, errlen, "truncated ELF: program headers past the end of the file");
	return 0;
}

static int add_segment(struct elf_image *img, const Elf64_Phdr *ph, size_t size, char *err,
		       size_t errlen)
{
	if (img->nsegs == ELF_MAX_SEGS)
		return vmm_fail(err, errlen, "ELF has more than %d PT_LOAD segments", ELF_MAX_SEGS);
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return vmm_fail(err, errlen, "truncated ELF: segment at offset 0x%llx past the end",
			    (unsigned long long)ph->p_offset);
	if (ph->p_filesz > ph->p_memsz)
		return vmm_fail(err, errlen, "ELF segment with p_filesz > p_memsz");
	if (ph->p_paddr + ph->p_memsz < ph->p_paddr)
		return vmm_fail(err, errlen, "ELF segment wraps around the address space");
	img->seg[img->nsegs++] =
	    (struct elf_seg){ph->p_paddr, ph->p_offset, ph->p_filesz, ph->p_memsz, ph->p_flags};
	return 0;
}

/* 0 if no two segments of img share a byte of guest memory, else -1 naming them. */
static int check_overlap(const struct elf_image *img, char *err, size_t errlen)
{
	for (unsigned i = 0; i < img->nsegs; i++)
		for (unsigned j = i + 1; j < img->nsegs; j++) {
			const struct elf_seg *a = &img->seg[i], *b = &img->seg[j];
			if (a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz)
				return vmm_fail(err, errlen,
					    "ELF PT_LOAD segments overlap: [0x%llx, 0x%llx) and "
					    "[0x%llx, 0x%llx)",
					    (unsigned long long)a->paddr,
					    (unsigned long long)(a->paddr + a->memsz),
					    (unsigned long long)b->paddr,
					    (unsigned long long)(b->paddr + b->memsz));
		}
	return 0;
}

int elf_parse(struct elf_image *img, const uint8_t *buf, size_t size, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	*img = (struct elf_image){.file = buf, .file_size = size, .lo = UINT64_MAX};
	memcpy(&eh, buf, MM_MIN(size, sizeof(eh)));
	if (size < sizeof(eh))
		memset((uint8_t *)&eh + size, 0, sizeof(eh) - size);
	if (check_header(&eh, size, err, errlen))
		return -1;
	bool entry_ok = false;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, buf + eh.e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (add_segment(img, &ph, size, err, errlen))
			return -1;
		img->lo = MM_MIN(img->lo, ph.p_paddr);
		img->hi = MM_MAX(img->hi, ph.p_paddr + ph.p_memsz);
		if ((ph.p_flags & PF_X) && eh.e_entry >= ph.p_paddr &&
		    eh.e_entry - ph.p_paddr < ph.p_memsz)
			entry_ok = true;
	}
	if (img->nsegs == 0)
		return vmm_fail(err, errlen, "ELF has no PT_LOAD segment");
	if (check_overlap(img, err, errlen))
		return -1;
	if (!entry_ok)
		return vmm_fail(err, errlen, "ELF entry 0x%llx is not in an executable segment",
			    (unsigned long long)eh.e_entry);
	img->entry = eh.e_entry;
	return 0;
}

int elf_load(const struct elf_image *img, struct guest_mem *gm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < img->nsegs; i++) {
		const struct elf_seg *s = &img->seg[i];
		uint8_t *dst = guest_mem_ptr(gm, s->paddr, s->memsz);
		if (s->paddr < MTB_STACKS_TOP || !dst)
			return vmm_fail(err, errlen,
				    "ELF segment [0x%llx, 0x%llx) is not inside guest RAM "
				    "above the boot data (0x9f000)",
				    (unsigned long long)s->paddr,
				    (unsigned long long)(s->paddr + s->memsz));
		memcpy(dst, img->file + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}
