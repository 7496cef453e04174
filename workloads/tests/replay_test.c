/* replay_test: serial replay gives exact, predicted metrics (live, peak, J&W #3/#4
 * from malloc_heap's footprint model, leftovers), cross-CPU frees are counted,
 * failure injection gives the documented OOM behaviour (serial and parallel: the first
 * failed op; parallel: no live/footprint snapshot, frag4 null), the deterministic JSON row
 * is identical across runs and CPU counts, and every generator's trace replays with
 * exact final accounting on 1 and 4 CPUs (serial; parallel is replay_mt_test), and
 * cfg.lat_every times one op in that many (the clock is read twice per timed op). */
#include "../../strategies/tests/testlib.h"
#include "../core/json_row.h"
#include "wl_testutil.h"

static const struct trace_op sample[] = {
	{100, 0, 0, TOP_ALLOC, 0}, {30, 1, 1, TOP_CALLOC, 0},	{64, 2, 0, TOP_MEMALIGN, 6},
	{200, 0, 1, TOP_REALLOC, 0}, {0, 1, 0, TOP_FREE, 0},	{7, 1, 1, TOP_ALLOC, 0},
	{0, 2, 1, TOP_FREE, 0},
};

static void sample_trace(struct trace *t)
{
	uint64_t sizes[3];
	trace_summarize(sample, 7, sizes, 3, &t->h);
	t->ops = sample;
}

static void test_sample_metrics(void)
{
	struct trace t;
	sample_trace(&t);
	struct replay_result r;
	wl_replay(&t, 1, false, true, 0, false, &r);
	wl_check_accounting("sample", &t, &r);
	/* malloc_heap charges: 128, +48, +128, realloc +96 -> 400 at peak live 294. */
	CHECK(r.fp_at_peak_valid && r.fp_at_peak == 400, "fp_at_peak %llu",
	      (unsigned long long)r.fp_at_peak);
	CHECK(r.heap.peak_footprint == 400, "peak footprint");
	CHECK(r.frag3_ppm == 360544 && r.frag4_ppm == 360544, "frag %lld %lld",
	      (long long)r.frag3_ppm, (long long)r.frag4_ppm);
	CHECK(r.live_end_objects == 2 && r.live_end_bytes == 207, "leftovers");
	CHECK(r.cross_cpu_frees == 0, "one CPU has no cross frees");
	wl_replay(&t, 2, false, true, 0, false, &r);
	CHECK(r.cross_cpu_frees == 2, "cross-CPU frees %llu", (unsigned long long)r.cross_cpu_frees);
}

static const struct result_prov prov = {"replay", "malloc", "-", "-", "malloc", "host", 1, 1,
					 "serial", "sample", 0, "test", 0};

static void test_oom(void)
{
	struct trace t;
	sample_trace(&t);
	struct replay_result r;
	wl_replay(&t, 1, false, true, 3, false, &r);
	/* r0 (4th alloc-like call) and a1 fail; live was 194 at the first failure. */
	CHECK(r.failed == 2 && r.live_at_first_failure == 194, "failed %llu at %llu",
	      (unsigned long long)r.failed, (unsigned long long)r.live_at_first_failure);
	CHECK(r.fp_at_first_failure == 304, "footprint at failure %llu",
	      (unsigned long long)r.fp_at_first_failure);
	CHECK(r.live_end_objects == 1 && r.live_end_bytes == 100, "leftovers after OOM");
	CHECK(r.ops == 7 && r.frees == 2, "ops");
	CHECK(r.first_failure_op == 3 && r.first_failure_size == 200 && !r.failure_unmeasured,
	      "first failure: op %llu size %llu", (unsigned long long)r.first_failure_op,
	      (unsigned long long)r.first_failure_size);
}

/* Parallel mode with failures (issue 17): the same first failed op as serial, no
 * live/footprint snapshot and no frag4 (the trace's peak_live was never reached:
 * 2 CPUs once gave frag4 -0.81) -- null in the row with the reason, never 0 or < 0. */
