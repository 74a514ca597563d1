#include "booking/points.h"

#include "booking/outcome.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct balance_ctx {
  int64_t user_id;
  int64_t balance;
};

static enum bo_store_status balance_tx(struct bo_store_tx *tx, void *arg) {
  struct balance_ctx *ctx = arg;
  return bo_store_op(tx)->points_get(tx, ctx->user_id, &ctx->balance);
}

enum bo_error bo_points_balance(struct bo_app *app, int64_t user_id,
                                int64_t *balance) {
  struct balance_ctx ctx = {user_id, 0};
  enum bo_error err =
      bo_outcome(bo_store_transaction(app->store, false, balance_tx, &ctx),
                 BO_ERR_NOT_FOUND);
  *balance = ctx.balance;
  return err;
}

struct charge_ctx {
  int64_t user_id, amount, now_ms;
  const char *key; /* NULL: no idempotency */
  struct bo_idempotency_record record;
  int64_t balance_after;
  enum bo_error reason;
};

/* A replay answers from the history row the first charge wrote. */
static enum bo_store_status replay(struct bo_store_tx *tx,
                                   struct charge_ctx *ctx,
                                   const struct bo_idempotency_record *found) {
  if (strcmp(found->fingerprint, ctx->record.fingerprint) != 0) {
    ctx->reason = BO_ERR_IDEMPOTENCY_KEY_REUSED;
    return BO_STORE_CONFLICT;
  }
  struct bo_point_history row;
  enum bo_store_status st =
      bo_store_op(tx)->points_history_get(tx, found->result_id, &row);
  if (st == BO_STORE_OK)
    ctx->balance_after = row.balance_after;
  return st;
}

static enum bo_store_status charge_tx(struct bo_store_tx *tx, void *arg) {
  struct charge_ctx *ctx = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  enum bo_store_status st;
  if (ctx->key) {
    struct bo_idempotency_record found;
    st = op->idempotency_get(tx, ctx->user_id, BO_IDEMPOTENCY_CHARGE, ctx->key,
                             &found);
    if (st == BO_STORE_OK)
      return replay(tx, ctx, &found);
    if (st != BO_STORE_NOT_FOUND)
      return st;
  }
  st = op->points_add(tx, ctx->user_id, ctx->amount, BO_BALANCE_MAX,
                      ctx->now_ms, &ctx->balance_after);
  if (st != BO_STORE_OK) {
    ctx->reason =
        st == BO_STORE_NOT_FOUND ? BO_ERR_NOT_FOUND : BO_ERR_BALANCE_LIMIT;
    return st;
  }
  struct bo_point_history row = {.user_id = ctx->user_id,
                                 .type = BO_POINT_CHARGE,
                                 .amount = ctx->amount,
                                 .balance_after = ctx->balance_after};
  st = op->points_history_insert(tx, &row, ctx->now_ms);
  if (st != BO_STORE_OK || !ctx->key)
    return st;
  ctx->record.result_id = row.history_id;
  st = op->idempotency_put(tx, ctx->user_id, BO_IDEMPOTENCY_CHARGE, ctx->key,
                           &ctx->record, ctx->now_ms);
  /* Another request with this key committed first (possible where writers
   * do not serialise): re-run, and the re-run replays its answer. */
  return st == BO_STORE_CONFLICT ? BO_STORE_TRANSIENT : st;
}

enum bo_error bo_points_charge(struct bo_app *app, int64_t user_id,
                               int64_t amount, const char *idempotency_key,
                               int64_t *balance_after) {
  struct charge_ctx ctx = {.user_id = user_id,
                           .amount = amount,
                           .now_ms = bo_clock_now_ms(&app->clock),
                           .key = idempotency_key};
  snprintf(ctx.record.fingerprint, sizeof ctx.record.fingerprint, "amount=%lld",
           (long long)amount);
  enum bo_store_status st =
      bo_store_transaction(app->store, true, charge_tx, &ctx);
  enum bo_error err = bo_outcome(st, ctx.reason);
  *balance_after = ctx.balance_after;
  return err;
}

struct history_ctx {
  int64_t user_id;
  int limit;
  struct bo_point_history_list *out;
};

static enum bo_store_status history_tx(struct bo_store_tx *tx, void *arg) {
  struct history_ctx *ctx = arg;
  free(ctx->out->items);
  *ctx->out = (struct bo_point_history_list){0};
  struct bo_user user;
  enum bo_store_status st = bo_store_op(tx)->user_get(tx, ctx->user_id, &user);
  if (st != BO_STORE_OK)
    return st;
  return bo_store_op(tx)->points_history_list(tx, ctx->user_id, ctx->limit,
                                              ctx->out);
}

enum bo_error bo_points_history(struct bo_app *app, int64_t user_id, int limit,
                                struct bo_point_history_list *out) {
  *out = (struct bo_point_history_list){0};
  struct history_ctx ctx = {user_id, limit, out};
  return bo_outcome(bo_store_transaction(app->store, false, history_tx, &ctx),
                    BO_ERR_NOT_FOUND);
}
