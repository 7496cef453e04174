/* hostmem.c: memfd-backed physical memory and an mmap-based mmu (see hostmem.h).
 * Invariant: every page of the Managed window is either PROT_NONE or a MAP_SHARED
 * view of exactly one memfd page; the kernel does the TLB shootdowns for us. With
 * HOSTMEM_PREFAULT every memfd page is resident from init on and every view is
 * populated when it is made, so touching mapped memory never faults. */
#define _GNU_SOURCE
#include "hostmem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../core/machine.h"

static __thread uint64_t standin_ns;

uint64_t hostmem_standin_ns(void)
{
	return standin_ns;
}

static uint64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int hostmem_map(struct hostmem *hm, uint64_t va, uint64_t pa, uint64_t len, unsigned flags)
{
	bool pre = hm->flags & HOSTMEM_PREFAULT;
	int prot = PROT_READ | ((flags & MMU_WRITE) ? PROT_WRITE : 0);
	uint64_t t0 = pre ? mono() : 0;
	void *p = mmap((void *)(uintptr_t)va, len, prot,
		       MAP_SHARED | MAP_FIXED | (pre ? MAP_POPULATE : 0), hm->memfd, (off_t)pa);
	if (pre)
		standin_ns += mono() - t0;
	if (p == MAP_FAILED)
		return MM_ENOMEM; /* e.g. vm.max_map_count reached */
	__atomic_fetch_add(&hm->maps, 1, __ATOMIC_RELAXED);
	return MM_OK;
}

void hostmem_unmap(struct hostmem *hm, uint64_t va, uint64_t len)
{
	bool pre = hm->flags & HOSTMEM_PREFAULT;
	uint64_t t0 = pre ? mono() : 0;
	if (mmap((void *)(uintptr_t)va, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
		mm_panic("hostmem: unmap failed");
	if (pre)
		standin_ns += mono() - t0;
	__atomic_fetch_add(&hm->unmaps, 1, __ATOMIC_RELAXED);
}

static int hm_map(void *ctx, unsigned cpu, uint64_t va, uint64_t pa, uint64_t len, unsigned flags)
{
	struct hostmem *hm = ctx;
	uint64_t lo = (uint64_t)(uintptr_t)hm->va_base;
	if (va < lo || va + len > lo + hm->va_size || pa + len > hm->phys_size ||
	    (va | pa | len) & (PAGE_SIZE - 1))
		mm_panic("hostmem: map outside the machine or misaligned");
	return hostmem_map(hm, va, pa, len, flags);
}

static void hm_unmap(void *ctx, unsigned cpu, uint64_t va, uint64_t len)
{
	hostmem_unmap(ctx, va, len);
}

static void *hm_to_virt(void *ctx, uint64_t pa)
{
	struct hostmem *hm = ctx;
	return hm->phys + pa;
}

int hostmem_layout(struct mem_map *m, uint64_t s, unsigned flags)
{
	return machine_layout(m, s, flags & HOSTMEM_HOLES) ? -EINVAL : 0;
}

static int fail(const char *what, uint64_t n)
{
	int e = errno;
	fprintf(stderr, "hostmem: %s of %llu bytes: %s\n", what, (unsigned long long)n,
		strerror(e));
	return -e;
}

int hostmem_init(struct hostmem *hm, uint64_t phys_size, unsigned flags, uint64_t va_size)
{
	memset(hm, 0, sizeof(*hm));
	hm->flags = flags;
	hm->phys_size = phys_size;
	hm->va_size = va_size;
	hm->memfd = memfd_create("mtb-phys", MFD_CLOEXEC);
	if (hm->memfd < 0 || ftruncate(hm->memfd, (off_t)phys_size) < 0)
		return fail("memfd", phys_size);
	int pop = (flags & HOSTMEM_PREFAULT) ? MAP_POPULATE : 0;
	hm->phys = mmap(NULL, phys_size, PROT_READ | PROT_WRITE, MAP_SHARED | pop, hm->memfd, 0);
	if (hm->phys == MAP_FAILED) {
		hm->phys = NULL;
		return fail("mmap of physical memory", phys_size);
	}
	uint64_t align = SIZE_1G;
	if (flags & HOSTMEM_SLOT) /* within one PML4 slot, or from its start */
		align = va_size >= MACHINE_VA_ALIGN ? MACHINE_VA_ALIGN
						    : (uint64_t)1 << mm_log2_ceil(va_size);
	align = align < SIZE_1G ? SIZE_1G : align;
	hm->reserved_len = va_size + align;
	hm->reserved = mmap(NULL, hm->reserved_len, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (hm->reserved == MAP_FAILED) {
		hm->reserved = NULL;
		return fail("mmap of the window", hm->reserved_len);
	}
	hm->va_base = (uint8_t *)MM_ALIGN_UP((uintptr_t)hm->reserved, align);
	hm->mmu = (struct mmu){hm, hm_map, hm_unmap, hm_to_virt};
	return hostmem_layout(&hm->map, phys_size, flags);
}

void hostmem_fini(struct hostmem *hm)
{
	if (hm->phys)
		munmap(hm->phys, hm->phys_size);
	if (hm->reserved)
		munmap(hm->reserved, hm->reserved_len);
	if (hm->memfd >= 0)
		close(hm->memfd);
	memset(hm, 0, sizeof(*hm));
	hm->memfd = -1;
}
