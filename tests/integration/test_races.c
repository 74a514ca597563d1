/* Races, with real concurrency: many clients (one thread and one
 * connection each, released together by a barrier) against one server
 * with several worker threads. Worker threads only record what they got;
 * the main thread asserts (Criterion assertions unwind only the thread
 * that fails). */
#include "support/harness.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(races, .init = it_setup, .fini = it_teardown);

#define PRICE 150000
/* Server worker threads: more than the cores, so requests really overlap. */
#define SERVER_THREADS 8

/* What one racing request got back. */
struct outcome {
  long status;
  char code[40];
  char token[160];
  char queue_status[16];
  json_int_t id;       /* reservationId, or position of a queue token */
  bool has_expires_at; /* queue tokens: expiresAt is a string */
  char error[80];
};

static void record(const struct it_response *r, const char *id_field,
                   struct outcome *out) {
  out->status = r->status;
  snprintf(out->error, sizeof out->error, "%.79s", r->error);
  json_t *v;
  if ((v = json_object_get(r->json, "code")) && json_is_string(v))
    snprintf(out->code, sizeof out->code, "%s", json_string_value(v));
  if ((v = json_object_get(r->json, "token")) && json_is_string(v))
    snprintf(out->token, sizeof out->token, "%s", json_string_value(v));
  if ((v = json_object_get(r->json, "status")) && json_is_string(v))
    snprintf(out->queue_status, sizeof out->queue_status, "%s",
             json_string_value(v));
  out->id = json_integer_value(json_object_get(r->json, id_field));
  out->has_expires_at = json_is_string(json_object_get(r->json, "expiresAt"));
}

/* Opens this thread's connection before the barrier, so that the race is
 * between requests, not between TCP handshakes. */
static void warm_up(const struct it_server *s) {
  struct it_response r = {0};
  it_send(s, &(struct it_request){.path = "/healthz"}, &r);
  it_response_free(&r);
}

/* ---- Many clients, one seat -------------------------------------------- */

enum { RACERS = 100, SEAT_ROUNDS = 3 };

struct seat_racer {
  const struct it_server *server;
  pthread_barrier_t *barrier;
  const char *token;
  char body[96];
  struct outcome got;
};

static void *race_for_seat(void *arg) {
  struct seat_racer *me = arg;
  warm_up(me->server);
  pthread_barrier_wait(me->barrier);
  struct it_response r = {0};
  it_send(me->server,
          &(struct it_request){.method = "POST",
                               .path = "/api/v1/reservations",
                               .body = me->body,
                               .token = me->token},
          &r);
  record(&r, "reservationId", &me->got);
  it_response_free(&r);
  it_thread_done();
  return NULL;
}

Test(races, exactly_one_client_gets_a_seat, .timeout = 120) {
  struct it_server *s = it_server_start(
      &(struct it_server_opts){.threads = SERVER_THREADS, .active_max = 1000});
  int64_t schedule = it_create_schedule(s);
  static struct seat_racer racers[RACERS];
  static char *tokens[RACERS];
  static int64_t users[RACERS];
  for (int i = 0; i < RACERS; i++) {
    char name[16];
    snprintf(name, sizeof name, "racer%d", i);
    users[i] = it_new_booker(s, name, &tokens[i]);
  }

  for (int seat = 1; seat <= SEAT_ROUNDS; seat++) {
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, RACERS);
    pthread_t threads[RACERS];
    for (int i = 0; i < RACERS; i++) {
      racers[i] = (struct seat_racer){
          .server = s, .barrier = &barrier, .token = tokens[i]};
      snprintf(racers[i].body, sizeof racers[i].body,
               "{\"scheduleId\": %lld, \"seatNumber\": %d}",
               (long long)schedule, seat);
      cr_assert_eq(pthread_create(&threads[i], NULL, race_for_seat, &racers[i]),
                   0);
    }
    for (int i = 0; i < RACERS; i++)
      pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);

    int winner = -1, won = 0;
    for (int i = 0; i < RACERS; i++) {
      struct outcome *o = &racers[i].got;
      if (o->status == 201) {
        won++;
        winner = i;
        continue;
      }
      cr_assert(o->status == 409 && strcmp(o->code, "SEAT_UNAVAILABLE") == 0,
                "seat %d, racer %d: expected 201 or 409 SEAT_UNAVAILABLE, got "
                "%ld %s %s",
                seat, i, o->status, o->code, o->error);
    }
    cr_assert_eq(won, 1, "seat %d: %d winners out of %d", seat, won, RACERS);

    /* The seat is HELD, and by the winner. */
    it_assert_seat(s, tokens[0], schedule, seat, "HELD");
    struct it_response r = {0};
    it_call(s, &r, "GET", tokens[winner], NULL, "/api/v1/reservations/%lld",
            (long long)racers[winner].got.id);
    it_assert_status(&r, 200);
    cr_assert_eq(it_jint(r.json, "userId"), users[winner]);
    cr_assert_eq(it_jint(r.json, "seatNumber"), seat);
    cr_assert_str_eq(it_jstr(r.json, "status"), "HELD");
    /* A loser has nothing to show for it. */
    int loser = (winner + 1) % RACERS;
    it_call(s, &r, "GET", NULL, NULL, "/api/v1/users/%lld/reservations",
            (long long)users[loser]);
    it_assert_status(&r, 200);
    for (size_t k = 0; k < it_item_count(&r); k++)
      cr_assert_neq(it_jint(it_item(&r, k), "seatNumber"), seat,
                    "loser %d has a reservation for seat %d", loser, seat);
    it_response_free(&r);
  }
  it_assert_seat(s, tokens[0], schedule, SEAT_ROUNDS + 1, "AVAILABLE");
  for (int i = 0; i < RACERS; i++)
    free(tokens[i]);
  it_assert_alive(s);
}

