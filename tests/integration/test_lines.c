/* Per-concert waiting lines end to end (issue 6), through the documented
 * API only: a concert made with a line of its own, tokens scoped to it
 * (403 WRONG_LINE elsewhere, and for global tokens on it), the operator's
 * handles (pause, activeMax raised live, ending a token, the lines view
 * and its numbers), selling out (SOLD_OUT while waiting, 409 for new
 * tokens), and the pre-queue with its verifiable draw, checked at the end
 * by the independent verifier tools/verify-draw. */
#include "support/harness.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(lines, .init = it_setup, .fini = it_teardown);

#define PRICE 1000
#define DAY 86400

/* ---- steps -------------------------------------------------------------- */

/* POST /admin/concerts with one date a day ahead of `seats` seats and the
 * given "line" object (taken; NULL for none). Returns the concert id; the
 * schedule id and the 201 body (caller json_decref()s) if asked for. */
static int64_t create_concert(const struct it_server *s, int seats,
                              json_t *line, int64_t *schedule_id,
                              json_t **body) {
  char when[32];
  it_rfc3339(DAY, when);
  json_t *req =
      json_pack("{s:s, s:[{s:s, s:i, s:i}]}", "name", "Lined", "schedules",
                "startsAt", when, "seatCount", seats, "price", PRICE);
  if (line)
    json_object_set_new(req, "line", line);
  struct it_response r = {0};
  it_call(s, &r, "POST", IT_ADMIN_SECRET, req, "/api/v1/admin/concerts");
  it_assert_status(&r, 201);
  int64_t id = it_jint(r.json, "concertId");
  if (schedule_id)
    *schedule_id =
        it_jint(json_array_get(it_jarr(r.json, "schedules"), 0), "scheduleId");
  if (body)
    *body = json_incref(r.json);
  it_response_free(&r);
  return id;
}

/* POST /queue/tokens for `concert_id` (0: none given); the reply's body
 * (caller json_decref()s); asserts 201 or 200. */
static json_t *join(const struct it_server *s, int64_t user_id,
                    int64_t concert_id) {
  json_t *req = json_pack("{s:I}", "userId", (json_int_t)user_id);
  if (concert_id)
    json_object_set_new(req, "concertId", json_integer(concert_id));
  struct it_response r = {0};
  it_call(s, &r, "POST", NULL, req, "/api/v1/queue/tokens");
  cr_assert(r.status == 201 || r.status == 200,
            "%s: expected 201 or 200, got %ld: %.400s", r.what, r.status,
            r.body);
  json_t *body = json_incref(r.json);
  it_response_free(&r);
  return body;
}

/* The user's token text in `concert_id`'s line (malloc'd). */
static char *token_of(const struct it_server *s, int64_t user_id,
                      int64_t concert_id) {
  json_t *body = join(s, user_id, concert_id);
  char *token = strdup(it_jstr(body, "token"));
  json_decref(body);
  return token;
}

/* A new user's token text in `concert_id`'s line (malloc'd). */
static char *new_token(const struct it_server *s, int64_t concert_id,
                       const char *name) {
  return token_of(s, it_create_user(s, name), concert_id);
}

/* Sends `body` (taken; may be NULL) with `token` (may be NULL) to the
 * path; asserts 200 and returns the reply's body (caller json_decref()s). */
static json_t *call_ok(const struct it_server *s, const char *method,
                       const char *token, json_t *body, const char *path_fmt,
                       ...) {
  char path[256];
  va_list ap;
  va_start(ap, path_fmt);
  vsnprintf(path, sizeof path, path_fmt, ap);
  va_end(ap);
  struct it_response r = {0};
  it_call(s, &r, method, token, body, "%s", path);
  it_assert_status(&r, 200);
  json_t *reply = json_incref(r.json);
  it_response_free(&r);
  return reply;
}

/* GET /queue/status; the body (caller json_decref()s); asserts 200. */
static json_t *status_of(const struct it_server *s, const char *token) {
  return call_ok(s, "GET", token, NULL, "/api/v1/queue/status");
}

static bool status_is(const struct it_server *s, const char *token,
                      const char *want) {
  json_t *body = status_of(s, token);
  bool is = strcmp(it_jstr(body, "status"), want) == 0;
  json_decref(body);
  return is;
}

/* Polls the token's status until it reads `want` (5 s, well past the one
 * second in which a freed slot is handed on). */
static void await_status(const struct it_server *s, const char *token,
                         const char *want) {
  int64_t deadline = it_now_ms() + 5000;
  while (!status_is(s, token, want)) {
    cr_assert_lt(it_now_ms(), deadline, "token %s did not become %s in 5 s",
                 token, want);
    it_sleep_ms(150);
  }
}

/* The token stays WAITING for `ms` (checked every 200 ms). */
static void assert_stays_waiting(const struct it_server *s, const char *token,
                                 long ms) {
  int64_t until = it_now_ms() + ms;
  while (it_now_ms() < until) {
    cr_assert(status_is(s, token, "WAITING"),
              "token %s was admitted when it should still wait", token);
    it_sleep_ms(200);
  }
}

/* GET `path` with the admin secret; the body (caller json_decref()s). */
static json_t *admin_get(const struct it_server *s, const char *path) {
  return call_ok(s, "GET", IT_ADMIN_SECRET, NULL, "%s", path);
}

/* PATCH `path` with `change` (taken); asserts 200, returns the view. */
static json_t *admin_patch(const struct it_server *s, const char *path,
                           json_t *change) {
  return call_ok(s, "PATCH", IT_ADMIN_SECRET, change, "%s", path);
}

