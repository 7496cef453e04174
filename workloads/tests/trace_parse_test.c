/* trace_parse_test: every text parser decodes a known sample to the expected ops,
 * and reports each kind of bad input (unknown op, free of a never-allocated id,
 * absurd size, truncated file, bad checksum, truncated xz) as "FILE:LINE: ..." or
 * "FILE: offset N: ...", or with lenient counts and skips it. CRLF line ends load
 * as LF; a header count that is not a decimal number (ops=-1) is an error. Conversions
 * round-trip: text -> binary -> allocrec text -> binary keeps the payload hash. */
#include "../../strategies/tests/testlib.h"

#include <lzma.h>

#include "../host/trace_file.h"

static char err[1024];

static void load_ok(const char *name, const char *text, bool lenient, struct trace_loaded *lt)
{
	CHECK(trace_load_mem(name, text, strlen(text), lenient, lt, err, sizeof(err)) == 0,
	      "%s: %s", name, err);
}

static void load_bad(const char *name, const char *text, const char *want)
{
	struct trace_loaded lt;
	CHECK(trace_load_mem(name, text, strlen(text), false, &lt, err, sizeof(err)) == -1,
	      "%s accepted", name);
	CHECK(strstr(err, want), "%s: message \"%s\" lacks \"%s\"", name, err, want);
	CHECK(!strchr(err, '\n'), "multi-line message");
	trace_loaded_free(&lt);
}

static void count_ops(const struct trace *t, uint64_t by[6])
{
	memset(by, 0, 6 * sizeof(by[0]));
	for (uint64_t i = 0; i < t->h.nops; i++)
		by[t->ops[i].op]++;
}

#define TRC_HDR "# allocrec trace v1 exe=/bin/x pid=1 threads=2 ops=6 objects=4 peak_live=%s\n"
static const char trc_ok[] = "# allocrec trace v1 exe=/bin/x pid=1 threads=2 ops=6 objects=4 "
			     "peak_live=4196\n"
			     "0 a 7 100\n0 c 3 50\n5 m 9 4000 4096\n5 r 7 146\n0 f 3\n5 a 3 1\n";

static void test_trc(void)
{
	struct trace_loaded lt;
	load_ok("ok.trc", trc_ok, false, &lt);
	CHECK(lt.fmt == TFMT_TRC && lt.src.present && lt.src.peak_live == 4196, "header");
	CHECK(lt.t.h.nops == 6 && lt.t.h.nthreads == 2 && lt.t.h.nobjects == 4, "counts");
	CHECK(lt.t.h.peak_live == 4196, "peak_live %llu", (unsigned long long)lt.t.h.peak_live);
	CHECK(lt.t.ops[2].thread == 1 && lt.t.ops[2].align_log2 == 12, "memalign op");
	CHECK(lt.t.ops[0].id == 0 && lt.t.ops[1].id == 1 && lt.t.ops[3].id == 0, "dense ids");
	CHECK(lt.t.ops[5].id == 1, "freed id reused");
	trace_loaded_free(&lt);
	load_bad("op.trc", "0 a 1 5\n0 x 1\n", "op.trc:2: unknown op 'x'");
	load_bad("free.trc", "0 a 1 5\n0 f 2\n", "free.trc:2: free of object 0x2 that was never");
	load_bad("big.trc", "0 a 1 99999999999999999\n", "big.trc:1: absurd size");
	load_bad("ovf.trc", "0 a 1 999999999999999999999999\n", "ovf.trc:1: missing or out-of-range size");
	load_bad("live.trc", "0 a 1 5\n0 a 1 6\n", "live.trc:2: allocation of object 0x1 that is");
	load_bad("al.trc", "0 m 1 5 24\n", "al.trc:1: bad alignment 24");
	load_bad("short.trc", "# allocrec trace v1 exe=x pid=1 threads=1 ops=3 objects=2 "
			      "peak_live=5\n0 a 1 5\n0 f 1\n", "short.trc:4: truncated or padded");
	load_bad("nonl.trc", "0 a 1 5\n0 f 1", "nonl.trc:2: truncated: last line");
	load_bad("gar.trc", "0 a 1 5 junk\n", "gar.trc:1: trailing garbage");
	/* Lenient: the three bad ops are counted and skipped, the rest loads. */
	load_ok("len.trc", "0 a 1 5\n0 x 1\n0 f 2\n0 a 2 99999999999999999\n0 f 1\n", true, &lt);
	CHECK(lt.skipped == 3 && lt.t.h.nops == 2, "lenient: skipped %llu ops %llu",
	      (unsigned long long)lt.skipped, (unsigned long long)lt.t.h.nops);
	CHECK(strstr(lt.first_skip, "len.trc:2: unknown op"), "first skip: %s", lt.first_skip);
	trace_loaded_free(&lt);
}

