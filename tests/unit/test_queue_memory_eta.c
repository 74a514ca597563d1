/* Is the memory queue's estimated wait honest? The issue asks for "a test
 * that runs a line at a known rate shows the estimate within 20% of the
 * real wait for at least 90% of users". A fake clock drives a line at
 * admit_per_minute = 600 with slots to spare (so the rate alone paces it),
 * the housekeeping admit() every 100 ms, every waiting user asking about
 * their token every second, and records for each user the estimate it was
 * given and the wait it really had. Users who went straight in were told
 * nothing and waited nothing; they are counted apart, not as successes.
 *
 * The real admission time is exact: every call is on a 50 ms grid, every
 * admission happens in a call, and after each tick the test reads the
 * front of the line until it finds someone still WAITING. The front is
 * known: the drawn pre-queue in draw_result()'s order, then the others in
 * join order (the order itself is checked in test_queue_memory.c and
 * test_queue_memory_draw.c). */
#include "queue/queue.h"
#include "support/queue_calls.h"

#include <criterion/criterion.h>
#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 INT64_C(1700000000000)
#define TICK_MS 50
#define RATE 600 /* admissions per minute */
#define TOLERANCE 0.20
#define MIN_SHARE 0.90

enum user_kind { ARRIVAL, PRE_QUEUED };

struct user {
  struct bo_token token;
  enum user_kind kind;
  int64_t joined_ms;
  int64_t admitted_ms; /* -1 until admitted */
  bool straight_in;
  /* The estimate judged: at the join, or for the pre-queue at the first
   * question after the draw (at the join they are told the time to the
   * on-sale, which is not a wait in line). */
  int64_t estimate_s;
  int64_t estimate_at_ms; /* -1: none yet */
};

struct poll {
  int user;
  int64_t at_ms;
  int64_t estimate_s;
};

struct run {
  struct bo_queue *queue;
  struct user *users;
  int count;  /* users[0..count) will join */
  int joined; /* users[0..joined) have joined */
  /* Users in the order they will be admitted, as far as known: order[0..
   * front) are admitted, order[front..ordered) wait. */
  int *order;
  int ordered, front;
  bool draw_seen;
  struct poll *polls;
  size_t npolls, polls_cap;
};

struct scenario {
  const char *name;
  int pre_queued;         /* joining before the on-sale, evenly */
  int64_t pre_queue_ms;   /* over this long before it */
  int arrivals;           /* joining after it (or from the start) */
  int64_t arrival_gap_ms; /* one every this many ms */
  int64_t on_sale_at_ms;  /* 0: no pre-queue */
};

struct figures {
  /* straight_in: admitted before being told any wait in line (at the join,
   * or for the pre-queue before their first question after the draw). */
  int waited, straight_in, within;
  double median_error, p90_error;
  size_t polls, polls_within;
};

static struct bo_queue *open_line(const struct scenario *s) {
  struct bo_queue *queue =
      open_queue_at("memory", 100000, INT64_C(3600000), 1000, 60000);
  struct bo_line_policy policy = {.active_max = 100000,
                                  .admit_per_minute = RATE,
                                  .admit_cap = -1,
                                  .on_sale_at_ms = s->on_sale_at_ms};
  memset(policy.seed, 0x5a, sizeof policy.seed);
  configure(queue, &policy);
  return queue;
}

static void record_poll(struct run *r, int user, int64_t now,
                        int64_t estimate) {
  if (r->npolls == r->polls_cap) {
    r->polls_cap = r->polls_cap ? r->polls_cap * 2 : 4096;
    r->polls = realloc(r->polls, r->polls_cap * sizeof *r->polls);
    cr_assert_not_null(r->polls);
  }
  r->polls[r->npolls++] = (struct poll){user, now, estimate};
}

/* Once the line has drawn, its pre-queue goes to the front of `order`, in
 * drawn order: each entry id is matched to the user whose token it
 * hashes. */
static void note_draw(struct run *r) {
  struct bo_queue_stats stats = stats_of(r->queue);
  if (r->draw_seen || !stats.drawn)
    return;
  r->draw_seen = true;
  struct bo_draw_result draw = draw_result_of(r->queue);
  for (size_t k = 0; k < draw.count; k++) {
    int match = -1;
    for (int i = 0; i < r->joined && match < 0; i++) {
      uint8_t id[crypto_hash_sha256_BYTES];
      crypto_hash_sha256(id, r->users[i].token.bytes, BO_TOKEN_BYTES);
      if (r->users[i].kind == PRE_QUEUED &&
          memcmp(id, draw.entry_ids[k], 32) == 0)
        match = i;
    }
    cr_assert_geq(match, 0, "drawn entry %zu matches nobody", k);
    r->order[r->ordered++] = match;
  }
  free(draw.entry_ids);
}

