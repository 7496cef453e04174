/* lat_hist.h: a log-linear latency histogram (HdrHistogram-like, 16 sub-buckets
 * per power of two, so a reported percentile is within 1/16 of the true value).
 * Freestanding, no floating point (the guest builds with -mgeneral-regs-only). */
#ifndef WL_LAT_HIST_H
#define WL_LAT_HIST_H

#include <stdint.h>

#define LAT_SUB_BITS 4
#define LAT_SUB	     (1u << LAT_SUB_BITS)
#define LAT_BUCKETS  ((64 - LAT_SUB_BITS + 1) * LAT_SUB)

struct lat_hist {
	uint64_t count;
	uint64_t max;
	uint64_t sum;
	uint64_t b[LAT_BUCKETS];
};

void lat_hist_init(struct lat_hist *h);
/* Bucket index of v (see lat_hist.c); inline: the replay adds on its hot path. */
static inline unsigned lat_hist_index(uint64_t v)
{
	if (v < LAT_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);
	return (e - LAT_SUB_BITS + 1) * LAT_SUB +
	       (unsigned)((v >> (e - LAT_SUB_BITS)) & (LAT_SUB - 1));
}
/* Records one value. */
static inline void lat_hist_add(struct lat_hist *h, uint64_t v)
{
	h->b[lat_hist_index(v)]++;
	h->count++;
	h->sum += v;
	h->max = v > h->max ? v : h->max;
}
/* dst += src. */
void lat_hist_merge(struct lat_hist *dst, const struct lat_hist *src);
/* The q quantile, q in parts per 100000 (50000 = p50, 99900 = p99.9): the upper
 * bound of the bucket holding that rank, capped at max. 0 when empty. */
uint64_t lat_hist_quantile(const struct lat_hist *h, uint32_t q_per_100k);
/* The smallest value of bucket i (exposed for tests). */
uint64_t lat_hist_bucket_low(unsigned i);

#endif
