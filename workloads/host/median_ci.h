/* median_ci.h: the median of n repeated measurements with its distribution-free
 * interval (shared/MEASUREMENT.md "Repeats and intervals"), for every tool that
 * prints a timed figure.
 *
 * Sort the n values x(1) <= ... <= x(n); the interval is [x(k), x(n+1-k)] where k is
 * the largest k with P(Binomial(n, 1/2) < k) <= 0.025 (computed exactly, in integers).
 * Its coverage is P(k <= B <= n-k) = 1 - 2 P(B < k): n = 9 gives k = 2 (96.1%), n = 11
 * k = 2 (98.8%), n = 15 k = 4 (96.5%). When no k >= 1 qualifies (n <= 5) k is 1, the
 * interval [min, max], and the coverage says how much less than 95% that is (n = 5:
 * 93.8%, n = 1: 0%).
 */
#ifndef WL_MEDIAN_CI_H
#define WL_MEDIAN_CI_H

#define MEDIAN_CI_MAX_N 120 /* k is computed exactly up to here */

struct median_ci {
	double median;	 /* the middle value; the mean of the two middle ones for even n */
	double lo, hi;	 /* x(k), x(n+1-k) */
	unsigned n, k;	 /* n = 0: nothing measured (every field 0) */
	double coverage; /* 1 - 2 P(B < k), B ~ Binomial(n, 1/2) */
};

/* k for n values (1 <= n <= MEDIAN_CI_MAX_N), as above; 0 for n outside that range. */
unsigned median_ci_k(unsigned n);
/* 1 - 2 P(Binomial(n, 1/2) < k) for 1 <= k <= (n+1)/2. */
double median_ci_coverage(unsigned n, unsigned k);
/* Sorts v[0..n) in place and fills *out; n = 0 or n > MEDIAN_CI_MAX_N gives n = 0. */
void median_ci(double *v, unsigned n, struct median_ci *out);

#endif
