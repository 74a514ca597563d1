#include "body.h"

#include <string.h>

json_t *bo_load_body_json(const struct bo_load_response *r) {
  json_t *root = json_loadb(r->body, r->body_len, 0, NULL);
  if (root && !json_is_object(root)) {
    json_decref(root);
    return NULL;
  }
  return root;
}

bool bo_load_json_int(const json_t *object, const char *key, int64_t *out) {
  const json_t *v = json_object_get(object, key);
  if (!json_is_integer(v))
    return false;
  *out = json_integer_value(v);
  return true;
}

bool bo_load_json_text(const json_t *object, const char *key, char *out,
                       size_t cap) {
  const json_t *v = json_object_get(object, key);
  if (!json_is_string(v) || json_string_length(v) >= cap)
    return false;
  memcpy(out, json_string_value(v), json_string_length(v) + 1);
  return true;
}