static void test_rep(void)
{
	struct trace_loaded lt;
	load_ok("a.rep", "20000\n3\n6\n1\na 0 2040\na 1 10\nr 0 4000\nf 1\na 2 5\nf 0\n", false,
		&lt);
	uint64_t by[6];
	count_ops(&lt.t, by);
	CHECK(lt.fmt == TFMT_REP && by[TOP_ALLOC] == 3 && by[TOP_REALLOC] == 1 &&
		      by[TOP_FREE] == 2, "rep ops");
	CHECK(lt.t.h.peak_live == 4010 && lt.src.ops == 6 && lt.src.objects == 3, "rep header");
	trace_loaded_free(&lt);
	load_bad("n.rep", "20000\n3\n7\n1\na 0 2040\nf 0\n", "n.rep:7: header says 7 ops");
	load_bad("id.rep", "20000\n1\n2\n1\na 0 20\na 1 10\n", "id.rep:6: id 1 >= num_ids 1");
	load_bad("op.rep", "20000\n1\n1\n1\nq 0 20\n", "op.rep:5: unknown op 'q'");
	load_bad("h.rep", "20000\n1\n", "h.rep:3: bad .rep header");
}

/* Real output of valgrind 3.19 --trace-malloc=yes on a small C program. */
static const char vg_log[] =
	"==12714== Memcheck, a memory error detector\n"
	"--12714-- malloc(10) = 0x4A46040\n"
	"--12714-- calloc(3,4) = 0x4A46090\n"
	"--12714-- realloc(0x4A46040,100) = 0x4A460E0\n"
	"--12714-- memalign(al 64, size 50) = 0x4A46200\n"
	"--12714-- malloc(5) = 0x4A46190\n"
	"--12714-- realloc(0x4A46190,0)free(0x4A46190)\n"
	"--12714--  = 0\n"
	"program output line\n"
	"--12714-- _Znwm(16) = 0x4A46740\n"
	"--12714-- realloc(0x0,7)malloc(7) = 0x4A46800\n"
	"--12714-- free(0x4A46090)\n"
	"--12714-- free(0x0)\n"
	"--12714-- _ZdlPv(0x4A46740)\n"
	"--12714-- free(0x4A460E0)\n";

static void test_valgrind(void)
{
	struct trace_loaded lt;
	load_ok("vg.log", vg_log, false, &lt);
	uint64_t by[6];
	count_ops(&lt.t, by);
	CHECK(lt.fmt == TFMT_VALGRIND, "detected as %s", trace_fmt_name(lt.fmt));
	CHECK(by[TOP_ALLOC] == 4 && by[TOP_CALLOC] == 1 && by[TOP_MEMALIGN] == 1 &&
		      by[TOP_REALLOC] == 1 && by[TOP_FREE] == 4,
	      "valgrind ops a%llu c%llu m%llu r%llu f%llu", (unsigned long long)by[1],
	      (unsigned long long)by[2], (unsigned long long)by[3], (unsigned long long)by[4],
	      (unsigned long long)by[5]);
	CHECK(lt.t.h.peak_live == 10 + 12 + 50 + 5 + 100 - 10 - 5 + 16 + 7 - 12 - 16 + 12 + 16 ||
		      lt.t.h.peak_live == 178, "peak %llu", (unsigned long long)lt.t.h.peak_live);
	trace_loaded_free(&lt);
	load_bad("vg1.log", "--1-- free(0x10)\n", "vg1.log:1: free of object 0x10 that was never");
	load_bad("vg2.log", "--1-- mallocx(10) = 0x10\n", "vg2.log:1: unknown op 'mallocx'");
	load_bad("vg3.log", "--1-- malloc(10) = 0x10\n--1-- realloc(0x10,5)\n",
		 "vg3.log:2: truncated: realloc without");
	load_bad("vg4.log", "--1-- malloc(99999999999999999) = 0x10\n", "vg4.log:1: absurd size");
}

