/* c2c.c: the cost of moving a cache line between two CPUs, measured when a
 * multi-threaded figure is taken, so the figure can say how dear sharing was then.
 *
 * Two threads pinned to CPUs a and b pass a counter back and forth on one 64-byte
 * line: a stores 2i + 1 and waits for 2i + 2, b waits for 2i + 1 and stores 2i + 2.
 * Each round trip moves the line twice; the result is the mean over C2C_ITERS trips
 * (cli_mono_ns around the whole loop, after both threads are pinned and met).
 * On a virtual machine the hypervisor places the vCPUs, and their distance (the same
 * core complex or not) can change between runs minutes apart: on the 2-core
 * development VM a round trip took either about 85-125 ns or about 390-450 ns (up to
 * ~800), switching every few minutes, and the B+-tree that two CPUs write in
 * va_bench paid for sharing 0.9-1.2x (near) or 1.1-2.1x at 10,000 live ranges and
 * 1.5-2.8x at 100,000 (far) over its split ceiling, one instance per thread.
 */
#define _GNU_SOURCE
#include "c2c.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "cli_util.h"

#define C2C_ITERS 20000u /* round trips: ~2-16 ms at 85-800 ns each */

struct c2c {
	_Alignas(64) uint64_t line; /* the line that moves, alone on it */
	char pad[56];
	unsigned cpu, iters;
	int ok; /* the partner pinned itself (1), or could not (-1); 0 until then */
};

static int pin(unsigned cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return pthread_setaffinity_np(pthread_self(), sizeof(s), &s) ? -1 : 1;
}

static void *partner(void *arg)
{
	struct c2c *c = arg;
	__atomic_store_n(&c->ok, pin(c->cpu), __ATOMIC_RELEASE);
	if (c->ok < 0)
		return NULL;
	for (uint64_t i = 0; i < c->iters; i++) {
		while (__atomic_load_n(&c->line, __ATOMIC_ACQUIRE) != 2 * i + 1)
			;
		__atomic_store_n(&c->line, 2 * i + 2, __ATOMIC_RELEASE);
	}
	return NULL;
}

double c2c_roundtrip_ns(unsigned a, unsigned b)
{
	struct c2c c = {.cpu = b, .iters = C2C_ITERS};
	pthread_t th;
	cpu_set_t old;
	if (pthread_getaffinity_np(pthread_self(), sizeof(old), &old))
		return -1;
	int me = pin(a);
	if (me < 0 || pthread_create(&th, NULL, partner, &c)) {
		pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
		return -1;
	}
	int ok;
	while (!(ok = __atomic_load_n(&c.ok, __ATOMIC_ACQUIRE)))
		;
	uint64_t t0 = cli_mono_ns();
	for (uint64_t i = 0; i < C2C_ITERS && ok > 0; i++) {
		__atomic_store_n(&c.line, 2 * i + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&c.line, __ATOMIC_ACQUIRE) != 2 * i + 2)
			;
	}
	uint64_t dt = cli_mono_ns() - t0;
	pthread_join(th, NULL);
	pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
	return ok > 0 ? (double)dt / C2C_ITERS : -1;
}
