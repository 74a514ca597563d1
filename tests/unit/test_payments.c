/* Payments: the one-transaction rule of booking/payments.c, on a real
 * SQLite store, the in-process line and a clock moved by hand. */
#include "booking/admission.h"
#include "booking/catalog.h"
#include "booking/holds.h"
#include "booking/payments.h"
#include "booking/points.h"
#include "support/app_fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>

#define HOUR_MS (3600 * 1000LL)

static struct app_fixture fx;
static void setup(void) {
  app_fixture_open(&fx, 1);
}
static void teardown(void) {
  app_fixture_close(&fx);
}
TestSuite(payments, .init = setup, .fini = teardown);

static int64_t balance_of(int64_t user) {
  int64_t balance = -1;
  cr_assert_eq(bo_points_balance(&fx.app, user, &balance), BO_OK);
  return balance;
}

static enum bo_seat_status seat_status(int64_t schedule, int number) {
  struct bo_seat_list seats;
  cr_assert_eq(bo_catalog_seats(&fx.app, schedule, &seats), BO_OK);
  enum bo_seat_status status = seats.items[number - 1].status;
  free(seats.items);
  return status;
}

static size_t history_count(int64_t user) {
  struct bo_point_history_list list;
  cr_assert_eq(bo_points_history(&fx.app, user, 100, &list), BO_OK);
  free(list.items);
  return list.count;
}

