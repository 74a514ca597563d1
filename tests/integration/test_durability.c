/* What the server acknowledged survives a crash: `kill -9` (no shutdown
 * code runs) right after the replies, then a restart on the same database.
 * Money, holds and payments must survive in both configurations. Tokens
 * depend on the queue: the in-process line dies with the process (users
 * ask for a new token), while a Redis line outlives any instance, so there
 * every token, spent ones included, must still be known after the
 * restart. */
#include "support/harness.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

TestSuite(durability, .init = it_setup, .fini = it_teardown);

#define PRICE 150000

Test(durability, acknowledged_charges_survive_kill9, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  int64_t kim = it_create_user(s, "kim");
  enum { CHARGES = 20 };
  int64_t sum = 0;
  for (int i = 1; i <= CHARGES; i++) {
    sum += i * 1000;
    cr_assert_eq(it_charge(s, kim, i * 1000), sum);
  }

  it_server_kill9(s);
  it_server_restart(s);

  it_assert_balance(s, kim, sum);
  struct it_response r = {0};
  it_call(s, &r, "GET", NULL, NULL,
          "/api/v1/users/%lld/points/history?limit=50", (long long)kim);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), CHARGES);
  /* Newest first: the last charge (20,000) on top. */
  for (int i = 0; i < CHARGES; i++) {
    json_t *row = it_item(&r, (size_t)i);
    cr_assert_str_eq(it_jstr(row, "type"), "CHARGE");
    cr_assert_eq(it_jint(row, "amount"), (CHARGES - i) * 1000);
    cr_assert_eq(it_jint(row, "balanceAfter"),
                 sum - (int64_t)i * (2 * CHARGES - i + 1) / 2 * 1000);
  }
  /* And the restarted server goes on from there. */
  cr_assert_eq(it_charge(s, kim, 1), sum + 1);
  it_response_free(&r);
}

Test(durability, acknowledged_payment_survives_kill9, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  int64_t schedule = it_create_schedule(s);
  char *token;
  int64_t kim = it_new_booker(s, "kim", &token);
  it_charge(s, kim, PRICE + 500);
  int64_t paid = it_hold(s, token, schedule, 1);
  int64_t held = it_hold(s, token, schedule, 2);
  /* Someone else in line, who takes no part in the payment. */
  char *lee_token;
  it_new_booker(s, "lee", &lee_token);

  struct it_response r = {0};
  char body[64];
  snprintf(body, sizeof body, "{\"reservationId\": %lld}", (long long)paid);
  struct it_request payment = {.method = "POST",
                               .path = "/api/v1/payments",
                               .body = body,
                               .token = token,
                               .idempotency_key = "crash-pay-1"};
  it_send(s, &payment, &r);
  it_assert_status(&r, 201);
  int64_t payment_id = it_jint(r.json, "paymentId");
  cr_assert_eq(it_jint(r.json, "balance"), 500);

  it_server_kill9(s);
  it_server_restart(s);

  it_assert_balance(s, kim, 500);
  it_call(s, &r, "GET", NULL, NULL,
          "/api/v1/users/%lld/points/history?limit=50", (long long)kim);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 2);
  cr_assert_str_eq(it_jstr(it_item(&r, 0), "type"), "USE");
  cr_assert_eq(it_jint(it_item(&r, 0), "balanceAfter"), 500);

  it_call(s, &r, "GET", NULL, NULL, "/api/v1/users/%lld/reservations",
          (long long)kim);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 2);
  cr_assert_eq(it_jint(it_item(&r, 0), "reservationId"), held);
  cr_assert_str_eq(it_jstr(it_item(&r, 0), "status"), "HELD");
  cr_assert_eq(it_jint(it_item(&r, 1), "reservationId"), paid);
  cr_assert_str_eq(it_jstr(it_item(&r, 1), "status"), "CONFIRMED");

  /* Lee's token: gone with the in-process line, kept by Redis. */
  it_call(s, &r, "GET", lee_token, NULL, "/api/v1/queue/status");
  if (it_postgres_mode()) {
    it_assert_status(&r, 200);
    cr_assert_str_eq(it_jstr(r.json, "token"), lee_token);
    cr_assert_str_eq(it_jstr(r.json, "status"), "ACTIVE",
                     "an ACTIVE token (600 s) is not ACTIVE after a restart "
                     "of the server on the same Redis");
  } else {
    it_assert_problem(&r, 401, "TOKEN_INVALID");
    free(lee_token);
    it_new_booker(s, "lee", &lee_token);
  }

  /* A client that lost the reply retries with its key after the crash: the
   * first response, not a second payment. With Redis it retries with the
   * token that payment spent (kept for an hour for exactly this); with the
   * in-process line that token died, so it retries with a new one. */
  char *token2 = it_postgres_mode() ? strdup(token) : it_active_token(s, kim);
  payment.token = token2;
  it_send(s, &payment, &r);
  it_assert_status(&r, 201);
  cr_assert_eq(it_jint(r.json, "paymentId"), payment_id);
  cr_assert_eq(it_jint(r.json, "balance"), 500);
  it_assert_balance(s, kim, 500);

  /* Seats as they were: sold, held, free. */
  it_assert_seat(s, lee_token, schedule, 1, "SOLD");
  it_assert_seat(s, lee_token, schedule, 2, "HELD");
  it_assert_seat(s, lee_token, schedule, 3, "AVAILABLE");
  it_response_free(&r);
  free(token);
  free(token2);
  free(lee_token);
}