/* ---- Many charges ------------------------------------------------------ */

enum { CHARGE_THREADS = 16, CHARGE_USERS = 8, CHARGES_EACH = 25 };

struct charger {
  const struct it_server *server;
  pthread_barrier_t *barrier;
  int64_t user;
  int first_amount; /* amounts first_amount .. first_amount+CHARGES_EACH-1 */
  int ok;
  struct outcome failure; /* the first non-200 */
};

static void *charge_many(void *arg) {
  struct charger *me = arg;
  char path[96];
  snprintf(path, sizeof path, "/api/v1/users/%lld/points/charge",
           (long long)me->user);
  warm_up(me->server);
  pthread_barrier_wait(me->barrier);
  struct it_response r = {0};
  for (int i = 0; i < CHARGES_EACH; i++) {
    char body[48];
    snprintf(body, sizeof body, "{\"amount\": %d}", me->first_amount + i);
    it_send(me->server,
            &(struct it_request){.method = "POST", .path = path, .body = body},
            &r);
    if (r.status == 200)
      me->ok++;
    else if (!me->failure.status)
      record(&r, "balance", &me->failure);
  }
  it_response_free(&r);
  it_thread_done();
  return NULL;
}

static int compare_ints(const void *a, const void *b) {
  json_int_t x = *(const json_int_t *)a, y = *(const json_int_t *)b;
  return (x > y) - (x < y);
}

Test(races, concurrent_charges_all_count, .timeout = 120) {
  struct it_server *s =
      it_server_start(&(struct it_server_opts){.threads = SERVER_THREADS});
  int64_t users[CHARGE_USERS];
  for (int u = 0; u < CHARGE_USERS; u++)
    users[u] = it_create_user(s, "payer");

  /* Two threads per user; every amount is distinct, so each history row can
   * be traced to exactly one charge. */
  struct charger chargers[CHARGE_THREADS];
  pthread_t threads[CHARGE_THREADS];
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, CHARGE_THREADS);
  for (int t = 0; t < CHARGE_THREADS; t++) {
    chargers[t] = (struct charger){.server = s,
                                   .barrier = &barrier,
                                   .user = users[t % CHARGE_USERS],
                                   .first_amount = 1 + t * 100};
    cr_assert_eq(pthread_create(&threads[t], NULL, charge_many, &chargers[t]),
                 0);
  }
  for (int t = 0; t < CHARGE_THREADS; t++)
    pthread_join(threads[t], NULL);
  pthread_barrier_destroy(&barrier);
  for (int t = 0; t < CHARGE_THREADS; t++)
    cr_assert_eq(chargers[t].ok, CHARGES_EACH,
                 "thread %d: %d of %d charges ok; first failure %ld %s %s", t,
                 chargers[t].ok, CHARGES_EACH, chargers[t].failure.status,
                 chargers[t].failure.code, chargers[t].failure.error);

  enum { ROWS = CHARGES_EACH * CHARGE_THREADS / CHARGE_USERS };
  struct it_response r = {0};
  for (int u = 0; u < CHARGE_USERS; u++) {
    json_int_t expected[ROWS], got[ROWS], sum = 0;
    size_t n = 0;
    for (int t = u; t < CHARGE_THREADS; t += CHARGE_USERS)
      for (int i = 0; i < CHARGES_EACH; i++) {
        expected[n++] = chargers[t].first_amount + i;
        sum += chargers[t].first_amount + i;
      }
    it_assert_balance(s, users[u], sum);

    /* One row per charge, and each row's balanceAfter is the one below it
     * plus its amount: the charges were applied one at a time. */
    it_call(s, &r, "GET", NULL, NULL,
            "/api/v1/users/%lld/points/history?limit=%d", (long long)users[u],
            ROWS);
    it_assert_status(&r, 200);
    cr_assert_eq(it_item_count(&r), ROWS, "user %d: %zu history rows", u,
                 it_item_count(&r));
    for (size_t i = 0; i < ROWS; i++) {
      json_t *row = it_item(&r, i);
      cr_assert_str_eq(it_jstr(row, "type"), "CHARGE");
      got[i] = it_jint(row, "amount");
      json_int_t below =
          i + 1 < ROWS ? it_jint(it_item(&r, i + 1), "balanceAfter") : 0;
      cr_assert_eq(it_jint(row, "balanceAfter"), below + got[i],
                   "user %d, row %zu: balanceAfter %lld is not %lld + %lld", u,
                   i, (long long)it_jint(row, "balanceAfter"), (long long)below,
                   (long long)got[i]);
    }
    cr_assert_eq(it_jint(it_item(&r, 0), "balanceAfter"), sum);
    qsort(expected, ROWS, sizeof *expected, compare_ints);
    qsort(got, ROWS, sizeof *got, compare_ints);
    for (size_t i = 0; i < ROWS; i++)
      cr_assert_eq(got[i], expected[i],
                   "user %d: history amounts differ from "
                   "the charges made",
                   u);
  }
  it_response_free(&r);
  it_assert_alive(s);
}

