/* cpu.c: per-CPU descriptor tables, exception reporting and per-CPU data.
 *
 * One GDT shared by all CPUs: 0x08 kernel code (64-bit), 0x10 kernel data, then
 * one 16-byte TSS descriptor per CPU at selector 0x18 + 16 * id. Each TSS gives
 * IST1, a private 4 KiB stack for #NMI, #DF and #MC, so a kernel stack overflow
 * is still reported. One IDT: vectors 0-31 (exceptions), IPI_VECTOR (TLB
 * shootdown: the handler mmu.c registers, cpu_set_ipi_handler, so this file calls
 * nothing above it), WAKE_VECTOR (smp.c) and 255 (LAPIC spurious) go through isr.S into
 * trap_handler, which formats vector, name, error code, RIP, CR2 and all registers and calls
 * guest_panic. Expected faults: a #PF at probe_read64_insn (isr.S) while this CPU's
 * percpu.fault_expected is set (cpu_probe_read) is recorded (fault_cr2, faults_caught)
 * and resumed at probe_read64_fixup instead; any other fault still panics. %gs base = &percpu[id], and percpu[id].self == &percpu[id], so this_cpu() is one
 * load.
 */
#include "kernel.h"
#include "x86.h"

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

static void (*ipi_handler)(void); /* IPI_VECTOR's (mmu.c's shootdown), via cpu_set_ipi_handler */

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, attr;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* Saved by isr.S: the registers it pushed, then what the CPU pushed. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

#define GDT_TSS0       3
#define SEL_CODE       0x08
#define SEL_DATA       0x10
#define IST_STACK_SIZE 4096

static uint64_t gdt[GDT_TSS0 + 2 * GUEST_MAX_CPUS] = {
    0,
    0x00af9a000000ffffull,
    0x00cf92000000ffffull,
};
static struct idt_gate idt[256];
static struct tss tss[GUEST_MAX_CPUS];
static struct percpu percpu[GUEST_MAX_CPUS];
static uint8_t ist_stacks[GUEST_MAX_CPUS][IST_STACK_SIZE] __attribute__((aligned(16)));
extern const uint64_t isr_table[32], isr_ipi, isr_wake, isr_spurious;
extern const char probe_read64_insn[], probe_read64_fixup[];
int probe_read64(uint64_t addr, uint64_t *out);
void cpu_set_ipi_handler(void (*fn)(void))
{
	atomic_store_rel(&ipi_handler, fn);
}

void trap_handler(struct trap_frame *f);

static void idt_set(unsigned vec, uint64_t handler, unsigned ist)
{
	idt[vec] = (struct idt_gate){
	    .off0 = (uint16_t)handler,
	    .sel = SEL_CODE,
	    .ist = (uint8_t)ist,
	    .attr = 0x8e,
	    .off1 = (uint16_t)(handler >> 16),
	    .off2 = (uint32_t)(handler >> 32),
	};
}

static void idt_build(void)
{
	for (unsigned v = 0; v < 32; v++)
		idt_set(v, isr_table[v], v == 2 || v == 8 || v == 18 ? 1 : 0);
	idt_set(IPI_VECTOR, isr_ipi, 0);
	idt_set(WAKE_VECTOR, isr_wake, 0);
	idt_set(255, isr_spurious, 0);
}

static void tss_install(unsigned id)
{
	uint64_t base = (uintptr_t)&tss[id], limit = sizeof(struct tss) - 1;
	tss[id].ist[0] = (uintptr_t)ist_stacks[id] + IST_STACK_SIZE;
	tss[id].iomap_base = sizeof(struct tss);
	gdt[GDT_TSS0 + 2 * id] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
				 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[GDT_TSS0 + 2 * id + 1] = base >> 32;
}

/* Loads the GDT and reloads every segment register (CS by a far return). */
static void gdt_load(void)
{
	struct desc_ptr p = {sizeof(gdt) - 1, (uintptr_t)gdt};
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%ss\n\t"
			 "mov %3, %%fs\n\t"
			 "mov %3, %%gs\n\t"
			 :
			 : "m"(p), "i"(SEL_CODE), "r"((uint16_t)SEL_DATA), "r"((uint16_t)0)
			 : "rax", "memory");
}

void cpu_init(unsigned id, uint64_t stack_top)
{
	if (id >= GUEST_MAX_CPUS)
		guest_panic("cpu_init: cpu id >= GUEST_MAX_CPUS");
	if (id == 0)
		idt_build();
	tss_install(id);
	gdt_load();
	uint16_t tr = (uint16_t)((GDT_TSS0 + 2 * id) * 8);
	__asm__ volatile("ltr %0" ::"r"(tr));
	struct desc_ptr ip = {sizeof(idt) - 1, (uintptr_t)idt};
	__asm__ volatile("lidt %0" ::"m"(ip));
	struct percpu *p = &percpu[id];
	p->self = p;
	p->id = id;
	p->stack_top = stack_top;
	wrmsr(MSR_GS_BASE, (uintptr_t)p);
	uint64_t cr0;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" ::"r"(cr0 | (1ull << 16)) : "memory"); /* WP */
}

bool cpu_probe_read(uint64_t addr, uint64_t *val)
{
	struct percpu *p = this_cpu();
	p->fault_expected = true;
	__asm__ volatile("" ::: "memory");
	bool faulted = probe_read64(addr, val) != 0;
	__asm__ volatile("" ::: "memory");
	p->fault_expected = false;
	return faulted;
}

struct percpu *percpu_of(unsigned id)
{
	return id < GUEST_MAX_CPUS ? &percpu[id] : NULL;
}

static const char *const trap_names[32] = {
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved",
    "#MF x87 error",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD error",
    "#VE virtualization",
    "#CP control protection",
};

void trap_handler(struct trap_frame *f)
{
	if (f->vector == 255)
		return; /* spurious LAPIC interrupt: no EOI */
	if (f->vector == IPI_VECTOR) {
		void (*fn)(void) = atomic_load_acq(&ipi_handler);
		if (fn)
			fn();
		lapic_eoi();
		return;
	}
	if (f->vector == WAKE_VECTOR) {
		lapic_eoi(); /* only ends an idle CPU's hlt (smp.c) */
		return;
	}
	struct percpu *p = (struct percpu *)(uintptr_t)rdmsr(MSR_GS_BASE);
	if (f->vector == 14 && p && p->fault_expected && f->rip == (uintptr_t)probe_read64_insn) {
		p->fault_expected = false;
		p->fault_cr2 = read_cr2();
		p->faults_caught++;
		f->rip = (uintptr_t)probe_read64_fixup;
		return;
	}
	const char *name =
	    f->vector < 32 && trap_names[f->vector] ? trap_names[f->vector] : "interrupt";
	char msg[640];
	ksnprintf(msg, sizeof(msg),
		  "cpu %d: exception vector=%lu (%s) error=0x%lx rip=0x%lx cr2=0x%lx\n"
		  "  rsp=%016lx rflags=%016lx cs=%lx ss=%lx\n"
		  "  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n"
		  "  rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx\n"
		  "  r9 =%016lx r10=%016lx r11=%016lx r12=%016lx\n"
		  "  r13=%016lx r14=%016lx r15=%016lx cr3=%016lx",
		  p ? (int)p->id : -1, f->vector, name, f->error, f->rip, read_cr2(), f->rsp,
		  f->rflags, f->cs, f->ss, f->rax, f->rbx, f->rcx, f->rdx, f->rsi, f->rdi, f->rbp,
		  f->r8, f->r9, f->r10, f->r11, f->r12, f->r13, f->r14, f->r15, read_cr3());
	guest_panic(msg);
}
