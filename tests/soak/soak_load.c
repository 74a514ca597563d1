/* soak_load: the chaos soak's load generator.
 *
 *   soak_load --lb URL --instances "URL URL ..." --redis redis://HOST:PORT
 *             --seconds N --record FILE --counts FILE [--vus N] [--grace N]
 *             [--active-max N] [--hold-seconds N] [--seed N]
 *
 * N virtual users, one thread each, each with a user of its own, book
 * tickets the way a client would for --seconds: join the line (sometimes
 * several joins in a row, which must return the same token), poll until
 * ACTIVE, list schedules and seats, hold a seat (often one of the first few
 * free ones, so that users race), cancel some holds, let a few run out,
 * charge points and pay with an Idempotency-Key, and read balances,
 * histories and reservations along the way. A third of the users come in
 * waves: they wait between sessions and start together, a burst of joins.
 * Every request goes either through haproxy or straight to one instance.
 *
 * Charges and payments are retried with the same key and the same body on
 * every answer that does not say whether they took effect (a network error
 * or a 5xx); a payment whose token was lost meanwhile is retried with a new
 * token, which the API allows for a replay. Some acknowledged charges and
 * payments are then replayed on purpose (the payment with its now SPENT
 * token) and must get the first answer again. After --seconds no new
 * session starts; operations in flight keep retrying for up to --grace
 * seconds so that as few as possible end unknown.
 *
 * Output, for tests/soak/soak_check:
 *  --record: one line per acknowledged operation, written as it happens
 *      C user key amount balance               charge answered 200
 *      P user reservation payment amount key balance
 *                                              payment answered 201
 *      H reservation user schedule seat price  hold answered 201
 *      X reservation user                      cancel answered 200
 *      F C|P user key reservation|amount label keyed request finally refused
 *      A text...                               the server broke a promise
 *                                              the client could see
 *  --counts: "req KIND OUTCOME N" per request, "op KIND OUTCOME N" per
 *      logical operation, and "stat NAME VALUE" (the queue sampler: samples,
 *      the most ACTIVE tokens seen with a score past now, the largest ZCARD
 *      of the active set and of the line).
 *
 * The sampler thread reads Redis every 100 ms: ZCOUNT bo:{q}:active (now
 * +inf), i.e. ACTIVE tokens whose time has not run out, ZCARD of the same
 * set and ZCARD bo:{q}:line (docs/queue.md has the key layout). */
#include "soak_http.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_INSTANCES 16
#define MAX_CONCERTS 64
#define MAX_COUNTERS 1024
#define ACTIVE_KEY "bo:{q}:active"
#define LINE_KEY "bo:{q}:line"

struct counter {
  char cls[4]; /* "req" or "op" */
  char kind[24];
  char outcome[64];
  long n;
};

static struct {
  const char *lb;
  char *instances[MAX_INSTANCES];
  int n_instances;
  char redis_host[128];
  int redis_port;
  int seconds, vus, grace, active_max, hold_seconds;
  unsigned seed;
  char run_id[24];
  int64_t start_ms, deadline_ms, hard_deadline_ms; /* monotonic */
  int64_t concerts[MAX_CONCERTS];
  int n_concerts;

  pthread_mutex_t record_mu;
  FILE *record;

  pthread_mutex_t count_mu;
  struct counter counters[MAX_COUNTERS];
  int n_counters;

  pthread_mutex_t wave_mu;
  pthread_cond_t wave_cv;
  long wave;

  /* Written by the sampler, read by the main thread's progress line. */
  atomic_bool stop_sampler;
  atomic_long samples, sample_errors, max_live, max_card, max_line;
  atomic_long samples_at_max; /* samples that saw activeMax live tokens */
} g = {
    .record_mu = PTHREAD_MUTEX_INITIALIZER,
    .count_mu = PTHREAD_MUTEX_INITIALIZER,
    .wave_mu = PTHREAD_MUTEX_INITIALIZER,
    .wave_cv = PTHREAD_COND_INITIALIZER,
    .vus = 40,
    .grace = 30,
    .active_max = 20,
    .hold_seconds = 5,
};

struct vu {
  int id;
  uint64_t rng;
  CURL *curl;
  bool burst; /* comes in waves */
  long last_wave;
  int64_t user_id;
  char token[64];
  bool active;
  bool resent; /* the last call() was sent again after a refused connect */
  long seq;    /* request and key counter */
};

struct hold {
  int64_t reservation_id, schedule_id, price;
  int seat;
};

/* ---- Small helpers ----------------------------------------------------- */

static int64_t clock_ms(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void) {
  return clock_ms(CLOCK_MONOTONIC);
}

static int64_t wall_ms(void) {
  return clock_ms(CLOCK_REALTIME);
}

