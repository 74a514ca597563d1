/* Requests the server must refuse before any rule runs: malformed or
 * out-of-range input (400), unknown things (404), wrong methods (405),
 * oversized (413) or non-JSON (415) bodies, and the admin API's own
 * 400/401/403. Every refusal must be a problem+json with the stable code,
 * must leave the state as it was (balance, seats, concerts), and must not
 * hurt the server. The rules' own refusals (401/403/409 of tokens,
 * ownership, seats and money) are in test_conflicts.c. */
#include "support/harness.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

TestSuite(errors, .init = it_setup, .fini = it_teardown);

/* Sends `body` (raw bytes, `len` or strlen) as JSON and expects 400. */
static void expect_400(const struct it_server *s, const char *method,
                       const char *path, const char *token, const char *body,
                       size_t len) {
  struct it_response r = {0};
  it_send(s,
          &(struct it_request){.method = method,
                               .path = path,
                               .body = body,
                               .body_len = len,
                               .token = token},
          &r);
  cr_assert_eq(r.status, 400,
               "%s with body «%.80s»: expected 400, got %ld: "
               "%.300s",
               r.what, body, r.status, r.body);
  it_assert_problem(&r, 400, "BAD_REQUEST");
  it_response_free(&r);
}

static void expect_problem(const struct it_server *s, const char *method,
                           const char *path, const char *token, long status,
                           const char *code) {
  struct it_response r = {0};
  it_send(s,
          &(struct it_request){.method = method, .path = path, .token = token},
          &r);
  it_assert_problem(&r, status, code);
  it_response_free(&r);
}

Test(errors, malformed_user_bodies, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  static const char *bodies[] = {
      "{\"name\":",                /* truncated */
      "{\"name\": \"kim\",}",      /* trailing comma */
      "{name: \"kim\"}",           /* not JSON */
      "{\"name\": \"\xff\xfe\"}",  /* invalid UTF-8 */
      "{\"name\": \"\xc0\xaf\"}",  /* overlong UTF-8 */
      "{\"name\": \"\\ud800\"}",   /* lone surrogate */
      "{\"name\": \"k\\u0000m\"}", /* NUL inside: would truncate in C */
      "{\"name\": 5}",             /* wrong type */
      "{\"name\": null}",
      "{\"name\": [\"kim\"]}",
      "{}", /* missing field */
      "{\"nam\": \"kim\"}",
      "[]", /* not an object */
      "\"kim\"",
      "null",
      "{\"name\": \"\"}", /* shorter than 1 */
      /* 65 characters: one over */
      "{\"name\": "
      "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaa\"}",
  };
  for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
    expect_400(s, "POST", "/api/v1/users", NULL, bodies[i], 0);
  /* An empty body is malformed JSON too. */
  struct it_response r = {0};
  it_send(
      s,
      &(struct it_request){
          .method = "POST", .path = "/api/v1/users", .body = "", .body_len = 0},
      &r);
  it_assert_problem(&r, 400, "BAD_REQUEST");

  /* The limits are characters: 64 ASCII letters, and 64 Hangul syllables
   * (192 bytes of UTF-8), are both fine; unknown fields are ignored. */
  char name[64 * 3 + 1] = {0};
  memset(name, 'a', 64);
  it_create_user(s, name);
  name[0] = '\0';
  for (int i = 0; i < 64; i++)
    strcat(name, "\xea\xb9\x80"); /* 김 */
  it_create_user(s, name);
  it_call(s, &r, "POST", NULL,
          json_pack("{s:s, s:i}", "name", "kim", "unknown", 1),
          "/api/v1/users");
  it_assert_status(&r, 201);
  it_response_free(&r);
  it_assert_alive(s);
}

Test(errors, bad_amounts_change_nothing, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t kim = it_create_user(s, "kim");
  it_charge(s, kim, 5000);
  char path[96];
  snprintf(path, sizeof path, "/api/v1/users/%lld/points/charge",
           (long long)kim);
  static const char *bodies[] = {
      "{\"amount\": 0}",
      "{\"amount\": -1}",
      "{\"amount\": -5000}",
      "{\"amount\": 100000001}", /* over the per-charge limit */
      "{\"amount\": 9223372036854775807}",
      "{\"amount\": 9223372036854775808}", /* overflows int64 */
      "{\"amount\": 99999999999999999999}",
      "{\"amount\": -9223372036854775809}",
      "{\"amount\": 1.0}", /* money is never a float */
      "{\"amount\": 1e3}",
      "{\"amount\": 0.5}",
      "{\"amount\": \"1000\"}",
      "{\"amount\": true}",
      "{\"amount\": null}",
      "{}",
      "{\"amount\": 1000",
      "[1000]",
  };
  for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
    expect_400(s, "POST", path, NULL, bodies[i], 0);
    it_assert_balance(s, kim, 5000);
  }
  cr_assert_eq(it_history_count(s, kim), 1);
  /* The bounds themselves are accepted. */
  cr_assert_eq(it_charge(s, kim, 100000000), 100005000);
  cr_assert_eq(it_charge(s, kim, 1), 100005001);
  it_assert_alive(s);
}

