/* The line registry (lines.h).
 *
 * Slots. One slot per line id this process has heard of: the global line
 * (slot for id 0, always there) and every concert asked about, whether it
 * has a line of its own or is booked with the global line (own_line
 * false). A concert gets its line in the transaction that creates it, so
 * "no line of its own" never changes and is cached for good; an unknown
 * concert id is not cached (it may be created later). Slots are allocated
 * one by one and never move or go away before bo_lines_close(), so a slot
 * pointer (and its queue) stays valid without the registry lock.
 *
 * Locks. `lock` (rwlock) guards the slot array and the schedule map; each
 * slot's mutex guards its row and inventory. Neither is held across a
 * store call or a queue call that may block on the network: the tick
 * copies what it needs, calls, then stores the result. The one exception
 * is opening a line's queue (slot_open), done under the write lock so that
 * two threads never open one line twice; opening and configuring a line
 * are local in both drivers (no round trip).
 *
 * Idle lines. A line nobody asked about for BO_LINES_IDLE_MS (no join, no
 * status, no stream check, no view) is not recounted: nobody waits on its
 * cap or its sold-out state, and a waiting user who stopped asking is
 * dropped as idle anyway. Its queue still gets admit() every tick (cheap,
 * and it keeps run-out tokens from holding slots). The first request after
 * that recounts it before it is answered.
 *
 * Schedules. Booking calls name a schedule; which line books it is the
 * line of its concert. schedule -> concert never changes, so it is cached
 * for good too (a sorted array; one entry per schedule asked about). */
#include "booking/lines.h"

#include "booking/outcome.h"
#include "util/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bo_line_slot {
  int64_t line_id;
  bool own_line; /* false: a concert booked with the global line */
  pthread_mutex_t lock;
  struct bo_line_row row;     /* guarded by lock */
  struct bo_inventory inv;    /* guarded by lock */
  bool counted;               /* guarded by lock: inv was read at least once */
  int64_t counted_at_ms;      /* guarded by lock */
  _Atomic int64_t used_at_ms; /* the latest bo_lines_get() of it */
  /* NULL until first used; set once, under the registry's write lock.
   * Atomic because it is read without that lock (slot_queue()). */
  _Atomic(struct bo_queue *) queue;
};

struct bo_schedule_concert {
  int64_t schedule_id;
  int64_t concert_id;
};

struct bo_lines {
  struct bo_app *app;
  struct bo_queue_backend *backend;
  struct bo_queue_settings settings;
  pthread_rwlock_t lock;
  struct bo_line_slot **slots; /* sorted by line_id */
  size_t count, cap;
  struct bo_schedule_concert *schedules; /* sorted by schedule_id */
  size_t schedule_count, schedule_cap;
  /* Touched only by the housekeeping thread (bo_lines_tick). */
  int64_t reread_at_ms;
};

/* ---- slots ---------------------------------------------------------- */

