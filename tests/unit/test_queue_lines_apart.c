/* "Several lines run at once without slowing each other" (issue 6), for
 * the in-process lines: each line has its own lock, so the longest thing
 * one line does under its lock (drawing a big pre-queue) does not hold up
 * a call on another line of the same backend. The test asserts an order
 * of events, not a duration: line B answers a thousand calls while line
 * A's draw is still running. With one lock for both lines B would wait
 * for the whole draw, and the test would fail. */
#include "queue/queue.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <time.h>

#define PRE_QUEUE 300000
#define ON_SALE_MS 1000000

struct drawer {
  struct bo_queue *line;
  atomic_bool started;
  atomic_bool finished;
};

static void *draw_line(void *arg) {
  struct drawer *d = arg;
  atomic_store(&d->started, true);
  int64_t admitted = 0;
  cr_assert_eq(d->line->driver->admit(d->line, ON_SALE_MS, &admitted),
               BO_QUEUE_OK);
  atomic_store(&d->finished, true);
  return NULL;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

Test(queue_lines_apart, a_draw_on_one_line_does_not_hold_up_another,
     .timeout = 120) {
  cr_assert(sodium_init() >= 0);
  char error[256];
  struct bo_queue_backend *backend =
      bo_queue_backend_open("memory", error, sizeof error);
  cr_assert_not_null(backend, "%s", error);
  struct bo_queue_settings settings = {.active_max = 10,
                                       .active_ms = 600000,
                                       .spent_keep_ms = 1000,
                                       .idle_ms = 120000};
  struct bo_queue *a =
      bo_queue_open_line(backend, 1, &settings, error, sizeof error);
  struct bo_queue *b =
      bo_queue_open_line(backend, 2, &settings, error, sizeof error);
  cr_assert(a != NULL && b != NULL, "%s", error);
  struct bo_line_policy policy = {
      .active_max = 10, .admit_cap = -1, .on_sale_at_ms = ON_SALE_MS};
  randombytes_buf(policy.seed, sizeof policy.seed);
  cr_assert_eq(a->driver->configure(a, &policy), BO_QUEUE_OK);
  struct bo_token_info info;
  int created;
  for (int64_t user = 1; user <= PRE_QUEUE; user++)
    cr_assert_eq(a->driver->join(a, user, 0, &info, &created), BO_QUEUE_OK);
  cr_assert(info.pre_queue);

  struct drawer d = {.line = a};
  pthread_t thread;
  cr_assert_eq(pthread_create(&thread, NULL, draw_line, &d), 0);
  while (!atomic_load(&d.started))
    sleep_ms(1);
  sleep_ms(20); /* well inside a draw that takes about a second */
  bool a_was_drawing = !atomic_load(&d.finished);
  int answered = 0;
  for (int64_t user = 1; user <= 1000; user++) {
    cr_assert_eq(b->driver->join(b, user, ON_SALE_MS, &info, &created),
                 BO_QUEUE_OK);
    cr_assert_eq(b->driver->status(b, &info.token, ON_SALE_MS, &info),
                 BO_QUEUE_OK);
    answered++;
  }
  bool a_still_drawing = !atomic_load(&d.finished);
  pthread_join(thread, NULL);
  cr_log_info("line B answered %d joins and %d statuses %s line A's draw of "
              "%d",
              answered, answered, a_still_drawing ? "during" : "NOT during",
              PRE_QUEUE);
  cr_assert(a_was_drawing, "the draw ended before line B was asked: the "
                           "test proves nothing on this machine");
  cr_assert(a_still_drawing, "line B waited for line A's draw");

  struct bo_draw_result draw;
  cr_assert_eq(a->driver->draw_result(a, &draw), BO_QUEUE_OK);
  cr_assert(draw.drawn);
  cr_assert_eq(draw.count, PRE_QUEUE);
  free(draw.entry_ids);
  bo_queue_close(a);
  bo_queue_close(b);
  bo_queue_backend_close(backend);
}
