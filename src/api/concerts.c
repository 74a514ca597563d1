/* GET /api/v1/concerts, /api/v1/concerts/{id}/schedules,
 * /api/v1/schedules/{id}/seats */
#include "api/api.h"
#include "api/common.h"
#include "booking/catalog.h"
#include "booking/seat_snapshots.h"

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

static json_t *render_schedule(const struct bo_schedule *s) {
  return json_pack(
      "{s:I, s:I, s:o, s:i, s:i}", "scheduleId", (json_int_t)s->schedule_id,
      "concertId", (json_int_t)s->concert_id, "startsAt",
      bo_api_time(s->starts_at_ms), "totalSeats", (int)s->total_seats,
      "availableSeats", (int)s->available_seats);
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

/* More dates than this without a fresh snapshot, and all of the
 * concert's maps are read in one query and stored, instead of one read
 * each: at the snapshots' max age a concert of 100 dates would otherwise
 * cost 100 database round trips, on every instance, for whoever asks
 * first. Not fewer: during a rush every hold and payment drops one date's
 * snapshot, and re-reading all 100 maps (5,000 seats) whenever a handful
 * were dropped was 38% of an instance's CPU on PostgreSQL
 * (docs/benchmarks.md). */
#define SCHEDULE_REBUILDS_MAX 16

/* Renders and stores the seat map of `schedule_id` from `seats` (its
 * seats only), read when the snapshots' change counter was `version`;
 * returns its count of available seats, or -1 out of memory. */
static int32_t store_map(struct bo_app *app, int64_t schedule_id,
                         const struct bo_seat_list *seats, uint64_t version) {
  int64_t changes_at_ms;
  int32_t available;
  size_t len;
  char *text =
      render_seats(schedule_id, seats, &len, &available, &changes_at_ms);
  if (text == NULL)
    return -1;
  bo_seat_snapshots_put(app->seat_snapshots, schedule_id, version,
                        bo_clock_now_ms(&app->clock), changes_at_ms, available,
                        text, len);
  free(text);
  return available;
}

/* Fills each upcoming date's available_seats (in `list`, soonest first)
 * from its snapshot; the dates without one are read one by one or, past
 * SCHEDULE_REBUILDS_MAX, all of the concert's at once, and stored. */
static enum bo_error count_from_snapshots(struct bo_app *app,
                                          int64_t concert_id,
                                          struct bo_schedule_list *list) {
  int64_t now = bo_clock_now_ms(&app->clock);
  uint64_t *versions = calloc(list->count ? list->count : 1, sizeof *versions);
  if (versions == NULL)
    return BO_ERR_INTERNAL;
  size_t missing = 0;
  for (size_t i = 0; i < list->count; i++) {
    struct bo_schedule *s = &list->items[i];
    if (!bo_seat_snapshots_get(app->seat_snapshots, s->schedule_id, now, NULL,
                               NULL, &s->available_seats, &versions[i])) {
      s->available_seats = -1;
      missing++;
    }
  }
  enum bo_error err = BO_OK;
  if (missing > 0 && missing <= SCHEDULE_REBUILDS_MAX) {
    for (size_t i = 0; i < list->count && !err; i++)
      if (list->items[i].available_seats < 0)
        err = seat_map(app, list->items[i].schedule_id, NULL, NULL,
                       &list->items[i].available_seats);
  } else if (missing > 0) {
    struct bo_seat_list seats;
    err = bo_catalog_upcoming_seats(app, concert_id, &seats);
    /* Both lists are in date order: walk them together. */
    size_t at = 0;
    for (size_t i = 0; i < list->count && !err; i++) {
      struct bo_schedule *s = &list->items[i];
      size_t first = at;
      while (at < seats.count && seats.items[at].schedule_id == s->schedule_id)
        at++;
      if (s->available_seats >= 0)
        continue;
      struct bo_seat_list mine = {.items = seats.items + first,
                                  .count = at - first};
      s->available_seats = store_map(app, s->schedule_id, &mine, versions[i]);
      if (s->available_seats < 0)
        err = BO_ERR_INTERNAL;
    }
    free(seats.items);
  }
  free(versions);
  return err;
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
  enum bo_error scope = bo_admission_scope_concert(app, &token, concert_id);
  if (scope) {
    bo_api_fail_about(reply, scope, "concert", concert_id);
    return;
  }
  bool from_snapshots = app->seat_snapshots != NULL;
  struct bo_schedule_list list;
  enum bo_error err =
      from_snapshots ? bo_catalog_upcoming_schedules(app, concert_id, &list)
                     : bo_catalog_bookable_schedules(app, concert_id, &list);
  if (err) {
    bo_api_fail_about(reply, err, "concert", concert_id);
    return;
  }
  if (from_snapshots)
    err = count_from_snapshots(app, concert_id, &list);
  json_t *items = json_array();
  for (size_t i = 0; i < list.count && !err; i++)
    if (list.items[i].available_seats > 0)
      json_array_append_new(items, render_schedule(&list.items[i]));
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
  enum bo_error err = bo_admission_scope_schedule(app, &token, schedule_id);
  if (!err)
    err = seat_map(app, schedule_id, &text, &len, &available);
  if (err)
    bo_api_fail_about(reply, err, "schedule", schedule_id);
  else
    bo_reply_text(reply, 200, "application/json", text, len);
}
