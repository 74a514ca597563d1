/* Shorthands for the steps most tests take on the way to what they test
 * (a user, a concert, an ACTIVE token, points, a hold, a payment), each
 * asserting that its step succeeded, plus time utilities. */
#include "support/harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- Time --------------------------------------------------------------- */

void it_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

int64_t it_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void it_rfc3339(int64_t offset, char out[32]) {
  time_t t = time(NULL) + (time_t)offset;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool it_parse_time(const char *text, int64_t *epoch) {
  struct tm tm = {0};
  int used = 0;
  if (!text ||
      sscanf(text, "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
             &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 ||
      used != 19)
    return false;
  const char *p = text + used;
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9')
      return false;
    while (*p >= '0' && *p <= '9')
      p++;
  }
  long offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int hh, mm, n = 0;
    if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5)
      return false;
    offset = (*p == '+' ? 1 : -1) * (hh * 3600L + mm * 60L);
    p += 6;
  } else {
    return false;
  }
  if (*p)
    return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  *epoch = (int64_t)timegm(&tm) - offset;
  return true;
}

/* ---- Booking steps ------------------------------------------------------ */

int64_t it_create_user(const struct it_server *s, const char *name) {
  struct it_response r = {0};
  it_call(s, &r, "POST", NULL, json_pack("{s:s}", "name", name),
          "/api/v1/users");
  it_assert_status(&r, 201);
  int64_t id = it_jint(r.json, "userId");
  cr_assert_gt(id, 0);
  cr_assert_str_eq(it_jstr(r.json, "name"), name);
  it_response_free(&r);
  return id;
}

int64_t it_create_concert(const struct it_server *s, const char *name, size_t n,
                          const int64_t *offsets, int seat_count, int64_t price,
                          int64_t *schedule_ids) {
  json_t *schedules = json_array();
  int64_t starts[16];
  cr_assert_leq(n, 16);
  for (size_t i = 0; i < n; i++) {
    char when[32];
    it_rfc3339(offsets[i], when);
    it_parse_time(when, &starts[i]);
    json_array_append_new(schedules, json_pack("{s:s, s:i, s:I}", "startsAt",
                                               when, "seatCount", seat_count,
                                               "price", (json_int_t)price));
  }
  struct it_response r = {0};
  it_call(s, &r, "POST", IT_ADMIN_SECRET,
          json_pack("{s:s, s:o}", "name", name, "schedules", schedules),
          "/api/v1/admin/concerts");
  it_assert_status(&r, 201);
  int64_t concert_id = it_jint(r.json, "concertId");
  cr_assert_gt(concert_id, 0);
  json_t *made = it_jarr(r.json, "schedules");
  cr_assert_eq(json_array_size(made), n, "%s: %zu schedules back, sent %zu",
               r.what, json_array_size(made), n);
  for (size_t i = 0; i < n; i++) {
    json_t *item = json_array_get(made, i);
    schedule_ids[i] = it_jint(item, "scheduleId");
    cr_assert_gt(schedule_ids[i], 0);
    cr_assert_eq(it_jint(item, "seatCount"), seat_count);
    /* Same instant back, in whatever RFC 3339 spelling the server likes. */
    int64_t back;
    cr_assert(it_parse_time(it_jstr(item, "startsAt"), &back),
              "startsAt \"%s\" is not RFC 3339", it_jstr(item, "startsAt"));
    cr_assert_eq(back, starts[i], "startsAt \"%s\" is not the time sent",
                 it_jstr(item, "startsAt"));
  }
  it_response_free(&r);
  return concert_id;
}

int64_t it_create_schedule(const struct it_server *s) {
  const int64_t day[] = {86400};
  int64_t schedule_id;
  it_create_concert(s, "IU Golden Hour", 1, day, 50, 150000, &schedule_id);
  return schedule_id;
}

char *it_issue_token(const struct it_server *s, int64_t user_id,
                     long *status_out) {
  struct it_response r = {0};
  it_call(s, &r, "POST", NULL,
          json_pack("{s:I}", "userId", (json_int_t)user_id),
          "/api/v1/queue/tokens");
  cr_assert(r.status == 201 || r.status == 200,
            "%s: expected 201 or 200, got %ld: %.300s", r.what, r.status,
            r.body);
  cr_assert_eq(it_jint(r.json, "userId"), user_id);
  char *token = strdup(it_jstr(r.json, "token"));
  if (status_out)
    *status_out = r.status;
  it_response_free(&r);
  return token;
}

char *it_active_token(const struct it_server *s, int64_t user_id) {
  char *token = it_issue_token(s, user_id, NULL);
  struct it_response r = {0};
  int64_t deadline = it_now_ms() + 10000;
  for (;;) {
    it_call(s, &r, "GET", token, NULL, "/api/v1/queue/status");
    it_assert_status(&r, 200);
    if (strcmp(it_jstr(r.json, "status"), "ACTIVE") == 0)
      break;
    cr_assert_lt(it_now_ms(), deadline, "token of user %lld not ACTIVE in 10 s",
                 (long long)user_id);
    it_sleep_ms(50);
  }
  it_response_free(&r);
  return token;
}

