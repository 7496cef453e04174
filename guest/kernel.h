/* kernel.h: the guest kernel's internal interface: every cross-file function,
 * grouped under the file that defines it (mimalloc style). The guest is one
 * address space, identity mapped (virtual == physical, the Hardware region),
 * with up to GUEST_MAX_CPUS CPUs that all run kernel code. */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "../strategies/mm_common.h"
#include "../strategies/sync.h"

#define GUEST_MAX_CPUS	  64
#define GUEST_STACK_SIZE  0x4000ull
#define GUEST_CMDLINE_MAX 1024

#ifndef COMBO_NAME
#define COMBO_NAME "none"
#endif

/* ---- printf.c: formatting without libc ---- */
/* Formats into buf (always NUL-terminated when n > 0); returns the length the
 * full output would have. Supports %d %i %u %x %X %p %s %c %% with l/ll/z, a
 * field width, '-' and '0' flags. */
int kvsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- hypercall.c: our VMM's hypercall primitive ---- */
/* Port write of a hypercall buffer {addr, len} (abi.h); also used by fault=badhc. */
void hypercall_buf(uint16_t port, uint64_t addr, uint64_t len);

/* ---- console.c: COM1, the console and its lock ---- */
void serial_init(void);
/* Writes len bytes to COM1 (no lock; the caller serializes). */
void serial_write(const char *s, size_t len);
/* Console output: HC_PORT_CONSOLE under our VMM (boot.hypercalls), else COM1. */
void console_write(const char *s, size_t len);
/* console_write under the console lock (whole messages never interleave). */
void console_write_locked(const char *s, size_t len);
/* Formats and writes one message to the console, atomically w.r.t. other CPUs. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- platform.c: boot info and the host interface (our VMM or QEMU) ---- */
struct boot_info {
	bool hypercalls;    /* under our VMM: hypercall ports are live */
	bool exit_acpi;	    /* cmdline exit=acpi: ACPI poweroff instead of debug-exit */
	bool vmm_lapic;	    /* our VMM: in-kernel LAPICs (MTB_EXT_LAPIC) */
	uint32_t vmm_ncpus; /* from mtb_boot_ext (0 when absent) */
	uint32_t tsc_khz;   /* from mtb_boot_ext (0 when absent) */
	uint64_t vmm_stack_top, vmm_stack_size; /* from mtb_boot_ext */
	uint64_t rsdp;				/* ACPI RSDP (0 if none) */
	uint64_t module_base, module_len;	/* PVH module 0 (trace blob), 0 if none */
	uint64_t tsc_entry, tsc_ready;		/* TSC at kmain_bsp entry, and before the command */
	struct mem_map map;			/* normalized; kernel image marked MEM_KERNEL */
	struct mem_map map0;			/* map as booted, before any kernel allocation */
	char cmdline[GUEST_CMDLINE_MAX];
};
extern struct boot_info boot;
/* Copies what the kernel needs out of hvm_start_info (and mtb_boot_ext if ext_pa != 0);
 * panics on a bad magic. */
void platform_init(uint64_t info_pa, uint64_t ext_pa);
/* Emits one result row: {"kind":KIND,"combo":..,"build":..,<fields>} where fields is
 * printf-formatted JSON members without braces (may be empty). */
