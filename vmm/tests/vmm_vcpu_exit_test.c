/* vmm_vcpu_exit_test.c: the VM-exit dispatcher (kvm_vcpu_exit) without
 * /dev/kvm: a fake struct kvm_run describes each exit as KVM would. Port I/O
 * reaches the hypercalls (data read from and written back to the run page at
 * io.data_offset), string and odd-sized I/O is refused, and triple fault,
 * entry failure, internal error, MMIO, system events and unknown reasons end
 * the run as a guest failure naming the vCPU and the reason. */
#include "../../strategies/tests/testlib.h"

#include <linux/kvm.h>

#include "../vmm.h"

static struct vmm *v;
static struct vcpu cpu = {.id = 2, .fd = -1};
static union {
	struct kvm_run run;
	uint8_t page[4096];
} rp;
static char captured[4096];

static void reset(void)
{
	v->done = false;
	v->exit_code = VMM_EXIT_OK;
	memset(&rp, 0, sizeof(rp));
}

static enum hc_action exit_captured(void)
{
	FILE *t = tmpfile();
	fflush(stderr);
	int saved = dup(2);
	dup2(fileno(t), 2);
	enum hc_action a = kvm_vcpu_exit(v, &cpu);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(t);
	size_t n = fread(captured, 1, sizeof(captured) - 1, t);
	captured[n] = '\0';
	fclose(t);
	return a;
}

static void set_io(uint8_t dir, uint16_t port, uint8_t size, uint32_t count, uint32_t value)
{
	reset();
	rp.run.exit_reason = KVM_EXIT_IO;
	rp.run.io.direction = dir;
	rp.run.io.port = port;
	rp.run.io.size = size;
	rp.run.io.count = count;
	rp.run.io.data_offset = 2048;
	memcpy(rp.page + 2048, &value, sizeof(value));
}

static void expect_guest_failure(const char *needle)
{
	CHECK(exit_captured() == HC_STOP, "'%s': run continued", needle);
	CHECK(v->done && v->exit_code == VMM_EXIT_GUEST, "'%s': exit code %d", needle,
	      v->exit_code);
	CHECK(strstr(captured, needle) && strstr(captured, "vCPU 2"), "'%s' not in '%s'", needle,
	      captured);
}

static void test_io(void)
{
	struct hc_buf *b = guest_mem_ptr(&v->mem, 0x200000, sizeof(*b));
	*b = (struct hc_buf){0x201000, 3};
	memcpy(guest_mem_ptr(&v->mem, 0x201000, 3), "hi\n", 3);
	set_io(KVM_EXIT_IO_OUT, HC_PORT_CONSOLE, 4, 1, 0x200000);
	CHECK(exit_captured() == HC_CONTINUE && !v->done, "console hypercall");
	set_io(KVM_EXIT_IO_IN, COM1_PORT + 5, 1, 1, 0xffffffff);
	CHECK(exit_captured() == HC_CONTINUE && rp.page[2048] == 0x60 && rp.page[2049] == 0xff,
	      "COM1 LSR read: 0x%x (and only one byte written)", rp.page[2048]);
	set_io(KVM_EXIT_IO_OUT, HC_PORT_EXIT, 4, 1, 0);
	CHECK(exit_captured() == HC_STOP && v->done && v->exit_code == VMM_EXIT_OK, "exit(0)");
	set_io(KVM_EXIT_IO_OUT, HC_PORT_EXIT, 4, 1, 3);
	expect_guest_failure("guest exited with code 3");
	set_io(KVM_EXIT_IO_OUT, HC_PORT_CONSOLE, 1, 4, 0);
	expect_guest_failure("string or odd-sized I/O on port 0x500");
	set_io(KVM_EXIT_IO_OUT, HC_PORT_CONSOLE, 3, 1, 0);
	expect_guest_failure("odd-sized");
	set_io(KVM_EXIT_IO_OUT, HC_PORT_CONSOLE, 4, 1, 0xdead0000);
	expect_guest_failure("outside guest RAM");
	set_io(KVM_EXIT_IO_IN, 0x71, 1, 1, 0);
	expect_guest_failure("in from unknown I/O port 0x71");
}

static void test_faults(void)
{
	reset();
	rp.run.exit_reason = KVM_EXIT_SHUTDOWN;
	expect_guest_failure("triple fault");
	CHECK(strstr(captured, "registers unavailable"), "no register dump attempt: %s", captured);
	reset();
	rp.run.exit_reason = KVM_EXIT_FAIL_ENTRY;
	rp.run.fail_entry.hardware_entry_failure_reason = 0x21;
	expect_guest_failure("KVM_EXIT_FAIL_ENTRY: hardware entry failure reason 0x21");
	reset();
	rp.run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
	rp.run.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	expect_guest_failure("KVM_EXIT_INTERNAL_ERROR: suberror 1");
	reset();
	rp.run.exit_reason = KVM_EXIT_MMIO;
	rp.run.mmio.phys_addr = 0xfee00000;
	rp.run.mmio.len = 4;
	rp.run.mmio.is_write = 1;
	expect_guest_failure("write of 4 bytes at unmapped guest-physical 0xfee00000");
	reset();
	rp.run.exit_reason = KVM_EXIT_SYSTEM_EVENT;
	rp.run.system_event.type = KVM_SYSTEM_EVENT_RESET;
	expect_guest_failure("system event 2");
	reset();
	rp.run.exit_reason = KVM_EXIT_HLT;
	expect_guest_failure("unexpected exit reason 5");
	reset();
	rp.run.exit_reason = KVM_EXIT_INTR;
	CHECK(exit_captured() == HC_CONTINUE && !v->done, "KVM_EXIT_INTR just continues");
	/* Once the run has ended, a second fault prints nothing more. */
	reset();
	v->done = true;
	v->exit_code = VMM_EXIT_OK;
	rp.run.exit_reason = KVM_EXIT_SHUTDOWN;
	CHECK(exit_captured() == HC_STOP && captured[0] == '\0' && v->exit_code == VMM_EXIT_OK,
	      "late fault changed the outcome: '%s'", captured);
}

int main(void)
{
	v = calloc(1, sizeof(*v));
	CHECK(guest_mem_plan(&v->mem, 16ull << 20, true) == 0 && guest_mem_alloc(&v->mem) == 0,
	      "RAM");
	vmm_state_init(v);
	v->console = tmpfile();
	CHECK(result_out_open(&v->out, NULL) == 0, "out");
	cpu.run = &rp.run;
	cpu.vm = v;
	test_io();
	test_faults();
	fclose(v->console);
	guest_mem_free(&v->mem);
	free(v);
	printf("vmm_vcpu_exit_test: ok\n");
	return 0;
}
