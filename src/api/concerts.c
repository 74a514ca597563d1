/* GET /api/v1/concerts, /api/v1/concerts/{id}/schedules,
 * /api/v1/schedules/{id}/seats */
#include "api/api.h"
#include "api/common.h"
#include "booking/catalog.h"

#include <stdlib.h>
#include <string.h>

void bo_api_concerts_list(struct bo_app *app, const struct bo_request *req,
                          struct bo_reply *reply) {
  (void)req;
  struct bo_concert_list list;
  enum bo_error err = bo_catalog_concerts(app, &list);
  if (err) {
    bo_api_fail(reply, err);
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < list.count; i++)
    json_array_append_new(items, json_pack("{s:I, s:s}", "concertId",
                                           (json_int_t)list.items[i].concert_id,
                                           "name", list.items[i].name));
  free(list.items);
  bo_reply_json(reply, 200, json_pack("{s:o}", "items", items));
}

void bo_api_concerts_schedules(struct bo_app *app, const struct bo_request *req,
                               struct bo_reply *reply) {
  struct bo_token_info token;
  if (!bo_api_token(app, req, BO_NEED_ACTIVE, &token, reply))
    return;
  int64_t concert_id = req->path_ids[0];
  struct bo_schedule_list list;
  enum bo_error err = bo_catalog_bookable_schedules(app, concert_id, &list);
  if (err) {
    bo_api_fail_about(reply, err, "concert", concert_id);
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < list.count; i++) {
    const struct bo_schedule *s = &list.items[i];
    json_array_append_new(items,
                          json_pack("{s:I, s:I, s:o, s:i, s:i}", "scheduleId",
                                    (json_int_t)s->schedule_id, "concertId",
                                    (json_int_t)s->concert_id, "startsAt",
                                    bo_api_time(s->starts_at_ms), "totalSeats",
                                    (int)s->total_seats, "availableSeats",
                                    (int)s->available_seats));
  }
  free(list.items);
  bo_reply_json(reply, 200, json_pack("{s:o}", "items", items));
}

/* The map as JSON text, and when it changes by itself (its first hold runs
 * out; 0 for never). */
static char *render_seats(int64_t schedule_id, const struct bo_seat_list *list,
                          size_t *len, int64_t *changes_at_ms) {
  *changes_at_ms = 0;
  json_t *items = json_array();
  for (size_t i = 0; i < list->count; i++) {
    const struct bo_seat *s = &list->items[i];
    json_array_append_new(items, json_pack("{s:I, s:i, s:I, s:s}", "seatId",
                                           (json_int_t)s->seat_id, "seatNumber",
                                           (int)s->seat_number, "price",
                                           (json_int_t)s->price, "status",
                                           bo_seat_status_name(s->status)));
    if (s->hold_expires_at_ms > 0 &&
        (*changes_at_ms == 0 || s->hold_expires_at_ms < *changes_at_ms))
      *changes_at_ms = s->hold_expires_at_ms;
  }
  json_t *root = json_pack("{s:I, s:o}", "scheduleId", (json_int_t)schedule_id,
                           "items", items);
  char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
  json_decref(root);
  *len = text ? strlen(text) : 0;
  return text;
}

/* The busiest read of an on-sale: every admitted user watches the map. It
 * is served from the schedule's snapshot while that is fresh
 * (booking/seat_snapshots.h says how fresh), so most requests cost a
 * memcpy instead of a database read and a JSON tree of 50 seats. */
void bo_api_schedules_seats(struct bo_app *app, const struct bo_request *req,
                            struct bo_reply *reply) {
  struct bo_token_info token;
  if (!bo_api_token(app, req, BO_NEED_ACTIVE, &token, reply))
    return;
  int64_t schedule_id = req->path_ids[0];
  char *text;
  size_t len;
  uint64_t version;
  if (bo_seat_snapshots_get(app->seat_snapshots, schedule_id,
                            bo_clock_now_ms(&app->clock), &text, &len,
                            &version)) {
    bo_reply_text(reply, 200, "application/json", text, len);
    return;
  }
  struct bo_seat_list list;
  enum bo_error err = bo_catalog_seats(app, schedule_id, &list);
  if (err) {
    bo_api_fail_about(reply, err, "schedule", schedule_id);
    return;
  }
  int64_t changes_at_ms;
  text = render_seats(schedule_id, &list, &len, &changes_at_ms);
  free(list.items);
  if (text == NULL) {
    bo_api_fail(reply, BO_ERR_INTERNAL);
    return;
  }
  /* Stamped with the time the read began would be more exact; the read
   * takes well under the snapshot's age, and the version check already
   * drops a map that a change overtook. */
  bo_seat_snapshots_put(app->seat_snapshots, schedule_id, version,
                        bo_clock_now_ms(&app->clock), changes_at_ms, text, len);
  bo_reply_text(reply, 200, "application/json", text, len);
}
