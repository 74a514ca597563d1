/* The admission-rate meter behind estimated_wait_seconds: one bucket per
 * second of the last minute, each stamped with the second it counts, so a
 * bucket left over from an earlier minute is recognised as stale and never
 * needs clearing. A clock that steps back only makes some buckets look like
 * the future; they are ignored until the clock catches up. */
#include "queue/memory_internal.h"

static int64_t bo_memq_second(int64_t now_ms) {
  /* Floor, not truncation, so that times before 1970 stay in order. */
  return now_ms >= 0 ? now_ms / 1000 : -((-now_ms + 999) / 1000);
}

static uint32_t bo_memq_bucket(int64_t second) {
  int64_t b = second % BO_MEMQ_METER_SECONDS;
  return (uint32_t)(b < 0 ? b + BO_MEMQ_METER_SECONDS : b);
}

void bo_memq_meter_init(struct bo_memq_meter *meter) {
  for (uint32_t i = 0; i < BO_MEMQ_METER_SECONDS; i++) {
    meter->buckets[i].second = INT64_MIN;
    meter->buckets[i].count = 0;
  }
}

void bo_memq_meter_record(struct bo_memq_meter *meter, int64_t now_ms) {
  int64_t second = bo_memq_second(now_ms);
  uint32_t b = bo_memq_bucket(second);
  if (meter->buckets[b].second != second) {
    meter->buckets[b].second = second;
    meter->buckets[b].count = 0;
  }
  if (meter->buckets[b].count < UINT32_MAX)
    meter->buckets[b].count++;
}

int64_t bo_memq_meter_count(const struct bo_memq_meter *meter, int64_t now_ms) {
  int64_t now = bo_memq_second(now_ms);
  int64_t total = 0;
  for (uint32_t i = 0; i < BO_MEMQ_METER_SECONDS; i++) {
    int64_t s = meter->buckets[i].second;
    if (s != INT64_MIN && s <= now && s > now - BO_MEMQ_METER_SECONDS)
      total += meter->buckets[i].count;
  }
  return total;
}

int64_t bo_memq_meter_window_start(int64_t now_ms) {
  return (bo_memq_second(now_ms) - (BO_MEMQ_METER_SECONDS - 1)) * 1000;
}
