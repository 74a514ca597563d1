#include "support/queue_model.h"

#include "support/queue_calls.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

/* The promises of queue.h written as plainly as possible: a flat array of
 * every token ever issued, linear scans for everything. */
enum { MODEL_GONE, MODEL_WAITING, MODEL_ACTIVE, MODEL_SPENT };

struct model_token {
  struct bo_token token;
  int64_t user_id;
  int state;
  int64_t seq;
  int64_t deadline_ms;
  int64_t joined_ms, seen_ms; /* WAITING: created; last join or status */
};

struct model {
  struct model_token *tokens;
  int count;
  int64_t next_seq;
  int64_t active_max, active_ms, spent_keep_ms, idle_ms;
  int64_t admitted_total;
  int64_t *admitted_at_ms; /* admissions out of the line, for the ETA */
  int admissions;
  int64_t admitting_since_ms; /* the first admission out of the line */
  int64_t dropped_idle;   /* WAITING tokens that left for want of a status */
  int64_t kept_by_asking; /* admitted after waiting longer than idle_ms */
};

static int model_count(const struct model *m, int state) {
  int n = 0;
  for (int i = 0; i < m->count; i++)
    n += m->tokens[i].state == state;
  return n;
}

static void model_step(struct model *m, int64_t now_ms) {
  for (int i = 0; i < m->count; i++) {
    struct model_token *t = &m->tokens[i];
    if ((t->state == MODEL_ACTIVE || t->state == MODEL_SPENT) &&
        t->deadline_ms <= now_ms)
      t->state = MODEL_GONE;
  }
  for (int i = 0; i < m->count; i++) {
    struct model_token *t = &m->tokens[i];
    if (t->state == MODEL_WAITING && m->idle_ms > 0 &&
        t->seen_ms + m->idle_ms <= now_ms) {
      t->state = MODEL_GONE;
      m->dropped_idle++;
    }
  }
  while (model_count(m, MODEL_ACTIVE) < m->active_max) {
    struct model_token *first = NULL;
    for (int i = 0; i < m->count; i++)
      if (m->tokens[i].state == MODEL_WAITING &&
          (first == NULL || m->tokens[i].seq < first->seq))
        first = &m->tokens[i];
    if (first == NULL)
      break;
    first->state = MODEL_ACTIVE;
    first->deadline_ms = now_ms + m->active_ms;
    m->kept_by_asking += now_ms - first->joined_ms > m->idle_ms;
    m->admitted_total++;
    if (m->admissions == 0)
      m->admitting_since_ms = now_ms;
    m->admitted_at_ms[m->admissions++] = now_ms;
  }
}

static int64_t model_position(const struct model *m,
                              const struct model_token *t) {
  int64_t ahead = 0;
  for (int i = 0; i < m->count; i++)
    ahead += m->tokens[i].state == MODEL_WAITING && m->tokens[i].seq < t->seq;
  return ahead + 1;
}

/* queue.h: admissions out of the line in the seconds second-59..second,
 * over the part of that window since the first of them, at least 1 s. */
static int64_t model_eta(const struct model *m, int64_t position,
                         int64_t now_ms) {
  int64_t second = now_ms / 1000, n = 0;
  for (int i = 0; i < m->admissions; i++) {
    int64_t s = m->admitted_at_ms[i] / 1000;
    n += s <= second && s > second - 60;
  }
  if (n > 0) {
    int64_t window_start = (second - 59) * 1000;
    int64_t since = window_start > m->admitting_since_ms
                        ? window_start
                        : m->admitting_since_ms;
    int64_t span = now_ms - since < 1000 ? 1000 : now_ms - since;
    return (position * span + n * 1000 - 1) / (n * 1000);
  }
  int64_t worst = (position * m->active_ms + 1000 * m->active_max - 1) /
                  (1000 * m->active_max);
  return worst > 0 ? worst : 1;
}

static void model_check(const struct model *m, const struct model_token *t,
                        const struct bo_token_info *got, int64_t now_ms) {
  cr_assert(same_token(&got->token, &t->token));
  cr_assert_eq(got->user_id, t->user_id);
  switch (t->state) {
  case MODEL_WAITING: {
    int64_t position = model_position(m, t);
    assert_waiting(got, position);
    cr_assert_eq(got->estimated_wait_seconds, model_eta(m, position, now_ms),
                 "eta %lld at position %lld",
                 (long long)got->estimated_wait_seconds, (long long)position);
    break;
  }
  case MODEL_ACTIVE:
    assert_active(got, t->deadline_ms);
    break;
  case MODEL_SPENT:
    cr_assert_eq(got->state, BO_TOKEN_SPENT);
    break;
  default:
    cr_assert_fail("a gone token was described");
  }
}

