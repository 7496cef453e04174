/* replay_mt_test: parallel replay (one pthread per CPU, trace thread t on CPU t % ncpus)
 * stays exact at 1, 2, 3, 4 and 8 CPUs (8 is oversubscribed on small machines): every
 * deterministic metric equals the serial replay's at the same CPU count (ops by kind,
 * failures, cross-CPU frees, live bytes and objects at the end), cross-CPU frees and
 * shared objects (those whose ops span CPUs) are what the trace dictates, computed
 * here independently of replay_plan.c, and the heap ends empty. critical_path_ops is
 * checked against a step-by-step simulation of the unit-cost schedule (each tick, every
 * CPU runs its next op if the op it waits for ended in an earlier tick), and the CPUs'
 * work (busy_max_ns, busy_sum_ns) against the elapsed time and the waits. Traces: the generators
 * (larson and xmalloc: cross-thread frees; random_actions: reallocs) and a hand-made
 * one where one id's lifetimes move between threads and a realloc chain ping-pongs
 * between them. Also built under TSan. */
#include "../../strategies/tests/testlib.h"
#include "wl_testutil.h"

/* Frees whose object was last allocated/reallocated on another CPU, and objects (alloc
 * .. free lifetimes) whose ops ran on more than one CPU: what parallel replay must
 * count. */
static void expected(const struct trace *t, unsigned ncpus, uint64_t *cross, uint64_t *shared,
		     uint64_t *busiest)
{
	uint64_t per[HEAP_MAX_CPUS] = {0};
	*busiest = 0;
	for (uint64_t i = 0; i < t->h.nops; i++) { /* ops of the CPU with the most */
		uint64_t n = ++per[t->ops[i].thread % ncpus];
		*busiest = MM_MAX(*busiest, n);
	}
	uint16_t *owner = calloc(t->h.nids + 1, sizeof(*owner)), *first = calloc(t->h.nids + 1, 2);
	uint8_t *spans = calloc(t->h.nids + 1, 1);
	CHECK(owner && first && spans, "oom");
	*cross = *shared = 0;
	for (uint64_t i = 0; i < t->h.nops; i++) {
		const struct trace_op *o = &t->ops[i];
		unsigned cpu = o->thread % ncpus;
		if (o->op <= TOP_MEMALIGN) { /* a new lifetime: count the last one */
			first[o->id] = (uint16_t)cpu;
			spans[o->id] = 0;
		} else if (cpu != first[o->id]) {
			spans[o->id] = 1;
		}
		if (o->op == TOP_FREE) {
			*cross += owner[o->id] != cpu;
			*shared += spans[o->id];
			spans[o->id] = 0;
		} else {
			owner[o->id] = (uint16_t)cpu;
		}
	}
	for (uint32_t id = 0; id < t->h.nids; id++) /* lifetimes the trace leaves live */
		*shared += spans[id];
	free(owner);
	free(first);
	free(spans);
}

/* id 0: alloc on thread 0, realloc on 1, realloc on 0, realloc on 1, free on 0; id 1:
 * three lifetimes on threads 1, 2, 3; id 2: alloc on 3, never freed (leaked); id 3:
 * alloc on 0, realloc on 1, never freed (leaked and shared: replay_release must free it
 * from its owner's shared slots, or wl_replay finds the heap not empty). */
static void pingpong(struct trace *t)
{
	static struct trace_op ops[] = {
	    {64, 0, 0, TOP_ALLOC, 0},	 {32, 1, 1, TOP_ALLOC, 0},    {128, 0, 1, TOP_REALLOC, 0},
	    {0, 1, 1, TOP_FREE, 0},	 {256, 0, 0, TOP_REALLOC, 0}, {48, 1, 2, TOP_MEMALIGN, 6},
	    {512, 0, 1, TOP_REALLOC, 0}, {0, 1, 2, TOP_FREE, 0},      {16, 1, 3, TOP_CALLOC, 0},
	    {0, 0, 0, TOP_FREE, 0},	 {0, 1, 3, TOP_FREE, 0},      {100, 2, 3, TOP_ALLOC, 0},
	    {24, 3, 0, TOP_ALLOC, 0},	 {40, 3, 1, TOP_REALLOC, 0},
	};
	uint64_t sizes[4];
	uint64_t n = sizeof(ops) / sizeof(ops[0]);
	trace_summarize(ops, n, sizes, 4, &t->h);
	t->h.nids = 4;
	t->ops = ops;
}

/* The unit-cost schedule's length, by simulation: tick by tick, CPU c runs its next op
 * (trace order among its threads' ops) unless the previous op on the same object ran on
 * another CPU and has not ended in an earlier tick. */