Test(payments, pays_confirms_sells_and_spends_the_token) {
  int64_t kim = fixture_user(&fx, "kim", 200000);
  int64_t schedule = fixture_schedule(&fx, HOUR_MS, 50, 150000);
  struct bo_token_info token = fixture_active_token(&fx, kim);
  struct bo_reservation r;
  cr_assert_eq(bo_holds_reserve(&fx.app, kim, schedule, 5, &r), BO_OK);

  struct bo_payment_result paid;
  cr_assert_eq(bo_payments_pay(&fx.app, &token, r.reservation_id, NULL, &paid),
               BO_OK);
  cr_assert_eq(paid.payment.amount, 150000);
  cr_assert_eq(paid.balance_after, 50000);
  cr_assert_not(paid.replayed);
  cr_assert_eq(balance_of(kim), 50000);
  cr_assert_eq(seat_status(schedule, 5), BO_SEAT_SOLD);
  struct bo_reservation seen;
  cr_assert_eq(bo_holds_get(&fx.app, kim, r.reservation_id, &seen), BO_OK);
  cr_assert_eq(seen.status, BO_RESERVATION_CONFIRMED);
  struct bo_point_history_list history;
  cr_assert_eq(bo_points_history(&fx.app, kim, 10, &history), BO_OK);
  cr_assert_eq(history.count, 2);
  cr_assert_eq(history.items[0].type, BO_POINT_USE);
  cr_assert_eq(history.items[0].amount, 150000);
  cr_assert_eq(history.items[0].balance_after, 50000);
  free(history.items);
  /* The token is spent: it no longer opens booking calls. */
  char text[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(&token.token, text);
  struct bo_token_info after;
  cr_assert_eq(bo_admission_check(&fx.app, text, BO_NEED_ACTIVE, &after),
               BO_ERR_TOKEN_INVALID);
  /* Even a caller holding a stale ACTIVE view of the token cannot pay
   * twice: the reservation itself says it is paid. */
  cr_assert_eq(bo_payments_pay(&fx.app, &token, r.reservation_id, NULL, &paid),
               BO_ERR_ALREADY_PAID);
  cr_assert_eq(balance_of(kim), 50000);
}

Test(payments, payment_lets_the_next_user_in) {
  int64_t kim = fixture_user(&fx, "kim", 1000);
  int64_t lee = fixture_user(&fx, "lee", 0);
  int64_t schedule = fixture_schedule(&fx, HOUR_MS, 50, 1000);
  struct bo_token_info kim_token = fixture_active_token(&fx, kim);
  struct bo_token_info lee_token;
  bool created;
  cr_assert_eq(bo_admission_issue(&fx.app, lee, 0, &lee_token, &created),
               BO_OK);
  cr_assert_eq(lee_token.state, BO_TOKEN_WAITING);
  cr_assert_eq(lee_token.position, 1);
  struct bo_reservation r;
  cr_assert_eq(bo_holds_reserve(&fx.app, kim, schedule, 1, &r), BO_OK);
  struct bo_payment_result paid;
  cr_assert_eq(
      bo_payments_pay(&fx.app, &kim_token, r.reservation_id, NULL, &paid),
      BO_OK);
  char text[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(&lee_token.token, text);
  struct bo_token_info now;
  cr_assert_eq(bo_admission_check(&fx.app, text, BO_NEED_ACTIVE, &now), BO_OK);
  cr_assert_eq(now.state, BO_TOKEN_ACTIVE);
}

Test(payments, insufficient_balance_changes_nothing) {
  int64_t kim = fixture_user(&fx, "kim", 149999);
  int64_t schedule = fixture_schedule(&fx, HOUR_MS, 50, 150000);
  struct bo_token_info token = fixture_active_token(&fx, kim);
  struct bo_reservation r, seen;
  cr_assert_eq(bo_holds_reserve(&fx.app, kim, schedule, 5, &r), BO_OK);
  struct bo_payment_result paid;
  cr_assert_eq(bo_payments_pay(&fx.app, &token, r.reservation_id, NULL, &paid),
               BO_ERR_INSUFFICIENT_BALANCE);
  cr_assert_eq(balance_of(kim), 149999);
  cr_assert_eq(history_count(kim), 1);
  cr_assert_eq(seat_status(schedule, 5), BO_SEAT_HELD);
  cr_assert_eq(bo_holds_get(&fx.app, kim, r.reservation_id, &seen), BO_OK);
  cr_assert_eq(seen.status, BO_RESERVATION_HELD);
  /* The token is still ACTIVE: the user can charge and try again. */
  int64_t balance;
  cr_assert_eq(bo_points_charge(&fx.app, kim, 1, NULL, &balance), BO_OK);
  cr_assert_eq(bo_payments_pay(&fx.app, &token, r.reservation_id, NULL, &paid),
               BO_OK);
  cr_assert_eq(paid.balance_after, 0);
}

Test(payments, expired_hold_cannot_be_paid) {
  int64_t kim = fixture_user(&fx, "kim", 1000);
  int64_t schedule = fixture_schedule(&fx, HOUR_MS, 50, 1000);
  struct bo_token_info token = fixture_active_token(&fx, kim);
  struct bo_reservation r;
  cr_assert_eq(bo_holds_reserve(&fx.app, kim, schedule, 5, &r), BO_OK);
  app_fixture_advance(&fx, 300 * 1000);
  struct bo_payment_result paid;
  cr_assert_eq(bo_payments_pay(&fx.app, &token, r.reservation_id, NULL, &paid),
               BO_ERR_RESERVATION_EXPIRED);
  cr_assert_eq(balance_of(kim), 1000);
  cr_assert_eq(seat_status(schedule, 5), BO_SEAT_AVAILABLE);
}

Test(payments, someone_elses_reservation_is_not_owned) {
  int64_t kim = fixture_user(&fx, "kim", 1000);
  int64_t lee = fixture_user(&fx, "lee", 1000);
  int64_t schedule = fixture_schedule(&fx, HOUR_MS, 50, 1000);
  struct bo_reservation r;
  cr_assert_eq(bo_holds_reserve(&fx.app, kim, schedule, 5, &r), BO_OK);
  struct bo_token_info lee_token = fixture_active_token(&fx, lee);
  struct bo_payment_result paid;
  cr_assert_eq(
      bo_payments_pay(&fx.app, &lee_token, r.reservation_id, NULL, &paid),
      BO_ERR_NOT_OWNER);
  cr_assert_eq(
      bo_payments_pay(&fx.app, &lee_token, r.reservation_id + 99, NULL, &paid),
      BO_ERR_NOT_FOUND);
  cr_assert_eq(balance_of(lee), 1000);
}

Test(payments, cancelled_reservation_is_not_held) {
  int64_t kim = fixture_user(&fx, "kim", 1000);
  int64_t schedule = fixture_schedule(&fx, HOUR_MS, 50, 1000);
  struct bo_token_info token = fixture_active_token(&fx, kim);
  struct bo_reservation r, out;
  cr_assert_eq(bo_holds_reserve(&fx.app, kim, schedule, 5, &r), BO_OK);
  cr_assert_eq(bo_holds_cancel(&fx.app, kim, r.reservation_id, &out), BO_OK);
  struct bo_payment_result paid;
  cr_assert_eq(bo_payments_pay(&fx.app, &token, r.reservation_id, NULL, &paid),
               BO_ERR_RESERVATION_NOT_HELD);
}

Test(payments, retry_with_key_replays_after_the_token_is_spent) {
  int64_t kim = fixture_user(&fx, "kim", 5000);
  int64_t schedule = fixture_schedule(&fx, HOUR_MS, 50, 1000);
  struct bo_token_info token = fixture_active_token(&fx, kim);
  struct bo_reservation r;
  cr_assert_eq(bo_holds_reserve(&fx.app, kim, schedule, 5, &r), BO_OK);
  struct bo_payment_result first, again;
  cr_assert_eq(
      bo_payments_pay(&fx.app, &token, r.reservation_id, "pay-1", &first),
      BO_OK);
  /* The client lost the answer and retries with the same token and key. */
  char text[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(&token.token, text);
  struct bo_token_info spent;
  cr_assert_eq(bo_admission_check(&fx.app, text, BO_NEED_KNOWN, &spent), BO_OK);
  cr_assert_eq(spent.state, BO_TOKEN_SPENT);
  cr_assert_eq(
      bo_payments_pay(&fx.app, &spent, r.reservation_id, "pay-1", &again),
      BO_OK);
  cr_assert(again.replayed);
  cr_assert_eq(again.payment.payment_id, first.payment.payment_id);
  cr_assert_eq(again.balance_after, 4000);
  cr_assert_eq(balance_of(kim), 4000);
  /* The same key for another reservation is a reuse. */
  cr_assert_eq(
      bo_payments_pay(&fx.app, &spent, r.reservation_id + 1, "pay-1", &again),
      BO_ERR_IDEMPOTENCY_KEY_REUSED);
  /* A spent token with a fresh key has nothing to replay. */
  cr_assert_eq(
      bo_payments_pay(&fx.app, &spent, r.reservation_id, "pay-2", &again),
      BO_ERR_TOKEN_INVALID);
}

Test(payments, waiting_token_cannot_pay) {
  int64_t kim = fixture_user(&fx, "kim", 5000);
  int64_t lee = fixture_user(&fx, "lee", 5000);
  fixture_active_token(&fx, kim);
  struct bo_token_info waiting;
  bool created;
  cr_assert_eq(bo_admission_issue(&fx.app, lee, 0, &waiting, &created), BO_OK);
  cr_assert_eq(waiting.state, BO_TOKEN_WAITING);
  struct bo_payment_result paid;
  cr_assert_eq(bo_payments_pay(&fx.app, &waiting, 1, "k", &paid),
               BO_ERR_TOKEN_NOT_ACTIVE);
}
