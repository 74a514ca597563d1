/* The purchase: the whole flow of a buyer, one after another on each
 * connection, each with a user id never used before.
 *
 *   ISSUE    POST /queue/tokens          WAITING -> POLL, ACTIVE -> SCHEDULES
 *   POLL     GET /queue/status           every --poll-ms until ACTIVE
 *   SCHEDULES GET /concerts/ID/schedules a random one with seats left;
 *                                        none: this connection is done
 *   SEATS    GET /schedules/S/seats      a random AVAILABLE seat; none:
 *                                        SCHEDULES again
 *   RESERVE  POST /reservations          409 (lost the race): SEATS again
 *   CHARGE   POST /users/K/points/charge the seat's price
 *   PAY      POST /payments              201: one purchase, next user
 *
 * A 429 is waited out (Retry-After) and the same step asked again; a
 * transport error or a 5xx is retried after a pause, three times, then
 * the user is abandoned. Charge and payment carry idempotency keys, so a
 * retry never charges twice. A token refused on the way (401, 403) is
 * issued or polled again. The end-to-end latency runs from the token
 * request to the payment's 201. */
#include "body.h"
#include "queue_calls.h"
#include "report.h"
#include "run.h"
#include "run_workload.h"
#include "user_ids.h"
#include "workloads.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define RETRIES 3
#define PAUSE_AFTER_FAILURE_MS 100

enum step {
  STEP_ISSUE,
  STEP_POLL,
  STEP_SCHEDULES,
  STEP_SEATS,
  STEP_RESERVE,
  STEP_CHARGE,
  STEP_PAY,
};

struct shared {
  struct bo_load_user_ids users;
  int64_t concert_id;
  uint64_t poll_ms;
  bool forwarded_for;
};

struct vu {
  enum step step;
  int failures;       /* of this step */
  int token_troubles; /* 401/403 for this user, in all */
  int64_t user;       /* 0 before the first */
  uint64_t started_ns;
  int64_t schedule_id;
  int64_t seat_number;
  int64_t price;
  int64_t reservation_id;
  char token[BO_LOAD_TOKEN_MAX];
};

struct thread_ctx {
  struct shared *shared;
  struct vu *vus;
  struct bo_hist e2e;
  uint64_t purchases, abandoned, lost_races, sold_out;
};

static void send_step(struct bo_load_conn *c, const struct vu *vu) {
  const struct thread_ctx *ctx = bo_load_conn_context(c);
  char path[96], body[96], headers[96];
  struct bo_load_request req = {
      .method = "POST", .path = path, .bearer = vu->token, .keep_body = true};
  switch (vu->step) {
  case STEP_ISSUE:
    bo_load_queue_issue(c, vu->user, ctx->shared->forwarded_for);
    return;
  case STEP_POLL:
    bo_load_queue_poll(c, vu->token, true);
    return;
  case STEP_SCHEDULES:
    req.method = "GET";
    snprintf(path, sizeof path, "/api/v1/concerts/%" PRId64 "/schedules",
             ctx->shared->concert_id);
    break;
  case STEP_SEATS:
    req.method = "GET";
    snprintf(path, sizeof path, "/api/v1/schedules/%" PRId64 "/seats",
             vu->schedule_id);
    break;
  case STEP_RESERVE:
    req.path = "/api/v1/reservations";
    req.body = body;
    snprintf(body, sizeof body,
             "{\"scheduleId\":%" PRId64 ",\"seatNumber\":%" PRId64 "}",
             vu->schedule_id, vu->seat_number);
    break;
  case STEP_CHARGE:
    snprintf(path, sizeof path, "/api/v1/users/%" PRId64 "/points/charge",
             vu->user);
    snprintf(body, sizeof body, "{\"amount\":%" PRId64 "}", vu->price);
    snprintf(headers, sizeof headers,
             "Idempotency-Key: bench-charge-%" PRId64 "\r\n", vu->user);
    req.bearer = NULL; /* points go by user id, no token */
    req.headers = headers;
    req.body = body;
    req.keep_body = false;
    break;
  case STEP_PAY:
    req.path = "/api/v1/payments";
    snprintf(body, sizeof body, "{\"reservationId\":%" PRId64 "}",
             vu->reservation_id);
    snprintf(headers, sizeof headers,
             "Idempotency-Key: bench-pay-%" PRId64 "\r\n", vu->user);
    req.headers = headers;
    req.body = body;
    req.keep_body = false;
    break;
  }
  bo_load_conn_send(c, &req);
}