static void test_oom_parallel(void)
{
	struct trace t;
	sample_trace(&t);
	struct replay_result r;
	static char buf[4096];
	wl_replay(&t, 1, true, true, 3, false, &r); /* one CPU: the same calls fail */
	CHECK(r.failed == 2 && r.first_failure_op == 3 && r.first_failure_size == 200,
	      "parallel 1 CPU: failed %llu, first op %llu size %llu", (unsigned long long)r.failed,
	      (unsigned long long)r.first_failure_op, (unsigned long long)r.first_failure_size);
	CHECK(r.failure_unmeasured && r.frag4_ppm == 0, "parallel failures not flagged");
	struct result_prov p = prov;
	p.mode = "parallel";
	CHECK(json_replay_row(&p, &r, buf, sizeof(buf)) > 0, "row overflow");
	CHECK(strstr(buf, "\"frag4\":null,") &&
		  strstr(buf, "\"live_at_first_failure_bytes\":null,") &&
		  strstr(buf, "\"footprint_at_first_failure_bytes\":null,") &&
		  strstr(buf, "\"first_failure_op\":3,") &&
		  strstr(buf, "\"first_failure_size_bytes\":200,") &&
		  strstr(buf, "\"failure_note\":\""),
	      "row: %s", buf);
	for (int i = 0; i < 20; i++) { /* 2 CPUs: which calls fail depends on timing */
		wl_replay(&t, 2, true, false, 3, false, &r);
		CHECK(r.failed >= 1 && r.failure_unmeasured, "2 CPUs: failed %llu",
		      (unsigned long long)r.failed);
		const struct trace_op *o = &t.ops[r.first_failure_op];
		CHECK(r.first_failure_op < t.h.nops && o->op != TOP_FREE &&
			      o->size == r.first_failure_size,
		      "2 CPUs: first failure op %llu size %llu", (unsigned long long)r.first_failure_op,
		      (unsigned long long)r.first_failure_size);
	}
	wl_replay(&t, 2, true, false, 0, false, &r);
	CHECK(!r.failed && !r.failure_unmeasured && r.frag4_ppm > 0, "no failures: frag4 kept");
}

static void row(const struct trace *t, unsigned ncpus, char *buf, size_t cap)
{
	struct replay_result r;
	wl_replay(t, ncpus, false, false, 0, false, &r);
	struct result_prov p = prov;
	p.trace_hash = t->h.payload_hash;
	CHECK(json_replay_row(&p, &r, buf, cap) > 0, "row overflow");
}

static void test_deterministic_row(void)
{
	struct trace t;
	sample_trace(&t);
	char a[2048], b[2048], c[2048];
	row(&t, 1, a, sizeof(a));
	row(&t, 1, b, sizeof(b));
	CHECK(!strcmp(a, b), "rows differ:\n%s\n%s", a, b);
	CHECK(strstr(a, "\"peak_live_bytes\":294,") && strstr(a, "\"frag3\":0.360544,") &&
		  strstr(a, "\"engine\":\"host\",\"timing_trusted\":true,") &&
		  strstr(a, "\"live_end_objects\":2,") && !strstr(a, "lat_p50_ns"),
	      "row: %s", a);
	row(&t, 3, c, sizeof(c)); /* other CPU count: only cross frees differ (0 vs 2) */
	CHECK(strstr(c, "\"cross_cpu_frees\":2,"), "row: %s", c);
	struct replay_result r;
	wl_replay(&t, 1, false, false, 0, true, &r);
	CHECK(r.timed && r.lat_max_ns >= r.lat_p50_ns && r.ops_per_s > 0, "timing");
}

static void test_generators(struct rng *rg)
{
	for (unsigned k = 0; k < GEN_COUNT; k++) {
		CHECK(gen_kind_from_name(gen_kind_name(k)) == k, "name");
		for (unsigned T = 1; T <= 4; T += 3) {
			struct gen_params p = {rng_next(rg), T, 20000, 0, 0, 0};
			if (k == GEN_HERMIT64 || k == GEN_THREADTEST)
				p.slots = 500;
			if (k == GEN_VA_CHURN || k == GEN_ALLOC_TEST) /* ASan makes big blocks slow */
				p.max_size = 256 << 10, p.nops = 5000;
			struct trace t, t2;
			wl_generate(k, &p, &t);
			wl_generate(k, &p, &t2);
			CHECK(t.h.payload_hash == t2.h.payload_hash, "%s not deterministic",
			      gen_kind_name(k));
			CHECK(t.h.nops == p.nops && t.h.nthreads == T, "%s: header", gen_kind_name(k));
			struct replay_result r;
			wl_replay(&t, T, false, k == 0 && T == 1, 0, false, &r);
			wl_check_accounting(gen_kind_name(k), &t, &r);
			CHECK(r.fp_at_peak_valid, "%s: no J&W #3", gen_kind_name(k));
			if (k == GEN_XMALLOC && T == 4)
				CHECK(r.cross_cpu_frees == r.frees, "xmalloc frees are all remote");
			if (k == GEN_VA_CHURN)
				for (uint64_t i = 0; i < t.h.nops; i++)
					CHECK(t.ops[i].op == TOP_FREE ||
						      (t.ops[i].size % 4096 == 0 && t.ops[i].align_log2 == 12),
					      "va_churn op not page sized");
			free((void *)t.ops);
			free((void *)t2.ops);
		}
	}
	struct gen_params bad = {1, 0, 10, 0, 0, 0};
	struct trace t;
	CHECK(gen_run(GEN_LARSON, &bad, NULL, NULL, &t) != 0, "0 threads accepted");
}

