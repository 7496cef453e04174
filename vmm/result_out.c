/* result_out.c: result rows from the guest, written atomically.
 *
 * Rows go to PATH.tmp.PID while the guest runs; result_out_commit() flushes,
 * fsyncs and renames it to PATH, result_out_abort() unlinks it, so PATH is
 * either absent/untouched or holds every row of a successful run.
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
	if (asprintf(&o->tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	o->path = strdup(path);
	o->f = o->path ? fopen(o->tmp, "w") : NULL;
	if (!o->f) {
		int e = o->path ? -errno : -ENOMEM;
		free(o->tmp);
		free(o->path);
		*o = (struct result_out){0};
		return e;
	}
	return 0;
}

int result_out_write(struct result_out *o, const char *line, size_t len)
{
	if (fwrite(line, 1, len, o->f) != len || fputc('\n', o->f) == EOF)
		return -EIO;
	if (!o->path)
		fflush(o->f);
	o->rows++;
	return 0;
}

static void out_release(struct result_out *o)
{
	free(o->tmp);
	free(o->path);
	*o = (struct result_out){0};
}

int result_out_commit(struct result_out *o)
{
	if (!o->path) {
		fflush(stdout);
		return 0;
	}
	int rc = 0;
	if (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0)
		rc = -errno;
	if (fclose(o->f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(o->tmp, o->path) != 0)
		rc = -errno;
	if (rc != 0)
		unlink(o->tmp);
	out_release(o);
	return rc;
}

void result_out_abort(struct result_out *o)
{
	if (!o->path) {
		fflush(stdout);
		return;
	}
	fclose(o->f);
	unlink(o->tmp);
	out_release(o);
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
