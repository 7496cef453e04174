/* fuzz_vmt: libFuzzer target for the .vmt address-space trace parser (host/vmt.h).
 *
 * Input byte 0 picks strict or lenient mode; the rest is the file. Properties: no
 * crash or leak (ASan/UBSan); a failure always has a message; whatever is accepted
 * is a valid trace (trace_bin_open + trace_validate with its own summary) whose
 * live objects at the end are exactly the reservations the parser still tracks.
 */
#include "../host/vmt.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_input_text(data, size);
	if (!text)
		return 0;
	struct trace_builder b;
	struct vmt_counts c;
	tb_init(&b, "fuzz", data[0] & 1);
	if (vmt_parse(&b, text, size - 1, &c) == 0) {
		if (c.live_end != b.objs.n)
			abort(); /* tracked reservations and live ops disagree */
		fuzz_check_image(&b);
	} else if (!b.err[0]) {
		abort(); /* failure without a message */
	}
	tb_free_all(&b);
	free(text);
	return 0;
}
