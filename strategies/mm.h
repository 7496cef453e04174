/* mm.h: the mm API, one header for everything above the strategies.
 *
 * A struct mm binds a frame allocator (frame.h), a VA allocator (va.h) and an
 * mmu (mmu.h), each chosen at build time (PHYS=, VIRT=) or by a host harness.
 * Frames and virtual ranges are requested in one of three ways (the proposal's
 * "Abstract Memory Allocation"):
 *   layout  any size and a power-of-two alignment, like Rust's core::alloc::Layout:
 *           contiguous device memory of odd sizes. Frames: the covering buddy
 *           block is taken and its unneeded tail given back as smaller blocks, so
 *           exactly ceil(size / 4 KiB) frames stay allocated; free gives back the
 *           same frames as maximal aligned blocks.
 *   pow2    a naturally aligned power of two (2^log2 bytes), the buddy's own unit.
 *   page    an architecture page size: 4 KiB, 2 MiB, 1 GiB on x86_64.
 * Free takes the request the memory was allocated with. The largest frame request
 * is 1 GiB (FRAME_MAX_ORDER); larger ones are MM_EINVAL.
 */
#ifndef MM_MM_H
#define MM_MM_H

#include "frame.h"
#include "mmu.h"
#include "va.h"

enum mm_page_size {
	MM_PAGE_4K = 12,
	MM_PAGE_2M = 21,
	MM_PAGE_1G = 30,
};

enum mm_req_kind {
	MM_REQ_LAYOUT = 1,
	MM_REQ_POW2 = 2,
	MM_REQ_PAGE = 3,
};

struct mm_layout {
	uint64_t size;	/* bytes, > 0 */
	uint64_t align; /* bytes, a power of two (0 or less than 4 KiB: 4 KiB) */
};

struct mm_req {
	uint32_t kind;	/* enum mm_req_kind */
	uint32_t log2;	/* pow2: log2 of the bytes; page: enum mm_page_size */
	struct mm_layout layout;
};

static inline struct mm_req mm_req_layout(uint64_t size, uint64_t align)
{
	return (struct mm_req){.kind = MM_REQ_LAYOUT, .layout = {size, align}};
}

static inline struct mm_req mm_req_pow2(unsigned log2_bytes)
{
	return (struct mm_req){.kind = MM_REQ_POW2, .log2 = log2_bytes};
}

static inline struct mm_req mm_req_page(enum mm_page_size ps)
{
	return (struct mm_req){.kind = MM_REQ_PAGE, .log2 = (uint32_t)ps};
}

struct mm {
	unsigned ncpus;
	const struct frame_ops *frames;
	void *frame_st; /* initialised by the caller */
	const struct va_ops *va;
	void *va_st;	/* initialised by the caller; va may be NULL (frames only) */
	const struct mmu *mmu;
};

/* Binds initialised strategy instances; 0, or MM_EINVAL (no frame allocator,
 * ncpus out of 1..FRAME_MAX_CPUS). */
int mm_init(struct mm *mm, unsigned ncpus, const struct frame_ops *frames, void *frame_st,
	    const struct va_ops *va, void *va_st, const struct mmu *mmu);

/* Bytes a request covers, rounded up to 4 KiB, and its alignment in bytes (>= 4 KiB);
 * 0, or MM_EINVAL (size 0, alignment not a power of two, unknown kind or page size). */
int mm_req_bytes(struct mm_req req, uint64_t *size, uint64_t *align);

/* Contiguous frames for req; physical address into *pa. 0, or MM_ENOMEM, MM_EINVAL
 * (malformed request, or more than 1 GiB). */
int mm_frames_alloc(struct mm *mm, unsigned cpu, struct mm_req req, uint64_t *pa);
/* Gives back frames from mm_frames_alloc with the same req (panics if malformed). */
void mm_frames_free(struct mm *mm, unsigned cpu, uint64_t pa, struct mm_req req);

/* A virtual range for req from the VA allocator into *va. 0, or MM_ENOMEM,
 * MM_EINVAL (malformed request, or no VA allocator bound). Nothing is mapped. */
int mm_va_alloc(struct mm *mm, unsigned cpu, struct mm_req req, uint64_t *va);
/* Gives back a range from mm_va_alloc with the same req. */
void mm_va_free(struct mm *mm, unsigned cpu, uint64_t va, struct mm_req req);

/* ---- Early region (strategies/mm_early.c) ----------------------------------------
 * Boot: the frame allocator's metadata lives in the Early region, frames taken
 * naively from the start of usable memory (possibly spanning several regions)
 * and mapped to one contiguous virtual range, never freed. The plan:
 *   meta  = ops->meta_size(map, ncpus)          (before carving: carving only shrinks it)
 *   n     = mm_early_frames(meta)               (bitmap frames + page-table frames)
 *   mm_early_carve(map, n, &early)              (those frames become MEM_KERNEL)
 *   map early's ranges one after another at the Early VA, zero, ops->init(map, meta) */

/* Frames to hold `bytes` plus the 4 KiB page tables mapping them at a 1 GiB aligned
 * virtual address (one PT per 512 frames, one PD per GiB, one PDPT). */
uint64_t mm_early_frames(uint64_t bytes);

/* Takes the lowest `frames` usable frames of the normalized map: marks them MEM_KERNEL
 * there and lists them, in address order, as MEM_KERNEL regions in *taken. 0, or
 * MM_ENOMEM (not enough usable memory, or out of map slots; map unchanged then). */
int mm_early_carve(struct mem_map *map, uint64_t frames, struct mem_map *taken);

#endif
