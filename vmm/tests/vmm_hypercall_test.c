/* vmm_hypercall_test.c: the guest-address validator (guest_mem_ptr) against a
 * reference model, the hypercall ports (vmm/hypercall.c) on a guest RAM with
 * holes but no KVM, result-row decoration, atomic result files and the
 * calibration helpers. Every bad guest address must end the run (done, exit
 * code 1, a message naming the port), never crash the VMM (ASan). */
#include "../../strategies/tests/testlib.h"

#include <errno.h>

#include "../vmm.h"

static struct vmm *v;
static char captured[8192];

/* The reference: [gpa, gpa+len) inside one region, computed in 128 bits. */
static bool ref_inside(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		unsigned __int128 end = (unsigned __int128)gm->r[i].gpa + gm->r[i].size;
		if (gpa >= gm->r[i].gpa && gpa < end && (unsigned __int128)gpa + len <= end)
			return true;
	}
	return false;
}

static void test_validator(struct rng *r)
{
	const struct guest_mem *gm = &v->mem;
	static const uint64_t lens[] = {0, 1, 8, 16, 4096, 1ull << 32, UINT64_MAX, UINT64_MAX - 7};
	uint64_t checked = 0;
	for (int k = 0; k < 200000; k++) {
		const struct guest_region *g = &gm->r[rng_below(r, gm->nregions)];
		uint64_t edge = rng_below(r, 2) ? g->gpa : g->gpa + g->size;
		uint64_t gpa;
		switch (rng_below(r, 4)) {
		case 0:
			gpa = edge + rng_below(r, 64) - 32;
			break;
		case 1:
			gpa = g->gpa + rng_below(r, g->size);
			break;
		case 2:
			gpa = UINT64_MAX - rng_below(r, 64);
			break;
		default:
			gpa = rng_next(r);
			break;
		}
		uint64_t len = rng_below(r, 3) ? lens[rng_below(r, 8)] : rng_below(r, 1 << 21);
		if (rng_below(r, 8) == 0)
			len = edge - gpa; /* ends exactly on the edge (or wraps) */
		void *p = guest_mem_ptr(gm, gpa, len);
		CHECK((p != NULL) == ref_inside(gm, gpa, len), "gpa 0x%llx len 0x%llx: %p",
		      (unsigned long long)gpa, (unsigned long long)len, p);
		if (p)
			CHECK((uint8_t *)p - gm->base + len <= gm->total,
			      "pointer past the mapping");
		checked++;
	}
	CHECK(guest_mem_ptr(gm, 0xa0000, 1) == NULL, "legacy hole");
	CHECK(guest_mem_ptr(gm, 0x9ffff, 2) == NULL, "across the legacy hole");
	CHECK(guest_mem_ptr(gm, 0x9ffff, 1) != NULL, "last byte below the hole");
	CHECK(guest_mem_ptr(gm, UINT64_MAX, 2) == NULL, "wrap");
	printf("validator: %llu random ranges agree with the model\n", (unsigned long long)checked);
}

static void reset(void)
{
	v->done = false;
	v->exit_code = VMM_EXIT_OK;
	v->guest_code = 0;
	rewind(v->console);
	ftruncate(fileno(v->console), 0);
}

/* Puts an hc_buf at 0x200000 naming `len` bytes of `data` at 0x201000. */
static uint32_t put_buf(const void *data, uint64_t len)
{
	struct hc_buf *b = guest_mem_ptr(&v->mem, 0x200000, sizeof(*b));
	*b = (struct hc_buf){0x201000, len};
	memcpy(guest_mem_ptr(&v->mem, 0x201000, len), data, len);
	return 0x200000;
}

/* Runs hc_out with stderr captured into `captured`. */
static enum hc_action out_captured(unsigned cpu, uint16_t port, uint32_t value, unsigned size)
{
	FILE *t = tmpfile();
	fflush(stderr);
	int saved = dup(2);
	dup2(fileno(t), 2);
	enum hc_action a = hc_out(v, cpu, port, value, size);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(t);
	size_t n = fread(captured, 1, sizeof(captured) - 1, t);
	captured[n] = '\0';
	fclose(t);
	return a;
}

static const char *console_text(void)
{
	static char buf[256];
	fflush(v->console);
	rewind(v->console);
	size_t n = fread(buf, 1, sizeof(buf) - 1, v->console);
	buf[n] = '\0';
	return buf;
}

static void expect_stop(uint16_t port, uint32_t value, unsigned size, const char *needle)
{
	reset();
	CHECK(out_captured(1, port, value, size) == HC_STOP, "port 0x%x value 0x%x continued", port,
	      value);
	CHECK(v->done && v->exit_code == VMM_EXIT_GUEST, "port 0x%x: not ended as a guest failure",
	      port);
	CHECK(strstr(captured, needle) && strstr(captured, "vCPU 1"),
	      "port 0x%x: message '%s' lacks '%s'", port, captured, needle);
}

