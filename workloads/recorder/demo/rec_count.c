/* rec_count.c: a program for recorder_test.sh that counts its own allocation calls.
 * Usage: rec_count N. Three threads each make N seeded steps over 64 private slots
 * (malloc, calloc, posix_memalign, realloc or free; every block freed at the end),
 * then main allocates and frees one BIG block, the program's peak of live bytes
 * (the threads never hold more than 3 x 64 x 4 KiB). Prints "calls=C big=BIG": C
 * counts every call that made a record (realloc of a live block to a non-zero size:
 * one). The same program with N = 0 makes the same calls of its own C library
 * (thread start-up, stdio), so the recordings differ by exactly C(N) - C(0) ops. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SLOTS 64
#define BIG   ((8u << 20) + 4097)

static long steps;
static uint64_t calls[3];

static void *worker(void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	uint64_t x = me * 0x9e3779b97f4a7c15ull + 7, n = 0;
	void *slot[SLOTS] = {0};
	for (long i = 0; i < steps; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned s = (unsigned)(x % SLOTS), kind = (unsigned)(x >> 20) % 5;
		size_t size = 1 + (x >> 32) % 4096;
		void *p = slot[s];
		if (p && kind < 2) {
			free(p), p = NULL;
		} else if (p) {
			p = realloc(p, size);
		} else if (kind == 0) {
			p = calloc(1, size);
		} else if (kind == 1 && posix_memalign(&p, 64, size)) {
			p = NULL;
		} else if (kind > 1) {
			p = malloc(size);
		}
		n += p || slot[s];
		slot[s] = p;
	}
	for (unsigned s = 0; s < SLOTS; s++)
		if (slot[s])
			free(slot[s]), n++;
	calls[me] = n;
	return NULL;
}

int main(int argc, char **argv)
{
	steps = argc > 1 ? atol(argv[1]) : 0;
	pthread_t t[3];
	for (uintptr_t i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	char *volatile big = malloc(BIG);
	big[BIG - 1] = 1;
	free(big);
	printf("calls=%llu big=%u\n", (unsigned long long)(calls[0] + calls[1] + calls[2] + 2),
	       BIG);
	return 0;
}
