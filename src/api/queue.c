/* POST /api/v1/queue/tokens, GET /api/v1/queue/status */
#include "api/api.h"
#include "api/common.h"
#include "http/input.h"

static json_t *render_token(const struct bo_token_info *info) {
  char text[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(&info->token, text);
  bool active = info->state == BO_TOKEN_ACTIVE;
  return json_pack(
      "{s:s, s:I, s:s, s:I, s:I, s:o}", "token", text, "userId",
      (json_int_t)info->user_id, "status", active ? "ACTIVE" : "WAITING",
      "position", (json_int_t)(active ? 0 : info->position),
      "estimatedWaitSeconds",
      (json_int_t)(active ? 0 : info->estimated_wait_seconds), "expiresAt",
      active ? bo_api_time(info->expires_at_ms) : json_null());
}

void bo_api_queue_issue(struct bo_app *app, const struct bo_request *req,
                        struct bo_reply *reply) {
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
    bo_reply_json(reply, created ? 201 : 200, render_token(&info));
}

void bo_api_queue_status(struct bo_app *app, const struct bo_request *req,
                         struct bo_reply *reply) {
  struct bo_token_info info;
  if (bo_api_token(app, req, BO_NEED_LIVE, &info, reply))
    bo_reply_json(reply, 200, render_token(&info));
}
