/* main.c: the vmm command. Order of initialisation, explicitly:
 *   options -> ELF and trace files -> guest RAM plan + mmap -> ELF load ->
 *   boot layout -> (--dry-run: print, exit 0) -> calibration on the host ->
 *   /dev/kvm, VM, memslots -> vCPUs -> TSC kHz and page-size fix-ups ->
 *   result file -> run -> exit counts, commit or drop results.
 * Exit codes: see vmm.h (0 ok, 1 guest failed, 2 usage/input, 3 no /dev/kvm,
 * 4 KVM/host failure).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

/* Reads a whole regular file of at most max bytes; 0, or -1 with errno set (EISDIR
 * for a directory, EFTYPE-like ENOEXEC for any other non-regular file, EFBIG past
 * max). The open never blocks: O_NONBLOCK, so a FIFO without a writer is refused
 * at once as "not a regular file" instead of waiting for one. */
static int read_file(const char *path, uint64_t max, uint8_t **buf, size_t *size)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -1;
	int e = fstat(fd, &st) < 0	 ? errno
		: S_ISDIR(st.st_mode)	 ? EISDIR
		: !S_ISREG(st.st_mode)	 ? ENOEXEC
		: (uint64_t)st.st_size > max ? EFBIG
					 : 0;
	FILE *f = e ? NULL : fdopen(fd, "rb");
	if (!f) {
		e = e ? e : errno;
		close(fd);
		errno = e;
		return -1;
	}
	*size = (size_t)st.st_size;
	*buf = malloc(*size ? *size : 1);
	if (!*buf || fread(*buf, 1, *size, f) != *size) {
		e = *buf ? EIO : ENOMEM;
		free(*buf);
		fclose(f);
		errno = e;
		return -1;
	}
	fclose(f);
	return 0;
}

/* Everything before KVM: files, RAM, image, boot structures. VMM_EXIT_*. */
/* --dry-run: what the host side of calibration would use. */
static void print_host_calib(void)
{
	struct calib_env env;
	calib_env_detect(&env);
	printf("host calibration: %llu TSC cycles for %llu loop iterations; %s%s\n",
	       (unsigned long long)calib_host_cycles(MTB_CALIB_ITERS), MTB_CALIB_ITERS,
	       env.emulated ? "timings untrusted: " : "no sign of emulated KVM",
	       env.emulated ? env.why : "");
}

static const char *file_error(int e)
{
	return e == ENOEXEC ? "not a regular file"
	     : e == EFBIG   ? "does not fit in guest RAM (--mem)"
			    : strerror(e);
}

static int prepare(struct vmm *v, struct elf_image *img, uint8_t **elf, uint8_t **trace)
{
	char err[VMM_ERRLEN], cmdline[0xd000];
	size_t elf_size, trace_size = 0;
	if (read_file(v->opt.elf_path, v->opt.mem, elf, &elf_size) < 0) {
		fprintf(stderr, "vmm: %s: %s\n", v->opt.elf_path, file_error(errno));
		return VMM_EXIT_USAGE;
	}
	if (elf_parse(img, *elf, elf_size, err, sizeof(err)) < 0) {
		fprintf(stderr, "vmm: %s: %s\n", v->opt.elf_path, err);
		return VMM_EXIT_USAGE;
	}
	if (v->opt.trace_path && read_file(v->opt.trace_path, v->opt.mem, trace, &trace_size) < 0) {
		fprintf(stderr, "vmm: --trace %s: %s\n", v->opt.trace_path, file_error(errno));
		return VMM_EXIT_USAGE;
	}
	if (vmm_options_cmdline(&v->opt, cmdline, sizeof(cmdline)) < 0) {
		fprintf(stderr, "vmm: workload arguments too long (max %zu bytes)\n",
			sizeof(cmdline) - 1);
		return VMM_EXIT_USAGE;
	}
	guest_mem_plan(&v->mem, v->opt.mem, v->opt.holes);
	int e = guest_mem_alloc(&v->mem);
	if (e < 0) {
		fprintf(stderr, "vmm: mmap guest RAM (%llu MiB): %s\n",
			(unsigned long long)(v->opt.mem >> 20), strerror(-e));
		return VMM_EXIT_HOST;
	}
	struct boot_params bp = {
	    .ncpus = v->opt.cpus, .cmdline = cmdline, .trace = *trace, .trace_size = trace_size};
	if (elf_load(img, &v->mem, err, sizeof(err)) < 0 ||
	    boot_layout_build(&v->boot, &v->mem, img, &bp, err, sizeof(err)) < 0) {
		fprintf(stderr, "vmm: %s: %s\n", v->opt.elf_path, err);
		return VMM_EXIT_USAGE;
	}
	if (v->opt.dry_run) {
		boot_layout_print(stdout, &v->boot, &v->mem);
		printf("cmdline: \"%s\"\n", cmdline);
		print_host_calib();
	}
	return VMM_EXIT_OK;
}

