/* Per-concert lines through the registry (booking/lines.c) and admission:
 * scoped tokens, the inventory cap, sold-out closing, operator changes,
 * the pre-queue's draw, and the token body's line fields. In-process
 * queue, SQLite, a fake clock. */
#include "api/common.h"
#include "booking/admission.h"
#include "booking/catalog.h"
#include "booking/holds.h"
#include "booking/housekeeping.h"
#include "booking/lines.h"
#include "booking/payments.h"
#include "support/app_fixture.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

static struct app_fixture fx;
static void setup(void) {
  app_fixture_open(&fx, 10);
}
static void teardown(void) {
  app_fixture_close(&fx);
}
TestSuite(line_registry, .init = setup, .fini = teardown);

#define PRICE 1000

/* A concert with its own line and one date of `seats` seats, an hour
 * ahead; *schedule_id is that date. */
static int64_t lined_concert(int32_t seats, int32_t factor_pct,
                             int64_t on_sale_at_ms, int64_t *schedule_id) {
  struct bo_new_schedule s = {.starts_at_ms = fx.now_ms + 3600 * 1000,
                              .seat_count = seats,
                              .price = PRICE};
  struct bo_new_line line = {.inventory_factor_pct = factor_pct,
                             .on_sale_at_ms = on_sale_at_ms};
  int64_t concert_id = 0;
  cr_assert_eq(
      bo_catalog_create_concert(&fx.app, "lined", &s, 1, &line, &concert_id),
      BO_OK);
  if (schedule_id != NULL)
    *schedule_id = s.schedule_id;
  return concert_id;
}

static struct bo_token_info issue(int64_t user_id, int64_t concert_id,
                                  enum bo_error want) {
  struct bo_token_info info = {0};
  bool created = false;
  cr_assert_eq(
      bo_admission_issue(&fx.app, user_id, concert_id, &info, &created), want);
  return info;
}

static enum bo_error check(const struct bo_token_info *info,
                           struct bo_token_info *out) {
  char text[BO_SCOPED_TOKEN_TEXT_MAX + 1];
  bo_token_encode_scoped(info->line_id, &info->token, text);
  return bo_admission_check(&fx.app, text, BO_NEED_LIVE, out);
}

/* The token body as JSON; the caller json_decref()s it. */
static json_t *body_of(const struct bo_token_info *info) {
  char text[1024];
  cr_assert_gt(bo_api_token_body(&fx.app, info, text, sizeof text), 0);
  json_error_t error;
  json_t *root = json_loads(text, 0, &error);
  cr_assert_not_null(root, "body is not JSON: %s", text);
  return root;
}

static void buy(int64_t user_id, int64_t schedule_id, int32_t seat,
                const struct bo_token_info *token) {
  struct bo_reservation r;
  cr_assert_eq(bo_holds_reserve(&fx.app, user_id, schedule_id, seat, &r),
               BO_OK);
  struct bo_payment_result paid;
  cr_assert_eq(bo_payments_pay(&fx.app, token, r.reservation_id, NULL, &paid),
               BO_OK);
}

Test(line_registry, a_concert_token_is_scoped_to_its_line) {
  int64_t lined_schedule = 0;
  int64_t lined = lined_concert(10, 100, 0, &lined_schedule);
  int64_t plain_schedule = fixture_schedule(&fx, 3600 * 1000, 10, PRICE);
  int64_t user = fixture_user(&fx, "kim", 0);

  struct bo_token_info mine = issue(user, lined, BO_OK);
  cr_assert_eq(mine.line_id, lined);
  cr_assert_eq(mine.state, BO_TOKEN_ACTIVE);
  char text[BO_SCOPED_TOKEN_TEXT_MAX + 1], prefix[32];
  bo_token_encode_scoped(mine.line_id, &mine.token, text);
  snprintf(prefix, sizeof prefix, "%lld.", (long long)lined);
  cr_assert_eq(strncmp(text, prefix, strlen(prefix)), 0, "token %s", text);

  struct bo_token_info seen;
  cr_assert_eq(check(&mine, &seen), BO_OK);
  cr_assert_eq(seen.line_id, lined);
  cr_assert_eq(bo_admission_scope_concert(&fx.app, &seen, lined), BO_OK);
  cr_assert_eq(bo_admission_scope_schedule(&fx.app, &seen, lined_schedule),
               BO_OK);
  cr_assert_eq(bo_admission_scope_schedule(&fx.app, &seen, plain_schedule),
               BO_ERR_WRONG_LINE);

  /* The same user's global token books the plain concert, not the lined. */
  struct bo_token_info global = issue(user, 0, BO_OK);
  cr_assert_eq(global.line_id, 0);
  cr_assert_not(bo_token_equal(&global.token, &mine.token));
  cr_assert_eq(bo_admission_scope_schedule(&fx.app, &global, plain_schedule),
               BO_OK);
  cr_assert_eq(bo_admission_scope_schedule(&fx.app, &global, lined_schedule),
               BO_ERR_WRONG_LINE);
  cr_assert_eq(bo_admission_scope_concert(&fx.app, &global, lined),
               BO_ERR_WRONG_LINE);
}

