/* fuzz_vmt: libFuzzer target for the .vmt address-space trace parser (host/vmt.h).
 *
 * Input byte 0 picks strict or lenient mode; the rest is the file. Properties: no
 * crash or leak (ASan/UBSan); a failure always has a message; whatever is accepted
 * is a valid trace (trace_bin_open + trace_validate with its own summary) whose
 * live objects at the end are exactly the reservations the parser still tracks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../host/vmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1 << 20))
		return 0;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	struct trace_builder b;
	struct vmt_counts c;
	tb_init(&b, "fuzz", data[0] & 1);
	if (vmt_parse(&b, text, size - 1, &c) == 0) {
		if (c.live_end != b.objs.n)
			abort(); /* tracked reservations and live ops disagree */
		void *img;
		uint64_t len;
		if (tb_image(&b, &img, &len) == 0) {
			struct trace t;
			struct trace_err e;
			uint64_t *scratch = malloc(((uint64_t)b.next_id + 1) * 8);
			if (trace_bin_open(img, len, &t, &e) ||
			    trace_validate(&t, scratch, true, &e))
				abort(); /* the parser produced an invalid trace */
			free(scratch);
			free(img);
		}
	} else if (!b.err[0]) {
		abort(); /* failure without a message */
	}
	tb_free_all(&b);
	free(text);
	return 0;
}
