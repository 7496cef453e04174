/* commands.c: the built-in commands and the command table (guest_commands).
 *
 * Add a command by writing `static int cmd_x(int argc, char **argv, const char *val)`
 * and one row in guest_commands; its return value becomes the exit code
 * (0 = success, 2 = bad arguments). Every result row goes through result_emit.
 *   selftest     all CPUs: shared atomic counter, spinlock counter, per-CPU data,
 *                stacks; plus memory map and page-table checks. One "selftest" row;
 *                entry_tsc_ns = TSC at kernel entry (time since VM reset when the TSC
 *                starts at 0, as under QEMU: firmware + loading), init_ns = kernel
 *                init up to the command (incl. starting the APs), ns = the test.
 *   calib        times mtb_calib_loop(MTB_CALIB_ITERS) with the TSC; HC_PORT_CALIB
 *                under our VMM; one "calib" row.
 *   fault=KIND   div0 | pf | null | stack | hang | badhc | ap-pf | triple: provokes the failure;
 *                the host must report it and exit non-zero.
 */
#include "kernel.h"
#include "x86.h"

#define SELFTEST_ITERS 100000u
#define PF_ADDR	       0x0000400000000000ull /* 64 TiB: canonical, never mapped */

extern char __kernel_start[];

struct selftest {
	uint64_t counter, locked_counter, seen_mask;
	uint32_t bad_percpu;
	struct spinlock lock;
};

static void selftest_cpu(unsigned cpu, void *arg)
{
	struct selftest *t = arg;
	struct percpu *p = this_cpu();
	uint64_t rsp = read_rsp();
	uint64_t stack = boot.vmm_stack_size ? boot.vmm_stack_size : GUEST_STACK_SIZE;
	bool ok = p == percpu_of(cpu) && p->id == cpu && rsp < p->stack_top &&
		  rsp >= p->stack_top - stack;
	__atomic_fetch_or(&t->seen_mask, 1ull << cpu, __ATOMIC_ACQ_REL);
	volatile uint64_t *mine = &p->scratch[0];
	*mine = 0;
	for (unsigned i = 0; i < SELFTEST_ITERS; i++) {
		atomic_fetch_add_rlx(&t->counter, 1);
		*mine = *mine + 1;
	}
	for (unsigned i = 0; i < SELFTEST_ITERS / 10; i++) {
		spin_lock(&t->lock);
		t->locked_counter++;
		spin_unlock(&t->lock);
	}
	if (!ok || *mine != SELFTEST_ITERS)
		atomic_fetch_add_acqrel(&t->bad_percpu, 1);
}