static void next_user(struct bo_load_conn *c, struct vu *vu) {
  struct thread_ctx *ctx = bo_load_conn_context(c);
  int64_t user;
  if (!bo_load_user_ids_take(&ctx->shared->users, &user)) {
    bo_load_conn_stop(c);
    return;
  }
  memset(vu, 0, sizeof *vu);
  vu->user = user;
  vu->step = STEP_ISSUE;
  vu->started_ns = bo_load_now_ns();
  send_step(c, vu);
}

/* The next step of the flow: its own count of failures. */
static void advance(struct bo_load_conn *c, struct vu *vu, enum step step) {
  vu->step = step;
  vu->failures = 0;
  send_step(c, vu);
}

static void abandon(struct bo_load_conn *c, struct vu *vu) {
  struct thread_ctx *ctx = bo_load_conn_context(c);
  ctx->abandoned++;
  next_user(c, vu);
}

static void wait_for_active(struct bo_load_conn *c, struct vu *vu) {
  const struct thread_ctx *ctx = bo_load_conn_context(c);
  vu->step = STEP_POLL;
  bo_load_conn_sleep_ms(c, ctx->shared->poll_ms);
}

/* 401: the token is gone (expired, left the line): ask for one again.
 * 403: not ACTIVE (any more): wait in line. Either counts against the
 * user, so that a server refusing forever does not hold a VU forever. */
static bool token_trouble(struct bo_load_conn *c, struct vu *vu, int status) {
  if (status != 401 && status != 403)
    return false;
  bo_load_conn_unexpected(c);
  if (++vu->token_troubles > RETRIES) {
    abandon(c, vu);
  } else if (status == 401) {
    vu->step = STEP_ISSUE;
    send_step(c, vu);
  } else {
    wait_for_active(c, vu);
  }
  return true;
}

static void on_queue_answer(struct bo_load_conn *c, struct vu *vu,
                            const struct bo_load_response *r) {
  bool active = false;
  if ((r->status == 200 || r->status == 201) &&
      bo_load_queue_read(r, vu->token, &active)) {
    if (active)
      advance(c, vu, STEP_SCHEDULES);
    else
      wait_for_active(c, vu);
    return;
  }
  bo_load_conn_unexpected(c);
  if (vu->step == STEP_POLL && r->status == 401 &&
      ++vu->token_troubles <= RETRIES) {
    vu->step = STEP_ISSUE; /* dropped from the line: join it again */
    send_step(c, vu);
    return;
  }
  abandon(c, vu); /* 404: no such user, or a body we cannot read */
}

/* A random element of the body's "items" that `fits`, or NULL. */
static const json_t *pick_item(json_t *root, struct bo_rng *rng,
                               bool (*fits)(const json_t *item)) {
  const json_t *items = json_object_get(root, "items");
  const json_t *chosen = NULL;
  uint64_t seen = 0;
  size_t i;
  const json_t *item;
  json_array_foreach(items, i, item) {
    if (fits(item) && bo_rng_below(rng, ++seen) == 0)
      chosen = item; /* reservoir sampling: each fitting item equally */
  }
  return chosen;
}

static bool has_seats(const json_t *item) {
  int64_t available = 0;
  return bo_load_json_int(item, "availableSeats", &available) && available > 0;
}

static bool is_available(const json_t *item) {
  const char *status = json_string_value(json_object_get(item, "status"));
  return status && strcmp(status, "AVAILABLE") == 0;
}

/* The body of a listing (schedules, seats) that came back 200; NULL,
 * counted as unexpected, for any other answer. */
