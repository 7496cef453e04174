/* heap_bench_job.c: what every heap_bench workload thread shares, below the workloads
 * (heap_bench_wl.c, heap_bench_larson.c): the clock, the harness's own memory, and a
 * job's marks and stop (contracts in heap_bench_wl.h).
 *
 * A job takes its warm-up mark (ops, time, stand-in ns) the first time hb_go_on sees the
 * warm-up deadline or a stop, and its end mark the first time it sees the end or a stop;
 * afterwards hb_go_on stays false. Invariant: ops_w <= ops_e and t_w <= t_e once done.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <time.h>

#include "heap_bench_wl.h"
#include "../host/hostmem.h"

double hb_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void *hb_harness_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

bool hb_go_on(struct job *j)
{
	struct hb_shared *sh = j->sh;
	if (j->done)
		return false;
	double t = hb_now_s();
	if (!j->warm_done && (t >= sh->warm_end || __atomic_load_n(&sh->stop, __ATOMIC_RELAXED))) {
		j->warm_done = true;
		j->ops_w = j->ops;
		j->t_w = t;
		j->sd_w = hostmem_standin_ns();
	}
	if (t < sh->end && !__atomic_load_n(&sh->stop, __ATOMIC_RELAXED))
		return true;
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
	j->done = true;
	j->ops_e = j->ops;
	j->t_e = t;
	j->sd_e = hostmem_standin_ns();
	return false;
}

bool hb_fail(struct job *j)
{
	__atomic_store_n(&j->sh->failed, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&j->sh->stop, 1, __ATOMIC_RELAXED);
	return false;
}
