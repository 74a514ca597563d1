/* GET /api/v1/queue/stream: a queue token's status as Server-Sent Events.
 *
 * Each event's data is the body GET /api/v1/queue/status answers, sent at
 * once and then whenever it changes (at most once a second); the stream
 * ends with "event: end" and a problem document when the token stops being
 * live: spent by its payment, its active time over, or unknown (dropped,
 * or the line restarted). Polling stays for clients that cannot stream.
 *
 * The token comes in "Authorization: Bearer" like everywhere else, or, for
 * browsers, whose EventSource cannot send headers, as ?token=; the header
 * wins when both are there. A token in a URL can end up in a proxy's
 * access log; it is worth little there (it grants a place in line, for at
 * most its active time), and our own log lines name the route, never the
 * URL.
 *
 * Opening a stream is a status poll: it takes from the same per-token
 * bucket (BOXOFFICE_POLL_RATE), so a client that reconnects in a loop is
 * held to the poll rate, and it is checked the same way (401 for a token
 * that is not live, as a poll would say, and no stream at all).
 *
 * How often the hub asks again (the check's recheck_ms). Each check is one
 * admission check (bo_admission_check: on Redis one script), which is also
 * what keeps a waiting token from being dropped as idle. Once a second for
 * every stream would be 10,000 scripts a second for 10,000 streams, most of
 * them for places so far back that a position a few seconds old tells the
 * user the same thing. So:
 *  - near the front (position <= NEAR_POSITION or an estimate of at most
 *    NEAR_SECONDS): every second, so an admission is seen within a second
 *    or two, as API.md promises for admission itself;
 *  - further back: a tenth of the estimated wait, between one and
 *    FAR_RECHECK_MS seconds (a minute away: every 5 s). A surprise (a burst
 *    of admissions) is seen at most that late; the estimate only gets
 *    shorter as the line moves, so checks speed up as the front nears;
 *  - ACTIVE: nothing changes until the token is spent or its time ends,
 *    so every FAR_RECHECK_MS, and just after the end of its active time;
 *  - never less often than a third of BOXOFFICE_IDLE_SECONDS, so that the
 *    stream keeps the token in line however short that is. */
#include "api/api.h"
#include "api/common.h"
#include "http/stream.h"
#include "util/ratelimit.h"
#include "util/token.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEAR_POSITION 10
#define NEAR_SECONDS 10
#define FAR_RECHECK_MS 5000
/* A check just after an active token's end sees it gone, not still ACTIVE. */
#define AFTER_END_MS 50

struct token_stream {
  struct bo_app *app;
  char token[BO_SCOPED_TOKEN_TEXT_MAX + 1];
  /* What the last check saw: an ACTIVE token that is then gone ran out of
   * time (the queue says "unknown" either way). */
  bool was_active;
  int64_t expires_at_ms;
};

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

static int64_t recheck_ms(const struct bo_app *app,
                          const struct bo_token_info *info, int64_t now_ms) {
  int64_t ms;
  if (info->state == BO_TOKEN_ACTIVE)
    ms = clamp(info->expires_at_ms - now_ms + AFTER_END_MS, 1000,
               FAR_RECHECK_MS);
  else if (info->position <= NEAR_POSITION ||
           info->estimated_wait_seconds <= NEAR_SECONDS)
    ms = 1000;
  else
    ms = clamp(info->estimated_wait_seconds * 100, 1000, FAR_RECHECK_MS);
  int64_t idle_third = app->settings.idle_seconds * 1000 / 3;
  return ms < idle_third ? ms : (idle_third > 0 ? idle_third : ms);
}

/* The problem document of the last event: why the stream ends. */
static size_t end_body(enum bo_error err, const char *reason,
                       const char *detail, char *out, size_t size) {
  json_t *doc = bo_reply_problem(err, detail);
  char *text = NULL;
  size_t len = 0;
  if (doc && json_object_set_new(doc, "reason", json_string(reason)) == 0)
    text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  if (text && strlen(text) < size) {
    len = strlen(text);
    memcpy(out, text, len);
  } else {
    /* Out of memory: a bare reason still ends the stream with its cause. */
    int n = snprintf(out, size, "{\"reason\":\"%s\"}", reason);
    len = n > 0 && (size_t)n < size ? (size_t)n : 0;
  }
  free(text);
  return len;
}

