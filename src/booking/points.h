/* Points: a prepaid balance per user, in KRW won. A charge is one
 * conditional UPDATE (balance + amount stays within the limit) and one
 * history row in the same transaction, so concurrent charges all count and
 * the history always sums to the balance. */
#ifndef BO_BOOKING_POINTS_H
#define BO_BOOKING_POINTS_H

#include "app.h"
#include "errors.h"

#define BO_CHARGE_MIN 1
#define BO_CHARGE_MAX 100000000LL
#define BO_BALANCE_MAX 1000000000000LL
#define BO_HISTORY_LIMIT_DEFAULT 50
#define BO_HISTORY_LIMIT_MAX 1000

/* 404 for an unknown user. */
enum bo_error bo_points_balance(struct bo_app *app, int64_t user_id,
                                int64_t *balance);

/* `idempotency_key` may be NULL. A retry with the same key and amount
 * answers as the first did and charges nothing; the same key with another
 * amount is 409 IDEMPOTENCY_KEY_REUSED. 409 BALANCE_LIMIT past 10^12. */
enum bo_error bo_points_charge(struct bo_app *app, int64_t user_id,
                               int64_t amount, const char *idempotency_key,
                               int64_t *balance_after);

/* Newest first, at most `limit` rows. 404 for an unknown user. */
enum bo_error bo_points_history(struct bo_app *app, int64_t user_id, int limit,
                                struct bo_point_history_list *out);

#endif
