/* gen.c: synthetic workload generators (catalogue and references in gen.h).
 *
 * State per object id: scratch[id] = 0 when free, 1 + size when live, so every
 * emitted op is valid by construction (alloc only of a free id, free/realloc only
 * of a live one); gen_run finishes with trace_summarize, and tests re-check the
 * result with trace_validate. Randomness: splitmix64 from p->seed.
 */
#include "gen.h"

struct gen {
	const struct gen_params *p;
	uint64_t rng, n, cap;
	uint32_t slots;
	uint64_t min, max;
	struct trace_op *ops;
	uint64_t *live; /* scratch */
};

static uint64_t rnd(struct gen *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(struct gen *g, uint64_t n)
{
	return n ? rnd(g) % n : 0;
}

static uint64_t uniform_size(struct gen *g)
{
	return g->min + below(g, g->max - g->min + 1);
}

static bool full(const struct gen *g)
{
	return g->n >= g->cap;
}

static void emit(struct gen *g, unsigned th, unsigned op, uint32_t id, uint64_t size,
		 unsigned al)
{
	if (full(g))
		return;
	g->ops[g->n++] = (struct trace_op){op == TOP_FREE ? 0 : size, id, (uint16_t)th,
					   (uint8_t)op, (uint8_t)al};
	g->live[id] = op == TOP_FREE ? 0 : size + 1;
}

static uint32_t obj_id(const struct gen *g, unsigned set, uint32_t slot)
{
	return set * g->slots + slot;
}

/* Talc random_actions; also alloc_test (pareto) and va_churn (pages) via size_fn. */
static void gen_random(struct gen *g, uint64_t (*size_fn)(struct gen *), bool aligned,
		       unsigned page_al)
{
	unsigned T = g->p->nthreads;
	for (uint64_t step = 0; !full(g); step++) {
		unsigned th = (unsigned)(step % T);
		uint32_t id = obj_id(g, th, (uint32_t)below(g, g->slots));
		if (!g->live[id]) {
			unsigned al = aligned && below(g, 8) == 0 ? 3 + (unsigned)below(g, 10) : page_al;
			emit(g, th, al ? TOP_MEMALIGN : TOP_ALLOC, id, size_fn(g), al);
		} else if (aligned && below(g, 2)) {
			emit(g, th, TOP_REALLOC, id, size_fn(g), 0);
		} else {
			emit(g, th, TOP_FREE, id, 0, 0);
		}
	}
}

static uint64_t pareto_size(struct gen *g)
{
	/* Inverse transform, alpha = 1: min / U, U uniform in (0, 1]. */
	uint64_t u = (rnd(g) >> 32) + 1;
	uint64_t s = (g->min << 32) / u;
	return s > g->max ? g->max : s;
}

static uint64_t page_size(struct gen *g)
{
	unsigned lo = 63u - (unsigned)__builtin_clzll(g->min);
	unsigned hi = 63u - (unsigned)__builtin_clzll(g->max);
	unsigned e = lo + (unsigned)below(g, hi - lo + 1);
	uint64_t pages = ((uint64_t)1 << (e - 12)) + below(g, (uint64_t)1 << (e - 12));
	uint64_t s = pages << 12;
	return s > g->max ? g->max : s;
}

static void gen_larson(struct gen *g)
{
	unsigned T = g->p->nthreads;
	uint64_t epoch_len = g->cap / 8 ? g->cap / 8 : 1;
	for (uint64_t step = 0; !full(g); step++) {
		unsigned set = (unsigned)(step % T);
		unsigned th = (unsigned)((set + g->n / epoch_len) % T);
		uint32_t id = obj_id(g, set, (uint32_t)below(g, g->slots));
		if (g->live[id])
			emit(g, th, TOP_FREE, id, 0, 0);
		emit(g, th, TOP_ALLOC, id, uniform_size(g), 0);
	}
}

static void gen_xmalloc(struct gen *g)
{
	unsigned T = g->p->nthreads, pairs = T / 2 ? T / 2 : 1;
	for (uint64_t round = 0; !full(g); round++) {
		unsigned pr = (unsigned)(round % pairs);
		unsigned prod = T > 1 ? 2 * pr : 0, cons = T > 1 ? 2 * pr + 1 : 0;
		for (uint32_t s = 0; s < g->slots; s++)
			emit(g, prod, TOP_ALLOC, obj_id(g, pr, s), uniform_size(g), 0);
		for (uint32_t s = 0; s < g->slots; s++)
			emit(g, cons, TOP_FREE, obj_id(g, pr, s), 0, 0);
	}
}

/* threadtest and hermit64: per thread, allocate all slots then free them, in rounds;
 * the threads' ops interleave one by one. */
static void gen_batches(struct gen *g)
{
	unsigned T = g->p->nthreads;
	while (!full(g)) {
		for (uint32_t s = 0; s < g->slots; s++)
			for (unsigned th = 0; th < T; th++)
				emit(g, th, TOP_ALLOC, obj_id(g, th, s), uniform_size(g), 0);
		for (uint32_t s = 0; s < g->slots; s++)
			for (unsigned th = 0; th < T; th++)
				emit(g, th, TOP_FREE, obj_id(g, th, s), 0, 0);
	}
}

/* hermit_box: Hermit #1984's loop, per thread calloc(64) + free of its one id (slot
 * 0); the threads' iterations (both ops) interleave round-robin. */
static void gen_box(struct gen *g)
{
	unsigned T = g->p->nthreads;
	while (!full(g))
		for (unsigned th = 0; th < T; th++) {
			emit(g, th, TOP_CALLOC, obj_id(g, th, 0), uniform_size(g), 0);
			emit(g, th, TOP_FREE, obj_id(g, th, 0), 0, 0);
		}
}

static const char *const gen_names[GEN_COUNT] = {
	"random_actions", "larson",   "xmalloc",  "threadtest",
	"alloc_test",	  "va_churn", "hermit64", "hermit_box",
};
/* Defaults: slots per thread, min size, max size. */
static const uint64_t gen_defaults[GEN_COUNT][3] = {
	{1000, 1, 4096},      {1000, 8, 1000}, {100, 16, 256},	   {1000, 8, 8},
	{1000, 16, 1 << 20}, {64, 4096, 4 << 20}, {10000, 64, 64}, {1, 64, 64},
};

enum gen_kind gen_kind_from_name(const char *name)
{
	for (unsigned k = 0; k < GEN_COUNT; k++) {
		const char *a = gen_names[k], *b = name;
		while (*a && *a == *b)
			a++, b++;
		if (!*a && !*b)
			return (enum gen_kind)k;
	}
	return GEN_COUNT;
}

const char *gen_kind_name(enum gen_kind k)
{
	return k < GEN_COUNT ? gen_names[k] : "?";
}

unsigned gen_default_threads(enum gen_kind k)
{
	return k == GEN_HERMIT_BOX ? 128 : 0;
}

uint32_t gen_slots(enum gen_kind k, const struct gen_params *p)
{
	if (k == GEN_HERMIT_BOX)
		return 1;
	return p->slots ? p->slots : (uint32_t)gen_defaults[k][0];
}

uint64_t gen_scratch_words(enum gen_kind k, const struct gen_params *p)
{
	return (uint64_t)(p->nthreads ? p->nthreads : 1) * gen_slots(k, p);
}

int gen_run(enum gen_kind k, const struct gen_params *p, struct trace_op *ops,
	    uint64_t *scratch, struct trace *t)
{
	if (k >= GEN_COUNT || !p->nthreads || p->nthreads > TRACE_MAX_THREADS)
		return -22;
	struct gen g = {p, p->seed, 0, p->nops, gen_slots(k, p), 0, 0, ops, scratch};
	g.min = p->min_size ? p->min_size : gen_defaults[k][1];
	g.max = p->max_size ? p->max_size : gen_defaults[k][2];
	uint64_t nids = gen_scratch_words(k, p);
	if (!g.slots || g.min > g.max || g.max > TRACE_MAX_SIZE || nids > UINT32_MAX ||
	    (k == GEN_VA_CHURN && g.min < 4096))
		return -22;
	for (uint64_t i = 0; i < nids; i++)
		scratch[i] = 0;
	switch (k) {
	case GEN_RANDOM_ACTIONS: gen_random(&g, uniform_size, true, 0); break;
	case GEN_ALLOC_TEST: gen_random(&g, pareto_size, false, 0); break;
	case GEN_VA_CHURN: gen_random(&g, page_size, false, 12); break;
	case GEN_LARSON: gen_larson(&g); break;
	case GEN_XMALLOC: gen_xmalloc(&g); break;
	case GEN_HERMIT_BOX: gen_box(&g); break;
	default: gen_batches(&g); break;
	}
	trace_summarize(ops, g.n, scratch, (uint32_t)nids, &t->h);
	t->h.nthreads = p->nthreads;
	t->ops = ops;
	return 0;
}
