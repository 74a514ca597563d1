/* fuzz_input: bo_input_parse (Content-Type, JSON, declared fields) on any
 * body and content type, with several field specs that between them use
 * every field type, tight and unbounded limits, required and optional
 * fields, and array items checked by bo_input_check_object as the admin
 * handler does.
 *
 * Input: byte 0 picks the spec (its value modulo the number of specs, so
 * '0'..'5' in a hand-written seed), then one line of Content-Type (empty:
 * absent, "~": present and empty), then the body.
 *
 * Beyond "no crash": on success every field given must be within its bounds
 * and equal to what the tree holds, and strings free of control
 * characters; on failure there is no tree, and the reply is a valid problem
 * document (fuzz_check_reply). */
#include "fuzz_support.h"
#include "http/input.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELDS_MAX 4

struct outputs {
  int64_t ints[FIELDS_MAX];
  const char *strings[FIELDS_MAX];
  json_t *arrays[FIELDS_MAX];
  bool bools[FIELDS_MAX];
  bool present[FIELDS_MAX];
};

struct spec {
  struct bo_field fields[FIELDS_MAX];
  size_t count;
  bool items; /* check each item of array field 0 against spec 1 */
};

/* The declared fields; `out` and `present` are pointed at an outputs
 * struct per input (bind()). */
static const struct spec specs[] = {
    /* users, points: a bounded name and an optional amount */
    {{{"name", BO_FIELD_STRING, true, 1, 64, NULL, NULL},
      {"amount", BO_FIELD_INT, false, 1, 100000000, NULL, NULL}},
     2,
     false},
    /* one schedule of the admin API */
    {{{"startsAt", BO_FIELD_TIME, true, 0, 0, NULL, NULL},
      {"seatCount", BO_FIELD_INT, true, 1, 1000, NULL, NULL},
      {"price", BO_FIELD_INT, true, 0, 100000000, NULL, NULL}},
     3,
     false},
    /* the admin API's array, items checked one by one */
    {{{"schedules", BO_FIELD_ARRAY, true, 1, 3, NULL, NULL},
      {"name", BO_FIELD_STRING, false, 1, 200, NULL, NULL}},
     2,
     true},
    /* every type, no bounds at all */
    {{{"i", BO_FIELD_INT, false, INT64_MIN, INT64_MAX, NULL, NULL},
      {"s", BO_FIELD_STRING, false, 0, INT64_MAX, NULL, NULL},
      {"t", BO_FIELD_TIME, false, 0, 0, NULL, NULL},
      {"a", BO_FIELD_ARRAY, false, 0, INT64_MAX, NULL, NULL}},
     4,
     false},
    /* no fields: any object passes */
    {{{0}}, 0, false},
    /* payments: a positive id and a string that must be empty */
    {{{"reservationId", BO_FIELD_INT, true, 1, INT64_MAX, NULL, NULL},
      {"note", BO_FIELD_STRING, false, 0, 0, NULL, NULL}},
     2,
     false},
};

#define SPEC_COUNT (sizeof specs / sizeof specs[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bind(const struct spec *spec, struct bo_field *fields,
                 struct outputs *o) {
  for (size_t i = 0; i < spec->count; i++) {
    fields[i] = spec->fields[i];
    fields[i].present = &o->present[i];
    switch (fields[i].type) {
    case BO_FIELD_INT:
    case BO_FIELD_TIME:
    case BO_FIELD_HUNDREDTHS:
      fields[i].out = &o->ints[i];
      break;
    case BO_FIELD_STRING:
      fields[i].out = &o->strings[i];
      break;
    case BO_FIELD_ARRAY:
    case BO_FIELD_OBJECT:
      fields[i].out = &o->arrays[i];
      break;
    case BO_FIELD_BOOL:
      fields[i].out = &o->bools[i];
      break;
    }
  }
}

static bool has_control(const char *s) {
  for (const unsigned char *u = (const unsigned char *)s; *u; u++)
    if (*u < 0x20 || *u == 0x7f ||
        (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f))
      return true;
  return false;
}

static int64_t code_points(const char *s) {
  int64_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xc0) != 0x80;
  return n;
}

