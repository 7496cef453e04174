/* kvm_vcpu.c: one vCPU: its long-mode start state and its KVM_RUN loop.
 *
 * Start state (PLATFORM-NOTES.md, as uhyve does): EFER = LME|LMA,
 * CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE|OSFXSR|OSXMMEXCPT, CR3 = the boot PML4,
 * CS = 64-bit code selector 0x08 (L=1), data selectors 0x10, GDTR = the GDT at
 * MTB_GDT_ADDR; rip = ELF entry, rdi = hvm_start_info, rsi = cpu id,
 * rdx = mtb_boot_ext, rsp = stack_top - id * stack_size. CPUID is KVM's
 * supported set with this vCPU's APIC id. APs are made RUNNABLE (with an
 * in-kernel irqchip they would wait for INIT/SIPI).
 *
 * Run loop: KVM_RUN, count the exit, handle it; stop when the run is done
 * (v->done) or KVM_RUN is interrupted by the stop signal (immediate_exit).
 * Every ioctl failure names the ioctl and errno.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmm.h"

#define CR0_PE	   0x1ull
#define CR0_MP	   0x2ull
#define CR0_ET	   0x10ull
#define CR0_NE	   0x20ull
#define CR0_WP	   0x10000ull
#define CR0_PG	   0x80000000ull
#define CR4_PAE	   0x20ull
#define CR4_OSFXSR 0x200ull
#define CR4_OSXMM  0x400ull
#define EFER_LME   0x100ull
#define EFER_LMA   0x400ull

static int vcpu_perror(struct vcpu *c, const char *ioctl_name)
{
	fprintf(stderr, "vmm: vCPU %u: %s: %s\n", c->id, ioctl_name, strerror(errno));
	return VMM_EXIT_HOST;
}

static int vcpu_set_cpuid(struct vmm *v, struct vcpu *c)
{
	const struct kvm_cpuid2 *sup = v->cpuid;
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *cp = malloc(sz);
	if (!cp)
		return vcpu_perror(c, "malloc(cpuid)");
	memcpy(cp, sup, sz);
	for (uint32_t i = 0; i < cp->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cp->entries[i];
		if (e->function == 1) {
			e->ebx = (e->ebx & 0x00ffffffu) | (c->id << 24); /* initial APIC id */
			e->ecx |= 1u << 31;				 /* hypervisor present */
		} else if (e->function == 0xb || e->function == 0x1f) {
			e->edx = c->id; /* x2APIC id */
		}
	}
	int r = ioctl(c->fd, KVM_SET_CPUID2, cp);
	free(cp);
	return r < 0 ? vcpu_perror(c, "KVM_SET_CPUID2") : 0;
}

static int vcpu_set_sregs(struct vmm *v, struct vcpu *c)
{
	struct kvm_sregs s;
	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		return vcpu_perror(c, "KVM_GET_SREGS");
	struct kvm_segment code = {.base = 0,
				   .limit = 0xffffffff,
				   .selector = BOOT_GDT_CODE64,
				   .type = 11,
				   .present = 1,
				   .dpl = 0,
				   .db = 0,
				   .s = 1,
				   .l = 1,
				   .g = 1};
	struct kvm_segment data = code;
	data.selector = BOOT_GDT_DATA;
	data.type = 3;
	data.db = 1;
	data.l = 0;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.gdt.base = MTB_GDT_ADDR;
	s.gdt.limit = 3 * 8 - 1;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr3 = MTB_PAGETABLE_ADDR;
	s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMM;
	s.efer = EFER_LME | EFER_LMA;
	if (ioctl(c->fd, KVM_SET_SREGS, &s) < 0)
		return vcpu_perror(c, "KVM_SET_SREGS");
	return 0;
}

static int vcpu_set_regs(struct vmm *v, struct vcpu *c)
{
	const struct boot_layout *bl = &v->boot;
	struct kvm_regs r = {
	    .rflags = 0x2,
	    .rip = bl->entry,
	    .rdi = MTB_BOOTINFO_ADDR,
	    .rsi = c->id,
	    .rdx = bl->ext_gpa,
	    .rsp = bl->stack_top - (uint64_t)c->id * bl->stack_size,
	};
	if (ioctl(c->fd, KVM_SET_REGS, &r) < 0)
		return vcpu_perror(c, "KVM_SET_REGS");
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
		return vcpu_perror(c, "KVM_SET_FPU");
	struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
	if (c->id > 0 && ioctl(c->fd, KVM_SET_MP_STATE, &mp) < 0)
		return vcpu_perror(c, "KVM_SET_MP_STATE");
	return 0;
}