static void sleep_ms(int64_t ms) {
  if (ms <= 0)
    return;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static uint64_t rnd(struct vu *vu) { /* xorshift64* */
  vu->rng ^= vu->rng >> 12;
  vu->rng ^= vu->rng << 25;
  vu->rng ^= vu->rng >> 27;
  return vu->rng * 2685821657736338717ULL;
}

static int64_t rnd_range(struct vu *vu, int64_t lo, int64_t hi) {
  return lo + (int64_t)(rnd(vu) % (uint64_t)(hi - lo + 1));
}

static bool chance(struct vu *vu, int percent) {
  return (int)(rnd(vu) % 100) < percent;
}

static bool sessions_over(void) {
  return mono_ms() >= g.deadline_ms;
}

static void count(const char *cls, const char *kind, const char *outcome) {
  pthread_mutex_lock(&g.count_mu);
  int i;
  for (i = 0; i < g.n_counters; i++) {
    struct counter *c = &g.counters[i];
    if (strcmp(c->cls, cls) == 0 && strcmp(c->kind, kind) == 0 &&
        strcmp(c->outcome, outcome) == 0)
      break;
  }
  if (i == g.n_counters && i < MAX_COUNTERS) {
    struct counter *c = &g.counters[g.n_counters++];
    snprintf(c->cls, sizeof c->cls, "%s", cls);
    snprintf(c->kind, sizeof c->kind, "%s", kind);
    snprintf(c->outcome, sizeof c->outcome, "%s", outcome);
  }
  if (i < MAX_COUNTERS)
    g.counters[i].n++;
  pthread_mutex_unlock(&g.count_mu);
}

static void op(const char *kind, const char *outcome) {
  count("op", kind, outcome);
}

__attribute__((format(printf, 1, 2))) static void record(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&g.record_mu);
  vfprintf(g.record, fmt, ap);
  fputc('\n', g.record);
  fflush(g.record);
  pthread_mutex_unlock(&g.record_mu);
  va_end(ap);
}

/* A promise broken in a way the client can see. Recorded, counted, and
 * printed: each one fails the soak. */
