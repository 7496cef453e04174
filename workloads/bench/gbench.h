/* gbench.h: a C API over Google Benchmark (gbench_shim.cc), so benchmarks of the C
 * strategies are plain C. A benchmark is a function run by each of `threads` threads;
 * setup runs on thread 0 before the threads enter their loop, teardown after a run; run()
 * must touch the shared state only from its first gb_keep_running() on. */
#ifndef GBENCH_H
#define GBENCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gb_state; /* wraps benchmark::State */

struct gb_bench {
	const char *name;
	void (*setup)(void *arg, int threads);	     /* may be NULL */
	void (*run)(struct gb_state *st, void *arg); /* loop while gb_keep_running() */
	void (*teardown)(void *arg);		     /* may be NULL */
	void *arg;
	int threads; /* >= 1 */
};

/* Registers b (copied); call before gb_main. */
void gb_register(const struct gb_bench *b);
/* True while the benchmark wants more iterations. */
int gb_keep_running(struct gb_state *st);
int gb_thread_index(const struct gb_state *st);
/* Sets a user counter shown next to the timing (summed over threads). */
void gb_counter(struct gb_state *st, const char *name, double value);
/* Marks the run as failed with a message (e.g. out of memory). */
void gb_skip_with_error(struct gb_state *st, const char *msg);
/* Runs all registered benchmarks; argv takes Google Benchmark's --benchmark_* flags.
 * Returns 0, 1 on an unknown flag, or 2 when --benchmark_filter matched no benchmark
 * (or is not a valid regex). */
int gb_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
