/* wl_testutil.c: shared replay helpers for the workloads tests (see wl_testutil.h). */
#include "../../strategies/tests/testlib.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "../host/gen_host.h"
#include "wl_testutil.h"

void wl_trace_end(const struct trace *t, struct trace_end *out)
{
	uint64_t *sz = calloc(t->h.nids + 1, sizeof(*sz));
	uint8_t *al = calloc(t->h.nids + 1, 1);
	CHECK(sz && al, "oom");
	for (uint64_t i = 0; i < t->h.nops; i++) {
		const struct trace_op *o = &t->ops[i];
		sz[o->id] = o->op == TOP_FREE ? 0 : o->size + 1;
		if (o->op <= TOP_MEMALIGN)
			al[o->id] = o->align_log2;
	}
	*out = (struct trace_end){0, 0, 0};
	for (uint32_t i = 0; i < t->h.nids; i++) {
		if (!sz[i])
			continue;
		out->objects++;
		out->bytes += sz[i] - 1;
		out->charge += malloc_heap_charge(sz[i] - 1, 1ull << al[i]);
	}
	free(sz);
	free(al);
}

void wl_generate(enum gen_kind k, const struct gen_params *p, struct trace *t)
{
	struct trace_op *ops;
	int rc = gen_host_run(k, p, &ops, t);
	CHECK(rc != MM_ENOMEM, "oom");
	CHECK(rc == 0, "gen %s failed", gen_kind_name(k));
	struct trace_err e;
	uint64_t *vs = malloc(((uint64_t)t->h.nids + 1) * 8);
	CHECK(trace_validate(t, vs, true, &e) == 0, "gen %s: invalid at %llu: %s",
	      gen_kind_name(k), (unsigned long long)e.offset, e.msg);
	free(vs);
}

static uint64_t mono_ns(void *ctx)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void yield(void)
{
	sched_yield();
}

struct cpu_arg {
	struct replay *r;
	unsigned cpu;
};

static void *cpu_main(void *a)
{
	struct cpu_arg *c = a;
	replay_run_cpu(c->r, c->cpu);
	return NULL;
}

static void run_parallel(struct replay *r, unsigned ncpus)
{
	pthread_t th[HEAP_MAX_CPUS];
	struct cpu_arg args[HEAP_MAX_CPUS];
	for (unsigned c = 0; c < ncpus; c++) {
		args[c] = (struct cpu_arg){r, c};
		CHECK(pthread_create(&th[c], NULL, cpu_main, &args[c]) == 0, "pthread_create");
	}
	for (unsigned c = 0; c < ncpus; c++)
		pthread_join(th[c], NULL);
}

void wl_replay(const struct trace *t, unsigned ncpus, bool parallel, bool check,
	       uint64_t fail_after, bool timed, struct replay_result *res)
{
	struct malloc_heap mh;
	CHECK(heap_malloc_ops.init(&mh, NULL) == 0, "init");
	mh.fail_after = fail_after;
	struct replay_cfg cfg = {.heap = &heap_malloc_ops,
				 .heap_st = &mh,
				 .ncpus = ncpus,
				 .parallel = parallel,
				 .clock = timed ? mono_ns : NULL,
				 .check_each_op = check,
				 .wait = yield};
	struct replay r;
	void *mem = malloc(replay_mem_size(t, &cfg));
	CHECK(mem && replay_init(&r, &cfg, t, mem) == 0, "replay_init");
	if (parallel)
		run_parallel(&r, ncpus);
	else
		replay_run_serial(&r);
	replay_finish(&r, res);
	replay_release(&r);
	struct heap_stats hs;
	heap_malloc_ops.stats(&mh, &hs);
	CHECK(hs.footprint == 0 && mh.live_objects == 0, "heap not empty after release");
	free(mem);
}

void wl_check_accounting(const char *what, const struct trace *t,
			 const struct replay_result *res)
{
	struct trace_end end;
	wl_trace_end(t, &end);
	uint64_t byop[6] = {0};
	for (uint64_t i = 0; i < t->h.nops; i++)
		byop[t->ops[i].op]++;
	CHECK(res->ops == t->h.nops, "%s: ops %llu != %llu", what, (unsigned long long)res->ops,
	      (unsigned long long)t->h.nops);
	CHECK(res->allocs == byop[1] + byop[2] + byop[3] && res->frees == byop[5] &&
		      res->reallocs == byop[4],
	      "%s: op kinds", what);
	CHECK(res->failed == 0, "%s: %llu failures", what, (unsigned long long)res->failed);
	CHECK(res->peak_live == t->h.peak_live, "%s: peak_live %llu != %llu", what,
	      (unsigned long long)res->peak_live, (unsigned long long)t->h.peak_live);
	CHECK(res->live_end_objects == end.objects && res->live_end_bytes == end.bytes,
	      "%s: live at end %llu/%llu, trace says %llu/%llu", what,
	      (unsigned long long)res->live_end_objects, (unsigned long long)res->live_end_bytes,
	      (unsigned long long)end.objects, (unsigned long long)end.bytes);
	CHECK(res->heap.footprint == end.charge, "%s: footprint %llu != %llu", what,
	      (unsigned long long)res->heap.footprint, (unsigned long long)end.charge);
}
