#include "booking/admission.h"

#include "booking/lines.h"
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

/* The queue of a line: the global one without asking the registry (the
 * hot path of API.md's one line), else the registry's. */
static enum bo_error line_queue(struct bo_app *app, int64_t line_id,
                                struct bo_line_view *view,
                                struct bo_queue **queue) {
  if (line_id == 0) {
    *queue = app->queue;
    return BO_OK;
  }
  enum bo_error err = bo_lines_get(app, line_id, view);
  if (!err)
    *queue = view->queue;
  return err;
}

enum bo_error bo_admission_issue(struct bo_app *app, int64_t user_id,
                                 int64_t concert_id, struct bo_token_info *out,
                                 bool *created) {
  struct user_ctx ctx = {.user_id = user_id};
  enum bo_error err =
      bo_outcome(bo_store_transaction(app->store, false, user_exists_tx, &ctx),
                 BO_ERR_NOT_FOUND);
  if (err)
    return err;
  int64_t line_id = 0;
  if (concert_id != 0 && (err = bo_lines_of_concert(app, concert_id, &line_id)))
    return err;
  struct bo_line_view view = {0};
  struct bo_queue *queue = NULL;
  if ((err = line_queue(app, line_id, &view, &queue)))
    return err;
  if (view.sold_out)
    return BO_ERR_SOLD_OUT;
  int was_created = 0;
  err = queue_error(queue->driver->join(queue, user_id,
                                        bo_clock_now_ms(&app->clock), out,
                                        &was_created),
                    BO_ERR_INTERNAL);
  out->line_id = line_id;
  *created = was_created != 0;
  return err;
}

/* The token's line and queue from its text; TOKEN_INVALID for text that
 * is no token or names no line. */
static enum bo_error token_queue(struct bo_app *app, const char *token_text,
                                 struct bo_token *token, int64_t *line_id,
                                 struct bo_queue **queue) {
  if (!bo_token_decode_scoped(token_text, line_id, token))
    return BO_ERR_TOKEN_INVALID;
  struct bo_line_view view;
  enum bo_error err = line_queue(app, *line_id, &view, queue);
  return err == BO_ERR_NOT_FOUND ? BO_ERR_TOKEN_INVALID : err;
}

enum bo_error bo_admission_check(struct bo_app *app, const char *token_text,
                                 enum bo_token_need need,
                                 struct bo_token_info *out) {
  struct bo_token token;
  int64_t line_id = 0;
  struct bo_queue *queue = NULL;
  enum bo_error err = token_queue(app, token_text, &token, &line_id, &queue);
  if (err)
    return err;
  err = queue_error(
      queue->driver->status(queue, &token, bo_clock_now_ms(&app->clock), out),
      BO_ERR_TOKEN_INVALID);
  if (err)
    return err;
  out->line_id = line_id;
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

static enum bo_error scope(const struct bo_token_info *info, int64_t line_id) {
  return info->line_id == line_id ? BO_OK : BO_ERR_WRONG_LINE;
}

enum bo_error bo_admission_scope_concert(struct bo_app *app,
                                         const struct bo_token_info *info,
                                         int64_t concert_id) {
  int64_t line_id = 0;
  enum bo_error err = bo_lines_of_concert(app, concert_id, &line_id);
  return err ? err : scope(info, line_id);
}

enum bo_error bo_admission_scope_schedule(struct bo_app *app,
                                          const struct bo_token_info *info,
                                          int64_t schedule_id) {
  int64_t line_id = 0;
  enum bo_error err = bo_lines_of_schedule(app, schedule_id, &line_id);
  return err ? err : scope(info, line_id);
}

enum bo_error bo_admission_end(struct bo_app *app, const char *token_text) {
  struct bo_token token;
  int64_t line_id = 0;
  struct bo_queue *queue = NULL;
  enum bo_error err = token_queue(app, token_text, &token, &line_id, &queue);
  if (err)
    return err;
  return queue_error(
      queue->driver->leave(queue, &token, bo_clock_now_ms(&app->clock)),
      BO_ERR_TOKEN_INVALID);
}

void bo_admission_finish(struct bo_app *app, const struct bo_token_info *info) {
  struct bo_line_view view;
  struct bo_queue *queue = NULL;
  if (line_queue(app, info->line_id, &view, &queue) != BO_OK) {
    bo_log_warn("msg=\"token not retired after payment: line unavailable\" "
                "user=%lld",
                (long long)info->user_id);
    return;
  }
  /* A sale: the line's seats left (and whether it sold out) now, not at
   * the next recount. */
  bo_lines_recount(app, info->line_id);
  enum bo_queue_status status =
      queue->driver->leave(queue, &info->token, bo_clock_now_ms(&app->clock));
  /* The payment is committed whatever happens here; a token that could not
   * be retired still runs out at the end of its active time. */
  if (status == BO_QUEUE_UNAVAILABLE)
    bo_log_warn("msg=\"token not retired after payment: queue unavailable\" "
                "user=%lld",
                (long long)info->user_id);
}
