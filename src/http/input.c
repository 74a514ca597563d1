/* Declared JSON input. The order of checks is the order a client fixes
 * things in: media type (415), then whether there is a body at all, then
 * whether it is JSON, then each field. The first problem found is the one
 * reported, naming the field, so a 400 always says what to change.
 *
 * jansson does much of the hard work when asked: it refuses invalid UTF-8,
 * integers beyond 64 bits, "\u0000" (we do not pass JSON_ALLOW_NUL), and,
 * with JSON_REJECT_DUPLICATES, an object naming a key twice (which would let
 * a proxy and us read different values). It keeps 1 and 1.0 apart, so a real
 * never passes for an integer. A JSON null counts as an absent field, the
 * usual reading of an explicit null for an optional value. */
#include "http/input.h"

#include "util/time.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- Content-Type ------------------------------------------------------- */

static bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

/* RFC 9110 tchar */
static bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
      (c >= 'A' && c <= 'Z'))
    return true;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static const char *skip_ows(const char *p) {
  while (is_ows(*p))
    p++;
  return p;
}

/* Scans a parameter value (token or quoted-string) at *p; stores where the
 * unquoted value starts and how long it is. Escapes in a quoted value are
 * kept as written: we only compare the charset, which never needs them. */
static bool scan_param_value(const char **p, const char **value, size_t *len) {
  const char *s = *p;
  if (*s == '"') {
    s++;
    *value = s;
    while (*s != '"') {
      if (*s == '\0')
        return false;
      if (*s == '\\' && s[1] != '\0')
        s++;
      s++;
    }
    *len = (size_t)(s - *value);
    *p = s + 1;
    return true;
  }
  *value = s;
  while (is_tchar(*s))
    s++;
  *len = (size_t)(s - *value);
  *p = s;
  return *len > 0;
}

/* "application/json" in any case, with optional parameters; a charset, if
 * named, must be UTF-8 since that is all the API reads. */
static bool content_type_is_json(const char *header) {
  static const char want[] = "application/json";
  if (header == NULL)
    return false;
  const char *p = skip_ows(header);
  if (strncasecmp(p, want, sizeof want - 1) != 0)
    return false;
  p = skip_ows(p + sizeof want - 1);
  while (*p == ';') {
    p = skip_ows(p + 1);
    if (*p == ';' || *p == '\0')
      continue; /* RFC 9110 allows empty parameters */
    const char *name = p;
    while (is_tchar(*p))
      p++;
    size_t name_len = (size_t)(p - name);
    if (name_len == 0 || *p != '=')
      return false;
    p++;
    const char *value;
    size_t value_len;
    if (!scan_param_value(&p, &value, &value_len))
      return false;
    if (name_len == 7 && strncasecmp(name, "charset", 7) == 0 &&
        !(value_len == 5 && strncasecmp(value, "utf-8", 5) == 0) &&
        !(value_len == 4 && strncasecmp(value, "utf8", 4) == 0))
      return false;
    p = skip_ows(p);
  }
  return *p == '\0';
}

/* ---- fields ------------------------------------------------------------- */

/* "between 1 and 64", "at least 1", "at most 9"; empty when unbounded. */
static void range_text(int64_t min, int64_t max, char *out, size_t size) {
  if (min != INT64_MIN && max != INT64_MAX)
    snprintf(out, size, "between %" PRId64 " and %" PRId64, min, max);
  else if (min != INT64_MIN)
    snprintf(out, size, "at least %" PRId64, min);
  else if (max != INT64_MAX)
    snprintf(out, size, "at most %" PRId64, max);
  else
    snprintf(out, size, "any number of");
}

/* Control characters (C0, DEL, C1) have no place in the names and keys the
 * API stores; they are how log lines and terminals get forged. The string
 * is valid UTF-8 (jansson checked), so C1 is the two bytes C2 80..9F. */
static bool has_control(const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < len; i++) {
    if (u[i] < 0x20 || u[i] == 0x7f)
      return true;
    if (u[i] == 0xc2 && i + 1 < len && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f)
      return true;
  }
  return false;
}

/* Code points in valid UTF-8: every byte that is not a continuation byte
 * starts one. */
static int64_t code_points(const char *s, size_t len) {
  int64_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)s[i] & 0xc0) != 0x80)
      n++;
  return n;
}

