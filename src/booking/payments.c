#include "booking/payments.h"

#include "booking/admission.h"
#include "booking/outcome.h"
#include "booking/points.h"
#include "booking/reservation_state.h"
#include "booking/seat_snapshots.h"

#include <stdio.h>
#include <string.h>

struct pay_ctx {
  int64_t user_id, reservation_id, now_ms;
  int64_t schedule_id; /* of the seat sold */
  bool may_pay; /* the token is ACTIVE; otherwise only a replay is allowed */
  enum bo_error not_allowed; /* why not, when !may_pay */
  const char *key;
  struct bo_idempotency_record record;
  struct bo_payment_result *out;
  enum bo_error reason;
};

static enum bo_store_status fail(struct pay_ctx *ctx, enum bo_error reason) {
  ctx->reason = reason;
  return BO_STORE_CONFLICT;
}

static enum bo_store_status replay(struct bo_store_tx *tx, struct pay_ctx *ctx,
                                   const struct bo_idempotency_record *found) {
  const struct bo_store_driver *op = bo_store_op(tx);
  if (strcmp(found->fingerprint, ctx->record.fingerprint) != 0)
    return fail(ctx, BO_ERR_IDEMPOTENCY_KEY_REUSED);
  enum bo_store_status st =
      op->payment_get(tx, found->result_id, &ctx->out->payment);
  ctx->out->balance_after = ctx->out->payment.balance_after;
  ctx->out->replayed = true;
  return st;
}

/* Why a reservation cannot be paid, or BO_OK. */
static enum bo_error payable(const struct bo_reservation *r, int64_t user_id,
                             int64_t now_ms) {
  if (r->user_id != user_id)
    return BO_ERR_NOT_OWNER;
  switch (bo_reservation_effective_status(r, now_ms)) {
  case BO_RESERVATION_HELD:
    return BO_OK;
  case BO_RESERVATION_CONFIRMED:
    return BO_ERR_ALREADY_PAID;
  case BO_RESERVATION_EXPIRED:
    return BO_ERR_RESERVATION_EXPIRED;
  case BO_RESERVATION_CANCELLED:
    break;
  }
  return BO_ERR_RESERVATION_NOT_HELD;
}

static enum bo_store_status pay_tx(struct bo_store_tx *tx, void *arg) {
  struct pay_ctx *ctx = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  struct bo_payment_result *out = ctx->out;
  *out = (struct bo_payment_result){0};
  enum bo_store_status st;
  if (ctx->key) {
    struct bo_idempotency_record found;
    st = op->idempotency_get(tx, ctx->user_id, BO_IDEMPOTENCY_PAYMENT, ctx->key,
                             &found);
    if (st == BO_STORE_OK)
      return replay(tx, ctx, &found);
    if (st != BO_STORE_NOT_FOUND)
      return st;
  }
  if (!ctx->may_pay)
    return fail(ctx, ctx->not_allowed);

  struct bo_reservation r;
  st = op->reservation_get(tx, ctx->reservation_id, &r);
  if (st != BO_STORE_OK)
    return st == BO_STORE_NOT_FOUND ? fail(ctx, BO_ERR_NOT_FOUND) : st;
  enum bo_error why = payable(&r, ctx->user_id, ctx->now_ms);
  if (why)
    return fail(ctx, why);
  ctx->schedule_id = r.schedule_id;

  st = bo_reservation_move(tx, r.reservation_id, BO_RESERVATION_HELD,
                           BO_RESERVATION_CONFIRMED, ctx->now_ms);
  /* Someone moved it first: a concurrent payment (perhaps this very
   * request's retry, with the same key) or a cancel. Run again: the re-run
   * sees that commit, so it replays the key's answer or says what the
   * reservation became, as a request arriving a moment later would hear. */
  if (st == BO_STORE_CONFLICT)
    return BO_STORE_TRANSIENT;
  if (st != BO_STORE_OK)
    return st;
  st = op->points_add(tx, ctx->user_id, -r.price, BO_BALANCE_MAX, ctx->now_ms,
                      &out->balance_after);
  if (st == BO_STORE_CONFLICT)
    return fail(ctx, BO_ERR_INSUFFICIENT_BALANCE);
  if (st != BO_STORE_OK)
    return st;
  out->payment = (struct bo_payment){.user_id = ctx->user_id,
                                     .reservation_id = r.reservation_id,
                                     .amount = r.price,
                                     .balance_after = out->balance_after};
  st = op->payment_insert(tx, &out->payment, ctx->now_ms);
  if (st == BO_STORE_CONFLICT) /* the same race, caught by the unique key */
    return BO_STORE_TRANSIENT;
  if (st != BO_STORE_OK)
    return st;
  if (r.price > 0) {
    struct bo_point_history row = {.user_id = ctx->user_id,
                                   .type = BO_POINT_USE,
                                   .amount = r.price,
                                   .balance_after = out->balance_after,
                                   .payment_id = out->payment.payment_id};
    st = op->points_history_insert(tx, &row, ctx->now_ms);
    if (st != BO_STORE_OK)
      return st;
  }
  st = op->seat_sell(tx, r.seat_id, ctx->now_ms);
  if (st != BO_STORE_OK) /* a live HELD reservation always has a HELD seat */
    return st == BO_STORE_CONFLICT ? fail(ctx, BO_ERR_INTERNAL) : st;
  if (!ctx->key)
    return BO_STORE_OK;
  ctx->record.result_id = out->payment.payment_id;
  st = op->idempotency_put(tx, ctx->user_id, BO_IDEMPOTENCY_PAYMENT, ctx->key,
                           &ctx->record, ctx->now_ms);
  return st == BO_STORE_CONFLICT ? BO_STORE_TRANSIENT : st;
}

enum bo_error bo_payments_pay(struct bo_app *app,
                              const struct bo_token_info *token,
                              int64_t reservation_id,
                              const char *idempotency_key,
                              struct bo_payment_result *out) {
  struct pay_ctx ctx = {
      .user_id = token->user_id,
      .reservation_id = reservation_id,
      .now_ms = bo_clock_now_ms(&app->clock),
      .may_pay = token->state == BO_TOKEN_ACTIVE,
      .not_allowed = token->state == BO_TOKEN_WAITING ? BO_ERR_TOKEN_NOT_ACTIVE
                                                      : BO_ERR_TOKEN_INVALID,
      .key = idempotency_key,
      .out = out,
  };
  snprintf(ctx.record.fingerprint, sizeof ctx.record.fingerprint,
           "reservationId=%lld", (long long)reservation_id);
  enum bo_store_status st =
      bo_store_transaction(app->store, true, pay_tx, &ctx);
  enum bo_error err = bo_outcome(st, ctx.reason);
  if (err)
    return err;
  /* A replay leaves the token alone: the user may be retrying an old key
   * with the new token of a later purchase. */
  if (out->replayed)
    return BO_OK;
  bo_seat_snapshots_changed(app->seat_snapshots, ctx.schedule_id);
  bo_metrics_count_sale(app->metrics);
  bo_admission_finish(app, token);
  return BO_OK;
}
