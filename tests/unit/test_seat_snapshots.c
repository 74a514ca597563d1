/* Seat map snapshots: the cache itself (booking/seat_snapshots.c), then the
 * promise the seat map endpoint makes with it, driven through its handler
 * on a real SQLite store with the clock moved by hand: this instance's own
 * changes show at once, a hold that runs out shows at once, and a change
 * made behind the instance's back (another instance) shows within the
 * snapshot's age and not before. */
#include "api/api.h"
#include "booking/catalog.h"
#include "booking/holds.h"
#include "booking/payments.h"
#include "booking/seat_snapshots.h"
#include "support/app_fixture.h"
#include "util/token.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_AGE_MS 500
#define HOUR_MS (3600 * 1000LL)

/* ---- The cache -------------------------------------------------------- */

static bool get_text(struct bo_seat_snapshots *s, int64_t id, int64_t now,
                     char out[64], uint64_t *version) {
  char *text;
  size_t len;
  int32_t available;
  bool hit =
      bo_seat_snapshots_get(s, id, now, &text, &len, &available, version);
  if (hit) {
    cr_assert_lt(len, (size_t)64);
    memcpy(out, text, len);
    out[len] = '\0';
    free(text);
  }
  return hit;
}

Test(seat_snapshots, served_until_max_age_then_missed) {
  struct bo_seat_snapshots *s = bo_seat_snapshots_new(MAX_AGE_MS);
  char text[64];
  uint64_t v;
  cr_assert_not(get_text(s, 7, 1000, text, &v), "empty cache hit");
  bo_seat_snapshots_put(s, 7, v, 1000, 0, 1, "map-7", 5);
  cr_assert(get_text(s, 7, 1000 + MAX_AGE_MS - 1, text, &v));
  cr_assert_str_eq(text, "map-7");
  cr_assert_not(get_text(s, 8, 1001, text, &v), "another schedule hit");
  cr_assert_not(get_text(s, 7, 1000 + MAX_AGE_MS, text, &v),
                "served at its max age");
  bo_seat_snapshots_free(s);
}

Test(seat_snapshots, a_published_change_drops_the_map) {
  struct bo_seat_snapshots *s = bo_seat_snapshots_new(MAX_AGE_MS);
  char text[64];
  uint64_t v;
  get_text(s, 7, 1000, text, &v);
  bo_seat_snapshots_put(s, 7, v, 1000, 0, 1, "old", 3);
  bo_seat_snapshots_changed(s, 7);
  cr_assert_not(get_text(s, 7, 1001, text, &v), "served after a change");
  bo_seat_snapshots_free(s);
}

Test(seat_snapshots, a_map_read_before_a_change_is_not_stored) {
  struct bo_seat_snapshots *s = bo_seat_snapshots_new(MAX_AGE_MS);
  char text[64];
  uint64_t v;
  get_text(s, 7, 1000, text, &v);  /* a reader starts its database read */
  bo_seat_snapshots_changed(s, 7); /* a hold commits meanwhile */
  bo_seat_snapshots_put(s, 7, v, 1002, 0, 1, "pre-change", 10);
  cr_assert_not(get_text(s, 7, 1003, text, &v),
                "a map the change overtook was stored");
  bo_seat_snapshots_free(s);
}

Test(seat_snapshots, not_served_past_its_first_hold_running_out) {
  struct bo_seat_snapshots *s = bo_seat_snapshots_new(MAX_AGE_MS);
  char text[64];
  uint64_t v;
  get_text(s, 7, 1000, text, &v);
  bo_seat_snapshots_put(s, 7, v, 1000, 1100, 1, "held", 4);
  cr_assert(get_text(s, 7, 1099, text, &v));
  cr_assert_not(get_text(s, 7, 1100, text, &v), "served past a hold's end");
  bo_seat_snapshots_free(s);
}

Test(seat_snapshots, the_count_comes_with_or_without_the_map) {
  struct bo_seat_snapshots *s = bo_seat_snapshots_new(MAX_AGE_MS);
  uint64_t v;
  int32_t available = -1;
  cr_assert_not(bo_seat_snapshots_get(s, 7, 1000, NULL, NULL, &available, &v));
  bo_seat_snapshots_put(s, 7, v, 1000, 0, 42, "map", 3);
  cr_assert(bo_seat_snapshots_get(s, 7, 1001, NULL, NULL, &available, &v));
  cr_assert_eq(available, 42);
  bo_seat_snapshots_free(s);
}

Test(seat_snapshots, off_at_age_zero_and_when_absent) {
  struct bo_seat_snapshots *s = bo_seat_snapshots_new(0);
  char text[64];
  uint64_t v;
  bo_seat_snapshots_put(s, 7, 0, 1000, 0, 1, "x", 1);
  cr_assert_not(get_text(s, 7, 1000, text, &v));
  bo_seat_snapshots_free(s);
  cr_assert_not(get_text(NULL, 7, 1000, text, &v));
  bo_seat_snapshots_changed(NULL, 7); /* no-op, no crash */
}