__attribute__((format(printf, 2, 3))) static void
anomaly(struct vu *vu, const char *fmt, ...) {
  char text[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  record("A vu%d user %" PRId64 ": %s", vu->id, vu->user_id, text);
  fprintf(stderr, "soak_load: ANOMALY vu%d user %" PRId64 ": %s\n", vu->id,
          vu->user_id, text);
  op("anomaly", "seen");
}

/* Backoff after an answer that asks to come back later. */
static void backoff(struct vu *vu, int attempt) {
  int64_t cap = attempt < 4 ? 100LL << attempt : 1000;
  sleep_ms(rnd_range(vu, cap / 2, cap));
}

/* ---- Requests ---------------------------------------------------------- */

/* One request, through haproxy or straight to a random instance. A refused
 * connection to an instance (killed) is sent again through haproxy, and
 * vu->resent says so: libcurl itself sends a request again on a fresh
 * connection when a reused one dies before any answer, so "refused" may
 * follow a first copy that the killed instance did receive. */
static void call(struct vu *vu, const char *kind, const char *method,
                 const char *path, const char *body, const char *token,
                 const char *key, struct soak_resp *resp) {
  const char *base = g.lb;
  if (g.n_instances > 0 && chance(vu, 50))
    base = g.instances[rnd(vu) % (uint64_t)g.n_instances];
  char rid[64];
  snprintf(rid, sizeof rid, "soak-%s-%d-%ld", g.run_id, vu->id, ++vu->seq);
  struct soak_req req = {.method = method,
                         .base = base,
                         .path = path,
                         .body = body,
                         .token = token,
                         .idem_key = key,
                         .request_id = rid};
  soak_http(vu->curl, &req, resp);
  count("req", kind, resp->label);
  vu->resent = false;
  if (resp->net == SOAK_NET_REFUSED && base != g.lb) {
    vu->resent = true;
    req.base = g.lb;
    soak_http(vu->curl, &req, resp);
    count("req", kind, resp->label);
  }
}

static void forget_token(struct vu *vu) {
  vu->token[0] = '\0';
  vu->active = false;
}

/* Joins the line (a burst of joins now and then: each must return the same
 * token). True with vu->token set. */
static bool join(struct vu *vu, int64_t until) {
  char body[64];
  snprintf(body, sizeof body, "{\"userId\":%" PRId64 "}", vu->user_id);
  for (int attempt = 0; mono_ms() < until; attempt++) {
    struct soak_resp r = {0};
    call(vu, "token", "POST", "/api/v1/queue/tokens", body, NULL, NULL, &r);
    const char *tok = soak_jstr(&r, "token");
    if ((r.status == 200 || r.status == 201) && tok &&
        strlen(tok) < sizeof vu->token) {
      snprintf(vu->token, sizeof vu->token, "%s", tok);
      const char *st = soak_jstr(&r, "status");
      vu->active = st && strcmp(st, "ACTIVE") == 0;
      soak_resp_free(&r);
      op("join", "ok");
      if (chance(vu, 30)) {
        int again = (int)rnd_range(vu, 1, 3);
        for (int i = 0; i < again; i++) {
          call(vu, "token", "POST", "/api/v1/queue/tokens", body, NULL, NULL,
               &r);
          tok = soak_jstr(&r, "token");
          if (r.status == 200 && tok && strcmp(tok, vu->token) == 0)
            op("rejoin", "same token (200)");
          else if (r.status == 201)
            op("rejoin", "new token (201: the first one ended)");
          else if (r.status == 200)
            anomaly(vu, "a join while holding a live token returned another "
                        "token with 200");
          else
            op("rejoin", r.label);
          soak_resp_free(&r);
        }
      }
      return true;
    }
    if (r.status == 404)
      anomaly(vu, "token request: the user is unknown (404)");
    soak_resp_free(&r);
    backoff(vu, attempt);
  }
  return false;
}

/* Polls until the token is ACTIVE (joining again when it is lost). */
static bool await_active(struct vu *vu, int64_t until) {
  for (int attempt = 0; mono_ms() < until; attempt++) {
    if (!vu->token[0] && !join(vu, until))
      return false;
    if (vu->active)
      return true;
    sleep_ms(rnd_range(vu, 150, 400));
    struct soak_resp r = {0};
    call(vu, "status", "GET", "/api/v1/queue/status", NULL, vu->token, NULL,
         &r);
    if (r.status == 200) {
      const char *st = soak_jstr(&r, "status");
      vu->active = st && strcmp(st, "ACTIVE") == 0;
      attempt = 0;
    } else if (r.status == 401) {
      forget_token(vu); /* run out, idle, or lost with Redis */
      op("token", "lost (401 while polling)");
    } else {
      backoff(vu, attempt);
    }
    soak_resp_free(&r);
  }
  return false;
}

/* A token answer on a booking call: drop what we believed. */
static bool token_trouble(struct vu *vu, const struct soak_resp *r) {
  if (r->status == 401) {
    forget_token(vu);
    return true;
  }
  if (r->status == 403 && strcmp(r->code, "TOKEN_NOT_ACTIVE") == 0) {
    vu->active = false;
    return true;
  }
  return false;
}

/* ---- Points ------------------------------------------------------------ */

static int64_t get_balance(struct vu *vu) {
  char path[96];
  snprintf(path, sizeof path, "/api/v1/users/%" PRId64 "/points", vu->user_id);
  struct soak_resp r = {0};
  call(vu, "balance", "GET", path, NULL, NULL, NULL, &r);
  int64_t b = r.status == 200 ? soak_jint(&r, "balance", -1) : -1;
  soak_resp_free(&r);
  return b;
}

/* Sends one keyed request until it is answered with something other than
 * "maybe": a network error or a 5xx. A refusal that follows a "maybe" is
 * only believed once the earlier attempt cannot still be running (12 s:
 * statements are bounded at 5 s and lock waits at 2 s), so that a late
 * commit of the first attempt shows up as a replay. *uncertain says whether
 * any attempt went unanswered. */
static void keyed(struct vu *vu, const char *kind, const char *path,
                  const char *body, bool with_token, const char *key,
                  int64_t until, struct soak_resp *r, bool *uncertain,
                  int64_t *last_maybe) {
  for (int attempt = 0; mono_ms() < until; attempt++) {
    const char *token = with_token && vu->token[0] ? vu->token : NULL;
    call(vu, kind, "POST", path, body, token, key, r);
    if (vu->resent) { /* the first copy may have been executed */
      *uncertain = true;
      *last_maybe = mono_ms();
    }
    if (soak_uncertain(r)) {
      *uncertain = true;
      *last_maybe = mono_ms();
      backoff(vu, attempt);
      continue;
    }
    return;
  }
  soak_resp_free(r); /* unresolved: net stays 0 with status 0 */
  r->net = SOAK_NET_TIMEOUT;
}

/* Whether a refusal can be believed: only once no earlier attempt of the
 * same keyed request can still be running. */
enum settle { SETTLED, ASK_AGAIN, UNSETTLED };

static enum settle settle_refusal(struct vu *vu, int64_t last_maybe,
                                  int64_t until) {
  int64_t wait = last_maybe + 12000 - mono_ms();
  if (last_maybe == 0 || wait <= 0)
    return SETTLED;
  if (mono_ms() + wait > until)
    return UNSETTLED; /* no time left to wait: neither ack nor refusal */
  sleep_ms(wait + rnd_range(vu, 0, 300));
  return ASK_AGAIN;
}

static bool charge(struct vu *vu, int64_t amount, int64_t until) {
  char key[96], path[96], body[64];
  snprintf(key, sizeof key, "c-%s-%d-%ld", g.run_id, vu->id, ++vu->seq);
  snprintf(path, sizeof path, "/api/v1/users/%" PRId64 "/points/charge",
           vu->user_id);
  snprintf(body, sizeof body, "{\"amount\":%" PRId64 "}", amount);
  bool uncertain = false;
  int64_t last_maybe = 0;
  struct soak_resp r = {0};
  bool ok = false;
  for (int round = 0; round < 4; round++) {
    keyed(vu, "charge", path, body, false, key, until, &r, &uncertain,
          &last_maybe);
    if (r.status == 0) {
      op("charge", "unresolved (no answer before the end)");
      break;
    }
    if (r.status == 200) {
      int64_t bal = soak_jint(&r, "balance", -1);
      record("C %" PRId64 " %s %" PRId64 " %" PRId64, vu->user_id, key, amount,
             bal);
      op("charge", uncertain ? "acked after retries" : "acked");
      ok = true;
      if (chance(vu, 20)) { /* the first answer, again */
        struct soak_resp again = {0};
        bool u2 = false;
        int64_t lm2 = 0;
        keyed(vu, "charge", path, body, false, key, until, &again, &u2, &lm2);
        if (again.status == 200 && soak_jint(&again, "balance", -2) == bal)
          op("charge-replay", "same answer");
        else if (again.status == 0)
          op("charge-replay", "unresolved");
        else
          anomaly(vu,
                  "charge replay with key %s: %s balance %lld, first answer "
                  "balance %" PRId64,
                  key, again.label, soak_jint(&again, "balance", -1), bal);
        soak_resp_free(&again);
      }
      break;
    }
    if (strcmp(r.code, "IDEMPOTENCY_KEY_REUSED") == 0) {
      anomaly(vu, "charge retry with the same key and body: %s", r.label);
      break;
    }
    enum settle settled = settle_refusal(vu, last_maybe, until);
    if (settled == ASK_AGAIN) {
      last_maybe = 0;
      continue;
    }
    if (settled == UNSETTLED) {
      op("charge", "refused, an earlier try maybe still running (unknown)");
      break;
    }
    record("F C %" PRId64 " %s %" PRId64 " %s", vu->user_id, key, amount,
           r.label);
    op("charge", r.label);
    if (r.status == 404)
      anomaly(vu, "charge: the user is unknown (404)");
    break;
  }
  soak_resp_free(&r);
  return ok;
}

/* ---- Seats ------------------------------------------------------------- */

enum hold_rc { HOLD_OK, HOLD_TOKEN, HOLD_NONE };

static enum hold_rc pick_schedule(struct vu *vu, int64_t *schedule) {
  int64_t concert = g.concerts[rnd(vu) % (uint64_t)g.n_concerts];
  char path[96];
  snprintf(path, sizeof path, "/api/v1/concerts/%" PRId64 "/schedules",
           concert);
  struct soak_resp r = {0};
  call(vu, "schedules", "GET", path, NULL, vu->token, NULL, &r);
  enum hold_rc rc = HOLD_NONE;
  json_t *items = json_object_get(r.json, "items");
  if (token_trouble(vu, &r)) {
    rc = HOLD_TOKEN;
  } else if (r.status == 200 && json_is_array(items)) {
    size_t n = json_array_size(items);
    if (n == 0) {
      op("schedules", "none bookable (sold out)");
    } else {
      size_t pick = rnd(vu) % (n < 3 ? n : 3); /* the first ones are hot */
      json_t *id = json_object_get(json_array_get(items, pick), "scheduleId");
      if (json_is_integer(id)) {
        *schedule = json_integer_value(id);
        rc = HOLD_OK;
      }
    }
  }
  soak_resp_free(&r);
  return rc;
}

/* The seat number to try: mostly one of the first free ones, so that users
 * race for them; now and then one that is taken (must be refused). */
static enum hold_rc pick_seat(struct vu *vu, int64_t schedule, int *seat) {
  char path[96];
  snprintf(path, sizeof path, "/api/v1/schedules/%" PRId64 "/seats", schedule);
  struct soak_resp r = {0};
  call(vu, "seats", "GET", path, NULL, vu->token, NULL, &r);
  enum hold_rc rc = HOLD_NONE;
  json_t *items = json_object_get(r.json, "items");
  if (token_trouble(vu, &r)) {
    rc = HOLD_TOKEN;
  } else if (r.status == 200 && json_is_array(items)) {
    size_t n = json_array_size(items), n_free = 0, n_taken = 0;
    int *free_seats = calloc(n + 1, sizeof *free_seats);
    int *taken = calloc(n + 1, sizeof *taken);
    for (size_t i = 0; free_seats && taken && i < n; i++) {
      json_t *s = json_array_get(items, i);
      json_t *num = json_object_get(s, "seatNumber");
      const char *st = json_string_value(json_object_get(s, "status"));
      if (!json_is_integer(num) || !st)
        continue;
      if (strcmp(st, "AVAILABLE") == 0)
        free_seats[n_free++] = (int)json_integer_value(num);
      else
        taken[n_taken++] = (int)json_integer_value(num);
    }
    if (n_taken > 0 && chance(vu, 5)) {
      *seat = taken[rnd(vu) % n_taken];
      rc = HOLD_OK;
    } else if (n_free > 0) {
      size_t span = chance(vu, 70) && n_free > 8 ? 8 : n_free;
      *seat = free_seats[rnd(vu) % span];
      rc = HOLD_OK;
    }
    free(free_seats);
    free(taken);
  }
  soak_resp_free(&r);
  return rc;
}

static enum hold_rc hold_seat(struct vu *vu, struct hold *h) {
  for (int attempt = 0; attempt < 5 && !sessions_over(); attempt++) {
    int64_t schedule = 0;
    int seat = 0;
    enum hold_rc rc = pick_schedule(vu, &schedule);
    if (rc == HOLD_OK)
      rc = pick_seat(vu, schedule, &seat);
    if (rc == HOLD_TOKEN)
      return rc;
    if (rc != HOLD_OK) {
      backoff(vu, attempt);
      continue;
    }
    char body[96];
    snprintf(body, sizeof body,
             "{\"scheduleId\":%" PRId64 ",\"seatNumber\":%d}", schedule, seat);
    struct soak_resp r = {0};
    call(vu, "hold", "POST", "/api/v1/reservations", body, vu->token, NULL, &r);
    if (r.status == 201) {
      h->reservation_id = soak_jint(&r, "reservationId", 0);
      h->schedule_id = schedule;
      h->seat = seat;
      h->price = soak_jint(&r, "price", -1);
      const char *st = soak_jstr(&r, "status");
      if (soak_jint(&r, "userId", 0) != vu->user_id ||
          soak_jint(&r, "scheduleId", 0) != schedule ||
          soak_jint(&r, "seatNumber", 0) != seat || !st ||
          strcmp(st, "HELD") != 0 || h->reservation_id <= 0 || h->price < 0)
        anomaly(vu,
                "hold of schedule %" PRId64 " seat %d answered 201 with "
                "other fields",
                schedule, seat);
      record("H %" PRId64 " %" PRId64 " %" PRId64 " %d %" PRId64,
             h->reservation_id, vu->user_id, schedule, seat, h->price);
      op("hold", "acked");
      soak_resp_free(&r);
      return HOLD_OK;
    }
    op("hold", soak_uncertain(&r) ? "unknown (no answer)" : r.label);
    bool token = token_trouble(vu, &r);
    soak_resp_free(&r);
    if (token)
      return HOLD_TOKEN;
  }
  return HOLD_NONE;
}

static void cancel(struct vu *vu, const struct hold *h) {
  char path[96];
  snprintf(path, sizeof path, "/api/v1/reservations/%" PRId64,
           h->reservation_id);
  for (int attempt = 0; attempt < 4; attempt++) {
    struct soak_resp r = {0};
    call(vu, "cancel", "DELETE", path, NULL, vu->token, NULL, &r);
    if (r.status == 200) {
      const char *st = soak_jstr(&r, "status");
      if (!st || strcmp(st, "CANCELLED") != 0)
        anomaly(vu, "cancel of %" PRId64 " answered 200 with status %s",
                h->reservation_id, st ? st : "(none)");
      record("X %" PRId64 " %" PRId64, h->reservation_id, vu->user_id);
      op("cancel", attempt ? "acked after retries" : "acked");
      soak_resp_free(&r);
      return;
    }
    bool again = soak_uncertain(&r);
    if (!again) {
      op("cancel", attempt ? "refused after an unanswered try" : r.label);
      token_trouble(vu, &r);
    }
    soak_resp_free(&r);
    if (!again)
      return;
    backoff(vu, attempt);
  }
  op("cancel", "unknown (no answer)");
}

/* ---- Payments ---------------------------------------------------------- */

enum pay_rc { PAY_OK, PAY_REFUSED, PAY_UNRESOLVED };

/* The acknowledged payment, sent again with its key and its (now SPENT)
 * token, must be answered exactly as the first time. A token that is gone
 * (the payment could not retire it and its time ran out) is replaced by a
 * new one, which a replay also accepts. */
static void replay_payment(struct vu *vu, const char *body, const char *key,
                           const struct soak_resp *first, int64_t until) {
  struct soak_resp r = {0};
  bool uncertain = false;
  int64_t last_maybe = 0;
  for (int round = 0; round < 3; round++) {
    keyed(vu, "pay-replay", "/api/v1/payments", body, true, key, until, &r,
          &uncertain, &last_maybe);
    if (r.status == 401 && round < 2) {
      forget_token(vu);
      op("pay-replay", "token gone (401): again with a new token");
      if (!join(vu, until))
        break;
      continue;
    }
    break;
  }
  if (r.status == 201 &&
      soak_jint(&r, "paymentId", -1) == soak_jint(first, "paymentId", -2) &&
      soak_jint(&r, "amount", -1) == soak_jint(first, "amount", -2) &&
      soak_jint(&r, "balance", -1) == soak_jint(first, "balance", -2) &&
      soak_jint(&r, "reservationId", -1) ==
          soak_jint(first, "reservationId", -2))
    op("pay-replay", "same answer");
  else if (r.status == 0)
    op("pay-replay", "unresolved");
  else
    anomaly(vu,
            "payment replay with key %s: %s paymentId %lld balance %lld, "
            "first answer paymentId %lld balance %lld",
            key, r.label, soak_jint(&r, "paymentId", -1),
            soak_jint(&r, "balance", -1), soak_jint(first, "paymentId", -1),
            soak_jint(first, "balance", -1));
  soak_resp_free(&r);
}

static enum pay_rc pay(struct vu *vu, const struct hold *h, int64_t until,
                       bool expect_expired) {
  char key[96], body[64];
  snprintf(key, sizeof key, "p-%s-%d-%ld", g.run_id, vu->id, ++vu->seq);
  snprintf(body, sizeof body, "{\"reservationId\":%" PRId64 "}",
           h->reservation_id);
  bool uncertain = false;
  int64_t last_maybe = 0;
  int topups = 0, already = 0;
  struct soak_resp r = {0};
  enum pay_rc rc = PAY_UNRESOLVED;
  for (int round = 0; round < 40 && mono_ms() < until; round++) {
    if (!vu->token[0] && !join(vu, until))
      break;
    keyed(vu, "pay", "/api/v1/payments", body, true, key, until, &r, &uncertain,
          &last_maybe);
    if (r.status == 0)
      break;
    if (r.status == 201) {
      int64_t pid = soak_jint(&r, "paymentId", 0);
      int64_t amount = soak_jint(&r, "amount", -1);
      int64_t bal = soak_jint(&r, "balance", -1);
      if (soak_jint(&r, "reservationId", 0) != h->reservation_id ||
          amount != h->price || pid <= 0 || bal < 0)
        anomaly(vu,
                "payment of reservation %" PRId64 " (price %" PRId64
                ") answered 201 with reservationId %lld amount %" PRId64,
                h->reservation_id, h->price, soak_jint(&r, "reservationId", 0),
                amount);
      if (expect_expired)
        anomaly(vu, "reservation %" PRId64 " paid after its hold ran out",
                h->reservation_id);
      record("P %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %s %" PRId64,
             vu->user_id, h->reservation_id, pid, amount, key, bal);
      op("pay", uncertain ? "acked after retries" : "acked");
      if (chance(vu, 30))
        replay_payment(vu, body, key, &r, until);
      forget_token(vu); /* SPENT */
      rc = PAY_OK;
      break;
    }
    if (r.status == 401) { /* run out; a replay also accepts a new token */
      forget_token(vu);
      op("pay", "token gone (401): again with a new token");
      continue;
    }
    if (r.status == 403 && strcmp(r.code, "TOKEN_NOT_ACTIVE") == 0) {
      vu->active = false;
      op("pay", "token waiting (403): again once ACTIVE");
      if (!await_active(vu, until))
        break;
      continue;
    }
    if (strcmp(r.code, "INSUFFICIENT_BALANCE") == 0 && topups < 3) {
      topups++;
      op("pay", "409:INSUFFICIENT_BALANCE (charging, again)");
      charge(vu, h->price + rnd_range(vu, 1, 5) * 10000, until);
      continue;
    }
    if (strcmp(r.code, "ALREADY_PAID") == 0 && uncertain && already < 5) {
      /* An earlier attempt of ours may still be running (or have just
       * committed): asked again, it must replay. */
      already++;
      op("pay", "409:ALREADY_PAID after an unanswered try (asking again)");
      sleep_ms(rnd_range(vu, 500, 1500));
      continue;
    }
    enum settle settled = settle_refusal(vu, last_maybe, until);
    if (settled == ASK_AGAIN) {
      last_maybe = 0;
      continue;
    }
    if (settled == UNSETTLED) {
      op("pay", "refused, an earlier try maybe still running (unknown)");
      rc = PAY_REFUSED;
      break;
    }
    if (strcmp(r.code, "ALREADY_PAID") == 0 ||
        strcmp(r.code, "NOT_OWNER") == 0 ||
        strcmp(r.code, "RESERVATION_NOT_HELD") == 0 || r.status == 404 ||
        r.status == 400 || r.status == 415)
      anomaly(vu, "payment of our reservation %" PRId64 " with key %s: %s",
              h->reservation_id, key, r.label);
    record("F P %" PRId64 " %s %" PRId64 " %s", vu->user_id, key,
           h->reservation_id, r.label);
    op(expect_expired ? "pay-after-expiry" : "pay", r.label);
    rc = PAY_REFUSED;
    break;
  }
  if (rc == PAY_UNRESOLVED)
    op("pay", "unresolved (no answer before the end)");
  soak_resp_free(&r);
  return rc;
}

/* ---- Reads on the side ------------------------------------------------- */

static void side_reads(struct vu *vu, const struct hold *h) {
  char path[128];
  struct soak_resp r = {0};
  if (chance(vu, 10)) {
    call(vu, "concerts", "GET", "/api/v1/concerts", NULL, NULL, NULL, &r);
    soak_resp_free(&r);
  }
  if (chance(vu, 10)) {
    snprintf(path, sizeof path, "/api/v1/users/%" PRId64 "/points/history",
             vu->user_id);
    call(vu, "history", "GET", path, NULL, NULL, NULL, &r);
    soak_resp_free(&r);
  }
  if (chance(vu, 10)) {
    snprintf(path, sizeof path, "/api/v1/users/%" PRId64 "/reservations",
             vu->user_id);
    call(vu, "my-reservations", "GET", path, NULL, NULL, NULL, &r);
    soak_resp_free(&r);
  }
  if (h && chance(vu, 20)) {
    snprintf(path, sizeof path, "/api/v1/reservations/%" PRId64,
             h->reservation_id);
    call(vu, "reservation", "GET", path, NULL, vu->token, NULL, &r);
    if (r.status == 200 &&
        soak_jint(&r, "reservationId", 0) != h->reservation_id)
      anomaly(vu, "GET reservation %" PRId64 " returned another one",
              h->reservation_id);
    token_trouble(vu, &r);
    soak_resp_free(&r);
  }
}

/* ---- Virtual users ----------------------------------------------------- */

static bool create_user(struct vu *vu) {
  char body[64];
  snprintf(body, sizeof body, "{\"name\":\"soak-%s-%d\"}", g.run_id, vu->id);
  for (int attempt = 0; !sessions_over(); attempt++) {
    struct soak_resp r = {0};
    call(vu, "user", "POST", "/api/v1/users", body, NULL, NULL, &r);
    int64_t id = r.status == 201 ? soak_jint(&r, "userId", 0) : 0;
    soak_resp_free(&r);
    if (id > 0) {
      vu->user_id = id;
      return true;
    }
    backoff(vu, attempt);
  }
  return false;
}

static void wait_for_wave(struct vu *vu) {
  pthread_mutex_lock(&g.wave_mu);
  while (g.wave == vu->last_wave && !sessions_over()) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&g.wave_cv, &g.wave_mu, &ts);
  }
  vu->last_wave = g.wave;
  pthread_mutex_unlock(&g.wave_mu);
}

