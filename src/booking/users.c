#include "booking/users.h"

#include "booking/outcome.h"

struct create_ctx {
  const char *name;
  int64_t now_ms;
  struct bo_user *out;
};

static enum bo_store_status create_tx(struct bo_store_tx *tx, void *arg) {
  struct create_ctx *ctx = arg;
  return bo_store_op(tx)->user_insert(tx, ctx->name, ctx->now_ms, ctx->out);
}

enum bo_error bo_users_create(struct bo_app *app, const char *name,
                              struct bo_user *out) {
  struct create_ctx ctx = {name, bo_clock_now_ms(&app->clock), out};
  return bo_outcome(bo_store_transaction(app->store, true, create_tx, &ctx),
                    BO_OK);
}