static json_t *listing_body(struct bo_load_conn *c,
                            const struct bo_load_response *r) {
  json_t *root = r->status == 200 ? bo_load_body_json(r) : NULL;
  if (!root)
    bo_load_conn_unexpected(c);
  return root;
}

static void on_schedules(struct bo_load_conn *c, struct vu *vu,
                         const struct bo_load_response *r) {
  if (token_trouble(c, vu, r->status))
    return;
  json_t *root = listing_body(c, r);
  if (!root) {
    abandon(c, vu);
    return;
  }
  const json_t *chosen = pick_item(root, bo_load_conn_rng(c), has_seats);
  bool picked =
      chosen && bo_load_json_int(chosen, "scheduleId", &vu->schedule_id);
  json_decref(root);
  if (picked) {
    advance(c, vu, STEP_SEATS);
  } else {
    struct thread_ctx *ctx = bo_load_conn_context(c);
    ctx->sold_out++; /* nothing left to buy: this VU is done */
    bo_load_conn_stop(c);
  }
}

static void on_seats(struct bo_load_conn *c, struct vu *vu,
                     const struct bo_load_response *r) {
  if (token_trouble(c, vu, r->status))
    return;
  json_t *root = listing_body(c, r);
  const json_t *chosen =
      root ? pick_item(root, bo_load_conn_rng(c), is_available) : NULL;
  bool picked = chosen &&
                bo_load_json_int(chosen, "seatNumber", &vu->seat_number) &&
                bo_load_json_int(chosen, "price", &vu->price);
  json_decref(root);
  /* An unreadable list, like one without a free seat: choose again. */
  advance(c, vu, picked ? STEP_RESERVE : STEP_SCHEDULES);
}

static void on_reserve(struct bo_load_conn *c, struct vu *vu,
                       const struct bo_load_response *r) {
  struct thread_ctx *ctx = bo_load_conn_context(c);
  if (token_trouble(c, vu, r->status))
    return;
  if (r->status == 409) {
    ctx->lost_races++;
    advance(c, vu, STEP_SEATS);
    return;
  }
  json_t *root = r->status == 201 ? bo_load_body_json(r) : NULL;
  bool held =
      root && bo_load_json_int(root, "reservationId", &vu->reservation_id);
  if (root)
    bo_load_json_int(root, "price", &vu->price);
  json_decref(root);
  if (held) {
    advance(c, vu, STEP_CHARGE);
  } else {
    bo_load_conn_unexpected(c); /* 404: the seat or schedule is gone */
    advance(c, vu, STEP_SCHEDULES);
  }
}

static void on_paid(struct bo_load_conn *c, struct vu *vu,
                    const struct bo_load_response *r) {
  struct thread_ctx *ctx = bo_load_conn_context(c);
  if (r->status != 201) {
    bo_load_conn_unexpected(c); /* 409 INSUFFICIENT_BALANCE, EXPIRED, ... */
    abandon(c, vu);
    return;
  }
  ctx->purchases++;
  bo_hist_record_ns(&ctx->e2e, r->done_ns - vu->started_ns);
  next_user(c, vu);
}

static void on_charged(struct bo_load_conn *c, struct vu *vu,
                       const struct bo_load_response *r) {
  if (r->status == 200) {
    advance(c, vu, STEP_PAY);
  } else {
    bo_load_conn_unexpected(c); /* BALANCE_LIMIT, IDEMPOTENCY_KEY_REUSED */
    abandon(c, vu);
  }
}

/* Which function reads the answer to each step, indexed by step. */
typedef void (*answer_reader_fn)(struct bo_load_conn *c, struct vu *vu,
                                 const struct bo_load_response *r);
static const answer_reader_fn answer_readers[] = {
    [STEP_ISSUE] = on_queue_answer,
    [STEP_POLL] = on_queue_answer,
    [STEP_SCHEDULES] = on_schedules,
    [STEP_SEATS] = on_seats,
    [STEP_RESERVE] = on_reserve,
    [STEP_CHARGE] = on_charged,
    [STEP_PAY] = on_paid};
/* Unlike a switch, a table gets no -Wswitch warning for a new step: this
 * catches one added at the end without its reader. */
