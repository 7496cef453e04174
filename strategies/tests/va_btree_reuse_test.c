/* va_btree_reuse_test.c: an optimistic reader of the B+-tree VA allocator restarts
 * when the node it read is freed and reused: node versions never repeat, not even
 * across a node's lives (va_btree.h, Leis et al. 2019).
 *
 * A reader of the OLC protocol takes a node's version, reads the node, and later
 * validates by comparing the version word with the one it took. Here, after every
 * operation of a seeded alloc/free sequence on a small-fan-out tree (cap 4, so merges
 * free nodes to the tree-local free list and splits take them back), a reader takes
 * the version of every node in the tree, and every reader taken so far validates
 * against its node's version word now (the node in the tree or on the free list): a
 * reader whose node changed since, or left the tree (merged away) since, must fail. The
 * test also asserts that nodes were indeed freed and reused while readers held them.
 * Deterministic and single-threaded: the interleaving "reader reads, writers free
 * and reuse the node, reader validates" is played out step by step, no timing (a
 * threaded variant would need a hook to hold a reader between read and validation;
 * va_btree_mt_test covers the concurrent paths).
 */
#include "va_btree_fixture.h"

#define BASE  ((uint64_t)1 << 40)
#define PAGES 512u
#define STEPS 6000
#define STACK (4 * PAGES) /* tree walk: more than the nodes a tree of PAGES pages has */

/* One node slot: the versions readers took of it, and what was seen last. */
struct slot {
	const struct vbt_node *n;
	uint64_t *seen; /* versions taken by readers, in every life of the slot */
	size_t nseen, cap;
	uint64_t last;	/* version at the last observation in the tree */
	bool in_tree;	/* in the tree at the last observation */
	bool left;	/* left the tree since `last` was taken */
	bool mark;	/* reached by the current observation's walk */
	unsigned lives; /* times it entered the tree */
};

struct reuse {
	struct test_ps tps;
	struct va_btree *t;
	struct slot *slots;
	size_t nslots, cap;
	const struct vbt_node **stack;
	uint64_t reused;   /* nodes that re-entered the tree with readers holding them */
	uint64_t restarts; /* reader validations that failed, as they must */
};

static struct slot *slot_of(struct reuse *u, const struct vbt_node *n)
{
	for (size_t i = 0; i < u->nslots; i++)
		if (u->slots[i].n == n)
			return &u->slots[i];
	if (u->nslots == u->cap) {
		u->cap = u->cap ? 2 * u->cap : 64;
		u->slots = realloc(u->slots, u->cap * sizeof(*u->slots));
		CHECK(u->slots, "out of memory");
	}
	struct slot *s = &u->slots[u->nslots++];
	memset(s, 0, sizeof(*s));
	s->n = n;
	return s;
}

static bool seen(const struct slot *s, uint64_t v)
{
	for (size_t i = 0; i < s->nseen; i++)
		if (s->seen[i] == v)
			return true;
	return false;
}

static void take(struct slot *s, uint64_t v)
{
	if (seen(s, v))
		return;
	if (s->nseen == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->seen = realloc(s->seen, s->cap * sizeof(*s->seen));
		CHECK(s->seen, "out of memory");
	}
	s->seen[s->nseen++] = v;
}

/* Validation of every reader held on slot s against the version word v now: a reader
 * with version v passes, and it may only if the node is unchanged since it read it. */
static void validate_readers(struct reuse *u, struct slot *s, uint64_t v, int step,
			     const char *what)
{
	bool pass = seen(s, v);
	CHECK(!pass || (v == s->last && !s->left),
	      "step %d (%s): node %p was read at version %#" PRIx64 " by an optimistic reader; "
	      "since then it %s, yet its version word is %#" PRIx64 " again, so that reader "
	      "validates and does not restart (versions must never repeat: reset on reuse?)",
	      step, what, (const void *)s->n, v,
	      s->left ? "was freed (merged away) and reused" : "changed", v);
	u->restarts += s->nseen - pass;
}

/* One observation after an operation: readers validate against every slot, then take
 * the version of every node in the tree (quiescent: no node is locked). */
