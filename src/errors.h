/* The one registry of error codes: machine-readable code, HTTP status and
 * title. Every error reply is built from this table (http/reply.c), so a code
 * means the same thing everywhere and a new code is one line here. */
#ifndef BO_ERRORS_H
#define BO_ERRORS_H

#define BO_ERRORS(X)                                                           \
  X(BAD_REQUEST, 400, "Bad request")                                           \
  X(TOKEN_INVALID, 401, "Queue token invalid")                                 \
  X(ADMIN_UNAUTHORIZED, 401, "Admin secret missing or wrong")                  \
  X(TOKEN_NOT_ACTIVE, 403, "Queue token not active yet")                       \
  X(NOT_OWNER, 403, "Not the owner")                                           \
  X(WRONG_LINE, 403, "Queue token of another line")                            \
  X(ADMIN_DISABLED, 403, "Admin API disabled")                                 \
  X(NOT_FOUND, 404, "Not found")                                               \
  X(METHOD_NOT_ALLOWED, 405, "Method not allowed")                             \
  X(SEAT_UNAVAILABLE, 409, "Seat unavailable")                                 \
  X(SCHEDULE_CLOSED, 409, "Schedule closed")                                   \
  X(RESERVATION_NOT_HELD, 409, "Reservation not held")                         \
  X(RESERVATION_EXPIRED, 409, "Reservation expired")                           \
  X(ALREADY_PAID, 409, "Already paid")                                         \
  X(INSUFFICIENT_BALANCE, 409, "Insufficient balance")                         \
  X(BALANCE_LIMIT, 409, "Balance limit exceeded")                              \
  X(IDEMPOTENCY_KEY_REUSED, 409, "Idempotency key reused")                     \
  X(SOLD_OUT, 409, "Sold out")                                                 \
  X(DRAW_PENDING, 409, "Draw not done yet")                                    \
  X(PAYLOAD_TOO_LARGE, 413, "Payload too large")                               \
  X(URI_TOO_LONG, 414, "URI too long")                                         \
  X(UNSUPPORTED_MEDIA_TYPE, 415, "Unsupported media type")                     \
  X(TOO_MANY_REQUESTS, 429, "Too many requests")                               \
  X(REQUEST_HEADER_TOO_LARGE, 431, "Request header fields too large")          \
  X(INTERNAL, 500, "Internal error")                                           \
  X(UNAVAILABLE, 503, "Service unavailable")

/* BO_OK is 0 so that `if (err)` reads naturally. */
enum bo_error {
  BO_OK = 0,
#define BO_ERROR_ENUM(name, status, title) BO_ERR_##name,
  BO_ERRORS(BO_ERROR_ENUM)
#undef BO_ERROR_ENUM
      BO_ERR__COUNT
};

struct bo_error_info {
  int http_status;
  const char *code;  /* "SEAT_UNAVAILABLE" */
  const char *title; /* "Seat unavailable" */
};

/* Never NULL; BO_OK and out-of-range values map to INTERNAL. */
const struct bo_error_info *bo_error_info(enum bo_error err);

#endif
