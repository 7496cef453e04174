/* jw_frag_test: Johnstone & Wilson fragmentation #3 (footprint at the moment live
 * first reaches peak_live) and #4 (peak footprint) are two different numbers, and the
 * serial replay reports each from its own footprint sample.
 *
 * One trace (jw_trace, below) makes them differ on every heap: a burst of tiny objects
 * before the peak (a footprint peak that comes before peak live on a heap that returns
 * memory), the peak itself, then holes too small for the next, larger objects (the
 * footprint grows again on heaps that keep memory). It is replayed serially through the
 * public replay API (replay_init, replay_run_serial, replay_finish) on:
 *   - bump: a heap written here that never reuses memory: footprint = bytes ever
 *     handed out, so #3 < #4 exactly by what was handed out after the peak;
 *   - malloc: malloc_heap (malloc_heap.h), which returns memory on free: its peak
 *     footprint comes before peak live;
 * with fp_at_peak, peak_footprint, frag3_ppm and frag4_ppm checked against values
 * worked out by hand; and on the real talc and slab heaps (buddy + bitmap under them,
 * heap_fixture), where #3 < #4 strictly and #3 == footprint_at_peak / peak_live - 1.
 * workloads/tests/jw_frag_engines_test.sh replays the same trace on host and guest.
 */
#include "../../strategies/tests/testlib.h"

#include "../../strategies/tests/heap_support.h"
#include "../core/replay.h"
#include "malloc_heap.h"

#define JW_N	1024u	   /* objects at the peak (64 B each) */
#define JW_TINY (3 * JW_N) /* 1-byte objects before the peak */
#define JW_LATE (JW_N / 4) /* 96-byte objects after the peak */
#define JW_NOPS (2 * JW_TINY + JW_N + JW_N / 2 + JW_LATE + (JW_N / 2 + JW_LATE))
#define JW_NIDS (JW_TINY + JW_N + JW_LATE)
#define JW_PEAK (64ull * JW_N)

static struct trace_op jw_ops[JW_NOPS];

static void push(uint64_t *n, uint8_t op, uint32_t id, uint64_t size)
{
	CHECK(*n < JW_NOPS, "trace longer than JW_NOPS");
	jw_ops[(*n)++] = (struct trace_op){size, id, 0, op, 0};
}

/* The trace (one thread; ids dense, none reused):
 *   1. JW_TINY allocs of 1 byte, then their frees       live 0 .. 3N .. 0
 *   2. JW_N allocs of 64 bytes                          live reaches 64N = peak_live
 *   3. free every odd one of them                       live 32N, 64-byte holes
 *   4. JW_LATE allocs of 96 bytes (fit no hole)         live 56N < peak
 *   5. free everything still live                       live 0 */
static void jw_trace(struct trace *t)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < JW_TINY; i++)
		push(&n, TOP_ALLOC, i, 1);
	for (uint32_t i = 0; i < JW_TINY; i++)
		push(&n, TOP_FREE, i, 0);
	for (uint32_t i = 0; i < JW_N; i++)
		push(&n, TOP_ALLOC, JW_TINY + i, 64);
	for (uint32_t i = 1; i < JW_N; i += 2)
		push(&n, TOP_FREE, JW_TINY + i, 0);
	for (uint32_t i = 0; i < JW_LATE; i++)
		push(&n, TOP_ALLOC, JW_TINY + JW_N + i, 96);
	for (uint32_t i = 0; i < JW_N; i += 2)
		push(&n, TOP_FREE, JW_TINY + i, 0);
	for (uint32_t i = 0; i < JW_LATE; i++)
		push(&n, TOP_FREE, JW_TINY + JW_N + i, 0);
	CHECK(n == JW_NOPS, "trace has %llu ops, not %u", (unsigned long long)n, JW_NOPS);
	static uint64_t sizes[JW_NIDS];
	trace_summarize(jw_ops, n, sizes, JW_NIDS, &t->h);
	t->ops = jw_ops;
	uint64_t scratch[JW_NIDS];
	struct trace_err err;
	CHECK(trace_validate(t, scratch, true, &err) == 0, "trace invalid: %s", err.msg);
	CHECK(t->h.peak_live == JW_PEAK && t->h.nobjects == JW_NIDS, "summary: peak %llu",
	      (unsigned long long)t->h.peak_live);
}