static void observe(struct reuse *u, int step, const char *what)
{
	size_t top = 0;
	for (uint32_t z = 0; z < u->t->nzones; z++)
		u->stack[top++] = atomic_load_acq(&u->t->zone[z].root);
	while (top) {
		const struct vbt_node *n = u->stack[--top];
		uint64_t v = atomic_load_acq(&n->version);
		CHECK(!(v & (VBT_LOCKED | VBT_OBSOLETE)),
		      "step %d: tree node %p has version %#" PRIx64, step, (const void *)n, v);
		struct slot *s = slot_of(u, n);
		validate_readers(u, s, v, step, what);
		if (!s->in_tree) {
			u->reused += s->lives && s->nseen;
			s->lives++;
		}
		s->in_tree = s->mark = true;
		take(s, v);
		s->last = v;
		s->left = false;
		if (n->level)
			for (uint32_t i = 0; i < n->count; i++) {
				CHECK(top < STACK, "tree walk overflow");
				u->stack[top++] = n->in.child[i];
			}
	}
	for (const struct vbt_node *n = u->t->free_nodes; n; n = n->next_free) {
		struct slot *s = slot_of(u, n);
		validate_readers(u, s, atomic_load_acq(&n->version), step, what);
	}
	for (size_t i = 0; i < u->nslots; i++) { /* slots not reached above left the tree */
		struct slot *s = &u->slots[i];
		if (s->mark) {
			s->mark = false;
		} else if (s->in_tree) {
			s->in_tree = false;
			s->left = true;
		}
	}
}

struct block {
	uint64_t addr, pages;
};

int main(void)
{
	struct rng r = {test_seed("va_btree_reuse_test", 20261215)};
	struct reuse u;
	memset(&u, 0, sizeof(u));
	tps_init(&u.tps, SIZE_MAX);
	u.t = vbt_new_one_zone(&u.tps, BASE, PAGES, 4, 4); /* deep enough on PAGES pages */
	u.stack = calloc(STACK, sizeof(*u.stack));
	struct block *held = calloc(PAGES, sizeof(*held));
	CHECK(u.stack && held, "out of memory");
	size_t nheld = 0;
	unsigned max_height = 0;
	observe(&u, 0, "init");
	for (int step = 1; step <= STEPS; step++) {
		/* Mostly allocate until 3/4 full, mostly free after; every 1500 steps a drain
		 * (free everything: merges down to one leaf), so the next splits reuse nodes. */
		bool drain = step % 1500 >= 1300;
		bool fill = !drain && rng_below(&r, 4 * PAGES) >= nheld * 4 / 3 + PAGES / 4;
		const char *what;
		if (fill) {
			uint64_t pages = 1 + rng_below(&r, 3), a = 0;
			int rc = va_btree_bare_ops.alloc(u.t, (unsigned)rng_below(&r, 3),
							 pages * PAGE_SIZE, 0, &a);
			CHECK(rc == MM_OK || rc == MM_ENOMEM, "step %d: alloc = %d", step, rc);
			if (rc != MM_OK)
				continue;
			held[nheld++] = (struct block){a, pages};
			what = "alloc";
		} else if (nheld) {
			size_t k = rng_below(&r, nheld);
			va_btree_bare_ops.free(u.t, (unsigned)rng_below(&r, 3), held[k].addr,
					       held[k].pages * PAGE_SIZE);
			held[k] = held[--nheld];
			what = "free";
		} else {
			continue;
		}
		CHECK(va_btree_bare_ops.check(u.t), "step %d: check", step);
		unsigned h = va_btree_height(u.t);
		max_height = h > max_height ? h : max_height;
		observe(&u, step, what);
	}
	printf("va_btree_reuse_test: height up to %u, %zu node slots, %" PRIu64
	       " nodes reused while readers held them, %" PRIu64 " reader validations failed\n",
	       max_height, u.nslots, u.reused, u.restarts);
	CHECK(max_height >= 3, "the tree stayed shallow (%u levels)", max_height);
	CHECK(u.reused >= 50,
	      "only %" PRIu64 " nodes were freed and reused while read: the test "
	      "does not exercise reuse",
	      u.reused);
	for (size_t i = 0; i < u.nslots; i++)
		free(u.slots[i].seen);
	free(u.slots);
	free(u.stack);
	free(held);
	free(u.t);
	tps_fini(&u.tps);
	printf("va_btree_reuse_test: ok\n");
	return 0;
}
