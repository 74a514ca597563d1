/* The rules' refusals: queue tokens that are missing, forged or still
 * waiting (401/403), someone else's reservation (403 NOT_OWNER), and the
 * 409 conflicts of seats, schedules, reservations and money. After each
 * refusal the test checks that nothing moved: balances, seat and
 * reservation states, history. Malformed input is in test_errors.c. */
#include "support/harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(conflicts, .init = it_setup, .fini = it_teardown);

#define PRICE 150000

static void hold_expect(const struct it_server *s, const char *token,
                        int64_t schedule, int seat, long status,
                        const char *code) {
  struct it_response r = {0};
  it_call(s, &r, "POST", token,
          json_pack("{s:I, s:i}", "scheduleId", (json_int_t)schedule,
                    "seatNumber", seat),
          "/api/v1/reservations");
  it_assert_problem(&r, status, code);
  it_response_free(&r);
}

static void pay_expect(const struct it_server *s, const char *token,
                       int64_t reservation, long status, const char *code) {
  struct it_response r = {0};
  it_call(s, &r, "POST", token,
          json_pack("{s:I}", "reservationId", (json_int_t)reservation),
          "/api/v1/payments");
  it_assert_problem(&r, status, code);
  it_response_free(&r);
}

static void cancel_expect(const struct it_server *s, const char *token,
                          int64_t reservation, long status, const char *code) {
  struct it_response r = {0};
  it_call(s, &r, "DELETE", token, NULL, "/api/v1/reservations/%lld",
          (long long)reservation);
  it_assert_problem(&r, status, code);
  it_response_free(&r);
}

/* Every endpoint that needs a queue token, called with `authorization`
 * (a whole header value, or NULL for none), must answer `status`/`code`. */
static void token_endpoints_expect(const struct it_server *s,
                                   const char *authorization, int64_t concert,
                                   int64_t schedule, int64_t reservation,
                                   long status, const char *code) {
  char header[512], schedules[96], seats[96], one[96], hold[96], pay[96];
  snprintf(header, sizeof header, "Authorization: %s",
           authorization ? authorization : "");
  snprintf(schedules, sizeof schedules, "/api/v1/concerts/%lld/schedules",
           (long long)concert);
  snprintf(seats, sizeof seats, "/api/v1/schedules/%lld/seats",
           (long long)schedule);
  snprintf(one, sizeof one, "/api/v1/reservations/%lld",
           (long long)reservation);
  snprintf(hold, sizeof hold, "{\"scheduleId\": %lld, \"seatNumber\": 20}",
           (long long)schedule);
  snprintf(pay, sizeof pay, "{\"reservationId\": %lld}",
           (long long)reservation);
  const char *headers[] = {header, NULL};
  struct it_request reqs[] = {
      {.path = "/api/v1/queue/status"},
      {.path = schedules},
      {.path = seats},
      {.path = one},
      {.method = "DELETE", .path = one},
      {.method = "POST", .path = "/api/v1/reservations", .body = hold},
      {.method = "POST", .path = "/api/v1/payments", .body = pay},
  };
  struct it_response r = {0};
  for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++) {
    reqs[i].headers = authorization ? headers : NULL;
    it_send(s, &reqs[i], &r);
    cr_assert_eq(r.status, status, "%s with «%s»: expected %ld, got %ld",
                 r.what, authorization ? authorization : "(none)", status,
                 r.status);
    it_assert_problem(&r, status, code);
  }
  it_response_free(&r);
}

