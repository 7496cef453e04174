/* vmm.h: the VMM's internal interfaces, grouped by the file that defines them.
 *
 * The VMM (vmm/, hosted C, Linux KVM API directly) boots guest/ kernels as
 * guest/abi.h describes: every vCPU enters long mode at the ELF entry, with
 * identity page tables, a GDT, PVH boot info and per-CPU stacks written by
 * boot_layout.c into guest RAM (guest_mem.c). Only kvm_vm.c and kvm_vcpu.c
 * talk to /dev/kvm; everything else is testable without it.
 *
 * Exit codes of the vmm command (VMM_EXIT_*): 0 the guest exited with code 0;
 * 1 the guest failed (exit code != 0, panic, fault, watchdog, bad hypercall);
 * 2 bad command line or input file; 3 /dev/kvm cannot be opened; 4 a KVM or
 * host failure (ioctl, mmap, output file).
 */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../guest/abi.h"
#include "../strategies/mm_common.h"
#include "../workloads/host/out_file.h"

enum vmm_exit {
	VMM_EXIT_OK = 0,
	VMM_EXIT_GUEST = 1,
	VMM_EXIT_USAGE = 2,
	VMM_EXIT_NOKVM = 3,
	VMM_EXIT_HOST = 4,
};

#define VMM_MAX_CPUS	64
#define VMM_MIN_MEM	(16ull << 20)
#define VMM_MAX_MEM	(64ull << 30)
#define VMM_MAX_REGIONS 8
#define VMM_ERRLEN	256

/* ---- options.c: the command line -------------------------------------- */

/* Formats a one-line error into err (loaders and parsers report this way); returns -1. */
int vmm_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
struct vmm_options {
	unsigned cpus;		/* 1..VMM_MAX_CPUS */
	uint64_t mem;		/* bytes of guest RAM, multiple of 2 MiB */
	bool holes;		/* RAM as several regions with gaps */
	bool dry_run;		/* lay out, print, do not touch /dev/kvm */
	unsigned timeout_s;	/* watchdog, 0 = none */
	const char *trace_path; /* PVH module 0, or NULL */
	const char *out_path;	/* result rows, or NULL for stdout */
	const char *elf_path;
	int guest_argc; /* workload arguments after "--" */
	char **guest_argv;
};

/* Parses "512M", "4G", "65536", "1T" (binary units) into bytes; 0, or -1 on a
 * malformed or overflowing size. */
int vmm_parse_size(const char *s, uint64_t *out);
/* Fills o from argv; 0 = run, 1 = --help was asked, -1 = error (message in err). */
int vmm_options_parse(struct vmm_options *o, int argc, char **argv, char *err, size_t errlen);
/* Prints the --help text. */
void vmm_usage(FILE *f);
/* Joins the guest arguments with single spaces into buf; length, or -1 if too long. */
int vmm_options_cmdline(const struct vmm_options *o, char *buf, size_t cap);

/* ---- guest_mem.c: guest RAM, its regions and the address validator ----- */
struct guest_region {
	uint64_t gpa;  /* guest-physical base, 4 KiB aligned */
	uint64_t size; /* bytes */
	uint8_t *hva;  /* host mapping, NULL before guest_mem_alloc */
};

struct guest_mem {
	unsigned nregions; /* sorted by gpa, disjoint, never touching */
	struct guest_region r[VMM_MAX_REGIONS];
	uint8_t *base; /* one mmap holding every region back to back */
	uint64_t total;
};

/* Plans the RAM regions for `mem` bytes (see guest_mem.c); 0, or -1 on bad mem. */
int guest_mem_plan(struct guest_mem *gm, uint64_t mem, bool holes);
/* Maps host memory for the planned regions; 0 or -errno. */
int guest_mem_alloc(struct guest_mem *gm);
void guest_mem_free(struct guest_mem *gm);
/* Host pointer to [gpa, gpa+len) if it lies inside one RAM region, else NULL.
 * Overflow-safe for any 64-bit gpa and len. */
void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* One past the highest RAM address. */
uint64_t guest_mem_end(const struct guest_mem *gm);

/* ---- elf.c: ELF64 kernel images --------------------------------------- */
#define ELF_MAX_SEGS 16
struct elf_seg {
	uint64_t paddr, offset, filesz, memsz;
	uint32_t flags;
};
struct elf_image {
	uint64_t entry;
	uint64_t lo, hi; /* [lo, hi) covers every PT_LOAD (physical) */
	unsigned nsegs;
	struct elf_seg seg[ELF_MAX_SEGS];
	const uint8_t *file;
	size_t file_size;
};