/* After the vCPUs exist: real TSC kHz into the boot ext, 1 GiB pages if offered. */
static int fixups(struct vmm *v)
{
	char err[VMM_ERRLEN];
	struct mtb_boot_ext *ext = guest_mem_ptr(&v->mem, v->boot.ext_gpa, sizeof(*ext));
	ext->tsc_khz = kvm_vm_tsc_khz(v);
	if (kvm_vm_has_1g_pages(v) && boot_page_tables(&v->boot, &v->mem, true, err, sizeof(err))) {
		fprintf(stderr, "vmm: %s\n", err);
		return VMM_EXIT_HOST;
	}
	return VMM_EXIT_OK;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Boots and runs the guest; VMM_EXIT_*. */
static int boot(struct vmm *v)
{
	vmm_state_init(v);
	calib_env_detect(&v->env);
	v->host_calib_cycles = calib_host_cycles(MTB_CALIB_ITERS);
	/* --out first: a path we cannot write is bad input (2) even without KVM */
	int e = result_out_open(&v->out, v->opt.out_path);
	if (e < 0) {
		fprintf(stderr, "vmm: --out %s: %s\n", v->opt.out_path, strerror(-e));
		return e == -ENOMEM ? VMM_EXIT_HOST : VMM_EXIT_USAGE;
	}
	int rc = kvm_vm_create(v);
	if (!rc)
		rc = kvm_vcpus_create(v);
	if (!rc)
		rc = fixups(v);
	if (rc) {
		result_out_abort(&v->out);
		return rc;
	}
	double t0 = now_s();
	rc = kvm_vm_run(v);
	fprintf(stderr, "vmm: %u vCPU(s) ran %.3f s\n", v->opt.cpus, now_s() - t0);
	kvm_print_exit_counts(v, stderr);
	if (!vmm_timing_trusted(v))
		fprintf(stderr, "vmm: timings NOT trusted: %s\n",
			v->env.emulated	      ? v->env.why
			: v->calib_ratio <= 0 ? "the guest reported no calibration"
					      : "the guest runs >= 2x slower than the host");
	if (rc != VMM_EXIT_OK) {
		result_out_abort(&v->out);
		return rc;
	}
	e = result_out_commit(&v->out);
	if (e < 0) {
		fprintf(stderr, "vmm: --out %s: %s\n", v->opt.out_path, strerror(-e));
		return VMM_EXIT_HOST;
	}
	return VMM_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct vmm *v = calloc(1, sizeof(*v));
	struct elf_image img;
	uint8_t *elf = NULL, *trace = NULL;
	char err[VMM_ERRLEN];
	if (!v) {
		fprintf(stderr, "vmm: out of memory\n");
		return VMM_EXIT_HOST;
	}
	v->kvm_fd = v->vm_fd = -1;
	int rc = vmm_options_parse(&v->opt, argc, argv, err, sizeof(err));
	if (rc == 1) {
		vmm_usage(stdout);
		rc = VMM_EXIT_OK;
	} else if (rc < 0) {
		fprintf(stderr, "vmm: %s\n", err);
		rc = VMM_EXIT_USAGE;
	} else {
		rc = prepare(v, &img, &elf, &trace);
		if (rc == VMM_EXIT_OK && !v->opt.dry_run) {
			rc = boot(v);
			kvm_vm_destroy(v);
		}
	}
	guest_mem_free(&v->mem);
	free(elf);
	free(trace);
	free(v);
	return rc;
}