/* GET the concert's public line view; asserts 200, returns the body. */
static json_t *public_line(const struct it_server *s, int64_t concert_id) {
  return call_ok(s, "GET", NULL, NULL, "/api/v1/concerts/%lld/line",
                 (long long)concert_id);
}

/* POST /admin/tokens/end for `token`; asserts 200, returns the body. */
static json_t *end_token(const struct it_server *s, const char *token) {
  return call_ok(s, "POST", IT_ADMIN_SECRET, json_pack("{s:s}", "token", token),
                 "/api/v1/admin/tokens/end");
}

/* A concert of 50 seats whose line admits one at a time, with "first"
 * ACTIVE in it (asserted) and "second" behind; both tokens malloc'd. */
static int64_t one_at_a_time_line(const struct it_server *s, char **first,
                                  char **second) {
  int64_t a =
      create_concert(s, 50, json_pack("{s:i}", "activeMax", 1), NULL, NULL);
  *first = new_token(s, a, "first");
  cr_assert(status_is(s, *first, "ACTIVE"));
  *second = new_token(s, a, "second");
  return a;
}

/* The token's status reads WAITING at `position`; returns the body for
 * more checks (caller json_decref()s). */
static json_t *waiting_at(const struct it_server *s, const char *token,
                          int64_t position) {
  json_t *st = status_of(s, token);
  cr_assert_str_eq(it_jstr(st, "status"), "WAITING");
  cr_assert_eq(it_jint(st, "position"), position);
  return st;
}

/* The operator's path of a concert's line. */
static void admin_line_path(char *path, size_t size, int64_t concert_id) {
  snprintf(path, size, "/api/v1/admin/concerts/%lld/line",
           (long long)concert_id);
}

/* Sends and expects a problem with `status` and `code`. */
static void expect_problem(const struct it_server *s, const char *method,
                           const char *token, json_t *body, long status,
                           const char *code, const char *path) {
  struct it_response r = {0};
  it_call(s, &r, method, token, body, "%s", path);
  it_assert_problem(&r, status, code);
  it_response_free(&r);
}

static bool is_hex64(const char *text) {
  return text && strlen(text) == 64 && strspn(text, "0123456789abcdef") == 64;
}

static bool jbool(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  cr_assert(json_is_boolean(v), "\"%s\" is not a boolean", key);
  return json_is_true(v);
}

static void assert_null(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  cr_assert(v != NULL && json_is_null(v), "\"%s\" is not null", key);
}

/* ---- scoping ------------------------------------------------------------ */

Test(lines, tokens_are_scoped_to_their_line, .timeout = 90) {
  struct it_server *s = it_server_start(NULL);
  int64_t sched_a, sched_c, sched_b;
  json_t *made = NULL;
  int64_t a = create_concert(s, 50, json_pack("{s:i}", "activeMax", 10),
                             &sched_a, &made);
  int64_t c = create_concert(s, 50, json_object(), &sched_c, NULL);
  const int64_t day[] = {DAY};
  int64_t b = it_create_concert(s, "Plain", 1, day, 50, PRICE, &sched_b);

  /* The 201 says a line was made: its id is the concert's; no on-sale,
   * so nothing to commit to. */
  json_t *line = json_object_get(made, "line");
  cr_assert(json_is_object(line), "no \"line\" in the 201 body");
  cr_assert_eq(it_jint(line, "lineId"), a);
  assert_null(line, "onSaleAt");
  assert_null(line, "seedCommitment");
  json_decref(made);

  /* A token for A is A's: "<A>.<22 characters>", ACTIVE at once. */
  int64_t kim = it_create_user(s, "kim");
  json_t *tok = join(s, kim, a);
  const char *token = it_jstr(tok, "token");
  char prefix[32];
  snprintf(prefix, sizeof prefix, "%lld.", (long long)a);
  cr_assert_eq(strncmp(token, prefix, strlen(prefix)), 0,
               "token %s does not start with %s", token, prefix);
  cr_assert_eq(strlen(token), strlen(prefix) + 22, "token %s", token);
  cr_assert_eq(it_jint(tok, "concertId"), a);
  cr_assert_str_eq(it_jstr(tok, "status"), "ACTIVE");
  cr_assert_eq(it_jint(tok, "ahead"), 0);
  cr_assert_eq(it_jint(tok, "seatsLeft"), 50);
  cr_assert_not(jbool(tok, "preQueue"));
  assert_null(tok, "onSaleAt");
  char *a_token = strdup(token);
  json_decref(tok);

  /* It works on A ... */
  struct it_response r = {0};
  it_call(s, &r, "GET", a_token, NULL, "/api/v1/concerts/%lld/schedules",
          (long long)a);
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 1);
  it_response_free(&r);
  /* ... and nowhere else: not on C's line, not on the global line's B. */
  char path[128];
  snprintf(path, sizeof path, "/api/v1/concerts/%lld/schedules", (long long)c);
  expect_problem(s, "GET", a_token, NULL, 403, "WRONG_LINE", path);
  snprintf(path, sizeof path, "/api/v1/concerts/%lld/schedules", (long long)b);
  expect_problem(s, "GET", a_token, NULL, 403, "WRONG_LINE", path);
  snprintf(path, sizeof path, "/api/v1/schedules/%lld/seats",
           (long long)sched_b);
  expect_problem(s, "GET", a_token, NULL, 403, "WRONG_LINE", path);
  expect_problem(s, "POST", a_token,
                 json_pack("{s:I, s:i}", "scheduleId", (json_int_t)sched_c,
                           "seatNumber", 1),
                 403, "WRONG_LINE", "/api/v1/reservations");

  /* A global token (no concertId) is refused on A, and works on B. */
  int64_t lee = it_create_user(s, "lee");
  char *g_token = it_active_token(s, lee);
  cr_assert_null(strchr(g_token, '.'), "global token %s is scoped", g_token);
  snprintf(path, sizeof path, "/api/v1/concerts/%lld/schedules", (long long)a);
  expect_problem(s, "GET", g_token, NULL, 403, "WRONG_LINE", path);
  expect_problem(s, "POST", g_token,
                 json_pack("{s:I, s:i}", "scheduleId", (json_int_t)sched_a,
                           "seatNumber", 2),
                 403, "WRONG_LINE", "/api/v1/reservations");
  it_call(s, &r, "GET", g_token, NULL, "/api/v1/concerts/%lld/schedules",
          (long long)b);
  it_assert_status(&r, 200);
  it_response_free(&r);
  json_t *g = status_of(s, g_token);
  assert_null(g, "concertId");
  assert_null(g, "seatsLeft");
  json_decref(g);

  /* Asking for B, which has no line of its own, joins the global line. */
  int64_t park = it_create_user(s, "park");
  json_t *pb = join(s, park, b);
  cr_assert_null(strchr(it_jstr(pb, "token"), '.'), "token %s",
                 it_jstr(pb, "token"));
  assert_null(pb, "concertId");
  json_decref(pb);
  /* An unknown concert is 404. */
  expect_problem(
      s, "POST", NULL,
      json_pack("{s:I, s:i}", "userId", (json_int_t)park, "concertId", 987654),
      404, "NOT_FOUND", "/api/v1/queue/tokens");

  /* A's token books A: hold, pay, sold. */
  it_charge(s, kim, PRICE);
  int64_t held = it_hold(s, a_token, sched_a, 7);
  it_pay(s, a_token, held);
  char *other = new_token(s, a, "choi");
  await_status(s, other, "ACTIVE");
  it_assert_seat(s, other, sched_a, 7, "SOLD");

  /* The public view of A; B and an unknown concert have none. */
  json_t *view = public_line(s, a);
  cr_assert_eq(it_jint(view, "concertId"), a);
  assert_null(view, "onSaleAt");
  assert_null(view, "seedCommitment");
  assert_null(view, "seed");
  assert_null(view, "drawnAt");
  cr_assert_not(jbool(view, "paused"));
  cr_assert_not(jbool(view, "soldOut"));
  cr_assert_eq(it_jint(view, "waiting"), 0);
  cr_assert_eq(it_jint(view, "preQueue"), 0);
  cr_assert_eq(it_jint(view, "active"), 1);
  cr_assert_geq(it_jint(view, "admittedLastMinute"), 0);
  json_decref(view);
  snprintf(path, sizeof path, "/api/v1/concerts/%lld/line", (long long)b);
  expect_problem(s, "GET", NULL, NULL, 404, "NOT_FOUND", path);
  expect_problem(s, "GET", NULL, NULL, 404, "NOT_FOUND",
                 "/api/v1/concerts/987654/line");
  /* A line without an on-sale has no draw. */
  snprintf(path, sizeof path, "/api/v1/concerts/%lld/line/draw", (long long)a);
  expect_problem(s, "GET", NULL, NULL, 404, "NOT_FOUND", path);

  free(a_token);
  free(g_token);
  free(other);
}

