#include "booking/catalog.h"

#include "booking/outcome.h"
#include "queue/draw.h"

#include <stdlib.h>
#include <string.h>

static enum bo_store_status concerts_tx(struct bo_store_tx *tx, void *arg) {
  struct bo_concert_list *out = arg;
  free(out->items);
  *out = (struct bo_concert_list){0};
  return bo_store_op(tx)->concert_list(tx, out);
}

enum bo_error bo_catalog_concerts(struct bo_app *app,
                                  struct bo_concert_list *out) {
  *out = (struct bo_concert_list){0};
  return bo_outcome(bo_store_transaction(app->store, false, concerts_tx, out),
                    BO_OK);
}

struct schedules_ctx {
  int64_t concert_id;
  int64_t now_ms;
  bool with_seats; /* bookable ones with their counts, or all upcoming */
  struct bo_schedule_list *out;
};

static enum bo_store_status schedules_tx(struct bo_store_tx *tx, void *arg) {
  struct schedules_ctx *ctx = arg;
  free(ctx->out->items);
  *ctx->out = (struct bo_schedule_list){0};
  struct bo_concert concert;
  enum bo_store_status st =
      bo_store_op(tx)->concert_get(tx, ctx->concert_id, &concert);
  if (st != BO_STORE_OK)
    return st;
  return ctx->with_seats
             ? bo_store_op(tx)->schedule_list_bookable(tx, ctx->concert_id,
                                                       ctx->now_ms, ctx->out)
             : bo_store_op(tx)->schedule_list_upcoming(tx, ctx->concert_id,
                                                       ctx->now_ms, ctx->out);
}

enum bo_error bo_catalog_bookable_schedules(struct bo_app *app,
                                            int64_t concert_id,
                                            struct bo_schedule_list *out) {
  *out = (struct bo_schedule_list){0};
  struct schedules_ctx ctx = {concert_id, bo_clock_now_ms(&app->clock), true,
                              out};
  return bo_outcome(bo_store_transaction(app->store, false, schedules_tx, &ctx),
                    BO_ERR_NOT_FOUND);
}

enum bo_error bo_catalog_upcoming_schedules(struct bo_app *app,
                                            int64_t concert_id,
                                            struct bo_schedule_list *out) {
  *out = (struct bo_schedule_list){0};
  struct schedules_ctx ctx = {concert_id, bo_clock_now_ms(&app->clock), false,
                              out};
  return bo_outcome(bo_store_transaction(app->store, false, schedules_tx, &ctx),
                    BO_ERR_NOT_FOUND);
}

struct seats_ctx {
  int64_t schedule_id;
  int64_t now_ms;
  struct bo_seat_list *out;
};

static enum bo_store_status seats_tx(struct bo_store_tx *tx, void *arg) {
  struct seats_ctx *ctx = arg;
  free(ctx->out->items);
  *ctx->out = (struct bo_seat_list){0};
  enum bo_store_status st =
      bo_store_op(tx)->seat_list(tx, ctx->schedule_id, ctx->now_ms, ctx->out);
  /* Every schedule has at least one seat (seatCount 1..1000, seats made
   * with it), so no row means no such schedule: no second query (which
   * counted its free seats as well) is needed to tell. */
  if (st == BO_STORE_OK && ctx->out->count == 0)
    return BO_STORE_NOT_FOUND;
  return st;
}

enum bo_error bo_catalog_seats(struct bo_app *app, int64_t schedule_id,
                               struct bo_seat_list *out) {
  *out = (struct bo_seat_list){0};
  struct seats_ctx ctx = {schedule_id, bo_clock_now_ms(&app->clock), out};
  return bo_outcome(bo_store_transaction(app->store, false, seats_tx, &ctx),
                    BO_ERR_NOT_FOUND);
}

struct upcoming_seats_ctx {
  int64_t concert_id;
  int64_t now_ms;
  struct bo_seat_list *out;
};