_Static_assert(sizeof answer_readers / sizeof *answer_readers == STEP_PAY + 1,
               "every step has a reader");

static void respond(struct bo_load_conn *c, const struct bo_load_response *r) {
  struct thread_ctx *ctx = bo_load_conn_context(c);
  struct vu *vu = &ctx->vus[bo_load_conn_slot(c)];
  if (r->status == 429) {
    bo_load_conn_sleep_ms(c, bo_load_retry_after_ms(r, ctx->shared->poll_ms));
    return;
  }
  if (r->status == 0 || r->status >= 500) {
    if (++vu->failures <= RETRIES)
      bo_load_conn_sleep_ms(c, PAUSE_AFTER_FAILURE_MS * (uint64_t)vu->failures);
    else
      abandon(c, vu);
    return;
  }
  answer_readers[vu->step](c, vu, r);
}

/* The first wake starts the first user; later ones resume a step after a
 * pause (poll period, Retry-After, back-off). */
static void wake(struct bo_load_conn *c) {
  struct thread_ctx *ctx = bo_load_conn_context(c);
  struct vu *vu = &ctx->vus[bo_load_conn_slot(c)];
  if (vu->user == 0)
    next_user(c, vu);
  else
    send_step(c, vu);
}

static const struct bo_load_vu_ops ops = {.wake = wake, .respond = respond};

static bool thread_setup(void *context,
                         const struct bo_load_thread_share *share) {
  struct thread_ctx *ctx = context;
  ctx->shared = share->plan;
  ctx->vus = share->vus;
  bo_hist_init(&ctx->e2e);
  return true;
}

static int report(const struct bo_load_options *o, unsigned threads,
                  const struct bo_load_run_result *result,
                  const struct thread_ctx *ctxs, int64_t users_taken) {
  struct bo_hist e2e;
  bo_hist_init(&e2e);
  uint64_t purchases = 0, abandoned = 0, lost = 0, sold_out = 0;
  for (unsigned t = 0; t < threads; t++) {
    bo_hist_merge(&e2e, &ctxs[t].e2e);
    purchases += ctxs[t].purchases;
    abandoned += ctxs[t].abandoned;
    lost += ctxs[t].lost_races;
    sold_out += ctxs[t].sold_out;
  }
  double seconds = bo_load_seconds_between(result->start_ns, result->end_ns);
  fprintf(stderr, "bo_load purchase: %llu purchases in %.2f s\n",
          (unsigned long long)purchases, seconds);
  json_t *r = bo_load_report_new(o, threads, &result->stats, seconds);
  if (!r)
    return 1;
  bo_load_report_int(r, "purchases", (int64_t)purchases);
  bo_load_report_rate(r, "purchases_per_s", (double)purchases, seconds);
  bo_load_report_latency(r, "e2e", &e2e);
  bo_load_report_int(r, "users_taken", users_taken);
  bo_load_report_int(r, "abandoned", (int64_t)abandoned);
  bo_load_report_int(r, "lost_races", (int64_t)lost);
  bo_load_report_int(r, "sold_out_stops", (int64_t)sold_out);
  return bo_load_report_print(r) ? 0 : 1;
}

static int finish(const struct bo_load_run_outcome *run) {
  const struct bo_load_options *o = run->options;
  struct shared *shared = run->plan;
  return report(o, run->threads, run->result, run->contexts,
                bo_load_user_ids_taken(&shared->users));
}

int bo_load_purchase(const struct bo_load_options *o,
                     const struct bo_load_target *target) {
  struct shared shared = {.concert_id = o->concert_id,
                          .poll_ms = (uint64_t)o->poll_ms,
                          .forwarded_for = o->forwarded_for};
  bo_load_user_ids_init(&shared.users, o->users_first, o->users_count);
  struct bo_load_workload_parts purchase = {
      .ops = &ops,
      .plan = &shared,
      .context_size = sizeof(struct thread_ctx),
      .vu_size = sizeof(struct vu),
      .setup = thread_setup,
      .finish = finish,
      .run_seconds = o->duration_seconds,
  };
  return bo_load_run_workload(&purchase, o, target);
}