/* Validates an x86_64 ELF64 executable in buf; 0, or -1 with a one-line reason. */
int elf_parse(struct elf_image *img, const uint8_t *buf, size_t size, char *err, size_t errlen);
/* Copies the PT_LOAD segments to guest RAM (bss zeroed); 0, or -1 if a segment
 * is not inside one RAM region at or above MTB_STACKS_TOP. */
int elf_load(const struct elf_image *img, struct guest_mem *gm, char *err, size_t errlen);

/* ---- boot_layout.c: GDT, page tables, boot info, stacks, trace blob ---- */
struct boot_params {
	unsigned ncpus;
	const char *cmdline;
	const void *trace; /* may be NULL */
	uint64_t trace_size;
	uint32_t tsc_khz;
};

struct boot_layout {
	unsigned ncpus;
	uint64_t entry, kernel_lo, kernel_hi;
	uint64_t stack_top, stack_size; /* CPU i: rsp = stack_top - i * stack_size */
	uint64_t trace_gpa, trace_size;
	uint64_t ext_gpa, memmap_gpa, modlist_gpa, cmdline_gpa;
	uint32_t memmap_entries;
	uint64_t pt_end;    /* page tables occupy [MTB_PAGETABLE_ADDR, pt_end) */
	bool pt_1g;	    /* 1 GiB pages, else 2 MiB pages */
	uint64_t pt_mapped; /* bytes identity-mapped */
	struct mem_map map; /* what the guest is told (types: enum mem_type) */
};

#define BOOT_GDT_CODE64	  0x08
#define BOOT_GDT_DATA	  0x10
#define BOOT_CMDLINE_ADDR 0x3000ull

/* Writes everything the guest needs besides its image; 0, or -1 with a reason. */
int boot_layout_build(struct boot_layout *bl, struct guest_mem *gm, const struct elf_image *img,
		      const struct boot_params *p, char *err, size_t errlen);
/* (Re)writes the identity page tables with 1 GiB or 2 MiB pages; 0, or -1 if
 * they do not fit below the stacks. */
int boot_page_tables(struct boot_layout *bl, struct guest_mem *gm, bool use_1g, char *err,
		     size_t errlen);
/* Prints the memory map, boot info and page-table summary (--dry-run). */
void boot_layout_print(FILE *f, const struct boot_layout *bl, const struct guest_mem *gm);

/* ---- calib.c: how fast is the guest compared to the host? -------------- */
struct calib_env {
	bool emulated; /* signs of nested/emulated KVM on this host */
	char why[192];
};
/* TSC cycles of the calibration loop on the host (best of a few runs). */
uint64_t calib_host_cycles(uint64_t iters);
/* Looks for signs of emulated KVM in cpuinfo/modules text (either may be NULL). */
void calib_env_from(struct calib_env *e, const char *cpuinfo, const char *modules);
/* Same, reading /proc/cpuinfo and /proc/modules. */
void calib_env_detect(struct calib_env *e);
/* guest cycles per iteration / host cycles per iteration; <= 0 if unknown. */
double calib_ratio(uint64_t guest_cycles, uint64_t guest_iters, uint64_t host_cycles,
		   uint64_t host_iters);

/* ---- result_out.c: result rows, written atomically ---------------------- */
struct result_out {
	FILE *f;
	struct out_file file; /* the --out file (out_file.h); unused for stdout */
	bool to_file;	      /* false: rows go to stdout */
	unsigned rows;
};
/* Opens path as out_file.h does (a regular file gets a temp renamed over it at commit,
 * a FIFO or device is written through, a directory is -EISDIR), or stdout when path is
 * NULL; 0 or -errno. */
int result_out_open(struct result_out *o, const char *path);
/* Appends one line (a newline is added); 0 or -errno. */
int result_out_write(struct result_out *o, const char *line, size_t len);
/* Flushes, fsyncs and renames the temp file to path; 0 or -errno (a write error such
 * as -ENOSPC included; temp removed, path untouched). */
int result_out_commit(struct result_out *o);
/* Drops the temp file: a failed run leaves no result file. */
void result_out_abort(struct result_out *o);
/* Copies a guest row to dst, inserting "engine":"kvm","timing_trusted":T,
 * "calib_ratio":R after the opening brace of a JSON object (other lines are
 * copied as they are); length, or -1 if dst is too small. ratio <= 0 = null. */