static const char android_log[] = "100: malloc 0xa000 64\n"
				  "200: calloc 0xb000 4 8\n"
				  "100: memalign 0xc000 128 40 1000 2000\n"
				  "200: realloc 0xd000 0xa000 128\n"
				  "100: realloc 0xe000 0x0 10\n"
				  "200: free 0xb000\n"
				  "100: realloc 0x0 0xe000 0\n"
				  "100: free 0x0\n"
				  "200: thread_done 0x0\n";

static void test_android(void)
{
	struct trace_loaded lt;
	load_ok("a.txt", android_log, false, &lt);
	uint64_t by[6];
	count_ops(&lt.t, by);
	CHECK(lt.fmt == TFMT_ANDROID && lt.t.h.nthreads == 2, "android detect/threads");
	CHECK(by[TOP_ALLOC] == 2 && by[TOP_CALLOC] == 1 && by[TOP_MEMALIGN] == 1 &&
		      by[TOP_REALLOC] == 1 && by[TOP_FREE] == 2, "android ops");
	CHECK(lt.t.ops[3].op == TOP_REALLOC && lt.t.ops[3].thread == 1 && lt.t.ops[3].id == 0,
	      "cross-thread realloc keeps the id");
	CHECK(lt.t.h.peak_live == 64 + 32 + 40 + 64 + 10, "peak %llu",
	      (unsigned long long)lt.t.h.peak_live);
	trace_loaded_free(&lt);
	load_bad("b.txt", "1: free 0x10\n", "b.txt:1: free of object 0x10 that was never");
	load_bad("c.txt", "1: mmap 0x10 5\n", "c.txt:1: unknown op 'mmap'");
	load_bad("d.txt", "1: malloc 0x10 5\n1 malloc\n", "d.txt:2: malformed line");
}

/* text with every "\n" made "\r\n" (malloc'd) */
static char *crlf(const char *text)
{
	char *out = malloc(2 * strlen(text) + 1), *o = out;
	CHECK(out, "malloc");
	for (; *text; text++)
		o += *text == '\n' ? (memcpy(o, "\r\n", 2), 2) : (*o = *text, 1);
	*o = 0;
	return out;
}

/* CRLF line ends load as LF ones in every text format; header counts that are not
 * decimal numbers are errors (also with lenient), never read as 0. */
static void test_crlf_and_header(void)
{
	static const char *const texts[][2] = {
	    {"c.trc", trc_ok},
	    {"c.rep", "20000\n3\n6\n1\na 0 2040\na 1 10\nr 0 4000\nf 1\na 2 5\nf 0\n"},
	    {"c.log", vg_log},
	    {"c.txt", android_log}};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct trace_loaded a, b;
		char *w = crlf(texts[i][1]);
		load_ok(texts[i][0], texts[i][1], false, &a);
		load_ok(texts[i][0], w, false, &b);
		CHECK(a.fmt == b.fmt && a.t.h.payload_hash == b.t.h.payload_hash &&
			      a.t.h.nops == b.t.h.nops, "%s: CRLF differs from LF", texts[i][0]);
		trace_loaded_free(&a);
		trace_loaded_free(&b);
		free(w);
	}
	static const char *const bad[][2] = {{"ops=6", "ops=-1"},   {"ops=6", "ops=6x"},
					     {"threads=2", "threads=-2"}, {"peak_live=4196", "peak_live=0x10"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512], want[64];
		const char *at = strstr(trc_ok, bad[i][0]);
		snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - trc_ok), trc_ok, bad[i][1],
			 at + strlen(bad[i][0]));
		snprintf(want, sizeof(want), "h.trc:1: bad header value %s", bad[i][1]);
		load_bad("h.trc", text, want);
		struct trace_loaded lt;
		CHECK(trace_load_mem("h.trc", text, strlen(text), true, &lt, err, sizeof(err)) == -1 &&
			      strstr(err, want), "lenient %s: %s", bad[i][1], err);
	}
	load_bad("e.trc", "0 a 1 5\n0 f 1\n# end ops=-2\n", "e.trc:3: bad trailer value ops=-2");
}