/* What bo_input_check_object promised about `object` after it said yes. */
static void check_accepted(json_t *object, const struct bo_field *fields,
                           size_t count, const struct outputs *o) {
  for (size_t i = 0; i < count; i++) {
    const struct bo_field *f = &fields[i];
    json_t *v = json_object_get(object, f->name);
    bool given = v != NULL && !json_is_null(v);
    if (o->present[i] != given)
      fuzz_fail("field %s: present=%d but given=%d", f->name, o->present[i],
                given);
    if (f->required && !given)
      fuzz_fail("required field %s accepted while absent", f->name);
    if (!given)
      continue;
    switch (f->type) {
    case BO_FIELD_INT:
      if (!json_is_integer(v) || o->ints[i] != json_integer_value(v) ||
          o->ints[i] < f->min || o->ints[i] > f->max)
        fuzz_fail("int field %s accepted out of bounds", f->name);
      break;
    case BO_FIELD_STRING: {
      const char *s = o->strings[i];
      if (s != json_string_value(v) || strlen(s) != json_string_length(v) ||
          has_control(s) || code_points(s) < f->min || code_points(s) > f->max)
        fuzz_fail("string field %s accepted out of bounds", f->name);
      break;
    }
    case BO_FIELD_TIME: {
      int64_t again = -1;
      if (o->ints[i] < 0 || !bo_time_parse(json_string_value(v), &again) ||
          again != o->ints[i])
        fuzz_fail("time field %s accepted as %lld", f->name,
                  (long long)o->ints[i]);
      break;
    }
    case BO_FIELD_ARRAY: {
      int64_t n = (int64_t)json_array_size(v);
      if (o->arrays[i] != v || n < f->min || n > f->max)
        fuzz_fail("array field %s accepted with %lld items", f->name,
                  (long long)n);
      break;
    }
    case BO_FIELD_OBJECT:
      if (o->arrays[i] != v || !json_is_object(v))
        fuzz_fail("object field %s accepted as another type", f->name);
      break;
    case BO_FIELD_BOOL:
      if (!json_is_boolean(v) || o->bools[i] != json_is_true(v))
        fuzz_fail("bool field %s accepted as %d", f->name, o->bools[i]);
      break;
    case BO_FIELD_HUNDREDTHS: {
      double scaled = json_is_number(v) ? json_number_value(v) * 100.0 : -1e300;
      if (o->ints[i] < f->min || o->ints[i] > f->max ||
          scaled < (double)f->min || scaled > (double)f->max ||
          (double)o->ints[i] - scaled > 0.5 ||
          scaled - (double)o->ints[i] > 0.5)
        fuzz_fail("hundredths field %s accepted as %lld", f->name,
                  (long long)o->ints[i]);
      break;
    }
    }
  }
}

static void check_refused(struct bo_reply *reply, json_t *root) {
  if (root)
    fuzz_fail("refused, yet a tree was handed back");
  if (reply->status != 400 && reply->status != 415)
    fuzz_fail("input refused with status %d", reply->status);
  fuzz_check_reply(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  const struct spec *spec = &specs[data[0] % SPEC_COUNT];
  data++, size--;
  char *content_type = fuzz_take_line(&data, &size);
  const char *ct = content_type;
  if (ct[0] == '\0')
    ct = NULL;
  else if (strcmp(ct, "~") == 0)
    ct = "";
  char *body = size ? malloc(size) : NULL; /* exact size, no NUL */
  if (body)
    memcpy(body, data, size);

  struct bo_request req = {.method = "POST",
                           .path = "/fuzz",
                           .content_type = ct,
                           .body = body,
                           .body_len = size};
  struct bo_field fields[FIELDS_MAX];
  struct outputs o = {0};
  bind(spec, fields, &o);
  struct bo_reply reply = {0};
  json_t *root = NULL;
  if (!bo_input_parse(&req, fields, spec->count, &root, &reply)) {
    check_refused(&reply, root);
    goto done;
  }
  if (!root || reply.status != 0)
    fuzz_fail("accepted without a tree, or with a reply");
  check_accepted(root, fields, spec->count, &o);

  if (spec->items) {
    /* As the admin handler does: each item against the schedule spec. */
    const struct spec *item_spec = &specs[1];
    for (size_t i = 0; i < json_array_size(o.arrays[0]); i++) {
      struct bo_field item_fields[FIELDS_MAX];
      struct outputs io = {0};
      bind(item_spec, item_fields, &io);
      char where[32];
      snprintf(where, sizeof where, "schedules[%zu]", i);
      json_t *item = json_array_get(o.arrays[0], i);
      if (!bo_input_check_object(item, where, item_fields, item_spec->count,
                                 &reply)) {
        check_refused(&reply, NULL);
        break;
      }
      check_accepted(item, item_fields, item_spec->count, &io);
    }
  }
done:
  json_decref(root);
  bo_reply_clear(&reply);
  free(body);
  free(content_type);
  return 0;
}
