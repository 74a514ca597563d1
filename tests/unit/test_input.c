/* Declared JSON input: media type, body, JSON well-formedness, and each
 * field's type and bounds, driven with hand-built requests (no socket). */
#include "http/input.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#define JSON_TYPE "application/json"

static struct bo_request request(const char *content_type, const char *body,
                                 size_t len) {
  return (struct bo_request){.method = "POST",
                             .path = "/t",
                             .content_type = content_type,
                             .body = body,
                             .body_len = len};
}

/* The reply's detail, or "" when none. */
static const char *detail(const struct bo_reply *reply) {
  json_t *d = json_object_get(reply->json, "detail");
  return d ? json_string_value(d) : "";
}

/* A small spec used by most tests: a user name and an amount. */
struct sample {
  const char *name;
  int64_t amount;
  bool name_present, amount_present;
};

static bool parse_sample(const char *content_type, const char *body, size_t len,
                         struct sample *out, struct bo_reply *reply) {
  const struct bo_field fields[] = {
      {"name", BO_FIELD_STRING, true, 1, 64, &out->name, &out->name_present},
      {"amount", BO_FIELD_INT, false, 1, 100000000, &out->amount,
       &out->amount_present},
  };
  struct bo_request req = request(content_type, body, len);
  json_t *root = NULL;
  bool ok = bo_input_parse(&req, fields, 2, &root, reply);
  if (ok) {
    cr_assert_not_null(root);
    json_decref(root); /* the tests read only numbers after this */
    out->name = NULL;
  } else {
    cr_assert_null(root);
  }
  return ok;
}

static void expect_error(const char *content_type, const char *body, size_t len,
                         int status, const char *code,
                         const char *detail_part) {
  struct bo_reply reply = {0};
  struct sample s = {0};
  cr_assert_not(parse_sample(content_type, body, len, &s, &reply),
                "accepted: %.*s", (int)len, body);
  cr_assert_eq(reply.status, status, "status %d for %.*s", reply.status,
               (int)len, body);
  cr_assert_str_eq(json_string_value(json_object_get(reply.json, "code")),
                   code);
  if (detail_part)
    cr_assert_not_null(strstr(detail(&reply), detail_part),
                       "detail '%s' lacks '%s'", detail(&reply), detail_part);
  bo_reply_clear(&reply);
}

#define EXPECT_400(body, part)                                                 \
  expect_error(JSON_TYPE, body, strlen(body), 400, "BAD_REQUEST", part)

static void expect_ok(const char *content_type, const char *body,
                      struct sample *s) {
  struct bo_reply reply = {0};
  cr_assert(parse_sample(content_type, body, strlen(body), s, &reply),
            "rejected %s: %s", body, detail(&reply));
  cr_assert_eq(reply.status, 0, "success leaves the reply alone");
}

/* ---- media type --------------------------------------------------------- */

Test(input, content_type_variants_accepted) {
  static const char *const ok[] = {
      "application/json",
      "Application/JSON",
      "application/json; charset=utf-8",
      "application/json;charset=UTF-8",
      "application/json ; charset=\"utf-8\"",
      "application/json; charset=utf8",
      "application/json; foo=bar",
      "application/json;",
      " application/json",
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    struct sample s = {0};
    expect_ok(ok[i], "{\"name\":\"kim\"}", &s);
  }
}

Test(input, content_type_rejected_with_415) {
  static const char *const bad[] = {
      NULL,
      "",
      "text/plain",
      "text/json",
      "application/jsonx",
      "application/json-patch+json",
      "application/x-www-form-urlencoded",
      "application/json; charset=latin1",
      "application/json; charset",
      "application/json; charset=\"utf-8",
      "application/json garbage",
      "multipart/form-data; boundary=x",
  };
  const char *body = "{\"name\":\"kim\"}";
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_error(bad[i], body, strlen(body), 415, "UNSUPPORTED_MEDIA_TYPE",
                 "application/json");
}

Test(input, media_type_checked_before_body) {
  expect_error("text/plain", NULL, 0, 415, "UNSUPPORTED_MEDIA_TYPE", NULL);
}

/* ---- body and JSON ------------------------------------------------------ */