static char tmpdir[] = "/tmp/trace_parse_test.XXXXXX";

static void test_binary_and_roundtrip(void)
{
	struct trace_loaded a, b, c;
	load_ok("ok.trc", trc_ok, false, &a);
	char bin[256], txt[256];
	snprintf(bin, sizeof(bin), "%s/x.mtb", tmpdir);
	snprintf(txt, sizeof(txt), "%s/x.trc", tmpdir);
	CHECK(trace_write_bin(bin, &a.t, err, sizeof(err)) == 0, "%s", err);
	CHECK(trace_load(bin, false, &b, err, sizeof(err)) == 0, "%s", err);
	CHECK(b.fmt == TFMT_BIN && b.t.h.payload_hash == a.t.h.payload_hash, "bin round trip");
	CHECK(trace_write_trc(txt, &b.t, "x", err, sizeof(err)) == 0, "%s", err);
	CHECK(trace_load(txt, false, &c, err, sizeof(err)) == 0, "%s", err);
	CHECK(c.t.h.payload_hash == a.t.h.payload_hash && c.src.peak_live == a.t.h.peak_live,
	      "trc round trip");
	/* Flip one record byte in the file: checksum error with the file name and offset. */
	FILE *f = fopen(bin, "r+b");
	fseek(f, TRACE_HEADER_SIZE + 20, SEEK_SET);
	fputc(((uint8_t *)b.img)[TRACE_HEADER_SIZE + 20] ^ 1, f);
	fclose(f);
	struct trace_loaded d;
	CHECK(trace_load(bin, false, &d, err, sizeof(err)) == -1, "bad checksum accepted");
	CHECK(strstr(err, "x.mtb: offset 48: payload checksum mismatch"), "%s", err);
	trace_loaded_free(&a);
	trace_loaded_free(&b);
	trace_loaded_free(&c);
}

static void test_xz(void)
{
	uint8_t out[4096];
	size_t n = 0;
	CHECK(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, (const uint8_t *)trc_ok,
				      strlen(trc_ok), out, &n, sizeof(out)) == LZMA_OK, "xz");
	char path[256];
	snprintf(path, sizeof(path), "%s/y.trc.xz", tmpdir);
	for (int cut = 0; cut < 2; cut++) {
		FILE *f = fopen(path, "wb");
		fwrite(out, 1, cut ? n - 10 : n, f);
		fclose(f);
		struct trace_loaded lt;
		int rc = trace_load(path, false, &lt, err, sizeof(err));
		if (!cut) {
			CHECK(rc == 0 && lt.t.h.nops == 6, "xz load: %s", err);
			trace_loaded_free(&lt);
		} else {
			CHECK(rc == -1 && strstr(err, "y.trc.xz: offset") && strstr(err, "truncated"),
			      "truncated xz: %s", err);
		}
	}
	struct trace_loaded lt;
	CHECK(trace_load("/nonexistent/t.trc", false, &lt, err, sizeof(err)) == -1 &&
		      strstr(err, "/nonexistent/t.trc: No such file"), "missing file: %s", err);
	load_bad("junk.bin", "hello world\n", "junk.bin:1: unknown trace format");
}

int main(void)
{
	CHECK(mkdtemp(tmpdir), "mkdtemp");
	test_trc();
	test_rep();
	test_valgrind();
	test_android();
	test_crlf_and_header();
	test_binary_and_roundtrip();
	test_xz();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	CHECK(system(cmd) == 0, "cleanup");
	printf("trace_parse_test: ok\n");
	return 0;
}