static void test_ports(void)
{
	reset();
	CHECK(hc_out(v, 0, HC_PORT_CONSOLE, put_buf("hello", 5), 4) == HC_CONTINUE, "console");
	CHECK(hc_out(v, 0, COM1_PORT, '!', 1) == HC_CONTINUE, "COM1");
	CHECK(hc_out(v, 0, HC_PORT_CONSOLE, put_buf("", 0), 4) == HC_CONTINUE, "empty console");
	CHECK(strcmp(console_text(), "hello!") == 0, "console got '%s'", console_text());
	uint32_t lsr = 0;
	CHECK(hc_in(v, 0, COM1_PORT + 5, 1, &lsr) == HC_CONTINUE && lsr == 0x60, "COM1 LSR");
	CHECK(!v->done, "nothing ended the run yet");

	static const char big[(1 << 20) + 1];
	struct hc_buf *b = guest_mem_ptr(&v->mem, 0x200000, sizeof(*b));
	put_buf(big, sizeof(big));
	expect_stop(HC_PORT_CONSOLE, 0x200000, 4, "too long");
	expect_stop(HC_PORT_CONSOLE, 0xa0000, 4, "outside guest RAM"); /* hc_buf in hole */
	expect_stop(HC_PORT_RESULT, (uint32_t)guest_mem_end(&v->mem) - 8, 4, "outside guest RAM");
	expect_stop(HC_PORT_CONSOLE, 0xffffffffu, 4, "outside guest RAM");
	*b = (struct hc_buf){8ull << 20, 16}; /* mid-memory hole */
	expect_stop(HC_PORT_CONSOLE, 0x200000, 4, "outside guest RAM");
	*b = (struct hc_buf){UINT64_MAX - 4, 16}; /* addr + len wraps */
	expect_stop(HC_PORT_RESULT, 0x200000, 4, "outside guest RAM");
	*b = (struct hc_buf){0x201000, UINT64_MAX};
	expect_stop(HC_PORT_PANIC, 0x200000, 4, "outside guest RAM");
	expect_stop(HC_PORT_CALIB, 0xa0000, 4, "outside guest RAM");
	expect_stop(HC_PORT_RESULT, 0x200000, 1, "expected outl");
	expect_stop(0x60, 0x12, 1, "unknown I/O port 0x60");
	expect_stop(HC_PORT_PANIC, put_buf("boom\x01\n", 6), 4, "guest panic on vCPU 1: boom?");
	expect_stop(HC_PORT_EXIT, 7, 4, "exited with code 7");
	CHECK(v->guest_code == 7, "guest code");
	CHECK(!vmm_finish(v, VMM_EXIT_HOST, "later reasons are ignored"), "second finish won");
	CHECK(v->exit_code == VMM_EXIT_GUEST, "first reason wins");
	reset();
	CHECK(hc_out(v, 0, HC_PORT_EXIT, 0, 4) == HC_STOP && v->done && v->exit_code == 0,
	      "exit 0");
	reset();
	uint32_t x;
	CHECK(hc_in(v, 3, HC_PORT_RESULT, 4, &x) == HC_STOP && v->exit_code == VMM_EXIT_GUEST,
	      "in from a hypercall port");
}

