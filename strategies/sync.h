/* sync.h: spinlocks, atomics and barriers for strategies, on the compiler's
 * __atomic builtins (freestanding; same code in the guest and under TSan).
 *
 * Invariant: a spinlock word is 0 when free and 1 when held.
 */
#ifndef MM_SYNC_H
#define MM_SYNC_H

#include <stdint.h>

struct spinlock {
	uint32_t locked;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__)
	__asm__ volatile("pause" ::: "memory");
#endif
}

static inline void spin_lock(struct spinlock *l)
{
	for (;;) {
		if (!__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
			return;
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			cpu_relax();
	}
}

static inline int spin_trylock(struct spinlock *l)
{
	return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#define atomic_load_acq(p)	 __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define atomic_load_rlx(p)	 __atomic_load_n((p), __ATOMIC_RELAXED)
#define atomic_store_rel(p, v)	 __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define atomic_store_rlx(p, v)	 __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define atomic_fetch_add_rlx(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define atomic_fetch_add_acqrel(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
/* Strong CAS; on failure *expected gets the current value. */
#define atomic_cas(p, expected, desired)                                                         \
	__atomic_compare_exchange_n((p), (expected), (desired), 0, __ATOMIC_ACQ_REL,             \
				    __ATOMIC_ACQUIRE)
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

#endif