Test(conflicts, missing_or_forged_token_is_401, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  const int64_t day[] = {86400};
  int64_t schedule;
  int64_t concert = it_create_concert(s, "IU", 1, day, 50, PRICE, &schedule);
  char *token;
  int64_t kim = it_new_booker(s, "kim", &token);
  it_charge(s, kim, PRICE);
  int64_t reservation = it_hold(s, token, schedule, 1);

  /* The real token with its last character changed is a forgery. */
  char forged[300], bearer[320];
  snprintf(forged, sizeof forged, "%s", token);
  size_t last = strlen(forged) - 1;
  forged[last] = forged[last] == 'A' ? 'B' : 'A';
  snprintf(bearer, sizeof bearer, "Bearer %s", forged);
  char doubled[640];
  snprintf(doubled, sizeof doubled, "Bearer %s%s", token, token);
  char prefix[320];
  snprintf(prefix, sizeof prefix, "Bearer %.*s", (int)last, token);
  char basic[320];
  snprintf(basic, sizeof basic, "Basic %s", token);
  const char *refused[] = {
      NULL, /* no Authorization at all */
      "",
      "Bearer",
      "Bearer ",
      bearer,
      doubled,
      prefix,
      basic,
      "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "Bearer " IT_ADMIN_SECRET, /* the admin secret is no queue token */
      "Bearer ../../etc/passwd",
  };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    token_endpoints_expect(s, refused[i], concert, schedule, reservation, 401,
                           "TOKEN_INVALID");

  /* None of that touched kim's hold or money, or kim's token. */
  it_assert_reservation(s, token, reservation, "HELD");
  it_assert_seat(s, token, schedule, 1, "HELD");
  it_assert_seat(s, token, schedule, 20, "AVAILABLE");
  it_assert_balance(s, kim, PRICE);
  struct it_response r = {0};
  it_call(s, &r, "GET", token, NULL, "/api/v1/queue/status");
  it_assert_status(&r, 200);
  cr_assert_str_eq(it_jstr(r.json, "status"), "ACTIVE");
  it_response_free(&r);
  free(token);
  it_assert_alive(s);
}

/* Polls until the token is ACTIVE. The contract admits the next in line
 * within a second of a slot freeing; 5 s keeps this a check of what
 * happens, not of how fast. */
static void wait_active(const struct it_server *s, const char *token) {
  struct it_response r = {0};
  int64_t deadline = it_now_ms() + 5000;
  for (;;) {
    it_call(s, &r, "GET", token, NULL, "/api/v1/queue/status");
    it_assert_status(&r, 200);
    if (strcmp(it_jstr(r.json, "status"), "ACTIVE") == 0)
      break;
    cr_assert_lt(it_now_ms(), deadline, "not admitted after a slot freed: %s",
                 r.body);
    it_sleep_ms(100);
  }
  cr_assert_eq(it_jint(r.json, "position"), 0);
  it_response_free(&r);
}

Test(conflicts, waiting_token_is_403, .timeout = 30) {
  struct it_server *s =
      it_server_start(&(struct it_server_opts){.active_max = 1});
  const int64_t day[] = {86400};
  int64_t schedule;
  int64_t concert = it_create_concert(s, "IU", 1, day, 50, PRICE, &schedule);
  char *kim_token;
  int64_t kim = it_new_booker(s, "kim", &kim_token);
  int64_t lee = it_create_user(s, "lee");
  it_charge(s, kim, PRICE);
  it_charge(s, lee, PRICE);
  int64_t first = it_hold(s, kim_token, schedule, 1);
  int64_t second = it_hold(s, kim_token, schedule, 2);

  /* The one slot is kim's: lee waits, first in line. */
  struct it_response r = {0};
  it_call(s, &r, "POST", NULL, json_pack("{s:I}", "userId", (json_int_t)lee),
          "/api/v1/queue/tokens");
  it_assert_status(&r, 201);
  char *lee_token = strdup(it_jstr(r.json, "token"));
  cr_assert_str_eq(it_jstr(r.json, "status"), "WAITING");
  cr_assert_eq(it_jint(r.json, "position"), 1);
  cr_assert(json_is_null(json_object_get(r.json, "expiresAt")),
            "a WAITING token has expiresAt null: %s", r.body);
  cr_assert(json_is_integer(json_object_get(r.json, "estimatedWaitSeconds")),
            "no estimatedWaitSeconds: %s", r.body);
  /* Asking again keeps the place. */
  it_call(s, &r, "POST", NULL, json_pack("{s:I}", "userId", (json_int_t)lee),
          "/api/v1/queue/tokens");
  it_assert_status(&r, 200);
  cr_assert_str_eq(it_jstr(r.json, "token"), lee_token);
  cr_assert_eq(it_jint(r.json, "position"), 1);

  /* Only /queue/status (200) differs from the list: check it, then the
   * booking calls one by one. */
  it_call(s, &r, "GET", lee_token, NULL, "/api/v1/queue/status");
  it_assert_status(&r, 200);
  cr_assert_str_eq(it_jstr(r.json, "status"), "WAITING");
  cr_assert_eq(it_jint(r.json, "position"), 1);
  it_call(s, &r, "GET", lee_token, NULL, "/api/v1/concerts/%lld/schedules",
          (long long)concert);
  it_assert_problem(&r, 403, "TOKEN_NOT_ACTIVE");
  it_call(s, &r, "GET", lee_token, NULL, "/api/v1/schedules/%lld/seats",
          (long long)schedule);
  it_assert_problem(&r, 403, "TOKEN_NOT_ACTIVE");
  hold_expect(s, lee_token, schedule, 3, 403, "TOKEN_NOT_ACTIVE");
  pay_expect(s, lee_token, first, 403, "TOKEN_NOT_ACTIVE");
  it_assert_seat(s, kim_token, schedule, 3, "AVAILABLE");
  it_assert_balance(s, lee, PRICE);

  /* kim's payment ends kim's active time: lee moves up. */
  it_pay(s, kim_token, first);
  wait_active(s, lee_token);

  /* kim queues again behind lee, and while waiting may still read (but not
   * pay) the other hold. */
  it_call(s, &r, "POST", NULL, json_pack("{s:I}", "userId", (json_int_t)kim),
          "/api/v1/queue/tokens");
  it_assert_status(&r, 201);
  char *kim_again = strdup(it_jstr(r.json, "token"));
  cr_assert_str_eq(it_jstr(r.json, "status"), "WAITING");
  cr_assert_eq(it_jint(r.json, "position"), 1);
  it_assert_reservation(s, kim_again, second, "HELD");
  pay_expect(s, kim_again, second, 403, "TOKEN_NOT_ACTIVE");
  hold_expect(s, kim_again, schedule, 4, 403, "TOKEN_NOT_ACTIVE");
  it_assert_balance(s, kim, 0);
  it_assert_seat(s, lee_token, schedule, 2, "HELD");
  it_assert_seat(s, lee_token, schedule, 4, "AVAILABLE");

  it_response_free(&r);
  free(kim_token);
  free(lee_token);
  free(kim_again);
  it_assert_alive(s);
}