Test(errors, bad_path_ids_and_parameters, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t sched = it_create_schedule(s);
  char *token;
  int64_t kim = it_new_booker(s, "kim", &token);
  it_charge(s, kim, 700);
  /* Ids are positive 64-bit integers; anything else in their place is 400,
   * not 404 and not a wrapped-around id. */
  static const char *ids[] = {"abc",
                              "0",
                              "-1",
                              "1x",
                              "1.0",
                              "0x10",
                              "99999999999999999999",
                              "9223372036854775808",
                              "18446744073709551617"};
  char path[160];
  for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
    const char *id = ids[i];
    snprintf(path, sizeof path, "/api/v1/users/%s/points", id);
    expect_problem(s, "GET", path, NULL, 400, "BAD_REQUEST");
    snprintf(path, sizeof path, "/api/v1/users/%s/points/history", id);
    expect_problem(s, "GET", path, NULL, 400, "BAD_REQUEST");
    snprintf(path, sizeof path, "/api/v1/users/%s/reservations", id);
    expect_problem(s, "GET", path, NULL, 400, "BAD_REQUEST");
    snprintf(path, sizeof path, "/api/v1/users/%s/points/charge", id);
    expect_400(s, "POST", path, NULL, "{\"amount\": 100}", 0);
    snprintf(path, sizeof path, "/api/v1/concerts/%s/schedules", id);
    expect_problem(s, "GET", path, token, 400, "BAD_REQUEST");
    snprintf(path, sizeof path, "/api/v1/schedules/%s/seats", id);
    expect_problem(s, "GET", path, token, 400, "BAD_REQUEST");
    snprintf(path, sizeof path, "/api/v1/reservations/%s", id);
    expect_problem(s, "GET", path, token, 400, "BAD_REQUEST");
    expect_problem(s, "DELETE", path, token, 400, "BAD_REQUEST");
  }
  /* The largest id is well-formed, merely unknown. */
  expect_problem(s, "GET", "/api/v1/users/9223372036854775807/points", NULL,
                 404, "NOT_FOUND");

  /* Ids inside bodies follow the same rule. */
  static const char *holds[] = {
      "{\"scheduleId\": \"1\", \"seatNumber\": 1}",
      "{\"scheduleId\": 1.0, \"seatNumber\": 1}",
      "{\"scheduleId\": 0, \"seatNumber\": 1}",
      "{\"scheduleId\": -3, \"seatNumber\": 1}",
      "{\"scheduleId\": 99999999999999999999, \"seatNumber\": 1}",
      "{\"seatNumber\": 1}",
      "{\"scheduleId\": 1}",
      "{\"scheduleId\": 1, \"seatNumber\": \"1\"}",
      "{\"scheduleId\": 1, \"seatNumber\": 1.5}",
  };
  for (size_t i = 0; i < sizeof holds / sizeof *holds; i++)
    expect_400(s, "POST", "/api/v1/reservations", token, holds[i], 0);
  expect_400(s, "POST", "/api/v1/payments", token, "{\"reservationId\": \"1\"}",
             0);
  expect_400(s, "POST", "/api/v1/payments", token, "{\"reservationId\": 0}", 0);
  expect_400(s, "POST", "/api/v1/payments", token, "{}", 0);
  expect_400(s, "POST", "/api/v1/queue/tokens", NULL, "{\"userId\": \"1\"}", 0);
  expect_400(s, "POST", "/api/v1/queue/tokens", NULL, "{\"userId\": -1}", 0);
  expect_400(s, "POST", "/api/v1/queue/tokens", NULL, "{}", 0);

  /* A query parameter of the wrong type is a bad request too. */
  snprintf(path, sizeof path, "/api/v1/users/%lld/points/history?limit=abc",
           (long long)kim);
  expect_problem(s, "GET", path, NULL, 400, "BAD_REQUEST");
  snprintf(path, sizeof path, "/api/v1/users/%lld/points/history?limit=-1",
           (long long)kim);
  expect_problem(s, "GET", path, NULL, 400, "BAD_REQUEST");

  /* Nothing was held, nothing moved. */
  it_assert_seat(s, token, sched, 1, "AVAILABLE");
  it_assert_balance(s, kim, 700);
  free(token);
  it_assert_alive(s);
}

