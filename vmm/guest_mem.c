/* guest_mem.c: guest RAM as a few regions of one host mapping, and the
 * validator every guest-supplied address goes through.
 *
 * Plan (guest_mem_plan): RAM is laid out upwards from 0, skipping holes, until
 * `mem` bytes are placed, so sum(region sizes) == mem always:
 *   - always: the PC 32-bit gap [3 GiB, 4 GiB) (LAPIC, IOAPIC, KVM's TSS
 *     pages live there, as in kvmtool/QEMU); RAM that would reach it moves up
 *     to 4 GiB;
 *   - with holes: the legacy hole [640 KiB, 1 MiB) and a mid-memory hole of
 *     max(2 MiB, mem/16) at align_down(mem/2, 2 MiB) if it ends below 3 GiB,
 *     else in the middle of the RAM above 4 GiB.
 * Invariants: regions sorted, r[i].gpa + r[i].size < r[i+1].gpa (a gap between
 * any two), every gpa and size a multiple of 4 KiB, region i lives at
 * base + sum(size of regions < i) in the host mapping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>

#include "vmm.h"

#define PC_GAP_START (3ull << 30)
#define PC_GAP_END   (4ull << 30)
#define LEGACY_START 0xa0000ull
#define LEGACY_END   0x100000ull

struct hole {
	uint64_t start, end;
};

/* The holes for this plan, ascending; returns their number. */
static unsigned plan_holes(struct hole *h, uint64_t mem, bool holes)
{
	unsigned n = 0;
	uint64_t len = MM_MAX(SIZE_2M, MM_ALIGN_DOWN(mem / 16, SIZE_2M));
	uint64_t mid = MM_ALIGN_DOWN(mem / 2, SIZE_2M);
	bool mid_low = mid + len <= PC_GAP_START;
	if (holes)
		h[n++] = (struct hole){LEGACY_START, LEGACY_END};
	if (holes && mid_low)
		h[n++] = (struct hole){mid, mid + len};
	h[n++] = (struct hole){PC_GAP_START, PC_GAP_END};
	if (holes && !mid_low) {
		mid = PC_GAP_END + MM_ALIGN_DOWN((mem - PC_GAP_START) / 2, SIZE_2M);
		h[n++] = (struct hole){mid, mid + len};
	}
	return n;
}

int guest_mem_plan(struct guest_mem *gm, uint64_t mem, bool holes)
{
	struct hole h[4];
	unsigned nh = plan_holes(h, mem, holes);
	*gm = (struct guest_mem){0};
	if (mem < VMM_MIN_MEM || mem > VMM_MAX_MEM || (mem & (PAGE_SIZE - 1)))
		return -1;
	uint64_t cursor = 0, left = mem;
	for (unsigned i = 0; i < nh && left > 0; i++) {
		if (cursor + left <= h[i].start)
			break;
		if (h[i].start > cursor) {
			uint64_t len = h[i].start - cursor;
			gm->r[gm->nregions++] = (struct guest_region){cursor, len, NULL};
			left -= len;
		}
		cursor = MM_MAX(cursor, h[i].end);
	}
	if (left > 0)
		gm->r[gm->nregions++] = (struct guest_region){cursor, left, NULL};
	gm->total = mem;
	return 0;
}

int guest_mem_alloc(struct guest_mem *gm)
{
	void *p = mmap(NULL, gm->total, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	gm->base = p;
	uint64_t off = 0;
	for (unsigned i = 0; i < gm->nregions; i++) {
		gm->r[i].hva = gm->base + off;
		off += gm->r[i].size;
	}
	return 0;
}

void guest_mem_free(struct guest_mem *gm)
{
	if (gm->base)
		munmap(gm->base, gm->total);
	gm->base = NULL;
	for (unsigned i = 0; i < gm->nregions; i++)
		gm->r[i].hva = NULL;
}

void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct guest_region *r = &gm->r[i];
		/* gpa - r->gpa cannot wrap once gpa >= r->gpa; compare without adding. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		uint64_t off = gpa - r->gpa;
		if (len > r->size - off || !r->hva)
			return NULL;
		return r->hva + off;
	}
	return NULL;
}

uint64_t guest_mem_end(const struct guest_mem *gm)
{
	if (gm->nregions == 0)
		return 0;
	const struct guest_region *r = &gm->r[gm->nregions - 1];
	return r->gpa + r->size;
}
