/* hypercall.c: the guest's port-I/O hypercalls (guest/abi.h) and the end state
 * of a run.
 *
 * A hypercall is an `outl` of a 32-bit guest-physical address of a struct
 * hc_buf (HC_EXIT: of the exit code). Nothing the guest supplies is trusted:
 * the hc_buf itself and the [addr, addr+len) it names must each lie inside
 * one RAM region (guest_mem_ptr, overflow-safe) and len is capped; anything
 * else ends the run with VMM_EXIT_GUEST and a message naming the vCPU, the
 * port and the bad range. COM1 output is accepted as console bytes (the
 * guest's serial driver may probe it); every other port ends the run.
 *
 * End state: vmm_finish() records the first reason the run ends (exit code
 * and message) under v->lock and wakes the main thread; later calls are
 * ignored, so a vCPU that faults after another one exited cannot change the
 * outcome.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

#define HC_MAX_LEN    (1u << 20) /* console and result buffers */
#define HC_MAX_PANIC  4096u
#define COM1_LSR      (COM1_PORT + 5)
#define COM1_LSR_IDLE 0x60 /* transmitter empty */

void vmm_state_init(struct vmm *v)
{
	pthread_condattr_t ca;
	pthread_mutex_init(&v->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->done_cv, &ca);
	pthread_condattr_destroy(&ca);
	v->done = false;
	v->exit_code = VMM_EXIT_OK;
	v->console = stdout;
	v->calib_ratio = 0;
}

bool vmm_finish(struct vmm *v, int exit_code, const char *fmt, ...)
{
	pthread_mutex_lock(&v->lock);
	bool first = !v->done;
	if (first) {
		v->exit_code = exit_code;
		__atomic_store_n(&v->done, true, __ATOMIC_RELEASE);
		if (fmt) {
			va_list ap;
			va_start(ap, fmt);
			fflush(v->console);
			fputs("vmm: ", stderr);
			vfprintf(stderr, fmt, ap);
			fputc('\n', stderr);
			va_end(ap);
		}
		pthread_cond_broadcast(&v->done_cv);
	}
	pthread_mutex_unlock(&v->lock);
	return first;
}

bool vmm_timing_trusted(const struct vmm *v)
{
	return v->calib_ratio > 0 && v->calib_ratio < 2.0 && !v->env.emulated;
}

/* The guest's hc_buf at gpa, then the host pointer to its data; NULL (and the
 * run ended) if either is outside RAM or len > max. */
static const char *hc_buffer(struct vmm *v, unsigned cpu, uint16_t port, uint32_t gpa, uint64_t max,
			     uint64_t *len)
{
	const struct hc_buf *b = guest_mem_ptr(&v->mem, gpa, sizeof(*b));
	if (!b) {
		vmm_finish(
		    v, VMM_EXIT_GUEST,
		    "vCPU %u: bad hypercall on port 0x%x: hc_buf at 0x%x is outside guest RAM", cpu,
		    port, gpa);
		return NULL;
	}
	struct hc_buf hb;
	memcpy(&hb, b, sizeof(hb)); /* the guest may change it under us: read once */
	const char *p = hb.len ? guest_mem_ptr(&v->mem, hb.addr, hb.len) : "";
	if (hb.len > max || !p) {
		vmm_finish(v, VMM_EXIT_GUEST,
			   "vCPU %u: bad hypercall on port 0x%x: buffer [0x%llx, +0x%llx) is %s",
			   cpu, port, (unsigned long long)hb.addr, (unsigned long long)hb.len,
			   hb.len > max ? "too long" : "outside guest RAM");
		return NULL;
	}
	*len = hb.len;
	return p;
}

static void hc_console(struct vmm *v, const char *p, uint64_t len)
{
	pthread_mutex_lock(&v->lock);
	fwrite(p, 1, len, v->console);
	fflush(v->console);
	pthread_mutex_unlock(&v->lock);
}

static enum hc_action hc_result(struct vmm *v, unsigned cpu, const char *p, uint64_t len)
{
	size_t cap = len + 128;
	char *line = malloc(cap);
	if (!line) {
		vmm_finish(v, VMM_EXIT_HOST, "out of memory for a result row");
		return HC_STOP;
	}
	pthread_mutex_lock(&v->lock);
	int n = result_decorate(line, cap, p, len, v->calib_ratio, vmm_timing_trusted(v));
	int rc = n < 0 ? -1 : result_out_write(&v->out, line, (size_t)n);
	pthread_mutex_unlock(&v->lock);
	free(line);
	if (rc != 0) {
		vmm_finish(v, VMM_EXIT_HOST, "vCPU %u: cannot write a result row", cpu);
		return HC_STOP;
	}
	return HC_CONTINUE;
}

