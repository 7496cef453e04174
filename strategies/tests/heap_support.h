/* heap_support.h: test-support allocators and a hosted machine for heap tests
 * and the heap benchmark (strategies/tests/simple_alloc.c, faulty_frame.c,
 * heap_fixture.c).
 *
 * The simple allocators are reference-model quality (obviously correct, one
 * mutex, linear scans), not fast: they stand in for the real frame and VA
 * strategies, and heap tests take any (frame_ops, va_ops) pair so the real ones
 * can be plugged in later.
 */
#ifndef HEAP_SUPPORT_H
#define HEAP_SUPPORT_H

#include <pthread.h>

#include "../../workloads/host/hostmem.h"
#include "../../workloads/host/spill_heap.h"
#include "../heap.h"

/* A locked first-fit bitmap frame allocator (any map, any order). */
extern const struct frame_ops test_frame_simple_ops;
/* A locked first-fit VA allocator over a sorted array of free ranges; granule 4 KiB. */
extern const struct va_ops test_va_simple_ops;

/* Fault injection: a frame_ops wrapper that passes calls to an inner allocator
 * and refuses (MM_ENOMEM) once `budget` frames have been handed out in total
 * (frames freed give budget back). Set it up with faulty_frame_wrap, then hand
 * &faulty_frame_ops and the struct faulty_frame as the frame allocator. */
struct faulty_frame {
	const struct frame_ops *inner;
	void *inner_st;
	int64_t budget;	    /* frames that may still be handed out (atomic) */
	uint64_t refusals;  /* allocations refused so far (atomic) */
	unsigned max_order; /* orders above it are refused: fragmented memory */
};
extern const struct frame_ops faulty_frame_ops;
void faulty_frame_wrap(struct faulty_frame *f, const struct frame_ops *inner, void *inner_st,
		       int64_t budget);
#define FAULTY_UNLIMITED (INT64_MAX / 4)
/* Sets the remaining budget (frames); FAULTY_UNLIMITED means no limit. */
void faulty_frame_set_budget(struct faulty_frame *f, int64_t budget);
/* Refuses blocks above order max (as fully fragmented memory would); 63: none. */
void faulty_frame_set_max_order(struct faulty_frame *f, unsigned max);

/* A whole hosted machine: hostmem + a frame allocator (behind the fault
 * injector, unlimited by default) + a VA allocator over the Managed window +
 * an env ready for a heap. Free lists spill into `spill` (malloc), not into the
 * heap under test: give them that heap with set_heap (while still inline) to
 * build the guest's chain. */
struct heap_fixture {
	struct hostmem hm;
	const struct frame_ops *fops;
	void *frame_st, *frame_meta;
	struct faulty_frame faulty;
	const struct va_ops *vops;
	void *va_st, *va_meta;
	struct frame_page_source fps;
	struct heap_env env;
	const struct heap_ops *hops;
	void *heap_st;
	struct spill_heap spill;
};

/* Builds the machine and initialises heap `hops` in it; 0, or a negative code
 * with a message on stderr. phys/va sizes in bytes; env fields from the args. */
int heap_fixture_init(struct heap_fixture *fx, const struct frame_ops *fops,
		      const struct va_ops *vops, const struct heap_ops *hops, unsigned ncpus,
		      uint64_t phys_bytes, uint64_t va_bytes, uint64_t fixed_heap_bytes,
		      uint32_t keep_empty_chunks);
/* Starts over on the same machine: fresh frame and VA allocator state (all
 * memory free again; stale host mappings are simply mapped over) and a fresh
 * heap with these env values; 0 or the heap's init error. */
int heap_fixture_reinit(struct heap_fixture *fx, uint64_t fixed_heap_bytes,
			uint32_t keep_empty_chunks);
/* Frees the host resources (the heap's memory goes with the machine). */
void heap_fixture_fini(struct heap_fixture *fx);
/* Frames handed out by the frame allocator right now. */
uint64_t heap_fixture_frames_used(const struct heap_fixture *fx);

/* Strategy tables by name ("simple" for the test-support ones); NULL if unknown
 * (or not merged yet: the VA strategies). */
const struct frame_ops *heap_fixture_frame_ops(const char *name);
const struct va_ops *heap_fixture_va_ops(const char *name);
const struct heap_ops *heap_fixture_heap_ops(const char *name);
enum { HEAP_FX_FRAME, HEAP_FX_VA, HEAP_FX_HEAP };
/* Names of the tables of one layer that are linked in, real strategies first;
 * the count (at most cap). */
unsigned heap_fixture_list(int layer, const char **names, unsigned cap);


/* ---- reference model helpers (strategies/tests/heap_ref.c) ---------------- */

/* Fills p[0..n) with the pattern of tag; heap_ref_verify returns the first
 * offset < n that differs, or n when all match. */
void heap_ref_fill(void *p, size_t n, uint64_t tag);
size_t heap_ref_verify(const void *p, size_t n, uint64_t tag);

/* A set of disjoint intervals [lo, hi) (sorted array): proves no two live
 * objects overlap. */
struct heap_ref_set {
	size_t n, cap;
	uint64_t (*iv)[2];
};
void heap_ref_set_init(struct heap_ref_set *s, size_t cap);
void heap_ref_set_fini(struct heap_ref_set *s);
/* Inserts [lo, hi); false (set unchanged) if it overlaps a member. */
bool heap_ref_set_insert(struct heap_ref_set *s, uint64_t lo, uint64_t hi);
/* Removes the member starting at lo; false if there is none. */
bool heap_ref_set_remove(struct heap_ref_set *s, uint64_t lo);

#endif