static void session(struct vu *vu) {
  int64_t until = g.hard_deadline_ms;
  if (!await_active(vu, g.deadline_ms))
    return;
  op("session", "active");
  for (int holds = 0; holds < 3 && !sessions_over(); holds++) {
    side_reads(vu, NULL);
    struct hold h = {0};
    enum hold_rc rc = hold_seat(vu, &h);
    if (rc == HOLD_TOKEN) {
      if (!await_active(vu, g.deadline_ms))
        return;
      continue;
    }
    if (rc != HOLD_OK) {
      sleep_ms(rnd_range(vu, 200, 600));
      continue;
    }
    side_reads(vu, &h);
    int dice = (int)(rnd(vu) % 100);
    if (dice < 20) {
      cancel(vu, &h);
      continue;
    }
    if (dice < 23) {
      op("session", "walked away from a hold");
      return; /* the hold runs out by itself */
    }
    bool let_expire = dice < 26;
    if (let_expire) /* pay once the hold has run out: must be refused */
      sleep_ms(g.hold_seconds * 1000 + 300);
    int64_t balance = get_balance(vu);
    if (chance(vu, 15)) /* a charge nobody needed, now and then */
      charge(vu, rnd_range(vu, 1, 20) * 1000, until);
    if (balance >= 0 && balance < h.price)
      charge(vu, h.price + rnd_range(vu, 0, 10) * 10000, until);
    enum pay_rc paid = pay(vu, &h, until, let_expire);
    if (paid == PAY_OK)
      return;
    if (!vu->token[0] || !vu->active) {
      if (!await_active(vu, g.deadline_ms))
        return;
    }
  }
}

