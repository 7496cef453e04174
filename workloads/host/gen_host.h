/* gen_host.h: a synthetic generator (workloads/core/gen.h) run into malloc'd memory,
 * as the host tools and tests need it: the op array is the caller's, the scratch is
 * gen_run's own and freed here.
 */
#ifndef WL_GEN_HOST_H
#define WL_GEN_HOST_H

#include "../core/gen.h"

/* Runs generator k with p into *ops (malloc'd, max(p->nops, 1) ops; the caller frees
 * it, also on failure, when not NULL) and describes it in *t (t->ops == *ops).
 * 0, MM_ENOMEM (-12) when memory ran out, or gen_run's -22 on bad parameters. */
int gen_host_run(enum gen_kind k, const struct gen_params *p, struct trace_op **ops,
		 struct trace *t);

#endif
