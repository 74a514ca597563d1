/* Declared JSON input. A handler lists its fields (name, type, bounds,
 * required) and bo_input_parse() checks them all before anything changes:
 * Content-Type (415), well-formed UTF-8 JSON object (400), each field's type
 * and bounds (400 naming the field). Fractional numbers are not integers;
 * integers beyond 64 bits are malformed. Unknown fields are ignored. */
#ifndef BO_HTTP_INPUT_H
#define BO_HTTP_INPUT_H

#include "http/reply.h"
#include "http/request.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bo_field_type {
  BO_FIELD_INT,    /* out: int64_t *; min..max inclusive */
  BO_FIELD_STRING, /* out: const char **, borrowed from the tree;
                      min..max counted in characters (code points) */
  BO_FIELD_TIME,   /* out: int64_t * milliseconds; an RFC 3339 string */
  BO_FIELD_ARRAY,  /* out: json_t **, borrowed; min..max items */
  BO_FIELD_BOOL,   /* out: bool *; true or false; min, max unused */
  BO_FIELD_OBJECT, /* out: json_t **, borrowed, to check with
                      bo_input_check_object(); min, max unused */
  /* A JSON number, integer or fraction, read as a count of hundredths
   * (1.25 -> 125), rounded half away from zero: a ratio or a factor the
   * API takes with two decimals and stores as a whole percentage.
   * out: int64_t *; min..max in hundredths, checked before rounding, so
   * 0.005 is below a minimum of 1 (0.01) rather than rounded up to it. */
  BO_FIELD_HUNDREDTHS,
};

struct bo_field {
  const char *name;
  enum bo_field_type type;
  bool required;
  int64_t min, max;
  void *out;
  bool *present; /* optional: set to whether the field was given */
};

/* Parses and validates the request body. On success *root holds the tree
 * (the caller json_decref()s it; borrowed strings live as long as it). On
 * failure the reply holds the error, *root is NULL, returns false. */
bool bo_input_parse(const struct bo_request *req, const struct bo_field *fields,
                    size_t field_count, json_t **root, struct bo_reply *reply);

/* Validates one object already parsed (an array item). `where` prefixes the
 * field names in messages, e.g. "schedules[2]". */
bool bo_input_check_object(json_t *object, const char *where,
                           const struct bo_field *fields, size_t field_count,
                           struct bo_reply *reply);

/* Strict decimal parse of a positive 64-bit id ("7"; not "07", "+7", "7x",
 * "0", or anything past INT64_MAX). */
bool bo_input_parse_id(const char *text, size_t len, int64_t *out);

#endif
