/* heap_machine.h: a strategy heap (talc, slab, null) on the replay machine
 * (workloads/core/machine.h) in a Linux process, for the host engine and the
 * benchmarks: hostmem provides the machine's physical memory (a memfd, populated
 * up front) and its window (512 GiB aligned); the machine builds the Early region,
 * the frame allocator, the window's page tables, the VA allocator and the heap
 * exactly as the guest's replay command does, so a serial replay here gives the
 * guest's deterministic heap, frame and VA numbers for the same memory size.
 * Page-table edits are the machine's own (counted); the mmap that makes them
 * usable is the host's stand-in, timed apart (hostmem_standin_ns).
 */
#ifndef WL_HEAP_MACHINE_H
#define WL_HEAP_MACHINE_H

#include "../core/machine.h"
#include "hostmem.h"

struct heap_machine {
	struct hostmem hm;
	struct machine mc;
	void *frame_st, *va_st, *heap_st; /* mc's, for convenience */
};

/* Sets up m for heap over fops and vops with ncpus CPUs, phys_bytes of machine memory
 * (a 2 MiB multiple) and a window of va_bytes (0: MACHINE_VA_SIZE, as the guest's; else
 * rounded up to 512 GiB multiples, or below 512 GiB to 1 GiB ones); fixed_heap_bytes is talc's fixed heap (0: Hermit's size).
 * 0, or -1 (message printed to stderr). */
int heap_machine_init(struct heap_machine *m, const struct frame_ops *fops,
		      const struct va_ops *vops, const struct heap_ops *heap, unsigned ncpus,
		      uint64_t phys_bytes, uint64_t va_bytes, uint64_t fixed_heap_bytes);
/* Releases everything of m (the heap's memory included). */
void heap_machine_fini(struct heap_machine *m);

#endif