Test(errors, unknown_things_are_404, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t sched = it_create_schedule(s);
  char *token;
  int64_t kim = it_new_booker(s, "kim", &token);
  it_charge(s, kim, 1000000);

  static const char *routes[] = {"/nope",
                                 "/api/v1/nope",
                                 "/api/v1",
                                 "/api/v2/concerts",
                                 "/api/v1/users/1/nope",
                                 "/api/v1/concerts/1/schedules/extra"};
  for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
    expect_problem(s, "GET", routes[i], token, 404, "NOT_FOUND");

  const char *missing_user[] = {"/api/v1/users/999999/points",
                                "/api/v1/users/999999/points/history",
                                "/api/v1/users/999999/reservations"};
  for (size_t i = 0; i < 3; i++)
    expect_problem(s, "GET", missing_user[i], NULL, 404, "NOT_FOUND");
  struct it_response r = {0};
  it_call(s, &r, "POST", NULL, json_pack("{s:i}", "amount", 100),
          "/api/v1/users/999999/points/charge");
  it_assert_problem(&r, 404, "NOT_FOUND");
  it_call(s, &r, "POST", NULL, json_pack("{s:i}", "userId", 999999),
          "/api/v1/queue/tokens");
  it_assert_problem(&r, 404, "NOT_FOUND");

  expect_problem(s, "GET", "/api/v1/concerts/999999/schedules", token, 404,
                 "NOT_FOUND");
  expect_problem(s, "GET", "/api/v1/schedules/999999/seats", token, 404,
                 "NOT_FOUND");
  expect_problem(s, "GET", "/api/v1/reservations/999999", token, 404,
                 "NOT_FOUND");
  expect_problem(s, "DELETE", "/api/v1/reservations/999999", token, 404,
                 "NOT_FOUND");
  it_call(s, &r, "POST", token,
          json_pack("{s:i, s:i}", "scheduleId", 999999, "seatNumber", 1),
          "/api/v1/reservations");
  it_assert_problem(&r, 404, "NOT_FOUND");
  it_call(s, &r, "POST", token,
          json_pack("{s:I, s:i}", "scheduleId", (json_int_t)sched, "seatNumber",
                    51),
          "/api/v1/reservations");
  it_assert_problem(&r, 404, "NOT_FOUND");
  it_call(s, &r, "POST", token, json_pack("{s:i}", "reservationId", 999999),
          "/api/v1/payments");
  it_assert_problem(&r, 404, "NOT_FOUND");

  /* Nothing held, nothing paid, and the token is still ACTIVE. */
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/users/%lld/reservations",
          (long long)kim);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 0);
  it_assert_balance(s, kim, 1000000);
  it_call(s, &r, "GET", token, NULL, "/api/v1/queue/status");
  it_assert_status(&r, 200);
  cr_assert_str_eq(it_jstr(r.json, "status"), "ACTIVE");
  it_response_free(&r);
  free(token);
  it_assert_alive(s);
}