Test(input, empty_body) {
  expect_error(JSON_TYPE, NULL, 0, 400, "BAD_REQUEST", "empty");
  expect_error(JSON_TYPE, "", 0, 400, "BAD_REQUEST", "empty");
}

Test(input, malformed_json_names_line_and_column) {
  EXPECT_400("{\"name\": \"kim\",\n \"amount\": }", "line 2");
  EXPECT_400("{\"name\": \"kim\"", "malformed JSON");
  EXPECT_400("   ", "malformed JSON");
  EXPECT_400("{\"name\":\"kim\"} trailing", "malformed JSON");
  EXPECT_400("{'name':'kim'}", "malformed JSON");
}

Test(input, top_level_must_be_object) {
  EXPECT_400("[]", "JSON object");
  EXPECT_400("[{\"name\":\"kim\"}]", "JSON object");
  EXPECT_400("\"kim\"", "JSON object");
  EXPECT_400("42", "JSON object");
  EXPECT_400("null", "JSON object");
}

Test(input, invalid_utf8_rejected) {
  const char latin1[] = "{\"name\":\"caf\xe9\"}";
  const char overlong[] = "{\"name\":\"\xc0\xaf\"}";
  const char surrogate[] = "{\"name\":\"\xed\xa0\x80\"}";
  const char truncated[] = "{\"name\":\"\xea\xb9\"}";
  EXPECT_400(latin1, "malformed JSON");
  EXPECT_400(overlong, "malformed JSON");
  EXPECT_400(surrogate, "malformed JSON");
  EXPECT_400(truncated, "malformed JSON");
}

Test(input, body_is_not_nul_terminated) {
  /* Only body_len bytes count: the rest of the buffer is not JSON. */
  const char buf[] = "{\"name\":\"kim\"}GARBAGE";
  struct bo_reply reply = {0};
  struct sample s = {0};
  cr_assert(parse_sample(JSON_TYPE, buf, 14, &s, &reply));
}

Test(input, duplicate_keys_rejected) {
  EXPECT_400("{\"name\":\"kim\",\"name\":\"lee\"}", "duplicate");
  EXPECT_400("{\"name\":\"kim\",\"amount\":1,\"amount\":2}", "duplicate");
}

Test(input, escaped_nul_rejected) {
  EXPECT_400("{\"name\":\"a\\u0000b\"}", NULL);
}

Test(input, raw_nul_byte_rejected) {
  const char body[] = "{\"name\":\"a\0b\"}";
  expect_error(JSON_TYPE, body, sizeof body - 1, 400, "BAD_REQUEST", NULL);
}

Test(input, control_characters_rejected) {
  EXPECT_400("{\"name\":\"a\\nb\"}", "control characters");
  EXPECT_400("{\"name\":\"a\\tb\"}", "control characters");
  EXPECT_400("{\"name\":\"a\\u001bb\"}", "control characters");
  EXPECT_400("{\"name\":\"a\\u007fb\"}", "control characters");
  EXPECT_400("{\"name\":\"a\\u0085b\"}", "control characters");
}

/* ---- fields ------------------------------------------------------------- */

Test(input, fields_read_and_flags_set) {
  const struct bo_field fields[] = {
      {"name", BO_FIELD_STRING, true, 1, 64, NULL, NULL},
      {"amount", BO_FIELD_INT, false, 1, 100000000, NULL, NULL},
  };
  const char *name = NULL;
  int64_t amount = 0;
  bool name_present = false, amount_present = true;
  struct bo_field f[2];
  memcpy(f, fields, sizeof f);
  f[0].out = &name;
  f[0].present = &name_present;
  f[1].out = &amount;
  f[1].present = &amount_present;

  const char *body = "{\"name\":\"kim\",\"extra\":[1,2,{\"x\":true}]}";
  struct bo_request req = request(JSON_TYPE, body, strlen(body));
  struct bo_reply reply = {0};
  json_t *root = NULL;
  cr_assert(bo_input_parse(&req, f, 2, &root, &reply));
  cr_assert_str_eq(name, "kim");
  cr_assert(name_present);
  cr_assert_not(amount_present, "absent optional field is flagged");
  cr_assert_eq(amount, 0, "absent field leaves its output alone");
  json_decref(root);
}

