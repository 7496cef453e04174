/* trace_bin_test: the binary trace format round-trips; every header/record error
 * is reported with its code and offset; random corruption never crashes the reader
 * and is always caught by the hash; semantic validation catches bad id use; the
 * latency histogram matches a sorted reference; the JSON writer escapes and bounds. */
#include "../../strategies/tests/testlib.h"
#include "../core/json_row.h"
#include "../core/lat_hist.h"
#include "../core/trace_bin.h"

static uint8_t *make_image(const struct trace_op *ops, uint64_t n, uint32_t nids, uint64_t *len)
{
	uint64_t sizes[64];
	struct trace_header h;
	trace_summarize(ops, n, sizes, nids, &h);
	*len = trace_bin_size(n);
	uint8_t *img = aligned_alloc(64, (*len + 63) & ~63ull);
	trace_header_encode(&h, img);
	memcpy(img + TRACE_HEADER_SIZE, ops, n * sizeof(*ops));
	return img;
}

static const struct trace_op sample[] = {
	{100, 0, 0, TOP_ALLOC, 0}, {30, 1, 1, TOP_CALLOC, 0},	{64, 2, 0, TOP_MEMALIGN, 6},
	{200, 0, 1, TOP_REALLOC, 0}, {0, 1, 0, TOP_FREE, 0},	{7, 1, 1, TOP_ALLOC, 0},
	{0, 2, 1, TOP_FREE, 0},
};
#define NSAMPLE (sizeof(sample) / sizeof(sample[0]))

static void test_roundtrip(void)
{
	uint64_t len;
	uint8_t *img = make_image(sample, NSAMPLE, 3, &len);
	struct trace t;
	struct trace_err e;
	CHECK(trace_bin_open(img, len, &t, &e) == 0, "open: %s", e.msg);
	CHECK(t.h.nops == NSAMPLE && t.h.nthreads == 2 && t.h.nids == 3, "header");
	CHECK(t.h.nobjects == 4, "nobjects %llu", (unsigned long long)t.h.nobjects);
	/* live: 100, 130, 194, 294 (realloc), 264 (free 1), 271, 207 */
	CHECK(t.h.peak_live == 294, "peak_live %llu", (unsigned long long)t.h.peak_live);
	CHECK(memcmp(t.ops, sample, sizeof(sample)) == 0, "ops differ");
	uint64_t scratch[3];
	CHECK(trace_validate(&t, scratch, true, &e) == 0, "validate: %s", e.msg);
	free(img);
}

/* Opens img after mutate(); expects failure with code and offset. */
static void expect_err(const char *what, uint8_t *img, uint64_t len, int code, uint64_t off)
{
	struct trace t;
	struct trace_err e;
	int rc = trace_bin_open(img, len, &t, &e);
	if (rc == 0) {
		uint64_t scratch[64];
		rc = trace_validate(&t, scratch, true, &e);
	}
	CHECK(rc == -1, "%s: accepted", what);
	CHECK(e.code == code && e.offset == off, "%s: got code %d offset %llu (%s)", what, e.code,
	      (unsigned long long)e.offset, e.msg);
}

/* Re-encodes the header after patching ops so only the intended error remains. */
static uint8_t *image_with(struct trace_op *ops, uint64_t n, uint32_t nids, uint32_t nthreads,
			   uint64_t *len)
{
	struct trace_header h = {n, nthreads, nids, 0, 0, 0};
	for (uint64_t i = 0; i < n; i++)
		h.nobjects += ops[i].op <= TOP_MEMALIGN;
	h.payload_hash = trace_fnv1a(TRACE_FNV_INIT, ops, n * sizeof(*ops));
	*len = trace_bin_size(n);
	uint8_t *img = aligned_alloc(64, (*len + 63) & ~63ull);
	trace_header_encode(&h, img);
	memcpy(img + TRACE_HEADER_SIZE, ops, n * sizeof(*ops));
	return img;
}

static void test_errors(void)
{
	uint64_t len;
	uint8_t *img = make_image(sample, NSAMPLE, 3, &len);
	expect_err("short header", img, 10, TERR_TRUNCATED, 10);
	expect_err("truncated records", img, len - 16, TERR_TRUNCATED, len - 16);
	img[0] = 'X';
	expect_err("magic", img, len, TERR_MAGIC, 0);
	img[0] = 'M';
	img[20] ^= 1; /* nops */
	expect_err("header hash", img, len, TERR_HEADER, 56);
	img[20] ^= 1;
	img[TRACE_HEADER_SIZE + 3 * 16] ^= 0x40; /* a size byte */
	expect_err("payload checksum", img, len, TERR_CHECKSUM, 48);
	free(img);

	struct trace_op ops[NSAMPLE];
	struct {
		const char *what;
		unsigned idx;
		struct trace_op op;
		int code;
	} cases[] = {
		{"unknown op", 2, {64, 2, 0, 9, 0}, TERR_OP},
		{"thread range", 2, {64, 2, 7, TOP_ALLOC, 0}, TERR_OP},
		{"id range", 2, {64, 9, 0, TOP_ALLOC, 0}, TERR_ID},
		{"absurd size", 2, {TRACE_MAX_SIZE + 1, 2, 0, TOP_ALLOC, 0}, TERR_SIZE},
		{"align on malloc", 2, {64, 2, 0, TOP_ALLOC, 3}, TERR_SIZE},
		{"free with size", 4, {5, 1, 0, TOP_FREE, 0}, TERR_OP},
		{"free of free id", 5, {0, 1, 1, TOP_FREE, 0}, TERR_ID},
		{"alloc of live id", 2, {64, 0, 0, TOP_ALLOC, 0}, TERR_ID},
		{"realloc of free id", 5, {9, 1, 1, TOP_REALLOC, 0}, TERR_ID},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(ops, sample, sizeof(ops));
		ops[cases[i].idx] = cases[i].op;
		img = image_with(ops, NSAMPLE, 3, 2, &len);
		expect_err(cases[i].what, img, len, cases[i].code, trace_bin_size(cases[i].idx));
		free(img);
	}
	/* A header whose peak_live lies. */
	memcpy(ops, sample, sizeof(ops));
	img = image_with(ops, NSAMPLE, 3, 2, &len);
	expect_err("peak_live summary", img, len, TERR_SUMMARY, 40);
	free(img);
}