/* ---- Two payments, money for one --------------------------------------- */

struct payer {
  const struct it_server *server;
  pthread_barrier_t *barrier;
  const char *token;
  char body[64];
  struct outcome got;
};

static void *pay(void *arg) {
  struct payer *me = arg;
  warm_up(me->server);
  pthread_barrier_wait(me->barrier);
  struct it_response r = {0};
  it_send(me->server,
          &(struct it_request){.method = "POST",
                               .path = "/api/v1/payments",
                               .body = me->body,
                               .token = me->token},
          &r);
  record(&r, "paymentId", &me->got);
  it_response_free(&r);
  it_thread_done();
  return NULL;
}

Test(races, one_balance_two_payments, .timeout = 60) {
  struct it_server *s =
      it_server_start(&(struct it_server_opts){.threads = SERVER_THREADS});
  int64_t schedule = it_create_schedule(s);
  char *observer;
  it_new_booker(s, "observer", &observer);

  /* Several rounds, a new user each, to give the race more chances. */
  for (int round = 0; round < 5; round++) {
    char *token;
    int64_t user = it_new_booker(s, "twice", &token);
    it_charge(s, user, PRICE);
    int seats[2] = {2 * round + 1, 2 * round + 2};
    struct payer payers[2];
    pthread_t threads[2];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    for (int i = 0; i < 2; i++) {
      int64_t reservation = it_hold(s, token, schedule, seats[i]);
      payers[i] =
          (struct payer){.server = s, .barrier = &barrier, .token = token};
      snprintf(payers[i].body, sizeof payers[i].body,
               "{\"reservationId\": %lld}", (long long)reservation);
    }
    for (int i = 0; i < 2; i++)
      pthread_create(&threads[i], NULL, pay, &payers[i]);
    for (int i = 0; i < 2; i++)
      pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);

    int paid = -1, wins = 0;
    for (int i = 0; i < 2; i++) {
      struct outcome *o = &payers[i].got;
      if (o->status == 201) {
        wins++;
        paid = i;
        continue;
      }
      /* Either the money ran out, or the first payment already spent the
       * token. */
      cr_assert(
          (o->status == 409 && strcmp(o->code, "INSUFFICIENT_BALANCE") == 0) ||
              (o->status == 401 && strcmp(o->code, "TOKEN_INVALID") == 0),
          "round %d: the second payment got %ld %s %s", round, o->status,
          o->code, o->error);
    }
    cr_assert_eq(wins, 1, "round %d: %d payments went through", round, wins);
    it_assert_balance(s, user, 0);
    cr_assert_eq(it_history_count(s, user), 2); /* CHARGE, USE */
    it_assert_seat(s, observer, schedule, seats[paid], "SOLD");
    it_assert_seat(s, observer, schedule, seats[1 - paid], "HELD");
    free(token);
  }
  free(observer);
  it_assert_alive(s);
}

