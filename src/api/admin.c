/* POST /api/v1/admin/concerts
 *
 * A concert may come with a waiting line of its own ("line"), made in the
 * same transaction (booking/catalog.h). The catalog draws the line's secret
 * seed; the answer publishes only its commitment, SHA-256(seed), which
 * clients save before the on-sale to check the draw afterwards
 * (queue/draw.h, tools/verify-draw). */
#include "api/api.h"
#include "api/common.h"
#include "booking/catalog.h"
#include "booking/lines.h"
#include "http/input.h"
#include "queue/draw.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds a request to something one transaction writes quickly:
 * 100 dates of 1000 seats is 100,000 seat rows. */
#define SCHEDULES_MAX 100

/* Reads the optional "line" object into `line`. False with the reply
 * filled when a field is bad. */
static bool parse_line(struct bo_app *app, json_t *line_json,
                       struct bo_new_line *line, struct bo_reply *reply) {
  int64_t factor_pct = BO_LINE_FACTOR_DEFAULT_PCT;
  bool on_sale_given = false;
  const struct bo_field fields[] = {
      {"activeMax", BO_FIELD_INT, false, 1, BO_LINE_ACTIVE_MAX_MAX,
       &line->active_max, NULL},
      {"admitPerMinute", BO_FIELD_INT, false, 0, BO_LINE_ADMIT_PER_MINUTE_MAX,
       &line->admit_per_minute, NULL},
      {"onSaleAt", BO_FIELD_TIME, false, 0, 0, &line->on_sale_at_ms,
       &on_sale_given},
      {"inventoryFactor", BO_FIELD_HUNDREDTHS, false, BO_LINE_FACTOR_MIN_PCT,
       BO_LINE_FACTOR_MAX_PCT, &factor_pct, NULL},
  };
  if (!bo_input_check_object(line_json, "line", fields,
                             sizeof fields / sizeof fields[0], reply))
    return false;
  /* An on-sale already past would open a pre-queue that nobody can join
   * and draw it empty: almost surely a mistyped date, so say so now. */
  if (on_sale_given && line->on_sale_at_ms <= bo_clock_now_ms(&app->clock)) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                   "field 'line.onSaleAt' must be in the future");
    return false;
  }
  line->inventory_factor_pct = (int32_t)factor_pct;
  return true;
}

static json_t *render_line(int64_t concert_id, const struct bo_new_line *line) {
  json_t *on_sale = json_null(), *commitment = json_null();
  if (line->on_sale_at_ms > 0) {
    uint8_t digest[BO_DRAW_KEY_BYTES];
    char hex[2 * BO_DRAW_KEY_BYTES + 1];
    bo_draw_commitment(line->seed, digest);
    bo_draw_hex(digest, sizeof digest, hex);
    on_sale = bo_api_time(line->on_sale_at_ms);
    commitment = json_string(hex);
  }
  return json_pack("{s:I, s:o, s:o}", "lineId", (json_int_t)concert_id,
                   "onSaleAt", on_sale, "seedCommitment", commitment);
}

void bo_api_admin_create_concert(struct bo_app *app,
                                 const struct bo_request *req,
                                 struct bo_reply *reply) {
  if (!bo_api_admin(app, req, reply))
    return;
  const char *name = NULL;
  json_t *schedules_json = NULL, *line_json = NULL;
  bool line_given = false;
  const struct bo_field fields[] = {
      {"name", BO_FIELD_STRING, true, 1, BO_CONCERT_NAME_MAX_CHARS, &name,
       NULL},
      {"schedules", BO_FIELD_ARRAY, true, 1, SCHEDULES_MAX, &schedules_json,
       NULL},
      {"line", BO_FIELD_OBJECT, false, 0, 0, &line_json, &line_given},
  };
  json_t *root = NULL;
  struct bo_new_schedule *schedules = NULL;
  struct bo_new_line line = {0};
  if (!bo_input_parse(req, fields, sizeof fields / sizeof fields[0], &root,
                      reply))
    goto done;

  size_t count = json_array_size(schedules_json);
  schedules = calloc(count, sizeof *schedules);
  if (!schedules) {
    bo_api_fail(reply, BO_ERR_INTERNAL);
    goto done;
  }
  for (size_t i = 0; i < count; i++) {
    int64_t seat_count = 0, price = 0;
    const struct bo_field item_fields[] = {
        {"startsAt", BO_FIELD_TIME, true, 0, 0, &schedules[i].starts_at_ms,
         NULL},
        {"seatCount", BO_FIELD_INT, true, 1, BO_SEAT_COUNT_MAX, &seat_count,
         NULL},
        {"price", BO_FIELD_INT, true, 0, BO_PRICE_MAX, &price, NULL},
    };
    char where[32];
    snprintf(where, sizeof where, "schedules[%zu]", i);
    if (!bo_input_check_object(json_array_get(schedules_json, i), where,
                               item_fields, 3, reply))
      goto done;
    schedules[i].seat_count = (int32_t)seat_count;
    schedules[i].price = price;
  }
  if (line_given && !parse_line(app, line_json, &line, reply))
    goto done;

  int64_t concert_id = 0;
  enum bo_error err = bo_catalog_create_concert(
      app, name, schedules, count, line_given ? &line : NULL, &concert_id);
  if (err) {
    bo_api_fail(reply, err);
    goto done;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < count; i++)
    json_array_append_new(
        items, json_pack("{s:I, s:o, s:i}", "scheduleId",
                         (json_int_t)schedules[i].schedule_id, "startsAt",
                         bo_api_time(schedules[i].starts_at_ms), "seatCount",
                         (int)schedules[i].seat_count));
  json_t *body = json_pack("{s:I, s:o}", "concertId", (json_int_t)concert_id,
                           "schedules", items);
  if (body && line_given)
    json_object_set_new(body, "line", render_line(concert_id, &line));
  bo_reply_json(reply, 201, body);
done:
  /* The seed is the draw's secret until the on-sale: leave no copy of it
   * in freed stack memory either. */
  sodium_memzero(line.seed, sizeof line.seed);
  free(schedules);
  json_decref(root);
}
