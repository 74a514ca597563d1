#include "booking/holds.h"

#include "booking/outcome.h"
#include "booking/reservation_state.h"
#include "booking/seat_snapshots.h"

#include <stdlib.h>

struct reserve_ctx {
  int64_t user_id, schedule_id;
  int32_t seat_number;
  int64_t now_ms, hold_ms;
  struct bo_reservation *out;
  enum bo_error reason;
};

/* The look before the race: in a read transaction, which takes no write
 * lock (SQLite: no queueing behind the writer; PostgreSQL: no row lock).
 * In a rush most attempts are for seats already gone, and they end here
 * with their 409 without ever joining the queue of writers; a seat that
 * looks free goes on to reserve_tx, where the conditional UPDATE decides.
 * A schedule's start never changes, so it is checked here only. */
static enum bo_store_status peek_tx(struct bo_store_tx *tx, void *arg) {
  struct reserve_ctx *ctx = arg;
  struct bo_seat_peek seat;
  enum bo_store_status st = bo_store_op(tx)->seat_peek(
      tx, ctx->schedule_id, ctx->seat_number, ctx->now_ms, &seat);
  if (st != BO_STORE_OK) {
    ctx->reason = BO_ERR_NOT_FOUND;
    return st;
  }
  if (seat.starts_at_ms <= ctx->now_ms) {
    ctx->reason = BO_ERR_SCHEDULE_CLOSED;
    return BO_STORE_CONFLICT;
  }
  if (seat.status != BO_SEAT_AVAILABLE) {
    ctx->reason = BO_ERR_SEAT_UNAVAILABLE;
    return BO_STORE_CONFLICT;
  }
  return BO_STORE_OK;
}

static enum bo_store_status reserve_tx(struct bo_store_tx *tx, void *arg) {
  struct reserve_ctx *ctx = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  struct bo_seat seat;
  int64_t until = ctx->now_ms + ctx->hold_ms;
  enum bo_store_status st =
      op->seat_hold(tx, ctx->schedule_id, ctx->seat_number, ctx->user_id,
                    ctx->now_ms, until, &seat);
  if (st != BO_STORE_OK) {
    ctx->reason =
        st == BO_STORE_NOT_FOUND ? BO_ERR_NOT_FOUND : BO_ERR_SEAT_UNAVAILABLE;
    return st;
  }
  /* The seat may still carry the reservation whose hold just ran out; it
   * must read EXPIRED before the new one is recorded (one live per seat). */
  st = op->reservation_expire_seat(tx, seat.seat_id, ctx->now_ms);
  if (st != BO_STORE_OK)
    return st;
  *ctx->out = (struct bo_reservation){
      .user_id = ctx->user_id,
      .seat_id = seat.seat_id,
      .schedule_id = ctx->schedule_id,
      .seat_number = ctx->seat_number,
      .price = seat.price,
      .reserved_at_ms = ctx->now_ms,
      .expires_at_ms = until,
      .status = BO_RESERVATION_HELD,
  };
  return op->reservation_insert(tx, ctx->out, ctx->now_ms);
}

enum bo_error bo_holds_reserve(struct bo_app *app, int64_t user_id,
                               int64_t schedule_id, int32_t seat_number,
                               struct bo_reservation *out) {
  struct reserve_ctx ctx = {
      .user_id = user_id,
      .schedule_id = schedule_id,
      .seat_number = seat_number,
      .now_ms = bo_clock_now_ms(&app->clock),
      .hold_ms = app->settings.hold_seconds * 1000,
      .out = out,
  };
  enum bo_store_status st =
      bo_store_transaction(app->store, false, peek_tx, &ctx);
  enum bo_error err = bo_outcome(st, ctx.reason);
  if (err)
    return err;
  st = bo_store_transaction(app->store, true, reserve_tx, &ctx);
  err = bo_outcome(st, ctx.reason);
  if (!err) {
    bo_seat_snapshots_changed(app->seat_snapshots, schedule_id);
    bo_metrics_count_hold(app->metrics);
  }
  return err;
}

struct get_ctx {
  int64_t reservation_id;
  struct bo_reservation *out;
};

static enum bo_store_status get_tx(struct bo_store_tx *tx, void *arg) {
  struct get_ctx *ctx = arg;
  return bo_store_op(tx)->reservation_get(tx, ctx->reservation_id, ctx->out);
}