Test(line_registry, concert_ids_that_name_no_line) {
  int64_t plain_schedule = fixture_schedule(&fx, 3600 * 1000, 10, PRICE);
  int64_t user = fixture_user(&fx, "kim", 0);
  issue(user, 9999, BO_ERR_NOT_FOUND);
  /* A concert without a line of its own is joined through the global
   * line. */
  int64_t plain_line = -1;
  cr_assert_eq(bo_lines_of_schedule(&fx.app, plain_schedule, &plain_line),
               BO_OK);
  cr_assert_eq(plain_line, 0);
  struct bo_line_view view;
  cr_assert_eq(bo_lines_get(&fx.app, 9999, &view), BO_ERR_NOT_FOUND);
}

Test(line_registry, a_token_moved_to_another_line_is_invalid) {
  int64_t a = lined_concert(10, 100, 0, NULL);
  int64_t b = lined_concert(10, 100, 0, NULL);
  struct bo_token_info mine = issue(fixture_user(&fx, "kim", 0), a, BO_OK);
  struct bo_token_info forged = mine, seen;
  forged.line_id = b;
  cr_assert_eq(check(&forged, &seen), BO_ERR_TOKEN_INVALID);
  forged.line_id = 0;
  cr_assert_eq(check(&forged, &seen), BO_ERR_TOKEN_INVALID);
  forged.line_id = 424242; /* no such concert */
  cr_assert_eq(check(&forged, &seen), BO_ERR_TOKEN_INVALID);
}

Test(line_registry, never_more_active_than_seats_left_times_the_factor) {
  int64_t schedule = 0;
  int64_t concert = lined_concert(3, 100, 0, &schedule);
  struct bo_token_info tokens[5];
  for (int i = 0; i < 5; i++)
    tokens[i] = issue(fixture_user(&fx, "u", 0), concert, BO_OK);
  struct bo_line_view view;
  cr_assert_eq(bo_lines_get(&fx.app, concert, &view), BO_OK);
  struct bo_queue_stats stats;
  cr_assert_eq(view.queue->driver->stats(view.queue, &stats), BO_QUEUE_OK);
  cr_assert_eq(stats.active, 3, "3 seats at factor 1: 3 active, not %lld",
               (long long)stats.active);
  cr_assert_eq(stats.waiting, 2);
  cr_assert_eq(view.seats_left, 3);

  /* One active user leaves without buying: a seat is still left for each
   * of the other two and one more, so the next in line comes in. */
  cr_assert_eq(bo_admission_end(&fx.app, ""), BO_ERR_TOKEN_INVALID);
  char text[BO_SCOPED_TOKEN_TEXT_MAX + 1];
  bo_token_encode_scoped(tokens[0].line_id, &tokens[0].token, text);
  cr_assert_eq(bo_admission_end(&fx.app, text), BO_OK);
  bo_housekeeping_admit(&fx.app);
  cr_assert_eq(view.queue->driver->stats(view.queue, &stats), BO_QUEUE_OK);
  cr_assert_eq(stats.active, 3);
  cr_assert_eq(stats.waiting, 1);

  /* A hold takes a seat out of what is left: 2 left, 3 active, so nobody
   * more comes in even when another active user leaves. */
  struct bo_reservation r;
  cr_assert_eq(bo_holds_reserve(&fx.app, tokens[1].user_id, schedule, 1, &r),
               BO_OK);
  app_fixture_advance(&fx, BO_LINES_RECOUNT_MS);
  bo_housekeeping_admit(&fx.app);
  bo_token_encode_scoped(tokens[2].line_id, &tokens[2].token, text);
  cr_assert_eq(bo_admission_end(&fx.app, text), BO_OK);
  bo_housekeeping_admit(&fx.app);
  cr_assert_eq(view.queue->driver->stats(view.queue, &stats), BO_QUEUE_OK);
  cr_assert_eq(stats.active, 2, "2 seats left, 2 active: %lld",
               (long long)stats.active);
  cr_assert_eq(stats.waiting, 1);
}