Test(input, missing_required_field) {
  EXPECT_400("{}", "field 'name' is required");
  EXPECT_400("{\"amount\":5}", "field 'name' is required");
  EXPECT_400("{\"Name\":\"kim\"}", "field 'name' is required");
}

Test(input, null_counts_as_absent) {
  EXPECT_400("{\"name\":null}", "field 'name' is required");
  struct sample s = {0};
  expect_ok(JSON_TYPE, "{\"name\":\"kim\",\"amount\":null}", &s);
  cr_assert_not(s.amount_present);
}

Test(input, extra_fields_ignored) {
  struct sample s = {0};
  expect_ok(JSON_TYPE,
            "{\"name\":\"kim\",\"amount\":3,\"x\":1.5,\"y\":{\"z\":[]}}", &s);
  cr_assert_eq(s.amount, 3);
}

Test(input, integer_wrong_types) {
  EXPECT_400("{\"name\":\"kim\",\"amount\":1.0}",
             "field 'amount' must be an integer");
  EXPECT_400("{\"name\":\"kim\",\"amount\":1e3}", "must be an integer");
  EXPECT_400("{\"name\":\"kim\",\"amount\":1.5}", "must be an integer");
  EXPECT_400("{\"name\":\"kim\",\"amount\":\"5\"}", "must be an integer");
  EXPECT_400("{\"name\":\"kim\",\"amount\":true}", "must be an integer");
  EXPECT_400("{\"name\":\"kim\",\"amount\":[5]}", "must be an integer");
  EXPECT_400("{\"name\":\"kim\",\"amount\":{}}", "must be an integer");
}

Test(input, integer_bounds) {
  struct sample s = {0};
  expect_ok(JSON_TYPE, "{\"name\":\"kim\",\"amount\":1}", &s);
  cr_assert_eq(s.amount, 1);
  expect_ok(JSON_TYPE, "{\"name\":\"kim\",\"amount\":100000000}", &s);
  cr_assert_eq(s.amount, 100000000);
  /* -0 is an integer (zero), so it reaches the bounds check. */
  EXPECT_400("{\"name\":\"kim\",\"amount\":-0}", "between 1 and 100000000");
  EXPECT_400("{\"name\":\"kim\",\"amount\":0}", "between 1 and 100000000");
  EXPECT_400("{\"name\":\"kim\",\"amount\":100000001}",
             "between 1 and 100000000");
  EXPECT_400("{\"name\":\"kim\",\"amount\":-5}", "field 'amount'");
}

Test(input, huge_integers_rejected) {
  EXPECT_400("{\"name\":\"kim\",\"amount\":9223372036854775808}",
             "malformed JSON");
  EXPECT_400("{\"name\":\"kim\",\"amount\":-9223372036854775809}",
             "malformed JSON");
  EXPECT_400("{\"name\":\"kim\",\"amount\":123456789012345678901234567890}",
             "malformed JSON");
  EXPECT_400("{\"name\":\"kim\",\"amount\":1e400}", "malformed JSON");
}

Test(input, full_int64_range) {
  int64_t v = 0;
  const struct bo_field f[] = {
      {"v", BO_FIELD_INT, true, INT64_MIN, INT64_MAX, &v, NULL}};
  const char *bodies[] = {"{\"v\":9223372036854775807}",
                          "{\"v\":-9223372036854775808}"};
  const int64_t want[] = {INT64_MAX, INT64_MIN};
  for (int i = 0; i < 2; i++) {
    struct bo_request req = request(JSON_TYPE, bodies[i], strlen(bodies[i]));
    struct bo_reply reply = {0};
    json_t *root = NULL;
    cr_assert(bo_input_parse(&req, f, 1, &root, &reply));
    cr_assert_eq(v, want[i]);
    json_decref(root);
  }
}

Test(input, string_wrong_types) {
  EXPECT_400("{\"name\":5}", "field 'name' must be a string");
  EXPECT_400("{\"name\":true}", "must be a string");
  EXPECT_400("{\"name\":[\"kim\"]}", "must be a string");
}

