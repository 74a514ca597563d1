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
#include "booking/lines.h"
#include "http/input.h"
#include "queue/draw.h"
#include "util/time.h"
#include "util/token.h"

#include <stdio.h>
#include <stdlib.h>

/* The token answer: {"token","userId","status","position",
 * "estimatedWaitSeconds","expiresAt"} of API.md, then what lines add:
 * "concertId", "ahead", "seatsLeft", "preQueue", "onSaleAt", "entryId"
 * (docs/queue.md). Printed directly rather than built as a jansson tree:
 * it is the hottest body we send (every poll of every waiting user), and
 * every value in it is a number, a fixed word, a time, hex or URL-safe
 * base64, none of which JSON escapes, so printing is exact. The tree cost
 * 13% of a poll's CPU (docs/benchmarks.md). */
int bo_api_token_body(struct bo_app *app, const struct bo_token_info *info,
                      char *out, size_t size) {
  struct bo_line_view line = {.seats_left = -1};
  if (info->line_id != 0 && bo_lines_get(app, info->line_id, &line) != BO_OK)
    return -1;
  char token[BO_SCOPED_TOKEN_TEXT_MAX + 1];
  bo_token_encode_scoped(info->line_id, &info->token, token);
  bool active = info->state == BO_TOKEN_ACTIVE;
  bool waiting = info->state == BO_TOKEN_WAITING;
  const char *status = active                     ? "ACTIVE"
                       : waiting && line.sold_out ? "SOLD_OUT"
                                                  : "WAITING";
  char expires[BO_TIME_TEXT_SIZE + 2] = "null";
  if (active) {
    char when[BO_TIME_TEXT_SIZE];
    bo_time_format(info->expires_at_ms, when);
    snprintf(expires, sizeof expires, "\"%s\"", when);
  }
  char concert[24] = "null", seats_left[24] = "null";
  if (info->line_id != 0)
    snprintf(concert, sizeof concert, "%lld", (long long)info->line_id);
  if (line.seats_left >= 0)
    snprintf(seats_left, sizeof seats_left, "%lld", (long long)line.seats_left);
  char on_sale[BO_TIME_TEXT_SIZE + 2] = "null";
  char entry[2 * BO_DRAW_ID_BYTES + 3] = "null";
  if (line.row.on_sale_at_ms > 0) {
    char when[BO_TIME_TEXT_SIZE];
    bo_time_format(line.row.on_sale_at_ms, when);
    snprintf(on_sale, sizeof on_sale, "\"%s\"", when);
    uint8_t id[BO_DRAW_ID_BYTES];
    char hex[2 * BO_DRAW_ID_BYTES + 1];
    bo_draw_entry_id(&info->token, id);
    bo_draw_hex(id, sizeof id, hex);
    snprintf(entry, sizeof entry, "\"%s\"", hex);
  }
  int64_t position = waiting ? info->position : 0;
  int len = snprintf(
      out, size,
      "{\"token\":\"%s\",\"userId\":%lld,\"status\":\"%s\","
      "\"position\":%lld,\"estimatedWaitSeconds\":%lld,\"expiresAt\":%s,"
      "\"concertId\":%s,\"ahead\":%lld,\"seatsLeft\":%s,"
      "\"preQueue\":%s,\"onSaleAt\":%s,\"entryId\":%s}",
      token, (long long)info->user_id, status, (long long)position,
      (long long)(waiting ? info->estimated_wait_seconds : 0), expires, concert,
      (long long)(position > 0 ? position - 1 : 0), seats_left,
      waiting && info->pre_queue ? "true" : "false", on_sale, entry);
  return len < 0 || (size_t)len >= size ? -1 : len;
}

static void reply_token(struct bo_app *app, struct bo_reply *reply, int status,
                        const struct bo_token_info *info) {
  enum { TOKEN_BODY_MAX = 512 };
  char *text = malloc(TOKEN_BODY_MAX);
  int len =
      text == NULL ? -1 : bo_api_token_body(app, info, text, TOKEN_BODY_MAX);
  if (len < 0) {
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

  int64_t user_id = 0, concert_id = 0;
  const struct bo_field fields[] = {
      {"userId", BO_FIELD_INT, true, 1, INT64_MAX, &user_id, NULL},
      {"concertId", BO_FIELD_INT, false, 1, INT64_MAX, &concert_id, NULL},
  };
  json_t *root = NULL;
  if (!bo_input_parse(req, fields, 2, &root, reply))
    return;
  json_decref(root);
  struct bo_token_info info;
  bool created = false;
  enum bo_error err =
      bo_admission_issue(app, user_id, concert_id, &info, &created);
  if (err == BO_ERR_NOT_FOUND && concert_id != 0)
    bo_reply_error(reply, err,
                   "no user with id %lld or no concert with id %lld",
                   (long long)user_id, (long long)concert_id);
  else if (err)
    bo_api_fail_about(reply, err, "user", user_id);
  else
    reply_token(app, reply, created ? 201 : 200, &info);
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
    reply_token(app, reply, 200, &info);
}
