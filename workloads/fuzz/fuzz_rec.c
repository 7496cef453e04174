/* fuzz_rec: libFuzzer target for the mtbrec v2 recording reader (see fuzz_common.h). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_text(TFMT_REC, data, size);
}