static uint64_t clock_calls;
static uint64_t heap_calls;	   /* ops the counting heap has run */
static uint64_t read_at[1u << 17]; /* heap_calls at each clock read (the first ones) */

static uint64_t count_clock(void *ctx)
{
	if (clock_calls < sizeof(read_at) / sizeof(read_at[0]))
		read_at[clock_calls] = heap_calls;
	return ++clock_calls;
}

static void *cnt_alloc(void *st, unsigned cpu, size_t size, size_t align)
{
	heap_calls++;
	return heap_malloc_ops.alloc(st, cpu, size, align);
}

static void cnt_free(void *st, unsigned cpu, void *p, size_t size, size_t align)
{
	heap_calls++;
	heap_malloc_ops.free(st, cpu, p, size, align);
}

static void *cnt_realloc(void *st, unsigned cpu, void *p, size_t old, size_t align, size_t n)
{
	heap_calls++;
	return heap_malloc_ops.realloc(st, cpu, p, old, align, n);
}

/* Clock reads of a serial replay of t with lat_every (begin and end marks: 2); read_at
 * holds the trace index of each timed op at 2 j + 1 (its first read). */
static uint64_t timed_reads(const struct trace *t, unsigned lat_every, int *rc)
{
	struct malloc_heap mh;
	struct heap_ops cnt = heap_malloc_ops;
	cnt.alloc = cnt_alloc;
	cnt.free = cnt_free;
	cnt.realloc = cnt_realloc;
	CHECK(cnt.init(&mh, NULL) == 0, "init");
	struct replay_cfg cfg = {
	    .heap = &cnt, .heap_st = &mh, .ncpus = 1, .clock = count_clock, .lat_every = lat_every};
	struct replay r;
	void *mem = malloc(replay_mem_size(t, &cfg));
	clock_calls = heap_calls = 0;
	*rc = replay_init(&r, &cfg, t, mem);
	if (!*rc) {
		struct replay_result res;
		replay_run_serial(&r);
		replay_finish(&r, &res);
		CHECK(res.lat_every == (lat_every ? lat_every : 1), "lat_every in the result");
		replay_release(&r);
	}
	free(mem);
	return clock_calls;
}

/* |x - mean| within 5 standard deviations (sd^2 = var). */
static bool near(uint64_t x, double mean, double var)
{
	double d = (double)x - mean;
	return d * d < 25 * var;
}

/* lat_every e: about nops / e ops timed, each op drawn on its own (Bernoulli 1/e): the
 * gaps between timed ops are geometric, a gap of 1 as likely as 1/e (a stride of e,
 * or draws that repeat, would have none or too many). */
static void check_sampled(const struct trace *t, unsigned e)
{
	int rc;
	double p = 1.0 / e, nops = (double)t->h.nops;
	uint64_t n = (timed_reads(t, e, &rc) - 2) / 2, ones = 0;
	CHECK(!rc && near(n, nops * p, nops * p * (1 - p)), "lat_every %u timed %llu of %.0f", e,
	      (unsigned long long)n, nops);
	CHECK(2 * n + 1 < sizeof(read_at) / sizeof(read_at[0]), "read_at too small");
	for (uint64_t j = 1; j < n; j++)
		ones += read_at[2 * j + 1] - read_at[2 * j - 1] == 1;
	CHECK(near(ones, (double)(n - 1) * p, (double)(n - 1) * p * (1 - p)),
	      "lat_every %u: %llu gaps of 1 among %llu", e, (unsigned long long)ones,
	      (unsigned long long)(n - 1));
}

static void test_lat_every(void)
{
	struct gen_params p = {5, 2, 40000, 0, 0, 0};
	struct trace t;
	wl_generate(GEN_LARSON, &p, &t);
	int rc;
	CHECK(timed_reads(&t, 0, &rc) == 2 * t.h.nops + 2 && !rc, "every op timed");
	CHECK(timed_reads(&t, 1, &rc) == 2 * t.h.nops + 2 && !rc, "lat_every 1");
	CHECK(read_at[1] == 0 && read_at[3] == 1 && read_at[2 * t.h.nops - 1] == t.h.nops - 1,
	      "lat_every 1: every op timed in order");
	check_sampled(&t, 2);
	check_sampled(&t, 8);
	check_sampled(&t, 64);
	timed_reads(&t, 3, &rc);
	CHECK(rc == MM_EINVAL, "lat_every 3 accepted");
	free((void *)t.ops);
}

int main(void)
{
	struct rng rg = {test_seed("replay_test", 7)};
	test_sample_metrics();
	test_oom();
	test_oom_parallel();
	test_deterministic_row();
	test_generators(&rg);
	test_lat_every();
	printf("replay_test: ok\n");
	return 0;
}
