#include "util/clock.h"

#include <time.h>

static int64_t system_now_ms(void *ctx) {
  (void)ctx;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct bo_clock bo_clock_system(void) {
  return (struct bo_clock){.now_ms = system_now_ms, .ctx = NULL};
}

int64_t bo_clock_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