int kvm_vcpu_setup(struct vmm *v, struct vcpu *c)
{
	c->vm = v;
	c->fd = ioctl(v->vm_fd, KVM_CREATE_VCPU, (unsigned long)c->id);
	if (c->fd < 0)
		return vcpu_perror(c, "KVM_CREATE_VCPU");
	c->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED) {
		c->run = NULL;
		return vcpu_perror(c, "mmap(kvm_run)");
	}
	int rc = vcpu_set_cpuid(v, c);
	if (!rc)
		rc = vcpu_set_sregs(v, c);
	if (!rc)
		rc = vcpu_set_regs(v, c);
	return rc;
}

void kvm_vcpu_print_regs(struct vcpu *c, FILE *f)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(c->fd, KVM_GET_REGS, &r) < 0 || ioctl(c->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(f, "  vCPU %u: registers unavailable: %s\n", c->id, strerror(errno));
		return;
	}
	fprintf(f,
		"  vCPU %u: RIP=%016llx RSP=%016llx RFLAGS=%08llx\n"
		"  RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
		"  RSI=%016llx RDI=%016llx RBP=%016llx R8 =%016llx\n"
		"  R9 =%016llx R10=%016llx R11=%016llx R12=%016llx\n"
		"  R13=%016llx R14=%016llx R15=%016llx\n"
		"  CR0=%llx CR2=%llx CR3=%llx CR4=%llx EFER=%llx CS=%x\n",
		c->id, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp,
		r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, s.cr0, s.cr2, s.cr3, s.cr4,
		s.efer, s.cs.selector);
}

/* Ends the run for a guest fault: message, then this vCPU's registers. */
static enum hc_action vcpu_fault(struct vmm *v, struct vcpu *c, const char *what)
{
	pthread_mutex_lock(&v->lock);
	bool first = !v->done;
	if (first) {
		fflush(v->console);
		fprintf(stderr, "vmm: vCPU %u: %s\n", c->id, what);
		kvm_vcpu_print_regs(c, stderr);
	}
	pthread_mutex_unlock(&v->lock);
	vmm_finish(v, VMM_EXIT_GUEST, NULL);
	return HC_STOP;
}

static enum hc_action vcpu_io(struct vmm *v, struct vcpu *c, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;
	uint32_t value = 0;
	if (run->io.count != 1 || (size != 1 && size != 2 && size != 4)) {
		vmm_finish(v, VMM_EXIT_GUEST,
			   "vCPU %u: string or odd-sized I/O on port 0x%x "
			   "(count %u, size %u)",
			   c->id, run->io.port, run->io.count, size);
		return HC_STOP;
	}
	if (run->io.direction == KVM_EXIT_IO_OUT) {
		memcpy(&value, data, size);
		return hc_out(v, c->id, run->io.port, value, size);
	}
	enum hc_action a = hc_in(v, c->id, run->io.port, size, &value);
	memcpy(data, &value, size);
	return a;
}

enum hc_action kvm_vcpu_exit(struct vmm *v, struct vcpu *c)
{
	struct kvm_run *run = c->run;
	char what[160];
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return vcpu_io(v, c, run);
	case KVM_EXIT_INTR:
		return HC_CONTINUE;
	case KVM_EXIT_SHUTDOWN:
		return vcpu_fault(v, c, "triple fault (KVM_EXIT_SHUTDOWN)");
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what),
			 "KVM_EXIT_FAIL_ENTRY: hardware entry failure reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return vcpu_fault(v, c, what);
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "KVM_EXIT_INTERNAL_ERROR: suberror %u",
			 run->internal.suberror);
		return vcpu_fault(v, c, what);
	case KVM_EXIT_MMIO:
		snprintf(what, sizeof(what),
			 "%s of %u bytes at unmapped guest-physical 0x%llx "
			 "(KVM_EXIT_MMIO)",
			 run->mmio.is_write ? "write" : "read", run->mmio.len,
			 (unsigned long long)run->mmio.phys_addr);
		return vcpu_fault(v, c, what);
	case KVM_EXIT_SYSTEM_EVENT:
		snprintf(what, sizeof(what),
			 "system event %u (KVM_EXIT_SYSTEM_EVENT: shutdown/reset)",
			 run->system_event.type);
		return vcpu_fault(v, c, what);
	default:
		snprintf(what, sizeof(what), "unexpected exit reason %u", run->exit_reason);
		return vcpu_fault(v, c, what);
	}
}

void *kvm_vcpu_thread(void *arg)
{
	struct vcpu *c = arg;
	struct vmm *v = c->vm;
	struct kvm_run *run = c->run;
	while (!__atomic_load_n(&v->done, __ATOMIC_ACQUIRE)) {
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue; /* stop signal or spurious: the loop test decides */
			vmm_finish(v, VMM_EXIT_HOST, "vCPU %u: KVM_RUN: %s", c->id,
				   strerror(errno));
			break;
		}
		unsigned reason = run->exit_reason;
		__atomic_fetch_add(&v->exits[reason < 64 ? reason : 63], 1, __ATOMIC_RELAXED);
		if (kvm_vcpu_exit(v, c) == HC_STOP)
			break;
	}
	return NULL;
}
