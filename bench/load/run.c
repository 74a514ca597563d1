#include "run.h"

#include "loop_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct thread_job {
  struct bo_load_loop *loop;
  uint64_t start_ns;
  uint64_t ramp_ns;
  uint64_t measure_from_ns;
  uint64_t end_ns;
  size_t open_at_end;
};

unsigned bo_load_run_threads(size_t connections, unsigned threads) {
  if (threads < 1)
    threads = 1;
  if (connections >= 1 && threads > connections)
    threads = (unsigned)connections;
  return threads;
}

void bo_load_run_share(size_t connections, unsigned threads, unsigned t,
                       size_t *first, size_t *count) {
  *first = connections * t / threads;
  *count = connections * (t + 1) / threads - *first;
}

double bo_load_run_busy_seconds(const struct bo_load_run_result *r) {
  uint64_t last =
      r->stats.last_response_ns ? r->stats.last_response_ns : r->end_ns;
  return last > r->start_ns ? (double)(last - r->start_ns) / 1e9 : 0;
}

static void *thread_main(void *arg) {
  struct thread_job *job = arg;
  bo_loop_run(job->loop, job->start_ns, job->ramp_ns, job->measure_from_ns,
              job->end_ns);
  job->open_at_end = bo_loop_open_connections(job->loop);
  return NULL;
}

static uint64_t seconds_to_ns(double seconds) {
  return seconds > 0 ? (uint64_t)(seconds * 1e9) : 0;
}

bool bo_load_run(const struct bo_load_run_config *config,
                 struct bo_load_run_result *out) {
  unsigned threads = bo_load_run_threads(config->connections, config->threads);
  struct thread_job *jobs = calloc(threads, sizeof *jobs);
  pthread_t *ids = calloc(threads, sizeof *ids);
  bool ok = jobs && ids;
  for (unsigned t = 0; ok && t < threads; t++) {
    size_t first, count;
    bo_load_run_share(config->connections, threads, t, &first, &count);
    struct bo_loop_setup setup = {
        .target = config->target,
        .ops = config->ops,
        .context = config->contexts[t],
        .first_id = first,
        .count = (uint32_t)count,
        .total = config->connections,
        .seed = config->seed,
        .thread_index = t,
        .timeout_ns = seconds_to_ns(config->timeout_seconds),
    };
    jobs[t].loop = bo_loop_create(&setup);
    ok = jobs[t].loop != NULL;
  }
  if (!ok) {
    fprintf(stderr, "bo_load: cannot set up the event loops\n");
    goto done;
  }

  /* One clock for every thread: ramps and the end line up across them. */
  uint64_t start = bo_load_now_ns();
  memset(out, 0, sizeof *out);
  out->start_ns = start;
  out->measure_from_ns = start + seconds_to_ns(config->measure_after_seconds);
  for (unsigned t = 0; t < threads; t++) {
    jobs[t].start_ns = start;
    jobs[t].ramp_ns = seconds_to_ns(config->ramp_seconds);
    jobs[t].measure_from_ns = out->measure_from_ns;
    jobs[t].end_ns = config->run_seconds > 0
                         ? start + seconds_to_ns(config->run_seconds)
                         : 0;
  }
  unsigned started = 0;
  for (; started < threads; started++) {
    if (pthread_create(&ids[started], NULL, thread_main, &jobs[started]) != 0) {
      fprintf(stderr, "bo_load: cannot start thread %u\n", started);
      ok = false;
      break;
    }
  }
  for (unsigned t = 0; t < started; t++)
    pthread_join(ids[t], NULL);
  out->end_ns = bo_load_now_ns();
  bo_load_stats_init(&out->stats);
  for (unsigned t = 0; t < started; t++) {
    bo_load_stats_merge(&out->stats, &jobs[t].loop->stats);
    out->connections_open += jobs[t].open_at_end;
  }

done:
  if (jobs)
    for (unsigned t = 0; t < threads; t++)
      bo_loop_destroy(jobs[t].loop);
  free(jobs);
  free(ids);
  return ok;
}
