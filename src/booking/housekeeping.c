#include "booking/housekeeping.h"

#include "booking/holds.h"
#include "booking/lines.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

/* Admission runs every ADMIT_INTERVAL_MS so a freed slot is taken well
 * within the promised second; the hold sweep is a bulk UPDATE and needs the
 * write lock, so it runs once a second. */
#define ADMIT_INTERVAL_MS 100
#define SWEEP_EVERY_N_TICKS 10

struct bo_housekeeping {
  struct bo_app *app;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  bool stopping;
};

void bo_housekeeping_admit(struct bo_app *app) {
  bo_lines_tick(app, bo_clock_now_ms(&app->clock));
}

void bo_housekeeping_release_holds(struct bo_app *app) {
  int released = 0;
  enum bo_error err = bo_holds_release_expired(app, &released);
  if (err)
    bo_log_warn("msg=\"hold sweep failed\" code=%s", bo_error_info(err)->code);
}

static struct timespec deadline_after_ms(int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_nsec += (long)ms * 1000000L;
  ts.tv_sec += ts.tv_nsec / 1000000000L;
  ts.tv_nsec %= 1000000000L;
  return ts;
}

static void *run(void *arg) {
  struct bo_housekeeping *hk = arg;
  unsigned tick = 0;
  pthread_mutex_lock(&hk->lock);
  while (!hk->stopping) {
    pthread_mutex_unlock(&hk->lock);
    bo_housekeeping_admit(hk->app);
    if (++tick % SWEEP_EVERY_N_TICKS == 0)
      bo_housekeeping_release_holds(hk->app);
    pthread_mutex_lock(&hk->lock);
    struct timespec deadline = deadline_after_ms(ADMIT_INTERVAL_MS);
    while (!hk->stopping &&
           pthread_cond_timedwait(&hk->wake, &hk->lock, &deadline) != ETIMEDOUT)
      ;
  }
  pthread_mutex_unlock(&hk->lock);
  return NULL;
}

struct bo_housekeeping *bo_housekeeping_start(struct bo_app *app) {
  struct bo_housekeeping *hk = calloc(1, sizeof *hk);
  if (!hk)
    return NULL;
  hk->app = app;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&hk->wake, &attr);
  pthread_condattr_destroy(&attr);
  pthread_mutex_init(&hk->lock, NULL);
  if (pthread_create(&hk->thread, NULL, run, hk) != 0) {
    pthread_cond_destroy(&hk->wake);
    pthread_mutex_destroy(&hk->lock);
    free(hk);
    return NULL;
  }
  return hk;
}

void bo_housekeeping_stop(struct bo_housekeeping *hk) {
  if (!hk)
    return;
  pthread_mutex_lock(&hk->lock);
  hk->stopping = true;
  pthread_cond_signal(&hk->wake);
  pthread_mutex_unlock(&hk->lock);
  pthread_join(hk->thread, NULL);
  pthread_cond_destroy(&hk->wake);
  pthread_mutex_destroy(&hk->lock);
  free(hk);
}