/* ---- creating a line: defaults and refusals ---------------------------- */

Test(lines, line_settings_checked_and_defaulted, .timeout = 60) {
  struct it_server_opts opts = {.active_max = 7};
  struct it_server *s = it_server_start(&opts);
  char soon[32];
  it_rfc3339(3600, soon);
  static const char *const bad[] = {
      "{\"activeMax\":0}",
      "{\"activeMax\":1000001}",
      "{\"activeMax\":1.5}",
      "{\"admitPerMinute\":-1}",
      "{\"admitPerMinute\":1000000001}",
      "{\"onSaleAt\":\"tomorrow\"}",
      "{\"onSaleAt\":\"2001-01-01T00:00:00Z\"}",
      "{\"inventoryFactor\":0}",
      "{\"inventoryFactor\":0.001}",
      "{\"inventoryFactor\":100.5}",
      "{\"inventoryFactor\":\"1\"}",
  };
  static const char *const field[] = {
      "line.activeMax",       "line.activeMax",       "line.activeMax",
      "line.admitPerMinute",  "line.admitPerMinute",  "line.onSaleAt",
      "line.onSaleAt",        "line.inventoryFactor", "line.inventoryFactor",
      "line.inventoryFactor", "line.inventoryFactor",
  };
  char when[32];
  it_rfc3339(DAY, when);
  struct it_response r = {0};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_error_t error;
    json_t *line = json_loads(bad[i], 0, &error);
    cr_assert_not_null(line);
    it_call(s, &r, "POST", IT_ADMIN_SECRET,
            json_pack("{s:s, s:[{s:s, s:i, s:i}], s:o}", "name", "Bad",
                      "schedules", "startsAt", when, "seatCount", 5, "price",
                      PRICE, "line", line),
            "/api/v1/admin/concerts");
    it_assert_problem(&r, 400, "BAD_REQUEST");
    cr_assert_not_null(strstr(it_jstr(r.json, "detail"), field[i]),
                       "%s: detail \"%s\" does not name %s", bad[i],
                       it_jstr(r.json, "detail"), field[i]);
  }
  it_call(s, &r, "POST", IT_ADMIN_SECRET,
          json_pack("{s:s, s:[{s:s, s:i, s:i}], s:[]}", "name", "Bad",
                    "schedules", "startsAt", when, "seatCount", 5, "price",
                    PRICE, "line"),
          "/api/v1/admin/concerts");
  it_assert_problem(&r, 400, "BAD_REQUEST");
  /* Nothing was made by any of them. */
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/concerts");
  it_assert_status(&r, 200);
  cr_assert_eq(it_item_count(&r), 0);
  it_response_free(&r);

  /* Absent settings: the process's activeMax, no rate limit, factor 1. */
  int64_t plain = create_concert(s, 5, json_object(), NULL, NULL);
  char path[128];
  admin_line_path(path, sizeof path, plain);
  json_t *view = admin_get(s, path);
  cr_assert_eq(it_jint(view, "lineId"), plain);
  cr_assert_eq(it_jint(view, "concertId"), plain);
  cr_assert_eq(it_jint(view, "activeMax"), 7);
  cr_assert_eq(it_jint(view, "admitPerMinute"), 0);
  cr_assert_float_eq(
      json_number_value(json_object_get(view, "inventoryFactor")), 1.0, 1e-9);
  assert_null(view, "onSaleAt");
  cr_assert_not(jbool(view, "paused"));
  json_decref(view);

  /* Given ones come back as given. */
  json_t *made = NULL;
  int64_t given = create_concert(s, 5,
                                 json_pack("{s:i, s:i, s:s, s:f}", "activeMax",
                                           3, "admitPerMinute", 120, "onSaleAt",
                                           soon, "inventoryFactor", 1.5),
                                 NULL, &made);
  json_t *line = json_object_get(made, "line");
  cr_assert_eq(it_jint(line, "lineId"), given);
  int64_t on_sale, sent;
  cr_assert(it_parse_time(it_jstr(line, "onSaleAt"), &on_sale));
  cr_assert(it_parse_time(soon, &sent));
  cr_assert_eq(on_sale, sent);
  cr_assert(is_hex64(it_jstr(line, "seedCommitment")), "seedCommitment %s",
            it_jstr(line, "seedCommitment"));
  admin_line_path(path, sizeof path, given);
  view = admin_get(s, path);
  cr_assert_eq(it_jint(view, "activeMax"), 3);
  cr_assert_eq(it_jint(view, "admitPerMinute"), 120);
  cr_assert_float_eq(
      json_number_value(json_object_get(view, "inventoryFactor")), 1.5, 1e-9);
  cr_assert_str_eq(it_jstr(view, "onSaleAt"), it_jstr(line, "onSaleAt"));
  json_decref(view);
  /* The public view publishes the same commitment, and no seed yet. */
  view = public_line(s, given);
  cr_assert_str_eq(it_jstr(view, "seedCommitment"),
                   it_jstr(line, "seedCommitment"));
  assert_null(view, "seed");
  json_decref(view);
  json_decref(made);
}

