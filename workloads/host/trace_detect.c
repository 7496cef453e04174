/* trace_detect.c: which trace format a file holds, from its name and first bytes
 * (contract in trace_file.h), below both the reader (trace_read.c, which probes the
 * first 64 KiB with it) and the loader (trace_file.c).
 *
 * Order of the checks: binary magic, the allocrec header, a libmtbrec recording, then
 * the shape of the first line that is not a comment (valgrind's "--PID-- ", Android's
 * "TID: ", a CS:APP count alone, "N a ..." allocrec ops), then the name's suffix.
 */
#include "trace_file.h"
#include "trace_rec.h"

#include <ctype.h>
#include <string.h>

const char *trace_fmt_name(enum trace_fmt f)
{
	static const char *const names[] = {"unknown",	"bin",	   "trc", "rep",
					    "valgrind", "android", "rec"};
	return (unsigned)f <= TFMT_REC ? names[f] : "unknown";
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

/* First line that is neither empty nor a comment, copied into line. */
static void first_line(const char *d, size_t len, char *line, size_t cap)
{
	const char *end = d + len;
	while (d < end) {
		const char *nl = memchr(d, '\n', (size_t)(end - d));
		size_t n = nl ? (size_t)(nl - d) : (size_t)(end - d);
		if (n && d[0] != '#' && d[0] != '\r') {
			n = n < cap - 1 ? n : cap - 1;
			memcpy(line, d, n);
			line[n] = 0;
			return;
		}
		d += n + 1;
	}
	line[0] = 0;
}

enum trace_fmt trace_detect(const char *path, const char *data, size_t len)
{
	if (len >= 8 && !memcmp(data, TRACE_MAGIC, 8))
		return TFMT_BIN;
	if (len >= 10 && !memcmp(data, "# allocrec", 10))
		return TFMT_TRC;
	if (trace_rec_detect(data, len))
		return TFMT_REC;
	char l[128];
	first_line(data, len, l, sizeof(l));
	const char *p = l + ((l[0] == '-' && l[1] == '-') || (l[0] == '=' && l[1] == '=') ||
				     (l[0] == '*' && l[1] == '*')
				 ? 2
				 : 0);
	const char *q = p;
	while (isdigit((unsigned char)*q))
		q++;
	if (p != l && q != p && (q[0] == '-' || q[0] == '=' || q[0] == '*'))
		return TFMT_VALGRIND;
	if (p == l && q != l && q[0] == ':' && q[1] == ' ')
		return TFMT_ANDROID;
	if (q != l && (*q == 0 || *q == '\r'))
		return TFMT_REP;
	if (q != l && q[0] == ' ' && isalpha((unsigned char)q[1]) && (q[2] == ' ' || !q[2]))
		return TFMT_TRC;
	if (has_suffix(path, ".trc") || has_suffix(path, ".trc.xz"))
		return TFMT_TRC;
	if (has_suffix(path, ".rep"))
		return TFMT_REP;
	return TFMT_UNKNOWN;
}