static bool check_int(json_t *value, const struct bo_field *f,
                      const char *label, struct bo_reply *reply) {
  char range[64];
  if (!json_is_integer(value)) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST, "field '%s' must be an integer",
                   label);
    return false;
  }
  int64_t v = (int64_t)json_integer_value(value);
  if (v < f->min || v > f->max) {
    range_text(f->min, f->max, range, sizeof range);
    bo_reply_error(reply, BO_ERR_BAD_REQUEST, "field '%s' must be %s", label,
                   range);
    return false;
  }
  if (f->out)
    *(int64_t *)f->out = v;
  return true;
}

static bool check_string(json_t *value, const struct bo_field *f,
                         const char *label, struct bo_reply *reply) {
  char range[64];
  if (!json_is_string(value)) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST, "field '%s' must be a string",
                   label);
    return false;
  }
  const char *s = json_string_value(value);
  size_t len = json_string_length(value);
  if (memchr(s, '\0', len) != NULL || has_control(s, len)) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                   "field '%s' must not contain control characters", label);
    return false;
  }
  int64_t chars = code_points(s, len);
  if (chars < f->min || chars > f->max) {
    range_text(f->min, f->max, range, sizeof range);
    bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                   "field '%s' must be %s characters long", label, range);
    return false;
  }
  if (f->out)
    *(const char **)f->out = s;
  return true;
}

static bool check_time(json_t *value, const struct bo_field *f,
                       const char *label, struct bo_reply *reply) {
  int64_t ms;
  if (!json_is_string(value) ||
      strlen(json_string_value(value)) != json_string_length(value) ||
      !bo_time_parse(json_string_value(value), &ms)) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                   "field '%s' must be an RFC 3339 time, e.g. "
                   "\"2026-12-24T19:00:00Z\"",
                   label);
    return false;
  }
  if (f->out)
    *(int64_t *)f->out = ms;
  return true;
}

static bool check_array(json_t *value, const struct bo_field *f,
                        const char *label, struct bo_reply *reply) {
  char range[64];
  if (!json_is_array(value)) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST, "field '%s' must be an array",
                   label);
    return false;
  }
  int64_t n = (int64_t)json_array_size(value);
  if (n < f->min || n > f->max) {
    range_text(f->min, f->max, range, sizeof range);
    bo_reply_error(reply, BO_ERR_BAD_REQUEST, "field '%s' must have %s items",
                   label, range);
    return false;
  }
  if (f->out)
    *(json_t **)f->out = value;
  return true;
}

static bool check_bool(json_t *value, const struct bo_field *f,
                       const char *label, struct bo_reply *reply) {
  if (!json_is_boolean(value)) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                   "field '%s' must be true or false", label);
    return false;
  }
  if (f->out)
    *(bool *)f->out = json_is_true(value);
  return true;
}

static bool check_object(json_t *value, const struct bo_field *f,
                         const char *label, struct bo_reply *reply) {
  if (!json_is_object(value)) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST, "field '%s' must be an object",
                   label);
    return false;
  }
  if (f->out)
    *(json_t **)f->out = value;
  return true;
}

/* A count of hundredths as the decimal a client would write: 1 -> "0.01",
 * 150 -> "1.5", 10000 -> "100". */
static void hundredths_text(int64_t v, char *out, size_t size) {
  const char *sign = v < 0 ? "-" : "";
  uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  unsigned frac = (unsigned)(a % 100);
  if (frac == 0)
    snprintf(out, size, "%s%" PRIu64, sign, a / 100);
  else if (frac % 10 == 0)
    snprintf(out, size, "%s%" PRIu64 ".%u", sign, a / 100, frac / 10);
  else
    snprintf(out, size, "%s%" PRIu64 ".%02u", sign, a / 100, frac);
}