Test(line_registry, a_sold_out_line_closes) {
  int64_t schedule = 0;
  int64_t concert = lined_concert(2, 100, 0, &schedule);
  int64_t buyers[2];
  struct bo_token_info tokens[2];
  for (int i = 0; i < 2; i++) {
    buyers[i] = fixture_user(&fx, "buyer", 10 * PRICE);
    tokens[i] = issue(buyers[i], concert, BO_OK);
    cr_assert_eq(tokens[i].state, BO_TOKEN_ACTIVE);
  }
  struct bo_token_info waiter =
      issue(fixture_user(&fx, "w", 0), concert, BO_OK);
  cr_assert_eq(waiter.state, BO_TOKEN_WAITING);
  json_t *body = body_of(&waiter);
  cr_assert_str_eq(json_string_value(json_object_get(body, "status")),
                   "WAITING");
  cr_assert_eq(json_integer_value(json_object_get(body, "seatsLeft")), 2);
  json_decref(body);

  buy(buyers[0], schedule, 1, &tokens[0]);
  buy(buyers[1], schedule, 2, &tokens[1]);
  /* At once: the payment recounted the line, no tick needed. */
  struct bo_token_info seen;
  cr_assert_eq(check(&waiter, &seen), BO_OK);
  body = body_of(&seen);
  cr_assert_str_eq(json_string_value(json_object_get(body, "status")),
                   "SOLD_OUT");
  cr_assert_eq(json_integer_value(json_object_get(body, "seatsLeft")), 0);
  json_decref(body);
  issue(fixture_user(&fx, "late", 0), concert, BO_ERR_SOLD_OUT);
}

Test(line_registry, operators_pause_resume_and_resize_live) {
  int64_t concert = lined_concert(100, 100, 0, NULL);
  struct bo_line_change pause = {.active_max = 1, .paused = true};
  cr_assert_eq(bo_lines_change(&fx.app, concert, &pause), BO_OK);
  struct bo_token_info first = issue(fixture_user(&fx, "a", 0), concert, BO_OK);
  cr_assert_eq(first.state, BO_TOKEN_WAITING, "paused: nobody comes in");
  struct bo_token_info second =
      issue(fixture_user(&fx, "b", 0), concert, BO_OK);

  struct bo_line_change resume = {.active_max = 1, .inventory_factor_pct = 100};
  cr_assert_eq(bo_lines_change(&fx.app, concert, &resume), BO_OK);
  bo_housekeeping_admit(&fx.app);
  struct bo_token_info seen;
  cr_assert_eq(check(&first, &seen), BO_OK);
  cr_assert_eq(seen.state, BO_TOKEN_ACTIVE);
  cr_assert_eq(check(&second, &seen), BO_OK);
  cr_assert_eq(seen.state, BO_TOKEN_WAITING, "activeMax 1");

  struct bo_line_change wider = resume;
  wider.active_max = 2;
  cr_assert_eq(bo_lines_change(&fx.app, concert, &wider), BO_OK);
  bo_housekeeping_admit(&fx.app);
  cr_assert_eq(check(&second, &seen), BO_OK);
  cr_assert_eq(seen.state, BO_TOKEN_ACTIVE);

  struct bo_line_view view;
  cr_assert_eq(bo_lines_get(&fx.app, concert, &view), BO_OK);
  cr_assert_eq(view.active_max, 2);
  cr_assert_eq(bo_lines_change(&fx.app, 777, &wider), BO_ERR_NOT_FOUND);
}

