/* smp.c: bringing up the other CPUs and running work on all of them.
 *
 * Under our VMM every vCPU starts at _start64 by itself; APs spin in
 * kmain_ap_vmm until the boot CPU sets ap_release (after its GDT/IDT/page
 * tables exist). Under QEMU the CPUs are the enabled LAPICs of the ACPI MADT
 * (acpi.c): cpu 0 is the boot CPU, the others are numbered in table order
 * (cpu_of_apic maps APIC id -> cpu); without a MADT, fw_cfg key 0x05 gives the
 * count and APIC ids are taken to be 0..n-1. APIC ids must be < GUEST_MAX_CPUS
 * (AP stacks are indexed by them). The boot CPU starts them all at once: INIT to all others, 10 ms
 * (skipped under a hypervisor, CPUID.1:ECX[31], where INIT is processed before the SIPI), SIPI, 200
 * us, SIPI, through the 16-bit trampoline copied to TRAMPOLINE_ADDR (each AP finds its id and stack
 * from its APIC id there). Every AP ends in ap_idle, which runs each job posted by smp_run_all once
 * (with IPIs it sleeps in hlt between jobs and smp_run_all wakes it with WAKE_VECTOR; `sti; hlt`
 * closes the race): work_gen counts posted jobs; an AP has run job g when its `seen` == g;
 *   smp_run_all returns when work_done == ncpus - 1 (all APs finished).
 * IPIs: under QEMU (and our VMM with MTB_EXT_LAPIC) every CPU enables its LAPIC
 * and runs with interrupts on; the 8259 PICs are remapped to 0x20-0x2f and fully
 * masked first, so the only interrupts are IPIs (and LAPIC spurious ones).
 */
#include "kernel.h"
#include "x86.h"

#define TRAMPOLINE_ADDR	 0x8000
#define FW_CFG_PORT_SEL	 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_NB_CPUS	 0x05

struct trampoline_params {
	uint64_t cr3, stack_base, stack_size, entry;
};
extern const char ap_trampoline[], ap_trampoline_end[], ap_trampoline_params[];

static uint8_t ap_stacks[GUEST_MAX_CPUS][GUEST_STACK_SIZE] __attribute__((aligned(4096)));
static uint8_t cpu_of_apic[GUEST_MAX_CPUS]; /* 0 = not a known AP */
static unsigned ncpus = 1;
static bool ipi_ok;
static const char *cpu_source = "boot CPU only";
static uint32_t ap_release, online_count;
static struct {
	void (*fn)(unsigned cpu, void *arg);
	void *arg;
} work;
static uint64_t work_gen;
static uint32_t work_done;

void kmain_ap_vmm(uint64_t info_pa, uint64_t cpu, uint64_t ext_pa);
void smp_ap_entry(uint64_t cpu);

static unsigned fw_cfg_ncpus(void)
{
	char sig[4];
	outw(FW_CFG_PORT_SEL, 0);
	for (int i = 0; i < 4; i++)
		sig[i] = (char)inb(FW_CFG_PORT_DATA);
	if (__builtin_memcmp(sig, "QEMU", 4) != 0)
		return 1;
	outw(FW_CFG_PORT_SEL, FW_CFG_NB_CPUS);
	unsigned lo = inb(FW_CFG_PORT_DATA), hi = inb(FW_CFG_PORT_DATA);
	return lo | hi << 8;
}

bool smp_ipi_ok(void)
{
	return ipi_ok;
}

/* Waits up to ms milliseconds for online_count to reach n; true if it did. */
static bool wait_online(uint32_t n, uint64_t ms)
{
	uint64_t end = rdtsc() + ms * tsc_khz();
	while (atomic_load_acq(&online_count) < n)
		if ((int64_t)(rdtsc() - end) > 0)
			return false;
	return true;
}

/* INIT-SIPI-SIPI to every other CPU at once; panics unless all ncpus come online. */
static void start_aps(void)
{
	struct trampoline_params *p =
	    (void *)(uintptr_t)(TRAMPOLINE_ADDR + (ap_trampoline_params - ap_trampoline));
	__builtin_memcpy((void *)TRAMPOLINE_ADDR, ap_trampoline,
			 (size_t)(ap_trampoline_end - ap_trampoline));
	p->cr3 = paging_root();
	p->stack_base = (uintptr_t)ap_stacks;
	p->stack_size = GUEST_STACK_SIZE;
	p->entry = (uintptr_t)smp_ap_entry;
	smp_mb();
	lapic_ipi(0, (3u << 18) | 0x4500);    /* INIT, assert, all excluding self */
	udelay(cpu_is_virtual() ? 0 : 10000); /* as Linux: no INIT delay on modern/virtual CPUs */
	for (int i = 0; i < 2; i++) {
		lapic_ipi(0, (3u << 18) | 0x4600 | (TRAMPOLINE_ADDR >> 12)); /* SIPI */
		udelay(200);
	}
	if (!wait_online(ncpus, 5000)) { /* generous: TCG on a loaded host */
		char msg[80];
		ksnprintf(msg, sizeof(msg), "smp: only %u of %u CPUs started (INIT/SIPI)",
			  atomic_load_acq(&online_count), ncpus);
		guest_panic(msg);
	}
}