static enum hc_action hc_panic(struct vmm *v, unsigned cpu, const char *p, uint64_t len)
{
	char msg[HC_MAX_PANIC + 1];
	size_t n = 0;
	for (uint64_t i = 0; i < len && n < HC_MAX_PANIC; i++) {
		unsigned char c = (unsigned char)p[i];
		msg[n++] = (c == '\n' || (c >= 0x20 && c < 0x7f)) ? (char)c : '?';
	}
	while (n > 0 && msg[n - 1] == '\n')
		n--;
	msg[n] = '\0';
	vmm_finish(v, VMM_EXIT_GUEST, "guest panic on vCPU %u: %s", cpu, msg);
	return HC_STOP;
}

static enum hc_action hc_calib(struct vmm *v, unsigned cpu, uint32_t gpa)
{
	uint64_t len;
	const char *p = hc_buffer(v, cpu, HC_PORT_CALIB, gpa, sizeof(struct hc_calib), &len);
	if (!p)
		return HC_STOP;
	if (len != sizeof(struct hc_calib)) {
		vmm_finish(v, VMM_EXIT_GUEST,
			   "vCPU %u: bad hypercall on port 0x%x: %llu bytes, "
			   "expected a %zu-byte struct hc_calib",
			   cpu, HC_PORT_CALIB, (unsigned long long)len, sizeof(struct hc_calib));
		return HC_STOP;
	}
	struct hc_calib hc;
	memcpy(&hc, p, sizeof(hc));
	double r = calib_ratio(hc.tsc_cycles, hc.iters, v->host_calib_cycles, MTB_CALIB_ITERS);
	pthread_mutex_lock(&v->lock);
	v->calib_ratio = r;
	bool trusted = vmm_timing_trusted(v);
	fprintf(stderr,
		"vmm: calibration: guest %llu cycles / %llu iters, host %llu / %llu: "
		"ratio %.2f, timings %s%s%s\n",
		(unsigned long long)hc.tsc_cycles, (unsigned long long)hc.iters,
		(unsigned long long)v->host_calib_cycles, (unsigned long long)MTB_CALIB_ITERS, r,
		trusted ? "trusted" : "NOT trusted",
		v->env.emulated ? ": " : (trusted ? "" : ": guest much slower than host"),
		v->env.emulated ? v->env.why : "");
	pthread_mutex_unlock(&v->lock);
	return HC_CONTINUE;
}

static enum hc_action hc_exit(struct vmm *v, unsigned cpu, uint32_t code)
{
	pthread_mutex_lock(&v->lock);
	if (!v->done)
		v->guest_code = (int)code;
	pthread_mutex_unlock(&v->lock);
	if (code == 0)
		vmm_finish(v, VMM_EXIT_OK, NULL);
	else
		vmm_finish(v, VMM_EXIT_GUEST, "guest exited with code %d (vCPU %u)", (int)code,
			   cpu);
	return HC_STOP;
}

enum hc_action hc_out(struct vmm *v, unsigned cpu, uint16_t port, uint32_t value, unsigned size)
{
	uint64_t len;
	const char *p;
	if (port >= COM1_PORT && port < COM1_PORT + 8) {
		if (port == COM1_PORT) {
			char c = (char)value;
			hc_console(v, &c, 1);
		}
		return HC_CONTINUE; /* UART setup writes are ignored */
	}
	if (port >= HC_PORT_CONSOLE && port <= HC_PORT_CALIB && size != 4) {
		vmm_finish(v, VMM_EXIT_GUEST,
			   "vCPU %u: bad hypercall on port 0x%x: %u-byte out "
			   "(expected outl)",
			   cpu, port, size);
		return HC_STOP;
	}
	switch (port) {
	case HC_PORT_CONSOLE:
		if (!(p = hc_buffer(v, cpu, port, value, HC_MAX_LEN, &len)))
			return HC_STOP;
		hc_console(v, p, len);
		return HC_CONTINUE;
	case HC_PORT_RESULT:
		if (!(p = hc_buffer(v, cpu, port, value, HC_MAX_LEN, &len)))
			return HC_STOP;
		return hc_result(v, cpu, p, len);
	case HC_PORT_EXIT:
		return hc_exit(v, cpu, value);
	case HC_PORT_PANIC:
		if (!(p = hc_buffer(v, cpu, port, value, UINT64_MAX, &len)))
			return HC_STOP;
		return hc_panic(v, cpu, p, len);
	case HC_PORT_CALIB:
		return hc_calib(v, cpu, value);
	default:
		vmm_finish(v, VMM_EXIT_GUEST,
			   "vCPU %u: out to unknown I/O port 0x%x (%u bytes, "
			   "value 0x%x)",
			   cpu, port, size, value);
		return HC_STOP;
	}
}

enum hc_action hc_in(struct vmm *v, unsigned cpu, uint16_t port, unsigned size, uint32_t *value)
{
	if (port >= COM1_PORT && port < COM1_PORT + 8) {
		*value = port == COM1_LSR ? COM1_LSR_IDLE : 0;
		return HC_CONTINUE;
	}
	vmm_finish(v, VMM_EXIT_GUEST, "vCPU %u: in from unknown I/O port 0x%x (%u bytes)", cpu,
		   port, size);
	return HC_STOP;
}
