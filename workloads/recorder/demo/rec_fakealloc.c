/* rec_fakealloc.c: libfakealloc.so, the malloc under libmtbrec.so in recorder_test's
 * reuse-order check (LD_PRELOAD="libmtbrec.so libfakealloc.so": the recorder's
 * "real" functions are these).
 *
 * Blocks come from one mmap'd region (a 16-byte header holds the size); free does
 * nothing, except for the first two blocks of size 777 released (by free, or by a
 * realloc that moves them): each is handed to the thread waiting in malloc(779),
 * and the release returns only after that thread called malloc(778), i.e. after its
 * malloc(779) returned the block and was recorded. So a block is reused before its
 * release returns, deterministically: a recorder that numbers a release after the
 * real call numbers the reuse first (rec_order.c drives it).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define REGION (1ull << 30)
#define EXPORT __attribute__((visibility("default")))

static char *base;
static uint64_t used;
static int handoffs_left = 2, wanted, done;
static void *slot;

static void *region_alloc(size_t n, size_t align)
{
	if (!__atomic_load_n(&base, __ATOMIC_ACQUIRE)) {
		char *b = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		char *none = NULL;
		if (b != MAP_FAILED && !__atomic_compare_exchange_n(
					   &base, &none, b, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			munmap(b, REGION);
	}
	align = align < 16 ? 16 : align;
	uint64_t need = (n + 16 + align + 15) & ~15ull;
	uint64_t off = __atomic_fetch_add(&used, need, __ATOMIC_RELAXED);
	if (!base || off + need > REGION)
		return NULL;
	uintptr_t p = ((uintptr_t)base + off + 16 + align - 1) & ~(uintptr_t)(align - 1);
	((uint64_t *)p)[-1] = n;
	return (void *)p;
}

static uint64_t size_of(void *p)
{
	return (char *)p > base && (char *)p < base + REGION ? ((uint64_t *)p)[-1] : 0;
}

static void wait_for(int *flag)
{
	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
		sched_yield();
}

/* Hands p to the thread in malloc(779) if p is one of the blocks to hand off. */
static void release(void *p)
{
	if (size_of(p) != 777 || __atomic_sub_fetch(&handoffs_left, 1, __ATOMIC_ACQ_REL) < 0)
		return;
	wait_for(&wanted);
	__atomic_store_n(&wanted, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&slot, p, __ATOMIC_RELEASE);
	wait_for(&done);
	__atomic_store_n(&done, 0, __ATOMIC_RELAXED);
}

EXPORT void *malloc(size_t n)
{
	if (n == 778)
		__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	if (n != 779)
		return region_alloc(n, 16);
	__atomic_store_n(&wanted, 1, __ATOMIC_RELEASE);
	void *p;
	while (!(p = __atomic_exchange_n(&slot, NULL, __ATOMIC_ACQ_REL)))
		sched_yield();
	return p;
}

EXPORT void free(void *p)
{
	release(p);
}

EXPORT void *calloc(size_t a, size_t b)
{
	return region_alloc(a * b, 16); /* fresh mmap'd memory is zero */
}

EXPORT void *realloc(void *p, size_t n)
{
	void *q = malloc(n);
	uint64_t old = p ? size_of(p) : 0;
	if (q && old)
		memcpy(q, p, old < n ? old : n);
	if (p)
		release(p);
	return q;
}

EXPORT void *memalign(size_t al, size_t n)
{
	return region_alloc(n, al);
}

EXPORT int posix_memalign(void **out, size_t al, size_t n)
{
	return (*out = region_alloc(n, al)) ? 0 : 12;
}

EXPORT void *aligned_alloc(size_t al, size_t n)
{
	return region_alloc(n, al);
}

EXPORT void *valloc(size_t n)
{
	return region_alloc(n, 4096);
}

EXPORT void *pvalloc(size_t n)
{
	return region_alloc((n + 4095) & ~4095ull, 4096);
}