Test(conflicts, someone_elses_reservation_is_403, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t schedule = it_create_schedule(s);
  char *kim_token, *lee_token;
  int64_t kim = it_new_booker(s, "kim", &kim_token);
  int64_t lee = it_new_booker(s, "lee", &lee_token);
  it_charge(s, kim, PRICE);
  it_charge(s, lee, 2 * PRICE);
  int64_t reservation = it_hold(s, kim_token, schedule, 5);

  struct it_response r = {0};
  it_call(s, &r, "GET", lee_token, NULL, "/api/v1/reservations/%lld",
          (long long)reservation);
  it_assert_problem(&r, 403, "NOT_OWNER");
  cancel_expect(s, lee_token, reservation, 403, "NOT_OWNER");
  pay_expect(s, lee_token, reservation, 403, "NOT_OWNER");

  it_assert_reservation(s, kim_token, reservation, "HELD");
  it_assert_seat(s, lee_token, schedule, 5, "HELD");
  it_assert_balance(s, lee, 2 * PRICE);
  it_assert_balance(s, kim, PRICE);
  cr_assert_eq(it_history_count(s, lee), 1);
  /* lee's token was not spent by the refused payment. */
  it_call(s, &r, "GET", lee_token, NULL, "/api/v1/queue/status");
  it_assert_status(&r, 200);
  cr_assert_str_eq(it_jstr(r.json, "status"), "ACTIVE");
  /* And kim can still pay for it. */
  cr_assert_eq(it_pay(s, kim_token, reservation), 0);
  it_response_free(&r);
  free(kim_token);
  free(lee_token);
  it_assert_alive(s);
}

Test(conflicts, held_or_sold_seat_is_409, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t schedule = it_create_schedule(s);
  char *kim_token, *lee_token;
  int64_t kim = it_new_booker(s, "kim", &kim_token);
  int64_t lee = it_new_booker(s, "lee", &lee_token);
  it_charge(s, kim, PRICE);
  int64_t reservation = it_hold(s, kim_token, schedule, 5);

  hold_expect(s, lee_token, schedule, 5, 409, "SEAT_UNAVAILABLE");
  it_assert_reservation(s, kim_token, reservation, "HELD");
  it_pay(s, kim_token, reservation);
  hold_expect(s, lee_token, schedule, 5, 409, "SEAT_UNAVAILABLE");
  it_assert_seat(s, lee_token, schedule, 5, "SOLD");

  struct it_response r = {0};
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/users/%lld/reservations",
          (long long)lee);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 0, "a refused hold left a reservation");
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/users/%lld/reservations",
          (long long)kim);
  cr_assert_eq(it_item_count(&r), 1);
  cr_assert_str_eq(it_jstr(it_item(&r, 0), "status"), "CONFIRMED");
  it_hold(s, lee_token, schedule, 6); /* the next seat is free */
  it_response_free(&r);
  free(kim_token);
  free(lee_token);
  it_assert_alive(s);
}

