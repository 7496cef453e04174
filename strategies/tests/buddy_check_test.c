/* buddy_check_test.c: the bitmap buddy's invariant walk (frame_buddy_check.c,
 * buddy_bitmap.h bb_check), which skips empty nodes to stay cheap over a large space
 * (va_replay --check over 64 TiB), still catches every kind of broken state, also in
 * a node nobody touched. Each case breaks one invariant in a copy of a live state (in
 * a forked child) and expects the check to panic with its message:
 * va_bitmap over 64 TiB (2^16 areas, nearly all empty) with ranges allocated at its
 * start and the corruption in its last area or chunk; and the frame buddy over a
 * map with holes, for a free block outside usable memory. */
#include "frame_model.h"

#include "../frame_buddy_impl.h"
#include "../va_bitmap.h"
#include "../../workloads/host/va_host.h"

struct corrupt {
	const struct frame_ops *fops; /* frame buddy case: instance fi */
	struct frame_inst fi;
	struct va_host *vh; /* va_bitmap case */
	int kind;
};

enum { C_BIT, C_COUNT, C_BIT1023, C_OVERLAP, C_UNCOALESCED, C_HINT, C_SUMMARY, C_UNUSABLE, C_N };

static const char *const needle[C_N] = {"area free count differs",    "area free count differs",
					"unused bit 1023 set",	      "overlapping free blocks",
					"free buddies not coalesced", "stale chunk order hint",
					"summary bit differs",	      "outside usable memory"};

/* Breaks the last area (or chunk) of b as kind says. */
static void break_state(struct buddy *b, int kind)
{
	uint32_t ai = b->nareas - 1;
	struct buddy_area *a = &b->areas[ai];
	switch (kind) {
	case C_BIT:
		bb_set(a->w, 0, 5);
		break;
	case C_COUNT:
		a->free = 1;
		break;
	case C_BIT1023:
		a->w[15] |= 1ull << 63;
		break;
	case C_OVERLAP:
		bb_set(a->w, 0, 0), bb_set(a->w, 1, 0), a->free = 3;
		break;
	case C_UNCOALESCED:
		bb_set(a->w, 0, 0), bb_set(a->w, 0, 1), a->free = 2;
		break;
	case C_HINT:
		b->chunks[b->nchunks - 1].orders ^= 1u << 3;
		break;
	case C_SUMMARY:
		b->avail[ai / 64] |= 1ull << (ai % 64);
		break;
	}
}

static void do_corrupt(void *arg)
{
	struct corrupt *c = arg;
	if (c->kind == C_UNUSABLE) { /* frame 0 (firmware) as free, counted: only unusable */
		struct buddy *b = c->fi.st;
		CHECK(!bb_any_free(b->areas[0].w, 0, 0) && b->areas[0].free, "area 0 layout");
		bb_set(b->areas[0].w, 0, 0);
		b->areas[0].free++;
		c->fops->check(c->fi.st);
		return;
	}
	break_state(c->vh->meta, c->kind); /* va_bitmap: the buddy's state opens its meta */
	c->vh->ops->check(c->vh->st);
}

/* va_bitmap over the default 64 TiB window with a few ranges at its start. */
static void bitmap_cases(void)
{
	static struct va_host vh;
	CHECK(va_host_init(&vh, &va_bitmap_ops, VA_RUN_BASE, VA_RUN_SIZE) == MM_OK, "init");
	struct buddy *b = vh.meta;
	CHECK(b->nareas == VA_RUN_SIZE >> VA_BITMAP_GRANULE_SHIFT >> AREA_ORDER,
	      "layout: %u areas", b->nareas);
	uint64_t addr[64];
	for (unsigned i = 0; i < 64; i++)
		CHECK(va_bitmap_ops.alloc(vh.st, 0, (i % 7 + 1) << 20, 0, &addr[i]) == MM_OK,
		      "alloc");
	for (unsigned i = 0; i < 64; i += 3)
		va_bitmap_ops.free(vh.st, 0, addr[i], (i % 7 + 1) << 20);
	CHECK(va_bitmap_ops.check(vh.st), "the intact state fails its check");
	CHECK(b->areas[b->nareas - 1].free == 0 && b->areas[b->nareas - 1].w[0] == 0,
	      "the last area is not empty: the cases would not test an untouched node");
	for (int k = 0; k < C_UNUSABLE; k++) {
		struct corrupt c = {.vh = &vh, .kind = k};
		CHECK(expect_panic(do_corrupt, &c, needle[k]),
		      "va_bitmap: corruption %d not caught", k);
	}
	va_host_fini(&vh);
}

int main(void)
{
	bitmap_cases();
	struct mem_map map = frame_map_holes(64);
	struct corrupt c = {.fops = &frame_buddy_ops, .kind = C_UNUSABLE};
	frame_inst_init(&c.fi, &frame_buddy_ops, &map, 2);
	CHECK(frame_buddy_ops.check(c.fi.st), "the intact frame buddy fails its check");
	CHECK(expect_panic(do_corrupt, &c, needle[C_UNUSABLE]), "frame buddy: unusable free block");
	frame_inst_fini(&c.fi);
	printf("buddy_check_test: ok (%d corruptions caught)\n", C_N);
	return 0;
}
