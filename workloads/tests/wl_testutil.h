/* wl_testutil.h: helpers shared by the workloads tests (test support, hosted). */
#ifndef WL_TESTUTIL_H
#define WL_TESTUTIL_H

#include "../core/gen.h"
#include "../core/replay.h"
#include "malloc_heap.h"

/* What a trace leaves live at its end, and what malloc_heap charges for it. */
struct trace_end {
	uint64_t objects, bytes, charge;
};
void wl_trace_end(const struct trace *t, struct trace_end *out);

/* A generated trace (ops malloc'd; free with free(t->ops)). Fails the test on error. */
void wl_generate(enum gen_kind k, const struct gen_params *p, struct trace *t);

/* Replays t on a fresh malloc_heap with ncpus; parallel: one pthread per CPU.
 * fail_after: malloc_heap failure injection (0 = none). Checks the heap after every
 * op when check is set. Fills res; leftovers are released and the heap must end
 * empty (footprint 0). clock: clock_gettime-based when timed. */
void wl_replay(const struct trace *t, unsigned ncpus, bool parallel, bool check,
	       uint64_t fail_after, bool timed, struct replay_result *res);

/* Checks the exact final accounting of a replay without failures against the trace. */
void wl_check_accounting(const char *what, const struct trace *t,
			 const struct replay_result *res);

#endif
