/* median_ci.c: median and order-statistic interval (contract in median_ci.h).
 * P(B < k) <= 0.025 is tested without rounding as 40 * sum_{j<k} C(n, j) <= 2^n, in
 * unsigned __int128 (2^120 * 40 < 2^127), so k is exact for every n it accepts.
 */
#include "median_ci.h"

#include <stdlib.h>

/* sum_{j<k} C(n, j); C(n, j) built by C(n, j+1) = C(n, j) (n-j) / (j+1), exact. */
static unsigned __int128 binom_below(unsigned n, unsigned k)
{
	unsigned __int128 c = 1, sum = 0;
	for (unsigned j = 0; j < k && j <= n; j++) {
		sum += c;
		c = c * (n - j) / (j + 1);
	}
	return sum;
}

unsigned median_ci_k(unsigned n)
{
	if (n == 0 || n > MEDIAN_CI_MAX_N)
		return 0;
	unsigned __int128 all = (unsigned __int128)1 << n;
	unsigned k = 0;
	while (k + 1 <= (n + 1) / 2 && 40 * binom_below(n, k + 1) <= all)
		k++;
	return k ? k : 1;
}

double median_ci_coverage(unsigned n, unsigned k)
{
	if (n == 0 || n > MEDIAN_CI_MAX_N || k == 0)
		return 0;
	double below = (double)binom_below(n, k), all = (double)((unsigned __int128)1 << n);
	double c = 1.0 - 2.0 * below / all;
	return c < 0 ? 0 : c;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void median_ci(double *v, unsigned n, struct median_ci *out)
{
	*out = (struct median_ci){0};
	if (n == 0 || n > MEDIAN_CI_MAX_N)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	unsigned k = median_ci_k(n);
	out->n = n;
	out->k = k;
	out->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	out->lo = v[k - 1];
	out->hi = v[n - k];
	out->coverage = median_ci_coverage(n, k);
}
