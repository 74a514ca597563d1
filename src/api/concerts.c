/* GET /api/v1/concerts, /api/v1/concerts/{id}/schedules,
 * /api/v1/schedules/{id}/seats */
#include "api/api.h"
#include "api/common.h"
#include "booking/catalog.h"

#include <stdio.h>
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

static json_t *render_schedule(const struct bo_schedule *s, int32_t available) {
  return json_pack("{s:I, s:I, s:o, s:i, s:i}", "scheduleId",
                   (json_int_t)s->schedule_id, "concertId",
                   (json_int_t)s->concert_id, "startsAt",
                   bo_api_time(s->starts_at_ms), "totalSeats",
                   (int)s->total_seats, "availableSeats", (int)available);
}

/* The most any one seat's object takes: four 20-digit numbers at most, the
 * longest status word and the punctuation, with room to spare. */
#define SEAT_TEXT_MAX 160

/* The map as JSON text, how many of its seats are available, and when it
 * changes by itself (its first hold runs out; 0 for never). Printed
 * directly rather than built as a jansson tree: every value is a number or
 * a fixed status word, which JSON never escapes, and a tree of 50 seats
 * was most of what rebuilding a map cost (docs/benchmarks.md). */
static char *render_seats(int64_t schedule_id, const struct bo_seat_list *list,
                          size_t *len, int32_t *available,
                          int64_t *changes_at_ms) {
  *changes_at_ms = 0;
  *available = 0;
  size_t cap = 64 + list->count * SEAT_TEXT_MAX;
  char *text = malloc(cap);
  if (text == NULL)
    return NULL;
  size_t at = (size_t)snprintf(text, cap, "{\"scheduleId\":%lld,\"items\":[",
                               (long long)schedule_id);
  for (size_t i = 0; i < list->count; i++) {
    const struct bo_seat *s = &list->items[i];
    at += (size_t)snprintf(
        text + at, cap - at,
        "%s{\"seatId\":%lld,\"seatNumber\":%d,\"price\":%lld,"
        "\"status\":\"%s\"}",
        i ? "," : "", (long long)s->seat_id, (int)s->seat_number,
        (long long)s->price, bo_seat_status_name(s->status));
    if (s->status == BO_SEAT_AVAILABLE)
      (*available)++;
    if (s->hold_expires_at_ms > 0 &&
        (*changes_at_ms == 0 || s->hold_expires_at_ms < *changes_at_ms))
      *changes_at_ms = s->hold_expires_at_ms;
  }
  at += (size_t)snprintf(text + at, cap - at, "]}");
  *len = at;
  return text;
}

/* A schedule's seat map as served and its count of available seats: from
 * the schedule's snapshot while that is fresh (booking/seat_snapshots.h
 * says how fresh), else read, rendered and stored for the next reader.
 * With `text` NULL only the count is wanted. */
static enum bo_error seat_map(struct bo_app *app, int64_t schedule_id,
                              char **text, size_t *len, int32_t *available) {
  uint64_t version;
  if (bo_seat_snapshots_get(app->seat_snapshots, schedule_id,
                            bo_clock_now_ms(&app->clock), text, len, available,
                            &version))
    return BO_OK;
  struct bo_seat_list list;
  enum bo_error err = bo_catalog_seats(app, schedule_id, &list);
  if (err)
    return err;
  int64_t changes_at_ms;
  size_t built_len;
  char *built =
      render_seats(schedule_id, &list, &built_len, available, &changes_at_ms);
  free(list.items);
  if (built == NULL)
    return BO_ERR_INTERNAL;
  /* Stamped with the time the read ended: the read takes far less than the
   * snapshot's age, and the version check drops a map a change overtook. */
  bo_seat_snapshots_put(app->seat_snapshots, schedule_id, version,
                        bo_clock_now_ms(&app->clock), changes_at_ms, *available,
                        built, built_len);
  if (text == NULL) {
    free(built);
  } else {
    *text = built;
    *len = built_len;
  }
  return BO_OK;
}

/* The bookable dates. Counting every seat of every date in SQL was 73% of
 * a whole purchase's CPU with 100 dates (docs/benchmarks.md), so with
 * snapshots on, the dates come from a cheap query and each one's count
 * from its seat map snapshot, which the buyer's next request (that date's
 * map) then finds ready. The counts are as fresh as the maps. */
void bo_api_concerts_schedules(struct bo_app *app, const struct bo_request *req,
                               struct bo_reply *reply) {
  struct bo_token_info token;
  if (!bo_api_token(app, req, BO_NEED_ACTIVE, &token, reply))
    return;
  int64_t concert_id = req->path_ids[0];
  bool from_snapshots = app->seat_snapshots != NULL;
  struct bo_schedule_list list;
  enum bo_error err =
      from_snapshots ? bo_catalog_upcoming_schedules(app, concert_id, &list)
                     : bo_catalog_bookable_schedules(app, concert_id, &list);
  if (err) {
    bo_api_fail_about(reply, err, "concert", concert_id);
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < list.count && !err; i++) {
    const struct bo_schedule *s = &list.items[i];
    int32_t available = s->available_seats;
    if (from_snapshots)
      err = seat_map(app, s->schedule_id, NULL, NULL, &available);
    if (!err && available > 0)
      json_array_append_new(items, render_schedule(s, available));
  }
  free(list.items);
  if (err) {
    json_decref(items);
    bo_api_fail(reply, err);
    return;
  }
  bo_reply_json(reply, 200, json_pack("{s:o}", "items", items));
}

/* The busiest read of an on-sale: every admitted user watches the map. */
void bo_api_schedules_seats(struct bo_app *app, const struct bo_request *req,
                            struct bo_reply *reply) {
  struct bo_token_info token;
  if (!bo_api_token(app, req, BO_NEED_ACTIVE, &token, reply))
    return;
  int64_t schedule_id = req->path_ids[0];
  char *text = NULL;
  size_t len = 0;
  int32_t available;
  enum bo_error err = seat_map(app, schedule_id, &text, &len, &available);
  if (err)
    bo_api_fail_about(reply, err, "schedule", schedule_id);
  else
    bo_reply_text(reply, 200, "application/json", text, len);
}