Test(conflicts, past_schedule_is_409, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  /* A past date, a future date, and a future date with a single seat. */
  const int64_t past_future[] = {-86400, 86400};
  int64_t sched[2], tiny;
  int64_t concert =
      it_create_concert(s, "IU", 2, past_future, 50, PRICE, sched);
  const int64_t later[] = {2 * 86400};
  int64_t concert2 = it_create_concert(s, "Tiny", 1, later, 1, PRICE, &tiny);
  char *token;
  int64_t kim = it_new_booker(s, "kim", &token);

  /* Only bookable dates are listed: the past one is not. */
  struct it_response r = {0};
  it_call(s, &r, "GET", token, NULL, "/api/v1/concerts/%lld/schedules",
          (long long)concert);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 1, "past schedule listed: %s", r.body);
  cr_assert_eq(it_jint(it_item(&r, 0), "scheduleId"), sched[1]);

  hold_expect(s, token, sched[0], 1, 409, "SCHEDULE_CLOSED");
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/users/%lld/reservations",
          (long long)kim);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 0);

  /* A date with no seat left is not bookable either. */
  it_call(s, &r, "GET", token, NULL, "/api/v1/concerts/%lld/schedules",
          (long long)concert2);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 1);
  cr_assert_eq(it_jint(it_item(&r, 0), "availableSeats"), 1);
  it_hold(s, token, tiny, 1);
  it_call(s, &r, "GET", token, NULL, "/api/v1/concerts/%lld/schedules",
          (long long)concert2);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 0, "sold-out schedule listed: %s", r.body);
  it_response_free(&r);
  free(token);
  it_assert_alive(s);
}

Test(conflicts, only_a_held_reservation_can_be_cancelled, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t schedule = it_create_schedule(s);
  char *token;
  int64_t kim = it_new_booker(s, "kim", &token);
  it_charge(s, kim, PRICE);

  int64_t cancelled = it_hold(s, token, schedule, 1);
  struct it_response r = {0};
  it_call(s, &r, "DELETE", token, NULL, "/api/v1/reservations/%lld",
          (long long)cancelled);
  it_assert_status(&r, 200);
  cancel_expect(s, token, cancelled, 409, "RESERVATION_NOT_HELD");
  it_assert_reservation(s, token, cancelled, "CANCELLED");
  /* A cancelled reservation cannot be paid: it is no longer held. */
  it_call(s, &r, "POST", token,
          json_pack("{s:I}", "reservationId", (json_int_t)cancelled),
          "/api/v1/payments");
  cr_assert_eq(r.status, 409, "paying a cancelled reservation: %ld %s",
               r.status, r.body);
  it_assert_balance(s, kim, PRICE);

  int64_t paid = it_hold(s, token, schedule, 2);
  it_pay(s, token, paid);
  char *token2 = it_active_token(s, kim);
  cancel_expect(s, token2, paid, 409, "RESERVATION_NOT_HELD");
  /* No refund, no seat released. */
  it_assert_reservation(s, token2, paid, "CONFIRMED");
  it_assert_seat(s, token2, schedule, 2, "SOLD");
  it_assert_balance(s, kim, 0);
  cr_assert_eq(it_history_count(s, kim), 2);
  it_response_free(&r);
  free(token);
  free(token2);
  it_assert_alive(s);
}