enum bo_error bo_holds_get(struct bo_app *app, int64_t user_id,
                           int64_t reservation_id, struct bo_reservation *out) {
  struct get_ctx ctx = {reservation_id, out};
  enum bo_error err = bo_outcome(
      bo_store_transaction(app->store, false, get_tx, &ctx), BO_ERR_NOT_FOUND);
  if (err)
    return err;
  if (out->user_id != user_id)
    return BO_ERR_NOT_OWNER;
  out->status =
      bo_reservation_effective_status(out, bo_clock_now_ms(&app->clock));
  return BO_OK;
}

struct list_ctx {
  int64_t user_id;
  struct bo_reservation_list *out;
};

static enum bo_store_status list_tx(struct bo_store_tx *tx, void *arg) {
  struct list_ctx *ctx = arg;
  free(ctx->out->items);
  *ctx->out = (struct bo_reservation_list){0};
  struct bo_user user;
  enum bo_store_status st = bo_store_op(tx)->user_get(tx, ctx->user_id, &user);
  if (st != BO_STORE_OK)
    return st;
  return bo_store_op(tx)->reservation_list_by_user(tx, ctx->user_id, ctx->out);
}

enum bo_error bo_holds_list(struct bo_app *app, int64_t user_id,
                            struct bo_reservation_list *out) {
  *out = (struct bo_reservation_list){0};
  struct list_ctx ctx = {user_id, out};
  enum bo_error err = bo_outcome(
      bo_store_transaction(app->store, false, list_tx, &ctx), BO_ERR_NOT_FOUND);
  if (err)
    return err;
  int64_t now = bo_clock_now_ms(&app->clock);
  for (size_t i = 0; i < out->count; i++)
    out->items[i].status = bo_reservation_effective_status(&out->items[i], now);
  return BO_OK;
}

struct cancel_ctx {
  int64_t user_id, reservation_id, now_ms;
  struct bo_reservation *out;
  enum bo_error reason;
};

static enum bo_store_status cancel_tx(struct bo_store_tx *tx, void *arg) {
  struct cancel_ctx *ctx = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  enum bo_store_status st =
      op->reservation_get(tx, ctx->reservation_id, ctx->out);
  if (st != BO_STORE_OK) {
    ctx->reason = BO_ERR_NOT_FOUND;
    return st;
  }
  if (ctx->out->user_id != ctx->user_id) {
    ctx->reason = BO_ERR_NOT_OWNER;
    return BO_STORE_CONFLICT;
  }
  ctx->reason = BO_ERR_RESERVATION_NOT_HELD;
  if (bo_reservation_effective_status(ctx->out, ctx->now_ms) !=
      BO_RESERVATION_HELD)
    return BO_STORE_CONFLICT;
  st = bo_reservation_move(tx, ctx->reservation_id, BO_RESERVATION_HELD,
                           BO_RESERVATION_CANCELLED, ctx->now_ms);
  if (st != BO_STORE_OK)
    return st;
  /* The reservation was HELD and live, so the seat's hold is this one:
   * holds are only ever taken over once they have run out. */
  st = op->seat_release(tx, ctx->out->seat_id, ctx->now_ms);
  if (st != BO_STORE_OK) {
    ctx->reason = BO_ERR_INTERNAL;
    return st;
  }
  ctx->out->status = BO_RESERVATION_CANCELLED;
  return BO_STORE_OK;
}

enum bo_error bo_holds_cancel(struct bo_app *app, int64_t user_id,
                              int64_t reservation_id,
                              struct bo_reservation *out) {
  struct cancel_ctx ctx = {.user_id = user_id,
                           .reservation_id = reservation_id,
                           .now_ms = bo_clock_now_ms(&app->clock),
                           .out = out};
  enum bo_store_status st =
      bo_store_transaction(app->store, true, cancel_tx, &ctx);
  enum bo_error err = bo_outcome(st, ctx.reason);
  if (!err)
    bo_seat_snapshots_changed(app->seat_snapshots, out->schedule_id);
  return err;
}

struct release_ctx {
  int64_t now_ms;
  int released;
};

static enum bo_store_status release_tx(struct bo_store_tx *tx, void *arg) {
  struct release_ctx *ctx = arg;
  ctx->released = 0;
  /* Bounded per call so one sweep never holds the write lock for long. */
  return bo_store_op(tx)->holds_release_expired(tx, ctx->now_ms, 500,
                                                &ctx->released);
}

enum bo_error bo_holds_release_expired(struct bo_app *app, int *released) {
  struct release_ctx ctx = {bo_clock_now_ms(&app->clock), 0};
  enum bo_error err = bo_outcome(
      bo_store_transaction(app->store, true, release_tx, &ctx), BO_OK);
  *released = err ? 0 : ctx.released;
  if (ctx.released > 0 && !err)
    bo_metrics_count_hold_expired(app->metrics, ctx.released);
  return err;
}
