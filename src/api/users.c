/* POST /api/v1/users */
#include "booking/users.h"

#include "api/api.h"
#include "api/common.h"
#include "http/input.h"

void bo_api_users_create(struct bo_app *app, const struct bo_request *req,
                         struct bo_reply *reply) {
  const char *name = NULL;
  const struct bo_field fields[] = {
      {"name", BO_FIELD_STRING, true, 1, BO_USER_NAME_MAX_CHARS, &name, NULL},
  };
  json_t *root = NULL;
  if (!bo_input_parse(req, fields, 1, &root, reply))
    return;
  struct bo_user user;
  enum bo_error err = bo_users_create(app, name, &user);
  if (err)
    bo_api_fail(reply, err);
  else
    bo_reply_json(reply, 201,
                  json_pack("{s:I, s:s}", "userId", (json_int_t)user.user_id,
                            "name", user.name));
  json_decref(root);
}