Test(conflicts, expired_hold_is_409, .timeout = 30) {
  struct it_server *s =
      it_server_start(&(struct it_server_opts){.hold_seconds = 1});
  int64_t schedule = it_create_schedule(s);
  char *kim_token, *lee_token;
  int64_t kim = it_new_booker(s, "kim", &kim_token);
  it_new_booker(s, "lee", &lee_token);
  it_charge(s, kim, PRICE);
  int64_t reservation = it_hold(s, kim_token, schedule, 1);
  it_assert_seat(s, lee_token, schedule, 1, "HELD");

  /* A 1 s hold; 2.1 s leaves room for whole-second timestamps. The seat is
   * free at read time, whatever a background job has done. */
  it_sleep_ms(2100);
  it_assert_seat(s, lee_token, schedule, 1, "AVAILABLE");
  it_assert_reservation(s, kim_token, reservation, "EXPIRED");
  pay_expect(s, kim_token, reservation, 409, "RESERVATION_EXPIRED");
  cancel_expect(s, kim_token, reservation, 409, "RESERVATION_NOT_HELD");
  it_assert_balance(s, kim, PRICE);
  cr_assert_eq(it_history_count(s, kim), 1);

  /* lee takes the seat; kim's old reservation does not come back. */
  it_hold(s, lee_token, schedule, 1);
  pay_expect(s, kim_token, reservation, 409, "RESERVATION_EXPIRED");
  it_assert_reservation(s, kim_token, reservation, "EXPIRED");
  it_assert_seat(s, lee_token, schedule, 1, "HELD");
  it_assert_balance(s, kim, PRICE);
  free(kim_token);
  free(lee_token);
  it_assert_alive(s);
}

Test(conflicts, paying_twice_is_409, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t schedule = it_create_schedule(s);
  char *token;
  int64_t kim = it_new_booker(s, "kim", &token);
  it_charge(s, kim, 3 * PRICE);
  int64_t reservation = it_hold(s, token, schedule, 1);
  cr_assert_eq(it_pay(s, token, reservation), 2 * PRICE);

  char *token2 = it_active_token(s, kim);
  pay_expect(s, token2, reservation, 409, "ALREADY_PAID");
  it_assert_balance(s, kim, 2 * PRICE);
  cr_assert_eq(it_history_count(s, kim), 2);
  it_assert_reservation(s, token2, reservation, "CONFIRMED");
  free(token);
  free(token2);
  it_assert_alive(s);
}

Test(conflicts, insufficient_balance_is_409, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t schedule = it_create_schedule(s);
  char *token;
  int64_t kim = it_new_booker(s, "kim", &token);
  it_charge(s, kim, PRICE - 1);
  int64_t reservation = it_hold(s, token, schedule, 1);

  pay_expect(s, token, reservation, 409, "INSUFFICIENT_BALANCE");
  it_assert_balance(s, kim, PRICE - 1);
  cr_assert_eq(it_history_count(s, kim), 1);
  it_assert_reservation(s, token, reservation, "HELD");
  it_assert_seat(s, token, schedule, 1, "HELD");
  /* The failed payment did not spend the token: one more won pays. */
  it_charge(s, kim, 1);
  cr_assert_eq(it_pay(s, token, reservation), 0);
  free(token);
  it_assert_alive(s);
}

Test(conflicts, balance_over_10_to_the_12_is_409, .timeout = 120) {
  struct it_server *s = it_server_start(NULL);
  int64_t kim = it_create_user(s, "kim");
  /* 10^12 is 10,000 of the largest charge. */
  char path[96];
  snprintf(path, sizeof path, "/api/v1/users/%lld/points/charge",
           (long long)kim);
  struct it_response r = {0};
  int ok = 0;
  for (int i = 0; i < 10000; i++) {
    it_send(s,
            &(struct it_request){.method = "POST",
                                 .path = path,
                                 .body = "{\"amount\": 100000000}"},
            &r);
    ok += r.status == 200;
  }
  cr_assert_eq(ok, 10000, "%d of 10000 charges refused; last: %ld %s",
               10000 - ok, r.status, r.body);
  it_assert_balance(s, kim, 1000000000000LL); /* exactly at the limit */

  it_call(s, &r, "POST", NULL, json_pack("{s:i}", "amount", 1),
          "/api/v1/users/%lld/points/charge", (long long)kim);
  it_assert_problem(&r, 409, "BALANCE_LIMIT");
  it_assert_balance(s, kim, 1000000000000LL);
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/users/%lld/points/history?limit=1",
          (long long)kim);
  it_assert_status(&r, 200);
  cr_assert_eq(it_jint(it_item(&r, 0), "balanceAfter"), 1000000000000LL);
  it_response_free(&r);
  it_assert_alive(s);
}