/* The lowest page of every kernel stack becomes an unmapped guard, so an overflow
 * faults (and is reported as #DF on the IST stack) instead of corrupting memory. */
static void guard_stacks(void)
{
	extern char boot_stack[];
	if (boot.vmm_ncpus) {
		uint64_t size = boot.vmm_stack_size, n = MM_MIN(boot.vmm_ncpus, GUEST_MAX_CPUS);
		if (size < 2 * PAGE_SIZE || size % PAGE_SIZE || boot.vmm_stack_top % PAGE_SIZE ||
		    boot.vmm_stack_top < n * size)
			return; /* odd layout: no guards rather than unmapping something else */
		for (unsigned i = 0; i < n; i++)
			paging_guard(boot.vmm_stack_top - (i + 1) * size);
		return;
	}
	paging_guard((uintptr_t)boot_stack);
	for (unsigned i = 0; i < GUEST_MAX_CPUS; i++)
		paging_guard((uintptr_t)ap_stacks[i]);
}

/* The CPU list under QEMU: fills cpu_of_apic, returns the CPU count. */
static unsigned find_cpus(void)
{
	uint32_t ids[GUEST_MAX_CPUS], bsp = lapic_id();
	int n = acpi_cpu_apic_ids(ids, GUEST_MAX_CPUS);
	cpu_source = "ACPI MADT";
	if (n < 0) {
		cpu_source = "fw_cfg";
		n = (int)MM_MAX(1u, MM_MIN(fw_cfg_ncpus(), GUEST_MAX_CPUS));
		for (int i = 0; i < n; i++)
			ids[i] = (uint32_t)i;
	}
	unsigned cpus = 1;
	for (int i = 0; i < n; i++) {
		if (ids[i] == bsp)
			continue;
		if (ids[i] >= GUEST_MAX_CPUS)
			guest_panic("smp: an APIC id is >= GUEST_MAX_CPUS");
		cpu_of_apic[ids[i]] = (uint8_t)cpus++;
	}
	percpu_of(0)->apic_id = bsp;
	return cpus;
}

void smp_init(void)
{
	guard_stacks();
	online_count = 1;
	ipi_ok = !boot.vmm_ncpus || boot.vmm_lapic;
	if (ipi_ok) {
		pic_disable();
		lapic_enable();
	}
	if (boot.vmm_ncpus) {
		ncpus = MM_MIN(boot.vmm_ncpus, GUEST_MAX_CPUS);
		cpu_source = "mtb_boot_ext";
		atomic_store_rel(&ap_release, 1);
		if (!wait_online(ncpus, 60000))
			guest_panic("smp: not every vCPU reached the kernel within 60 s");
		return;
	}
	ncpus = find_cpus();
	if (ncpus > 1)
		start_aps();
}

unsigned smp_ncpus(void)
{
	return ncpus;
}

const char *smp_cpu_source(void)
{
	return cpu_source;
}

static _Noreturn void ap_idle(unsigned cpu)
{
	uint64_t seen = 0;
	for (;;) {
		if (ipi_ok)
			__asm__ volatile("cli" ::: "memory");
		uint64_t g = atomic_load_acq(&work_gen);
		if (g == seen) {
			if (ipi_ok)
				__asm__ volatile("sti; hlt" ::: "memory");
			else
				cpu_relax();
			continue;
		}
		if (ipi_ok)
			__asm__ volatile("sti" ::: "memory");
		seen = g;
		work.fn(cpu, work.arg);
		atomic_fetch_add_acqrel(&work_done, 1);
	}
}

void smp_run_all(void (*fn)(unsigned cpu, void *arg), void *arg)
{
	atomic_store_rlx(&work_done, 0);
	work.fn = fn;
	work.arg = arg;
	atomic_store_rel(&work_gen, work_gen + 1);
	if (ipi_ok && ncpus > 1)
		lapic_ipi_others(WAKE_VECTOR);
	fn(0, arg);
	while (atomic_load_acq(&work_done) < ncpus - 1)
		cpu_relax();
}

static _Noreturn void ap_start(unsigned cpu, uint64_t stack_top)
{
	cpu_init(cpu, stack_top);
	if (ipi_ok)
		lapic_enable();
	percpu_of(cpu)->apic_id = ipi_ok ? lapic_id() : cpu;
	atomic_fetch_add_acqrel(&online_count, 1);
	ap_idle(cpu);
}

/* Called by the trampoline (QEMU) in long mode on ap_stacks[apic_id]. */
void smp_ap_entry(uint64_t apic_id)
{
	unsigned cpu = cpu_of_apic[apic_id];
	if (cpu == 0)
		halt_forever(); /* a CPU the firmware did not list */
	ap_start(cpu, (uintptr_t)ap_stacks[apic_id] + GUEST_STACK_SIZE);
}

/* _start64 for cpu != 0 under our VMM: wait for the boot CPU, then join. */
void kmain_ap_vmm(uint64_t info_pa, uint64_t cpu, uint64_t ext_pa)
{
	while (!atomic_load_acq(&ap_release))
		cpu_relax();
	write_cr3(paging_root());
	ap_start((unsigned)cpu, boot.vmm_stack_top - cpu * boot.vmm_stack_size);
}
