/* kvm_vm.c: the VM: /dev/kvm, memslots, the in-kernel irqchip, the vCPU
 * threads and the watchdog (kvmtool's order of set-up, made explicit).
 *
 *   open /dev/kvm -> KVM_GET_API_VERSION == 12 -> capabilities -> KVM_CREATE_VM
 *   -> KVM_SET_TSS_ADDR (in the PC gap) -> KVM_CREATE_IRQCHIP
 *   -> one KVM_SET_USER_MEMORY_REGION per RAM region -> vCPUs (kvm_vcpu.c)
 *
 * Stopping: whoever ends the run calls vmm_finish(); the main thread wakes,
 * sets immediate_exit in every vCPU's kvm_run and sends it SIGUSR1 (handler
 * installed without SA_RESTART), so a vCPU inside KVM_RUN returns EINTR and
 * one about to enter returns at once; then it joins every thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

#define KVM_TSS_ADDR 0xfffbd000ul /* 3 pages inside the PC gap below 4 GiB */

static int die_perror(const char *what)
{
	fprintf(stderr, "vmm: %s: %s\n", what, strerror(errno));
	return VMM_EXIT_HOST;
}

static int kvm_check_caps(struct vmm *v)
{
	static const struct {
		int cap;
		const char *name;
	} need[] = {
	    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
	    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
	    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
	    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
	    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
	};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (ioctl(v->kvm_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
			fprintf(stderr, "vmm: KVM lacks %s\n", need[i].name);
			return VMM_EXIT_HOST;
		}
	int max = ioctl(v->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(v->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max > 0 && v->opt.cpus > (unsigned)max) {
		fprintf(stderr, "vmm: --cpus %u: this KVM allows at most %d vCPUs\n", v->opt.cpus,
			max);
		return VMM_EXIT_HOST;
	}
	/* NR_VCPUS is KVM's recommended maximum (the host's cores): more vCPUs
	 * work but share cores, so say so rather than fail. */
	int rec = ioctl(v->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (rec > 0 && v->opt.cpus > (unsigned)rec)
		fprintf(stderr,
			"vmm: note: --cpus %u is above KVM_CAP_NR_VCPUS = %d (recommended; "
			"max %d): vCPUs share host cores\n",
			v->opt.cpus, rec, max);
	return 0;
}

/* KVM_GET_SUPPORTED_CPUID, growing the buffer while KVM says E2BIG. */
static int kvm_get_cpuid(struct vmm *v)
{
	for (uint32_t nent = 64; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *cp = calloc(1, sizeof(*cp) + nent * sizeof(cp->entries[0]));
		if (!cp)
			return die_perror("calloc(cpuid)");
		cp->nent = nent;
		if (ioctl(v->kvm_fd, KVM_GET_SUPPORTED_CPUID, cp) == 0) {
			v->cpuid = cp;
			return 0;
		}
		free(cp);
		if (errno != E2BIG)
			return die_perror("KVM_GET_SUPPORTED_CPUID");
	}
	errno = E2BIG;
	return die_perror("KVM_GET_SUPPORTED_CPUID");
}

static int kvm_add_memslots(struct vmm *v)
{
	for (unsigned i = 0; i < v->mem.nregions; i++) {
		const struct guest_region *r = &v->mem.r[i];
		struct kvm_userspace_memory_region slot = {
		    .slot = i,
		    .guest_phys_addr = r->gpa,
		    .memory_size = r->size,
		    .userspace_addr = (uint64_t)(uintptr_t)r->hva,
		};
		if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return die_perror("KVM_SET_USER_MEMORY_REGION");
	}
	return 0;
}

int kvm_vm_create(struct vmm *v)
{
	v->vm_fd = -1;
	v->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm_fd < 0) {
		fprintf(stderr, "vmm: cannot open /dev/kvm: %s\n", strerror(errno));
		return VMM_EXIT_NOKVM;
	}
	int api = ioctl(v->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api < 0)
		return die_perror("KVM_GET_API_VERSION");
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "vmm: KVM API version %d, need %d\n", api, KVM_API_VERSION);
		return VMM_EXIT_HOST;
	}
	int rc = kvm_check_caps(v);
	if (!rc)
		rc = kvm_get_cpuid(v);
	if (rc)
		return rc;
	do
		v->vm_fd = ioctl(v->kvm_fd, KVM_CREATE_VM, 0);
	while (v->vm_fd < 0 && errno == EINTR);
	if (v->vm_fd < 0)
		return die_perror("KVM_CREATE_VM");
	if (ioctl(v->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		return die_perror("KVM_SET_TSS_ADDR");
	if (ioctl(v->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return die_perror("KVM_CREATE_IRQCHIP");
	int sz = ioctl(v->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		return die_perror("KVM_GET_VCPU_MMAP_SIZE");
	v->run_size = (size_t)sz;
	return kvm_add_memslots(v);
}

bool kvm_vm_has_1g_pages(struct vmm *v)
{
	const struct kvm_cpuid2 *cp = v->cpuid;
	for (uint32_t i = 0; cp && i < cp->nent; i++)
		if (cp->entries[i].function == 0x80000001u)
			return (cp->entries[i].edx >> 26) & 1; /* Page1GB */
	return false;
}

uint32_t kvm_vm_tsc_khz(struct vmm *v)
{
	int khz = v->vcpu[0].fd > 0 ? ioctl(v->vcpu[0].fd, KVM_GET_TSC_KHZ, 0) : -1;
	return khz > 0 ? (uint32_t)khz : 0;
}

int kvm_vcpus_create(struct vmm *v)
{
	for (unsigned i = 0; i < v->opt.cpus; i++) {
		v->vcpu[i].id = i;
		int rc = kvm_vcpu_setup(v, &v->vcpu[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static void on_stop_signal(int sig)
{
	(void)sig; /* only here to interrupt KVM_RUN */
}

static void stop_vcpus(struct vmm *v)
{
	for (unsigned i = 0; i < v->opt.cpus; i++) {
		struct vcpu *c = &v->vcpu[i];
		if (!c->started)
			continue;
		__atomic_store_n(&((struct kvm_run *)c->run)->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(c->thread, SIGUSR1);
	}
	for (unsigned i = 0; i < v->opt.cpus; i++)
		if (v->vcpu[i].started) {
			pthread_join(v->vcpu[i].thread, NULL);
			v->vcpu[i].started = false;
		}
}

/* Waits until the run is done or the watchdog fires. */
static void wait_done(struct vmm *v)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += v->opt.timeout_s;
	pthread_mutex_lock(&v->lock);
	while (!v->done) {
		if (!v->opt.timeout_s) {
			pthread_cond_wait(&v->done_cv, &v->lock);
		} else if (pthread_cond_timedwait(&v->done_cv, &v->lock, &deadline) == ETIMEDOUT &&
			   !v->done) {
			pthread_mutex_unlock(&v->lock);
			v->watchdog_fired = vmm_finish(
			    v, VMM_EXIT_GUEST, "watchdog: the guest did not finish within %u s",
			    v->opt.timeout_s);
			return;
		}
	}
	pthread_mutex_unlock(&v->lock);
}

int kvm_vm_run(struct vmm *v)
{
	struct sigaction sa = {.sa_handler = on_stop_signal}; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return die_perror("sigaction(SIGUSR1)");
	for (unsigned i = 0; i < v->opt.cpus; i++) {
		int e = pthread_create(&v->vcpu[i].thread, NULL, kvm_vcpu_thread, &v->vcpu[i]);
		if (e) {
			vmm_finish(v, VMM_EXIT_HOST, "pthread_create(vCPU %u): %s", i, strerror(e));
			break;
		}
		v->vcpu[i].started = true;
	}
	wait_done(v);
	stop_vcpus(v);
	if (v->watchdog_fired)
		for (unsigned i = 0; i < v->opt.cpus; i++)
			kvm_vcpu_print_regs(&v->vcpu[i], stderr);
	return v->exit_code;
}

void kvm_vm_destroy(struct vmm *v)
{
	for (unsigned i = 0; i < v->opt.cpus; i++) {
		struct vcpu *c = &v->vcpu[i];
		if (c->run)
			munmap(c->run, v->run_size);
		if (c->fd > 0)
			close(c->fd);
		c->run = NULL;
		c->fd = -1;
	}
	if (v->vm_fd >= 0)
		close(v->vm_fd);
	if (v->kvm_fd >= 0)
		close(v->kvm_fd);
	v->vm_fd = v->kvm_fd = -1;
	free(v->cpuid);
	v->cpuid = NULL;
}

static const char *const exit_names[] = {
    [KVM_EXIT_UNKNOWN] = "unknown",
    [KVM_EXIT_EXCEPTION] = "exception",
    [KVM_EXIT_IO] = "io",
    [KVM_EXIT_HYPERCALL] = "hypercall",
    [KVM_EXIT_DEBUG] = "debug",
    [KVM_EXIT_HLT] = "hlt",
    [KVM_EXIT_MMIO] = "mmio",
    [KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window",
    [KVM_EXIT_SHUTDOWN] = "shutdown",
    [KVM_EXIT_FAIL_ENTRY] = "fail_entry",
    [KVM_EXIT_INTR] = "intr",
    [KVM_EXIT_SET_TPR] = "set_tpr",
    [KVM_EXIT_TPR_ACCESS] = "tpr_access",
    [KVM_EXIT_INTERNAL_ERROR] = "internal_error",
    [KVM_EXIT_SYSTEM_EVENT] = "system_event",
};

void kvm_print_exit_counts(const struct vmm *v, FILE *f)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < 64; i++)
		total += v->exits[i];
	fprintf(f, "vmm: %llu VM exits to the VMM", (unsigned long long)total);
	const char *sep = " (";
	for (unsigned i = 0; i < 64; i++) {
		if (!v->exits[i])
			continue;
		const char *n =
		    i < sizeof(exit_names) / sizeof(exit_names[0]) ? exit_names[i] : NULL;
		fprintf(f, "%s%s %llu", sep, n ? n : "other", (unsigned long long)v->exits[i]);
		sep = ", ";
	}
	fprintf(f, "%s\n", total ? ")" : "");
}
