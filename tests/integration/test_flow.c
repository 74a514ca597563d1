/* The happy paths end to end: booking and paying a seat, cancelling a hold,
 * idempotent retries of charges and payments, and the operations endpoints.
 * Every step checks the reply's fields against the contract (API.md) and
 * the state it should have left behind. */
#include "support/harness.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

TestSuite(flow, .init = it_setup, .fini = it_teardown);

#define PRICE 150000

/* A token is opaque and URL-safe with at least 128 random bits: at least
 * 22 characters of the unreserved set (base64url of 16 bytes). */
static void assert_token_shape(const char *token) {
  cr_assert_geq(strlen(token), 22, "token \"%s\" is too short", token);
  cr_assert_eq(strspn(token,
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
                      "yz0123456789-_.~"),
               strlen(token), "token \"%s\" is not URL-safe", token);
}

/* The seat map of a fresh schedule: 1..50, AVAILABLE, priced, distinct ids. */
static void assert_fresh_seats(const struct it_server *s, const char *token,
                               int64_t schedule_id) {
  struct it_response r = {0};
  it_call(s, &r, "GET", token, NULL, "/api/v1/schedules/%lld/seats",
          (long long)schedule_id);
  it_assert_status(&r, 200);
  cr_assert_eq(it_jint(r.json, "scheduleId"), schedule_id);
  cr_assert_eq(it_item_count(&r), 50);
  bool seen[51] = {false};
  json_int_t ids[50];
  for (size_t i = 0; i < 50; i++) {
    json_t *seat = it_item(&r, i);
    json_int_t number = it_jint(seat, "seatNumber");
    cr_assert(number >= 1 && number <= 50 && !seen[number],
              "seat number %lld twice or out of 1..50", (long long)number);
    seen[number] = true;
    ids[i] = it_jint(seat, "seatId");
    cr_assert_gt(ids[i], 0);
    for (size_t j = 0; j < i; j++)
      cr_assert_neq(ids[j], ids[i], "seatId %lld twice", (long long)ids[i]);
    cr_assert_eq(it_jint(seat, "price"), PRICE);
    cr_assert_str_eq(it_jstr(seat, "status"), "AVAILABLE");
  }
  it_response_free(&r);
}

/* availableSeats of `schedule_id` in the concert's schedule list. */
static json_int_t available_seats(const struct it_server *s, const char *token,
                                  int64_t concert_id, int64_t schedule_id) {
  struct it_response r = {0};
  it_call(s, &r, "GET", token, NULL, "/api/v1/concerts/%lld/schedules",
          (long long)concert_id);
  it_assert_status(&r, 200);
  json_int_t available = -1;
  for (size_t i = 0; i < it_item_count(&r); i++)
    if (it_jint(it_item(&r, i), "scheduleId") == schedule_id)
      available = it_jint(it_item(&r, i), "availableSeats");
  cr_assert_geq(available, 0, "schedule %lld not listed",
                (long long)schedule_id);
  it_response_free(&r);
  return available;
}