/* ---- the operator's handles -------------------------------------------- */

Test(lines, pause_holds_everyone_back_until_resumed, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  char *first, *second;
  int64_t a = one_at_a_time_line(s, &first, &second);
  json_t *st = waiting_at(s, second, 1);
  cr_assert_eq(it_jint(st, "ahead"), 0);
  json_decref(st);

  char path[128];
  admin_line_path(path, sizeof path, a);
  json_t *view = admin_patch(s, path, json_pack("{s:b}", "paused", 1));
  cr_assert(jbool(view, "paused"));
  cr_assert_eq(it_jint(view, "activeMax"), 1, "a PATCH keeps what it omits");
  json_decref(view);

  /* The one active slot frees, yet nobody is let in while paused. */
  json_decref(end_token(s, first));
  assert_stays_waiting(s, second, 2500);
  view = public_line(s, a);
  cr_assert(jbool(view, "paused"));
  cr_assert_eq(it_jint(view, "active"), 0);
  cr_assert_eq(it_jint(view, "waiting"), 1);
  json_decref(view);
  /* Joins still queue while paused. */
  char *third = new_token(s, a, "third");
  cr_assert(status_is(s, third, "WAITING"));

  view = admin_patch(s, path, json_pack("{s:b}", "paused", 0));
  cr_assert_not(jbool(view, "paused"));
  json_decref(view);
  await_status(s, second, "ACTIVE");
  assert_stays_waiting(s, third, 1200); /* activeMax is still 1 */
  free(first);
  free(second);
  free(third);
}

Test(lines, active_max_raised_live_admits_the_next, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  char *first, *second;
  int64_t a = one_at_a_time_line(s, &first, &second);
  char *third = new_token(s, a, "third");
  assert_stays_waiting(s, second, 1200);

  char path[128];
  admin_line_path(path, sizeof path, a);
  json_t *view = admin_patch(s, path, json_pack("{s:i}", "activeMax", 2));
  cr_assert_eq(it_jint(view, "activeMax"), 2);
  json_decref(view);
  await_status(s, second, "ACTIVE");
  json_decref(waiting_at(s, third, 1));
  assert_stays_waiting(s, third, 1200);
  cr_assert(status_is(s, first, "ACTIVE"));

  /* The refusals of a PATCH change nothing. */
  expect_problem(s, "PATCH", IT_ADMIN_SECRET, json_object(), 400, "BAD_REQUEST",
                 path);
  expect_problem(s, "PATCH", IT_ADMIN_SECRET,
                 json_pack("{s:i}", "activeMax", 0), 400, "BAD_REQUEST", path);
  expect_problem(s, "PATCH", IT_ADMIN_SECRET, json_pack("{s:i}", "paused", 1),
                 400, "BAD_REQUEST", path);
  expect_problem(s, "PATCH", IT_ADMIN_SECRET,
                 json_pack("{s:f}", "inventoryFactor", 0.001), 400,
                 "BAD_REQUEST", path);
  expect_problem(s, "PATCH", NULL, json_pack("{s:b}", "paused", 1), 401,
                 "ADMIN_UNAUTHORIZED", path);
  expect_problem(s, "PATCH", IT_ADMIN_SECRET, json_pack("{s:b}", "paused", 1),
                 404, "NOT_FOUND", "/api/v1/admin/concerts/987654/line");
  view = admin_get(s, path);
  cr_assert_eq(it_jint(view, "activeMax"), 2);
  cr_assert_not(jbool(view, "paused"));
  json_decref(view);
  free(first);
  free(second);
  free(third);
}

