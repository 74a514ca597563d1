/* The waiting line: who may book now (ACTIVE), who waits (WAITING) and in
 * which order. A driver (memory*.c, redis*.c) fills in a struct
 * bo_queue_driver.
 *
 * Promises every driver keeps:
 *  - strict arrival order: tokens become ACTIVE in the order they joined;
 *  - never more than active_max tokens ACTIVE at once;
 *  - a user with a live token (WAITING or ACTIVE) who joins again gets that
 *    same token back, never a second place in line;
 *  - a token issued while there is room and nobody waits is ACTIVE at once;
 *  - an ACTIVE token whose time ran out is gone at read time (status says
 *    NOT_FOUND) whether or not admit() has run yet;
 *  - a WAITING token not asked about (status) for idle_ms leaves the line,
 *    so abandoned places do not hold it up; it then reads NOT_FOUND;
 *  - a token that left through bo_queue_leave() (its payment completed)
 *    reads SPENT for spent_keep_ms, so a payment retried with its
 *    idempotency key can still be matched to its user; SPENT is not live:
 *    it grants nothing else, and the user may join again.
 *
 * Position 1 is the next to be admitted; ACTIVE tokens have position 0.
 * estimated_wait_seconds comes from the admission rate the driver measured
 * over the last minute: admissions out of the line in the last 60 s, over
 * the part of those 60 s since the line's first admission out of the line
 * (or its draw), at least 1 s. A measured rate above the policy's
 * admit_per_minute counts as admit_per_minute (a full bucket's burst is
 * not a rate). Before anything is measured, or while the measurement is
 * thin (fewer than BO_QUEUE_ETA_MIN_SAMPLES admissions and under
 * BO_QUEUE_ETA_MIN_SPAN_MS since the span began): admit_per_minute when the
 * policy has one; else, before anything is measured, the worst case (every
 * active slot held for its full active time). Rounded up to whole seconds,
 * at least 1.
 *
 * Lines. One struct bo_queue is one line: the global line of API.md (line
 * 0) or a concert's own line (line id = concert id). Lines share only the
 * backend's connections (Redis) and never each other's locks or keys, so a
 * busy line does not slow another. A line's policy (struct bo_line_policy)
 * is set by configure() and may change at any time:
 *  - never more than policy.active_max ACTIVE;
 *  - admit_per_minute > 0: admissions out of the line are spaced by a
 *    token bucket that fills at admit_per_minute / 60 per second and holds
 *    at most one second's worth (at least 1), full when the line opens;
 *    shared by every instance (Redis);
 *  - admit_cap >= 0: nobody is admitted while active >= admit_cap (the
 *    seats left to sell times the line's factor; booking/lines.c);
 *  - paused: nobody is admitted; joins still queue;
 *  - on_sale_at_ms > 0 (the pre-queue): a join before on_sale_at_ms waits
 *    in the pre-queue, unordered (WAITING, pre_queue set, position = how
 *    many are in the pre-queue, ETA = seconds to the on-sale plus, when
 *    admit_per_minute > 0, the wait of the pre-queue's middle place at that
 *    rate). Pre-queue tokens are never dropped as idle. Once now >=
 *    on_sale_at_ms the driver draws them (memory: in the next step;
 *    Redis: in the next admit()): each gets its entry id
 *    (bo_draw_entry_id), they are sorted by bo_draw_sort() with
 *    policy.seed, and they take the front of the line in that order, seen
 *    at the draw's time, ahead of every join made after the on-sale, which
 *    join the end in arrival order. Until the draw is done the line admits
 *    nobody. A line draws once; draw_result() then returns the entry ids
 *    in drawn order. */
#ifndef BO_QUEUE_QUEUE_H
#define BO_QUEUE_QUEUE_H

#include "queue/draw.h"
#include "util/token.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BO_QUEUE_ETA_MIN_SAMPLES 20
#define BO_QUEUE_ETA_MIN_SPAN_MS 5000

enum bo_queue_status {
  BO_QUEUE_OK = 0,
  BO_QUEUE_NOT_FOUND,   /* unknown or expired token */
  BO_QUEUE_UNAVAILABLE, /* the backing store (Redis) cannot be reached */
};

enum bo_token_state { BO_TOKEN_WAITING, BO_TOKEN_ACTIVE, BO_TOKEN_SPENT };

struct bo_token_info {
  struct bo_token token;
  int64_t user_id;
  enum bo_token_state state;
  int64_t position;               /* 0 when ACTIVE */
  int64_t estimated_wait_seconds; /* 0 when ACTIVE */
  int64_t expires_at_ms;          /* end of ACTIVE time; 0 when WAITING */
  bool pre_queue;                 /* WAITING in the pre-queue (not drawn) */
  /* Set by the caller (booking/admission.c), not by the driver: the line
   * the token belongs to (0: the global line). */
  int64_t line_id;
};

