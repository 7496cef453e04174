/* gen_hermit_box_test: the hermit_box generator (gen.h) is Hermit #1984's loop: for
 * T threads and nops = 2 T k, thread th's ops are exactly k x (calloc 64 of id th, free
 * id th), the threads' iterations in round-robin order; one id per thread whatever
 * --slots says; peak live 64 B; a partial last round when 2T does not divide nops;
 * 128 threads by default; every op replays (exact accounting on malloc_heap, serial
 * and on 3 CPUs).
 */
#include "../../strategies/tests/testlib.h"
#include "wl_testutil.h"

static void check_shape(unsigned T, uint64_t nops, uint32_t slots)
{
	struct gen_params p = {7, T, nops, slots, 0, 0};
	struct trace t;
	wl_generate(GEN_HERMIT_BOX, &p, &t);
	CHECK(t.h.nops == nops && t.h.nthreads == T && t.h.nids == T, "T %u nops %llu: header",
	      T, (unsigned long long)nops);
	CHECK(t.h.peak_live == (nops ? 64 : 0), "peak_live %llu", (unsigned long long)t.h.peak_live);
	CHECK(t.h.nobjects == (nops + 1) / 2, "nobjects %llu", (unsigned long long)t.h.nobjects);
	for (uint64_t i = 0; i < nops; i++) {
		const struct trace_op *o = &t.ops[i];
		unsigned th = (unsigned)((i / 2) % T);
		bool alloc = i % 2 == 0;
		CHECK(o->thread == th && o->id == th && o->align_log2 == 0 &&
			      o->op == (alloc ? TOP_CALLOC : TOP_FREE) && o->size == (alloc ? 64u : 0u),
		      "T %u op %llu: thread %u id %u op %u size %llu", T, (unsigned long long)i,
		      o->thread, o->id, o->op, (unsigned long long)o->size);
	}
	struct replay_result r;
	wl_replay(&t, 1, false, true, 0, false, &r);
	wl_check_accounting("hermit_box serial", &t, &r);
	CHECK(r.allocs == (nops + 1) / 2 && r.frees == nops / 2, "serial counts");
	wl_replay(&t, 3, true, false, 0, false, &r);
	wl_check_accounting("hermit_box on 3 CPUs", &t, &r);
	CHECK(r.cross_cpu_frees == 0, "hermit_box frees are all local");
	free((void *)t.ops);
}

int main(void)
{
	CHECK(gen_kind_from_name("hermit_box") == GEN_HERMIT_BOX, "name");
	CHECK(!strcmp(gen_kind_name(GEN_HERMIT_BOX), "hermit_box"), "name back");
	CHECK(gen_default_threads(GEN_HERMIT_BOX) == 128, "default threads");
	for (unsigned k = 0; k < GEN_COUNT; k++)
		CHECK(k == GEN_HERMIT_BOX || gen_default_threads(k) == 0, "%s: default threads",
		      gen_kind_name(k));
	struct gen_params p = {1, 128, 2560, 50, 0, 0};
	CHECK(gen_slots(GEN_HERMIT_BOX, &p) == 1 && gen_scratch_words(GEN_HERMIT_BOX, &p) == 128,
	      "one id per thread");
	check_shape(128, 2 * 128 * 20, 0); /* the shape, k = 20 */
	check_shape(3, 2 * 3 * 5, 9);	   /* --slots ignored */
	check_shape(3, 2 * 3 * 5 + 3, 0);  /* partial round: threads 0, 1 once more (1 alloc) */
	check_shape(1, 10, 0);
	printf("gen_hermit_box_test: ok\n");
	return 0;
}
