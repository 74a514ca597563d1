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
#include "util/time.h"
#include "util/token.h"

#include <stdio.h>
#include <stdlib.h>

/* The token answer: {"token","userId","status","position",
 * "estimatedWaitSeconds","expiresAt"}. Printed directly rather than built
 * as a jansson tree: it is the hottest body we send (every poll of every
 * waiting user), and every value in it is a number, a fixed word, a time
 * or URL-safe base64, none of which JSON escapes, so printing is exact.
 * The tree cost 13% of a poll's CPU (docs/benchmarks.md). */
static void reply_token(struct bo_reply *reply, int status,
                        const struct bo_token_info *info) {
  enum { TOKEN_BODY_MAX = 256 };
  char token[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(&info->token, token);
  bool active = info->state == BO_TOKEN_ACTIVE;
  char expires[BO_TIME_TEXT_SIZE + 2] = "null";
  if (active) {
    char when[BO_TIME_TEXT_SIZE];
    bo_time_format(info->expires_at_ms, when);
    snprintf(expires, sizeof expires, "\"%s\"", when);
  }
  char *text = malloc(TOKEN_BODY_MAX);
  int len =
      text == NULL
          ? -1
          : snprintf(text, TOKEN_BODY_MAX,
                     "{\"token\":\"%s\",\"userId\":%lld,"
                     "\"status\":\"%s\",\"position\":%lld,"
                     "\"estimatedWaitSeconds\":%lld,\"expiresAt\":%s}",
                     token, (long long)info->user_id,
                     active ? "ACTIVE" : "WAITING",
                     (long long)(active ? 0 : info->position),
                     (long long)(active ? 0 : info->estimated_wait_seconds),
                     expires);
  if (len < 0 || len >= TOKEN_BODY_MAX) {
    free(text);
    text = NULL; /* answered as 500 by bo_reply_text */
  }
  bo_reply_text(reply, status, "application/json", text,
                text ? (size_t)len : 0);
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
    reply_token(reply, created ? 201 : 200, &info);
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
    reply_token(reply, 200, &info);
}
