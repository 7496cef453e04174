/* fuzz_trc: libFuzzer target for the trc text trace parser (see fuzz_common.h). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_text(TFMT_TRC, data, size);
}
