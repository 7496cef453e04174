/* hostmem.h: a "machine" inside a Linux process for the host engine and tests.
 *
 * Physical memory is a memfd; the Hardware region is one linear mapping of it
 * (to_virt(pa) = phys + pa). The Managed region is a reserved PROT_NONE window;
 * the mmu maps frames into it with mmap(MAP_FIXED|MAP_SHARED, memfd, pa), so
 * non-contiguous frames really form one contiguous range, as in the guest.
 *
 *   phys:  [0 ---- 1 MiB reserved ---- usable ---- (holes) ---- usable ---- size)
 *   va:    [va_base ------------------ Managed window ----------- va_base+va_size)
 *
 * With HOSTMEM_PREFAULT (the host engine) no Linux page fault happens inside a
 * measured operation: the memfd is populated at init, every mapping is made with
 * MAP_POPULATE, and the time spent in those mmap calls (the engine's stand-in for
 * page-table edits) is counted per thread (hostmem_standin_ns).
 */
#ifndef HOSTMEM_H
#define HOSTMEM_H

#include "../../strategies/mmu.h"

#define HOSTMEM_HOLES	 1u /* lay out RAM as several regions with gaps, like --holes */
#define HOSTMEM_PREFAULT 2u /* populate memory and mappings; count the stand-in time */
#define HOSTMEM_SLOT	 4u /* the window in one 512 GiB PML4 slot, or from one's start */

struct hostmem {
	int memfd;
	unsigned flags;
	uint64_t phys_size;
	uint8_t *phys;
	struct mem_map map; /* normalized; usable minus [0, 1 MiB) and holes */
	uint8_t *va_base;   /* 1 GiB aligned (512 GiB with HOSTMEM_SLOT) */
	uint64_t va_size;
	void *reserved; /* the whole reservation the window was cut from */
	uint64_t reserved_len;
	uint64_t maps, unmaps; /* counters (atomic) */
	struct mmu mmu;	       /* ready to hand to heaps */
};

/* Creates the machine; 0, or -errno (message already printed to stderr). */
int hostmem_init(struct hostmem *hm, uint64_t phys_size, unsigned flags, uint64_t va_size);
void hostmem_fini(struct hostmem *hm);
/* The machine's memory map of s bytes (workloads/core/machine.h machine_layout, with
 * holes when HOSTMEM_HOLES) into *m; 0, or -EINVAL. Shared by hostmem_init and the
 * frame benchmarks, so they measure the same layout. */
int hostmem_layout(struct mem_map *m, uint64_t s, unsigned flags);
/* Makes [va, va+len) of the window show machine physical [pa, pa+len) (hm's mmu.map
 * without its checks' panic text): 0, or MM_ENOMEM (e.g. vm.max_map_count). */
int hostmem_map(struct hostmem *hm, uint64_t va, uint64_t pa, uint64_t len, unsigned flags);
/* Makes [va, va+len) PROT_NONE again (Linux does the TLB shootdown). */
void hostmem_unmap(struct hostmem *hm, uint64_t va, uint64_t len);
/* Nanoseconds the calling thread has spent in hostmem_map/unmap of HOSTMEM_PREFAULT
 * machines (the host engine's stand-ins for page-table edits), since it started. */
uint64_t hostmem_standin_ns(void);

#endif