static int cmd_selftest(int argc, char **argv, const char *val)
{
	static struct selftest t;
	unsigned n = smp_ncpus();
	uint64_t t0 = rdtsc();
	smp_run_all(selftest_cpu, &t);
	uint64_t ns = tsc_to_ns(rdtsc() - t0);
	unsigned seen = (unsigned)__builtin_popcountll(t.seen_mask);
	uint64_t kpa = (uintptr_t)__kernel_start, last = mem_map_end(&boot.map) - PAGE_SIZE;
	bool paging_ok = paging_lookup(0) == ~0ull && paging_lookup(kpa) == kpa &&
			 paging_lookup(last) == last && paging_lookup(PF_ADDR) == ~0ull &&
			 paging_lookup(SIZE_1G + 8) == SIZE_1G + 8;
	bool ok = seen == n && t.counter == (uint64_t)n * SELFTEST_ITERS &&
		  t.locked_counter == (uint64_t)n * (SELFTEST_ITERS / 10) && t.bad_percpu == 0 &&
		  paging_ok && mem_map_bytes(&boot.map, MEM_USABLE) > 0;
	result_emit("selftest",
		    "\"cpus\":%u,\"cpus_seen\":%u,\"counter\":%lu,\"expected\":%lu,"
		    "\"locked_counter\":%lu,\"percpu_bad\":%u,\"paging_ok\":%s,\"usable_mib\":%lu,"
		    "\"regions\":%u,\"tsc_khz\":%u,\"tsc_calibrated\":%s,\"ns\":%lu,"
		    "\"entry_tsc_ns\":%lu,\"init_ns\":%lu,\"ok\":%s",
		    n, seen, t.counter, (uint64_t)n * SELFTEST_ITERS, t.locked_counter,
		    t.bad_percpu, paging_ok ? "true" : "false",
		    mem_map_bytes(&boot.map, MEM_USABLE) >> 20, boot.map.count, tsc_khz(),
		    tsc_calibrated() ? "true" : "false", ns, tsc_to_ns(boot.tsc_entry),
		    tsc_to_ns(boot.tsc_ready - boot.tsc_entry), ok ? "true" : "false");
	kprintf("selftest: %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}

static int cmd_calib(int argc, char **argv, const char *val)
{
	mtb_calib_loop(MTB_CALIB_ITERS / 10); /* warm-up (TCG translation, caches) */
	uint64_t t0 = rdtsc();
	mtb_calib_loop(MTB_CALIB_ITERS);
	uint64_t cycles = rdtsc() - t0;
	platform_calib(MTB_CALIB_ITERS, cycles);
	result_emit("calib", "\"iters\":%llu,\"tsc_cycles\":%lu,\"tsc_khz\":%u,\"ns\":%lu",
		    MTB_CALIB_ITERS, cycles, tsc_khz(), tsc_to_ns(cycles));
	return 0;
}

/* Writes to addr through a pointer the compiler cannot reason about. */
static void touch(uint64_t addr)
{
	__asm__ volatile("" : "+r"(addr));
	*(volatile uint64_t *)(uintptr_t)addr = 1;
}

static void touch_unmapped(void)
{
	touch(PF_ADDR);
}

static void ap_fault(unsigned cpu, void *arg)
{
	if (cpu == smp_ncpus() - 1)
		touch_unmapped();
}

/* Recurses until the stack guard page stops it. */
static unsigned overflow(unsigned depth)
{
	volatile char pad[512];
	pad[0] = (char)depth;
	if (depth > 100000000u)
		return pad[0];
	return overflow(depth + 1) + pad[0];
}

/* Loads an empty IDT and faults: the #UD cannot be delivered (#GP), nor can the
 * #DF after it, so the CPU shuts down (KVM_EXIT_SHUTDOWN; QEMU resets). */
static void triple_fault(void)
{
	static const struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} empty = {0, 0};
	__asm__ volatile("cli\n\tlidt %0\n\tud2" ::"m"(empty));
}

static int cmd_fault(int argc, char **argv, const char *val)
{
	kprintf("fault: provoking '%s'\n", val);
	if (__builtin_strcmp(val, "div0") == 0) {
		__asm__ volatile("xor %%ecx, %%ecx\n\tdiv %%ecx" ::: "rax", "rcx", "rdx");
	} else if (__builtin_strcmp(val, "pf") == 0) {
		touch_unmapped();
	} else if (__builtin_strcmp(val, "null") == 0) {
		touch(8);
	} else if (__builtin_strcmp(val, "stack") == 0) {
		overflow(0);
	} else if (__builtin_strcmp(val, "hang") == 0) {
		for (;;)
			__asm__ volatile("cli; pause");
	} else if (__builtin_strcmp(val, "badhc") == 0) {
		if (!boot.hypercalls) {
			kprintf("fault=badhc: needs our VMM (no hypercalls under QEMU)\n");
			return 3;
		}
		hypercall_buf(HC_PORT_CONSOLE, 1ull << 46, 64);
		guest_panic("fault=badhc: the VMM accepted a console buffer outside guest RAM");
	} else if (__builtin_strcmp(val, "triple") == 0) {
		triple_fault();
	} else if (__builtin_strcmp(val, "ap-pf") == 0) {
		if (smp_ncpus() < 2) {
			kprintf("fault=ap-pf: needs at least 2 CPUs\n");
			return 2;
		}
		smp_run_all(ap_fault, NULL);
	} else {
		kprintf("fault: unknown kind '%s' (div0 pf null stack hang badhc ap-pf triple)\n", val);
		return 2;
	}
	guest_panic("fault: the provoked fault did not happen");
}

static int cmd_help(int argc, char **argv, const char *val)
{
	for (unsigned i = 0; i < guest_ncommands; i++)
		kprintf("  %-10s %s\n", guest_commands[i].name, guest_commands[i].help);
	return 0;
}

const struct command guest_commands[] = {
    {"selftest", "every CPU: atomic and locked counters, per-CPU data; one result row",
     cmd_selftest},
    {"calib", "time the calibration loop with the TSC; one result row", cmd_calib},
    {"fault", "fault=div0|pf|null|stack|hang|badhc|ap-pf|triple: provoke a failure", cmd_fault},
    {"mmtest", "mmtest[=nosd]: mmu map/unmap with TLB shootdown on every CPU; one row", cmd_mmtest},
    {"frametest", "allocate every frame on every CPU, check against the map, 1 GiB block; one row",
     cmd_frametest},
    {"vatest", "vatest[=nosd]: 64 MiB of scattered frames in one VA range, CPU 1 faults after unmap",
     cmd_vatest},
    {"heaptest", "heaptest[=N]: N rounds of alloc/realloc/free per CPU, cross-CPU frees; one row",
     cmd_heaptest},
    {"replay", "replay[=serial|par]: replay the trace blob (PVH module 0) on HEAP_OPS; one row",
     cmd_replay},
    {"vareplay", "vareplay[=STRATEGY|all]: replay the blob on VA allocators; one va_frag row each",
     cmd_vareplay},
    {"help", "list the commands", cmd_help},
};
const unsigned guest_ncommands = sizeof(guest_commands) / sizeof(guest_commands[0]);
