/* kmem.h: the kernel's memory (mm_init.c): one frame allocator (PHYS_OPS), one VA
 * allocator (VIRT_OPS) over the Managed region, the guest mmu and the kernel heap
 * (HEAP_OPS), bound in kmem.mm. Commands that test the allocators (frametest,
 * vatest, heaptest, replay) reach them here. */
#ifndef GUEST_KMEM_H
#define GUEST_KMEM_H

#include "kernel.h"
#include "../strategies/heap.h"
#include "../strategies/mm.h"

extern const struct frame_ops PHYS_OPS;
extern const struct va_ops VIRT_OPS;
extern const struct heap_ops HEAP_OPS;

struct kmem {
	struct mm mm; /* frames = kframe_ops (counting), va = VIRT_OPS, mmu */
	struct mmu mmu;
	struct frame_page_source fps; /* VA metadata frames (btree nodes) */
	struct heap_env env;
	void *frame_st, *frame_meta, *va_st, *va_meta, *heap_st; /* in the Early region */
	size_t frame_meta_len, va_meta_len;
	struct mem_map early; /* the carved Early frames, address order */
	uint64_t early_bytes, early_frames, early_table_frames, early_next;
	uint64_t early_meta_frames; /* mapped at EARLY_BASE; the table frames follow them */
	uint64_t bump_frames; /* early.c frames taken before the frame allocator existed */
	uint64_t held;	      /* frames the kernel holds through kframe_ops now */
	bool heap_ok;	      /* VA allocator and heap are up (needs IPIs with > 1 CPU) */
	uint64_t replay_pa, replay_len; /* RAM set aside for the replay machine (rmem=) */
};
extern struct kmem kmem;
/* PHYS_OPS on kmem.frame_st, counting kmem.held; its own st argument is ignored. */
extern const struct frame_ops kframe_ops;

/* Physical address of the k-th carved Early frame (address order across its ranges);
 * panics past the end. Frame k < early_meta_frames is mapped at EARLY_BASE + k * 4 KiB. */
uint64_t kmem_early_nth(uint64_t k);
/* Free frames in the frame allocator now. */
uint64_t kmem_free_frames(void);

/* replay_cmd.c's helpers, shared with vareplay_cmd.c. */
/* Zeroed frames for bytes (a layout request, identity mapped), or NULL. */
void *kmem_frames_zalloc(uint64_t bytes);
/* Gives back what kmem_frames_zalloc(bytes) returned (p NULL: nothing). */
void kmem_frames_release(void *p, uint64_t bytes);
struct trace;
/* Opens and validates the trace blob (PVH module 0) into *t; 0, or 1 (message printed). */
int replay_open_blob(struct trace *t);

#endif
