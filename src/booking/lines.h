/* Waiting lines (docs/queue.md): the global line of API.md (line 0) and
 * each concert's own line (line id = the concert's id), created with the
 * concert. The registry opens a line's queue on first use, keeps each
 * line's stored settings and its concert's inventory, and turns both into
 * the queue's policy (queue/queue.h, struct bo_line_policy):
 *  - active_max, admit_per_minute, paused and the on-sale time as stored
 *    (an operator changes them live; every instance re-reads them within
 *    BO_LINES_REREAD_MS);
 *  - admit_cap = seats left to sell (neither sold nor held) times the
 *    line's inventory factor, counted at most BO_LINES_RECOUNT_MS ago, and
 *    at once after this instance's own sales;
 *  - a concert line whose upcoming seats are all sold (none available and
 *    none held) is sold out: waiting tokens read SOLD_OUT and new tokens
 *    are refused (409 SOLD_OUT).
 * Tokens are scoped: a concert with a line of its own is booked only with
 * that line's tokens; every other concert with the global line's.
 * One registry per process (app->lines); thread-safe. */
#ifndef BO_BOOKING_LINES_H
#define BO_BOOKING_LINES_H

#include "app.h"
#include "errors.h"

#include <stdbool.h>
#include <stddef.h>

#define BO_LINES_REREAD_MS 1000
#define BO_LINES_RECOUNT_MS 250
/* A line nobody asked about this long is not recounted (lines.c). */
#define BO_LINES_IDLE_MS 10000

/* What an operator may set on a line (admin API). The factor is in
 * hundredths: 100 = one admission per seat left. */
#define BO_LINE_ACTIVE_MAX_MAX 1000000
#define BO_LINE_ADMIT_PER_MINUTE_MAX 1000000000
#define BO_LINE_FACTOR_MIN_PCT 1     /* 0.01 */
#define BO_LINE_FACTOR_MAX_PCT 10000 /* 100 */
#define BO_LINE_FACTOR_DEFAULT_PCT 100

/* What the registry knows of a line, copied out. */
struct bo_line_view {
  int64_t line_id;
  /* As stored; for the global line without a row, the process settings. */
  struct bo_line_row row;
  int64_t active_max; /* row.active_max, or the process default for 0 */
  struct bo_inventory inventory; /* concert lines: as last counted */
  int64_t seats_left;            /* inventory.available; -1: not counted */
  bool sold_out;
  struct bo_queue *queue; /* the line's queue; lives as long as the app */
};

/* Opens the queue backend named by BOXOFFICE_QUEUE and the global line on
 * it; NULL with a reason in `error`. */
struct bo_lines *bo_lines_open(struct bo_app *app,
                               const struct bo_queue_settings *settings,
                               char *error, size_t error_size);
/* The global line's queue (what app->queue points at). */
struct bo_queue *bo_lines_global(struct bo_lines *lines);
/* Closes every line and the backend. No call may run. */
void bo_lines_close(struct bo_lines *lines);

/* The line a token for this concert joins: its own line if it has one,
 * else the global line (0). NOT_FOUND for an unknown concert. */
enum bo_error bo_lines_of_concert(struct bo_app *app, int64_t concert_id,
                                  int64_t *line_id);
/* The same for a schedule's concert. NOT_FOUND for an unknown schedule. */
enum bo_error bo_lines_of_schedule(struct bo_app *app, int64_t schedule_id,
                                   int64_t *line_id);

/* Opens (on first use) and describes a line. NOT_FOUND unless line_id is
 * 0 or a concert with a line of its own. */
enum bo_error bo_lines_get(struct bo_app *app, int64_t line_id,
                           struct bo_line_view *out);

/* The global line and every stored line, by id; *out is malloc'd. */
enum bo_error bo_lines_list(struct bo_app *app, struct bo_line_view **out,
                            size_t *count);

/* An operator's change: stored, then applied on this instance at once
 * (other instances within BO_LINES_REREAD_MS). NOT_FOUND as bo_lines_get. */
enum bo_error bo_lines_change(struct bo_app *app, int64_t line_id,
                              const struct bo_line_change *change);

/* Housekeeping, every tick: re-reads stored settings and recounts
 * inventories when due, pushes each open line's policy, and runs admit()
 * on it. */
void bo_lines_tick(struct bo_app *app, int64_t now_ms);

/* The line's seats changed here (a sale): recount now, so a sell-out
 * shows at once. */
void bo_lines_recount(struct bo_app *app, int64_t line_id);

#endif
