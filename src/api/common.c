#include "api/common.h"

#include "util/time.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

const char *bo_api_bearer(const struct bo_request *req) {
  const char *h = req->authorization;
  if (!h || strncasecmp(h, "Bearer ", 7) != 0)
    return NULL;
  h += 7;
  while (*h == ' ')
    h++;
  return *h ? h : NULL;
}

bool bo_api_token(struct bo_app *app, const struct bo_request *req,
                  enum bo_token_need need, struct bo_token_info *info,
                  struct bo_reply *reply) {
  const char *token = bo_api_bearer(req);
  if (!token) {
    bo_reply_error(reply, BO_ERR_TOKEN_INVALID,
                   "send the queue token as 'Authorization: Bearer <token>'");
    return false;
  }
  enum bo_error err = bo_admission_check(app, token, need, info);
  if (err) {
    bo_api_fail(reply, err);
    return false;
  }
  return true;
}

bool bo_api_admin(struct bo_app *app, const struct bo_request *req,
                  struct bo_reply *reply) {
  const char *secret = app->settings.admin_token;
  if (secret[0] == '\0') {
    bo_api_fail(reply, BO_ERR_ADMIN_DISABLED);
    return false;
  }
  const char *given = bo_api_bearer(req);
  /* Hash both sides so the comparison takes the same time whatever the
   * lengths, then compare the digests in constant time. */
  unsigned char want[crypto_generichash_BYTES], got[crypto_generichash_BYTES];
  crypto_generichash(want, sizeof want, (const unsigned char *)secret,
                     strlen(secret), NULL, 0);
  crypto_generichash(got, sizeof got,
                     (const unsigned char *)(given ? given : ""),
                     given ? strlen(given) : 0, NULL, 0);
  if (!given || sodium_memcmp(want, got, sizeof want) != 0) {
    bo_api_fail(reply, BO_ERR_ADMIN_UNAUTHORIZED);
    return false;
  }
  return true;
}

bool bo_api_idempotency_key(const struct bo_request *req, const char **key,
                            struct bo_reply *reply) {
  *key = NULL;
  const char *k = req->idempotency_key;
  if (!k)
    return true;
  size_t len = strlen(k);
  bool visible = len >= 1 && len <= BO_IDEMPOTENCY_KEY_MAX;
  for (size_t i = 0; visible && i < len; i++)
    visible = k[i] >= 0x20 && k[i] <= 0x7e;
  if (!visible) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                   "Idempotency-Key must be 1-%d visible ASCII characters",
                   BO_IDEMPOTENCY_KEY_MAX);
    return false;
  }
  *key = k;
  return true;
}

static const char *standard_detail(enum bo_error err) {
  switch (err) {
  case BO_ERR_TOKEN_INVALID:
    return "the queue token is unknown, expired or malformed; get a new one "
           "from POST /api/v1/queue/tokens";
  case BO_ERR_TOKEN_NOT_ACTIVE:
    return "the queue token is still waiting in line; poll "
           "GET /api/v1/queue/status until it is ACTIVE";
  case BO_ERR_NOT_OWNER:
    return "this reservation belongs to another user";
  case BO_ERR_WRONG_LINE:
    return "this queue token is for another line: a concert with a line of "
           "its own is booked with a token issued for it (POST "
           "/api/v1/queue/tokens with its concertId), every other concert "
           "with a token of the global line";
  case BO_ERR_SOLD_OUT:
    return "every seat of this concert is sold; its line is closed";
  case BO_ERR_DRAW_PENDING:
    return "the line's pre-queue has not been drawn yet";
  case BO_ERR_ADMIN_DISABLED:
    return "no admin secret is configured (BOXOFFICE_ADMIN_TOKEN)";
  case BO_ERR_ADMIN_UNAUTHORIZED:
    return "send the admin secret as 'Authorization: Bearer <secret>'";
  case BO_ERR_NOT_FOUND:
    return "no such resource";
  case BO_ERR_SEAT_UNAVAILABLE:
    return "the seat is held by someone else or sold";
  case BO_ERR_SCHEDULE_CLOSED:
    return "the concert date has already started";
  case BO_ERR_RESERVATION_NOT_HELD:
    return "only a reservation that is still HELD can be changed";
  case BO_ERR_RESERVATION_EXPIRED:
    return "the hold ran out before payment; reserve the seat again";
  case BO_ERR_ALREADY_PAID:
    return "the reservation is already paid";
  case BO_ERR_INSUFFICIENT_BALANCE:
    return "the point balance does not cover the price; charge points first";
  case BO_ERR_BALANCE_LIMIT:
    return "a balance may not exceed 1000000000000";
  case BO_ERR_IDEMPOTENCY_KEY_REUSED:
    return "this Idempotency-Key was used with a different request";
  case BO_ERR_UNAVAILABLE:
    return "a backing store is unavailable; retry shortly";
  default:
    return "the server failed to handle the request";
  }
}

void bo_api_fail(struct bo_reply *reply, enum bo_error err) {
  bo_reply_error(reply, err, "%s", standard_detail(err));
}

void bo_api_fail_about(struct bo_reply *reply, enum bo_error err,
                       const char *what, int64_t id) {
  if (err == BO_ERR_NOT_FOUND)
    bo_reply_error(reply, err, "no %s with id %lld", what, (long long)id);
  else
    bo_api_fail(reply, err);
}

json_t *bo_api_time(int64_t ms) {
  char text[BO_TIME_TEXT_SIZE];
  bo_time_format(ms, text);
  return json_string(text);
}
