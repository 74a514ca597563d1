/* Elapsed time for the unit tests that measure a call: a start taken with
 * clock_gettime(CLOCK_MONOTONIC, &start), then seconds_since(&start). */
#ifndef BO_TEST_STOPWATCH_H
#define BO_TEST_STOPWATCH_H

#include <time.h>

double seconds_since(const struct timespec *start);

#endif
