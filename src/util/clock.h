/* An injectable clock. Everything that asks "what time is it" asks a
 * struct bo_clock, so tests move time forward by hand and expiry is tested
 * without sleeping. Times are milliseconds since the Unix epoch, UTC. */
#ifndef BO_UTIL_CLOCK_H
#define BO_UTIL_CLOCK_H

#include <stdint.h>

struct bo_clock {
  int64_t (*now_ms)(void *ctx);
  void *ctx;
};

static inline int64_t bo_clock_now_ms(const struct bo_clock *clock) {
  return clock->now_ms(clock->ctx);
}

/* The wall clock (CLOCK_REALTIME). */
struct bo_clock bo_clock_system(void);

/* A monotonic reading in nanoseconds, for measuring durations only. */
int64_t bo_clock_monotonic_ns(void);

#endif