Test(lines, ending_a_token_frees_its_slot, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  char *first, *second;
  int64_t a = one_at_a_time_line(s, &first, &second);
  assert_stays_waiting(s, second, 600);

  json_t *ended = end_token(s, first);
  cr_assert_str_eq(it_jstr(ended, "token"), first);
  cr_assert_str_eq(it_jstr(ended, "status"), "ENDED");
  json_decref(ended);

  /* The ended token is no longer any good; its slot went on. */
  expect_problem(s, "GET", first, NULL, 401, "TOKEN_INVALID",
                 "/api/v1/queue/status");
  char path[128];
  snprintf(path, sizeof path, "/api/v1/concerts/%lld/schedules", (long long)a);
  expect_problem(s, "GET", first, NULL, 401, "TOKEN_INVALID", path);
  await_status(s, second, "ACTIVE");

  /* Ending it again, or a token that never was: 404. */
  expect_problem(s, "POST", IT_ADMIN_SECRET, json_pack("{s:s}", "token", first),
                 404, "NOT_FOUND", "/api/v1/admin/tokens/end");
  expect_problem(s, "POST", IT_ADMIN_SECRET,
                 json_pack("{s:s}", "token", "nonsense"), 404, "NOT_FOUND",
                 "/api/v1/admin/tokens/end");
  expect_problem(s, "POST", IT_ADMIN_SECRET, json_object(), 400, "BAD_REQUEST",
                 "/api/v1/admin/tokens/end");
  expect_problem(s, "POST", second, json_pack("{s:s}", "token", second), 401,
                 "ADMIN_UNAUTHORIZED", "/api/v1/admin/tokens/end");
  cr_assert(status_is(s, second, "ACTIVE"), "a refused end ended it");

  /* A global token ends the same way. */
  int64_t lee = it_create_user(s, "lee");
  char *global = it_active_token(s, lee);
  json_decref(end_token(s, global));
  expect_problem(s, "GET", global, NULL, 401, "TOKEN_INVALID",
                 "/api/v1/queue/status");
  free(first);
  free(second);
  free(global);
}

/* The numbers of a concert line's view, once they read as expected (the
 * admission of a freed slot takes up to a second). */
static bool view_matches(const json_t *v, int64_t active, int64_t waiting,
                         int64_t held, int64_t sold, int64_t seats_left) {
  return json_integer_value(json_object_get(v, "active")) == active &&
         json_integer_value(json_object_get(v, "waiting")) == waiting &&
         json_integer_value(json_object_get(v, "held")) == held &&
         json_integer_value(json_object_get(v, "sold")) == sold &&
         json_integer_value(json_object_get(v, "seatsLeft")) == seats_left;
}