Test(line_registry, the_global_line_takes_operator_changes_too) {
  struct bo_line_change pause = {.paused = true};
  cr_assert_eq(bo_lines_change(&fx.app, 0, &pause), BO_OK);
  struct bo_token_info t = issue(fixture_user(&fx, "a", 0), 0, BO_OK);
  cr_assert_eq(t.state, BO_TOKEN_WAITING);
  struct bo_line_view view;
  cr_assert_eq(bo_lines_get(&fx.app, 0, &view), BO_OK);
  cr_assert(view.row.paused);
  cr_assert_eq(view.active_max, 10, "0 keeps the process default");
}

Test(line_registry, the_pre_queue_is_drawn_at_the_on_sale) {
  int64_t on_sale = fx.now_ms + 60 * 1000;
  int64_t concert = lined_concert(100, 100, on_sale, NULL);
  enum { N = 20 };
  struct bo_token_info tokens[N];
  for (int i = 0; i < N; i++) {
    tokens[i] = issue(fixture_user(&fx, "early", 0), concert, BO_OK);
    cr_assert_eq(tokens[i].state, BO_TOKEN_WAITING);
    cr_assert(tokens[i].pre_queue);
  }
  json_t *body = body_of(&tokens[0]);
  cr_assert(json_is_true(json_object_get(body, "preQueue")));
  cr_assert_eq(strlen(json_string_value(json_object_get(body, "entryId"))),
               2 * BO_DRAW_ID_BYTES);
  cr_assert_not_null(json_string_value(json_object_get(body, "onSaleAt")));
  json_decref(body);

  struct bo_line_view view;
  cr_assert_eq(bo_lines_get(&fx.app, concert, &view), BO_OK);
  struct bo_draw_result draw;
  cr_assert_eq(view.queue->driver->draw_result(view.queue, &draw), BO_QUEUE_OK);
  cr_assert_not(draw.drawn);

  app_fixture_advance(&fx, 60 * 1000);
  bo_housekeeping_admit(&fx.app);
  cr_assert_eq(view.queue->driver->draw_result(view.queue, &draw), BO_QUEUE_OK);
  cr_assert(draw.drawn);
  cr_assert_eq(draw.count, N);
  /* The first ten in the drawn order are the ones let in (activeMax 10). */
  for (size_t i = 0; i < draw.count; i++) {
    int owner = -1;
    for (int j = 0; j < N; j++) {
      uint8_t id[BO_DRAW_ID_BYTES];
      bo_draw_entry_id(&tokens[j].token, id);
      if (memcmp(id, draw.entry_ids[i], sizeof id) == 0)
        owner = j;
    }
    cr_assert_geq(owner, 0, "drawn entry %zu is nobody's", i);
    struct bo_token_info seen;
    cr_assert_eq(check(&tokens[owner], &seen), BO_OK);
    cr_assert_not(seen.pre_queue);
    if (i < 10)
      cr_assert_eq(seen.state, BO_TOKEN_ACTIVE, "drawn #%zu", i + 1);
    else
      cr_assert_eq(seen.position, (int64_t)i - 10 + 1, "drawn #%zu", i + 1);
  }
  free(draw.entry_ids);
}

Test(line_registry, a_pre_queue_waits_for_the_on_sale_and_the_middle_place) {
  struct bo_new_schedule s = {.starts_at_ms = fx.now_ms + 3600 * 1000,
                              .seat_count = 100,
                              .price = PRICE};
  struct bo_new_line line = {.admit_per_minute = 60,
                             .inventory_factor_pct = 100,
                             .on_sale_at_ms = fx.now_ms + 60 * 1000};
  int64_t concert = 0;
  cr_assert_eq(
      bo_catalog_create_concert(&fx.app, "rated", &s, 1, &line, &concert),
      BO_OK);
  struct bo_token_info last = {0};
  for (int i = 0; i < 20; i++)
    last = issue(fixture_user(&fx, "early", 0), concert, BO_OK);
  cr_assert(last.pre_queue);
  /* 60 s to the on-sale, then the middle of 20 places (the 10th) at one a
   * second: 10 s more. */
  cr_assert_eq(last.estimated_wait_seconds, 70);
}