Test(errors, wrong_method_is_405, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t kim = it_create_user(s, "kim");
  char points[96];
  snprintf(points, sizeof points, "/api/v1/users/%lld/points", (long long)kim);
  struct {
    const char *method, *path;
  } cases[] = {
      {"DELETE", "/api/v1/users"},
      {"GET", "/api/v1/users"},
      {"PUT", "/api/v1/concerts"},
      {"POST", "/api/v1/concerts"},
      {"GET", "/api/v1/payments"},
      {"POST", "/healthz"},
      {"DELETE", "/metrics"},
      {"PATCH", "/api/v1/reservations/1"},
      {"GET", "/api/v1/reservations"},
      {"GET", "/api/v1/admin/concerts"},
      {"DELETE", points},
      {"PUT", "/api/v1/queue/tokens"},
      {"POST", "/api/v1/queue/status"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    expect_problem(s, cases[i].method, cases[i].path, IT_ADMIN_SECRET, 405,
                   "METHOD_NOT_ALLOWED");
  it_assert_balance(s, kim, 0);
  it_assert_alive(s);
}

/* `size` bytes of valid JSON: {"amount":1,"pad":"xxx..."}. */
static char *padded_body(size_t size) {
  char *body = malloc(size + 1);
  const char *head = "{\"amount\":1,\"name\":\"kim\",\"pad\":\"";
  size_t head_len = strlen(head);
  memcpy(body, head, head_len);
  memset(body + head_len, 'x', size - head_len - 2);
  memcpy(body + size - 2, "\"}", 3);
  return body;
}

Test(errors, body_over_64k_is_413, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t kim = it_create_user(s, "kim");
  it_charge(s, kim, 100);
  char path[96];
  snprintf(path, sizeof path, "/api/v1/users/%lld/points/charge",
           (long long)kim);
  struct it_response r = {0};
  char *just_over = padded_body(64 * 1024 + 1);
  char *huge = padded_body(4 * 1024 * 1024);
  /* With a Content-Length, and chunked (no length announced: the server
   * must count what arrives), and far over the limit. */
  struct it_request reqs[] = {
      {.method = "POST", .path = "/api/v1/users", .body = just_over},
      {.method = "POST", .path = path, .body = just_over},
      {.method = "POST", .path = path, .body = just_over, .chunked = true},
      {.method = "POST", .path = path, .body = huge},
      {.method = "POST", .path = path, .body = huge, .chunked = true},
  };
  for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++) {
    it_send(s, &reqs[i], &r);
    cr_assert_eq(r.status, 413, "request %zu: expected 413, got %ld (%s)", i,
                 r.status, r.error);
    it_assert_problem(&r, 413, "PAYLOAD_TOO_LARGE");
    it_assert_balance(s, kim, 100);
  }
  it_response_free(&r);
  free(just_over);
  free(huge);
  it_assert_alive(s);
}

Test(errors, non_json_is_415, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t kim = it_create_user(s, "kim");
  char path[96];
  snprintf(path, sizeof path, "/api/v1/users/%lld/points/charge",
           (long long)kim);
  static const char *types[] = {"text/plain", "",
                                "application/x-www-form-urlencoded",
                                "application/jsonp", "text/json"};
  struct it_response r = {0};
  for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
    it_send(s,
            &(struct it_request){.method = "POST",
                                 .path = path,
                                 .body = "{\"amount\": 100}",
                                 .content_type = types[i]},
            &r);
    cr_assert_eq(r.status, 415, "Content-Type \"%s\": expected 415, got %ld",
                 types[i], r.status);
    it_assert_problem(&r, 415, "UNSUPPORTED_MEDIA_TYPE");
    it_assert_balance(s, kim, 0);
  }
  /* JSON with a charset parameter is still JSON. */
  it_send(
      s,
      &(struct it_request){.method = "POST",
                           .path = path,
                           .body = "{\"amount\": 100}",
                           .content_type = "application/json; charset=utf-8"},
      &r);
  it_assert_status(&r, 200);
  it_assert_balance(s, kim, 100);
  it_response_free(&r);
  it_assert_alive(s);
}

/* POST /api/v1/admin/concerts with a raw body and Authorization value. */
static void admin_post(const struct it_server *s, const char *authorization,
                       const char *body, struct it_response *r) {
  char header[400];
  snprintf(header, sizeof header, "Authorization: %s", authorization);
  const char *headers[] = {header, NULL};
  it_send(s,
          &(struct it_request){.method = "POST",
                               .path = "/api/v1/admin/concerts",
                               .body = body,
                               .headers = authorization ? headers : NULL},
          r);
}

static const char *good_concert =
    "{\"name\": \"IU\", \"schedules\": [{\"startsAt\": "
    "\"2099-12-24T19:00:00Z\", \"seatCount\": 50, \"price\": 150000}]}";

static size_t concert_count(const struct it_server *s) {
  struct it_response r = {0};
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/concerts");
  it_assert_status(&r, 200);
  size_t n = it_item_count(&r);
  it_response_free(&r);
  return n;
}

Test(errors, admin_needs_the_secret, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  struct it_response r = {0};
  const char *wrong[] = {
      NULL,      "Bearer wrong-secret",    "Bearer " IT_ADMIN_SECRET "x",
      "Bearer ", "Basic " IT_ADMIN_SECRET, IT_ADMIN_SECRET};
  for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
    admin_post(s, wrong[i], good_concert, &r);
    it_assert_problem(&r, 401, "ADMIN_UNAUTHORIZED");
  }
  /* A queue token is not the admin secret either. */
  char *token;
  it_new_booker(s, "kim", &token);
  char bearer[300];
  snprintf(bearer, sizeof bearer, "Bearer %s", token);
  admin_post(s, bearer, good_concert, &r);
  it_assert_problem(&r, 401, "ADMIN_UNAUTHORIZED");
  cr_assert_eq(concert_count(s), 0);

  admin_post(s, "Bearer " IT_ADMIN_SECRET, good_concert, &r);
  it_assert_status(&r, 201);
  cr_assert_eq(concert_count(s), 1);
  it_response_free(&r);
  free(token);
}

