#include "booking/admission.h"

#include "booking/outcome.h"
#include "util/log.h"

static enum bo_error queue_error(enum bo_queue_status status,
                                 enum bo_error not_found) {
  switch (status) {
  case BO_QUEUE_OK:
    return BO_OK;
  case BO_QUEUE_NOT_FOUND:
    return not_found;
  case BO_QUEUE_UNAVAILABLE:
    break;
  }
  return BO_ERR_UNAVAILABLE;
}

struct user_ctx {
  int64_t user_id;
  struct bo_user user;
};

static enum bo_store_status user_exists_tx(struct bo_store_tx *tx, void *arg) {
  struct user_ctx *ctx = arg;
  return bo_store_op(tx)->user_get(tx, ctx->user_id, &ctx->user);
}

enum bo_error bo_admission_issue(struct bo_app *app, int64_t user_id,
                                 struct bo_token_info *out, bool *created) {
  struct user_ctx ctx = {.user_id = user_id};
  enum bo_error err =
      bo_outcome(bo_store_transaction(app->store, false, user_exists_tx, &ctx),
                 BO_ERR_NOT_FOUND);
  if (err)
    return err;
  int was_created = 0;
  err = queue_error(app->queue->driver->join(app->queue, user_id,
                                             bo_clock_now_ms(&app->clock), out,
                                             &was_created),
                    BO_ERR_INTERNAL);
  *created = was_created != 0;
  return err;
}

enum bo_error bo_admission_check(struct bo_app *app, const char *token_text,
                                 enum bo_token_need need,
                                 struct bo_token_info *out) {
  struct bo_token token;
  if (!bo_token_decode(token_text, &token))
    return BO_ERR_TOKEN_INVALID;
  enum bo_error err =
      queue_error(app->queue->driver->status(app->queue, &token,
                                             bo_clock_now_ms(&app->clock), out),
                  BO_ERR_TOKEN_INVALID);
  if (err)
    return err;
  switch (out->state) {
  case BO_TOKEN_ACTIVE:
    return BO_OK;
  case BO_TOKEN_WAITING:
    return need == BO_NEED_ACTIVE ? BO_ERR_TOKEN_NOT_ACTIVE : BO_OK;
  case BO_TOKEN_SPENT:
    return need == BO_NEED_KNOWN ? BO_OK : BO_ERR_TOKEN_INVALID;
  }
  return BO_ERR_INTERNAL;
}

void bo_admission_finish(struct bo_app *app, const struct bo_token_info *info) {
  enum bo_queue_status status = app->queue->driver->leave(
      app->queue, &info->token, bo_clock_now_ms(&app->clock));
  /* The payment is committed whatever happens here; a token that could not
   * be retired still runs out at the end of its active time. */
  if (status == BO_QUEUE_UNAVAILABLE)
    bo_log_warn("msg=\"token not retired after payment: queue unavailable\" "
                "user=%lld",
                (long long)info->user_id);
}