void result_emit(const char *kind, const char *fields_fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Emits one result row that is already a whole JSON object (json[0] == '{', one line,
 * provenance included, e.g. json_replay_row); panics above 4 KiB under QEMU. */
void result_emit_json(const char *json, size_t len);
/* Ends the run with code (0 = success). Never returns. */
_Noreturn void guest_exit(int code);
/* Reports msg as a guest failure and ends the run non-zero. Never returns. */
_Noreturn void guest_panic(const char *msg);
/* Sends a calibration record to our VMM (no-op under QEMU). */
void platform_calib(uint64_t iters, uint64_t tsc_cycles);
extern const char guest_build_id[];

/* ---- cpu.c: GDT, TSS, IDT, traps, per-CPU data ---- */
struct percpu {
	struct percpu *self; /* %gs:0 */
	uint32_t id;
	uint32_t apic_id;
	uint64_t stack_top;
	uint64_t scratch[4]; /* free for commands (selftest) */
	bool fault_expected; /* cpu_probe_read in progress: its #PF is caught */
	uint64_t fault_cr2;  /* CR2 of the last caught fault */
	uint64_t faults_caught;
};
/* Loads the GDT, this CPU's TSS and the IDT, and points %gs at percpu[id]. */
void cpu_init(unsigned id, uint64_t stack_top);
struct percpu *percpu_of(unsigned id);
/* Sets what IPI_VECTOR runs (then the EOI) on every CPU; until set, an IPI_VECTOR
 * interrupt is only acknowledged. Set before the first such IPI is sent. */
void cpu_set_ipi_handler(void (*fn)(void));
/* Reads the qword at addr into *val on this CPU; a page fault on that read is caught
 * (percpu fault_cr2, faults_caught) and returns true instead of panicking. */
bool cpu_probe_read(uint64_t addr, uint64_t *val);
static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

/* ---- paging.c: the kernel's page tables (see paging.h for the table code) ---- */
/* Builds the identity map of [0, max(4 GiB, end of RAM)) and switches to it;
 * page 0 stays unmapped. Panics when page-table frames run out. */
void paging_init(const struct mem_map *map);
uint64_t paging_root(void);
struct pagetable *paging_kernel(void);
/* Unmaps the 4 KiB page at va (a stack guard) on this CPU only: call it before
 * other CPUs run, or shoot down yourself. Panics if a split finds no frame. */
void paging_guard(uint64_t va);
/* Physical address va maps to in the kernel tables, or ~0 if unmapped. */
uint64_t paging_lookup(uint64_t va);

/* ---- early.c: the Early allocator (bump, from the top of usable RAM) ---- */
/* size bytes (rounded up to 4 KiB), aligned to align (power of two), zeroed, marked
 * MEM_KERNEL in boot.map, into *pa; 0, MM_EINVAL or MM_ENOMEM. */
int early_alloc(uint64_t size, uint64_t align, uint64_t *pa);
/* One zeroed 4 KiB frame (pagetable.h / page_source callback shape). */
int early_frame(void *ctx, uint64_t *pa);
/* Frames the bump allocator has taken from boot.map so far. */
uint64_t early_bump_frames(void);
struct mm;
/* From now on early_alloc takes its blocks from mm's frame allocator (boot.map is no
 * longer changed), so page-table frames come from the frame allocator too. */
void early_use_frames(struct mm *mm);

/* ---- mm_init.c: the kernel's memory (kmem.h) ---- */
#define KMALLOC_ALIGN 16
/* Early region, frame allocator, VA allocator over Managed, kernel heap; after smp_init.
 * Panics when memory is too small; without IPIs on > 1 CPU only the frame allocator. */
void kmem_init(void);
/* size bytes from the kernel heap (HEAP_OPS), 16-byte aligned; NULL when out of memory.
 * Panics if the heap is not up. */
void *kmalloc(size_t size);
/* Frees p from kmalloc(size) (any CPU; NULL is ignored). */
void kfree(void *p, size_t size);
/* True once kmalloc works. */
bool kmem_heap_ok(void);

/* ---- acpi.c: firmware tables ---- */
/* APIC ids of the enabled CPUs in the MADT, in table order, into ids (at most max);
 * the count, or -1 without a valid RSDP/MADT. */
int acpi_cpu_apic_ids(uint32_t *ids, unsigned max);

/* ---- tsc.c: time ---- */
/* TSC kHz from khz_hint (boot info), else CPUID 0x40000010, else measured against
 * the PIT when pit_ok (not under our VMM), else a 1 GHz guess (tsc_calibrated false). */
void tsc_init(uint32_t khz_hint, bool pit_ok);
uint32_t tsc_khz(void);
bool tsc_calibrated(void); /* false if the PIT did not count (a guess was used) */
void udelay(uint64_t us);
uint64_t tsc_to_ns(uint64_t cycles);

/* ---- smp.c: other CPUs ---- */
/* Brings every CPU online (VMM: releases them; QEMU: INIT/SIPI). Panics if one fails. */
void smp_init(void);
unsigned smp_ncpus(void);
/* Where the CPU list came from: "ACPI MADT", "fw_cfg", "mtb_boot_ext". */
const char *smp_cpu_source(void);
/* Runs fn(cpu, arg) on every online CPU (BSP included) and waits for all. */
void smp_run_all(void (*fn)(unsigned cpu, void *arg), void *arg);
/* IPIs: true when every CPU has an enabled LAPIC and takes interrupts. */
bool smp_ipi_ok(void);

/* ---- lapic.c: this CPU's local APIC, the legacy PICs ---- */
/* Sets the LAPIC base, enables this CPU's LAPIC (spurious vector 255) and interrupts. */
void lapic_enable(void);
/* Remaps both 8259 PICs to vectors 0x20-0x2f and masks every line. */
void pic_disable(void);
/* Sends ICR command cmd to apic_id (INIT, SIPI) and waits for its delivery. */
void lapic_ipi(uint32_t apic_id, uint32_t cmd);
/* Sends vector to every other CPU (fixed, all-excluding-self) and waits for delivery. */
void lapic_ipi_others(uint8_t vector);
/* Ends the interrupt being handled. */
void lapic_eoi(void);
/* This CPU's APIC id. */
uint32_t lapic_id(void);

/* ---- mmu.c: strategies/mmu.h on the kernel page tables ---- */
#define IPI_VECTOR  0xf0 /* TLB shootdown */
#define WAKE_VECTOR 0xf1 /* wakes idle APs for smp_run_all */
struct mmu;
/* Fills *m with the guest's mmu (shootdown on unmap). 0, or MM_ENOTSUP when more than
 * one CPU runs and IPIs are not available (our VMM without MTB_EXT_LAPIC). */
int guest_mmu_init(struct mmu *m);
/* The IPI_VECTOR handler (registered with cpu_set_ipi_handler by guest_mmu_init, which
 * kmem_init runs at boot before any command): invalidates the posted range on this CPU
 * and acknowledges. */
void mmu_ipi_handler(void);
struct mmu_stats {
	uint64_t maps, unmaps, shootdowns, ipis_acked;
};
void mmu_get_stats(struct mmu_stats *out);
/* Invalidates [va, va+len) on every CPU (this one, then an IPI round), for page tables
 * edited outside this mmu (the replay machine's window). */
void mmu_shootdown(uint64_t va, uint64_t len);
/* Test hook: when set, unmap skips the shootdown (negative control of mmtest). */
void mmu_set_skip_shootdown(bool skip);

/* ---- main.c / commands.c: the command table ---- */
struct command {
	const char *name; /* matched against the word before '=' */
	const char *help;
	/* argv[0] is the whole word ("fault=pf"); val points after '=' or is "". */
	int (*run)(int argc, char **argv, const char *val);
};
extern const struct command guest_commands[];
int cmd_mmtest(int argc, char **argv, const char *val);    /* mmtest.c */
int cmd_frametest(int argc, char **argv, const char *val); /* frametest.c */
int cmd_vatest(int argc, char **argv, const char *val);	   /* vatest.c */
int cmd_heaptest(int argc, char **argv, const char *val);  /* heaptest.c */
int cmd_replay(int argc, char **argv, const char *val);	   /* replay_cmd.c */
int cmd_vareplay(int argc, char **argv, const char *val);  /* vareplay_cmd.c */
extern const unsigned guest_ncommands;

#endif
