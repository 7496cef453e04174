/* abi.h: the contract between the guest kernel and its hosts (our VMM, QEMU, libvirt).
 *
 * Boot: our VMM enters every vCPU in 64-bit long mode at the ELF entry with
 *   rdi = guest-physical address of a struct hvm_start_info (the PVH layout),
 *   rsi = cpu id (0 = boot CPU), rdx = address of struct mtb_boot_ext, rsp = stack.
 * QEMU and libvirt enter through the PVH note (32-bit, ebx = hvm_start_info,
 * no mtb_boot_ext): the guest then starts the other CPUs with INIT/SIPI and
 * talks over COM1 and isa-debug-exit / ACPI poweroff instead of hypercalls.
 *
 * Guest-physical layout written by our VMM (all below 1 MiB except the kernel,
 * which is loaded at its ELF physical addresses, and the trace blob):
 *
 *   0x0000_0000  +----------------------------+
 *                | unused (null page)         |
 *   0x0000_1000  | GDT                        |
 *   0x0000_2000  | boot info: hvm_start_info, |
 *                |  memmap, cmdline, ext      |
 *   0x0001_0000  | boot page tables (PML4..)  |
 *   0x0008_0000  | boot stacks, 16 KiB / CPU  |   (up to 0x9f000)
 *   0x0010_0000  | kernel image (ELF PT_LOAD) |
 *        ...     | usable RAM (holes with     |
 *                |  --holes)                  |
 *   top - blob   | trace blob (PVH module 0,  |
 *                |  MEM_KERNEL in the map)    |
 *                +----------------------------+
 *
 * Hypercalls: `outl` of a 32-bit guest-physical address of a struct hc_buf (or,
 * for HC_EXIT, the exit code itself) to one of the ports below. The VMM checks
 * every address and length against guest RAM and ends the run with an error on
 * a bad one.
 *
 * Results: each HC_PORT_RESULT buffer (or serial line after MTB_RESULT_PREFIX)
 * is one JSON object on one line, e.g. {"kind":"selftest","cpus":4,...}. The
 * engine that ran the guest inserts its own fields right after the opening
 * brace: "engine":"kvm|qemu|libvirt","timing_trusted":true|false and, from our
 * VMM, "calib_ratio":R (guest loop time / host loop time). Every row the guest
 * writes carries "combo":"PHYS-VIRT-HEAP" and "build":"<build id>".
 */
#ifndef GUEST_ABI_H
#define GUEST_ABI_H

#include <stdint.h>

/* ---- PVH boot info (Xen public/arch-x86/hvm/start_info.h, version 1) ---- */
#define XEN_HVM_START_MAGIC 0x336ec578u
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
} __attribute__((packed));

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
} __attribute__((packed));

/* E820-style types, as in the PVH memmap. */
#define HVM_MEMMAP_RAM	    1
#define HVM_MEMMAP_RESERVED 2
#define HVM_MEMMAP_ACPI	    3
#define HVM_MEMMAP_NVS	    4

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
} __attribute__((packed));

/* ---- our extension, only from our VMM ---- */
#define MTB_BOOT_EXT_MAGIC 0x4d54424578743031ull /* "MTBExt01" */

struct mtb_boot_ext {
	uint64_t magic;
	uint32_t ncpus;
	uint32_t tsc_khz;     /* host TSC frequency, 0 if unknown */
	uint64_t flags;	      /* MTB_EXT_* */
	uint64_t stack_top;   /* CPU i's stack top = stack_top - i * stack_size */
	uint64_t stack_size;
};
#define MTB_EXT_HYPERCALLS 1ull /* hypercall ports below are live */

/* ---- boot addresses used by our VMM ---- */
#define MTB_GDT_ADDR	    0x1000ull
#define MTB_BOOTINFO_ADDR   0x2000ull
#define MTB_PAGETABLE_ADDR  0x10000ull
#define MTB_STACKS_TOP	    0x9f000ull
#define MTB_STACK_SIZE	    0x4000ull
#define MTB_KERNEL_MIN_ADDR 0x100000ull

/* ---- hypercalls (port I/O) ---- */
#define HC_PORT_CONSOLE 0x500 /* hc_buf: bytes to the console */
#define HC_PORT_RESULT	0x501 /* hc_buf: one result line (CSV or JSON) */
#define HC_PORT_EXIT	0x502 /* value: exit code, ends the VM */
#define HC_PORT_PANIC	0x503 /* hc_buf: panic message, ends the VM with failure */
#define HC_PORT_CALIB	0x504 /* hc_buf: struct hc_calib, filled by the guest */

struct hc_buf {
	uint64_t addr; /* guest-physical */
	uint64_t len;
};

/* Calibration (see DESIGN.md): the guest times a fixed loop with rdtsc. */
#define MTB_CALIB_ITERS 1000000ull
struct hc_calib {
	uint64_t iters;
	uint64_t tsc_cycles;
};

/* ---- QEMU / libvirt side ---- */
#define QEMU_DEBUG_EXIT_PORT 0xf4  /* status = (value << 1) | 1 */
#define ACPI_PM1A_CNT_PORT   0x604 /* outw 0x2000: S5 poweroff (QEMU pc) */
#define COM1_PORT	     0x3f8
/* Lines on the serial console that carry results start with this prefix. */
#define MTB_RESULT_PREFIX "@@R "
#define MTB_EXIT_PREFIX	  "@@EXIT "

/* ---- appended (guest engineer): panic under QEMU, LAPIC flag, calibration loop ---- */
/* Under QEMU a guest panic prints this prefix + message on serial, then exits
 * with MTB_EXIT_PANIC (debug-exit status (99 << 1) | 1 = 199). */
#define MTB_PANIC_PREFIX "@@PANIC "
#define MTB_EXIT_PANIC	 99

/* mtb_boot_ext.flags: the VMM created an in-kernel irqchip (KVM_CREATE_IRQCHIP), so
 * every vCPU has a LAPIC at 0xfee00000 and IPIs work (the guest's TLB shootdown
 * needs them when it runs on more than one CPU). */
#define MTB_EXT_LAPIC 2ull

/* The fixed loop both sides time for calibration (guest with rdtsc, the VMM on
 * the host): iters iterations of a dependent decrement, never optimized away. */
static inline void mtb_calib_loop(uint64_t iters)
{
	__asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(iters) : : "cc");
}

#endif