/* ---- bump: a heap that never reuses memory ------------------------------------------
 * Every alloc takes the next align_up(size, 16) bytes (16-byte aligned; the trace asks
 * for no larger alignment); free does nothing. footprint == peak_footprint == bytes
 * handed out so far. */
struct bump {
	uint8_t *base;
	uint64_t cap, used;
};

static int bump_init(void *st, const struct heap_env *env)
{
	struct bump *b = st;
	b->cap = 1u << 20;
	b->used = 0;
	b->base = aligned_alloc(16, b->cap);
	return b->base ? 0 : MM_ENOMEM;
}

static void *bump_alloc(void *st, unsigned cpu, size_t size, size_t align)
{
	struct bump *b = st;
	uint64_t need = (size + 15) & ~15ull;
	if (align > 16 || need > b->cap - b->used)
		return NULL;
	void *p = b->base + b->used;
	b->used += need;
	return p;
}

static void bump_free(void *st, unsigned cpu, void *p, size_t size, size_t align) {}

static void *bump_realloc(void *st, unsigned cpu, void *p, size_t old_size, size_t align,
			  size_t new_size)
{
	void *q = bump_alloc(st, cpu, new_size, align);
	if (q)
		memcpy(q, p, old_size < new_size ? old_size : new_size);
	return q;
}

static bool bump_check(const void *st)
{
	const struct bump *b = st;
	return b->used <= b->cap && b->used % 16 == 0;
}

static void bump_stats(const void *st, struct heap_stats *out)
{
	const struct bump *b = st;
	memset(out, 0, sizeof(*out));
	out->footprint = out->peak_footprint = b->used;
}

static const struct heap_ops bump_ops = {
    .name = "bump",
    .state_size = sizeof(struct bump),
    .init = bump_init,
    .alloc = bump_alloc,
    .free = bump_free,
    .realloc = bump_realloc,
    .check = bump_check,
    .stats = bump_stats,
};

/* Serial replay of t on (ops, st), 1 CPU, heap check after every op. */
static void replay_serial(const struct trace *t, const struct heap_ops *ops, void *st,
			  struct replay_result *res)
{
	struct replay r;
	struct replay_cfg cfg = {.heap = ops, .heap_st = st, .ncpus = 1, .check_each_op = true};
	void *mem = malloc(replay_mem_size(t, &cfg));
	CHECK(mem && replay_init(&r, &cfg, t, mem) == 0, "replay_init on %s", ops->name);
	replay_run_serial(&r);
	replay_finish(&r, res);
	replay_release(&r);
	free(mem);
	CHECK(res->ops == JW_NOPS && res->failed == 0 && res->live_end_bytes == 0,
	      "%s: ops %llu failed %llu", ops->name, (unsigned long long)res->ops,
	      (unsigned long long)res->failed);
	CHECK(res->peak_live == JW_PEAK, "%s: peak_live %llu", ops->name,
	      (unsigned long long)res->peak_live);
	CHECK(res->fp_at_peak_valid, "%s: no footprint at peak live", ops->name);
	printf("%-6s fp_at_peak %7llu peak_footprint %7llu frag3 %8lld ppm frag4 %8lld ppm\n",
	       ops->name, (unsigned long long)res->fp_at_peak,
	       (unsigned long long)res->heap.peak_footprint, (long long)res->frag3_ppm,
	       (long long)res->frag4_ppm);
}

/* Exact values: fp_at_peak, peak_footprint, frag3_ppm, frag4_ppm. */
static void check_exact(const char *name, const struct replay_result *r, uint64_t fp3, uint64_t fp4,
			int64_t f3, int64_t f4)
{
	CHECK(r->fp_at_peak == fp3, "%s: fp_at_peak %llu, expected %llu", name,
	      (unsigned long long)r->fp_at_peak, (unsigned long long)fp3);
	CHECK(r->heap.peak_footprint == fp4, "%s: peak_footprint %llu, expected %llu", name,
	      (unsigned long long)r->heap.peak_footprint, (unsigned long long)fp4);
	CHECK(r->frag3_ppm == f3,
	      "%s: frag3_ppm %lld, expected %lld (J&W #3: from the footprint at peak live)", name,
	      (long long)r->frag3_ppm, (long long)f3);
	CHECK(r->frag4_ppm == f4, "%s: frag4_ppm %lld, expected %lld", name,
	      (long long)r->frag4_ppm, (long long)f4);
}

