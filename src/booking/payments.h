/* Payment: one transaction takes the price from the balance (a USE history
 * row), records the payment, confirms the reservation and sells the seat.
 * Any failure rolls all of it back. Only after the commit does the token
 * leave the line, so its slot goes to the next user. */
#ifndef BO_BOOKING_PAYMENTS_H
#define BO_BOOKING_PAYMENTS_H

#include "app.h"
#include "errors.h"

#include <stdbool.h>

struct bo_payment_result {
  struct bo_payment payment;
  int64_t balance_after;
  bool replayed; /* the answer of an earlier request with the same key */
};

/* `token` is the caller's checked token (ACTIVE, or any known state when an
 * idempotency key is given: a retry after the payment spent the token still
 * gets its first answer). Errors: 404, 403 NOT_OWNER, 403 TOKEN_NOT_ACTIVE,
 * 401 TOKEN_INVALID (spent token and nothing to replay), 409
 * INSUFFICIENT_BALANCE, RESERVATION_EXPIRED, RESERVATION_NOT_HELD
 * (cancelled), ALREADY_PAID, IDEMPOTENCY_KEY_REUSED. */
enum bo_error bo_payments_pay(struct bo_app *app,
                              const struct bo_token_info *token,
                              int64_t reservation_id,
                              const char *idempotency_key,
                              struct bo_payment_result *out);

#endif