/* ---- The endpoint ----------------------------------------------------- */

static struct app_fixture fx;
static void setup(void) {
  app_fixture_open(&fx, 100);
  fx.app.seat_snapshots = bo_seat_snapshots_new(MAX_AGE_MS);
  cr_assert_not_null(fx.app.seat_snapshots);
}
static void teardown(void) {
  bo_seat_snapshots_free(fx.app.seat_snapshots);
  app_fixture_close(&fx);
}
TestSuite(seatmap, .init = setup, .fini = teardown);

/* Seat `number`'s status as GET /schedules/{id}/seats answers now. */
static char *served_status(const struct bo_token_info *token,
                           int64_t schedule_id, int number) {
  char text[BO_TOKEN_TEXT_LEN + 1], bearer[BO_TOKEN_TEXT_LEN + 16];
  bo_token_encode(&token->token, text);
  snprintf(bearer, sizeof bearer, "Bearer %s", text);
  struct bo_request req = {.method = "GET",
                           .path = "/api/v1/schedules/x/seats",
                           .route = "/api/v1/schedules/{id}/seats",
                           .authorization = bearer,
                           .path_ids = {schedule_id},
                           .path_id_count = 1};
  struct bo_reply reply = {0};
  bo_api_schedules_seats(&fx.app, &req, &reply);
  cr_assert_eq(reply.status, 200);
  size_t len;
  const char *body = bo_reply_body(&reply, &len);
  json_error_t error;
  json_t *root = json_loadb(body, len, 0, &error);
  cr_assert_not_null(root, "not JSON: %s", error.text);
  json_t *seat = json_array_get(json_object_get(root, "items"), number - 1);
  cr_assert_eq(json_integer_value(json_object_get(seat, "seatNumber")), number);
  char *status = strdup(json_string_value(json_object_get(seat, "status")));
  json_decref(root);
  bo_reply_clear(&reply);
  return status;
}

static void assert_served(const struct bo_token_info *token,
                          int64_t schedule_id, int number, const char *expected,
                          const char *why) {
  char *status = served_status(token, schedule_id, number);
  cr_assert_str_eq(status, expected, "%s", why);
  free(status);
}

struct sneak_ctx {
  int64_t schedule_id, user_id, now_ms;
  struct bo_seat seat;
};

/* A hold made straight in the database, as another instance would: nothing
 * is published to this instance's snapshots. */
static enum bo_store_status sneak_hold_tx(struct bo_store_tx *tx, void *arg) {
  struct sneak_ctx *c = arg;
  return bo_store_op(tx)->seat_hold(tx, c->schedule_id, 3, c->user_id,
                                    c->now_ms, c->now_ms + HOUR_MS, &c->seat);
}

Test(seatmap, another_instances_hold_shows_within_the_max_age) {
  int64_t user = fixture_user(&fx, "kim", 0);
  int64_t schedule = fixture_schedule(&fx, 24 * HOUR_MS, 50, 1000);
  struct bo_token_info token = fixture_active_token(&fx, user);
  assert_served(&token, schedule, 3, "AVAILABLE", "before anything");

  struct sneak_ctx c = {schedule, user, fx.now_ms, {0}};
  cr_assert_eq(bo_store_transaction(fx.app.store, true, sneak_hold_tx, &c),
               BO_STORE_OK);
  app_fixture_advance(&fx, MAX_AGE_MS - 1);
  assert_served(&token, schedule, 3, "AVAILABLE",
                "within the max age the snapshot is served (it is used)");
  app_fixture_advance(&fx, 1);
  assert_served(&token, schedule, 3, "HELD",
                "at the max age the map is read again");
}

Test(seatmap, this_instances_changes_show_at_once) {
  int64_t user = fixture_user(&fx, "kim", 100000);
  int64_t schedule = fixture_schedule(&fx, 24 * HOUR_MS, 50, 1000);
  struct bo_token_info token = fixture_active_token(&fx, user);
  assert_served(&token, schedule, 5, "AVAILABLE", "before the hold");

  struct bo_reservation held, cancelled;
  cr_assert_eq(bo_holds_reserve(&fx.app, user, schedule, 5, &held), BO_OK);
  assert_served(&token, schedule, 5, "HELD", "own hold, same instant");
  cr_assert_eq(bo_holds_cancel(&fx.app, user, held.reservation_id, &cancelled),
               BO_OK);
  assert_served(&token, schedule, 5, "AVAILABLE", "own cancel, same instant");

  cr_assert_eq(bo_holds_reserve(&fx.app, user, schedule, 5, &held), BO_OK);
  assert_served(&token, schedule, 5, "HELD", "held again");
  struct bo_payment_result paid;
  cr_assert_eq(
      bo_payments_pay(&fx.app, &token, held.reservation_id, NULL, &paid),
      BO_OK);
  struct bo_token_info other = fixture_active_token(
      &fx, fixture_user(&fx, "lee", 0)); /* the payment spent kim's token */
  assert_served(&other, schedule, 5, "SOLD", "own payment, same instant");
}