Test(lines, admin_views_count_what_happened, .timeout = 90) {
  struct it_server *s = it_server_start(NULL);
  int64_t sched;
  int64_t a =
      create_concert(s, 50, json_pack("{s:i}", "activeMax", 2), &sched, NULL);
  int64_t u1 = it_create_user(s, "u1"), u2 = it_create_user(s, "u2");
  char *k1 = token_of(s, u1, a), *k2 = token_of(s, u2, a);
  char *k3 = new_token(s, a, "u3");
  char *k4 = new_token(s, a, "u4");
  cr_assert(status_is(s, k1, "ACTIVE") && status_is(s, k2, "ACTIVE"));
  json_t *st = waiting_at(s, k4, 2);
  cr_assert_eq(it_jint(st, "ahead"), 1);
  json_decref(st);

  /* u1 holds seat 1; u2 buys seat 2, which hands its slot to u3. */
  it_hold(s, k1, sched, 1);
  it_charge(s, u2, PRICE);
  it_pay(s, k2, it_hold(s, k2, sched, 2));
  await_status(s, k3, "ACTIVE");
  /* And one global user, to tell the lines apart. */
  char *g = it_active_token(s, it_create_user(s, "global"));

  char path[128];
  admin_line_path(path, sizeof path, a);
  json_t *view = NULL;
  int64_t deadline = it_now_ms() + 5000;
  for (;;) {
    view = admin_get(s, path);
    if (view_matches(view, 2, 1, 1, 1, 48))
      break;
    char *text = json_dumps(view, JSON_COMPACT);
    cr_assert_lt(it_now_ms(), deadline,
                 "the line's view never read active 2, waiting 1, held 1, "
                 "sold 1, seatsLeft 48: %s",
                 text);
    free(text);
    json_decref(view);
    it_sleep_ms(200);
  }
  cr_assert_eq(it_jint(view, "preQueue"), 0);
  cr_assert_geq(it_jint(view, "admittedLastMinute"), 1, "u3 was admitted");
  cr_assert_not(jbool(view, "drawn"));
  cr_assert_not(jbool(view, "soldOut"));
  json_decref(view);

  /* The list: the global line first, then A's with the same numbers. */
  json_t *list = admin_get(s, "/api/v1/admin/lines");
  json_t *items = it_jarr(list, "items");
  cr_assert_geq(json_array_size(items), 2);
  json_t *global = json_array_get(items, 0);
  cr_assert_eq(it_jint(global, "lineId"), 0);
  assert_null(global, "concertId");
  assert_null(global, "inventoryFactor");
  assert_null(global, "held");
  assert_null(global, "sold");
  assert_null(global, "seatsLeft");
  cr_assert_eq(it_jint(global, "active"), 1);
  cr_assert_eq(it_jint(global, "waiting"), 0);
  json_t *mine = NULL;
  for (size_t i = 1; i < json_array_size(items); i++)
    if (it_jint(json_array_get(items, i), "lineId") == a)
      mine = json_array_get(items, i);
  cr_assert_not_null(mine, "concert %lld's line is not listed", (long long)a);
  cr_assert(view_matches(mine, 2, 1, 1, 1, 48));
  json_decref(list);

  /* The same numbers as gauges for Prometheus, one sample per line. */
  struct it_response r = {0};
  it_call(s, &r, "GET", NULL, NULL, "/metrics");
  it_assert_status(&r, 200);
  const char *const samples[] = {"active",     "2",  "waiting",  "1",
                                 "seats_left", "48", "sold_out", "0"};
  for (size_t i = 0; i < sizeof samples / sizeof *samples; i += 2) {
    char sample[128];
    snprintf(sample, sizeof sample,
             "\nboxoffice_line_%s{concert=\"%lld\"} %s\n", samples[i],
             (long long)a, samples[i + 1]);
    cr_assert_not_null(strstr(r.body, sample), "/metrics lacks \"%s\"",
                       sample + 1);
  }
  it_response_free(&r);

  /* The global line's own view and its PATCH. */
  view = admin_get(s, "/api/v1/admin/queue");
  cr_assert_eq(it_jint(view, "lineId"), 0);
  cr_assert_eq(it_jint(view, "active"), 1);
  assert_null(view, "seatsLeft");
  json_decref(view);
  view = admin_patch(
      s, "/api/v1/admin/queue",
      json_pack("{s:i, s:i}", "activeMax", 3, "admitPerMinute", 600));
  cr_assert_eq(it_jint(view, "activeMax"), 3);
  cr_assert_eq(it_jint(view, "admitPerMinute"), 600);
  json_decref(view);
  expect_problem(s, "PATCH", IT_ADMIN_SECRET, json_object(), 400, "BAD_REQUEST",
                 "/api/v1/admin/queue");
  expect_problem(s, "PATCH", IT_ADMIN_SECRET,
                 json_pack("{s:i}", "inventoryFactor", 1), 400, "BAD_REQUEST",
                 "/api/v1/admin/queue");
  expect_problem(s, "GET", NULL, NULL, 401, "ADMIN_UNAUTHORIZED",
                 "/api/v1/admin/lines");
  expect_problem(s, "GET", "wrong", NULL, 401, "ADMIN_UNAUTHORIZED",
                 "/api/v1/admin/queue");
  free(k1);
  free(k2);
  free(k3);
  free(k4);
  free(g);
}

/* ---- selling out -------------------------------------------------------- */

Test(lines, a_sold_out_line_says_so, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  int64_t sched;
  int64_t a = create_concert(s, 2, json_object(), &sched, NULL);
  int64_t u1 = it_create_user(s, "u1"), u2 = it_create_user(s, "u2");
  char *k1 = token_of(s, u1, a), *k2 = token_of(s, u2, a);
  await_status(s, k1, "ACTIVE");
  await_status(s, k2, "ACTIVE");
  /* Two seats, two buyers: a third waits (the seats left cap admission). */
  char *k3 = new_token(s, a, "u3");
  cr_assert(status_is(s, k3, "WAITING"));

  it_charge(s, u1, PRICE);
  it_charge(s, u2, PRICE);
  int64_t r1 = it_hold(s, k1, sched, 1);
  int64_t r2 = it_hold(s, k2, sched, 2);
  it_pay(s, k1, r1);
  it_pay(s, k2, r2);

  await_status(s, k3, "SOLD_OUT");
  json_t *st = status_of(s, k3);
  cr_assert_eq(it_jint(st, "seatsLeft"), 0);
  json_decref(st);
  int64_t u4 = it_create_user(s, "u4");
  expect_problem(s, "POST", NULL,
                 json_pack("{s:I, s:I}", "userId", (json_int_t)u4, "concertId",
                           (json_int_t)a),
                 409, "SOLD_OUT", "/api/v1/queue/tokens");

  json_t *view = public_line(s, a);
  cr_assert(jbool(view, "soldOut"));
  cr_assert_eq(it_jint(view, "seatsLeft"), 0);
  json_decref(view);
  char path[128];
  admin_line_path(path, sizeof path, a);
  view = admin_get(s, path);
  cr_assert(jbool(view, "soldOut"));
  cr_assert_eq(it_jint(view, "sold"), 2);
  cr_assert_eq(it_jint(view, "held"), 0);
  json_decref(view);
  free(k1);
  free(k2);
  free(k3);
}

/* ---- the pre-queue and its draw ---------------------------------------- */

#define DRAW_USERS 30
#define DRAW_ACTIVE 5

/* Runs tools/verify-draw on the draw saved in `file`; its exit status, or
 * -1 when the tool is not there (its path in `tool`). */