Test(flow, book_and_pay_a_seat, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  const int64_t offsets[] = {86400, 2 * 86400};
  int64_t sched[2];
  int64_t concert =
      it_create_concert(s, "IU Golden Hour", 2, offsets, 50, PRICE, sched);
  struct it_response r = {0};

  /* Concerts need no token. */
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/concerts");
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 1);
  cr_assert_eq(it_jint(it_item(&r, 0), "concertId"), concert);
  cr_assert_str_eq(it_jstr(it_item(&r, 0), "name"), "IU Golden Hour");

  it_call(s, &r, "POST", NULL, json_pack("{s:s}", "name", "kim"),
          "/api/v1/users");
  it_assert_status(&r, 201);
  cr_assert(strncmp(r.content_type, "application/json", 16) == 0,
            "Content-Type %s", r.content_type);
  int64_t kim = it_jint(r.json, "userId");
  cr_assert_str_eq(it_jstr(r.json, "name"), "kim");
  it_assert_balance(s, kim, 0);

  /* Room in the line and nobody waiting: ACTIVE at once, position 0. */
  it_call(s, &r, "POST", NULL, json_pack("{s:I}", "userId", (json_int_t)kim),
          "/api/v1/queue/tokens");
  it_assert_status(&r, 201);
  char *token = strdup(it_jstr(r.json, "token"));
  assert_token_shape(token);
  cr_assert_eq(it_jint(r.json, "userId"), kim);
  cr_assert_str_eq(it_jstr(r.json, "status"), "ACTIVE");
  cr_assert_eq(it_jint(r.json, "position"), 0);
  int64_t active_until;
  cr_assert(it_parse_time(it_jstr(r.json, "expiresAt"), &active_until));
  cr_assert_gt(active_until, (int64_t)time(NULL));

  /* Asking again gives the same token (200), never a second place. */
  it_call(s, &r, "POST", NULL, json_pack("{s:I}", "userId", (json_int_t)kim),
          "/api/v1/queue/tokens");
  it_assert_status(&r, 200);
  cr_assert_str_eq(it_jstr(r.json, "token"), token);

  it_call(s, &r, "GET", token, NULL, "/api/v1/queue/status");
  it_assert_status(&r, 200);
  cr_assert_str_eq(it_jstr(r.json, "token"), token);
  cr_assert_str_eq(it_jstr(r.json, "status"), "ACTIVE");
  cr_assert_eq(it_jint(r.json, "position"), 0);

  /* Both future schedules are bookable, every seat free. */
  it_call(s, &r, "GET", token, NULL, "/api/v1/concerts/%lld/schedules",
          (long long)concert);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 2);
  for (size_t i = 0; i < 2; i++) {
    json_t *item = it_item(&r, i);
    cr_assert(it_jint(item, "scheduleId") == sched[0] ||
              it_jint(item, "scheduleId") == sched[1]);
    cr_assert_eq(it_jint(item, "concertId"), concert);
    cr_assert_eq(it_jint(item, "totalSeats"), 50);
    cr_assert_eq(it_jint(item, "availableSeats"), 50);
    int64_t when;
    cr_assert(it_parse_time(it_jstr(item, "startsAt"), &when));
  }
  assert_fresh_seats(s, token, sched[0]);

  /* Hold seat 7 for holdSeconds (default 300). */
  it_call(s, &r, "POST", token,
          json_pack("{s:I, s:i}", "scheduleId", (json_int_t)sched[0],
                    "seatNumber", 7),
          "/api/v1/reservations");
  it_assert_status(&r, 201);
  int64_t reservation = it_jint(r.json, "reservationId");
  cr_assert_gt(reservation, 0);
  cr_assert_eq(it_jint(r.json, "userId"), kim);
  cr_assert_eq(it_jint(r.json, "scheduleId"), sched[0]);
  cr_assert_eq(it_jint(r.json, "seatNumber"), 7);
  cr_assert_eq(it_jint(r.json, "price"), PRICE);
  cr_assert_str_eq(it_jstr(r.json, "status"), "HELD");
  int64_t held_until;
  cr_assert(it_parse_time(it_jstr(r.json, "expiresAt"), &held_until));
  int64_t hold_left = held_until - (int64_t)time(NULL);
  cr_assert(hold_left > 240 && hold_left <= 301,
            "a default hold should end in ~300 s, ends in %lld s",
            (long long)hold_left);

  it_assert_seat(s, token, sched[0], 7, "HELD");
  it_assert_seat(s, token, sched[0], 8, "AVAILABLE");
  cr_assert_eq(available_seats(s, token, concert, sched[0]), 49);
  cr_assert_eq(available_seats(s, token, concert, sched[1]), 50);
  it_assert_reservation(s, token, reservation, "HELD");

  /* Charge exactly the price, in two steps. */
  cr_assert_eq(it_charge(s, kim, 100000), 100000);
  cr_assert_eq(it_charge(s, kim, 50000), 150000);

  it_call(s, &r, "POST", token,
          json_pack("{s:I}", "reservationId", (json_int_t)reservation),
          "/api/v1/payments");
  it_assert_status(&r, 201);
  cr_assert_gt(it_jint(r.json, "paymentId"), 0);
  cr_assert_eq(it_jint(r.json, "reservationId"), reservation);
  cr_assert_eq(it_jint(r.json, "amount"), PRICE);
  cr_assert_str_eq(it_jstr(r.json, "status"), "COMPLETED");
  cr_assert_eq(it_jint(r.json, "balance"), 0);
  it_assert_balance(s, kim, 0);

  /* History, newest first: USE, then the two charges. */
  it_call(s, &r, "GET", NULL, NULL,
          "/api/v1/users/%lld/points/history?limit=50", (long long)kim);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 3);
  const char *types[] = {"USE", "CHARGE", "CHARGE"};
  const json_int_t amounts[] = {PRICE, 50000, 100000};
  const json_int_t after[] = {0, 150000, 100000};
  for (size_t i = 0; i < 3; i++) {
    json_t *row = it_item(&r, i);
    cr_assert_str_eq(it_jstr(row, "type"), types[i], "history row %zu", i);
    /* The sign of a USE amount is the server's choice; its size is not. */
    cr_assert_eq(llabs(it_jint(row, "amount")), amounts[i], "history row %zu",
                 i);
    cr_assert_eq(it_jint(row, "balanceAfter"), after[i], "history row %zu", i);
    int64_t when;
    cr_assert(it_parse_time(it_jstr(row, "createdAt"), &when));
    if (i > 0)
      cr_assert_lt(it_jint(row, "id"), it_jint(it_item(&r, i - 1), "id"),
                   "history is not newest first");
  }

  /* The payment ended the token's active time. */
  it_call(s, &r, "GET", token, NULL, "/api/v1/queue/status");
  it_assert_problem(&r, 401, "TOKEN_INVALID");

  /* Someone else sees the seat SOLD. */
  char *lee_token;
  it_new_booker(s, "lee", &lee_token);
  it_assert_seat(s, lee_token, sched[0], 7, "SOLD");
  cr_assert_eq(available_seats(s, lee_token, concert, sched[0]), 49);

  /* kim comes back with a new token: the reservation is CONFIRMED, and the
   * list of kim's reservations is newest first. */
  char *token2 = it_active_token(s, kim);
  cr_assert_str_neq(token2, token);
  it_assert_reservation(s, token2, reservation, "CONFIRMED");
  int64_t second = it_hold(s, token2, sched[1], 1);
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/users/%lld/reservations",
          (long long)kim);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 2);
  cr_assert_eq(it_jint(it_item(&r, 0), "reservationId"), second);
  cr_assert_str_eq(it_jstr(it_item(&r, 0), "status"), "HELD");
  cr_assert_eq(it_jint(it_item(&r, 0), "scheduleId"), sched[1]);
  cr_assert_eq(it_jint(it_item(&r, 1), "reservationId"), reservation);
  cr_assert_str_eq(it_jstr(it_item(&r, 1), "status"), "CONFIRMED");
  cr_assert_eq(it_jint(it_item(&r, 1), "seatNumber"), 7);
  cr_assert_eq(it_jint(it_item(&r, 1), "price"), PRICE);

  it_response_free(&r);
  free(token);
  free(token2);
  free(lee_token);
  it_assert_alive(s);
}

