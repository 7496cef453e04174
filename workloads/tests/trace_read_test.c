/* trace_read_test: the bounded input reader (workloads/host/trace_read.c) under
 * ASan, on files made here. Plain and xz data of sizes around its 64 KiB chunks
 * come back byte for byte and NUL-terminated, from a file or a pipe; MTB_MAX_INPUT =
 * the size passes and one byte less fails (plain, xz, pipe); concatenated xz streams (with stream
 * padding) equal one stream, a truncated or corrupt one fails; the probe runs once
 * on a head of at least min(size, 64 KiB) bytes and refuses with its message;
 * devices, directories and a FIFO with no writer are refused without blocking
 * (alarm: a regression fails instead of hanging); malformed limits are errors. */
#include <lzma.h>
#include <sys/stat.h>

#include "../../strategies/tests/testlib.h"
#include "../host/trace_file.h"

#define KB64 65536u

static char dir[] = "/tmp/trace_read_test.XXXXXX";
static char path[256];
static size_t seen;
static bool seen_all, refuse;
static int calls;

static bool probe_rec(const char *p, const char *head, size_t n, bool all, char *err, size_t cap)
{
	(void)head;
	calls++;
	seen = n;
	seen_all = all;
	if (refuse)
		snprintf(err, cap, "%s: refused by the probe", p);
	return !refuse;
}

static void put(const char *name, const uint8_t *d, size_t n)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	CHECK(f && fwrite(d, 1, n, f) == n && fclose(f) == 0, "writing %s", path);
}

/* d as one xz stream (malloc'd, length in *out). */
static uint8_t *xz(const uint8_t *d, size_t n, size_t *out)
{
	size_t cap = n + n / 2 + 4096;
	uint8_t *b = malloc(cap);
	*out = 0;
	CHECK(b && lzma_easy_buffer_encode(0, LZMA_CHECK_CRC64, NULL, d, n, b, out, cap) == LZMA_OK,
	      "xz encode of %zu bytes", n);
	return b;
}

/* Reads path; 0 or -1 like trace_read_input, the data compared with want on 0. */
static int read_as(const char *limit, const uint8_t *want, size_t n, char *err)
{
	char *data = NULL;
	size_t len = 0;
	if (limit)
		setenv("MTB_MAX_INPUT", limit, 1);
	else
		unsetenv("MTB_MAX_INPUT");
	calls = 0;
	int rc = trace_read_input(path, probe_rec, &data, &len, err, 512);
	if (rc == 0) {
		CHECK(len == n && !memcmp(data, want, n) && data[n] == 0,
		      "%s: %zu bytes back, want %zu", path, len, n);
		CHECK(calls == 1 && seen >= (n < KB64 ? n : KB64) && seen <= n &&
			  (!seen_all || seen == n) && (n >= KB64 || seen_all),
		      "%s: probe calls %d, saw %zu of %zu (all %d)", path, calls, seen, n,
		      seen_all);
		free(data);
	} else {
		CHECK(err[0] && !strchr(err, '\n'), "%s: no one-line message", path);
	}
	return rc;
}

static void test_sizes(const uint8_t *d)
{
	static const size_t sizes[] = {0,     1, 5, 6, 7, KB64 - 1, KB64, KB64 + 1, 2 * KB64 + 3,
				       300000};
	char err[512], lim[32];
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], zn;
		uint8_t *z = xz(d, n, &zn);
		for (int x = 0; x < 2; x++) {
			put(x ? "s.xz" : "s.bin", x ? z : d, x ? zn : n);
			CHECK(read_as(NULL, d, n, err) == 0, "%s", err);
			snprintf(lim, sizeof(lim), "%zu", n ? n : 1);
			CHECK(read_as(lim, d, n, err) == 0, "limit %s: %s", lim, err);
			if (n < 2)
				continue;
			snprintf(lim, sizeof(lim), "%zu", n - 1);
			CHECK(read_as(lim, d, n, err) == -1 && strstr(err, "more than") &&
				  strstr(err, lim),
			      "%zu bytes (%s) under MTB_MAX_INPUT=%s: '%s'", n, x ? "xz" : "plain",
			      lim, err);
		}
		free(z);
	}
	printf("sizes: plain and xz, limits at the size and one byte under\n");
}

/* A pipe fed by a child with n bytes of d, read as /dev/fd/N (a stream: no size to
 * check up front, so the limit is met while reading). */