static int run_verifier(const char *file, const char *commitment,
                        const char *entry_id, char tool[512]) {
  const char *src = getenv("BOXOFFICE_SOURCE_DIR");
  snprintf(tool, 512, "%s/tools/verify-draw", src ? src : ".");
  if (access(tool, R_OK) != 0)
    return -1;
  char cmd[1400];
  snprintf(cmd, sizeof cmd,
           "python3 '%s' '%s' --commitment %s --entry-id %s >&2", tool, file,
           commitment, entry_id);
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

Test(lines, pre_queue_draw_end_to_end, .timeout = 120) {
  struct it_server *s = it_server_start(NULL);
  int64_t users[DRAW_USERS];
  for (int i = 0; i < DRAW_USERS; i++) {
    char name[16];
    snprintf(name, sizeof name, "fan%d", i);
    users[i] = it_create_user(s, name);
  }
  char on_sale_text[32];
  it_rfc3339(3, on_sale_text);
  int64_t on_sale;
  cr_assert(it_parse_time(on_sale_text, &on_sale));
  json_t *made = NULL;
  int64_t a = create_concert(s, 50,
                             json_pack("{s:i, s:s}", "activeMax", DRAW_ACTIVE,
                                       "onSaleAt", on_sale_text),
                             NULL, &made);
  char commitment[65];
  snprintf(commitment, sizeof commitment, "%s",
           it_jstr(json_object_get(made, "line"), "seedCommitment"));
  cr_assert(is_hex64(commitment), "seedCommitment %s", commitment);
  json_decref(made);

  /* Before the on-sale: the same commitment in public, and no draw. */
  json_t *view = public_line(s, a);
  cr_assert_str_eq(it_jstr(view, "seedCommitment"), commitment);
  int64_t published;
  cr_assert(it_parse_time(it_jstr(view, "onSaleAt"), &published));
  cr_assert_eq(published, on_sale);
  assert_null(view, "seed");
  assert_null(view, "drawnAt");
  json_decref(view);
  struct it_response r = {0};
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/concerts/%lld/line/draw",
          (long long)a);
  it_assert_problem(&r, 409, "DRAW_PENDING");

  /* Everyone joins before the on-sale: the pre-queue, unordered. */
  char *tokens[DRAW_USERS];
  char entry_ids[DRAW_USERS][65];
  for (int i = 0; i < DRAW_USERS; i++) {
    json_t *t = join(s, users[i], a);
    tokens[i] = strdup(it_jstr(t, "token"));
    cr_assert_str_eq(it_jstr(t, "status"), "WAITING", "fan%d", i);
    cr_assert(jbool(t, "preQueue"), "fan%d is not in the pre-queue", i);
    int64_t told;
    cr_assert(it_parse_time(it_jstr(t, "onSaleAt"), &told));
    cr_assert_eq(told, on_sale);
    snprintf(entry_ids[i], 65, "%s", it_jstr(t, "entryId"));
    cr_assert(is_hex64(entry_ids[i]), "entryId %s", entry_ids[i]);
    for (int j = 0; j < i; j++)
      cr_assert_str_neq(entry_ids[i], entry_ids[j], "entryId twice");
    json_decref(t);
  }
  int64_t joined_by = (int64_t)time(NULL);
  cr_assert_lt(joined_by, on_sale,
               "the joins took past the on-sale; the test is too slow here");
  view = public_line(s, a);
  cr_assert_eq(it_jint(view, "preQueue"), DRAW_USERS);
  cr_assert_eq(it_jint(view, "active"), 0);
  cr_assert_str_eq(it_jstr(view, "seedCommitment"), commitment);
  json_decref(view);
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/concerts/%lld/line/draw",
          (long long)a);
  it_assert_problem(&r, 409, "DRAW_PENDING");

  /* Past the on-sale the draw is published. */
  int64_t deadline = it_now_ms() + 15000;
  for (;;) {
    it_call(s, &r, "GET", NULL, NULL, "/api/v1/concerts/%lld/line/draw",
            (long long)a);
    if (r.status == 200)
      break;
    it_assert_problem(&r, 409, "DRAW_PENDING");
    cr_assert_lt(it_now_ms(), deadline, "no draw 12 s after the on-sale");
    it_sleep_ms(250);
  }
  cr_assert_geq((int64_t)time(NULL), on_sale, "drawn before the on-sale");
  cr_assert_eq(it_jint(r.json, "concertId"), a);
  cr_assert_str_eq(it_jstr(r.json, "seedCommitment"), commitment);
  cr_assert(is_hex64(it_jstr(r.json, "seed")));
  int64_t drawn_at;
  cr_assert(it_parse_time(it_jstr(r.json, "drawnAt"), &drawn_at));
  cr_assert_geq(drawn_at, on_sale);
  json_t *entries = it_jarr(r.json, "entries");
  cr_assert_eq(json_array_size(entries), DRAW_USERS);
  /* Each user's entry is in it: place[i] is fan i's place in the draw. */
  size_t place[DRAW_USERS];
  for (int i = 0; i < DRAW_USERS; i++) {
    place[i] = SIZE_MAX;
    for (size_t k = 0; k < DRAW_USERS; k++)
      if (strcmp(json_string_value(json_array_get(entries, k)), entry_ids[i]) ==
          0)
        place[i] = k;
    cr_assert_neq(place[i], SIZE_MAX, "fan%d's entry is not in the draw", i);
  }
  char draw_file[] = "/tmp/bo-draw-XXXXXX";
  int fd = mkstemp(draw_file);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, r.body, r.body_len), (ssize_t)r.body_len);
  close(fd);
  char seed[65];
  snprintf(seed, sizeof seed, "%s", it_jstr(r.json, "seed"));

  /* The public view reveals the same seed now. */
  view = public_line(s, a);
  cr_assert_str_eq(it_jstr(view, "seed"), seed);
  cr_assert(it_parse_time(it_jstr(view, "drawnAt"), &drawn_at));
  json_decref(view);

  /* Places follow the draw: the first DRAW_ACTIVE are admitted, the rest
   * wait in drawn order. */
  deadline = it_now_ms() + 5000;
  for (;;) {
    it_call(s, &r, "GET", NULL, NULL, "/api/v1/concerts/%lld/line",
            (long long)a);
    it_assert_status(&r, 200);
    if (it_jint(r.json, "active") == DRAW_ACTIVE)
      break;
    cr_assert_lt(it_now_ms(), deadline, "not %d admitted after the draw: %s",
                 DRAW_ACTIVE, r.body);
    it_sleep_ms(200);
  }
  cr_assert_eq(it_jint(r.json, "preQueue"), 0);
  cr_assert_eq(it_jint(r.json, "waiting"), DRAW_USERS - DRAW_ACTIVE);
  for (int i = 0; i < DRAW_USERS; i++) {
    json_t *st = status_of(s, tokens[i]);
    cr_assert_not(jbool(st, "preQueue"));
    if (place[i] < DRAW_ACTIVE) {
      cr_assert_str_eq(it_jstr(st, "status"), "ACTIVE",
                       "fan%d, drawn %zu, is not ACTIVE", i, place[i] + 1);
    } else {
      cr_assert_str_eq(it_jstr(st, "status"), "WAITING", "fan%d", i);
      cr_assert_eq(it_jint(st, "position"),
                   (json_int_t)(place[i] - DRAW_ACTIVE + 1),
                   "fan%d, drawn %zu, waits at %lld", i, place[i] + 1,
                   (long long)it_jint(st, "position"));
      cr_assert_eq(it_jint(st, "ahead"), it_jint(st, "position") - 1);
    }
    json_decref(st);
  }
  /* A join after the on-sale goes to the end, outside the draw. */
  char *late = new_token(s, a, "late");
  json_t *st = status_of(s, late);
  cr_assert_eq(it_jint(st, "position"), DRAW_USERS - DRAW_ACTIVE + 1);
  cr_assert_not(jbool(st, "preQueue"));
  json_decref(st);
  it_response_free(&r);

  /* Finally the independent verifier, as a ticket holder would run it. */
  char tool[512];
  int rc = run_verifier(draw_file, commitment, entry_ids[0], tool);
  unlink(draw_file);
  for (int i = 0; i < DRAW_USERS; i++)
    free(tokens[i]);
  free(late);
  if (rc == -1)
    cr_skip_test("%s is missing: the draw was checked here (entries, places) "
                 "but not recomputed independently",
                 tool);
  cr_assert_eq(rc, 0, "tools/verify-draw refused the draw (exit %d)", rc);
}