static void *vu_main(void *arg) {
  struct vu *vu = arg;
  vu->curl = curl_easy_init();
  if (!vu->curl)
    return NULL;
  if (create_user(vu)) {
    while (!sessions_over()) {
      if (vu->burst)
        wait_for_wave(vu);
      if (sessions_over())
        break;
      session(vu);
      sleep_ms(rnd_range(vu, 0, 200));
    }
  }
  curl_easy_cleanup(vu->curl);
  return NULL;
}

/* ---- Queue sampler ----------------------------------------------------- */

static void *sampler_main(void *arg) {
  (void)arg;
  redisContext *c = NULL;
  struct timeval tv = {0, 500000};
  while (!atomic_load(&g.stop_sampler)) {
    if (!c) {
      c = redisConnectWithTimeout(g.redis_host, g.redis_port, tv);
      if (!c || c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        if (c)
          redisFree(c);
        c = NULL;
        g.sample_errors++;
        sleep_ms(100);
        continue;
      }
    }
    long long now = (long long)wall_ms();
    redisReply *live = redisCommand(c, "ZCOUNT %s (%lld +inf", ACTIVE_KEY, now);
    redisReply *card = live ? redisCommand(c, "ZCARD %s", ACTIVE_KEY) : NULL;
    redisReply *line = card ? redisCommand(c, "ZCARD %s", LINE_KEY) : NULL;
    bool ok = line && live->type == REDIS_REPLY_INTEGER &&
              card->type == REDIS_REPLY_INTEGER &&
              line->type == REDIS_REPLY_INTEGER;
    if (ok) {
      g.samples++;
      if (live->integer > g.max_live)
        g.max_live = (long)live->integer;
      if (card->integer > g.max_card)
        g.max_card = (long)card->integer;
      if (line->integer > g.max_line)
        g.max_line = (long)line->integer;
      if (live->integer >= g.active_max)
        g.samples_at_max++;
    } else {
      g.sample_errors++;
    }
    if (live)
      freeReplyObject(live);
    if (card)
      freeReplyObject(card);
    if (line)
      freeReplyObject(line);
    if (!ok) {
      redisFree(c); /* Redis restarting: connect again */
      c = NULL;
    }
    sleep_ms(100);
  }
  if (c)
    redisFree(c);
  return NULL;
}

