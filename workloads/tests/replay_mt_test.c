/* replay_mt_test: parallel replay (one pthread per CPU, trace thread t on CPU
 * t % ncpus) of multi-threaded generated traces ends with exact accounting: every
 * op done once, leftovers and heap footprint equal to what the trace implies, and
 * cross-CPU frees counted as the trace dictates. Also built under TSan. */
#include "../../strategies/tests/testlib.h"
#include "wl_testutil.h"

/* Frees whose object was last allocated/reallocated on another CPU: what parallel
 * replay must count. */
static uint64_t expected_cross(const struct trace *t, unsigned ncpus)
{
	uint16_t *owner = calloc(t->h.nids + 1, sizeof(*owner));
	uint64_t n = 0;
	for (uint64_t i = 0; i < t->h.nops; i++) {
		const struct trace_op *o = &t->ops[i];
		unsigned cpu = o->thread % ncpus;
		if (o->op == TOP_FREE)
			n += owner[o->id] != cpu;
		else
			owner[o->id] = (uint16_t)cpu;
	}
	free(owner);
	return n;
}

int main(void)
{
	struct rng rg = {test_seed("replay_mt_test", 3)};
	static const enum gen_kind kinds[] = {GEN_LARSON, GEN_XMALLOC, GEN_THREADTEST,
					      GEN_HERMIT64, GEN_RANDOM_ACTIONS};
	for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		for (unsigned ncpus = 2; ncpus <= 4; ncpus++) { /* 3: uneven thread -> CPU map */
			struct gen_params p = {rng_next(&rg), 4, 20000, 200, 0, 0};
			struct trace t;
			wl_generate(kinds[i], &p, &t);
			struct replay_result r;
			wl_replay(&t, ncpus, true, false, 0, true, &r);
			wl_check_accounting(gen_kind_name(kinds[i]), &t, &r);
			CHECK(r.cross_cpu_frees == expected_cross(&t, ncpus),
			      "%s: cross frees %llu, expected %llu", gen_kind_name(kinds[i]),
			      (unsigned long long)r.cross_cpu_frees,
			      (unsigned long long)expected_cross(&t, ncpus));
			CHECK(!r.fp_at_peak_valid, "parallel mode does not measure J&W #3");
			CHECK(r.timed && r.elapsed_ns > 0, "no timing");
			free((void *)t.ops);
		}
	}
	printf("replay_mt_test: ok\n");
	return 0;
}