static void test_results_and_calib(const char *dir)
{
	char path[512], line[512];
	snprintf(path, sizeof(path), "%s/rows.jsonl", dir);
	CHECK(result_out_open(&v->out, path) == 0, "open %s", path);
	reset();
	const char *row = "{\"kind\":\"selftest\",\"cpus\":4}\n";
	CHECK(hc_out(v, 0, HC_PORT_RESULT, put_buf(row, strlen(row)), 4) == HC_CONTINUE, "row 1");
	v->host_calib_cycles = 1000000;
	struct hc_calib c = {MTB_CALIB_ITERS, 1500000};
	expect_stop(HC_PORT_CALIB, put_buf(&c, sizeof(c) - 1), 4, "struct hc_calib");
	CHECK(v->calib_ratio <= 0, "a bad calibration was used");
	reset();
	CHECK(out_captured(0, HC_PORT_CALIB, put_buf(&c, sizeof(c)), 4) == HC_CONTINUE, "calib");
	CHECK(v->calib_ratio > 1.49 && v->calib_ratio < 1.51 && vmm_timing_trusted(v), "ratio");
	CHECK(strstr(captured, "ratio 1.50") && strstr(captured, "trusted"), "'%s'", captured);
	CHECK(hc_out(v, 0, HC_PORT_RESULT, put_buf("{}", 2), 4) == HC_CONTINUE, "row 2");
	v->env.emulated = true;
	CHECK(!vmm_timing_trusted(v), "emulated KVM is never trusted");
	CHECK(access(path, F_OK) != 0, "result file visible before the commit");
	CHECK(result_out_commit(&v->out) == 0, "commit");
	FILE *f = fopen(path, "r");
	CHECK(f && fgets(line, sizeof(line), f), "read rows");
	CHECK(strcmp(line, "{\"engine\":\"kvm\",\"timing_trusted\":false,\"calib_ratio\":null,"
			   "\"kind\":\"selftest\",\"cpus\":4}\n") == 0,
	      "row 1: %s", line);
	CHECK(fgets(line, sizeof(line), f), "row 2");
	CHECK(strcmp(line,
		     "{\"engine\":\"kvm\",\"timing_trusted\":true,\"calib_ratio\":1.500}\n") == 0,
	      "row 2: %s", line);
	CHECK(!fgets(line, sizeof(line), f), "extra rows");
	fclose(f);
	/* A failed run leaves no file behind. */
	snprintf(path, sizeof(path), "%s/failed.jsonl", dir);
	CHECK(result_out_open(&v->out, path) == 0, "open 2");
	CHECK(result_out_write(&v->out, "{}", 2) == 0, "write");
	result_out_abort(&v->out);
	CHECK(access(path, F_OK) != 0, "aborted result file exists");
	snprintf(path, sizeof(path), "%s/no/such/dir/x", dir);
	CHECK(result_out_open(&v->out, path) == -ENOENT, "open in a missing directory");
}

static void test_decorate(void)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
	    {"{\"a\":1}",
	     "{\"engine\":\"kvm\",\"timing_trusted\":false,\"calib_ratio\":2.000,\"a\":1}"},
	    {"{}\r\n", "{\"engine\":\"kvm\",\"timing_trusted\":false,\"calib_ratio\":2.000}"},
	    {"  { }", "{\"engine\":\"kvm\",\"timing_trusted\":false,\"calib_ratio\":2.000 }"},
	    {"a,b,c\n", "a,b,c"},
	    {"", ""},
	};
	char out[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n =
		    result_decorate(out, sizeof(out), cases[i].in, strlen(cases[i].in), 2.0, false);
		CHECK(n == (int)strlen(cases[i].out) && strcmp(out, cases[i].out) == 0,
		      "case %zu: '%s'", i, out);
	}
	CHECK(result_decorate(out, 40, "{\"a\":1}", 7, 1, true) == -1, "too small");
	CHECK(result_decorate(out, 3, "abc", 3, 1, true) == -1, "too small for a copy");
}

static void test_calib(void)
{
	struct calib_env e;
	calib_env_from(&e, "processor\t: 0\nflags\t\t: fpu vme vmx sse\n", "kvm_intel 1 0\n");
	CHECK(!e.emulated, "vmx host");
	calib_env_from(&e, "flags\t\t: fpu svm\n", NULL);
	CHECK(!e.emulated, "svm host");
	calib_env_from(&e, "processor\t: 0\nflags\t\t: fpu vme sse vmxnot\n", "kvm 1 0\n");
	CHECK(e.emulated && strstr(e.why, "vmx"), "no vmx flag: '%s'", e.why);
	calib_env_from(&e, "flags\t\t: fpu vmx\n", "kvm 1 0\nkvm_pvm 2 1 - Live\n");
	CHECK(e.emulated && strstr(e.why, "kvm_pvm"), "kvm_pvm: '%s'", e.why);
	calib_env_from(&e, NULL, NULL);
	CHECK(!e.emulated, "nothing known");
	CHECK(calib_ratio(2000, 1000, 1000, 1000) == 2.0, "ratio");
	CHECK(calib_ratio(0, 1000, 1000, 1000) <= 0 && calib_ratio(10, 0, 1, 1) <= 0, "unknown");
	CHECK(calib_host_cycles(100000) > 0, "host loop takes time");
}

int main(void)
{
	struct rng r = {test_seed("vmm_hypercall_test", 3)};
	char dir[] = "/tmp/vmm_hc_XXXXXX";
	CHECK(mkdtemp(dir), "mkdtemp");
	v = calloc(1, sizeof(*v));
	CHECK(guest_mem_plan(&v->mem, 16ull << 20, true) == 0 && guest_mem_alloc(&v->mem) == 0,
	      "guest RAM");
	vmm_state_init(v);
	v->console = tmpfile();
	CHECK(result_out_open(&v->out, NULL) == 0, "stdout rows");
	test_validator(&r);
	test_ports();
	test_results_and_calib(dir);
	test_decorate();
	test_calib();
	rmdir(dir);
	fclose(v->console);
	guest_mem_free(&v->mem);
	free(v);
	printf("vmm_hypercall_test: ok\n");
	return 0;
}
