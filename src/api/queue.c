/* POST /api/v1/queue/tokens, GET /api/v1/queue/status
 *
 * Both are rate limited (429 with Retry-After), because both are what a bot
 * hammers on a busy day: status polls per token (BOXOFFICE_POLL_RATE),
 * since each one runs the line's admission step in the queue store; token
 * requests per client address (BOXOFFICE_ISSUE_RATE), since each one puts
 * a user in the line. The check comes first, before the body is parsed or
 * the store is asked anything, so a refused request costs almost nothing.
 * The buckets are this instance's own: with N instances behind a balancer a
 * client gets up to N times the rate, which is fine for what the limits are
 * for (a runaway loop, one host grabbing places), and the balancer spreads
 * clients anyway. */
#include "api/api.h"
#include "api/common.h"
#include "http/input.h"
#include "util/token.h"

static json_t *render_token(const struct bo_token_info *info) {
  char text[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(&info->token, text);
  bool active = info->state == BO_TOKEN_ACTIVE;
  return json_pack(
      "{s:s, s:I, s:s, s:I, s:I, s:o}", "token", text, "userId",
      (json_int_t)info->user_id, "status", active ? "ACTIVE" : "WAITING",
      "position", (json_int_t)(active ? 0 : info->position),
      "estimatedWaitSeconds",
      (json_int_t)(active ? 0 : info->estimated_wait_seconds), "expiresAt",
      active ? bo_api_time(info->expires_at_ms) : json_null());
}

/* One request against `limit` (NULL: off) for `key`; past it, answers 429
 * with the wait in whole seconds, rounded up so that a client that waits
 * as told is let in. */
static bool within_limit(struct bo_app *app, struct bo_ratelimit *limit,
                         const void *key, size_t key_len, const char *what,
                         int64_t rate, int64_t burst, struct bo_reply *reply) {
  int64_t retry_ms = 0;
  if (limit == NULL ||
      bo_ratelimit_take(limit, key, key_len, bo_clock_now_ms(&app->clock),
                        &retry_ms))
    return true;
  int seconds = (int)((retry_ms + 999) / 1000);
  if (seconds < 1)
    seconds = 1;
  bo_reply_error(reply, BO_ERR_TOO_MANY_REQUESTS,
                 "%s: at most %lld a second on average, %lld at once; retry "
                 "in %d s",
                 what, (long long)rate, (long long)burst, seconds);
  reply->retry_after = seconds;
  return false;
}

void bo_api_queue_issue(struct bo_app *app, const struct bo_request *req,
                        struct bo_reply *reply) {
  struct bo_netaddr key = bo_netaddr_client_key(&req->client_addr);
  if (!within_limit(app, app->issue_limit, key.bytes, sizeof key.bytes,
                    "too many queue tokens asked for from this address",
                    app->settings.issue_rate, app->settings.issue_burst, reply))
    return;

  int64_t user_id = 0;
  const struct bo_field fields[] = {
      {"userId", BO_FIELD_INT, true, 1, INT64_MAX, &user_id, NULL},
  };
  json_t *root = NULL;
  if (!bo_input_parse(req, fields, 1, &root, reply))
    return;
  json_decref(root);
  struct bo_token_info info;
  bool created = false;
  enum bo_error err = bo_admission_issue(app, user_id, &info, &created);
  if (err)
    bo_api_fail_about(reply, err, "user", user_id);
  else
    bo_reply_json(reply, created ? 201 : 200, render_token(&info));
}

/* The token in "Authorization: Bearer <token>", read the way
 * bo_api_token() reads it, as its bytes: the same token however the header
 * is spelled is one key. False when there is none, which then costs no
 * lookup anyway (401 at once). */
static bool presented_token(const struct bo_request *req,
                            struct bo_token *token) {
  const char *text = bo_api_bearer(req);
  return text != NULL && bo_token_decode(text, token);
}

void bo_api_queue_status(struct bo_app *app, const struct bo_request *req,
                         struct bo_reply *reply) {
  struct bo_token presented;
  if (presented_token(req, &presented) &&
      !within_limit(app, app->poll_limit, presented.bytes,
                    sizeof presented.bytes,
                    "queue status asked for too often with this token",
                    app->settings.poll_rate, app->settings.poll_burst, reply))
    return;
  struct bo_token_info info;
  if (bo_api_token(app, req, BO_NEED_LIVE, &info, reply))
    bo_reply_json(reply, 200, render_token(&info));
}