static int read_pipe(const char *limit, const uint8_t *d, size_t n, char *err)
{
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		close(p[0]);
		for (size_t k = 0; k < n;) {
			ssize_t w = write(p[1], d + k, n - k);
			if (w <= 0)
				_exit(0); /* the reader stopped early */
			k += (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", p[0]);
	int rc = read_as(limit, d, n, err);
	close(p[0]);
	waitpid(pid, NULL, 0);
	return rc;
}

static void test_pipe(const uint8_t *d)
{
	char err[512], lim[32];
	size_t n = 2 * KB64 + 3;
	CHECK(read_pipe(NULL, d, n, err) == 0, "pipe: %s", err);
	snprintf(lim, sizeof(lim), "%zu", n);
	CHECK(read_pipe(lim, d, n, err) == 0, "pipe, limit %s: %s", lim, err);
	snprintf(lim, sizeof(lim), "%zu", n - 1);
	CHECK(read_pipe(lim, d, n, err) == -1 && strstr(err, "more than"), "pipe, limit %s: '%s'",
	      lim, err);
	printf("pipe: read to its end, limit at the size and one byte under\n");
}

static void test_streams(const uint8_t *d)
{
	size_t n = 3 * KB64 + 11, a = KB64 + 5, za, zb, ze;
	uint8_t *x = xz(d, a, &za), *y = xz(d + a, n - a, &zb), *e = xz(d, 0, &ze);
	uint8_t *all = malloc(za + zb + ze + 4);
	char err[512];
	memcpy(all, x, za);
	memset(all + za, 0, 4); /* stream padding, allowed between streams */
	memcpy(all + za + 4, y, zb);
	memcpy(all + za + 4 + zb, e, ze);
	put("m.xz", all, za + 4 + zb + ze);
	CHECK(read_as(NULL, d, n, err) == 0, "multi-stream: %s", err);
	put("t.xz", all, za + 4 + zb - 1);
	CHECK(read_as(NULL, d, n, err) == -1 && strstr(err, "xz data"), "truncated: '%s'", err);
	all[za + 4 + zb / 2] ^= 0x55;
	put("c.xz", all, za + 4 + zb + ze);
	CHECK(read_as(NULL, d, n, err) == -1 && strstr(err, "xz data"), "corrupt: '%s'", err);
	free(x), free(y), free(e), free(all);
	printf("streams: concatenated = one, truncated and corrupt refused\n");
}

static void test_refusals(const uint8_t *d)
{
	char err[512];
	refuse = true;
	put("p.bin", d, 2 * KB64);
	CHECK(read_as(NULL, d, 0, err) == -1 && strstr(err, "refused by the probe") && calls == 1 &&
		  seen >= KB64 && seen < 2 * KB64,
	      "probe refusal: '%s' (saw %zu)", err, seen);
	refuse = false;
	snprintf(path, sizeof(path), "/dev/null");
	CHECK(read_as(NULL, d, 0, err) == -1 && strstr(err, "character device"), "'%s'", err);
	snprintf(path, sizeof(path), "%s", dir);
	CHECK(read_as(NULL, d, 0, err) == -1 && strstr(err, "Is a directory"), "'%s'", err);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	CHECK(mkfifo(path, 0600) == 0, "mkfifo");
	alarm(20);
	CHECK(read_as(NULL, d, 0, err) == -1 && strstr(err, "no writer"), "FIFO: '%s'", err);
	alarm(0);
	unlink(path);
	put("l.bin", d, 10);
	static const char *const bad[] = {"0", "1T", "10KB", "-5", "0x10", "99999999999999999999G"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(read_as(bad[i], d, 10, err) == -1 && strstr(err, "MTB_MAX_INPUT=") &&
			  strstr(err, "not a size"),
		      "MTB_MAX_INPUT=%s: '%s'", bad[i], err);
	CHECK(read_as("", d, 10, err) == 0 && read_as("1K", d, 10, err) == 0, "%s", err);
	printf("refusals: probe, device, directory, FIFO without writer, bad limits\n");
}

int main(void)
{
	struct rng r = {test_seed("trace_read_test", 17)};
	size_t n = 5 * KB64; /* the largest case below, 300000, fits */
	uint8_t *d = malloc(n);
	CHECK(d && mkdtemp(dir), "setup");
	for (size_t i = 0; i < n; i++) /* compressible, not trivially */
		d[i] = (uint8_t)("0123456789 abcdef\n"[rng_below(&r, 18)]);
	test_sizes(d);
	test_pipe(d);
	test_streams(d);
	test_refusals(d);
	free(d);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
	printf("trace_read_test: ok\n");
	return 0;
}
