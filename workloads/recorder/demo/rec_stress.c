/* rec_stress.c: 4 threads share 512 slots; each step takes a random slot's block
 * (atomic exchange) and frees or reallocs it, or fills an empty slot with a new
 * block, so blocks are freed and reused by other threads all the time. Recorded
 * with libmtbrec.so, the trace must still be valid in its one global order
 * (recorder_test.sh checks it with the strict reader). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define SLOTS 512
static void *slots[SLOTS];

static void *worker(void *arg)
{
	uint64_t x = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned s = (unsigned)(x % SLOTS);
		size_t size = 1 + (x >> 20) % 3000;
		void *p = __atomic_exchange_n(&slots[s], NULL, __ATOMIC_ACQ_REL);
		if (p && (x >> 40) % 2) {
			free(p);
			continue;
		}
		p = p ? realloc(p, size) : malloc(size);
		void *none = NULL;
		if (!__atomic_compare_exchange_n(&slots[s], &none, p, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			free(p);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[4];
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)(i + 1));
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < SLOTS; i++)
		free(slots[i]);
	return 0;
}