/* ---- Set-up and main --------------------------------------------------- */

static bool load_concerts(void) {
  CURL *curl = curl_easy_init();
  int64_t until = mono_ms() + 60000;
  struct soak_resp r = {0};
  while (curl && mono_ms() < until) {
    struct soak_req req = {.base = g.lb, .path = "/api/v1/concerts"};
    soak_http(curl, &req, &r);
    json_t *items = json_object_get(r.json, "items");
    if (r.status == 200 && json_is_array(items)) {
      for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *id = json_object_get(json_array_get(items, i), "concertId");
        if (json_is_integer(id) && g.n_concerts < MAX_CONCERTS)
          g.concerts[g.n_concerts++] = json_integer_value(id);
      }
      break;
    }
    sleep_ms(500);
  }
  soak_resp_free(&r);
  if (curl)
    curl_easy_cleanup(curl);
  return g.n_concerts > 0;
}

static bool parse_redis(const char *url) {
  const char *p = strncmp(url, "redis://", 8) == 0 ? url + 8 : url;
  const char *colon = strrchr(p, ':');
  if (!colon || (size_t)(colon - p) >= sizeof g.redis_host)
    return false;
  memcpy(g.redis_host, p, (size_t)(colon - p));
  g.redis_host[colon - p] = '\0';
  g.redis_port = atoi(colon + 1);
  return g.redis_port > 0;
}