/* ---- The waiting line --------------------------------------------------- */

enum { QUEUE_CLIENTS = 100, TOKENS_EACH = 2, ACTIVE_MAX = 5 };
#define QUEUED (QUEUE_CLIENTS * TOKENS_EACH)

struct joiner {
  const struct it_server *server;
  pthread_barrier_t *barrier;
  int64_t users[TOKENS_EACH];
  struct outcome got[TOKENS_EACH];
};

static void *join_line(void *arg) {
  struct joiner *me = arg;
  warm_up(me->server);
  pthread_barrier_wait(me->barrier);
  struct it_response r = {0};
  for (int i = 0; i < TOKENS_EACH; i++) {
    char body[48];
    snprintf(body, sizeof body, "{\"userId\": %lld}", (long long)me->users[i]);
    it_send(me->server,
            &(struct it_request){
                .method = "POST", .path = "/api/v1/queue/tokens", .body = body},
            &r);
    record(&r, "position", &me->got[i]);
  }
  it_response_free(&r);
  it_thread_done();
  return NULL;
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(races, token_burst_keeps_one_line, .timeout = 120) {
  /* Nobody's active time runs out during the test (600 s), so positions
   * handed out are final. */
  struct it_server *s =
      it_server_start(&(struct it_server_opts){.threads = SERVER_THREADS,
                                               .active_max = ACTIVE_MAX,
                                               .active_seconds = 600});
  static struct joiner joiners[QUEUE_CLIENTS];
  for (int c = 0; c < QUEUE_CLIENTS; c++)
    for (int i = 0; i < TOKENS_EACH; i++)
      joiners[c].users[i] = it_create_user(s, "fan");

  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, QUEUE_CLIENTS);
  pthread_t threads[QUEUE_CLIENTS];
  for (int c = 0; c < QUEUE_CLIENTS; c++) {
    joiners[c].server = s;
    joiners[c].barrier = &barrier;
    cr_assert_eq(pthread_create(&threads[c], NULL, join_line, &joiners[c]), 0);
  }
  for (int c = 0; c < QUEUE_CLIENTS; c++)
    pthread_join(threads[c], NULL);
  pthread_barrier_destroy(&barrier);

  static const char *tokens[QUEUED];
  static bool position_seen[QUEUED + 1];
  int active = 0, waiting = 0;
  for (int c = 0; c < QUEUE_CLIENTS; c++)
    for (int i = 0; i < TOKENS_EACH; i++) {
      struct outcome *o = &joiners[c].got[i];
      cr_assert_eq(o->status, 201, "token %d/%d: %ld %s %s", c, i, o->status,
                   o->code, o->error);
      cr_assert_geq(strlen(o->token), 22);
      tokens[c * TOKENS_EACH + i] = o->token;
      if (strcmp(o->queue_status, "ACTIVE") == 0) {
        active++;
        cr_assert_eq(o->id, 0, "an ACTIVE token has position %lld",
                     (long long)o->id);
        cr_assert(o->has_expires_at, "an ACTIVE token without expiresAt");
      } else {
        cr_assert_str_eq(o->queue_status, "WAITING");
        cr_assert(!o->has_expires_at, "a WAITING token with an expiresAt");
        waiting++;
        cr_assert(o->id >= 1 && o->id <= QUEUED - ACTIVE_MAX,
                  "WAITING position %lld outside 1..%d", (long long)o->id,
                  QUEUED - ACTIVE_MAX);
        cr_assert(!position_seen[o->id], "position %lld given twice",
                  (long long)o->id);
        position_seen[o->id] = true;
      }
    }
  cr_assert_eq(active, ACTIVE_MAX, "%d ACTIVE tokens with activeMax %d", active,
               ACTIVE_MAX);
  /* Distinct positions, all within 1..N: so exactly 1..N, no gap. */
  cr_assert_eq(waiting, QUEUED - ACTIVE_MAX);
  qsort(tokens, QUEUED, sizeof *tokens, compare_strings);
  for (int i = 1; i < QUEUED; i++)
    cr_assert_str_neq(tokens[i - 1], tokens[i], "token issued twice");

  /* The line reads back the same, and asking again keeps one's place. */
  struct it_response r = {0};
  for (int c = 0; c < QUEUE_CLIENTS; c += 7) {
    struct outcome *o = &joiners[c].got[1];
    it_call(s, &r, "GET", o->token, NULL, "/api/v1/queue/status");
    it_assert_status(&r, 200);
    cr_assert_str_eq(it_jstr(r.json, "status"), o->queue_status);
    cr_assert_eq(it_jint(r.json, "position"), o->id);
    it_call(s, &r, "POST", NULL,
            json_pack("{s:I}", "userId", (json_int_t)joiners[c].users[1]),
            "/api/v1/queue/tokens");
    it_assert_status(&r, 200);
    cr_assert_str_eq(it_jstr(r.json, "token"), o->token);
    cr_assert_eq(it_jint(r.json, "position"), o->id);
  }
  it_response_free(&r);
  it_assert_alive(s);
}