Test(seatmap, a_hold_running_out_shows_at_once) {
  int64_t user = fixture_user(&fx, "kim", 0);
  int64_t schedule = fixture_schedule(&fx, 24 * HOUR_MS, 50, 1000);
  struct bo_token_info token = fixture_active_token(&fx, user);
  struct bo_reservation held;
  cr_assert_eq(bo_holds_reserve(&fx.app, user, schedule, 9, &held), BO_OK);
  /* Built 1 ms before the hold's end: it would be fresh for MAX_AGE_MS
   * more, but not past the hold. */
  app_fixture_advance(&fx, fx.app.settings.hold_seconds * 1000 - 1);
  assert_served(&token, schedule, 9, "HELD", "the last held millisecond");
  app_fixture_advance(&fx, 1);
  assert_served(&token, schedule, 9, "AVAILABLE",
                "the hold ran out: AVAILABLE at once (API.md)");
}

/* ---- The dates' counts ------------------------------------------------- */

/* GET /concerts/{id}/schedules as the handler answers now: the
 * availableSeats of each listed date by id, -1 for a date not listed. */
static void served_counts(const struct bo_token_info *token, int64_t concert_id,
                          const int64_t *ids, int n, int *counts) {
  char text[BO_TOKEN_TEXT_LEN + 1], bearer[BO_TOKEN_TEXT_LEN + 16];
  bo_token_encode(&token->token, text);
  snprintf(bearer, sizeof bearer, "Bearer %s", text);
  struct bo_request req = {.method = "GET",
                           .path = "/api/v1/concerts/x/schedules",
                           .route = "/api/v1/concerts/{id}/schedules",
                           .authorization = bearer,
                           .path_ids = {concert_id},
                           .path_id_count = 1};
  struct bo_reply reply = {0};
  bo_api_concerts_schedules(&fx.app, &req, &reply);
  cr_assert_eq(reply.status, 200);
  size_t len;
  const char *body = bo_reply_body(&reply, &len);
  json_t *root = json_loadb(body, len, 0, NULL);
  cr_assert_not_null(root);
  for (int i = 0; i < n; i++) {
    counts[i] = -1;
    size_t k;
    json_t *item;
    json_array_foreach(json_object_get(root, "items"), k, item) {
      if (json_integer_value(json_object_get(item, "scheduleId")) == ids[i])
        counts[i] =
            (int)json_integer_value(json_object_get(item, "availableSeats"));
    }
  }
  json_decref(root);
  bo_reply_clear(&reply);
}

/* Few dates without a snapshot are read one by one; more than 16 at once
 * are all read in one query. Both store snapshots and must count the
 * same. */
Test(seatmap, dates_count_the_same_from_snapshots_or_in_one_query) {
  enum { DATES = 19 };
  int64_t user = fixture_user(&fx, "kim", 0);
  struct bo_new_schedule dates[DATES];
  for (int i = 0; i < DATES; i++)
    dates[i] = (struct bo_new_schedule){.starts_at_ms =
                                            fx.now_ms + (i + 1) * 24 * HOUR_MS,
                                        .seat_count = i == 0 ? 1 : 3,
                                        .price = 1000};
  int64_t concert;
  cr_assert_eq(bo_catalog_create_concert(&fx.app, "many dates", dates, DATES,
                                         NULL, &concert),
               BO_OK);
  int64_t ids[DATES];
  for (int i = 0; i < DATES; i++)
    ids[i] = dates[i].schedule_id;
  struct bo_token_info token = fixture_active_token(&fx, user);
  struct bo_reservation held;
  cr_assert_eq(bo_holds_reserve(&fx.app, user, ids[0], 1, &held), BO_OK);
  cr_assert_eq(bo_holds_reserve(&fx.app, user, ids[3], 2, &held), BO_OK);
  int expected[DATES];
  for (int i = 0; i < DATES; i++)
    expected[i] = i == 0 ? -1 : i == 3 ? 2 : 3; /* date 0 sold out */

  int counts[DATES];
  served_counts(&token, concert, ids, DATES, counts); /* 19 miss: one read */
  for (int i = 0; i < DATES; i++)
    cr_assert_eq(counts[i], expected[i], "aggregate, date %d: %d", i,
                 counts[i]);

  /* Seat maps of all but 2 dates: those 2 are read one by one. */
  for (int i = 2; i < DATES; i++)
    free(served_status(&token, ids[i], 1));
  served_counts(&token, concert, ids, DATES, counts);
  for (int i = 0; i < DATES; i++)
    cr_assert_eq(counts[i], expected[i], "snapshots, date %d: %d", i,
                 counts[i]);

  /* A change through this instance shows at once in the count too. */
  cr_assert_eq(bo_holds_reserve(&fx.app, user, ids[5], 3, &held), BO_OK);
  served_counts(&token, concert, ids, DATES, counts);
  cr_assert_eq(counts[5], 2);
}