struct bo_queue_stats {
  int64_t waiting; /* the pre-queue included */
  int64_t pre_queue;
  int64_t active;
  int64_t admitted_total; /* by this process since start (metrics) */
  /* Admissions out of the line in the last 60 s, by every instance, as of
   * the latest call that carried a time. */
  int64_t admitted_last_minute;
  bool drawn; /* the pre-queue was drawn (false when the line has none) */
  int64_t drawn_at_ms; /* when; 0 when not drawn */
};

/* How a line admits; see "Lines" above. */
struct bo_line_policy {
  int64_t active_max;       /* >= 1 */
  int64_t admit_per_minute; /* 0: no rate limit */
  int64_t admit_cap;        /* -1: none */
  bool paused;
  int64_t on_sale_at_ms; /* 0: no pre-queue */
  uint8_t seed[BO_DRAW_SEED_BYTES];
};

/* The draw of a line's pre-queue. */
struct bo_draw_result {
  bool drawn;
  int64_t drawn_at_ms;
  size_t count;
  /* count entry ids in drawn order; malloc'd, the caller frees. NULL when
   * count is 0. */
  uint8_t (*entry_ids)[BO_DRAW_ID_BYTES];
};

struct bo_queue_settings {
  int64_t active_max;
  int64_t active_ms;     /* how long a token stays ACTIVE */
  int64_t spent_keep_ms; /* how long a SPENT token is remembered */
  int64_t idle_ms;       /* a WAITING token unpolled this long leaves */
};

struct bo_queue;

struct bo_queue_driver {
  const char *name; /* "memory", "redis" */

  /* Gives the user a place in line, or their live token again.
   * `created` says which. */
  enum bo_queue_status (*join)(struct bo_queue *queue, int64_t user_id,
                               int64_t now_ms, struct bo_token_info *out,
                               int *created);
  /* NOT_FOUND for an unknown token or an ACTIVE one whose time ran out.
   * Asking about a WAITING token also marks it as still wanted (idle_ms). */
  enum bo_queue_status (*status)(struct bo_queue *queue,
                                 const struct bo_token *token, int64_t now_ms,
                                 struct bo_token_info *out);
  /* The token's user is done (payment completed): the token stops being
   * live, reads SPENT, and its ACTIVE slot goes to the next in line.
   * NOT_FOUND if the token is not live. */
  enum bo_queue_status (*leave)(struct bo_queue *queue,
                                const struct bo_token *token, int64_t now_ms);
  /* Drops ACTIVE tokens whose time ran out and forgets old SPENT ones, then
   * admits waiting tokens in order while there is room. Called by the
   * housekeeping thread several times a second; drivers may also admit
   * inside join/status/leave. */
  enum bo_queue_status (*admit)(struct bo_queue *queue, int64_t now_ms,
                                int64_t *admitted);
  enum bo_queue_status (*stats)(struct bo_queue *queue,
                                struct bo_queue_stats *out);
  /* Replaces the line's policy, effective at the next step. Opening a line
   * sets {settings.active_max, 0, -1, false, 0}. */
  enum bo_queue_status (*configure)(struct bo_queue *queue,
                                    const struct bo_line_policy *policy);
  /* drawn false (and nothing allocated) until the pre-queue is drawn. */
  enum bo_queue_status (*draw_result)(struct bo_queue *queue,
                                      struct bo_draw_result *out);
  enum bo_queue_status (*ping)(struct bo_queue *queue);
  void (*close)(struct bo_queue *queue);
};

struct bo_queue {
  const struct bo_queue_driver *driver;
  void *impl;
  /* bo_queue_open()'s private backend, closed by bo_queue_close(); NULL
   * for a line opened with bo_queue_open_line(). */
  struct bo_queue_backend *owned_backend;
};

/* What a process's lines share: nothing for "memory"; for Redis, the
 * per-thread connections and loaded scripts. Named by a BOXOFFICE_QUEUE
 * value ("memory" or "redis://HOST:PORT[/DB]"). On failure returns NULL and
 * writes a reason into `error`. Close it after every line opened on it. */
struct bo_queue_backend;
struct bo_queue_backend *bo_queue_backend_open(const char *url, char *error,
                                               size_t error_size);
void bo_queue_backend_close(struct bo_queue_backend *backend);

/* Opens line `line_id` (0: the global line; else a concert id) on the
 * backend. Redis keys: "bo:{q}:" for line 0 (as before lines existed),
 * "bo:{qL}:" for line L. Close it with bo_queue_close(). */
struct bo_queue *bo_queue_open_line(struct bo_queue_backend *backend,
                                    int64_t line_id,
                                    const struct bo_queue_settings *settings,
                                    char *error, size_t error_size);

/* The global line on a backend of its own, closed with it: for tests and
 * tools that need one line. */
struct bo_queue *bo_queue_open(const char *url,
                               const struct bo_queue_settings *settings,
                               char *error, size_t error_size);
void bo_queue_close(struct bo_queue *queue);

#endif
