/* host_run.c: one replay in the host engine (contract in host_run.h).
 *
 * Order, so that a peer's footprint baseline (heap_peer.h) covers everything the
 * harness owns and nothing the heap will own: the trace is already mapped; the
 * replay's tables are mmap'd and written (replay_init); the CPU threads start, touch
 * their stacks and report ready; then the heap is initialised (for a peer this takes
 * the baseline), the clock starts and the threads are released together. Our heaps
 * are initialised earlier, with their machine: their footprint is the frames mapped
 * for them, not the process's resident set.
 */
#define _GNU_SOURCE
#include "host_run.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "cli_util.h"
#include "heap_machine.h"
#include "heap_peer.h"

#define STACK_TOUCH (128u << 10)

struct run {
	const struct host_run_cfg *c;
	struct heap_machine m; /* ours */
	void *heap_st;
	struct replay r;
	unsigned ready; /* threads at the start line (atomic) */
	int go;		/* 1: run, -1: abort (atomic) */
	bool peer_up;	/* the peer's init ran (its fds need closing) */
};

struct cpu_arg {
	struct run *run;
	unsigned cpu;
};

static uint64_t mono_ns(void *ctx)
{
	return cli_mono_ns();
}

static uint64_t standin_ns(void *ctx, unsigned cpu)
{
	return hostmem_standin_ns();
}

static void yield(void)
{
	sched_yield();
}

/* Makes the first STACK_TOUCH bytes below the caller's frame resident. */
static __attribute__((noinline)) void touch_stack(void)
{
	char buf[STACK_TOUCH];
	for (unsigned i = 0; i < STACK_TOUCH; i += 4096)
		buf[i] = 0;
	__asm__ volatile("" : : "r"(buf) : "memory"); /* the writes happen */
}

static void *cpu_main(void *a)
{
	struct cpu_arg *ca = a;
	struct run *R = ca->run;
	touch_stack();
	__atomic_fetch_add(&R->ready, 1, __ATOMIC_ACQ_REL);
	int go;
	while (!(go = __atomic_load_n(&R->go, __ATOMIC_ACQUIRE)))
		sched_yield();
	if (go > 0)
		replay_run_cpu(&R->r, ca->cpu);
	return NULL;
}

static uint64_t minor_faults(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) ? 0 : (uint64_t)ru.ru_minflt;
}