static void join_user(struct run *r, int i, enum user_kind kind, int64_t now) {
  struct bo_token_info info;
  int created = 0;
  cr_assert_eq(r->queue->driver->join(r->queue, 1000 + i, now, &info, &created),
               BO_QUEUE_OK);
  cr_assert(created);
  struct user *u = &r->users[i];
  *u = (struct user){.token = info.token,
                     .kind = kind,
                     .joined_ms = now,
                     .admitted_ms = -1,
                     .estimate_at_ms = -1};
  cr_assert_eq(info.pre_queue, kind == PRE_QUEUED);
  r->joined++;
  if (kind == ARRIVAL) { /* behind the drawn, if this join drew them */
    note_draw(r);
    r->order[r->ordered++] = i;
  }
  if (info.state == BO_TOKEN_ACTIVE) {
    u->admitted_ms = now;
    u->straight_in = true;
  } else if (kind == ARRIVAL) {
    u->estimate_s = info.estimated_wait_seconds;
    u->estimate_at_ms = now;
  }
}

/* Every waiting user asks once a second, counted from their join. */
static void poll_users(struct run *r, int64_t now) {
  for (int i = 0; i < r->joined; i++) {
    struct user *u = &r->users[i];
    if (u->admitted_ms >= 0 || now == u->joined_ms ||
        (now - u->joined_ms) % 1000 != 0)
      continue;
    struct bo_token_info info;
    cr_assert_eq(r->queue->driver->status(r->queue, &u->token, now, &info),
                 BO_QUEUE_OK, "user %d lost its place", i);
    if (info.state != BO_TOKEN_WAITING || info.pre_queue)
      continue;
    record_poll(r, i, now, info.estimated_wait_seconds);
    if (u->estimate_at_ms < 0) { /* pre-queued: first answer after the draw */
      u->estimate_s = info.estimated_wait_seconds;
      u->estimate_at_ms = now;
    }
  }
}

