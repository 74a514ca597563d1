#include "run_workload.h"

#include <stdio.h>
#include <stdlib.h>

/* The contexts of every thread, and the VU arrays that they point to. */
struct threads {
  unsigned count;
  char *storage; /* `count` contexts of the workload's size, in a row */
  void **contexts;
  void **vus;
};

static void *context_of(const struct bo_load_workload_parts *w,
                        const struct threads *th, unsigned t) {
  return th->storage + (size_t)t * w->context_size;
}

static bool threads_setup(const struct bo_load_workload_parts *w,
                          size_t connections, struct threads *th) {
  th->storage = calloc(th->count, w->context_size);
  th->contexts = calloc(th->count, sizeof *th->contexts);
  th->vus = calloc(th->count, sizeof *th->vus);
  bool ok = th->storage && th->contexts && th->vus;
  for (unsigned t = 0; ok && t < th->count; t++) {
    struct bo_load_thread_share share = {.plan = w->plan};
    bo_load_run_share(connections, th->count, t, &share.first, &share.count);
    th->contexts[t] = context_of(w, th, t);
    th->vus[t] = share.vus = calloc(share.count, w->vu_size);
    ok = share.vus && w->setup(th->contexts[t], &share);
  }
  return ok;
}

static void threads_free(const struct bo_load_workload_parts *w,
                         struct threads *th) {
  for (unsigned t = 0; th->storage && t < th->count; t++)
    if (w->teardown)
      w->teardown(context_of(w, th, t));
  for (unsigned t = 0; th->vus && t < th->count; t++)
    free(th->vus[t]);
  free(th->storage);
  free(th->contexts);
  free(th->vus);
}

int bo_load_run_workload(const struct bo_load_workload_parts *w,
                         const struct bo_load_options *o,
                         const struct bo_load_target *target) {
  size_t connections = (size_t)o->connections;
  struct threads th = {
      .count = bo_load_run_threads(connections, (unsigned)o->threads)};
  bool ok = threads_setup(w, connections, &th);
  struct bo_load_run_config config = {
      .target = target,
      .ops = w->ops,
      .contexts = th.contexts,
      .connections = connections,
      .threads = th.count,
      .seed = o->seed,
      .ramp_seconds = w->ramp_seconds,
      .measure_after_seconds = w->measure_after_seconds,
      .run_seconds = w->run_seconds,
      .timeout_seconds = o->timeout_seconds,
  };
  struct bo_load_run_result result;
  int status = 1;
  if (ok && bo_load_run(&config, &result)) {
    struct bo_load_run_outcome run = {.options = o,
                                      .plan = w->plan,
                                      .threads = th.count,
                                      .contexts = th.storage,
                                      .result = &result};
    status = w->finish(&run);
  } else if (w->cannot_run) {
    fprintf(stderr, "%s\n", w->cannot_run);
  }
  threads_free(w, &th);
  return status;
}
