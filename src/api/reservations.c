/* POST /api/v1/reservations, GET and DELETE /api/v1/reservations/{id},
 * GET /api/v1/users/{id}/reservations */
#include "api/api.h"
#include "api/common.h"
#include "booking/holds.h"
#include "http/input.h"

#include <stdlib.h>

static json_t *render(const struct bo_reservation *r) {
  return json_pack("{s:I, s:I, s:I, s:i, s:I, s:s, s:o}", "reservationId",
                   (json_int_t)r->reservation_id, "userId",
                   (json_int_t)r->user_id, "scheduleId",
                   (json_int_t)r->schedule_id, "seatNumber",
                   (int)r->seat_number, "price", (json_int_t)r->price, "status",
                   bo_reservation_status_name(r->status), "expiresAt",
                   bo_api_time(r->expires_at_ms));
}

void bo_api_reservations_create(struct bo_app *app,
                                const struct bo_request *req,
                                struct bo_reply *reply) {
  struct bo_token_info token;
  int64_t schedule_id = 0, seat_number = 0;
  const struct bo_field fields[] = {
      {"scheduleId", BO_FIELD_INT, true, 1, INT64_MAX, &schedule_id, NULL},
      {"seatNumber", BO_FIELD_INT, true, 1, INT32_MAX, &seat_number, NULL},
  };
  json_t *root = NULL;
  if (!bo_api_token(app, req, BO_NEED_ACTIVE, &token, reply) ||
      !bo_input_parse(req, fields, 2, &root, reply))
    return;
  json_decref(root);
  struct bo_reservation r;
  enum bo_error err = bo_admission_scope_schedule(app, &token, schedule_id);
  if (err == BO_ERR_NOT_FOUND) {
    bo_api_fail_about(reply, err, "schedule", schedule_id);
    return;
  }
  if (!err)
    err = bo_holds_reserve(app, token.user_id, schedule_id,
                           (int32_t)seat_number, &r);
  if (err == BO_ERR_NOT_FOUND)
    bo_reply_error(reply, err, "schedule %lld has no seat %lld",
                   (long long)schedule_id, (long long)seat_number);
  else if (err == BO_ERR_SEAT_UNAVAILABLE)
    bo_reply_error(reply, err, "seat %lld of schedule %lld is held or sold",
                   (long long)seat_number, (long long)schedule_id);
  else if (err)
    bo_api_fail(reply, err);
  else
    bo_reply_json(reply, 201, render(&r));
}

void bo_api_reservations_get(struct bo_app *app, const struct bo_request *req,
                             struct bo_reply *reply) {
  struct bo_token_info token;
  if (!bo_api_token(app, req, BO_NEED_LIVE, &token, reply))
    return;
  struct bo_reservation r;
  enum bo_error err = bo_holds_get(app, token.user_id, req->path_ids[0], &r);
  if (err)
    bo_api_fail(reply, err);
  else
    bo_reply_json(reply, 200, render(&r));
}

void bo_api_reservations_cancel(struct bo_app *app,
                                const struct bo_request *req,
                                struct bo_reply *reply) {
  struct bo_token_info token;
  if (!bo_api_token(app, req, BO_NEED_LIVE, &token, reply))
    return;
  struct bo_reservation r;
  enum bo_error err = bo_holds_cancel(app, token.user_id, req->path_ids[0], &r);
  if (err)
    bo_api_fail(reply, err);
  else
    bo_reply_json(reply, 200, render(&r));
}

void bo_api_reservations_of_user(struct bo_app *app,
                                 const struct bo_request *req,
                                 struct bo_reply *reply) {
  int64_t user_id = req->path_ids[0];
  struct bo_reservation_list list;
  enum bo_error err = bo_holds_list(app, user_id, &list);
  if (err) {
    bo_api_fail_about(reply, err, "user", user_id);
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < list.count; i++)
    json_array_append_new(items, render(&list.items[i]));
  free(list.items);
  bo_reply_json(reply, 200, json_pack("{s:o}", "items", items));
}
