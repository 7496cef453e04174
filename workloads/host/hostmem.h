/* hostmem.h: a "machine" inside a Linux process for the host engine and tests.
 *
 * Physical memory is a memfd; the Hardware region is one linear mapping of it
 * (to_virt(pa) = phys + pa). The Managed region is a reserved PROT_NONE window;
 * the mmu maps frames into it with mmap(MAP_FIXED|MAP_SHARED, memfd, pa), so
 * non-contiguous frames really form one contiguous range, as in the guest.
 *
 *   phys:  [0 ---- 1 MiB reserved ---- usable ---- (holes) ---- usable ---- size)
 *   va:    [va_base ------------------ Managed window ----------- va_base+va_size)
 */
#ifndef HOSTMEM_H
#define HOSTMEM_H

#include "../../strategies/mmu.h"

#define HOSTMEM_HOLES 1u /* lay out RAM as several regions with gaps, like --holes */

struct hostmem {
	int memfd;
	uint64_t phys_size;
	uint8_t *phys;
	struct mem_map map; /* normalized; usable minus [0, 1 MiB) and holes */
	uint8_t *va_base;   /* 1 GiB aligned */
	uint64_t va_size;
	uint64_t maps, unmaps; /* counters (atomic) */
	struct mmu mmu;	       /* ready to hand to heaps */
};

/* Creates the machine; 0, or -errno (message already printed to stderr). */
int hostmem_init(struct hostmem *hm, uint64_t phys_size, unsigned flags, uint64_t va_size);
void hostmem_fini(struct hostmem *hm);
/* The machine's memory map of s bytes (the first 1 MiB reserved; with HOSTMEM_HOLES a
 * hole mid-memory and a small odd one near the top) into *m; 0, or -EINVAL. Shared by
 * hostmem_init and the frame benchmarks, so they measure the same layout. */
int hostmem_layout(struct mem_map *m, uint64_t s, unsigned flags);

#endif
