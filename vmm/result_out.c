/* result_out.c: result rows from the guest, written atomically.
 *
 * Rows go to a temp file beside PATH while the guest runs (out_file.h);
 * result_out_commit() flushes, fsyncs and renames it over PATH, result_out_abort()
 * unlinks it, so PATH is either absent/untouched or holds every row of a successful
 * run. A FIFO or device PATH is written through (rows as they come), never replaced.
 * result_decorate() adds the engine fields abi.h asks for to a JSON row.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm.h"

int result_out_open(struct result_out *o, const char *path)
{
	*o = (struct result_out){0};
	if (!path) {
		o->f = stdout;
		return 0;
	}
	int e = out_open(&o->file, path);
	if (e)
		return e;
	o->f = o->file.f;
	o->to_file = true;
	return 0;
}

int result_out_write(struct result_out *o, const char *line, size_t len)
{
	if (fwrite(line, 1, len, o->f) != len || fputc('\n', o->f) == EOF)
		return -EIO;
	if (!o->to_file || !o->file.tmp) /* stdout, a FIFO: rows as they come */
		fflush(o->f);
	o->rows++;
	return 0;
}

int result_out_commit(struct result_out *o)
{
	if (!o->to_file) {
		fflush(stdout);
		return 0;
	}
	int rc = out_commit(&o->file);
	*o = (struct result_out){0};
	return rc;
}

void result_out_abort(struct result_out *o)
{
	if (!o->to_file) {
		fflush(stdout);
		return;
	}
	out_abort(&o->file);
	*o = (struct result_out){0};
}

int result_decorate(char *dst, size_t cap, const char *line, size_t len, double ratio, bool trusted)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	size_t skip = 0;
	while (skip < len && (line[skip] == ' ' || line[skip] == '\t'))
		skip++;
	if (skip == len || line[skip] != '{') {
		if (len + 1 > cap)
			return -1;
		memcpy(dst, line, len);
		dst[len] = '\0';
		return (int)len;
	}
	char ratio_s[32];
	if (ratio > 0)
		snprintf(ratio_s, sizeof(ratio_s), "%.3f", ratio);
	else
		snprintf(ratio_s, sizeof(ratio_s), "null");
	const char *rest = line + skip + 1;
	size_t rest_len = len - skip - 1;
	/* Object body empty ("{}"): no comma after our fields. */
	size_t body = 0;
	while (body < rest_len && (rest[body] == ' ' || rest[body] == '\t'))
		body++;
	bool empty = body < rest_len && rest[body] == '}';
	int n =
	    snprintf(dst, cap, "{\"engine\":\"kvm\",\"timing_trusted\":%s,\"calib_ratio\":%s%s%.*s",
		     trusted ? "true" : "false", ratio_s, empty ? "" : ",", (int)rest_len, rest);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}
