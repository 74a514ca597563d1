#include "support/stopwatch.h"

double seconds_since(const struct timespec *start) {
  struct timespec end;
  clock_gettime(CLOCK_MONOTONIC, &end);
  return (double)(end.tv_sec - start->tv_sec) +
         (double)(end.tv_nsec - start->tv_nsec) / 1e9;
}
