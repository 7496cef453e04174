/* va_trace_test: every VA strategy of va_run_strategies but bitmap-64k replays
 * every ../shared/traces/vm .vmt trace (and a short synthetic mix) in the debug
 * build with, after every op: the strategy's full invariant check; reserved_bytes
 * equal to an exact model of its rounding (btree, btree-bare, freelist and the
 * best-fit trees btree-best, btree-bare-best: the requested page multiples; bitmap: 2 MiB granules rounded up to a power of two,
 * its buddy block); every live range page aligned, inside the window, and disjoint
 * from all others (a tsearch tree keyed by overlap). At the end all is released and
 * the window must be one free range again. This is what va_replay measures,
 * checked op by op. Without ../shared only the mix runs.
 */
#include "../../strategies/tests/testlib.h"

#include <dirent.h>
#include <search.h>

#include "../../strategies/va_bitmap.h"
#include "../host/gen_host.h"
#include "../host/va_host.h"
#include "../host/vmt.h"

#define WINDOW (64ull << 30) /* small, so the bitmap's full check stays cheap */

struct span {
	uint64_t lo, hi;
};

/* Overlapping spans compare equal: tfind finds any live span that overlaps. */
static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->hi <= y->lo ? -1 : y->hi <= x->lo ? 1 : 0;
}

/* What ops reserves for a request of size bytes. */
static uint64_t charge(const struct va_ops *ops, uint64_t size)
{
	if (ops != &va_bitmap_ops)
		return (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	uint64_t g = (size + SIZE_2M - 1) / SIZE_2M, p = 1;
	while (p < g)
		p <<= 1;
	return p * SIZE_2M;
}

static void no_free(void *p)
{
	(void)p;
}

/* One alloc of op o into s, checked: page aligned, inside, aligned, disjoint. */
static void alloc_checked(const char *name, const struct va_host *vh, const struct trace_op *o,
			  uint64_t i, struct span *s, void **tree)
{
	const struct va_ops *ops = vh->ops;
	uint64_t a, al = o->op == TOP_MEMALIGN ? 1ull << o->align_log2 : 0;
	CHECK(o->op != TOP_REALLOC, "%s: realloc in a VA trace", name);
	CHECK(ops->alloc(vh->st, 0, o->size, al, &a) == MM_OK, "%s: %s: op %llu: alloc of %llu "
	      "failed", name, ops->name, (unsigned long long)i, (unsigned long long)o->size);
	*s = (struct span){a, a + o->size};
	bool inside = a >= VA_RUN_BASE && s->hi <= VA_RUN_BASE + WINDOW;
	CHECK(inside && !(a & (PAGE_SIZE - 1)) && (!al || !(a & (al - 1))),
	      "%s: %s: bad range %#llx", name, ops->name, (unsigned long long)a);
	CHECK(!tfind(s, tree, cmp_span), "%s: %s: op %llu: %#llx overlaps a live range", name,
	      ops->name, (unsigned long long)i, (unsigned long long)a);
	CHECK(tsearch(s, tree, cmp_span), "tsearch");
}

/* The checks after op i: the strategy's own, and reserved bytes against the model. */
static void check_step(const char *name, const struct va_host *vh, uint64_t i, uint64_t model)
{
	struct va_stats st;
	CHECK(vh->ops->check(vh->st), "%s: %s: check after op %llu", name, vh->ops->name,
	      (unsigned long long)i);
	vh->ops->stats(vh->st, &st);
	CHECK(st.reserved_bytes == model && st.reserved_bytes + st.free_bytes == WINDOW,
	      "%s: %s: op %llu: reserved %llu, model %llu", name, vh->ops->name,
	      (unsigned long long)i, (unsigned long long)st.reserved_bytes,
	      (unsigned long long)model);
}

static void replay_checked(const char *name, const struct trace *t, const struct va_ops *ops)
{
	struct va_host vh;
	CHECK(va_host_init(&vh, ops, VA_RUN_BASE, WINDOW) == MM_OK, "%s: init", ops->name);
	struct span *sp = calloc(t->h.nids + 1, sizeof(*sp));
	void *tree = NULL;
	uint64_t model = 0;
	for (uint64_t i = 0; i < t->h.nops; i++) {
		const struct trace_op *o = &t->ops[i];
		struct span *s = &sp[o->id];
		if (o->op == TOP_FREE) {
			CHECK(tdelete(s, &tree, cmp_span), "%s: live span lost", name);
			ops->free(vh.st, 0, s->lo, s->hi - s->lo);
			model -= charge(ops, s->hi - s->lo);
			*s = (struct span){0, 0};
		} else {
			alloc_checked(name, &vh, o, i, s, &tree);
			model += charge(ops, o->size);
		}
		check_step(name, &vh, i, model);
	}
	for (uint64_t id = 0; id < t->h.nids; id++)
		if (sp[id].hi)
			ops->free(vh.st, 0, sp[id].lo, sp[id].hi - sp[id].lo);
	struct va_stats st;
	ops->stats(vh.st, &st);
	CHECK(ops->check(vh.st) && st.reserved_bytes == 0 && st.free_ranges == 1,
	      "%s: %s: after release: reserved %llu, %llu free ranges", name, ops->name,
	      (unsigned long long)st.reserved_bytes, (unsigned long long)st.free_ranges);
	tdestroy(tree, no_free);
	free(sp);
	va_host_fini(&vh);
}

static void run_all(const char *name, const struct trace *t)
{
	for (int i = 0; i < VA_RUN_NALL; i++)
		if (va_run_strategies[i] != &va_bitmap_64k_ops)
			replay_checked(name, t, va_run_strategies[i]);
	printf("%s: %llu ops on bitmap, btree, btree-bare, freelist, btree-best, "
	       "btree-bare-best: ok\n", name,
	       (unsigned long long)t->h.nops);
}

int main(void)
{
	uint64_t seed = test_seed("va_trace_test", 1);
	struct gen_params p = {seed, 1, 3000, 64, 4096, 256ull << 20};
	struct trace_op *ops;
	struct trace t;
	CHECK(gen_host_run(GEN_VA_CHURN, &p, &ops, &t) == 0, "gen");
	run_all("mix(4 KiB..256 MiB)", &t);
	free(ops);
	const char *s = getenv("MTB_SHARED");
	char dir[4096], err[1024];
	snprintf(dir, sizeof(dir), "%s/traces/vm", s ? s : "../shared");
	DIR *d = opendir(dir);
	if (!d) {
		printf("va_trace_test: no shared traces at %s: only the mix ran\n", dir);
		return 0;
	}
	for (struct dirent *e; (e = readdir(d));) {
		size_t l = strlen(e->d_name);
		if (l < 4 || strcmp(e->d_name + l - 4, ".vmt"))
			continue;
		char path[8192];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct vmt_loaded v;
		CHECK(vmt_load(path, false, &v, err, sizeof(err)) == 0, "%s", err);
		run_all(e->d_name, &v.tl.t);
		vmt_loaded_free(&v);
	}
	closedir(d);
	printf("va_trace_test: ok\n");
	return 0;
}