Test(flow, cancel_a_hold, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t sched = it_create_schedule(s);
  char *kim_token, *lee_token;
  int64_t kim = it_new_booker(s, "kim", &kim_token);
  it_new_booker(s, "lee", &lee_token);
  it_charge(s, kim, 5000);

  int64_t reservation = it_hold(s, kim_token, sched, 3);
  it_assert_seat(s, lee_token, sched, 3, "HELD");

  struct it_response r = {0};
  it_call(s, &r, "DELETE", kim_token, NULL, "/api/v1/reservations/%lld",
          (long long)reservation);
  it_assert_status(&r, 200);
  cr_assert_eq(it_jint(r.json, "reservationId"), reservation);
  cr_assert_str_eq(it_jstr(r.json, "status"), "CANCELLED");

  it_assert_reservation(s, kim_token, reservation, "CANCELLED");
  it_assert_seat(s, lee_token, sched, 3, "AVAILABLE");
  /* Cancelling moves no money. */
  it_assert_balance(s, kim, 5000);
  cr_assert_eq(it_history_count(s, kim), 1);
  /* The seat is free for the next person, and kim's token still works. */
  it_hold(s, lee_token, sched, 3);
  it_call(s, &r, "GET", kim_token, NULL, "/api/v1/queue/status");
  it_assert_status(&r, 200);
  cr_assert_str_eq(it_jstr(r.json, "status"), "ACTIVE");

  it_response_free(&r);
  free(kim_token);
  free(lee_token);
}

/* POST .../points/charge with an Idempotency-Key. */
static void charge_with_key(const struct it_server *s, int64_t user,
                            int64_t amount, const char *key,
                            struct it_response *r) {
  char path[96], body[64];
  snprintf(path, sizeof path, "/api/v1/users/%lld/points/charge",
           (long long)user);
  snprintf(body, sizeof body, "{\"amount\": %lld}", (long long)amount);
  it_send(
      s,
      &(struct it_request){
          .method = "POST", .path = path, .body = body, .idempotency_key = key},
      r);
}