static uint64_t simulated_makespan(const struct trace *t, unsigned ncpus)
{
	uint64_t n = t->h.nops, *dep = malloc(n * 8), *last = malloc((t->h.nids + 1) * 8);
	uint64_t *done = calloc(n, 8), *next = calloc(ncpus, 8), left = n, tick = 0;
	CHECK(dep && last && done && next, "oom");
	for (uint64_t i = 0; i < n; i++) { /* dep: the op i waits for, or n */
		const struct trace_op *o = &t->ops[i];
		uint64_t p = o->op <= TOP_MEMALIGN ? n : last[o->id];
		dep[i] = p < n && t->ops[p].thread % ncpus != o->thread % ncpus ? p : n;
		last[o->id] = i;
	}
	while (left) {
		tick++;
		for (unsigned c = 0; c < ncpus; c++) {
			while (next[c] < n && t->ops[next[c]].thread % ncpus != c)
				next[c]++;
			uint64_t i = next[c];
			if (i == n || (dep[i] < n && (!done[dep[i]] || done[dep[i]] == tick)))
				continue;
			done[i] = tick;
			next[c]++;
			left--;
		}
	}
	free(dep);
	free(last);
	free(done);
	free(next);
	return tick;
}

static void check_exact(const char *what, const struct trace *t, unsigned ncpus)
{
	struct replay_result par, ser;
	wl_replay(t, ncpus, true, false, 0, true, &par);
	wl_replay(t, ncpus, false, false, 0, false, &ser);
	CHECK(par.ops == ser.ops && par.allocs == ser.allocs && par.frees == ser.frees &&
		      par.reallocs == ser.reallocs && par.failed == 0 && ser.failed == 0,
	      "%s on %u CPUs: op counts differ from the serial replay", what, ncpus);
	CHECK(par.live_end_bytes == ser.live_end_bytes && par.live_end_objects == ser.live_end_objects,
	      "%s on %u CPUs: live at the end %llu/%llu, serial %llu/%llu", what, ncpus,
	      (unsigned long long)par.live_end_bytes, (unsigned long long)par.live_end_objects,
	      (unsigned long long)ser.live_end_bytes, (unsigned long long)ser.live_end_objects);
	uint64_t cross, shared, busiest;
	expected(t, ncpus, &cross, &shared, &busiest);
	CHECK(par.busiest_cpu_ops == busiest, "%s on %u CPUs: busiest CPU %llu ops, expected %llu", what,
	      ncpus, (unsigned long long)par.busiest_cpu_ops, (unsigned long long)busiest);
	uint64_t crit = simulated_makespan(t, ncpus);
	CHECK(par.critical_path_ops == crit && crit >= busiest,
	      "%s on %u CPUs: critical path %llu ops, simulated %llu (busiest CPU %llu)", what,
	      ncpus, (unsigned long long)par.critical_path_ops, (unsigned long long)crit,
	      (unsigned long long)busiest);
	CHECK(par.cross_cpu_frees == cross && ser.cross_cpu_frees == cross,
	      "%s on %u CPUs: cross frees %llu (serial %llu), expected %llu", what, ncpus,
	      (unsigned long long)par.cross_cpu_frees, (unsigned long long)ser.cross_cpu_frees,
	      (unsigned long long)cross);
	CHECK(par.parallel && par.shared_objects == shared, "%s on %u CPUs: %llu shared objects, expected %llu",
	      what, ncpus, (unsigned long long)par.shared_objects, (unsigned long long)shared);
	CHECK(par.peak_live == t->h.peak_live && !par.fp_at_peak_valid,
	      "%s: parallel mode reports the header's peak and no J&W #3", what);
	CHECK(par.timed && par.elapsed_ns > 0, "%s: no timing", what);
	/* Each CPU's work (its run minus its waits) lies within the elapsed window: the most
	 * is at least the mean, and work plus waits fit in ncpus x elapsed. */
	CHECK(par.busy_max_ns <= par.elapsed_ns && par.busy_max_ns <= par.busy_sum_ns &&
		  par.busy_sum_ns <= par.busy_max_ns * ncpus &&
		  par.busy_sum_ns + par.wait_ns <= par.elapsed_ns * ncpus,
	      "%s on %u CPUs: busy max %llu sum %llu, wait %llu, elapsed %llu ns", what, ncpus,
	      (unsigned long long)par.busy_max_ns, (unsigned long long)par.busy_sum_ns,
	      (unsigned long long)par.wait_ns, (unsigned long long)par.elapsed_ns);
}

int main(void)
{
	struct rng rg = {test_seed("replay_mt_test", 3)};
	static const enum gen_kind kinds[] = {GEN_LARSON, GEN_XMALLOC, GEN_THREADTEST,
					      GEN_HERMIT64, GEN_HERMIT_BOX, GEN_RANDOM_ACTIONS};
	static const unsigned cpus[] = {1, 2, 3, 4, 8}; /* 3: uneven map; 8: oversubscribed */
	for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct gen_params p = {rng_next(&rg), 4, 20000, 200, 0, 0};
		struct trace t;
		wl_generate(kinds[i], &p, &t);
		for (unsigned c = 0; c < sizeof(cpus) / sizeof(cpus[0]); c++)
			check_exact(gen_kind_name(kinds[i]), &t, cpus[c]);
		free((void *)t.ops);
	}
	struct trace t;
	pingpong(&t);
	for (unsigned c = 0; c < sizeof(cpus) / sizeof(cpus[0]); c++)
		check_exact("pingpong", &t, cpus[c]);
	printf("replay_mt_test: ok\n");
	return 0;
}
