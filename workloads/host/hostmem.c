/* hostmem.c: memfd-backed physical memory and an mmap-based mmu (see hostmem.h).
 * Invariant: every page of the Managed window is either PROT_NONE or a MAP_SHARED
 * view of exactly one memfd page; the kernel does the TLB shootdowns for us. */
#define _GNU_SOURCE
#include "hostmem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int hm_map(void *ctx, uint64_t va, uint64_t pa, uint64_t len, unsigned flags)
{
	struct hostmem *hm = ctx;
	uint64_t lo = (uint64_t)(uintptr_t)hm->va_base;
	int prot = PROT_READ | ((flags & MMU_WRITE) ? PROT_WRITE : 0);
	if (va < lo || va + len > lo + hm->va_size || pa + len > hm->phys_size ||
	    (va | pa | len) & (PAGE_SIZE - 1))
		mm_panic("hostmem: map outside the machine or misaligned");
	if (mmap((void *)(uintptr_t)va, len, prot, MAP_SHARED | MAP_FIXED, hm->memfd,
		 (off_t)pa) == MAP_FAILED)
		return MM_ENOMEM; /* e.g. vm.max_map_count reached */
	__atomic_fetch_add(&hm->maps, 1, __ATOMIC_RELAXED);
	return MM_OK;
}

static void hm_unmap(void *ctx, uint64_t va, uint64_t len)
{
	struct hostmem *hm = ctx;
	if (mmap((void *)(uintptr_t)va, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
		mm_panic("hostmem: unmap failed");
	__atomic_fetch_add(&hm->unmaps, 1, __ATOMIC_RELAXED);
}

static void *hm_to_virt(void *ctx, uint64_t pa)
{
	struct hostmem *hm = ctx;
	return hm->phys + pa;
}

int hostmem_layout(struct mem_map *m, uint64_t s, unsigned flags)
{
	m->count = 1;
	m->r[0] = (struct mem_region){0, s, MEM_USABLE};
	int rc = mem_map_set(m, 0, 1 << 20, MEM_RESERVED);
	if (flags & HOSTMEM_HOLES) {
		/* A PC-like hole mid-memory and a small odd-sized one near the top. */
		rc |= mem_map_set(m, s / 2, s / 16, MEM_RESERVED);
		rc |= mem_map_set(m, s / 8 * 7 + 3 * PAGE_SIZE, 5 * PAGE_SIZE, MEM_RESERVED);
	}
	return rc ? -EINVAL : 0;
}

int hostmem_init(struct hostmem *hm, uint64_t phys_size, unsigned flags, uint64_t va_size)
{
	memset(hm, 0, sizeof(*hm));
	hm->phys_size = phys_size;
	hm->va_size = va_size;
	hm->memfd = memfd_create("mtb-phys", MFD_CLOEXEC);
	if (hm->memfd < 0 || ftruncate(hm->memfd, (off_t)phys_size) < 0) {
		fprintf(stderr, "hostmem: memfd of %llu bytes: %s\n",
			(unsigned long long)phys_size, strerror(errno));
		return -errno;
	}
	hm->phys = mmap(NULL, phys_size, PROT_READ | PROT_WRITE, MAP_SHARED, hm->memfd, 0);
	uint8_t *w = mmap(NULL, va_size + SIZE_1G, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (hm->phys == MAP_FAILED || w == MAP_FAILED) {
		fprintf(stderr, "hostmem: mmap: %s\n", strerror(errno));
		return -errno;
	}
	hm->va_base = (uint8_t *)MM_ALIGN_UP((uintptr_t)w, SIZE_1G);
	hm->mmu = (struct mmu){hm, hm_map, hm_unmap, hm_to_virt};
	return hostmem_layout(&hm->map, phys_size, flags);
}

void hostmem_fini(struct hostmem *hm)
{
	if (hm->phys && hm->phys != MAP_FAILED)
		munmap(hm->phys, hm->phys_size);
	if (hm->va_base)
		munmap(hm->va_base, hm->va_size);
	if (hm->memfd >= 0)
		close(hm->memfd);
	memset(hm, 0, sizeof(*hm));
	hm->memfd = -1;
}