Test(input, string_length_in_code_points) {
  /* 64 Hangul syllables: 192 bytes, 64 characters. */
  char name[64 * 3 + 1] = "";
  for (int i = 0; i < 64; i++)
    strcat(name, "\xea\xb9\x80"); /* 김 */
  char body[256];
  snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
  struct sample s = {0};
  expect_ok(JSON_TYPE, body, &s);

  snprintf(body, sizeof body, "{\"name\":\"%s\xea\xb9\x80\"}", name);
  EXPECT_400(body, "between 1 and 64 characters");

  expect_ok(JSON_TYPE, "{\"name\":\"\xea\xb9\x80\xec\xb2\xa0\xec\x88\x98\"}",
            &s);                                             /* 김철수 */
  expect_ok(JSON_TYPE, "{\"name\":\"\\uae40\"}", &s);        /* escaped 김 */
  expect_ok(JSON_TYPE, "{\"name\":\"\\ud83c\\udfab\"}", &s); /* 🎫 */
  EXPECT_400("{\"name\":\"\"}", "field 'name' must be between 1 and 64");
}

Test(input, string_length_exact_ascii) {
  char body[128];
  char name[66];
  memset(name, 'a', 65);
  name[65] = '\0';
  snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
  EXPECT_400(body, "characters");
  name[64] = '\0';
  snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
  struct sample s = {0};
  expect_ok(JSON_TYPE, body, &s);
}

Test(input, time_fields) {
  int64_t ms = 0;
  bool present = false;
  const struct bo_field f[] = {
      {"startsAt", BO_FIELD_TIME, true, 0, 0, &ms, &present}};
  const char *good = "{\"startsAt\":\"2026-12-24T19:00:00Z\"}";
  struct bo_request req = request(JSON_TYPE, good, strlen(good));
  struct bo_reply reply = {0};
  json_t *root = NULL;
  cr_assert(bo_input_parse(&req, f, 1, &root, &reply));
  cr_assert_eq(ms, INT64_C(1798138800000));
  cr_assert(present);
  json_decref(root);

  static const char *const bad[] = {
      "{\"startsAt\":\"2026-13-24T19:00:00Z\"}",
      "{\"startsAt\":\"2026-12-24 19:00\"}",
      "{\"startsAt\":\"tomorrow\"}",
      "{\"startsAt\":1798138800}",
      "{\"startsAt\":\"\"}",
      "{\"startsAt\":\"2026-12-24T19:00:00Z\\u0000x\"}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    req = request(JSON_TYPE, bad[i], strlen(bad[i]));
    memset(&reply, 0, sizeof reply);
    cr_assert_not(bo_input_parse(&req, f, 1, &root, &reply), "%s", bad[i]);
    cr_assert_eq(reply.status, 400);
    if (strstr(bad[i], "u0000") == NULL)
      cr_assert_not_null(
          strstr(detail(&reply), "field 'startsAt' must be an RFC 3339 time"),
          "%s: %s", bad[i], detail(&reply));
    bo_reply_clear(&reply);
  }
}

/* The admin body: an array of objects checked item by item. */
Test(input, arrays_and_nested_objects) {
  json_t *schedules = NULL;
  const struct bo_field top[] = {
      {"schedules", BO_FIELD_ARRAY, true, 1, 3, &schedules, NULL}};
  int64_t seats = 0, price = 0, at = 0;
  const struct bo_field item[] = {
      {"startsAt", BO_FIELD_TIME, true, 0, 0, &at, NULL},
      {"seatCount", BO_FIELD_INT, true, 1, 1000, &seats, NULL},
      {"price", BO_FIELD_INT, true, 0, 100000000, &price, NULL},
  };
  const char *body =
      "{\"schedules\":[{\"startsAt\":\"2026-12-24T19:00:00Z\",\"seatCount\":50,"
      "\"price\":150000},{\"startsAt\":\"2026-12-25T19:00:00Z\",\"seatCount\":"
      "0,\"price\":1}]}";
  struct bo_request req = request(JSON_TYPE, body, strlen(body));
  struct bo_reply reply = {0};
  json_t *root = NULL;
  cr_assert(bo_input_parse(&req, top, 1, &root, &reply));
  cr_assert_eq(json_array_size(schedules), 2);
  cr_assert(bo_input_check_object(json_array_get(schedules, 0), "schedules[0]",
                                  item, 3, &reply));
  cr_assert_eq(seats, 50);
  cr_assert_eq(price, 150000);
  cr_assert_not(bo_input_check_object(json_array_get(schedules, 1),
                                      "schedules[1]", item, 3, &reply));
  cr_assert_eq(reply.status, 400);
  cr_assert_not_null(strstr(detail(&reply), "'schedules[1].seatCount'"), "%s",
                     detail(&reply));
  bo_reply_clear(&reply);
  json_decref(root);
}

