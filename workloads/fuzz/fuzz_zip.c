/* fuzz_zip: libFuzzer target for the zip reader (workloads/host/trace_zip.c): any bytes
 * give the extracted file or one error line, within the limit, never a crash. */
#include <stdlib.h>
#include <string.h>

#include "../host/trace_zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL, err[256];
	size_t len = 0;
	if (!trace_zip_extract("fuzz.zip", data, size, 1 << 20, &out, &len, err, sizeof(err))) {
		if (len > (1 << 20) || out[len] != 0)
			abort();
		free(out);
	} else if (!memchr(err, 0, sizeof(err)) || strchr(err, '\n')) {
		abort();
	}
	return 0;
}
