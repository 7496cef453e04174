/* testlib.h: the few helpers every hosted test uses (header only).
 *
 * A test program exits 0 when it passes, 77 when it is skipped (printing
 * "SKIP: reason"), anything else when it fails. scripts/run_tests.sh counts
 * them. Random sequences are seeded: MTB_SEED=<n> reproduces a run, and every
 * test prints the seed it used.
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_SKIP_CODE 77

#define CHECK(cond, ...)                                                                         \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                            \
			fprintf(stderr, "\n");                                                   \
			exit(1);                                                                 \
		}                                                                                \
	} while (0)

static inline _Noreturn void test_skip(const char *reason)
{
	printf("SKIP: %s\n", reason);
	exit(TEST_SKIP_CODE);
}

/* splitmix64: tiny, seedable, good enough for operation sequences. */
struct rng {
	uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

/* The seed for this run: $MTB_SEED or the given default; printed once. */
static inline uint64_t test_seed(const char *name, uint64_t dflt)
{
	const char *e = getenv("MTB_SEED");
	uint64_t seed = e ? strtoull(e, NULL, 0) : dflt;
	printf("%s: seed %" PRIu64 " (MTB_SEED=%" PRIu64 " reproduces)\n", name, seed, seed);
	return seed;
}

/* Runs fn(arg) in a child; passes if the child dies abnormally and its stderr
 * contains `needle`. Returns 1 on pass, 0 on fail (with a message). */
static inline int expect_panic(void (*fn)(void *), void *arg, const char *needle)
{
	int fds[2];
	if (pipe(fds) != 0)
		return 0;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		setenv("ASAN_OPTIONS", "abort_on_error=1", 1);
		fn(arg);
		_exit(0); /* no panic: the parent reports the failure */
	}
	close(fds[1]);
	char buf[4096];
	size_t n = 0;
	ssize_t k;
	while (n < sizeof(buf) - 1 && (k = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = 0;
	close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	int died = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (!died || !strstr(buf, needle)) {
		fprintf(stderr, "expected a panic containing \"%s\"; child %s, said: %s\n", needle,
			died ? "died" : "exited 0", buf);
		return 0;
	}
	return 1;
}

#endif