/* Index of the first slot with id >= line_id. Registry lock held. */
static size_t slot_lower_bound(const struct bo_lines *lines, int64_t line_id) {
  size_t lo = 0, hi = lines->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (lines->slots[mid]->line_id < line_id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static struct bo_line_slot *slot_find(struct bo_lines *lines, int64_t line_id) {
  pthread_rwlock_rdlock(&lines->lock);
  size_t at = slot_lower_bound(lines, line_id);
  struct bo_line_slot *slot =
      at < lines->count && lines->slots[at]->line_id == line_id
          ? lines->slots[at]
          : NULL;
  pthread_rwlock_unlock(&lines->lock);
  return slot;
}

/* Doubles the slot array; false (nothing changed) when memory ran out.
 * Registry write lock held. */
static bool slots_grow(struct bo_lines *lines) {
  size_t cap = lines->cap ? 2 * lines->cap : 16;
  struct bo_line_slot **grown = realloc(lines->slots, cap * sizeof *grown);
  if (grown == NULL)
    return false;
  lines->slots = grown;
  lines->cap = cap;
  return true;
}

/* Adds a slot unless one is there (another thread's); returns the one in
 * the registry, or NULL when memory ran out. */
static struct bo_line_slot *slot_add(struct bo_lines *lines, int64_t line_id,
                                     bool own_line,
                                     const struct bo_line_row *row) {
  struct bo_line_slot *fresh = calloc(1, sizeof *fresh);
  if (fresh == NULL)
    return NULL;
  fresh->line_id = line_id;
  fresh->own_line = own_line;
  pthread_mutex_init(&fresh->lock, NULL);
  if (row != NULL)
    fresh->row = *row;
  fresh->row.line_id = line_id;
  pthread_rwlock_wrlock(&lines->lock);
  size_t at = slot_lower_bound(lines, line_id);
  struct bo_line_slot *slot = NULL;
  if (at < lines->count && lines->slots[at]->line_id == line_id) {
    slot = lines->slots[at];
  } else if (lines->count < lines->cap || slots_grow(lines)) {
    memmove(&lines->slots[at + 1], &lines->slots[at],
            (lines->count - at) * sizeof *lines->slots);
    lines->slots[at] = fresh;
    lines->count++;
    slot = fresh;
    fresh = NULL;
  }
  pthread_rwlock_unlock(&lines->lock);
  if (fresh != NULL) {
    pthread_mutex_destroy(&fresh->lock);
    free(fresh);
  }
  return slot;
}

static struct bo_queue *slot_queue(struct bo_line_slot *slot) {
  return atomic_load(&slot->queue);
}

/* ---- the store ------------------------------------------------------ */

struct find_ctx {
  int64_t concert_id;
  int64_t now_ms;
  bool own_line;
  struct bo_line_row row;
  struct bo_inventory inv;
  int64_t schedule_id;
  struct bo_schedule schedule;
  struct bo_line_row_list rows;
  int64_t line_id;
  const struct bo_line_change *change;
};

/* A concert's line, or that it is booked with the global line. */
static enum bo_store_status find_concert_tx(struct bo_store_tx *tx, void *arg) {
  struct find_ctx *ctx = arg;
  enum bo_store_status st =
      bo_store_op(tx)->line_get(tx, ctx->concert_id, &ctx->row);
  ctx->own_line = st == BO_STORE_OK;
  if (st != BO_STORE_NOT_FOUND)
    return st;
  struct bo_concert concert;
  return bo_store_op(tx)->concert_get(tx, ctx->concert_id, &concert);
}

static enum bo_store_status count_tx(struct bo_store_tx *tx, void *arg) {
  struct find_ctx *ctx = arg;
  return bo_store_op(tx)->concert_inventory(tx, ctx->concert_id, ctx->now_ms,
                                            &ctx->inv);
}

static enum bo_store_status schedule_tx(struct bo_store_tx *tx, void *arg) {
  struct find_ctx *ctx = arg;
  return bo_store_op(tx)->schedule_get(tx, ctx->schedule_id, ctx->now_ms,
                                       &ctx->schedule);
}

static enum bo_store_status list_tx(struct bo_store_tx *tx, void *arg) {
  struct find_ctx *ctx = arg;
  return bo_store_op(tx)->line_list(tx, &ctx->rows);
}

static enum bo_store_status change_tx(struct bo_store_tx *tx, void *arg) {
  struct find_ctx *ctx = arg;
  return bo_store_op(tx)->line_update(tx, ctx->line_id, ctx->change,
                                      ctx->now_ms);
}

/* ---- policy --------------------------------------------------------- */

static int64_t slot_active_max(const struct bo_lines *lines,
                               const struct bo_line_row *row) {
  return row->active_max > 0 ? row->active_max : lines->settings.active_max;
}

static bool slot_sold_out(const struct bo_line_slot *slot) {
  return slot->line_id != 0 && slot->counted && slot->inv.available == 0 &&
         slot->inv.held == 0;
}

/* The queue's policy from a slot's row and inventory. Slot lock held. */
static struct bo_line_policy slot_policy(const struct bo_lines *lines,
                                         const struct bo_line_slot *slot) {
  struct bo_line_policy policy = {
      .active_max = slot_active_max(lines, &slot->row),
      .admit_per_minute = slot->row.admit_per_minute,
      .admit_cap = -1,
      .paused = slot->row.paused,
      .on_sale_at_ms = slot->row.on_sale_at_ms,
  };
  memcpy(policy.seed, slot->row.seed, sizeof policy.seed);
  if (slot->line_id != 0 && slot->row.inventory_factor_pct > 0 && slot->counted)
    policy.admit_cap =
        slot->inv.available * slot->row.inventory_factor_pct / 100;
  return policy;
}

static void slot_push_policy(struct bo_lines *lines,
                             struct bo_line_slot *slot) {
  struct bo_queue *queue = slot_queue(slot);
  if (queue == NULL)
    return;
  pthread_mutex_lock(&slot->lock);
  struct bo_line_policy policy = slot_policy(lines, slot);
  pthread_mutex_unlock(&slot->lock);
  if (queue->driver->configure(queue, &policy) != BO_QUEUE_OK)
    bo_log_warn("msg=\"line policy not applied\" line=%lld",
                (long long)slot->line_id);
}

/* Reads the concert's seats now and stores the count in the slot. */
static void slot_recount(struct bo_lines *lines, struct bo_line_slot *slot,
                         int64_t now_ms) {
  if (slot->line_id == 0)
    return;
  struct find_ctx ctx = {.concert_id = slot->line_id, .now_ms = now_ms};
  if (bo_store_transaction(lines->app->store, false, count_tx, &ctx) !=
      BO_STORE_OK) {
    bo_log_warn("msg=\"line inventory not counted\" line=%lld",
                (long long)slot->line_id);
    return;
  }
  pthread_mutex_lock(&slot->lock);
  slot->inv = ctx.inv;
  slot->counted = true;
  slot->counted_at_ms = now_ms;
  pthread_mutex_unlock(&slot->lock);
}

/* Opens the slot's queue on first use: counted and configured before any
 * call can reach it, so the cap holds from the first join. */
static enum bo_error slot_open(struct bo_lines *lines,
                               struct bo_line_slot *slot) {
  if (slot_queue(slot) != NULL)
    return BO_OK;
  int64_t now_ms = bo_clock_now_ms(&lines->app->clock);
  slot_recount(lines, slot, now_ms);
  atomic_store(&slot->used_at_ms, now_ms);
  pthread_rwlock_wrlock(&lines->lock);
  enum bo_error err = BO_OK;
  if (slot_queue(slot) == NULL) {
    char error[256];
    struct bo_queue *queue = bo_queue_open_line(
        lines->backend, slot->line_id, &lines->settings, error, sizeof error);
    if (queue == NULL) {
      bo_log_error("msg=\"line not opened\" line=%lld reason=\"%s\"",
                   (long long)slot->line_id, error);
      err = BO_ERR_UNAVAILABLE;
    } else {
      pthread_mutex_lock(&slot->lock);
      struct bo_line_policy policy = slot_policy(lines, slot);
      pthread_mutex_unlock(&slot->lock);
      queue->driver->configure(queue, &policy);
      atomic_store(&slot->queue, queue);
    }
  }
  pthread_rwlock_unlock(&lines->lock);
  return err;
}

/* ---- lookups -------------------------------------------------------- */

/* The slot of a concert (own line or not), read from the store on a
 * miss. */
static enum bo_error concert_slot(struct bo_app *app, int64_t concert_id,
                                  struct bo_line_slot **out) {
  struct bo_lines *lines = app->lines;
  struct bo_line_slot *slot = slot_find(lines, concert_id);
  if (slot == NULL) {
    struct find_ctx ctx = {.concert_id = concert_id};
    enum bo_error err = bo_outcome(
        bo_store_transaction(app->store, false, find_concert_tx, &ctx),
        BO_ERR_NOT_FOUND);
    if (err)
      return err;
    slot = slot_add(lines, concert_id, ctx.own_line,
                    ctx.own_line ? &ctx.row : NULL);
    if (slot == NULL)
      return BO_ERR_INTERNAL;
  }
  *out = slot;
  return BO_OK;
}

enum bo_error bo_lines_of_concert(struct bo_app *app, int64_t concert_id,
                                  int64_t *line_id) {
  struct bo_line_slot *slot = NULL;
  enum bo_error err = concert_slot(app, concert_id, &slot);
  if (!err)
    *line_id = slot->own_line ? concert_id : 0;
  return err;
}

static size_t schedule_lower_bound(const struct bo_lines *lines,
                                   int64_t schedule_id) {
  size_t lo = 0, hi = lines->schedule_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (lines->schedules[mid].schedule_id < schedule_id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static void schedule_remember(struct bo_lines *lines, int64_t schedule_id,
                              int64_t concert_id) {
  pthread_rwlock_wrlock(&lines->lock);
  size_t at = schedule_lower_bound(lines, schedule_id);
  bool known = at < lines->schedule_count &&
               lines->schedules[at].schedule_id == schedule_id;
  if (!known && lines->schedule_count == lines->schedule_cap) {
    size_t cap = lines->schedule_cap ? 2 * lines->schedule_cap : 64;
    struct bo_schedule_concert *grown =
        realloc(lines->schedules, cap * sizeof *grown);
    if (grown != NULL) {
      lines->schedules = grown;
      lines->schedule_cap = cap;
    }
  }
  /* Out of memory: not cached, asked of the store again next time. */
  if (!known && lines->schedule_count < lines->schedule_cap) {
    memmove(&lines->schedules[at + 1], &lines->schedules[at],
            (lines->schedule_count - at) * sizeof *lines->schedules);
    lines->schedules[at] =
        (struct bo_schedule_concert){schedule_id, concert_id};
    lines->schedule_count++;
  }
  pthread_rwlock_unlock(&lines->lock);
}

enum bo_error bo_lines_of_schedule(struct bo_app *app, int64_t schedule_id,
                                   int64_t *line_id) {
  struct bo_lines *lines = app->lines;
  pthread_rwlock_rdlock(&lines->lock);
  size_t at = schedule_lower_bound(lines, schedule_id);
  int64_t concert_id = at < lines->schedule_count &&
                               lines->schedules[at].schedule_id == schedule_id
                           ? lines->schedules[at].concert_id
                           : 0;
  pthread_rwlock_unlock(&lines->lock);
  if (concert_id == 0) {
    struct find_ctx ctx = {.schedule_id = schedule_id,
                           .now_ms = bo_clock_now_ms(&app->clock)};
    enum bo_error err =
        bo_outcome(bo_store_transaction(app->store, false, schedule_tx, &ctx),
                   BO_ERR_NOT_FOUND);
    if (err)
      return err;
    concert_id = ctx.schedule.concert_id;
    schedule_remember(lines, schedule_id, concert_id);
  }
  return bo_lines_of_concert(app, concert_id, line_id);
}

static void slot_view(const struct bo_lines *lines, struct bo_line_slot *slot,
                      struct bo_line_view *out) {
  pthread_mutex_lock(&slot->lock);
  *out = (struct bo_line_view){
      .line_id = slot->line_id,
      .row = slot->row,
      .active_max = slot_active_max(lines, &slot->row),
      .inventory = slot->inv,
      .seats_left = slot->counted ? slot->inv.available : -1,
      .sold_out = slot_sold_out(slot),
      .queue = slot_queue(slot),
  };
  pthread_mutex_unlock(&slot->lock);
}

enum bo_error bo_lines_get(struct bo_app *app, int64_t line_id,
                           struct bo_line_view *out) {
  struct bo_lines *lines = app->lines;
  struct bo_line_slot *slot = NULL;
  if (line_id == 0) {
    slot = slot_find(lines, 0);
  } else {
    enum bo_error err = concert_slot(app, line_id, &slot);
    if (err)
      return err;
    if (!slot->own_line)
      return BO_ERR_NOT_FOUND;
  }
  enum bo_error err = slot_open(lines, slot);
  if (err)
    return err;
  int64_t now_ms = bo_clock_now_ms(&app->clock);
  /* Back from idle: its count may be old, so count it before answering. */
  if (slot->line_id != 0 &&
      now_ms - atomic_exchange(&slot->used_at_ms, now_ms) >= BO_LINES_IDLE_MS)
    slot_recount(lines, slot, now_ms);
  slot_view(lines, slot, out);
  return BO_OK;
}

enum bo_error bo_lines_list(struct bo_app *app, struct bo_line_view **out,
                            size_t *count) {
  struct find_ctx ctx = {0};
  enum bo_error err =
      bo_outcome(bo_store_transaction(app->store, false, list_tx, &ctx), BO_OK);
  if (err)
    return err;
  struct bo_line_view *views = calloc(ctx.rows.count + 1, sizeof *views);
  size_t n = 0;
  if (views == NULL)
    err = BO_ERR_INTERNAL;
  else
    err = bo_lines_get(app, 0, &views[n++]);
  for (size_t i = 0; !err && i < ctx.rows.count; i++)
    if (ctx.rows.items[i].line_id != 0)
      err = bo_lines_get(app, ctx.rows.items[i].line_id, &views[n++]);
  free(ctx.rows.items);
  if (err) {
    free(views);
    return err;
  }
  *out = views;
  *count = n;
  return BO_OK;
}

enum bo_error bo_lines_change(struct bo_app *app, int64_t line_id,
                              const struct bo_line_change *change) {
  struct bo_line_view view;
  enum bo_error err = bo_lines_get(app, line_id, &view);
  if (err)
    return err;
  struct find_ctx ctx = {.line_id = line_id,
                         .change = change,
                         .now_ms = bo_clock_now_ms(&app->clock)};
  err = bo_outcome(bo_store_transaction(app->store, true, change_tx, &ctx),
                   BO_ERR_NOT_FOUND);
  if (err)
    return err;
  struct bo_line_slot *slot = slot_find(app->lines, line_id);
  pthread_mutex_lock(&slot->lock);
  slot->row.active_max = change->active_max;
  slot->row.admit_per_minute = change->admit_per_minute;
  slot->row.inventory_factor_pct = change->inventory_factor_pct;
  slot->row.paused = change->paused;
  pthread_mutex_unlock(&slot->lock);
  slot_push_policy(app->lines, slot);
  return BO_OK;
}

void bo_lines_recount(struct bo_app *app, int64_t line_id) {
  if (line_id == 0 || app->lines == NULL)
    return;
  struct bo_line_slot *slot = slot_find(app->lines, line_id);
  if (slot == NULL || slot_queue(slot) == NULL)
    return;
  slot_recount(app->lines, slot, bo_clock_now_ms(&app->clock));
  slot_push_policy(app->lines, slot);
}

/* ---- housekeeping --------------------------------------------------- */

/* Operators' changes made on other instances: every stored row onto the
 * slot of the same line. Rows of lines this process never used are left
 * for when it does. */
static void reread_rows(struct bo_lines *lines) {
  struct find_ctx ctx = {0};
  if (bo_store_transaction(lines->app->store, false, list_tx, &ctx) !=
      BO_STORE_OK) {
    bo_log_warn("msg=\"line settings not re-read\"");
    return;
  }
  for (size_t i = 0; i < ctx.rows.count; i++) {
    struct bo_line_slot *slot = slot_find(lines, ctx.rows.items[i].line_id);
    if (slot == NULL || (slot->line_id != 0 && !slot->own_line))
      continue;
    pthread_mutex_lock(&slot->lock);
    slot->row = ctx.rows.items[i];
    pthread_mutex_unlock(&slot->lock);
  }
  free(ctx.rows.items);
}

void bo_lines_tick(struct bo_app *app, int64_t now_ms) {
  struct bo_lines *lines = app->lines;
  if (now_ms >= lines->reread_at_ms) {
    reread_rows(lines);
    lines->reread_at_ms = now_ms + BO_LINES_REREAD_MS;
  }
  /* Slots never go away, so walking by index without the lock is safe as
   * long as the array is re-read under it each time (it may grow). */
  for (size_t i = 0;; i++) {
    pthread_rwlock_rdlock(&lines->lock);
    struct bo_line_slot *slot = i < lines->count ? lines->slots[i] : NULL;
    pthread_rwlock_unlock(&lines->lock);
    if (slot == NULL)
      break;
    struct bo_queue *queue = slot_queue(slot);
    if (queue == NULL)
      continue;
    pthread_mutex_lock(&slot->lock);
    bool due = slot->line_id != 0 &&
               now_ms - slot->counted_at_ms >= BO_LINES_RECOUNT_MS &&
               now_ms - atomic_load(&slot->used_at_ms) < BO_LINES_IDLE_MS;
    pthread_mutex_unlock(&slot->lock);
    if (due)
      slot_recount(lines, slot, now_ms);
    slot_push_policy(lines, slot);
    int64_t admitted = 0;
    if (queue->driver->admit(queue, now_ms, &admitted) != BO_QUEUE_OK)
      bo_log_warn("msg=\"admission pass failed: queue unavailable\" "
                  "line=%lld",
                  (long long)slot->line_id);
  }
}

/* ---- life ----------------------------------------------------------- */

struct bo_lines *bo_lines_open(struct bo_app *app,
                               const struct bo_queue_settings *settings,
                               char *error, size_t error_size) {
  struct bo_lines *lines = calloc(1, sizeof *lines);
  if (lines == NULL) {
    snprintf(error, error_size, "lines: out of memory");
    return NULL;
  }
  lines->app = app;
  lines->settings = *settings;
  pthread_rwlock_init(&lines->lock, NULL);
  lines->backend =
      bo_queue_backend_open(app->settings.queue_url, error, error_size);
  struct bo_line_slot *global =
      lines->backend ? slot_add(lines, 0, true, NULL) : NULL;
  if (global == NULL || slot_open(lines, global) != BO_OK) {
    if (lines->backend != NULL && error[0] == '\0')
      snprintf(error, error_size, "lines: the global line did not open");
    bo_lines_close(lines);
    return NULL;
  }
  return lines;
}

struct bo_queue *bo_lines_global(struct bo_lines *lines) {
  return slot_queue(slot_find(lines, 0));
}

void bo_lines_close(struct bo_lines *lines) {
  if (lines == NULL)
    return;
  for (size_t i = 0; i < lines->count; i++) {
    bo_queue_close(slot_queue(lines->slots[i]));
    pthread_mutex_destroy(&lines->slots[i]->lock);
    free(lines->slots[i]);
  }
  free(lines->slots);
  free(lines->schedules);
  bo_queue_backend_close(lines->backend);
  pthread_rwlock_destroy(&lines->lock);
  free(lines);
}