static void *map_zero(uint64_t len)
{
	void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Our heap on a fresh machine, or the peer's state (initialised later: peer_up). */
static int heap_prepare(struct run *R, char *err, size_t cap)
{
	const struct host_run_cfg *c = R->c;
	if (c->fops) {
		if (heap_machine_init(&R->m, c->fops, c->vops, c->heap, c->ncpus, c->mem_bytes, 0,
				      c->fixed_heap_bytes) != 0) {
			snprintf(err, cap, "heap %s: machine setup failed", c->heap->name);
			return -1;
		}
		R->heap_st = R->m.heap_st;
		return 0;
	}
	if (!(R->heap_st = map_zero(c->heap->state_size))) {
		snprintf(err, cap, "heap %s: no memory for its state", c->heap->name);
		return -1;
	}
	return 0;
}

static int peer_up(struct run *R, char *err, size_t cap)
{
	if (R->c->fops)
		return 0;
	R->peer_up = true;
	if (R->c->heap->init(R->heap_st, NULL) == MM_OK)
		return 0;
	char why[200];
	heap_peer_load(R->c->heap, why, sizeof(why));
	snprintf(err, cap, "heap %s: %s", R->c->heap->name, why);
	return -1;
}

/* Starts the threads (pinned), brings the peer up, runs, joins. */
static int run_parallel(struct run *R, char *err, size_t cap)
{
	unsigned n = R->c->ncpus, made = 0;
	pthread_t th[HEAP_MAX_CPUS];
	struct cpu_arg args[HEAP_MAX_CPUS];
	for (; made < n; made++) {
		pthread_attr_t a;
		args[made] = (struct cpu_arg){R, made};
		if (pthread_attr_init(&a))
			break;
		cli_pin_attr(&a, made);
		int e = pthread_create(&th[made], &a, cpu_main, &args[made]);
		pthread_attr_destroy(&a);
		if (e)
			break;
	}
	int rc = made < n ? (snprintf(err, cap, "pthread_create failed at CPU %u", made), -1) : 0;
	while (!rc && __atomic_load_n(&R->ready, __ATOMIC_ACQUIRE) < n)
		sched_yield();
	if (!rc)
		rc = peer_up(R, err, cap);
	__atomic_store_n(&R->go, rc ? -1 : 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < made; i++)
		pthread_join(th[i], NULL);
	return rc;
}

/* The replay itself: serial on this thread, or parallel on new ones. */
static int run_replay(struct run *R, char *err, size_t cap)
{
	if (R->c->parallel)
		return run_parallel(R, err, cap);
	touch_stack();
	if (peer_up(R, err, cap))
		return -1;
	replay_run_serial(&R->r);
	return 0;
}

static void collect(struct run *R, struct host_run_out *out)
{
	replay_finish(&R->r, &out->res);
	out->machine = R->c->fops != NULL;
	if (out->machine) {
		R->c->fops->stats(R->m.frame_st, &out->fs);
		R->c->vops->stats(R->m.va_st, &out->vs);
		machine_counts(&R->m.mc, &out->mc);
	}
}

int host_run(const struct host_run_cfg *c, const struct trace *t, struct host_run_out *out,
	     char *err, size_t cap)
{
	static struct run R; /* big (struct replay); one run at a time */
	memset(&R, 0, sizeof(R));
	memset(out, 0, sizeof(*out));
	R.c = c;
	if (heap_prepare(&R, err, cap))
		return -1;
	struct replay_cfg rc = {.heap = c->heap,
				.heap_st = R.heap_st,
				.ncpus = c->ncpus,
				.parallel = c->parallel,
				.clock = mono_ns,
				.wait = yield,
				.standin = c->fops ? standin_ns : NULL,
				.lat_every = c->lat_every};
	uint64_t len = replay_mem_size(t, &rc);
	void *mem = map_zero(len);
	int bad = !mem || replay_init(&R.r, &rc, t, mem) != MM_OK;
	if (bad)
		snprintf(err, cap, "no memory for the replay's tables (%llu bytes)",
			 (unsigned long long)len);
	uint64_t f0 = minor_faults();
	if (!bad)
		bad = run_replay(&R, err, cap);
	out->minor_faults = minor_faults() - f0;
	if (!bad) {
		collect(&R, out);
		replay_release(&R.r);
	}
	if (mem)
		munmap(mem, len);
	if (c->fops)
		heap_machine_fini(&R.m);
	else if (R.heap_st) {
		if (R.peer_up)
			heap_peer_fini(R.heap_st);
		munmap(R.heap_st, c->heap->state_size);
	}
	return bad ? -1 : 0;
}

void host_run_failure_line(const struct host_run_out *out, char *buf, size_t cap)
{
	const struct replay_result *r = &out->res;
	int n;
	if (cap)
		buf[0] = 0;
	if (!r->failed)
		return;
	n = snprintf(buf, cap, "%llu allocation(s) failed (of %llu allocs, %llu reallocs); ",
		     (unsigned long long)r->failed, (unsigned long long)r->allocs,
		     (unsigned long long)r->reallocs);
	if (n < 0 || (size_t)n >= cap)
		return;
	if (r->failure_unmeasured)
		snprintf(buf + n, cap - (size_t)n,
			 "the earliest in trace order: op %llu (%llu bytes); parallel mode: live "
			 "and footprint at the first failure not measured, frag4 null",
			 (unsigned long long)r->first_failure_op,
			 (unsigned long long)r->first_failure_size);
	else
		snprintf(buf + n, cap - (size_t)n,
			 "the first: op %llu (%llu bytes) at %llu live bytes, footprint %llu",
			 (unsigned long long)r->first_failure_op,
			 (unsigned long long)r->first_failure_size,
			 (unsigned long long)r->live_at_first_failure,
			 (unsigned long long)r->fp_at_first_failure);
}
