/* machine.h: the replay machine: the memory a replayed heap runs on, built by the
 * same code on every engine, so the same memory size gives the same frame, VA
 * and heap numbers in the host engine, under our VMM, QEMU and libvirt.
 *
 * A machine has mem_bytes of physical memory numbered from 0 ("machine physical"),
 * laid out with holes (machine_layout), and a window of virtual address space of
 * va_size bytes at va_base (512 GiB aligned, so its page tables have the same
 * shape everywhere). Setup follows the proposal's order (seed, "Physical Memory
 * Space Allocation"): the Early region (allocator states and metadata, carved from
 * the lowest usable frames, reached through the identity view), the frame
 * allocator over the rest, the window's page-table root and its top-level tables
 * (frames from the frame allocator), the VA allocator over the window (metadata
 * frames from the frame allocator), then the heap. Page tables of the window are
 * real x86_64 tables (strategies/pagetable.h) whose frames come from the machine's
 * frame allocator on every engine; the engine's backend makes the mappings
 * reachable (host: an mmap of the memory file; guest: the tables are live) and
 * invalidates TLBs on unmap.
 *
 *   machine physical:  0 [1 MiB reserved][Early][usable ... hole ... usable ...] mem_bytes
 *   engine physical:   pa_offset + machine physical (guest: a reserved RAM range)
 *   window:            va_base [ VA allocator's range: heap chunks, talc's heap ] + va_size
 *
 * The heap is also the global heap of the free-list strategies (set_heap): their
 * ranges past the 16 inline ones live in it, as in Hermit, so frame allocator -> heap
 * -> frame allocator chains happen here as they would there (re-entries are refused
 * and counted: phys_spill_reentries, phys_lost_frames, va_*).
 *
 * Large pages: 2 MiB where virtual and physical addresses allow; no 1 GiB pages
 * (the guest's range is only 2 MiB aligned in its RAM). Talc's fixed heap is
 * Hermit's size unless given: machine_hermit_heap_bytes.
 */
#ifndef WL_MACHINE_H
#define WL_MACHINE_H

#include "../../strategies/heap.h"
#include "../../strategies/pagetable.h"
#include "../../strategies/sync.h"

#define MACHINE_VA_ALIGN ((uint64_t)1 << 39) /* one PML4 slot */
#define MACHINE_VA_SIZE	 ((uint64_t)1 << 40) /* default window: 1 TiB, as the guest's Managed */

/* What the engine provides. */
struct machine_backend {
	void *ctx;
	uint8_t *phys;	    /* pointer to machine physical address 0 (identity view) */
	uint64_t pa_offset; /* engine physical address of machine physical 0 (2 MiB aligned) */
	uint64_t va_base, va_size; /* the window: MACHINE_VA_ALIGN aligned (smaller windows:
				    * see window_ok), nothing mapped */
	/* After the tables map [va, va+len) -> machine pa: make it reachable. NULL: nothing
	 * to do (the tables are live). 0 or MM_ENOMEM. */
	int (*map)(void *ctx, uint64_t va, uint64_t pa, uint64_t len, unsigned flags);
	/* After the tables unmap [va, va+len): invalidate it on every CPU. */
	void (*unmap)(void *ctx, uint64_t va, uint64_t len);
	/* The window's root entries (PML4 slots first .. first+n-1) exist: install them in
	 * the CPU's tables (guest). NULL: nothing to do. */
	void (*install)(void *ctx, const uint64_t *root, unsigned first, unsigned n);
};

struct machine_cfg {
	uint64_t mem_bytes; /* machine physical memory (>= 16 MiB, 2 MiB multiple) */
	unsigned ncpus;
	const struct frame_ops *fops;
	const struct va_ops *vops;
	const struct heap_ops *hops;
	uint64_t fixed_heap_bytes; /* talc's fixed heap; 0: machine_hermit_heap_bytes */
};

/* Page-table edits, TLB work and Early-region facts of a machine (all engines). */
struct machine_counts {
	uint64_t maps, unmaps, shootdowns; /* shootdowns: unmaps with more than one CPU */
	uint64_t pt_frames;		   /* page-table frames installed */
	uint64_t early_frames;		   /* frames carved for states and metadata */
};

#define MACHINE_PT_SPARE 64u /* page-table frames kept in reserve at most */

struct machine {
	struct machine_cfg cfg;
	struct machine_backend be;
	struct mem_map map;   /* after the Early carve: what the frame allocator got */
	struct mem_map early; /* the carved Early frames */
	void *frame_st, *frame_meta, *va_st, *va_meta, *heap_st;
	size_t frame_meta_len, va_meta_len;
	struct spinlock pt_lock; /* serialises page-table edits (as the guest's mmu_lock) */
	/* Frames for new page tables, taken from the frame allocator before pt_lock is
	 * held (machine.c "Lock order"); pt_lock guards them. */
	uint64_t pt_spare[MACHINE_PT_SPARE];
	unsigned npt_spare;
	unsigned pt_cpu; /* the CPU whose edit holds pt_lock (frames beyond the spares) */
	struct pagetable pt;
	struct mmu mmu; /* what the VA metadata and the heap use */
	struct frame_page_source fps;
	struct heap_env env;
	struct heap_rl spill; /* the free lists' storage past 16 ranges: the heap (Hermit) */
	struct machine_counts n;
};

/* The machine's memory map of s bytes (the first 1 MiB reserved; with holes: one of
 * s/16 at s/2 and a small odd one near the top) into *m; 0 or MM_EINVAL. */
int machine_layout(struct mem_map *m, uint64_t s, bool holes);
/* Hermit's heap for usable_bytes of free memory (kernel src/mm/mod.rs: avail = total
 * minus a page-table reserve and 4 MiB, 2 MiB aligned; heap = avail minus 10% for
 * stacks, 2 MiB aligned). 0 if that leaves nothing. */
uint64_t machine_hermit_heap_bytes(uint64_t usable_bytes);
/* Builds the machine over be (phys must hold cfg->mem_bytes). 0, or MM_EINVAL (bad
 * cfg or window), MM_ENOMEM (memory too small for the Early region or the heap);
 * *what names the failed step. Frees nothing on failure (the memory is the engine's). */
int machine_init(struct machine *m, const struct machine_cfg *cfg, const struct machine_backend *be,
		 const char **what);
/* Counters now (the frame allocator's and VA allocator's stats come from their ops). */
void machine_counts(struct machine *m, struct machine_counts *out);

#endif
