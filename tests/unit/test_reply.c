/* Replies: problem+json built from the error registry, JSON and text
 * bodies, and serialisation. */
#include "http/reply.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* Parses the serialised body back, as a client would. */
static json_t *body_json(struct bo_reply *reply) {
  size_t len = 0;
  const char *body = bo_reply_body(reply, &len);
  cr_assert_not_null(body);
  json_error_t err;
  json_t *doc = json_loadb(body, len, 0, &err);
  cr_assert_not_null(doc, "body is not JSON: %.*s", (int)len, body);
  return doc;
}

static void check_problem(enum bo_error err, int status, const char *code) {
  struct bo_reply reply = {0};
  bo_reply_error(&reply, err, "detail %d", 42);
  cr_assert_eq(reply.status, status);
  cr_assert_eq(reply.error, err);
  cr_assert_str_eq(reply.content_type, "application/problem+json");

  json_t *doc = body_json(&reply);
  cr_assert_eq(json_object_size(doc), 5);
  cr_assert_eq(json_integer_value(json_object_get(doc, "status")), status);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "code")), code);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "title")),
                   bo_error_info(err)->title);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "detail")),
                   "detail 42");
  char type[128];
  snprintf(type, sizeof type, "https://boxoffice.dev/problems/%s", code);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "type")), type);
  json_decref(doc);
  bo_reply_clear(&reply);
}

Test(reply, problem_documents_follow_registry) {
  check_problem(BO_ERR_BAD_REQUEST, 400, "BAD_REQUEST");
  check_problem(BO_ERR_TOKEN_INVALID, 401, "TOKEN_INVALID");
  check_problem(BO_ERR_TOKEN_NOT_ACTIVE, 403, "TOKEN_NOT_ACTIVE");
  check_problem(BO_ERR_NOT_FOUND, 404, "NOT_FOUND");
  check_problem(BO_ERR_METHOD_NOT_ALLOWED, 405, "METHOD_NOT_ALLOWED");
  check_problem(BO_ERR_SEAT_UNAVAILABLE, 409, "SEAT_UNAVAILABLE");
  check_problem(BO_ERR_PAYLOAD_TOO_LARGE, 413, "PAYLOAD_TOO_LARGE");
  check_problem(BO_ERR_UNSUPPORTED_MEDIA_TYPE, 415, "UNSUPPORTED_MEDIA_TYPE");
  check_problem(BO_ERR_INTERNAL, 500, "INTERNAL");
  check_problem(BO_ERR_UNAVAILABLE, 503, "UNAVAILABLE");
}

Test(reply, every_registered_code_renders) {
  for (int e = BO_OK + 1; e < BO_ERR__COUNT; e++) {
    const struct bo_error_info *info = bo_error_info((enum bo_error)e);
    check_problem((enum bo_error)e, info->http_status, info->code);
  }
}

Test(reply, unknown_code_is_internal) {
  struct bo_reply reply = {0};
  bo_reply_error(&reply, (enum bo_error)999, "x");
  cr_assert_eq(reply.status, 500);
  cr_assert_eq(reply.error, BO_ERR_INTERNAL);
  json_t *doc = body_json(&reply);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "code")), "INTERNAL");
  json_decref(doc);
  bo_reply_clear(&reply);
}

Test(reply, detail_with_json_metacharacters_stays_json) {
  struct bo_reply reply = {0};
  bo_reply_error(&reply, BO_ERR_BAD_REQUEST, "field '%s' \"quoted\" \\ %s",
                 "a\"b", "}{");
  json_t *doc = body_json(&reply);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "detail")),
                   "field 'a\"b' \"quoted\" \\ }{");
  json_decref(doc);
  bo_reply_clear(&reply);
}

Test(reply, detail_with_invalid_utf8_is_repaired) {
  struct bo_reply reply = {0};
  bo_reply_error(&reply, BO_ERR_NOT_FOUND, "no resource at '%s'",
                 "/caf\xe9/\xea\xb9\x80/\xc0\xaf");
  json_t *doc = body_json(&reply);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "detail")),
                   "no resource at '/caf?/\xea\xb9\x80/?"
                   "?'");
  json_decref(doc);
  bo_reply_clear(&reply);
}

Test(reply, long_detail_is_cut_not_lost) {
  char big[4000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  struct bo_reply reply = {0};
  bo_reply_error(&reply, BO_ERR_BAD_REQUEST, "%s", big);
  json_t *doc = body_json(&reply);
  const char *d = json_string_value(json_object_get(doc, "detail"));
  cr_assert_not_null(d);
  cr_assert_gt(strlen(d), 100);
  json_decref(doc);
  bo_reply_clear(&reply);
}

Test(reply, error_replaces_previous_reply) {
  struct bo_reply reply = {0};
  bo_reply_json(&reply, 200, json_pack("{s:i}", "userId", 7));
  bo_reply_error(&reply, BO_ERR_NOT_OWNER, "not yours");
  cr_assert_eq(reply.status, 403);
  json_t *doc = body_json(&reply);
  cr_assert_null(json_object_get(doc, "userId"));
  json_decref(doc);
  bo_reply_clear(&reply);
}

Test(reply, json_reply_serialised_compact_once) {
  struct bo_reply reply = {0};
  json_t *body = json_object();
  json_object_set_new(body, "userId", json_integer(7));
  json_object_set_new(body, "name", json_string("\xea\xb9\x80"));
  bo_reply_json(&reply, 201, body);
  cr_assert_eq(reply.status, 201);
  cr_assert_eq(reply.error, BO_OK);
  cr_assert_str_eq(reply.content_type, "application/json");
  size_t len = 0;
  const char *text = bo_reply_body(&reply, &len);
  cr_assert_str_eq(text, "{\"userId\":7,\"name\":\"\xea\xb9\x80\"}");
  cr_assert_eq(len, strlen(text));
  size_t len2 = 0;
  cr_assert_eq(bo_reply_body(&reply, &len2), text, "serialised once");
  cr_assert_eq(len2, len);
  bo_reply_clear(&reply);
  cr_assert_eq(reply.status, 0);
  cr_assert_null(reply.json);
  cr_assert_null(reply.text);
}

Test(reply, json_reply_without_body_is_500) {
  struct bo_reply reply = {0};
  bo_reply_json(&reply, 200, NULL);
  cr_assert_eq(reply.status, 500);
  cr_assert_eq(reply.error, BO_ERR_INTERNAL);
  bo_reply_clear(&reply);
}

Test(reply, text_reply) {
  struct bo_reply reply = {0};
  char *text = strdup("a 1\n");
  bo_reply_text(&reply, 200, "text/plain; version=0.0.4", text, 4);
  size_t len = 0;
  const char *body = bo_reply_body(&reply, &len);
  cr_assert_eq(body, text);
  cr_assert_eq(len, 4);
  cr_assert_str_eq(reply.content_type, "text/plain; version=0.0.4");
  bo_reply_clear(&reply);
}

Test(reply, empty_reply_has_empty_body) {
  struct bo_reply reply = {0};
  reply.status = 204;
  size_t len = 99;
  const char *body = bo_reply_body(&reply, &len);
  cr_assert_not_null(body);
  cr_assert_eq(len, 0);
}

Test(reply, clear_empties_allow) {
  struct bo_reply reply = {0};
  bo_reply_error(&reply, BO_ERR_METHOD_NOT_ALLOWED, "no");
  strcpy(reply.allow, "GET");
  bo_reply_clear(&reply);
  cr_assert_eq(reply.allow[0], '\0');
}
