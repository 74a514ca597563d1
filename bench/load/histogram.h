/* A latency histogram: log-linear buckets over 1 µs .. 60 s.
 *
 * Values below 128 µs get a bucket each; above, every power of two is cut
 * into 128 equal buckets, so a bucket is never wider than 1/128 of the
 * values it holds and a reported percentile is within 0.8% of the truth.
 * That is HdrHistogram's layout with two significant decimal digits, small
 * enough (20 KiB) to give each thread its own and merge them at the end,
 * so recording needs neither a lock nor an allocation. */
#ifndef BO_LOAD_HISTOGRAM_H
#define BO_LOAD_HISTOGRAM_H

#include <stdint.h>

#define BO_HIST_SUB_BUCKETS 128
#define BO_HIST_MAX_US 60000000u /* larger values count as 60 s */
/* 60 s is below 2^26 µs: 19 halvings above 128 µs, one row of 128 below. */
#define BO_HIST_BUCKETS (20 * BO_HIST_SUB_BUCKETS)

struct bo_hist {
  uint64_t counts[BO_HIST_BUCKETS];
  uint64_t total;
  uint64_t max_us;
  uint64_t sum_us;
};

void bo_hist_init(struct bo_hist *h);
void bo_hist_record_us(struct bo_hist *h, uint64_t us);
void bo_hist_record_ns(struct bo_hist *h, uint64_t ns);
/* Adds `from` into `into`. */
void bo_hist_merge(struct bo_hist *into, const struct bo_hist *from);
/* The value at quantile q (0..1) in microseconds, 0 when empty: the
 * middle of the bucket holding that rank, never above the exact maximum. */
double bo_hist_quantile_us(const struct bo_hist *h, double q);
double bo_hist_mean_us(const struct bo_hist *h);

#endif
