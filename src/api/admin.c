/* POST /api/v1/admin/concerts */
#include "api/api.h"
#include "api/common.h"
#include "booking/catalog.h"
#include "http/input.h"

#include <stdio.h>
#include <stdlib.h>

/* Bounds a request to something one transaction writes quickly:
 * 100 dates of 1000 seats is 100,000 seat rows. */
#define SCHEDULES_MAX 100

void bo_api_admin_create_concert(struct bo_app *app,
                                 const struct bo_request *req,
                                 struct bo_reply *reply) {
  if (!bo_api_admin(app, req, reply))
    return;
  const char *name = NULL;
  json_t *schedules_json = NULL;
  const struct bo_field fields[] = {
      {"name", BO_FIELD_STRING, true, 1, BO_CONCERT_NAME_MAX_CHARS, &name,
       NULL},
      {"schedules", BO_FIELD_ARRAY, true, 1, SCHEDULES_MAX, &schedules_json,
       NULL},
  };
  json_t *root = NULL;
  struct bo_new_schedule *schedules = NULL;
  if (!bo_input_parse(req, fields, 2, &root, reply))
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

  int64_t concert_id = 0;
  enum bo_error err =
      bo_catalog_create_concert(app, name, schedules, count, &concert_id);
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
  bo_reply_json(reply, 201,
                json_pack("{s:I, s:o}", "concertId", (json_int_t)concert_id,
                          "schedules", items));
done:
  free(schedules);
  json_decref(root);
}
