/* frame_panic_test.c: misuse of a frame allocator ends in a clear panic (MM_DEBUG
 * build): double free of small and large blocks, freeing a frame that was never
 * allocated (free, or inside a hole / reserved range), a misaligned free. */
#include "frame_model.h"

struct misuse {
	const struct frame_ops *ops;
	struct frame_inst fi;
	unsigned order;
	int kind; /* 0 double free, 1 never allocated, 2 in a hole, 3 misaligned */
};

static void do_misuse(void *arg)
{
	struct misuse *m = arg;
	const struct frame_ops *ops = m->ops;
	uint64_t pfn, other;
	CHECK(ops->alloc(m->fi.st, 0, m->order, &pfn) == MM_OK, "alloc");
	CHECK(ops->alloc(m->fi.st, 1, 0, &other) == MM_OK, "alloc");
	switch (m->kind) {
	case 0:
		ops->free(m->fi.st, 0, pfn, m->order);
		ops->free(m->fi.st, 1, pfn, m->order);
		break;
	case 1: /* a free block next to the allocated one */
		ops->free(m->fi.st, 0, pfn + (2ull << m->order), m->order);
		break;
	case 2: /* the firmware range [0, 1 MiB) */
		ops->free(m->fi.st, 0, 0, m->order);
		break;
	default:
		ops->free(m->fi.st, 0, pfn + 1, m->order);
		break;
	}
}

int main(void)
{
	if (!MM_DEBUG)
		test_skip("needs an MM_DEBUG build");
	struct mem_map map = frame_map_holes(64);
	const struct frame_ops *all[] = {&frame_buddy_ops, &frame_freelist_ops};
	static const char *needle[] = {"double free", "never allocated", "outside usable memory",
				       "misaligned"};
	int n = 0;
	for (int s = 0; s < 2; s++) {
		for (int kind = 0; kind < 4; kind++) {
			unsigned orders[] = {0, 3, 9, 10};
			for (int o = 0; o < 4; o++) {
				struct misuse m = {.ops = all[s], .order = orders[o], .kind = kind};
				if (kind == 3 && orders[o] == 0)
					continue;
				frame_inst_init(&m.fi, all[s], &map, 2);
				CHECK(expect_panic(do_misuse, &m, needle[kind]),
				      "%s: misuse %d order %u not caught", all[s]->name, kind,
				      orders[o]);
				frame_inst_fini(&m.fi);
				n++;
			}
		}
	}
	printf("frame_panic_test: %d misuses caught\n", n);
	return 0;
}
