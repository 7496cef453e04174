/* calib.c: is the guest running at hardware speed?
 *
 * The guest times mtb_calib_loop(MTB_CALIB_ITERS) with rdtsc and reports its
 * TSC cycles; the VMM runs the same instructions on the host (best of 5, so
 * a preempted run does not count) and computes
 *   ratio = (guest_cycles / guest_iters) / (host_cycles / host_iters).
 * Hardware-accelerated KVM gives ratio ~= 1; the nested, emulated KVM of the
 * development machines (DESIGN.md) gives ~1000. Timings are trusted when
 * ratio < 2 and the host shows no sign of emulated KVM (no vmx/svm CPU flag,
 * or the kvm_pvm module loaded).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* rdtsc; the loop body of mtb_calib_loop (guest/abi.h, guest engineer's
 * addition: "1: dec; jnz 1b"), byte for byte; rdtsc. As the guest times it. */
static uint64_t host_loop(uint64_t iters)
{
	uint64_t t0 = rdtsc();
	__asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(iters) : : "cc");
	return rdtsc() - t0;
}

uint64_t calib_host_cycles(uint64_t iters)
{
	uint64_t best = UINT64_MAX;
	if (iters == 0)
		return 0;
	host_loop(iters / 10); /* warm-up, as the guest does */
	for (int i = 0; i < 5; i++) {
		uint64_t c = host_loop(iters);
		best = c < best ? c : best;
	}
	return best;
}

/* true if the "flags" line of cpuinfo lists `flag` as a whole word. */
static bool has_flag(const char *cpuinfo, const char *flag)
{
	const char *line = strstr(cpuinfo, "\nflags");
	if (!line && strncmp(cpuinfo, "flags", 5) == 0)
		line = cpuinfo;
	if (!line)
		return false;
	const char *end = strchr(line + 1, '\n');
	size_t n = strlen(flag);
	for (const char *p = strstr(line, flag); p && (!end || p < end); p = strstr(p + 1, flag))
		if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

void calib_env_from(struct calib_env *e, const char *cpuinfo, const char *modules)
{
	*e = (struct calib_env){0};
	if (modules && (strncmp(modules, "kvm_pvm ", 8) == 0 || strstr(modules, "\nkvm_pvm "))) {
		e->emulated = true;
		snprintf(e->why, sizeof(e->why), "module kvm_pvm is loaded (emulated KVM)");
	} else if (cpuinfo && strstr(cpuinfo, "flags") && !has_flag(cpuinfo, "vmx") &&
		   !has_flag(cpuinfo, "svm")) {
		e->emulated = true;
		snprintf(e->why, sizeof(e->why),
			 "the host CPU has no vmx/svm flag (nested or "
			 "emulated KVM)");
	}
}

/* Reads a small /proc file into a malloc'd string (NULL on failure). */
static char *read_proc(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1 || cap >= (1u << 24))
			break;
		char *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

void calib_env_detect(struct calib_env *e)
{
	char *cpuinfo = read_proc("/proc/cpuinfo");
	char *modules = read_proc("/proc/modules");
	calib_env_from(e, cpuinfo, modules);
	free(cpuinfo);
	free(modules);
}

double calib_ratio(uint64_t guest_cycles, uint64_t guest_iters, uint64_t host_cycles,
		   uint64_t host_iters)
{
	if (!guest_cycles || !guest_iters || !host_cycles || !host_iters)
		return 0;
	return ((double)guest_cycles / (double)guest_iters) /
	       ((double)host_cycles / (double)host_iters);
}
