/* fuzz_common.h: the shared body of the text-parser fuzz targets (libFuzzer).
 *
 * Input byte 0 picks strict or lenient mode; the rest is the file. Property: the
 * parser never crashes or leaks (ASan/UBSan), and whatever it accepts is a valid
 * trace (trace_bin_open + trace_validate with its own summary pass) -- else abort.
 * fuzz_vmt and fuzz_load use its input and image helpers around their own parse.
 */
#ifndef WL_FUZZ_COMMON_H
#define WL_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../host/trace_file.h"

/* The file part of an input (bytes 1..) as a malloc'd NUL-terminated copy (free
 * it); NULL for the inputs every target skips: empty, or over 1 MiB. */
static inline char *fuzz_input_text(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1 << 20))
		return NULL;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	return text;
}

/* After a successful parse into b: the builder's image (when it builds one) must
 * open and validate with its own summary pass, else abort. */
static inline void fuzz_check_image(struct trace_builder *b)
{
	void *img;
	uint64_t len;
	if (tb_image(b, &img, &len) == 0) {
		struct trace t;
		struct trace_err e;
		uint64_t *scratch = malloc(((uint64_t)b->next_id + 1) * 8);
		if (trace_bin_open(img, len, &t, &e) || trace_validate(&t, scratch, true, &e))
			abort(); /* the builder produced an invalid trace */
		free(scratch);
		free(img);
	}
}

static inline int fuzz_text(enum trace_fmt fmt, const uint8_t *data, size_t size)
{
	char *text = fuzz_input_text(data, size);
	if (!text)
		return 0;
	struct trace_builder b;
	tb_init(&b, "fuzz", data[0] & 1);
	if (trace_parse_text(&b, fmt, text, size - 1) == 0)
		fuzz_check_image(&b);
	else if (!b.err[0])
		abort(); /* failure without a message */
	tb_free_all(&b);
	free(text);
	return 0;
}

#endif
