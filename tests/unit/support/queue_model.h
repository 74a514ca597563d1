/* The queue driver tests' randomised check: a deliberately naive model of
 * queue.h's promises (a flat array of every token ever issued, linear
 * scans for everything) and a run that drives a real line and the model
 * side by side with one deterministic random sequence of joins, statuses,
 * leaves and admits, comparing every answer. Both drivers run the same
 * runs, so that they keep the same promises. */
#ifndef BO_TEST_QUEUE_MODEL_H
#define BO_TEST_QUEUE_MODEL_H

#include <stdint.h>

struct model_run {
  int ops, users;
  int64_t active_max, active_ms, spent_keep_ms, idle_ms;
  int64_t max_step_ms;                /* the clock moves 0..this per op */
  int64_t min_longest;                /* the line must grow past this */
  int64_t min_dropped_idle, min_kept; /* idle timeouts must happen, and
                                         asking must save some places */
  uint64_t seed;
};

/* The runs both drivers' tests make. short_line: a short line and many
 * idle timeouts; long_line: many users and slow admission, so the line
 * grows into the hundreds, with holes from leaves and idle timeouts all
 * along it; without_idle_timeouts: as if they did not exist, nobody leaves
 * for want of asking. */
extern const struct model_run model_short_line;
extern const struct model_run model_long_line;
extern const struct model_run model_without_idle_timeouts;

/* Opens a line on `url` with the run's settings, drives it and the model
 * through run.ops steps, closes it; prints a line of figures tagged
 * [suite]. */
void run_against_model(const char *url, const char *suite,
                       struct model_run run);

#endif