int result_decorate(char *dst, size_t cap, const char *line, size_t len, double ratio,
		    bool trusted);

/* ---- hypercall.c: the abi.h ports --------------------------------------- */
struct vmm;
enum hc_action { HC_CONTINUE = 0, HC_STOP = 1 };
/* Handles an `out` of `size` bytes of `value` to `port` by vCPU cpu; HC_STOP
 * when the run ends (exit, panic, bad address, unknown port: vmm_finish done). */
enum hc_action hc_out(struct vmm *v, unsigned cpu, uint16_t port, uint32_t value, unsigned size);
/* Handles an `in`; fills *value. Same return convention. */
enum hc_action hc_in(struct vmm *v, unsigned cpu, uint16_t port, unsigned size, uint32_t *value);

/* ---- vmm state (kvm_vm.c owns the KVM parts) ---------------------------- */
struct vcpu {
	unsigned id;
	int fd;
	void *run; /* struct kvm_run, mmap'd */
	pthread_t thread;
	bool started;
	struct vmm *vm;
};

struct vmm {
	struct vmm_options opt;
	struct guest_mem mem;
	struct boot_layout boot;
	int kvm_fd, vm_fd;
	size_t run_size;
	void *cpuid; /* struct kvm_cpuid2 from KVM_GET_SUPPORTED_CPUID */
	struct vcpu vcpu[VMM_MAX_CPUS];
	bool watchdog_fired;

	pthread_mutex_t lock; /* console, results, the end state */
	pthread_cond_t done_cv;
	bool done;	/* the run has ended: vCPUs stop */
	int exit_code;	/* VMM_EXIT_* once done */
	int guest_code; /* the guest's exit code (HC_EXIT) */
	FILE *console;	/* stdout */
	struct result_out out;

	uint64_t host_calib_cycles; /* host loop, MTB_CALIB_ITERS iterations */
	double calib_ratio;	    /* <= 0 until the guest reports hc_calib */
	struct calib_env env;
	uint64_t exits[64]; /* per KVM exit reason (atomic) */
};

/* Initializes the lock/cv and the end state of v (hypercall.c). */
void vmm_state_init(struct vmm *v);
/* Ends the run once: the first caller sets exit_code and prints msg (if not
 * NULL) on stderr; later calls are ignored. Thread-safe (hypercall.c). */
bool vmm_finish(struct vmm *v, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* true when timings from this run can be trusted (hypercall.c). */
bool vmm_timing_trusted(const struct vmm *v);

/* ---- kvm_vm.c / kvm_vcpu.c ---------------------------------------------- */
/* Opens /dev/kvm, creates the VM and its memslots; VMM_EXIT_* (prints why). */
int kvm_vm_create(struct vmm *v);
/* true if KVM offers 1 GiB pages to the guest (call after kvm_vm_create). */
bool kvm_vm_has_1g_pages(struct vmm *v);
/* Host TSC kHz as KVM reports it, 0 if unknown. */
uint32_t kvm_vm_tsc_khz(struct vmm *v);
/* Creates and sets up every vCPU (long mode at the entry); VMM_EXIT_*. */
int kvm_vcpus_create(struct vmm *v);
/* Runs every vCPU on its own thread until the run ends or the watchdog fires;
 * returns the VMM exit code. */
int kvm_vm_run(struct vmm *v);
/* Creates vCPU c->id: cpuid, long-mode sregs, regs, fpu, mp_state (kvm_vcpu.c);
 * VMM_EXIT_* (prints the failing ioctl). */
int kvm_vcpu_setup(struct vmm *v, struct vcpu *c);
/* Handles the exit described by c->run (I/O hypercalls, faults, unexpected
 * exits); HC_STOP once the run has ended (kvm_vcpu.c). */
enum hc_action kvm_vcpu_exit(struct vmm *v, struct vcpu *c);
/* Thread body: KVM_RUN until the run ends (kvm_vcpu.c). */
void *kvm_vcpu_thread(void *arg);
/* Prints RIP, the general registers and the control registers of c. */
void kvm_vcpu_print_regs(struct vcpu *c, FILE *f);
/* Closes fds and unmaps the vCPUs' run areas. */
void kvm_vm_destroy(struct vmm *v);
/* Prints the VM-exit counts (total and per reason) to f. */
void kvm_print_exit_counts(const struct vmm *v, FILE *f);

#endif
