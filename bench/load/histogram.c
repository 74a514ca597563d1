#include "histogram.h"

#include <math.h>
#include <string.h>

void bo_hist_init(struct bo_hist *h) {
  memset(h, 0, sizeof *h);
}

static unsigned bucket_of(uint64_t us) {
  if (us < BO_HIST_SUB_BUCKETS)
    return (unsigned)us;
  unsigned top_bit = 63u - (unsigned)__builtin_clzll(us); /* >= 7 */
  unsigned shift = top_bit - 7u;
  unsigned mantissa = (unsigned)(us >> shift); /* 128 .. 255 */
  return (shift + 1u) * BO_HIST_SUB_BUCKETS + (mantissa - BO_HIST_SUB_BUCKETS);
}

/* The smallest value of bucket `b` and the bucket's width. */
static void bucket_range(unsigned b, uint64_t *low, uint64_t *width) {
  if (b < BO_HIST_SUB_BUCKETS) {
    *low = b;
    *width = 1;
    return;
  }
  unsigned shift = b / BO_HIST_SUB_BUCKETS - 1u;
  uint64_t mantissa = BO_HIST_SUB_BUCKETS + b % BO_HIST_SUB_BUCKETS;
  *low = mantissa << shift;
  *width = (uint64_t)1 << shift;
}

void bo_hist_record_us(struct bo_hist *h, uint64_t us) {
  if (us > BO_HIST_MAX_US)
    us = BO_HIST_MAX_US;
  h->counts[bucket_of(us)]++;
  h->total++;
  h->sum_us += us;
  if (us > h->max_us)
    h->max_us = us;
}

void bo_hist_record_ns(struct bo_hist *h, uint64_t ns) {
  bo_hist_record_us(h, (ns + 500) / 1000);
}

void bo_hist_merge(struct bo_hist *into, const struct bo_hist *from) {
  for (unsigned b = 0; b < BO_HIST_BUCKETS; b++)
    into->counts[b] += from->counts[b];
  into->total += from->total;
  into->sum_us += from->sum_us;
  if (from->max_us > into->max_us)
    into->max_us = from->max_us;
}

double bo_hist_quantile_us(const struct bo_hist *h, double q) {
  if (h->total == 0)
    return 0;
  uint64_t rank = (uint64_t)ceil(q * (double)h->total);
  if (rank < 1)
    rank = 1;
  uint64_t seen = 0;
  for (unsigned b = 0; b < BO_HIST_BUCKETS; b++) {
    seen += h->counts[b];
    if (seen >= rank) {
      uint64_t low, width;
      bucket_range(b, &low, &width);
      double middle = (double)low + (double)(width - 1) / 2.0;
      return middle > (double)h->max_us ? (double)h->max_us : middle;
    }
  }
  return (double)h->max_us;
}

double bo_hist_mean_us(const struct bo_hist *h) {
  return h->total ? (double)h->sum_us / (double)h->total : 0;
}
