/* lat_hist.c: log-linear histogram (see lat_hist.h).
 *
 * Bucket i < 16 holds exactly the value i. Above, a value v with e = floor(log2 v)
 * goes to bucket (e - 3) * 16 + ((v >> (e - 4)) & 15): 16 equal-width buckets per
 * power of two, width 2^(e-4), so bucket_low(i) <= v < bucket_low(i + 1) and the
 * relative width is <= 1/16. Invariant: count == sum of b[i].
 */
#include "lat_hist.h"

void lat_hist_init(struct lat_hist *h)
{
	__builtin_memset(h, 0, sizeof(*h));
}

uint64_t lat_hist_bucket_low(unsigned i)
{
	if (i < LAT_SUB)
		return i;
	unsigned e = i / LAT_SUB + LAT_SUB_BITS - 1, sub = i % LAT_SUB;
	return (uint64_t)(LAT_SUB + sub) << (e - LAT_SUB_BITS);
}

void lat_hist_merge(struct lat_hist *dst, const struct lat_hist *src)
{
	for (unsigned i = 0; i < LAT_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	dst->max = src->max > dst->max ? src->max : dst->max;
}

uint64_t lat_hist_quantile(const struct lat_hist *h, uint32_t q_per_100k)
{
	if (!h->count)
		return 0;
	/* rank = ceil(count * q), at least 1; count < 2^44 keeps this exact. */
	uint64_t rank = (h->count * q_per_100k + 99999) / 100000;
	rank = rank ? rank : 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < LAT_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t hi = i + 1 < LAT_BUCKETS ? lat_hist_bucket_low(i + 1) - 1 : h->max;
			return hi < h->max ? hi : h->max;
		}
	}
	return h->max;
}