static enum bo_stream_verdict check_token(void *ctx,
                                          struct bo_stream_check *check) {
  struct token_stream *ts = ctx;
  struct bo_app *app = ts->app;
  struct bo_token_info info;
  /* KNOWN, not LIVE: a spent token then reads as such, which lets the last
   * event say the payment went through rather than "unknown". */
  enum bo_error err = bo_admission_check(app, ts->token, BO_NEED_KNOWN, &info);
  int64_t now = bo_clock_now_ms(&app->clock);
  if (err == BO_ERR_UNAVAILABLE) {
    /* The queue store is down: keep the stream and what it last said;
     * ending 10,000 streams over a blip would bring 10,000 reconnects. */
    check->recheck_ms = 1000;
    return BO_STREAM_UNKNOWN;
  }
  if (err == BO_OK && info.state != BO_TOKEN_SPENT) {
    int len = bo_api_token_body(app, &info, check->out, BO_STREAM_DATA_MAX);
    if (len >= 0) {
      ts->was_active = info.state == BO_TOKEN_ACTIVE;
      ts->expires_at_ms = info.expires_at_ms;
      check->len = (size_t)len;
      check->recheck_ms = recheck_ms(app, &info, now);
      return BO_STREAM_STATE;
    }
    err = BO_ERR_INTERNAL;
  }
  if (err == BO_OK) /* SPENT */
    check->len = end_body(BO_ERR_TOKEN_INVALID, "spent",
                          "the token was used: its payment completed",
                          check->out, BO_STREAM_DATA_MAX);
  else if (err == BO_ERR_TOKEN_INVALID && ts->was_active &&
           now >= ts->expires_at_ms)
    check->len = end_body(BO_ERR_TOKEN_INVALID, "expired",
                          "the token's active time ran out; get a new one "
                          "from POST /api/v1/queue/tokens",
                          check->out, BO_STREAM_DATA_MAX);
  else if (err == BO_ERR_TOKEN_INVALID)
    check->len = end_body(BO_ERR_TOKEN_INVALID, "unknown",
                          "the token is no longer in the line; get a new one "
                          "from POST /api/v1/queue/tokens",
                          check->out, BO_STREAM_DATA_MAX);
  else
    check->len = end_body(err, "error", "the token could not be checked",
                          check->out, BO_STREAM_DATA_MAX);
  return BO_STREAM_END;
}

static void free_token_stream(void *ctx) {
  free(ctx);
}

static const struct bo_stream_ops token_stream_ops = {
    .check = check_token,
    .free = free_token_stream,
};

/* The header wins: it is what every other call uses, and a query string
 * may have been added by something that did not mean it (a shared link). */
static const char *presented_text(const struct bo_request *req) {
  const char *bearer = bo_api_bearer(req);
  if (bearer)
    return bearer;
  const char *query = bo_request_query(req, "token");
  return query && *query ? query : NULL;
}

/* The poll bucket of queue.c, for the same token. */
static bool within_poll_limit(struct bo_app *app, const char *text,
                              struct bo_reply *reply) {
  struct bo_token token;
  int64_t line_id = 0, retry_ms = 0;
  if (app->poll_limit == NULL ||
      !bo_token_decode_scoped(text, &line_id, &token) ||
      bo_ratelimit_take(app->poll_limit, token.bytes, sizeof token.bytes,
                        bo_clock_now_ms(&app->clock), &retry_ms))
    return true;
  int seconds = (int)((retry_ms + 999) / 1000);
  if (seconds < 1)
    seconds = 1;
  bo_reply_error(reply, BO_ERR_TOO_MANY_REQUESTS,
                 "queue status asked for too often with this token: at most "
                 "%lld a second on average, %lld at once (a stream opened "
                 "counts as one); retry in %d s",
                 (long long)app->settings.poll_rate,
                 (long long)app->settings.poll_burst, seconds);
  reply->retry_after = seconds;
  return false;
}

void bo_api_queue_stream(struct bo_app *app, const struct bo_request *req,
                         struct bo_reply *reply) {
  const char *text = presented_text(req);
  if (text == NULL) {
    bo_reply_error(reply, BO_ERR_TOKEN_INVALID,
                   "send the queue token as 'Authorization: Bearer <token>' "
                   "or as the query parameter 'token'");
    return;
  }
  if (!within_poll_limit(app, text, reply))
    return;
  struct bo_token_info info;
  enum bo_error err = bo_admission_check(app, text, BO_NEED_LIVE, &info);
  if (err) {
    bo_api_fail(reply, err);
    return;
  }
  char first[BO_STREAM_DATA_MAX];
  int len = bo_api_token_body(app, &info, first, sizeof first);
  struct token_stream *ts = calloc(1, sizeof *ts);
  if (len < 0 || ts == NULL ||
      strlen(text) >= sizeof ts->token) { /* a live token always fits */
    free(ts);
    bo_reply_error(reply, BO_ERR_INTERNAL, "the event stream cannot be opened");
    return;
  }
  ts->app = app;
  memcpy(ts->token, text, strlen(text) + 1);
  ts->was_active = info.state == BO_TOKEN_ACTIVE;
  ts->expires_at_ms = info.expires_at_ms;
  bo_reply_stream(reply, &token_stream_ops, ts, first, (size_t)len,
                  recheck_ms(app, &info, bo_clock_now_ms(&app->clock)));
}