Test(input, array_bounds_and_type) {
  json_t *arr = NULL;
  const struct bo_field f[] = {
      {"schedules", BO_FIELD_ARRAY, true, 1, 2, &arr, NULL}};
  static const struct {
    const char *body, *part;
  } cases[] = {
      {"{\"schedules\":[]}", "between 1 and 2 items"},
      {"{\"schedules\":[1,2,3]}", "between 1 and 2 items"},
      {"{\"schedules\":{}}", "must be an array"},
      {"{\"schedules\":\"x\"}", "must be an array"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct bo_request req =
        request(JSON_TYPE, cases[i].body, strlen(cases[i].body));
    struct bo_reply reply = {0};
    json_t *root = NULL;
    cr_assert_not(bo_input_parse(&req, f, 1, &root, &reply));
    cr_assert_not_null(strstr(detail(&reply), cases[i].part), "%s: %s",
                       cases[i].body, detail(&reply));
    bo_reply_clear(&reply);
  }
}

Test(input, item_not_an_object) {
  struct bo_reply reply = {0};
  json_t *n = json_integer(3);
  cr_assert_not(bo_input_check_object(n, "schedules[0]", NULL, 0, &reply));
  cr_assert_not_null(
      strstr(detail(&reply), "'schedules[0]' must be an object"));
  json_decref(n);
  bo_reply_clear(&reply);
}

Test(input, first_problem_reported) {
  EXPECT_400("{\"name\":5,\"amount\":0}", "field 'name'");
}

/* ---- booleans, objects and hundredths (the waiting lines' settings) ---- */

/* Parses `body` against one field; on refusal the reply's detail must
 * hold `part`. */
static bool parse_one(const struct bo_field *f, const char *body,
                      const char *part) {
  struct bo_request req = request(JSON_TYPE, body, strlen(body));
  struct bo_reply reply = {0};
  json_t *root = NULL;
  bool ok = bo_input_parse(&req, f, 1, &root, &reply);
  if (ok) {
    cr_assert_eq(reply.status, 0);
  } else {
    cr_assert_eq(reply.status, 400, "%s: status %d", body, reply.status);
    if (part)
      cr_assert_not_null(strstr(detail(&reply), part), "%s: detail '%s'", body,
                         detail(&reply));
  }
  json_decref(root);
  bo_reply_clear(&reply);
  return ok;
}

Test(input, bool_fields) {
  bool v = false, present = false;
  const struct bo_field f[] = {
      {"paused", BO_FIELD_BOOL, false, 0, 0, &v, &present}};
  cr_assert(parse_one(f, "{\"paused\":true}", NULL));
  cr_assert(v && present);
  cr_assert(parse_one(f, "{\"paused\":false}", NULL));
  cr_assert(!v && present);
  cr_assert(parse_one(f, "{\"paused\":null}", NULL));
  cr_assert_not(present, "null is absent");
  static const char *const bad[] = {
      "{\"paused\":1}",      "{\"paused\":0}",  "{\"paused\":\"true\"}",
      "{\"paused\":[true]}", "{\"paused\":{}}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_not(parse_one(f, bad[i], "field 'paused' must be true or false"),
                  "%s", bad[i]);
}

Test(input, object_fields_and_their_fields) {
  json_t *line = NULL;
  bool present = false;
  const struct bo_field f[] = {
      {"line", BO_FIELD_OBJECT, false, 0, 0, &line, &present}};
  const char *body = "{\"line\":{\"activeMax\":0}}";
  struct bo_request req = request(JSON_TYPE, body, strlen(body));
  struct bo_reply reply = {0};
  json_t *root = NULL;
  cr_assert(bo_input_parse(&req, f, 1, &root, &reply));
  cr_assert(present);
  cr_assert(json_is_object(line));
  /* Its fields are named with the object's name in front. */
  int64_t active_max = 0;
  const struct bo_field inner[] = {
      {"activeMax", BO_FIELD_INT, false, 1, 10, &active_max, NULL}};
  cr_assert_not(bo_input_check_object(line, "line", inner, 1, &reply));
  cr_assert_not_null(strstr(detail(&reply), "field 'line.activeMax'"), "%s",
                     detail(&reply));
  bo_reply_clear(&reply);
  json_decref(root);

  cr_assert(parse_one(f, "{}", NULL));
  cr_assert(parse_one(f, "{\"line\":null}", NULL));
  cr_assert_not(present);
  cr_assert_not(
      parse_one(f, "{\"line\":[]}", "field 'line' must be an object"));
  cr_assert_not(parse_one(f, "{\"line\":\"x\"}", "must be an object"));
  cr_assert_not(parse_one(f, "{\"line\":1}", "must be an object"));
}

Test(input, hundredths_fields) {
  int64_t pct = -1;
  const struct bo_field f[] = {
      {"inventoryFactor", BO_FIELD_HUNDREDTHS, true, 1, 10000, &pct, NULL}};
  static const struct {
    const char *body;
    int64_t pct;
  } good[] = {
      {"{\"inventoryFactor\":1}", 100},
      {"{\"inventoryFactor\":1.0}", 100},
      {"{\"inventoryFactor\":0.01}", 1},
      {"{\"inventoryFactor\":100}", 10000},
      {"{\"inventoryFactor\":1.5}", 150},
      {"{\"inventoryFactor\":2.25}", 225},
      {"{\"inventoryFactor\":0.015}", 2},
      {"{\"inventoryFactor\":1e1}", 1000},
      {"{\"inventoryFactor\":0.29}", 29},
      {"{\"inventoryFactor\":99.99}", 9999},
      {"{\"inventoryFactor\":1.004}", 100},
      {"{\"inventoryFactor\":1.006}", 101},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    cr_assert(parse_one(f, good[i].body, NULL), "%s", good[i].body);
    cr_assert_eq(pct, good[i].pct, "%s: %lld hundredths", good[i].body,
                 (long long)pct);
  }
  /* Out of range, checked before rounding: 0.005 does not round up to
   * the minimum. */
  static const char *const out_of_range[] = {
      "{\"inventoryFactor\":0}",
      "{\"inventoryFactor\":0.005}",
      "{\"inventoryFactor\":-1}",
      "{\"inventoryFactor\":100.01}",
      "{\"inventoryFactor\":1e300}",
      "{\"inventoryFactor\":-1e300}",
      "{\"inventoryFactor\":1e-300}",
      "{\"inventoryFactor\":9223372036854775807}",
  };
  for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++)
    cr_assert_not(parse_one(f, out_of_range[i],
                            "field 'inventoryFactor' must be a number "
                            "between 0.01 and 100"),
                  "%s", out_of_range[i]);
  static const char *const wrong_type[] = {
      "{\"inventoryFactor\":\"1.5\"}",
      "{\"inventoryFactor\":true}",
      "{\"inventoryFactor\":[1]}",
  };
  for (size_t i = 0; i < sizeof wrong_type / sizeof wrong_type[0]; i++)
    cr_assert_not(
        parse_one(f, wrong_type[i], "field 'inventoryFactor' must be a number"),
        "%s", wrong_type[i]);
  cr_assert_not(parse_one(f, "{}", "field 'inventoryFactor' is required"));
}

Test(input, hundredths_bounds_written_as_decimals) {
  const struct bo_field f[] = {
      {"r", BO_FIELD_HUNDREDTHS, true, 150, 1020, NULL, NULL}};
  cr_assert_not(parse_one(f, "{\"r\":1}", "between 1.5 and 10.2"));
  const struct bo_field g[] = {
      {"r", BO_FIELD_HUNDREDTHS, true, -250, 5, NULL, NULL}};
  cr_assert_not(parse_one(g, "{\"r\":1}", "between -2.5 and 0.05"));
  cr_assert(parse_one(g, "{\"r\":-2.5}", NULL));
}
