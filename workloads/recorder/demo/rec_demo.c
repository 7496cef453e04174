/* rec_demo.c: a program for recorder_test.sh with known, distinctive allocations:
 * every allocation kind, 4 threads whose blocks main frees (cross-thread), a 10 MiB
 * block (peak live), a fork whose child frees an inherited block and execs
 * /bin/true, and with argument "crash" an abort() right after one more allocation
 * ("valgrind": valloc instead of pvalloc, which valgrind refuses). With "kill": a
 * thread allocates 10 blocks of 5555 bytes and waits forever, then main makes
 * 100,000 malloc/free pairs and SIGKILLs itself (a recorder loses its unwritten
 * buffers, the waiting thread's among them). */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Keep the compiler from eliding malloc/free pairs. */
static void *volatile sink;
static void *volatile keep[8];

static int parked;

static void *parker(void *arg)
{
	for (int i = 0; i < 10; i++)
		keep[i % 8] = malloc(5555);
	__atomic_store_n(&parked, 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
	return NULL;
}

static void die_by_kill(void)
{
	pthread_t t;
	pthread_create(&t, NULL, parker, NULL);
	while (!__atomic_load_n(&parked, __ATOMIC_ACQUIRE))
		sched_yield();
	for (int i = 0; i < 100000; i++) {
		sink = malloc(32 + i % 64);
		free(sink);
	}
	kill(getpid(), SIGKILL);
}

static void *worker(void *arg)
{
	sink = malloc(4343);
	free(sink);
	return malloc(4242);
}

int main(int argc, char **argv)
{
	char *marker = malloc(111111);
	void *c = calloc(3, 33333), *m = memalign(64, 22222), *pm, *aa, *v, *pv;
	if (posix_memalign(&pm, 128, 22223))
		return 1;
	aa = aligned_alloc(256, 22224);
	v = valloc(22225);
	bool vg = argc > 1 && !strcmp(argv[1], "valgrind"); /* valgrind aborts on pvalloc */
	pv = vg ? valloc(22226) : pvalloc(22226);
	void *r = realloc(NULL, 4444);
	r = realloc(r, 0);
	sink = malloc(10 << 20);
	memset(sink, 1, 10 << 20);
	free(sink);
	pthread_t t[4];
	void *res[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &res[i]);
		free(res[i]);
	}
	marker = realloc(marker, 211111);
	pid_t pid = fork();
	if (pid == 0) {
		sink = malloc(777777);
		free(sink);
		free(marker); /* inherited from the parent */
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	keep[0] = c, keep[1] = m, keep[2] = aa, keep[3] = pv, keep[4] = v;
	if (argc > 1 && !strcmp(argv[1], "kill"))
		die_by_kill();
	if (argc > 1 && !strcmp(argv[1], "crash")) {
		sink = malloc(999999);
		abort();
	}
	free(c), free(m), free(pm), free(aa), free(v), free(pv), free(marker), free(r);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