/* Admission order. With activeMax 2 and a 1 s active time the line moves
 * every second or so; the test watches it and checks every sample.
 *
 * A sample is not atomic (one request per token), so tokens are read from
 * the last in line to the first. Admission only moves forward (WAITING ->
 * ACTIVE -> gone), so if a later token is seen admitted, every earlier one
 * was admitted before that moment and must read as admitted when it is
 * read afterwards; and every earlier token read ACTIVE was also ACTIVE at
 * the moment the later one was read, so the sample's ACTIVE count never
 * exceeds what the server had at one instant. */
enum { LINE = 8, LINE_ACTIVE = 2 };
enum seen { SEEN_WAITING, SEEN_ACTIVE, SEEN_GONE };

Test(races, admission_is_first_come_first_served, .timeout = 60) {
  struct it_server *s = it_server_start(
      &(struct it_server_opts){.active_max = LINE_ACTIVE, .active_seconds = 1});
  char *tokens[LINE];
  struct it_response r = {0};
  for (int i = 0; i < LINE; i++) {
    int64_t user = it_create_user(s, "fan");
    it_call(s, &r, "POST", NULL, json_pack("{s:I}", "userId", (json_int_t)user),
            "/api/v1/queue/tokens");
    it_assert_status(&r, 201);
    tokens[i] = strdup(it_jstr(r.json, "token"));
    /* Issued one after another, well within the first second. */
    if (i < LINE_ACTIVE) {
      cr_assert_str_eq(it_jstr(r.json, "status"), "ACTIVE");
    } else {
      cr_assert_str_eq(it_jstr(r.json, "status"), "WAITING");
      cr_assert_eq(it_jint(r.json, "position"), i - LINE_ACTIVE + 1);
    }
  }

  int samples = 0;
  bool all_admitted = false;
  int64_t deadline = it_now_ms() + 20000;
  while (!all_admitted && it_now_ms() < deadline) {
    enum seen seen[LINE];
    json_int_t position[LINE];
    for (int i = LINE - 1; i >= 0; i--) {
      it_call(s, &r, "GET", tokens[i], NULL, "/api/v1/queue/status");
      if (r.status == 401) {
        it_assert_problem(&r, 401, "TOKEN_INVALID");
        seen[i] = SEEN_GONE;
        continue;
      }
      it_assert_status(&r, 200);
      const char *status = it_jstr(r.json, "status");
      seen[i] = strcmp(status, "ACTIVE") == 0 ? SEEN_ACTIVE : SEEN_WAITING;
      if (seen[i] == SEEN_WAITING)
        cr_assert_str_eq(status, "WAITING");
      position[i] = it_jint(r.json, "position");
    }
    samples++;
    int active = 0;
    all_admitted = true;
    for (int i = 0; i < LINE; i++) {
      active += seen[i] == SEEN_ACTIVE;
      all_admitted = all_admitted && seen[i] != SEEN_WAITING;
      if (seen[i] == SEEN_WAITING) {
        cr_assert_geq(position[i], 1, "sample %d: token %d WAITING at %lld",
                      samples, i, (long long)position[i]);
        continue;
      }
      for (int j = 0; j < i; j++)
        cr_assert_neq(seen[j], SEEN_WAITING,
                      "sample %d: token %d admitted while token %d, ahead of "
                      "it, still waits",
                      samples, i, j);
      if (seen[i] == SEEN_ACTIVE)
        cr_assert_eq(position[i], 0);
    }
    for (int i = 0, last = 0; i < LINE; i++)
      if (seen[i] == SEEN_WAITING) {
        cr_assert_gt(position[i], last, "sample %d: positions out of order",
                     samples);
        last = (int)position[i];
      }
    cr_assert_leq(active, LINE_ACTIVE, "sample %d: %d ACTIVE, activeMax %d",
                  samples, active, LINE_ACTIVE);
    it_sleep_ms(100);
  }
  cr_assert(all_admitted, "after %d samples (20 s) some tokens still wait",
            samples);
  it_response_free(&r);
  for (int i = 0; i < LINE; i++)
    free(tokens[i]);
  it_assert_alive(s);
}