/* ---- the operator's view of a concert's dates ---------------------------- */

/* Item `i` of the dates view is `schedule_id`, starting at `starts` (epoch
 * seconds), with these numbers. */
static void assert_date(const json_t *items, size_t i, int64_t schedule_id,
                        int64_t starts, bool past, int total, int available,
                        int held, int sold) {
  json_t *d = json_array_get(items, i);
  cr_assert_not_null(d, "no date %zu", i);
  char *text = json_dumps(d, JSON_COMPACT);
  int64_t at = 0;
  cr_assert(it_parse_time(it_jstr(d, "startsAt"), &at), "%s", text);
  cr_assert(it_jint(d, "scheduleId") == schedule_id && at == starts &&
                jbool(d, "past") == past && it_jint(d, "totalSeats") == total &&
                it_jint(d, "available") == available &&
                it_jint(d, "held") == held && it_jint(d, "sold") == sold,
            "date %zu: %s; want schedule %lld at %lld, past %d, total %d, "
            "available %d, held %d, sold %d",
            i, text, (long long)schedule_id, (long long)starts, (int)past,
            total, available, held, sold);
  free(text);
}

Test(lines, admin_schedules_count_each_date, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  /* A date tomorrow and one yesterday: listed soonest first, so the past
   * one (made second) leads. */
  const int64_t offsets[] = {DAY, -DAY};
  int64_t sched[2];
  int64_t c = it_create_concert(s, "Dated", 2, offsets, 5, PRICE, sched);
  int64_t starts[2];
  for (size_t i = 0; i < 2; i++) {
    char when[32];
    it_rfc3339(offsets[i], when);
    it_parse_time(when, &starts[i]);
  }

  /* One seat of tomorrow's date held, another bought. */
  char *holder = NULL, *buyer = NULL;
  it_new_booker(s, "holder", &holder);
  int64_t b = it_new_booker(s, "buyer", &buyer);
  it_hold(s, holder, sched[0], 1);
  it_charge(s, b, PRICE);
  it_pay(s, buyer, it_hold(s, buyer, sched[0], 2));

  char path[128];
  snprintf(path, sizeof path, "/api/v1/admin/concerts/%lld/schedules",
           (long long)c);
  json_t *view = admin_get(s, path);
  cr_assert_eq(it_jint(view, "concertId"), c);
  json_t *items = it_jarr(view, "items");
  cr_assert_eq(json_array_size(items), 2);
  /* it_rfc3339 may round a second apart from what the server stored. */
  int64_t at0 = 0, at1 = 0;
  it_parse_time(it_jstr(json_array_get(items, 0), "startsAt"), &at0);
  it_parse_time(it_jstr(json_array_get(items, 1), "startsAt"), &at1);
  cr_assert_leq(llabs(at0 - starts[1]), 1);
  cr_assert_leq(llabs(at1 - starts[0]), 1);
  assert_date(items, 0, sched[1], at0, true, 5, 5, 0, 0);
  assert_date(items, 1, sched[0], at1, false, 5, 3, 1, 1);
  json_decref(view);

  expect_problem(s, "GET", NULL, NULL, 401, "ADMIN_UNAUTHORIZED", path);
  expect_problem(s, "GET", "wrong", NULL, 401, "ADMIN_UNAUTHORIZED", path);
  snprintf(path, sizeof path, "/api/v1/admin/concerts/%lld/schedules",
           (long long)c + 1000);
  expect_problem(s, "GET", IT_ADMIN_SECRET, NULL, 404, "NOT_FOUND", path);
  free(holder);
  free(buyer);
}
