/* The one object every handler and rule receives. main.c builds it once;
 * nothing in it changes after start-up except through the thread-safe
 * objects it points to (store, queue, metrics, rate limits). No mutable
 * globals. */
#ifndef BO_APP_H
#define BO_APP_H

#include "config.h"
#include "metrics.h"
#include "queue/queue.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/ratelimit.h"

struct bo_seat_snapshots; /* booking/seat_snapshots.h */
struct bo_lines;          /* booking/lines.h */

struct bo_app {
  struct bo_settings settings;
  struct bo_clock clock;
  struct bo_store *store;
  /* The global line (API.md's one line); concert lines are in `lines`. */
  struct bo_queue *queue;
  struct bo_lines *lines;
  struct bo_metrics *metrics;
  /* Token buckets (src/api/queue.c); NULL when the rate setting is 0. */
  struct bo_ratelimit *poll_limit;  /* GET /queue/status, per token */
  struct bo_ratelimit *issue_limit; /* POST /queue/tokens, per address */
  /* Seat maps as last served (booking/seat_snapshots.h); NULL: off. */
  struct bo_seat_snapshots *seat_snapshots;
};

#endif
