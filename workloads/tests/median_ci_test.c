/* median_ci_test: the order-statistic interval of median_ci.c gives MEASUREMENT.md's
 * table (n = 5, 9, 11, 15), k is the largest that keeps P(B < k) <= 2.5% for every n
 * (checked against a floating-point sum), and host_ctx fills its fields with sane
 * values and writes as many CSV fields as it names columns.
 */
#include <math.h>

#include "../../strategies/tests/testlib.h"
#include "../host/host_ctx.h"
#include "../host/median_ci.h"

/* P(Binomial(n, 1/2) < k) in long double. */
static long double p_below(unsigned n, unsigned k)
{
	long double c = 1, sum = 0;
	for (unsigned j = 0; j < k; j++) {
		sum += c;
		c = c * (n - j) / (j + 1);
	}
	return sum / ldexpl(1.0L, (int)n);
}

static void check_table(void)
{
	static const struct {
		unsigned n, k;
		double cov;
	} t[] = {{5, 1, 0.9375}, {9, 2, 0.9609}, {11, 2, 0.9883}, {15, 4, 0.9648}, {1, 1, 0}};
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unsigned k = median_ci_k(t[i].n);
		double c = median_ci_coverage(t[i].n, k);
		CHECK(k == t[i].k, "n=%u: k=%u, expected %u", t[i].n, k, t[i].k);
		CHECK(c > t[i].cov - 1e-4 && c < t[i].cov + 1e-4, "n=%u: coverage %.5f", t[i].n, c);
	}
	for (unsigned n = 6; n <= MEDIAN_CI_MAX_N; n++) {
		unsigned k = median_ci_k(n);
		CHECK(p_below(n, k) <= 0.025L && p_below(n, k + 1) > 0.025L, "n=%u: k=%u", n, k);
	}
	CHECK(median_ci_k(0) == 0 && median_ci_k(MEDIAN_CI_MAX_N + 1) == 0, "out of range");
}

static void check_interval(void)
{
	double v[9] = {9, 1, 8, 2, 7, 3, 6, 4, 5};
	struct median_ci m;
	median_ci(v, 9, &m);
	CHECK(m.median == 5 && m.lo == 2 && m.hi == 8 && m.n == 9, "9 values: %g [%g, %g]",
	      m.median, m.lo, m.hi);
	double w[4] = {4, 1, 3, 2};
	median_ci(w, 4, &m);
	CHECK(m.median == 2.5 && m.lo == 1 && m.hi == 4, "4 values: %g [%g, %g]", m.median, m.lo,
	      m.hi);
	median_ci(w, 0, &m);
	CHECK(m.n == 0 && m.median == 0, "no values");
}

static unsigned commas(const char *s)
{
	unsigned n = 0;
	bool quoted = false;
	for (; *s; s++) {
		quoted ^= *s == '"';
		n += *s == ',' && !quoted;
	}
	return n;
}

static void check_ctx(void)
{
	struct host_ctx c;
	host_ctx_init(&c);
	CHECK(c.cores >= 1 && c.mem_bytes > (16u << 20), "cores %u, memory %llu", c.cores,
	      (unsigned long long)c.mem_bytes);
	CHECK(!strcmp(c.kvm, "hardware") || !strcmp(c.kvm, "emulated") || !strcmp(c.kvm, "absent"),
	      "kvm '%s'", c.kvm);
	struct host_sample s, acc = HOST_SAMPLE_EMPTY;
	host_sample_begin(&s);
	host_sample_end(&s, &c);
	host_sample_merge(&acc, &s);
	host_sample_merge(&acc, &s);
	CHECK(acc.load_before >= 0 && acc.overloaded == 2 * s.overloaded, "merge");
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	host_ctx_csv(f, &c);
	fputc(',', f);
	host_sample_csv(f, &s);
	fclose(f);
	CHECK(commas(buf) == commas(HOST_CTX_CSV_COLS "," HOST_SAMPLE_CSV_COLS), "csv '%s'", buf);
	printf("median_ci_test: context %s\n", buf);
	free(buf);
}

int main(void)
{
	check_table();
	check_interval();
	check_ctx();
	printf("median_ci_test: ok\n");
	return 0;
}