static enum bo_store_status upcoming_seats_tx(struct bo_store_tx *tx,
                                              void *arg) {
  struct upcoming_seats_ctx *ctx = arg;
  free(ctx->out->items);
  *ctx->out = (struct bo_seat_list){0};
  return bo_store_op(tx)->seat_list_upcoming(tx, ctx->concert_id, ctx->now_ms,
                                             ctx->out);
}

enum bo_error bo_catalog_upcoming_seats(struct bo_app *app, int64_t concert_id,
                                        struct bo_seat_list *out) {
  *out = (struct bo_seat_list){0};
  struct upcoming_seats_ctx ctx = {concert_id, bo_clock_now_ms(&app->clock),
                                   out};
  return bo_outcome(
      bo_store_transaction(app->store, false, upcoming_seats_tx, &ctx), BO_OK);
}

struct create_ctx {
  const char *name;
  struct bo_new_schedule *schedules;
  size_t schedule_count;
  struct bo_new_line *line; /* NULL: none */
  int64_t now_ms;
  int64_t concert_id;
};

static enum bo_store_status create_tx(struct bo_store_tx *tx, void *arg) {
  struct create_ctx *ctx = arg;
  enum bo_store_status st = bo_store_op(tx)->concert_insert(
      tx, ctx->name, ctx->now_ms, &ctx->concert_id);
  for (size_t i = 0; st == BO_STORE_OK && i < ctx->schedule_count; i++) {
    struct bo_new_schedule *s = &ctx->schedules[i];
    st = bo_store_op(tx)->schedule_insert(tx, ctx->concert_id, s->starts_at_ms,
                                          s->seat_count, s->price, ctx->now_ms,
                                          &s->schedule_id);
  }
  if (st == BO_STORE_OK && ctx->line != NULL) {
    struct bo_line_row row = {
        .line_id = ctx->concert_id,
        .active_max = ctx->line->active_max,
        .admit_per_minute = ctx->line->admit_per_minute,
        .on_sale_at_ms = ctx->line->on_sale_at_ms,
        .inventory_factor_pct = ctx->line->inventory_factor_pct,
    };
    memcpy(row.seed, ctx->line->seed, sizeof row.seed);
    st = bo_store_op(tx)->line_insert(tx, &row, ctx->now_ms);
  }
  return st;
}

enum bo_error bo_catalog_create_concert(struct bo_app *app, const char *name,
                                        struct bo_new_schedule *schedules,
                                        size_t schedule_count,
                                        struct bo_new_line *line,
                                        int64_t *concert_id) {
  /* The seed is drawn here, once, and never leaves the store before the
   * draw; only its commitment is published (queue/draw.h). */
  if (line != NULL)
    bo_draw_seed(line->seed);
  struct create_ctx ctx = {
      name, schedules, schedule_count, line, bo_clock_now_ms(&app->clock), 0};
  enum bo_error err = bo_outcome(
      bo_store_transaction(app->store, true, create_tx, &ctx), BO_OK);
  if (!err)
    *concert_id = ctx.concert_id;
  return err;
}

struct schedule_counts_ctx {
  int64_t concert_id;
  int64_t now_ms;
  struct bo_schedule_count_list *out;
};

static enum bo_store_status schedule_counts_tx(struct bo_store_tx *tx,
                                               void *arg) {
  struct schedule_counts_ctx *ctx = arg;
  free(ctx->out->items);
  *ctx->out = (struct bo_schedule_count_list){0};
  return bo_store_op(tx)->schedule_counts(tx, ctx->concert_id, ctx->now_ms,
                                          ctx->out);
}

enum bo_error bo_catalog_schedule_counts(struct bo_app *app, int64_t concert_id,
                                         struct bo_schedule_count_list *out,
                                         int64_t *as_of_ms) {
  *out = (struct bo_schedule_count_list){0};
  struct schedule_counts_ctx ctx = {concert_id, bo_clock_now_ms(&app->clock),
                                    out};
  *as_of_ms = ctx.now_ms;
  enum bo_error err = bo_outcome(
      bo_store_transaction(app->store, false, schedule_counts_tx, &ctx),
      BO_ERR_NOT_FOUND);
  if (err) {
    free(out->items);
    *out = (struct bo_schedule_count_list){0};
  }
  return err;
}