/* Reads the front of the line until someone still waits. */
static void note_admissions(struct run *r, int64_t now) {
  note_draw(r);
  while (r->front < r->ordered) {
    struct user *u = &r->users[r->order[r->front]];
    if (u->admitted_ms < 0) {
      if (status_of(r->queue, &u->token, now).state != BO_TOKEN_ACTIVE)
        return;
      u->admitted_ms = now;
    }
    r->front++;
  }
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static bool within(double estimate_s, double real_s) {
  return fabs(estimate_s - real_s) <= TOLERANCE * real_s;
}

static struct figures judge(const struct run *r, enum user_kind kind) {
  struct figures f = {0};
  double *errors = calloc((size_t)r->count + 1, sizeof *errors);
  cr_assert_not_null(errors);
  for (int i = 0; i < r->count; i++) {
    const struct user *u = &r->users[i];
    if (u->kind != kind)
      continue;
    if (u->straight_in || (kind == PRE_QUEUED && u->estimate_at_ms < 0)) {
      f.straight_in++;
      continue;
    }
    cr_assert_geq(u->estimate_at_ms, 0, "user %d was never told a wait", i);
    double real = (double)(u->admitted_ms - u->estimate_at_ms) / 1000.0;
    errors[f.waited++] = fabs((double)u->estimate_s - real) / real;
    f.within += within((double)u->estimate_s, real);
  }
  qsort(errors, (size_t)f.waited, sizeof *errors, compare_doubles);
  if (f.waited > 0) {
    f.median_error = errors[f.waited / 2];
    f.p90_error = errors[f.waited * 9 / 10];
  }
  for (size_t k = 0; k < r->npolls; k++) {
    const struct poll *p = &r->polls[k];
    if (r->users[p->user].kind != kind)
      continue;
    double real = (double)(r->users[p->user].admitted_ms - p->at_ms) / 1000.0;
    f.polls++;
    /* At a poll the wait left can be under a second, and an estimate is
     * whole seconds: within 20% or within the rounding. */
    f.polls_within += within((double)p->estimate_s, real) ||
                      fabs((double)p->estimate_s - real) <= 1.0;
  }
  free(errors);
  return f;
}

static void report(const char *scenario, const char *who,
                   const struct figures *f) {
  fprintf(stderr,
          "[queue_memory_eta] %s, %s: %d waited (%d went straight in); "
          "estimate within 20%% of the real wait for %d = %.1f%%; relative "
          "error median %.1f%%, 90th percentile %.1f%%; at later polls %zu "
          "of %zu = %.1f%% within 20%% or 1 s\n",
          scenario, who, f->waited, f->straight_in, f->within,
          100.0 * f->within / (f->waited ? f->waited : 1),
          100.0 * f->median_error, 100.0 * f->p90_error, f->polls_within,
          f->polls,
          100.0 * (double)f->polls_within / (double)(f->polls ? f->polls : 1));
}

static void run_scenario(const struct scenario *s, struct run *r) {
  r->count = s->pre_queued + s->arrivals;
  r->users = calloc((size_t)r->count, sizeof *r->users);
  r->order = calloc((size_t)r->count, sizeof *r->order);
  cr_assert(r->users && r->order);
  cr_assert_geq(sodium_init(), 0);
  r->queue = open_line(s);
  int64_t first_arrival = s->on_sale_at_ms ? s->on_sale_at_ms : T0;
  int64_t pre_gap = s->pre_queued ? s->pre_queue_ms / s->pre_queued : 0;
  for (int64_t now = T0; r->front < r->count; now += TICK_MS) {
    cr_assert_lt(now, T0 + INT64_C(3600000), "the line never drained");
    /* Joins on the grid: the pre-queue over the time before the on-sale,
     * then the arrivals. */
    while (r->joined < s->pre_queued &&
           T0 + r->joined * pre_gap / TICK_MS * TICK_MS <= now) {
      join_user(r, r->joined, PRE_QUEUED, now);
    }
    while (r->joined >= s->pre_queued && r->joined < r->count &&
           first_arrival + (r->joined - s->pre_queued) * s->arrival_gap_ms <=
               now) {
      join_user(r, r->joined, ARRIVAL, now);
    }
    if (now % 100 == 0) {
      int64_t admitted = 0;
      cr_assert_eq(r->queue->driver->admit(r->queue, now, &admitted),
                   BO_QUEUE_OK);
    }
    poll_users(r, now);
    note_admissions(r, now);
  }
}

static void end_run(struct run *r) {
  bo_queue_close(r->queue);
  free(r->users);
  free(r->order);
  free(r->polls);
}

/* 20 arrivals a second for a minute at 10 admissions a second: the line
 * grows to about 600 and then drains. */
Test(queue_memory_eta, estimate_within_20_percent_for_90_percent,
     .timeout = 120) {
  struct scenario s = {
      .name = "growing line", .arrivals = 1200, .arrival_gap_ms = 50};
  struct run r = {0};
  run_scenario(&s, &r);
  struct figures f = judge(&r, ARRIVAL);
  report(s.name, "arrivals (estimate at join)", &f);
  cr_assert_geq(f.waited, 1100, "the line did not form: %d waited", f.waited);
  cr_assert_geq((double)f.within, MIN_SHARE * f.waited, "%d of %d within 20%%",
                f.within, f.waited);
  cr_assert_geq((double)f.polls_within, MIN_SHARE * (double)f.polls);
  end_run(&r);
}

/* 2,000 join the pre-queue in the minute before the on-sale; then 10 a
 * second arrive for a minute, behind them. */
Test(queue_memory_eta, estimate_after_a_draw_of_2000, .timeout = 120) {
  struct scenario s = {.name = "pre-queue of 2000",
                       .pre_queued = 2000,
                       .pre_queue_ms = 60000,
                       .arrivals = 600,
                       .arrival_gap_ms = 100,
                       .on_sale_at_ms = T0 + 60000};
  struct run r = {0};
  run_scenario(&s, &r);
  struct figures pre = judge(&r, PRE_QUEUED);
  struct figures late = judge(&r, ARRIVAL);
  report(s.name, "drawn (estimate at the first poll after the draw)", &pre);
  report(s.name, "arrivals after the on-sale (estimate at join)", &late);
  cr_assert_eq(pre.waited + pre.straight_in, 2000);
  cr_assert_geq((double)pre.within, MIN_SHARE * pre.waited,
                "%d of %d drawn within 20%%", pre.within, pre.waited);
  cr_assert_geq((double)late.within, MIN_SHARE * late.waited,
                "%d of %d arrivals within 20%%", late.within, late.waited);
  end_run(&r);
}
