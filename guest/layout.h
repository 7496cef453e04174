/* layout.h: the guest's virtual address space, four regions (the proposal's
 * "Vision"), each a whole number of PML4 root slots (512 GiB each) of the lower
 * half (slots 0..255; the upper half is unused):
 *
 *   slot    virtual address
 *     0     0x0000_0000_0000_0000 +--------------------------------------+
 *           | Hardware: identity map of physical memory, va == pa       |
 *           |   (paging.c; RAM write-back, MMIO uncached, page 0 absent) |
 *           |   DeviceAlloc: contiguous frames of any size/alignment    |
 *           |   (mm_frames_alloc with a layout), reached through it     |
 *     1     0x0000_0080_0000_0000 +--------------------------------------+
 *           | Early: the allocators' state and metadata, frames taken   |
 *           |   naively from the start of usable RAM (may span holes),  |
 *           |   mapped here contiguously, never freed (mm_init.c)       |
 *     2     0x0000_0100_0000_0000 +--------------------------------------+
 *           | Managed: handed out by VIRT_OPS (heap chunks, vatest),    |
 *           |   GUEST_MANAGED_SLOTS slots; mapped on demand through the |
 *           |   guest mmu (mmu.c) with TLB shootdown on unmap            |
 *  2+M      +--------------------------------------+
 *           | (unused)                                                  |
 *     8     0x0000_0400_0000_0000 +--------------------------------------+
 *           | Replay: the replay machine's window (replay_cmd.c,        |
 *           |   workloads/core/machine.h), REPLAY_SLOTS slots, tables   |
 *           |   from the machine's own frames (its rmem= RAM range)     |
 *  8+R      +--------------------------------------+
 *           | (unused: mmtest at 32 TiB, fault=pf at 64 TiB)            |
 * 256-U     0x0000_8000_0000_0000 - U * 512 GiB +-----------------------+
 *           | Unmanaged: GUEST_UNMANAGED_SLOTS root slots the kernel    |
 *           |   never touches (for an application's own page tables);   |
 *           |   their PML4 entries stay 0 (vatest checks it)            |
 *   256     0x0000_8000_0000_0000 +--------------------------------------+
 *
 * Invariants: the Hardware region ends below slot 1 (guest RAM <= 64 GiB, the
 * VMM's limit; QEMU's reserved range at 1012 GiB stays unmapped); the regions
 * do not overlap: 2 + GUEST_MANAGED_SLOTS <= REPLAY_SLOT, REPLAY_SLOT + REPLAY_SLOTS
 * <= 64 (mmtest) and 256 - U > 128.
 */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

#include "../strategies/mm_common.h"

#define LAYOUT_SLOT_SIZE   ((uint64_t)1 << 39) /* one PML4 entry: 512 GiB */
#define LAYOUT_SLOT_VA(s)  ((uint64_t)(s) * LAYOUT_SLOT_SIZE)
#define LAYOUT_LOWER_SLOTS 256u

#ifndef GUEST_MANAGED_SLOTS
#define GUEST_MANAGED_SLOTS 2u /* 1 TiB of Managed address space */
#endif
#ifndef GUEST_UNMANAGED_SLOTS
#define GUEST_UNMANAGED_SLOTS 16u
#endif

#define HARDWARE_BASE  LAYOUT_SLOT_VA(0)
#define EARLY_BASE     LAYOUT_SLOT_VA(1)
#define EARLY_MAX      LAYOUT_SLOT_SIZE
#define MANAGED_BASE   LAYOUT_SLOT_VA(2)
#define MANAGED_SIZE   (GUEST_MANAGED_SLOTS * LAYOUT_SLOT_SIZE)
#define REPLAY_SLOT    8u
#define REPLAY_SLOTS   2u /* 1 TiB: MACHINE_VA_SIZE, the host engine's window */
#define REPLAY_BASE    LAYOUT_SLOT_VA(REPLAY_SLOT)
#define REPLAY_SIZE    (REPLAY_SLOTS * LAYOUT_SLOT_SIZE)
#define UNMANAGED_SLOT (LAYOUT_LOWER_SLOTS - GUEST_UNMANAGED_SLOTS)
#define UNMANAGED_BASE LAYOUT_SLOT_VA(UNMANAGED_SLOT)
#define UNMANAGED_SIZE (GUEST_UNMANAGED_SLOTS * LAYOUT_SLOT_SIZE)

_Static_assert(GUEST_MANAGED_SLOTS >= 1 && 2 + GUEST_MANAGED_SLOTS <= REPLAY_SLOT,
	       "Managed must end below the Replay window");
_Static_assert(REPLAY_SLOT + REPLAY_SLOTS <= 64, "Replay must end below mmtest's 32 TiB");
_Static_assert(GUEST_UNMANAGED_SLOTS >= 1 && UNMANAGED_SLOT > 128,
	       "Unmanaged must start above fault=pf's 64 TiB");

#endif
