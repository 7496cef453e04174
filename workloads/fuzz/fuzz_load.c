/* fuzz_load: libFuzzer target for the whole loading path: format detection, any
 * parser, image building and validation (trace_load_mem), as `workloads/trace` runs
 * it. Byte 0 picks strict or lenient. Property: no crash or leak; a failure always
 * has a one-line message; a success is a valid trace. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_input_text(data, size);
	if (!text)
		return 0;
	struct trace_loaded lt;
	char err[1024] = "";
	if (trace_load_mem("fuzz", text, size - 1, data[0] & 1, &lt, err, sizeof(err)) == 0) {
		uint64_t *scratch = malloc(((uint64_t)lt.t.h.nids + 1) * 8);
		struct trace_err e;
		if (trace_validate(&lt.t, scratch, true, &e))
			abort();
		free(scratch);
		trace_loaded_free(&lt);
	} else if (!err[0] || strchr(err, '\n')) {
		abort();
	}
	free(text);
	return 0;
}
