/* cli_util.c: shared command-line helpers of the host tools (contracts in
 * cli_util.h). Invariant of cli_write_rows: OUT is either untouched or holds all
 * the rows (out_file.h: a temp file renamed over a regular OUT only when every byte
 * is out; a FIFO or device is written through, never replaced).
 */
#define _GNU_SOURCE
#include "cli_util.h"
#include "out_file.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_die(const char *prog, const char *msg, const char *arg)
{
	fprintf(stderr, "%s: %s%s%s\n", prog, msg, arg ? ": " : "", arg ? arg : "");
	return 2;
}

bool cli_parse_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (*p < '0' || *p > '9' || x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

bool cli_num(const char *prog, const char *opt, const char *s, uint64_t lo, uint64_t hi,
	     uint64_t *v)
{
	uint64_t x;
	if (!s) {
		fprintf(stderr, "%s: %s needs a value\n", prog, opt);
		return false;
	}
	if (!cli_parse_u64(s, &x) || x < lo || x > hi) {
		fprintf(stderr, "%s: %s: bad value '%s' (a decimal number in %llu..%llu)\n", prog,
			opt, s, (unsigned long long)lo, (unsigned long long)hi);
		return false;
	}
	*v = x;
	return true;
}

uint64_t cli_num_or_exit(const char *prog, const char *opt, const char *s, uint64_t lo,
			 uint64_t hi)
{
	uint64_t x;
	if (!cli_num(prog, opt, s, lo, hi, &x))
		exit(2);
	return x;
}

const char *cli_build_id(void)
{
	const char *id = getenv("MTB_BUILD_ID");
	return id && *id ? id : "dev";
}

uint64_t cli_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int cli_write_rows(const char *prog, const char *out, const char *rows)
{
	if (!out) {
		fputs(rows, stdout);
		return fflush(stdout) ? 1 : 0;
	}
	struct out_file o;
	int e = out_open(&o, out);
	if (!e) {
		fputs(rows, o.f); /* a write error stays in o.f: out_commit reports it */
		e = out_commit(&o);
	}
	return e ? out_fail(prog, out, e) : 0;
}

void cli_pin_attr(pthread_attr_t *attr, unsigned i)
{
	cpu_set_t allowed, one;
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return;
	unsigned n = (unsigned)CPU_COUNT(&allowed), k = i % (n ? n : 1);
	for (unsigned cpu = 0; cpu < CPU_SETSIZE && n; cpu++)
		if (CPU_ISSET(cpu, &allowed) && k-- == 0) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			pthread_attr_setaffinity_np(attr, sizeof(one), &one);
			return;
		}
}
