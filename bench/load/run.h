/* A run: the connections split over --threads event loops, started
 * together, and their counts merged once every thread has finished.
 *
 * One context per thread is made beforehand (its share of the
 * connections is bo_load_run_share()), handed in, and the workload reads
 * its own results out of them afterwards (run_workload.h does all that
 * for a workload): threads share nothing while they run except what a
 * workload shares on purpose (an atomic user counter). */
#ifndef BO_LOAD_RUN_H
#define BO_LOAD_RUN_H

#include "loop.h"
#include "stats.h"
#include "target.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bo_load_run_config {
  const struct bo_load_target *target;
  const struct bo_load_vu_ops *ops;
  void *const *contexts; /* one per thread */
  size_t connections;
  unsigned threads; /* at most `connections` */
  uint64_t seed;
  double ramp_seconds;          /* first wakes spread over this */
  double measure_after_seconds; /* requests sent earlier are not counted */
  double run_seconds;           /* 0: until every VU has stopped */
  double timeout_seconds;       /* per request */
};

struct bo_load_run_result {
  struct bo_load_stats stats;
  uint64_t start_ns; /* CLOCK_MONOTONIC */
  uint64_t measure_from_ns;
  uint64_t end_ns;         /* when the last thread finished */
  size_t connections_open; /* at the end, before they were closed */
};

/* Thread `t`'s connections: ids first .. first + count - 1. */
void bo_load_run_share(size_t connections, unsigned threads, unsigned t,
                       size_t *first, size_t *count);

/* False when a thread cannot be set up (memory, epoll, pthread). */
bool bo_load_run(const struct bo_load_run_config *config,
                 struct bo_load_run_result *out);

/* Seconds from the start to the last response (to the end when there
 * was none): the length of a run that ends when its work is done. */
double bo_load_run_busy_seconds(const struct bo_load_run_result *r);

/* The thread count a run will really use for `connections`. */
unsigned bo_load_run_threads(size_t connections, unsigned threads);

#endif