Test(errors, admin_off_without_a_secret, .timeout = 30) {
  struct it_server *s =
      it_server_start(&(struct it_server_opts){.no_admin = true});
  struct it_response r = {0};
  const char *tries[] = {NULL, "Bearer " IT_ADMIN_SECRET, "Bearer ",
                         "Bearer anything"};
  for (size_t i = 0; i < sizeof tries / sizeof *tries; i++) {
    admin_post(s, tries[i], good_concert, &r);
    it_assert_problem(&r, 403, "ADMIN_DISABLED");
  }
  cr_assert_eq(concert_count(s), 0);
  it_response_free(&r);
  it_assert_alive(s);
}

Test(errors, admin_validates_concerts, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  /* 201 characters of name. */
  char long_name[300];
  snprintf(long_name, sizeof long_name,
           "{\"name\": \"%0201d\", \"schedules\": [{\"startsAt\": "
           "\"2099-12-24T19:00:00Z\", \"seatCount\": 50, \"price\": 1}]}",
           0);
#define SCHED(starts, seats, price)                                            \
  "{\"name\": \"IU\", \"schedules\": [{\"startsAt\": " starts                  \
  ", \"seatCount\": " seats ", \"price\": " price "}]}"
  const char *bad[] = {
      long_name,
      "{\"name\": \"\", \"schedules\": [{\"startsAt\": "
      "\"2099-12-24T19:00:00Z\", \"seatCount\": 50, \"price\": 1}]}",
      "{\"schedules\": [{\"startsAt\": \"2099-12-24T19:00:00Z\", "
      "\"seatCount\": 50, \"price\": 1}]}",
      "{\"name\": \"IU\", \"schedules\": []}",
      "{\"name\": \"IU\"}",
      "{\"name\": \"IU\", \"schedules\": {}}",
      SCHED("\"tomorrow\"", "50", "1"),
      SCHED("\"2099-13-24T19:00:00Z\"", "50", "1"),
      SCHED("\"2099-12-24 19:00\"", "50", "1"),
      SCHED("1766602800", "50", "1"),
      SCHED("\"2099-12-24T19:00:00Z\"", "0", "1"),
      SCHED("\"2099-12-24T19:00:00Z\"", "1001", "1"),
      SCHED("\"2099-12-24T19:00:00Z\"", "50.0", "1"),
      SCHED("\"2099-12-24T19:00:00Z\"", "50", "-1"),
      SCHED("\"2099-12-24T19:00:00Z\"", "50", "100000001"),
      SCHED("\"2099-12-24T19:00:00Z\"", "50", "1.5"),
      SCHED("\"2099-12-24T19:00:00Z\"", "50", "\"1\""),
      "{\"name\": \"IU\", \"schedules\": [{\"seatCount\": 50, \"price\": 1}]}",
      "{\"name\": \"IU\", \"schedules\": [",
  };
  struct it_response r = {0};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    admin_post(s, "Bearer " IT_ADMIN_SECRET, bad[i], &r);
    cr_assert_eq(r.status, 400,
                 "concert body %zu «%.120s»: expected 400, got "
                 "%ld",
                 i, bad[i], r.status);
    it_assert_problem(&r, 400, "BAD_REQUEST");
  }
  cr_assert_eq(concert_count(s), 0, "a refused concert was created");

  /* The bounds are fine: 1000 seats, price 0 and 100,000,000. */
  admin_post(s, "Bearer " IT_ADMIN_SECRET,
             SCHED("\"2099-12-24T19:00:00Z\"", "1000", "0"), &r);
  it_assert_status(&r, 201);
  int64_t big =
      it_jint(json_array_get(it_jarr(r.json, "schedules"), 0), "scheduleId");
  admin_post(s, "Bearer " IT_ADMIN_SECRET,
             SCHED("\"2099-12-24T19:00:00Z\"", "1", "100000000"), &r);
  it_assert_status(&r, 201);
#undef SCHED
  cr_assert_eq(concert_count(s), 2);
  char *token;
  it_new_booker(s, "kim", &token);
  it_call(s, &r, "GET", token, NULL, "/api/v1/schedules/%lld/seats",
          (long long)big);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 1000);
  cr_assert_eq(it_jint(it_item(&r, 999), "price"), 0);
  it_response_free(&r);
  free(token);
  it_assert_alive(s);
}