int64_t it_new_booker(const struct it_server *s, const char *name,
                      char **token) {
  int64_t id = it_create_user(s, name);
  *token = it_active_token(s, id);
  return id;
}

int64_t it_charge(const struct it_server *s, int64_t user_id, int64_t amount) {
  struct it_response r = {0};
  it_call(s, &r, "POST", NULL, json_pack("{s:I}", "amount", (json_int_t)amount),
          "/api/v1/users/%lld/points/charge", (long long)user_id);
  it_assert_status(&r, 200);
  cr_assert_eq(it_jint(r.json, "userId"), user_id);
  int64_t balance = it_jint(r.json, "balance");
  it_response_free(&r);
  return balance;
}

int64_t it_balance(const struct it_server *s, int64_t user_id) {
  struct it_response r = {0};
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/users/%lld/points",
          (long long)user_id);
  it_assert_status(&r, 200);
  cr_assert_eq(it_jint(r.json, "userId"), user_id);
  int64_t balance = it_jint(r.json, "balance");
  it_response_free(&r);
  return balance;
}

void it_assert_balance(const struct it_server *s, int64_t user_id,
                       int64_t expected) {
  int64_t balance = it_balance(s, user_id);
  cr_assert_eq(balance, expected, "user %lld: balance %lld, expected %lld",
               (long long)user_id, (long long)balance, (long long)expected);
}

int64_t it_hold(const struct it_server *s, const char *token,
                int64_t schedule_id, int seat_number) {
  struct it_response r = {0};
  it_call(s, &r, "POST", token,
          json_pack("{s:I, s:i}", "scheduleId", (json_int_t)schedule_id,
                    "seatNumber", seat_number),
          "/api/v1/reservations");
  it_assert_status(&r, 201);
  cr_assert_str_eq(it_jstr(r.json, "status"), "HELD");
  cr_assert_eq(it_jint(r.json, "seatNumber"), seat_number);
  int64_t id = it_jint(r.json, "reservationId");
  cr_assert_gt(id, 0);
  it_response_free(&r);
  return id;
}

int64_t it_pay(const struct it_server *s, const char *token,
               int64_t reservation_id) {
  struct it_response r = {0};
  it_call(s, &r, "POST", token,
          json_pack("{s:I}", "reservationId", (json_int_t)reservation_id),
          "/api/v1/payments");
  it_assert_status(&r, 201);
  cr_assert_str_eq(it_jstr(r.json, "status"), "COMPLETED");
  cr_assert_eq(it_jint(r.json, "reservationId"), reservation_id);
  int64_t balance = it_jint(r.json, "balance");
  it_response_free(&r);
  return balance;
}

void it_assert_seat(const struct it_server *s, const char *token,
                    int64_t schedule_id, int seat_number,
                    const char *expected) {
  struct it_response r = {0};
  it_call(s, &r, "GET", token, NULL, "/api/v1/schedules/%lld/seats",
          (long long)schedule_id);
  it_assert_status(&r, 200);
  const char *found = NULL;
  for (size_t i = 0; i < it_item_count(&r) && !found; i++) {
    json_t *seat = it_item(&r, i);
    if (it_jint(seat, "seatNumber") == seat_number)
      found = it_jstr(seat, "status");
  }
  cr_assert_not_null(found, "seat %d missing from schedule %lld", seat_number,
                     (long long)schedule_id);
  cr_assert_str_eq(found, expected, "seat %d of schedule %lld is %s, not %s",
                   seat_number, (long long)schedule_id, found, expected);
  it_response_free(&r);
}

void it_assert_reservation(const struct it_server *s, const char *token,
                           int64_t reservation_id, const char *expected) {
  struct it_response r = {0};
  it_call(s, &r, "GET", token, NULL, "/api/v1/reservations/%lld",
          (long long)reservation_id);
  it_assert_status(&r, 200);
  cr_assert_eq(it_jint(r.json, "reservationId"), reservation_id);
  cr_assert_str_eq(it_jstr(r.json, "status"), expected,
                   "reservation %lld is %s, not %s", (long long)reservation_id,
                   it_jstr(r.json, "status"), expected);
  it_response_free(&r);
}

size_t it_history_count(const struct it_server *s, int64_t user_id) {
  struct it_response r = {0};
  it_call(s, &r, "GET", NULL, NULL,
          "/api/v1/users/%lld/points/history?limit=50", (long long)user_id);
  it_assert_status(&r, 200);
  size_t n = it_item_count(&r);
  it_response_free(&r);
  return n;
}
