/* gen_host.c: generators into malloc'd op arrays (contract in gen_host.h). The scratch
 * is gen_scratch_words() + 1 words, freed before returning; *ops is never freed here.
 */
#include "gen_host.h"

#include <stdlib.h>

#include "../../strategies/mm_common.h"

int gen_host_run(enum gen_kind k, const struct gen_params *p, struct trace_op **ops,
		 struct trace *t)
{
	*ops = malloc((p->nops ? p->nops : 1) * sizeof(**ops));
	uint64_t *scratch = malloc(gen_scratch_words(k, p) * 8 + 8);
	int rc = *ops && scratch ? gen_run(k, p, *ops, scratch, t) : MM_ENOMEM;
	free(scratch);
	return rc;
}