static uint64_t rng_next(uint64_t *state) {
  /* xorshift64*: deterministic, so a failure replays. */
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return *state * UINT64_C(2685821657736338717);
}

/* A random token in `state`, or -1 when there is none. */
static int model_pick(const struct model *m, int state, uint64_t *seed) {
  int n = model_count(m, state);
  if (n == 0)
    return -1;
  int pick = (int)(rng_next(seed) % (uint64_t)n);
  for (int i = 0; i < m->count; i++)
    if (m->tokens[i].state == state && pick-- == 0)
      return i;
  return -1;
}

void run_against_model(const char *url, const char *suite,
                       struct model_run run) {
  struct bo_queue *queue = open_queue_at(url, run.active_max, run.active_ms,
                                         run.spent_keep_ms, run.idle_ms);
  struct model m = {.active_max = run.active_max,
                    .active_ms = run.active_ms,
                    .spent_keep_ms = run.spent_keep_ms,
                    .idle_ms = run.idle_ms};
  m.tokens = calloc((size_t)run.ops, sizeof *m.tokens);
  m.admitted_at_ms = calloc((size_t)run.ops + 1, sizeof *m.admitted_at_ms);
  cr_assert(m.tokens && m.admitted_at_ms);
  uint64_t seed = run.seed;
  int64_t now = 1700000000000;
  int64_t longest_line = 0;
  for (int op = 0; op < run.ops; op++) {
    int victim = 0;
    now += (int64_t)(rng_next(&seed) % (uint64_t)(run.max_step_ms + 1));
    /* The last third only drains the line (the memory driver's ring
     * shrinks too). */
    int draining = op >= run.ops * 2 / 3;
    uint64_t roll = rng_next(&seed) % 100;
    /* ASK is a status() of a WAITING token: what keeps a place alive. */
    enum { JOIN, STATUS, ASK, LEAVE_ANY, LEAVE_WAITING, ADMIT } action;
    if (!draining)
      action = roll < 45 || m.count == 0 ? JOIN
               : roll < 60               ? STATUS
               : roll < 70               ? ASK
               : roll < 92               ? LEAVE_ANY
                                         : ADMIT;
    else
      action = roll < 55   ? LEAVE_WAITING
               : roll < 70 ? ASK
               : roll < 85 ? STATUS
                           : ADMIT;
    if (action == LEAVE_WAITING || action == ASK) {
      /* Picked before the call: the token may time out in its step. */
      victim = model_pick(&m, MODEL_WAITING, &seed);
      if (victim < 0)
        action = ADMIT;
      else if (action == ASK)
        action = STATUS;
    } else if (action == STATUS || action == LEAVE_ANY) {
      victim = (int)(rng_next(&seed) % (uint64_t)m.count);
    }
    if (action == JOIN) {
      int64_t user = 1 + (int64_t)(rng_next(&seed) % (uint64_t)run.users);
      struct bo_token_info got;
      int created = -1;
      cr_assert_eq(queue->driver->join(queue, user, now, &got, &created),
                   BO_QUEUE_OK);
      model_step(&m, now);
      struct model_token *live = NULL;
      for (int i = 0; i < m.count; i++)
        if (m.tokens[i].user_id == user &&
            (m.tokens[i].state == MODEL_WAITING ||
             m.tokens[i].state == MODEL_ACTIVE))
          live = &m.tokens[i];
      cr_assert_eq(created, live == NULL, "op %d user %lld", op,
                   (long long)user);
      if (live == NULL) {
        live = &m.tokens[m.count++];
        *live = (struct model_token){.token = got.token,
                                     .user_id = user,
                                     .seq = m.next_seq++,
                                     .joined_ms = now};
        if (model_count(&m, MODEL_WAITING) == 0 &&
            model_count(&m, MODEL_ACTIVE) < m.active_max) {
          live->state = MODEL_ACTIVE;
          live->deadline_ms = now + run.active_ms;
          m.admitted_total++;
        } else {
          live->state = MODEL_WAITING;
        }
      }
      if (live->state == MODEL_WAITING) /* joining again is being seen */
        live->seen_ms = now;
      model_check(&m, live, &got, now);
    } else if (action == STATUS) { /* of any token ever issued */
      struct model_token *t = &m.tokens[victim];
      struct bo_token_info got;
      enum bo_queue_status st =
          queue->driver->status(queue, &t->token, now, &got);
      model_step(&m, now);
      if (t->state == MODEL_GONE)
        cr_assert_eq(st, BO_QUEUE_NOT_FOUND, "op %d", op);
      else {
        cr_assert_eq(st, BO_QUEUE_OK, "op %d state %d", op, t->state);
        if (t->state == MODEL_WAITING)
          t->seen_ms = now;
        model_check(&m, t, &got, now);
      }
    } else if (action == LEAVE_ANY || action == LEAVE_WAITING) {
      struct model_token *t = &m.tokens[victim];
      enum bo_queue_status st = queue->driver->leave(queue, &t->token, now);
      model_step(&m, now);
      if (t->state == MODEL_WAITING || t->state == MODEL_ACTIVE) {
        cr_assert_eq(st, BO_QUEUE_OK, "op %d", op);
        t->state = MODEL_SPENT;
        t->deadline_ms = now + run.spent_keep_ms;
        model_step(&m, now);
      } else {
        cr_assert_eq(st, BO_QUEUE_NOT_FOUND, "op %d state %d", op, t->state);
      }
    } else { /* admit */
      int64_t before = m.admitted_total, admitted = -1;
      cr_assert_eq(queue->driver->admit(queue, now, &admitted), BO_QUEUE_OK);
      model_step(&m, now);
      cr_assert_eq(admitted, m.admitted_total - before, "op %d", op);
    }
    struct bo_queue_stats stats = stats_of(queue);
    cr_assert_eq(stats.active, model_count(&m, MODEL_ACTIVE), "op %d", op);
    cr_assert_leq(stats.active, run.active_max);
    cr_assert_eq(stats.waiting, model_count(&m, MODEL_WAITING), "op %d", op);
    cr_assert_eq(stats.admitted_total, m.admitted_total, "op %d", op);
    /* No slot idles while someone waits. */
    cr_assert(stats.waiting == 0 || stats.active == run.active_max);
    if (stats.waiting > longest_line)
      longest_line = stats.waiting;
  }
  fprintf(stderr,
          "[%s] model seed %#llx: longest line %lld, %lld dropped "
          "idle, %lld admitted after waiting longer than idle_ms\n",
          suite, (unsigned long long)run.seed, (long long)longest_line,
          (long long)m.dropped_idle, (long long)m.kept_by_asking);
  cr_assert_gt(longest_line, run.min_longest, "the line never got long: %lld",
               (long long)longest_line);
  cr_assert_geq(m.dropped_idle, run.min_dropped_idle);
  cr_assert_geq(m.kept_by_asking, run.min_kept);
  cr_assert_eq(stats_of(queue).waiting, 0, "the line did not drain");
  free(m.tokens);
  free(m.admitted_at_ms);
  bo_queue_close(queue);
}

const struct model_run model_short_line = {
    .ops = 20000,
    .users = 60,
    .active_max = 3,
    .active_ms = 2000,
    .spent_keep_ms = 1500,
    .idle_ms = 5000,
    .max_step_ms = 120,
    .min_longest = 20,
    .min_dropped_idle = 500,
    .min_kept = 300,
    .seed = 0x9e3779b97f4a7c15u,
};

const struct model_run model_long_line = {
    .ops = 12000,
    .users = 2000,
    .active_max = 5,
    .active_ms = 3000,
    .spent_keep_ms = 4000,
    .idle_ms = 60000,
    .max_step_ms = 40,
    .min_longest = 500,
    .min_dropped_idle = 100,
    .min_kept = 50,
    .seed = 0xd1b54a32d192ed03u,
};

const struct model_run model_without_idle_timeouts = {
    .ops = 12000,
    .users = 2000,
    .active_max = 5,
    .active_ms = 3000,
    .spent_keep_ms = 4000,
    .idle_ms = 0,
    .max_step_ms = 40,
    .min_longest = 500,
    .min_dropped_idle = 0,
    .min_kept = 0,
    .seed = 0x2545f4914f6cdd1du,
};
