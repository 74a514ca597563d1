#include "support/concurrent_joins.h"

#include "support/queue_calls.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum {
  THREADS = 8,
  JOINS_PER_THREAD = 500,
  CONC_ACTIVE_MAX = 10,
  MAX_INSTANCES = 2
};

struct joiner {
  struct bo_queue *queue;
  int thread;
  struct bo_token_info infos[JOINS_PER_THREAD];
  int failures;
};

static void *joiner_run(void *arg) {
  struct joiner *j = arg;
  for (int i = 0; i < JOINS_PER_THREAD; i++) {
    int created = 0;
    int64_t user = (int64_t)j->thread * 100000 + i;
    if (j->queue->driver->join(j->queue, user, 5000, &j->infos[i], &created) !=
            BO_QUEUE_OK ||
        !created)
      j->failures++;
  }
  return NULL;
}

static int compare_tokens(const void *a, const void *b) {
  return memcmp(a, b, BO_TOKEN_BYTES);
}

/* Positions 1..W each taken exactly once, and exactly `active` ACTIVE. */
static void assert_line_is_gap_free(const struct bo_token_info *infos,
                                    int count, int active) {
  int waiting = count - active;
  char *seen = calloc((size_t)waiting + 1, 1);
  int n_active = 0;
  for (int i = 0; i < count; i++) {
    if (infos[i].state == BO_TOKEN_ACTIVE) {
      n_active++;
      continue;
    }
    cr_assert_eq(infos[i].state, BO_TOKEN_WAITING);
    cr_assert(infos[i].position >= 1 && infos[i].position <= waiting,
              "position %lld", (long long)infos[i].position);
    cr_assert(!seen[infos[i].position], "position %lld twice",
              (long long)infos[i].position);
    seen[infos[i].position] = 1;
  }
  cr_assert_eq(n_active, active);
  free(seen);
}

void concurrent_joins_keep_one_line(const char *url, int instances) {
  enum { TOTAL = THREADS * JOINS_PER_THREAD };
  cr_assert(instances >= 1 && instances <= MAX_INSTANCES);
  struct bo_queue *queues[MAX_INSTANCES];
  for (int q = 0; q < instances; q++)
    queues[q] = open_queue_at(url, CONC_ACTIVE_MAX, 600000, 1000, LONG_MS);
  struct joiner *joiners = calloc(THREADS, sizeof *joiners);
  pthread_t threads[THREADS];
  for (int t = 0; t < THREADS; t++) {
    joiners[t].queue = queues[t % instances];
    joiners[t].thread = t;
    cr_assert_eq(pthread_create(&threads[t], NULL, joiner_run, &joiners[t]), 0);
  }
  for (int t = 0; t < THREADS; t++)
    pthread_join(threads[t], NULL);

  static struct bo_token_info at_join[TOTAL], now[TOTAL];
  struct bo_token *tokens = calloc(TOTAL, sizeof *tokens);
  for (int t = 0; t < THREADS; t++) {
    cr_assert_eq(joiners[t].failures, 0);
    for (int i = 0; i < JOINS_PER_THREAD; i++) {
      int k = t * JOINS_PER_THREAD + i;
      at_join[k] = joiners[t].infos[i];
      tokens[k] = at_join[k].token;
      now[k] = status_of(queues[k % instances], &tokens[k], 5000);
    }
  }
  /* Each join saw the line as it stood when it ran (under the memory
   * driver's lock, or as one Redis script). */
  assert_line_is_gap_free(at_join, TOTAL, CONC_ACTIVE_MAX);
  assert_line_is_gap_free(now, TOTAL, CONC_ACTIVE_MAX);
  for (int k = 0; k < TOTAL; k++)
    if (at_join[k].state == BO_TOKEN_WAITING)
      cr_assert_eq(now[k].position, at_join[k].position);
  qsort(tokens, TOTAL, sizeof *tokens, compare_tokens);
  for (int k = 1; k < TOTAL; k++)
    cr_assert(!same_token(&tokens[k - 1], &tokens[k]), "duplicate token");
  for (int q = 0; q < instances; q++) {
    struct bo_queue_stats stats = stats_of(queues[q]);
    cr_assert_eq(stats.active, CONC_ACTIVE_MAX);
    cr_assert_eq(stats.waiting, TOTAL - CONC_ACTIVE_MAX);
  }
  free(tokens);
  free(joiners);
  for (int q = 0; q < instances; q++)
    bo_queue_close(queues[q]);
}
