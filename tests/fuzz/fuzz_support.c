#include "fuzz_support.h"

#include "api/api.h"
#include "booking/admission.h"
#include "booking/catalog.h"
#include "booking/holds.h"
#include "booking/lines.h"
#include "booking/payments.h"
#include "booking/points.h"
#include "booking/users.h"
#include "util/time.h"

#include <ftw.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fixed, so that ids and times in the seed corpus stay meaningful:
 * 2027-01-15T08:00:00Z. */
#define FUZZ_EPOCH_MS 1800000000000LL
#define DAY_MS (86400 * 1000LL)

void fuzz_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("fuzz invariant broken: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

char *fuzz_strndup(const uint8_t *data, size_t len) {
  char *s = malloc(len + 1);
  if (!s)
    fuzz_fail("out of memory");
  if (len)
    memcpy(s, data, len);
  s[len] = '\0';
  return s;
}

char *fuzz_take_line(const uint8_t **data, size_t *len) {
  const uint8_t *nl = *len ? memchr(*data, '\n', *len) : NULL;
  size_t n = nl ? (size_t)(nl - *data) : *len;
  char *line = fuzz_strndup(*data, n);
  *data += nl ? n + 1 : n;
  *len -= nl ? n + 1 : n;
  return line;
}

static int64_t fuzz_now(void *ctx) {
  return ((struct fuzz_app *)ctx)->now_ms;
}

void fuzz_app_advance(struct fuzz_app *fx, int64_t ms) {
  if (ms > 0)
    fx->now_ms += ms;
}

static void prepare_checks(struct fuzz_app *fx);
static void finalize_checks(struct fuzz_app *fx);

/* ---- building the app ---------------------------------------------------- */

static void must(enum bo_error err, const char *what) {
  if (err != BO_OK)
    fuzz_fail("fixture: %s: %s", what, bo_error_info(err)->code);
}

static int64_t add_user(struct fuzz_app *fx, const char *name, int64_t points) {
  struct bo_user user;
  must(bo_users_create(&fx->app, name, &user), "create user");
  if (points > 0) {
    int64_t balance;
    must(bo_points_charge(&fx->app, user.user_id, points, NULL, &balance),
         "charge");
  }
  return user.user_id;
}

static struct bo_token_info issue(struct fuzz_app *fx, int64_t user_id) {
  struct bo_token_info info;
  bool created;
  must(bo_admission_issue(&fx->app, user_id, 0, &info, &created),
       "issue token");
  return info;
}

static void keep_token(struct fuzz_app *fx, enum fuzz_token which,
                       const struct bo_token_info *info) {
  bo_token_encode(&info->token, fx->tokens[which]);
}

static int64_t hold(struct fuzz_app *fx, int64_t user_id, int64_t schedule_id,
                    int32_t seat) {
  struct bo_reservation r;
  must(bo_holds_reserve(&fx->app, user_id, schedule_id, seat, &r), "hold");
  return r.reservation_id;
}

/* The known world, in this order so that every id is the same after each
 * reset (a fresh file counts from 1):
 *   users 1 alice (1,000,000 points), 2 bob (100), 3 carol (0), 4 filler;
 *   concert 1 with schedule 1 (tomorrow, 10 seats at 1000), schedule 2
 *   (yesterday: closed, 5 seats at 500), schedule 3 (in two days, 3 free
 *   seats);
 *   reservation 1 bob's hold of seat 1/1, reservation 2 alice's seat 1/2 paid
 *   with FUZZ_PAYMENT_KEY (her first token is now spent), reservation 3
 *   alice's hold of seat 1/3;
 *   tokens: alice, bob and the filler ACTIVE (active_max 3), carol WAITING.
 */
static void add_fixtures(struct fuzz_app *fx) {
  fx->user_ids[0] = add_user(fx, "alice", 1000000);
  fx->user_ids[1] = add_user(fx, "bob", 100);
  fx->user_ids[2] = add_user(fx, "carol", 0);
  fx->user_ids[3] = add_user(fx, "filler", 0);

  struct bo_new_schedule s[] = {
      {.starts_at_ms = fx->now_ms + DAY_MS, .seat_count = 10, .price = 1000},
      {.starts_at_ms = fx->now_ms - DAY_MS, .seat_count = 5, .price = 500},
      {.starts_at_ms = fx->now_ms + 2 * DAY_MS, .seat_count = 3, .price = 0},
  };
  int64_t concert_id;
  must(bo_catalog_create_concert(&fx->app, "Fuzz Symphony", s, 3, NULL,
                                 &concert_id),
       "create concert");

  hold(fx, fx->user_ids[1], s[0].schedule_id, 1);
  int64_t paid = hold(fx, fx->user_ids[0], s[0].schedule_id, 2);
  struct bo_token_info spent = issue(fx, fx->user_ids[0]);
  struct bo_payment_result result;
  must(bo_payments_pay(&fx->app, &spent, paid, FUZZ_PAYMENT_KEY, &result),
       "pay");
  keep_token(fx, FUZZ_TOKEN_SPENT, &spent);
  hold(fx, fx->user_ids[0], s[0].schedule_id, 3);

  struct bo_token_info alice = issue(fx, fx->user_ids[0]);
  struct bo_token_info bob = issue(fx, fx->user_ids[1]);
  issue(fx, fx->user_ids[3]);
  struct bo_token_info carol = issue(fx, fx->user_ids[2]);
  if (alice.state != BO_TOKEN_ACTIVE || bob.state != BO_TOKEN_ACTIVE ||
      carol.state != BO_TOKEN_WAITING)
    fuzz_fail("fixture: tokens not in the expected states");
  keep_token(fx, FUZZ_TOKEN_ALICE, &alice);
  keep_token(fx, FUZZ_TOKEN_BOB, &bob);
  keep_token(fx, FUZZ_TOKEN_CAROL, &carol);

  struct bo_token unknown;
  memset(unknown.bytes, 0x5a, sizeof unknown.bytes);
  bo_token_encode(&unknown, fx->tokens[FUZZ_TOKEN_UNKNOWN]);
}

static void build(struct fuzz_app *fx) {
  const char *tmp = getenv("TMPDIR");
  snprintf(fx->dir, sizeof fx->dir, "%s/bo-fuzz-XXXXXX",
           tmp && tmp[0] ? tmp : "/tmp");
  if (!mkdtemp(fx->dir))
    fuzz_fail("mkdtemp %s failed", fx->dir);

  fx->now_ms = FUZZ_EPOCH_MS;
  fx->inputs = 0;
  struct bo_settings *s = &fx->app.settings;
  memset(s, 0, sizeof *s);
  snprintf(s->db_url, sizeof s->db_url, "sqlite:%s/fuzz.db", fx->dir);
  snprintf(s->queue_url, sizeof s->queue_url, "memory");
  snprintf(s->admin_token, sizeof s->admin_token, "%s", FUZZ_ADMIN_SECRET);
  s->hold_seconds = 300;
  s->active_max = 3;
  /* Longer than production, so that the harness's 301 s clock steps (each
   * one past a hold) seldom expire a fixture token, which would force a
   * rebuild; carol, polled before every input, outlives any one step. */
  s->active_seconds = 6 * 3600;
  s->idle_seconds = 3600;
  s->threads = 1;
  s->max_connections = 16;
  fx->app.clock = (struct bo_clock){.now_ms = fuzz_now, .ctx = fx};

  char error[256] = "";
  fx->app.store = bo_store_open(s->db_url, error, sizeof error);
  if (!fx->app.store)
    fuzz_fail("store: %s", error);
  if (fx->app.store->driver->migrate(fx->app.store) != BO_STORE_OK)
    fuzz_fail("migrations failed");
  struct bo_queue_settings qs = {.active_max = s->active_max,
                                 .active_ms = s->active_seconds * 1000,
                                 .idle_ms = s->idle_seconds * 1000,
                                 .spent_keep_ms = s->active_seconds * 1000};
  fx->app.lines = bo_lines_open(&fx->app, &qs, error, sizeof error);
  if (!fx->app.lines)
    fuzz_fail("lines: %s", error);
  fx->app.queue = bo_lines_global(fx->app.lines);
  fx->app.metrics = bo_metrics_create(fx->route_names, bo_api_route_count);
  if (!fx->app.metrics)
    fuzz_fail("metrics");
  add_fixtures(fx);

  char path[600];
  snprintf(path, sizeof path, "%s/fuzz.db", fx->dir);
  if (sqlite3_open_v2(path, &fx->check_db, SQLITE_OPEN_READWRITE, NULL) !=
      SQLITE_OK)
    fuzz_fail("check connection: %s", sqlite3_errmsg(fx->check_db));
  prepare_checks(fx);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void tear_down(struct fuzz_app *fx) {
  finalize_checks(fx);
  sqlite3_close(fx->check_db);
  fx->check_db = NULL;
  bo_metrics_destroy(fx->app.metrics);
  bo_lines_close(fx->app.lines);
  bo_store_close(fx->app.store);
  fx->app.metrics = NULL;
  fx->app.lines = NULL;
  fx->app.queue = NULL;
  fx->app.store = NULL;
  if (fx->dir[0])
    nftw(fx->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
  fx->dir[0] = '\0';
}

void fuzz_app_open(struct fuzz_app *fx) {
  if (sodium_init() < 0)
    fuzz_fail("sodium_init");
  memset(fx, 0, sizeof *fx);
  const char *every = getenv("BO_FUZZ_RESET_EVERY");
  /* A rebuild costs about as much as 50 inputs; every 250 inputs keeps
   * that under a fifth of the time while bounding the drift of seats and
   * reservations away from the fixtures. */
  fx->reset_every = every ? strtoul(every, NULL, 10) : 250;
  fx->route_names = calloc(bo_api_route_count, sizeof *fx->route_names);
  if (!fx->route_names)
    fuzz_fail("out of memory");
  for (size_t i = 0; i < bo_api_route_count; i++)
    fx->route_names[i] = bo_api_routes[i].pattern;
  build(fx);
}

void fuzz_app_close(struct fuzz_app *fx) {
  tear_down(fx);
  free(fx->route_names);
  fx->route_names = NULL;
}

/* Whether fixture token `which` still reads as `want`. A status call is a
 * poll, which also keeps carol from leaving the line as idle. */
static bool token_is(struct fuzz_app *fx, enum fuzz_token which,
                     enum bo_token_state want) {
  struct bo_token token;
  struct bo_token_info info;
  if (!bo_token_decode(fx->tokens[which], &token))
    fuzz_fail("fixture token %d does not decode", which);
  return fx->app.queue->driver->status(fx->app.queue, &token,
                                       bo_clock_now_ms(&fx->app.clock),
                                       &info) == BO_QUEUE_OK &&
         info.state == want;
}

static bool fixtures_intact(struct fuzz_app *fx) {
  return token_is(fx, FUZZ_TOKEN_ALICE, BO_TOKEN_ACTIVE) &&
         token_is(fx, FUZZ_TOKEN_BOB, BO_TOKEN_ACTIVE) &&
         token_is(fx, FUZZ_TOKEN_CAROL, BO_TOKEN_WAITING) &&
         token_is(fx, FUZZ_TOKEN_SPENT, BO_TOKEN_SPENT);
}

void fuzz_app_next_input(struct fuzz_app *fx) {
  bool due = fx->reset_every && ++fx->inputs > fx->reset_every;
  if (due || !fixtures_intact(fx)) {
    tear_down(fx);
    build(fx);
    fx->resets++;
  }
}

/* The secret a "@x" or "$x" names, or NULL. */
static const char *named_secret(const struct fuzz_app *fx, char x) {
  if (x >= '0' && x <= '9')
    return fx->tokens[(x - '0') % FUZZ_TOKEN_COUNT];
  if (x == 'a')
    return FUZZ_ADMIN_SECRET;
  return NULL;
}

char *fuzz_expand_auth(const struct fuzz_app *fx, const char *value) {
  size_t cap = strlen(value) * (sizeof FUZZ_ADMIN_SECRET + 8) + 16;
  char *out = malloc(cap);
  if (!out)
    fuzz_fail("out of memory");
  size_t used = 0;
  const char *p = value;
  const char *secret = value[0] == '@' ? named_secret(fx, value[1]) : NULL;
  if (secret) {
    used = (size_t)snprintf(out, cap, "Bearer %s", secret);
    p += 2;
  }
  for (; *p; p++) {
    secret = *p == '$' ? named_secret(fx, p[1]) : NULL;
    if (secret) {
      used += (size_t)snprintf(out + used, cap - used, "%s", secret);
      p++;
    } else {
      out[used++] = *p;
    }
  }
  out[used] = '\0';
  return out;
}

/* ---- reply checks -------------------------------------------------------- */

/* The registry entry whose code is `code`, or NULL. */
static const struct bo_error_info *registry_find(const char *code) {
  for (int e = BO_OK + 1; e < BO_ERR__COUNT; e++) {
    const struct bo_error_info *info = bo_error_info((enum bo_error)e);
    if (strcmp(info->code, code) == 0)
      return info;
  }
  return NULL;
}

static void check_problem(const struct bo_reply *reply, json_t *doc) {
  if (!reply->content_type ||
      strcmp(reply->content_type, "application/problem+json") != 0)
    fuzz_fail("error %d is not problem+json", reply->status);
  const char *code = json_string_value(json_object_get(doc, "code"));
  if (!code)
    fuzz_fail("problem document without a code");
  const struct bo_error_info *info = registry_find(code);
  if (!info)
    fuzz_fail("code %s is not in the registry", code);
  if (info->http_status != reply->status ||
      json_integer_value(json_object_get(doc, "status")) != reply->status)
    fuzz_fail("code %s answered with status %d", code, reply->status);
  if (reply->error == BO_OK ||
      strcmp(bo_error_info(reply->error)->code, code) != 0)
    fuzz_fail("reply->error disagrees with the body's code %s", code);
  if (!json_is_string(json_object_get(doc, "detail")) ||
      !json_is_string(json_object_get(doc, "title")) ||
      !json_is_string(json_object_get(doc, "type")))
    fuzz_fail("problem document lacks type, title or detail");
}

/* Every time the API prints ("startsAt", "expiresAt", "createdAt") is an
 * RFC 3339 string that the API itself would accept back, or null. */
static void check_times(json_t *value) {
  const char *key;
  json_t *item;
  size_t i;
  if (json_is_object(value)) {
    json_object_foreach(value, key, item) {
      size_t n = strlen(key);
      if (n > 2 && strcmp(key + n - 2, "At") == 0 && !json_is_null(item)) {
        int64_t ms;
        if (!json_is_string(item) ||
            !bo_time_parse(json_string_value(item), &ms))
          fuzz_fail("\"%s\" is not an RFC 3339 time: %s", key,
                    json_is_string(item) ? json_string_value(item) : "?");
      }
      check_times(item);
    }
  } else if (json_is_array(value)) {
    json_array_foreach(value, i, item) check_times(item);
  }
}

void fuzz_check_reply(struct bo_reply *reply) {
  if (reply->status < 200 || reply->status > 599)
    fuzz_fail("status %d", reply->status);
  size_t len = 0;
  const char *body = bo_reply_body(reply, &len);
  if (!body)
    fuzz_fail("reply with status %d does not serialise", reply->status);
  if (reply->content_type &&
      strncmp(reply->content_type, "text/plain", 10) == 0)
    return; /* /metrics: Prometheus text, not JSON */
  if (reply->static_body)
    return; /* a file of the web front (api/web.c): test_web checks it */
  json_error_t error;
  /* Parsed back strictly: what a client reads must be JSON. */
  json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &error);
  if (!doc)
    fuzz_fail("status %d body is not JSON (%s): %.*s", reply->status,
              error.text, (int)len, body);
  if (reply->status >= 400) {
    check_problem(reply, doc);
  } else {
    if (reply->error != BO_OK)
      fuzz_fail("status %d with an error code set", reply->status);
    if (!reply->content_type ||
        strcmp(reply->content_type, "application/json") != 0)
      fuzz_fail("success %d is not application/json", reply->status);
    check_times(doc);
  }
  json_decref(doc);
}

/* ---- database invariants --------------------------------------------------
 */

static const char *const db_invariants[] = {
    "balance outside [0, 10^12]",
    "SELECT count(*) FROM point WHERE point < 0 OR point > 1000000000000",

    "balance differs from charges - uses + refunds",
    "SELECT count(*) FROM point p WHERE p.point != (SELECT coalesce(sum("
    "CASE h.type WHEN 'USE' THEN -h.amount ELSE h.amount END), 0) "
    "FROM point_history h WHERE h.point_id = p.point_id)",

    "balance differs from the last history row's balance after",
    "SELECT count(*) FROM point p WHERE EXISTS (SELECT 1 FROM point_history h "
    "WHERE h.point_id = p.point_id) AND p.point != (SELECT "
    "h.point_after_transaction FROM point_history h WHERE h.point_id = "
    "p.point_id ORDER BY h.point_history_id DESC LIMIT 1)",

    "SOLD seat without exactly one paid CONFIRMED reservation",
    "SELECT count(*) FROM concert_seat s WHERE s.seat_status = 'SOLD' AND "
    "(SELECT count(*) FROM reservation r JOIN payment p ON p.reservation_id "
    "= r.reservation_id WHERE r.seat_id = s.seat_id AND "
    "r.reservation_status = 'CONFIRMED') != 1",

    "CONFIRMED reservation without a payment",
    "SELECT count(*) FROM reservation r WHERE r.reservation_status = "
    "'CONFIRMED' AND NOT EXISTS (SELECT 1 FROM payment p WHERE "
    "p.reservation_id = r.reservation_id)",
};

#define INVARIANT_COUNT (sizeof db_invariants / sizeof *db_invariants / 2)
_Static_assert(INVARIANT_COUNT <= sizeof((struct fuzz_app *)0)->checks /
                                      sizeof(sqlite3_stmt *),
               "fuzz_app.checks too small");

static void prepare_checks(struct fuzz_app *fx) {
  for (size_t i = 0; i < INVARIANT_COUNT; i++)
    if (sqlite3_prepare_v2(fx->check_db, db_invariants[2 * i + 1], -1,
                           &fx->checks[i], NULL) != SQLITE_OK)
      fuzz_fail("invariant query: %s", sqlite3_errmsg(fx->check_db));
}

static void finalize_checks(struct fuzz_app *fx) {
  for (size_t i = 0; i < INVARIANT_COUNT; i++) {
    sqlite3_finalize(fx->checks[i]);
    fx->checks[i] = NULL;
  }
}

void fuzz_check_db(struct fuzz_app *fx) {
  for (size_t i = 0; i < INVARIANT_COUNT; i++) {
    sqlite3_stmt *stmt = fx->checks[i];
    if (sqlite3_step(stmt) != SQLITE_ROW)
      fuzz_fail("invariant query failed: %s", sqlite3_errmsg(fx->check_db));
    sqlite3_int64 bad = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    if (bad != 0)
      fuzz_fail("%lld rows: %s", (long long)bad, db_invariants[2 * i]);
  }
}
