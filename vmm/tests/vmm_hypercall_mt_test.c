/* vmm_hypercall_mt_test.c: hypercalls from several vCPU threads at once (as
 * the VMM's vCPU threads make them), built under TSan too: every console byte
 * and every result row arrives exactly once and whole, and when all threads
 * race to end the run exactly one reason wins. */
#include "../../strategies/tests/testlib.h"

#include <pthread.h>

#include "../vmm.h"

#define THREADS 4
#define ROWS	300

static struct vmm *v;
static unsigned winners; /* vmm_finish calls that ended the run */

struct worker {
	unsigned id;
	uint32_t row_buf, con_buf, calib_buf;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	for (unsigned i = 0; i < ROWS; i++) {
		CHECK(hc_out(v, w->id, HC_PORT_RESULT, w->row_buf, 4) == HC_CONTINUE, "row");
		CHECK(hc_out(v, w->id, HC_PORT_CONSOLE, w->con_buf, 4) == HC_CONTINUE, "console");
		if (i % 100 == 0)
			CHECK(hc_out(v, w->id, HC_PORT_CALIB, w->calib_buf, 4) == HC_CONTINUE,
			      "calib");
	}
	/* Everyone ends the run; only the first may count. */
	if (w->id == 0)
		hc_out(v, w->id, HC_PORT_EXIT, 5, 4);
	else if (vmm_finish(v, VMM_EXIT_HOST, NULL))
		__atomic_fetch_add(&winners, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* Writes an hc_buf at gpa naming len bytes of data at gpa + 64. */
static uint32_t put(uint64_t gpa, const void *data, uint64_t len)
{
	struct hc_buf b = {gpa + 64, len};
	memcpy(guest_mem_ptr(&v->mem, gpa, sizeof(b)), &b, sizeof(b));
	memcpy(guest_mem_ptr(&v->mem, gpa + 64, len), data, len);
	return (uint32_t)gpa;
}

int main(void)
{
	char path[] = "/tmp/vmm_mt_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	close(fd);
	v = calloc(1, sizeof(*v));
	CHECK(guest_mem_plan(&v->mem, 16ull << 20, false) == 0 && guest_mem_alloc(&v->mem) == 0,
	      "RAM");
	vmm_state_init(v);
	v->console = tmpfile();
	v->host_calib_cycles = 1000;
	CHECK(result_out_open(&v->out, path) == 0, "out");
	pthread_t t[THREADS];
	struct worker w[THREADS];
	for (unsigned i = 0; i < THREADS; i++) {
		char row[64], con[16];
		snprintf(row, sizeof(row), "{\"t\":%u}", i);
		snprintf(con, sizeof(con), "<%u>", i);
		struct hc_calib c = {MTB_CALIB_ITERS, 1000 * (i + 1)};
		w[i] = (struct worker){i, put(0x200000 + i * 0x1000, row, strlen(row)),
				       put(0x300000 + i * 0x1000, con, strlen(con)),
				       put(0x400000 + i * 0x1000, &c, sizeof(c))};
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, &w[i]);
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK(v->done, "run not ended");
	CHECK(v->exit_code == VMM_EXIT_GUEST || v->exit_code == VMM_EXIT_HOST, "exit code %d",
	      v->exit_code);
	CHECK((v->guest_code == 5) == (v->exit_code == VMM_EXIT_GUEST),
	      "the guest's exit code was recorded although another reason won (or not at all)");
	CHECK(winners + (v->guest_code == 5) == 1, "%u finishers won",
	      winners + (v->guest_code == 5));
	CHECK(v->out.rows == THREADS * ROWS, "%u rows", v->out.rows);
	CHECK(result_out_commit(&v->out) == 0, "commit");
	FILE *f = fopen(path, "r");
	char line[256];
	unsigned per[THREADS] = {0}, n = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned id;
		const char *p = strstr(line, "\"t\":");
		CHECK(strncmp(line, "{\"engine\":\"kvm\",\"timing_trusted\":", 33) == 0 && p &&
			  sscanf(p, "\"t\":%u}", &id) == 1 && id < THREADS,
		      "row '%s'", line);
		per[id]++;
		n++;
	}
	fclose(f);
	for (unsigned i = 0; i < THREADS; i++)
		CHECK(per[i] == ROWS, "thread %u: %u rows", i, per[i]);
	CHECK(n == THREADS * ROWS, "%u rows in the file", n);
	long size = ftell(v->console);
	CHECK(size == (long)(THREADS * ROWS * 3), "console got %ld bytes", size);
	rewind(v->console);
	int c, prev = 0;
	while ((c = fgetc(v->console)) != EOF) {
		CHECK(!(prev == '<' && (c < '0' || c > '3')) && !(c == '>' && prev == '<'),
		      "interleaved console output");
		prev = c;
	}
	unlink(path);
	fclose(v->console);
	guest_mem_free(&v->mem);
	free(v);
	printf("vmm_hypercall_mt_test: ok\n");
	return 0;
}