/* bump: 1-byte objects take 16 B each: 3N * 16 = 48N; the peak adds N * 64 = 64N, so
 * fp_at_peak = 112N; the 96-byte objects add N/4 * 96 = 24N: peak footprint 136N.
 * #3 = 112N / 64N - 1 = 0.75, #4 = 136N / 64N - 1 = 1.125. */
static void test_bump(const struct trace *t)
{
	struct bump b;
	CHECK(bump_init(&b, NULL) == 0, "bump_init");
	struct replay_result r;
	replay_serial(t, &bump_ops, &b, &r);
	check_exact("bump", &r, 112ull * JW_N, 136ull * JW_N, 750000, 1125000);
	free(b.base);
}

/* malloc_heap charges align_up(size, 16) + 16 per live object: 1-byte objects 32 B
 * (3N of them: 96N, the peak footprint, at live 3N), 64-byte ones 80 B (N: 80N at peak
 * live), 96-byte ones 112 B (after the peak: N/2 * 80 + N/4 * 112 = 68N < 96N).
 * #3 = 80N / 64N - 1 = 0.25, #4 = 96N / 64N - 1 = 0.5. */
static void test_malloc(const struct trace *t)
{
	CHECK(malloc_heap_charge(1, 1) == 32 && malloc_heap_charge(64, 1) == 80 &&
		  malloc_heap_charge(96, 1) == 112,
	      "malloc_heap's model changed: rework the expected values");
	struct malloc_heap mh;
	CHECK(heap_malloc_ops.init(&mh, NULL) == 0, "malloc_heap init");
	struct replay_result r;
	replay_serial(t, &heap_malloc_ops, &mh, &r);
	check_exact("malloc", &r, 80ull * JW_N, 96ull * JW_N, 250000, 500000);
}

/* A real heap on buddy + bitmap (as mtb_host and the guest): #3 < #4, each from its own
 * footprint. */
static void test_real(const struct trace *t, const char *hname)
{
	const struct heap_ops *h = heap_fixture_heap_ops(hname);
	CHECK(h, "heap %s not linked in", hname);
	struct heap_fixture *fx = calloc(1, sizeof(*fx));
	CHECK(fx && heap_fixture_init(fx, &frame_buddy_ops, &va_bitmap_ops, h, 1, 64ull << 20,
				      1ull << 30, 2ull << 20, 0) == 0,
	      "fixture for %s", hname);
	struct replay_result r;
	replay_serial(t, h, fx->heap_st, &r);
	uint64_t frag3 = r.fp_at_peak * 1000000u / JW_PEAK - 1000000;
	uint64_t frag4 = r.heap.peak_footprint * 1000000u / JW_PEAK - 1000000;
	CHECK(r.fp_at_peak >= JW_PEAK && r.fp_at_peak < r.heap.peak_footprint,
	      "%s: fp_at_peak %llu, peak_footprint %llu: the trace should make #3 < #4", hname,
	      (unsigned long long)r.fp_at_peak, (unsigned long long)r.heap.peak_footprint);
	CHECK(r.frag3_ppm == (int64_t)frag3,
	      "%s: frag3_ppm %lld != fp_at_peak / peak_live - 1 = %lld ppm", hname,
	      (long long)r.frag3_ppm, (long long)frag3);
	CHECK(r.frag4_ppm == (int64_t)frag4,
	      "%s: frag4_ppm %lld != peak_footprint / peak_live - 1 = %lld ppm", hname,
	      (long long)r.frag4_ppm, (long long)frag4);
	CHECK(r.frag3_ppm < r.frag4_ppm, "%s: frag3 %lld not below frag4 %lld", hname,
	      (long long)r.frag3_ppm, (long long)r.frag4_ppm);
	heap_fixture_fini(fx);
	free(fx);
}

int main(void)
{
	struct trace t;
	jw_trace(&t);
	printf("jw_frag_test: %llu ops, peak_live %llu (deterministic, no seed)\n",
	       (unsigned long long)t.h.nops, (unsigned long long)t.h.peak_live);
	test_bump(&t);
	test_malloc(&t);
	test_real(&t, "talc");
	test_real(&t, "slab");
	printf("jw_frag_test: ok\n");
	return 0;
}