static bool check_hundredths(json_t *value, const struct bo_field *f,
                             const char *label, struct bo_reply *reply) {
  if (!json_is_number(value)) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST, "field '%s' must be a number",
                   label);
    return false;
  }
  /* In doubles: an integer up to 2^53 is exact, and so is a bound of a
   * few digits, so the comparison is the one the client means. The
   * 9e18 limit keeps llround() within int64_t whatever the bounds. */
  double scaled = json_number_value(value) * 100.0;
  if (!(scaled >= (double)f->min && scaled <= (double)f->max &&
        fabs(scaled) < 9e18)) {
    char lo[32], hi[32];
    hundredths_text(f->min, lo, sizeof lo);
    hundredths_text(f->max, hi, sizeof hi);
    bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                   "field '%s' must be a number between %s and %s", label, lo,
                   hi);
    return false;
  }
  if (f->out)
    *(int64_t *)f->out = (int64_t)llround(scaled);
  return true;
}

bool bo_input_check_object(json_t *object, const char *where,
                           const struct bo_field *fields, size_t field_count,
                           struct bo_reply *reply) {
  for (size_t i = 0; i < field_count; i++)
    if (fields[i].present)
      *fields[i].present = false;
  if (!json_is_object(object)) {
    if (where)
      bo_reply_error(reply, BO_ERR_BAD_REQUEST, "'%s' must be an object",
                     where);
    else
      bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                     "request body must be a JSON object");
    return false;
  }
  for (size_t i = 0; i < field_count; i++) {
    const struct bo_field *f = &fields[i];
    char label[256];
    if (where)
      snprintf(label, sizeof label, "%s.%s", where, f->name);
    else
      snprintf(label, sizeof label, "%s", f->name);

    json_t *value = json_object_get(object, f->name);
    if (value == NULL || json_is_null(value)) {
      if (f->required) {
        bo_reply_error(reply, BO_ERR_BAD_REQUEST, "field '%s' is required",
                       label);
        return false;
      }
      continue;
    }
    bool ok = false;
    switch (f->type) {
    case BO_FIELD_INT:
      ok = check_int(value, f, label, reply);
      break;
    case BO_FIELD_STRING:
      ok = check_string(value, f, label, reply);
      break;
    case BO_FIELD_TIME:
      ok = check_time(value, f, label, reply);
      break;
    case BO_FIELD_ARRAY:
      ok = check_array(value, f, label, reply);
      break;
    case BO_FIELD_BOOL:
      ok = check_bool(value, f, label, reply);
      break;
    case BO_FIELD_OBJECT:
      ok = check_object(value, f, label, reply);
      break;
    case BO_FIELD_HUNDREDTHS:
      ok = check_hundredths(value, f, label, reply);
      break;
    default:
      bo_reply_error(reply, BO_ERR_INTERNAL,
                     "field '%s' has an unknown declared type", label);
      break;
    }
    if (!ok)
      return false;
    if (f->present)
      *f->present = true;
  }
  return true;
}

bool bo_input_parse(const struct bo_request *req, const struct bo_field *fields,
                    size_t field_count, json_t **root, struct bo_reply *reply) {
  json_t *tree = NULL;
  json_error_t error;
  bool ok = false;

  *root = NULL;
  if (!content_type_is_json(req->content_type)) {
    bo_reply_error(reply, BO_ERR_UNSUPPORTED_MEDIA_TYPE,
                   "Content-Type must be application/json");
    goto done;
  }
  if (req->body == NULL || req->body_len == 0) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                   "request body is empty; a JSON object is expected");
    goto done;
  }
  /* DECODE_ANY so that a bare scalar gets the clearer "must be an object"
   * below instead of a parser message. */
  tree = json_loadb(req->body, req->body_len,
                    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &error);
  if (tree == NULL) {
    if (json_error_code(&error) == json_error_out_of_memory)
      bo_reply_error(reply, BO_ERR_INTERNAL, "out of memory reading the body");
    else
      bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                     "malformed JSON at line %d, column %d: %s", error.line,
                     error.column, error.text);
    goto done;
  }
  if (!bo_input_check_object(tree, NULL, fields, field_count, reply))
    goto done;
  *root = tree;
  tree = NULL;
  ok = true;
done:
  json_decref(tree);
  return ok;
}

bool bo_input_parse_id(const char *text, size_t len, int64_t *out) {
  /* 19 digits hold INT64_MAX; a first digit 1..9 rules out "0", leading
   * zeros, signs and spaces in one test. */
  if (text == NULL || len == 0 || len > 19 || text[0] < '1' || text[0] > '9')
    return false;
  int64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (text[i] < '0' || text[i] > '9')
      return false;
    int d = text[i] - '0';
    if (v > (INT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}
