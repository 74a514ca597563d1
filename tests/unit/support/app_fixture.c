#include "support/app_fixture.h"

#include "booking/admission.h"
#include "booking/catalog.h"
#include "booking/lines.h"
#include "booking/points.h"
#include "booking/users.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int64_t fake_now(void *ctx) {
  return ((struct app_fixture *)ctx)->now_ms;
}

void app_fixture_open(struct app_fixture *fx, int64_t active_max) {
  cr_assert(sodium_init() >= 0);
  *fx = (struct app_fixture){.now_ms = 1800000000000LL};
  snprintf(fx->dir, sizeof fx->dir, "/tmp/bo-rules-XXXXXX");
  cr_assert_not_null(mkdtemp(fx->dir));
  struct bo_settings *s = &fx->app.settings;
  snprintf(s->db_url, sizeof s->db_url, "sqlite:%s/test.db", fx->dir);
  snprintf(s->queue_url, sizeof s->queue_url, "memory");
  s->hold_seconds = 300;
  s->active_max = active_max;
  s->active_seconds = 600;
  s->idle_seconds = 86400; /* rule tests move the clock by hours */
  fx->app.clock = (struct bo_clock){.now_ms = fake_now, .ctx = fx};

  char error[256] = "";
  fx->app.store = bo_store_open(s->db_url, error, sizeof error);
  cr_assert_not_null(fx->app.store, "store: %s", error);
  cr_assert_eq(fx->app.store->driver->migrate(fx->app.store), BO_STORE_OK);
  struct bo_queue_settings qs = {.active_max = active_max,
                                 .active_ms = s->active_seconds * 1000,
                                 .idle_ms = s->idle_seconds * 1000,
                                 .spent_keep_ms = 3600 * 1000};
  fx->app.lines = bo_lines_open(&fx->app, &qs, error, sizeof error);
  cr_assert_not_null(fx->app.lines, "lines: %s", error);
  fx->app.queue = bo_lines_global(fx->app.lines);
  static const char *const names[] = {"/x"};
  fx->app.metrics = bo_metrics_create(names, 1);
  cr_assert_not_null(fx->app.metrics);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

void app_fixture_close(struct app_fixture *fx) {
  bo_metrics_destroy(fx->app.metrics);
  bo_lines_close(fx->app.lines);
  bo_store_close(fx->app.store);
  nftw(fx->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

void app_fixture_advance(struct app_fixture *fx, int64_t ms) {
  fx->now_ms += ms;
}

int64_t fixture_user(struct app_fixture *fx, const char *name, int64_t points) {
  struct bo_user user;
  cr_assert_eq(bo_users_create(&fx->app, name, &user), BO_OK);
  if (points > 0) {
    int64_t balance;
    cr_assert_eq(
        bo_points_charge(&fx->app, user.user_id, points, NULL, &balance),
        BO_OK);
  }
  return user.user_id;
}

int64_t fixture_schedule(struct app_fixture *fx, int64_t starts_in_ms,
                         int32_t seats, int64_t price) {
  struct bo_new_schedule s = {.starts_at_ms = fx->now_ms + starts_in_ms,
                              .seat_count = seats,
                              .price = price};
  int64_t concert_id;
  cr_assert_eq(bo_catalog_create_concert(&fx->app, "test concert", &s, 1, NULL,
                                         &concert_id),
               BO_OK);
  return s.schedule_id;
}

struct bo_token_info fixture_active_token(struct app_fixture *fx,
                                          int64_t user_id) {
  struct bo_token_info info;
  bool created;
  cr_assert_eq(bo_admission_issue(&fx->app, user_id, 0, &info, &created),
               BO_OK);
  cr_assert_eq(info.state, BO_TOKEN_ACTIVE);
  return info;
}
