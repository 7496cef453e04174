/* fuzz_valgrind: libFuzzer target for the valgrind text trace parser (see fuzz_common.h). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_text(TFMT_VALGRIND, data, size);
}