Test(flow, idempotent_charge, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t kim = it_create_user(s, "kim");
  struct it_response r = {0};

  charge_with_key(s, kim, 1000, "charge-1", &r);
  it_assert_status(&r, 200);
  cr_assert_eq(it_jint(r.json, "balance"), 1000);
  char *first = strdup(r.body);

  /* The retry returns the first response and charges nothing. */
  charge_with_key(s, kim, 1000, "charge-1", &r);
  it_assert_status(&r, 200);
  cr_assert_eq(it_jint(r.json, "balance"), 1000);
  cr_assert_eq(it_jint(r.json, "userId"), kim);
  it_assert_balance(s, kim, 1000);
  cr_assert_eq(it_history_count(s, kim), 1);

  /* Another charge moves the balance; the old key still replays 1000. */
  cr_assert_eq(it_charge(s, kim, 500), 1500);
  charge_with_key(s, kim, 1000, "charge-1", &r);
  it_assert_status(&r, 200);
  cr_assert_eq(it_jint(r.json, "balance"), 1000,
               "replay is not the first "
               "response: %s (first: %s)",
               r.body, first);

  /* Same key, different body. */
  charge_with_key(s, kim, 2000, "charge-1", &r);
  it_assert_problem(&r, 409, "IDEMPOTENCY_KEY_REUSED");
  it_assert_balance(s, kim, 1500);

  /* A new key with the same body is a new charge. */
  charge_with_key(s, kim, 1000, "charge-2", &r);
  it_assert_status(&r, 200);
  cr_assert_eq(it_jint(r.json, "balance"), 2500);
  it_assert_balance(s, kim, 2500);
  cr_assert_eq(it_history_count(s, kim), 3);

  it_response_free(&r);
  free(first);
}

static void pay_with_key(const struct it_server *s, const char *token,
                         int64_t reservation, const char *key,
                         struct it_response *r) {
  char body[64];
  snprintf(body, sizeof body, "{\"reservationId\": %lld}",
           (long long)reservation);
  it_send(s,
          &(struct it_request){.method = "POST",
                               .path = "/api/v1/payments",
                               .body = body,
                               .token = token,
                               .idempotency_key = key},
          r);
}

Test(flow, idempotent_payment, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t sched = it_create_schedule(s);
  char *token;
  int64_t kim = it_new_booker(s, "kim", &token);
  it_charge(s, kim, 2 * PRICE);
  int64_t first_seat = it_hold(s, token, sched, 10);
  int64_t second_seat = it_hold(s, token, sched, 11);
  struct it_response r = {0};

  pay_with_key(s, token, first_seat, "pay-1", &r);
  it_assert_status(&r, 201);
  int64_t payment = it_jint(r.json, "paymentId");
  cr_assert_eq(it_jint(r.json, "balance"), PRICE);

  /* The token is gone now, yet the retry gets the first response. */
  pay_with_key(s, token, first_seat, "pay-1", &r);
  it_assert_status(&r, 201);
  cr_assert_eq(it_jint(r.json, "paymentId"), payment);
  cr_assert_eq(it_jint(r.json, "reservationId"), first_seat);
  cr_assert_eq(it_jint(r.json, "amount"), PRICE);
  cr_assert_str_eq(it_jstr(r.json, "status"), "COMPLETED");
  cr_assert_eq(it_jint(r.json, "balance"), PRICE);
  it_assert_balance(s, kim, PRICE);
  cr_assert_eq(it_history_count(s, kim), 2); /* one CHARGE, one USE */

  /* Without the key the expired token is refused. */
  pay_with_key(s, token, first_seat, NULL, &r);
  it_assert_problem(&r, 401, "TOKEN_INVALID");

  /* With a live token: the key with another reservation is a reuse, and
   * paying the first reservation again without a key is ALREADY_PAID. */
  char *token2 = it_active_token(s, kim);
  pay_with_key(s, token2, second_seat, "pay-1", &r);
  it_assert_problem(&r, 409, "IDEMPOTENCY_KEY_REUSED");
  pay_with_key(s, token2, first_seat, NULL, &r);
  it_assert_problem(&r, 409, "ALREADY_PAID");
  it_assert_balance(s, kim, PRICE);
  it_assert_reservation(s, token2, second_seat, "HELD");
  it_assert_seat(s, token2, sched, 11, "HELD");
  cr_assert_eq(it_history_count(s, kim), 2);

  it_response_free(&r);
  free(token);
  free(token2);
}

Test(flow, healthz_and_metrics, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  struct it_response r = {0};
  it_call(s, &r, "GET", NULL, NULL, "/healthz");
  it_assert_status(&r, 200);
  cr_assert(strncmp(r.content_type, "application/json", 16) == 0,
            "Content-Type %s", r.content_type);
  cr_assert_str_eq(it_jstr(r.json, "status"), "ok");

  /* A request or two so that the counter has something to count. */
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/concerts");
  it_assert_status(&r, 200);
  it_call(s, &r, "GET", NULL, NULL, "/metrics");
  it_assert_status(&r, 200);
  cr_assert(strncmp(r.content_type, "text/plain", 10) == 0,
            "metrics Content-Type %s", r.content_type);
  cr_assert_not_null(strstr(r.body, "boxoffice_http_requests_total"),
                     "metrics lack boxoffice_http_requests_total: %.500s",
                     r.body);
  it_response_free(&r);
}
