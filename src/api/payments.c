/* POST /api/v1/payments */
#include "booking/payments.h"

#include "api/api.h"
#include "api/common.h"
#include "http/input.h"

void bo_api_payments_create(struct bo_app *app, const struct bo_request *req,
                            struct bo_reply *reply) {
  int64_t reservation_id = 0;
  const char *key = NULL;
  const struct bo_field fields[] = {
      {"reservationId", BO_FIELD_INT, true, 1, INT64_MAX, &reservation_id,
       NULL},
  };
  if (!bo_api_idempotency_key(req, &key, reply))
    return;
  /* With a key, a token that this very payment already spent still
   * identifies its user, so the retry can be answered; the rule lets such a
   * token replay and nothing else. */
  struct bo_token_info token;
  if (!bo_api_token(app, req, key ? BO_NEED_KNOWN : BO_NEED_ACTIVE, &token,
                    reply))
    return;
  json_t *root = NULL;
  if (!bo_input_parse(req, fields, 1, &root, reply))
    return;
  json_decref(root);
  struct bo_payment_result result;
  enum bo_error err =
      bo_payments_pay(app, &token, reservation_id, key, &result);
  if (err) {
    bo_api_fail_about(reply, err, "reservation", reservation_id);
    return;
  }
  bo_reply_json(
      reply, 201,
      json_pack("{s:I, s:I, s:I, s:s, s:I}", "paymentId",
                (json_int_t)result.payment.payment_id, "reservationId",
                (json_int_t)result.payment.reservation_id, "amount",
                (json_int_t)result.payment.amount, "status", "COMPLETED",
                "balance", (json_int_t)result.balance_after));
}
