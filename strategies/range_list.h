/* range_list.h: a sorted list of free ranges with 16 inline slots that spills
 * into storage from a heap hook (strategies/range_list.c). The engine of
 * Hermit's free lists: frame_freelist.c (frames) and va_freelist.c (4 KiB pages).
 *
 * Follows hermit-os/kernel's FreeList (the free-list crate: a PageList over
 * SmallVec<[PageRange; 16]>): ranges [start, end) sorted by start. The 17th
 * range moves the list to the heap, 32 slots; a full heap array is replaced by
 * one twice its size (64, 128, ...): new array from the heap, ranges copied, old
 * array freed to the heap (SmallVec grows to the next power of two, the global
 * allocator realloc). Never shrinks: SmallVec keeps its capacity on remove and
 * the free list never calls shrink_to_fit, so a list that spilled stays on the
 * heap at its high-water capacity.
 *
 * The heap is a hook (struct rl_heap), attached once with rl_set_heap. Until
 * then (boot: no heap exists yet) the list has its 16 inline slots only. Growth
 * calls the hook with the caller's cpu while the caller holds its lock, as
 * Hermit calls the global allocator under the free list's spinlock.
 *
 * Growth fails when no heap is attached, the caller has no cpu (RL_NO_CPU), or
 * the heap returns NULL (out of memory, or because it needed this same list: see
 * re-entry). Then, where Hermit panics (alloc error), this list:
 *   takes (first fit, take) that would split a range: MM_ENOMEM, list unchanged;
 *   puts that need a new slot: drop the range and add its units to `lost`.
 * So at any quiescent point, for the units a list was given:
 *   sum (free) + lost + units its callers hold == units given
 *
 * Locking: one spinlock per list (rl_lock / rl_unlock), taken by the free list
 * around every operation, so growth calls the heap with it held.
 * Re-entry: while the list calls its heap, heap_cpu == cpu + 1. A heap that
 * needs memory from this very list (a slab heap taking frames) calls back into
 * it on the same cpu; with the spinlock held that is a self-deadlock in Hermit.
 * Callers ask rl_reentered(l, cpu) before rl_lock; true means the call is nested
 * in the list's own heap call: fail it without the lock (alloc: MM_ENOMEM;
 * free: rl_lose). Counted in `reentries`. This relies on cpu naming the caller's
 * execution context: no other thread passes the cpu of a caller that is inside
 * the list (callers without one pass RL_NO_CPU). With MM_DEBUG, rl_lock also
 * records the holder (cpu + 1) and panics when the holder's cpu asks again:
 * a re-entry rl_reentered missed, or that contract broken; never a silent hang.
 *
 * Invariants (rl_check): v[i].start < v[i].end < v[i+1].start (sorted, non-empty,
 * merged: neighbours never touch); sum(end - start) == sum; n <= cap;
 * v == inl <=> spill_allocs == 0; cap == RL_INLINE << spill_allocs.
 * Every call but rl_lock, rl_reentered and rl_lose needs the lock (or quiescence).
 */
#ifndef MM_RANGE_LIST_H
#define MM_RANGE_LIST_H

#include "mm_common.h"
#include "sync.h"

#define RL_INLINE  16u
#define RL_CAP_MAX (1u << 30) /* ranges; growth past this fails */
#define RL_NO_CPU  (~0u)      /* a caller without a cpu: never grows */

/* Where a list's storage beyond the inline slots comes from. alloc returns bytes
 * (8-byte aligned) or NULL; free takes back what alloc gave, with its size. */
struct rl_heap {
	void *ctx;
	void *(*alloc)(void *ctx, unsigned cpu, size_t bytes);
	void (*free)(void *ctx, unsigned cpu, void *p, size_t bytes);
};

struct rl_range {
	uint64_t start, end; /* units (frames or pages) */
};

struct range_list {
	struct spinlock lock;
	uint32_t holder;       /* MM_DEBUG: cpu + 1 of the lock holder, 0 if none (atomic) */
	uint32_t n, cap;       /* ranges in use, capacity of v */
	struct rl_range *v;    /* inl, or heap storage of cap ranges */
	struct rl_heap heap;   /* alloc == NULL: none attached yet */
	uint32_t max_n;	       /* most ranges ever held */
	uint32_t heap_cpu;     /* cpu + 1 while calling the heap, else 0 (atomic) */
	uint64_t sum;	       /* units in all ranges */
	uint64_t spill_allocs; /* heap allocations made for v */
	uint64_t reentries;    /* calls refused by rl_reentered (atomic) */
	uint64_t lost;	       /* units dropped by puts that found no slot (atomic) */
	struct rl_range inl[RL_INLINE];
};

/* An empty list on its inline slots. It points into itself: do not move it. */
void rl_init(struct range_list *l);
/* Takes the list's lock for cpu (RL_NO_CPU: a caller without one). With MM_DEBUG,
 * panics if cpu holds it already (instead of spinning forever). */
void rl_lock(struct range_list *l, unsigned cpu);
void rl_unlock(struct range_list *l);
/* Attaches the heap (copied); quiescent, while the list is still inline. */
void rl_set_heap(struct range_list *l, const struct rl_heap *h);
/* True (and counted) if cpu is inside this list's heap call: the caller must not
 * take its lock. False for RL_NO_CPU. Safe without the lock. */
bool rl_reentered(struct range_list *l, unsigned cpu);
/* Counts len units dropped by a free the list could not take; safe without the lock. */
void rl_lose(struct range_list *l, uint64_t len);
/* Takes the first range with an align-aligned block of len units (align a power
 * of two, >= 1) into *start; 0, or MM_ENOMEM if none fits or the first fit needs
 * a slot that growth cannot give. */
int rl_first_fit(struct range_list *l, unsigned cpu, uint64_t len, uint64_t align, uint64_t *start);
/* Takes exactly [s, s+len); 0, MM_EBUSY if not all of it is free, MM_ENOMEM if
 * splitting a range needs a slot that growth cannot give (list unchanged). */
int rl_take(struct range_list *l, unsigned cpu, uint64_t s, uint64_t len);
/* Returns [s, s+len) (len > 0), merging with neighbours; 0, MM_EBUSY (list
 * unchanged) if any of it is already free, MM_ENOMEM if it needed a slot growth
 * could not give: then it was dropped and counted in lost. */
int rl_put(struct range_list *l, unsigned cpu, uint64_t s, uint64_t len);
/* Panics with a message on a broken invariant; true otherwise. */
bool rl_check(const struct range_list *l);
/* Bytes of heap storage in use (0 while inline). */
uint64_t rl_meta_bytes(const struct range_list *l);

#endif
