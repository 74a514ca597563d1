/* The rate limit of the memory queue (policy.admit_per_minute): a token
 * bucket. Credit fills at admit_per_minute / 60000 admissions per ms, up to
 * one second's worth (at least one admission), and every admission, out of
 * the line or straight in, spends one. A steady crowd is then admitted at
 * the rate, and a line that was quiet for a second may admit a second's
 * worth at once, never more.
 *
 * Integer units (1/60000 of an admission) keep the fill exact at any rate:
 * r per minute is r units per ms. Elapsed time is counted up to one minute,
 * more than enough to fill any bucket, so the product stays far inside
 * int64 (60000 * 10^9). The clock is the wall clock and can step back: the
 * bucket then waits for it to catch up instead of crediting the same time
 * twice. */
#include "queue/memory_internal.h"

#define BO_MEMQ_BUCKET_MAX_ELAPSED_MS INT64_C(60000)

static int64_t bo_memq_bucket_cap(int64_t admit_per_minute) {
  /* One second's worth: admit_per_minute / 60 admissions. */
  int64_t second = admit_per_minute * (BO_MEMQ_CREDIT_UNIT / 60);
  return second > BO_MEMQ_CREDIT_UNIT ? second : BO_MEMQ_CREDIT_UNIT;
}

void bo_memq_bucket_fill(struct bo_memq_bucket *bucket) {
  /* Clamped to whatever the cap is at the next refill. */
  *bucket = (struct bo_memq_bucket){.level = INT64_MAX, .started = false};
}

void bo_memq_bucket_refill(struct bo_memq_bucket *bucket,
                           int64_t admit_per_minute, int64_t now_ms) {
  int64_t cap = bo_memq_bucket_cap(admit_per_minute);
  if (bucket->started && now_ms > bucket->at_ms && bucket->level < cap) {
    int64_t elapsed = now_ms - bucket->at_ms;
    if (elapsed > BO_MEMQ_BUCKET_MAX_ELAPSED_MS)
      elapsed = BO_MEMQ_BUCKET_MAX_ELAPSED_MS;
    bucket->level += elapsed * admit_per_minute;
  }
  if (!bucket->started || now_ms > bucket->at_ms)
    bucket->at_ms = now_ms;
  bucket->started = true;
  if (bucket->level > cap)
    bucket->level = cap;
}

bool bo_memq_bucket_ready(const struct bo_memq_bucket *bucket,
                          int64_t admit_per_minute) {
  return admit_per_minute <= 0 || bucket->level >= BO_MEMQ_CREDIT_UNIT;
}

void bo_memq_bucket_take(struct bo_memq_bucket *bucket,
                         int64_t admit_per_minute) {
  if (admit_per_minute > 0)
    bucket->level -= BO_MEMQ_CREDIT_UNIT;
}
