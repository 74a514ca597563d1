#include "booking/demo.h"

#include "booking/catalog.h"
#include "booking/points.h"
#include "booking/users.h"

#include <stdlib.h>

#define DAY_MS (24LL * 3600 * 1000)

struct demo_concert {
  const char *name;
  int64_t price;
  int first_day; /* days from today of its first date */
  /* A line of its own (booking/lines.h): 0 for none, else how many it
   * admits a minute; its on-sale is DEMO_ON_SALE_MS after loading. */
  int64_t line_admit_per_minute;
};

/* Long enough to open the page and join the pre-queue before the draw. */
#define DEMO_ON_SALE_MS (2 * 60 * 1000)

static const struct demo_concert concerts[] = {
    {"IU Golden Hour", 150000, 7, 0},
    {"BTS Yet To Come", 180000, 14, 0},
    {"Seoul Philharmonic: Beethoven 9", 90000, 3, 0},
    {"NewJeans Bunnies Camp (own line, pre-queue)", 120000, 10, 60},
};

static const char *const users[] = {"kim", "lee", "park"};

/* Dates start at 19:00 UTC, `first_day` days from now, then weekly. */
static int64_t show_time(int64_t now_ms, int days_ahead) {
  int64_t midnight = now_ms - now_ms % DAY_MS;
  return midnight + days_ahead * DAY_MS + 19 * 3600 * 1000LL;
}

enum bo_error bo_demo_load(struct bo_app *app, bool *loaded) {
  *loaded = false;
  struct bo_concert_list existing;
  enum bo_error err = bo_catalog_concerts(app, &existing);
  size_t count = existing.count;
  free(existing.items);
  if (err || count > 0)
    return err;

  int64_t now = bo_clock_now_ms(&app->clock);
  for (size_t i = 0; i < sizeof concerts / sizeof concerts[0]; i++) {
    struct bo_new_schedule dates[3];
    for (int d = 0; d < 3; d++)
      dates[d] = (struct bo_new_schedule){
          .starts_at_ms = show_time(now, concerts[i].first_day + 7 * d),
          .seat_count = 50,
          .price = concerts[i].price};
    struct bo_new_line line = {
        .admit_per_minute = concerts[i].line_admit_per_minute,
        .on_sale_at_ms = now + DEMO_ON_SALE_MS,
        .inventory_factor_pct = 100,
    };
    int64_t concert_id;
    err = bo_catalog_create_concert(
        app, concerts[i].name, dates, 3,
        concerts[i].line_admit_per_minute > 0 ? &line : NULL, &concert_id);
    if (err)
      return err;
  }
  for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
    struct bo_user user;
    int64_t balance;
    err = bo_users_create(app, users[i], &user);
    if (!err)
      err = bo_points_charge(app, user.user_id, 500000, NULL, &balance);
    if (err)
      return err;
  }
  *loaded = true;
  return BO_OK;
}