/* Random bit flips: never a crash; the hashes catch every single flip. */
static void test_flips(struct rng *r)
{
	uint64_t len;
	uint8_t *img = make_image(sample, NSAMPLE, 3, &len);
	uint8_t *copy = aligned_alloc(64, (len + 63) & ~63ull);
	for (int i = 0; i < 20000; i++) {
		memcpy(copy, img, len);
		uint64_t at = rng_below(r, len);
		copy[at] ^= (uint8_t)(1u << rng_below(r, 8));
		struct trace t;
		struct trace_err e;
		CHECK(trace_bin_open(copy, len, &t, &e) == -1, "flip at %llu accepted",
		      (unsigned long long)at);
		CHECK(e.msg && e.code != TERR_OK, "no message");
	}
	free(copy);
	free(img);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_hist(struct rng *r)
{
	for (uint64_t v = 0; v < 1u << 20; v = v * 3 / 2 + 1)
		CHECK(lat_hist_bucket_low(lat_hist_index(v)) <= v &&
			      v < lat_hist_bucket_low(lat_hist_index(v) + 1),
		      "bucket of %llu", (unsigned long long)v);
	static struct lat_hist h;
	lat_hist_init(&h);
	enum { N = 100000 };
	static uint64_t vals[N];
	for (int i = 0; i < N; i++) {
		vals[i] = rng_below(r, 4) ? 20 + rng_below(r, 200) : rng_below(r, 1000000);
		lat_hist_add(&h, vals[i]);
	}
	qsort(vals, N, sizeof(vals[0]), cmp_u64);
	uint32_t qs[] = {50000, 99000, 99900, 100000};
	for (int i = 0; i < 4; i++) {
		uint64_t exact = vals[(uint64_t)N * qs[i] / 100000 - 1];
		uint64_t got = lat_hist_quantile(&h, qs[i]);
		CHECK(got >= exact && got <= exact + exact / 16 + 1, "q%u: got %llu exact %llu",
		      qs[i], (unsigned long long)got, (unsigned long long)exact);
	}
	CHECK(lat_hist_quantile(&h, 100000) == vals[N - 1], "max");
}

static void test_json(void)
{
	char buf[256];
	struct json_buf j;
	json_begin(&j, buf, sizeof(buf));
	json_str(&j, "a\"b", "x\\y\n");
	json_i64(&j, "n", -42);
	json_ppm(&j, "f", 1234567);
	json_ppm(&j, "g", -5);
	json_bool(&j, "t", true);
	json_hex64(&j, "h", 0xabcull);
	CHECK(json_end(&j) > 0, "overflow");
	const char *want = "{\"a\\\"b\":\"x\\\\y\\u000a\",\"n\":-42,\"f\":1.234567,\"g\":-0.000005,"
			   "\"t\":true,\"h\":\"0000000000000abc\"}";
	CHECK(!strcmp(buf, want), "got %s", buf);
	struct frame_stats fs = {.total_frames = 1024, .free_frames = 1000, .free_2m_blocks = 1};
	fs.free_blocks[0] = 2;
	fs.free_blocks[FRAME_MAX_ORDER] = 7;
	struct machine_counts mc = {.maps = 3, .unmaps = 2, .shootdowns = 2, .pt_frames = 12};
	struct env_metrics env = {&fs, NULL, &mc, 64u << 20};
	struct result_prov prov = {"replay", "c", "p", "v", "h", NULL, -1, 2, "serial", "t", 1, "b", 3};
	struct replay_result res = {.ops = 5};
	static char row[4096];
	CHECK(json_replay_row_env(&prov, &res, &env, row, sizeof(row)) > 0, "env row");
	CHECK(strstr(row, "\"phys_free_blocks\":[2,0,") && strstr(row, ",7],") &&
		      strstr(row, "\"phys_free_2m_share\":0.512000,") && strstr(row, "\"pt_frames\":12") &&
		      strstr(row, "\"machine_mib\":64,") && strstr(row, "\"mmu_maps\":3,") &&
		      strstr(row, "\"tlb_shootdowns\":2") && !strstr(row, "\"engine\"") &&
		      !strstr(row, "va_size"),
	      "env row: %s", row);
	json_begin(&j, buf, 16);
	json_str(&j, "key", "a value that does not fit");
	CHECK(json_end(&j) == -1 && buf[0] == 0, "overflow not reported");
}

int main(void)
{
	struct rng r = {test_seed("trace_bin_test", 1)};
	test_roundtrip();
	test_errors();
	test_flips(&r);
	test_hist(&r);
	test_json();
	printf("trace_bin_test: ok\n");
	return 0;
}
