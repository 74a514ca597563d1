/* GET /api/v1/users/{id}/points, POST .../points/charge,
 * GET .../points/history */
#include "booking/points.h"

#include "api/api.h"
#include "api/common.h"
#include "http/input.h"

#include <stdlib.h>
#include <string.h>

static void reply_balance(struct bo_reply *reply, int64_t user_id,
                          int64_t balance) {
  bo_reply_json(reply, 200,
                json_pack("{s:I, s:I}", "userId", (json_int_t)user_id,
                          "balance", (json_int_t)balance));
}

void bo_api_points_balance(struct bo_app *app, const struct bo_request *req,
                           struct bo_reply *reply) {
  int64_t user_id = req->path_ids[0], balance = 0;
  enum bo_error err = bo_points_balance(app, user_id, &balance);
  if (err)
    bo_api_fail_about(reply, err, "user", user_id);
  else
    reply_balance(reply, user_id, balance);
}

void bo_api_points_charge(struct bo_app *app, const struct bo_request *req,
                          struct bo_reply *reply) {
  int64_t user_id = req->path_ids[0], amount = 0, balance = 0;
  const char *key = NULL;
  const struct bo_field fields[] = {
      {"amount", BO_FIELD_INT, true, BO_CHARGE_MIN, BO_CHARGE_MAX, &amount,
       NULL},
  };
  json_t *root = NULL;
  if (!bo_api_idempotency_key(req, &key, reply) ||
      !bo_input_parse(req, fields, 1, &root, reply))
    return;
  json_decref(root);
  enum bo_error err = bo_points_charge(app, user_id, amount, key, &balance);
  if (err)
    bo_api_fail_about(reply, err, "user", user_id);
  else
    reply_balance(reply, user_id, balance);
}

void bo_api_points_history(struct bo_app *app, const struct bo_request *req,
                           struct bo_reply *reply) {
  int64_t user_id = req->path_ids[0];
  int64_t limit = BO_HISTORY_LIMIT_DEFAULT;
  const char *limit_text = bo_request_query(req, "limit");
  if (limit_text &&
      (!bo_input_parse_id(limit_text, strlen(limit_text), &limit) ||
       limit > BO_HISTORY_LIMIT_MAX)) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                   "limit must be an integer from 1 to %d",
                   BO_HISTORY_LIMIT_MAX);
    return;
  }
  struct bo_point_history_list list;
  enum bo_error err = bo_points_history(app, user_id, (int)limit, &list);
  if (err) {
    bo_api_fail_about(reply, err, "user", user_id);
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < list.count; i++) {
    const struct bo_point_history *h = &list.items[i];
    json_array_append_new(items,
                          json_pack("{s:I, s:s, s:I, s:I, s:o}", "id",
                                    (json_int_t)h->history_id, "type",
                                    bo_point_type_name(h->type), "amount",
                                    (json_int_t)h->amount, "balanceAfter",
                                    (json_int_t)h->balance_after, "createdAt",
                                    bo_api_time(h->created_at_ms)));
  }
  free(list.items);
  bo_reply_json(reply, 200, json_pack("{s:o}", "items", items));
}
