/* A workload's run from its options to its exit status: one context per
 * thread, each with its thread's share of the virtual users, the run over
 * them, the workload's report, and the freeing.
 *
 * That sequence is the same for every workload, so it lives here once; a
 * workload brings only what is its own: its VU callbacks, its plan (what
 * every thread shares), how a thread's context is filled and emptied, and
 * what it does with the results. */
#ifndef BO_LOAD_RUN_WORKLOAD_H
#define BO_LOAD_RUN_WORKLOAD_H

#include "loop.h"
#include "options.h"
#include "run.h"
#include "target.h"

#include <stdbool.h>
#include <stddef.h>

/* What one thread's context is made from. */
struct bo_load_thread_share {
  void *plan;
  void *vus;    /* `count` zeroed VUs; freed after the workload's teardown */
  size_t first; /* the thread's connections: ids first .. first + count - 1 */
  size_t count;
};

/* What a workload reports from, once its run went through. */
struct bo_load_run_outcome {
  const struct bo_load_options *options;
  void *plan;
  unsigned threads;     /* the count really used */
  const void *contexts; /* an array of `threads` contexts */
  const struct bo_load_run_result *result;
};

/* What a workload brings to its run; the rest is the same for all. */
struct bo_load_workload_parts {
  const struct bo_load_vu_ops *ops;
  void *plan; /* the workload's own, handed to setup and finish */
  size_t context_size;
  size_t vu_size;
  /* Fills a zeroed context; false when it cannot (memory). */
  bool (*setup)(void *context, const struct bo_load_thread_share *share);
  /* Frees what setup took, on every context: also on one that setup left
   * half-made or never saw (zeroed). NULL when there is nothing. */
  void (*teardown)(void *context);
  /* Reports the run and returns the exit status. */
  int (*finish)(const struct bo_load_run_outcome *run);
  /* Said on stderr when the run cannot be set up or started; NULL: what
   * bo_load_run() says is enough. */
  const char *cannot_run;
  double ramp_seconds; /* as in struct bo_load_run_config */
  double measure_after_seconds;
  double run_seconds;
};

/* finish's status, or 1 when the run could not be set up or started. */
int bo_load_run_workload(const struct bo_load_workload_parts *w,
                         const struct bo_load_options *o,
                         const struct bo_load_target *target);

#endif