static void write_counts(const char *path, int64_t took_ms) {
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    return;
  }
  fprintf(f, "stat seconds_planned %d\n", g.seconds);
  fprintf(f, "stat load_ms %" PRId64 "\n", took_ms);
  fprintf(f, "stat vus %d\n", g.vus);
  fprintf(f, "stat seed %u\n", g.seed);
  fprintf(f, "stat sampler_samples %ld\n", atomic_load(&g.samples));
  fprintf(f, "stat sampler_errors %ld\n", atomic_load(&g.sample_errors));
  fprintf(f, "stat sampler_max_live_active %ld\n", atomic_load(&g.max_live));
  fprintf(f, "stat sampler_max_zcard_active %ld\n", atomic_load(&g.max_card));
  fprintf(f, "stat sampler_max_waiting %ld\n", atomic_load(&g.max_line));
  fprintf(f, "stat sampler_samples_at_active_max %ld\n",
          atomic_load(&g.samples_at_max));
  for (int i = 0; i < g.n_counters; i++) {
    const struct counter *c = &g.counters[i];
    fprintf(f, "%s %s %s %ld\n", c->cls, c->kind, c->outcome, c->n);
  }
  fclose(f);
}

static void usage(void) {
  fprintf(stderr,
          "usage: soak_load --lb URL --instances \"URL ...\" --redis URL "
          "--seconds N --record FILE --counts FILE [--vus N] [--grace N] "
          "[--active-max N] [--hold-seconds N] [--seed N]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *record_path = NULL, *counts_path = NULL, *redis = NULL;
  char *instances = NULL;
  g.seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v)
      usage();
    i++;
    if (strcmp(a, "--lb") == 0)
      g.lb = v;
    else if (strcmp(a, "--instances") == 0)
      instances = strdup(v);
    else if (strcmp(a, "--redis") == 0)
      redis = v;
    else if (strcmp(a, "--seconds") == 0)
      g.seconds = atoi(v);
    else if (strcmp(a, "--vus") == 0)
      g.vus = atoi(v);
    else if (strcmp(a, "--grace") == 0)
      g.grace = atoi(v);
    else if (strcmp(a, "--active-max") == 0)
      g.active_max = atoi(v);
    else if (strcmp(a, "--hold-seconds") == 0)
      g.hold_seconds = atoi(v);
    else if (strcmp(a, "--seed") == 0)
      g.seed = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(a, "--record") == 0)
      record_path = v;
    else if (strcmp(a, "--counts") == 0)
      counts_path = v;
    else
      usage();
  }
  if (!g.lb || !redis || !record_path || !counts_path || g.seconds <= 0 ||
      g.vus <= 0 || g.vus > 1000 || !parse_redis(redis))
    usage();
  for (char *save = NULL,
            *t = instances ? strtok_r(instances, " ", &save) : NULL;
       t && g.n_instances < MAX_INSTANCES; t = strtok_r(NULL, " ", &save))
    g.instances[g.n_instances++] = t;
  snprintf(g.run_id, sizeof g.run_id, "%x", g.seed);

  g.record = fopen(record_path, "w");
  if (!g.record) {
    perror(record_path);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (!load_concerts()) {
    fprintf(stderr, "soak_load: no concerts at %s\n", g.lb);
    return 2;
  }
  g.start_ms = mono_ms();
  g.deadline_ms = g.start_ms + (int64_t)g.seconds * 1000;
  g.hard_deadline_ms = g.deadline_ms + (int64_t)g.grace * 1000;
  fprintf(stderr,
          "soak_load: %d users for %d s (+%d s to settle), %d concert(s), "
          "%d instance(s) + haproxy, seed %u\n",
          g.vus, g.seconds, g.grace, g.n_concerts, g.n_instances, g.seed);

  pthread_t sampler;
  pthread_create(&sampler, NULL, sampler_main, NULL);
  struct vu *vus = calloc((size_t)g.vus, sizeof *vus);
  pthread_t *threads = calloc((size_t)g.vus, sizeof *threads);
  if (!vus || !threads)
    return 2;
  for (int i = 0; i < g.vus; i++) {
    vus[i].id = i + 1;
    vus[i].rng =
        ((uint64_t)g.seed << 20) ^ (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ULL;
    if (!vus[i].rng)
      vus[i].rng = 1;
    vus[i].burst = i % 3 == 2;
    pthread_create(&threads[i], NULL, vu_main, &vus[i]);
  }
  /* Waves: every 4-9 s the waiting third of the users joins at once. */
  struct vu waves = {.rng = g.seed | 1};
  int64_t next_report = mono_ms() + 10000;
  while (!sessions_over()) {
    int64_t left = g.deadline_ms - mono_ms();
    int64_t nap = rnd_range(&waves, 4000, 9000);
    sleep_ms(nap < left ? nap : left);
    pthread_mutex_lock(&g.wave_mu);
    g.wave++;
    pthread_cond_broadcast(&g.wave_cv);
    pthread_mutex_unlock(&g.wave_mu);
    if (mono_ms() >= next_report) {
      fprintf(stderr,
              "soak_load: %3" PRId64 " s: queue max ACTIVE %ld, max waiting "
              "%ld\n",
              (mono_ms() - g.start_ms) / 1000, atomic_load(&g.max_live),
              atomic_load(&g.max_line));
      next_report += 10000;
    }
  }
  for (int i = 0; i < g.vus; i++)
    pthread_join(threads[i], NULL);
  atomic_store(&g.stop_sampler, true);
  pthread_join(sampler, NULL);
  int64_t took = mono_ms() - g.start_ms;
  fclose(g.record);
  write_counts(counts_path, took);
  fprintf(stderr, "soak_load: done in %.1f s\n", (double)took / 1000);
  free(vus);
  free(threads);
  free(instances);
  curl_global_cleanup();
  return 0;
}
