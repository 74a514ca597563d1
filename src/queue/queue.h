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
 * over the last minute; before it has measured any, from the worst case
 * (every active slot held for its full active time). */
#ifndef BO_QUEUE_QUEUE_H
#define BO_QUEUE_QUEUE_H

#include "util/token.h"

#include <stddef.h>
#include <stdint.h>

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
};

struct bo_queue_stats {
  int64_t waiting;
  int64_t active;
  int64_t admitted_total; /* since start, for the admission-rate metric */
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
  enum bo_queue_status (*ping)(struct bo_queue *queue);
  void (*close)(struct bo_queue *queue);
};

struct bo_queue {
  const struct bo_queue_driver *driver;
  void *impl;
};

/* Opens the queue named by a BOXOFFICE_QUEUE value ("memory" or
 * "redis://HOST:PORT[/DB]").
 * On failure returns NULL and writes a reason into `error`. */
struct bo_queue *bo_queue_open(const char *url,
                               const struct bo_queue_settings *settings,
                               char *error, size_t error_size);
void bo_queue_close(struct bo_queue *queue);

#endif
