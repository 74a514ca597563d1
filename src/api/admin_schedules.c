/* GET /api/v1/admin/concerts/{id}/schedules, behind the admin secret: every
 * date of a concert, past ones too, soonest first, with its seats held and
 * sold as of now, for the operator's dashboard. The public schedule list
 * (api/concerts.c) shows only bookable dates and no held or sold counts. */
#include "api/api.h"
#include "api/common.h"
#include "booking/catalog.h"

#include <stdlib.h>

static json_t *render_count(const struct bo_schedule_count *s, int64_t now_ms) {
  return json_pack("{s:I, s:o, s:b, s:I, s:I, s:I, s:I}", "scheduleId",
                   (json_int_t)s->schedule_id, "startsAt",
                   bo_api_time(s->starts_at_ms), "past",
                   (int)(s->starts_at_ms <= now_ms), "totalSeats",
                   (json_int_t)s->total, "available", (json_int_t)s->available,
                   "held", (json_int_t)s->held, "sold", (json_int_t)s->sold);
}

void bo_api_admin_schedules_list(struct bo_app *app,
                                 const struct bo_request *req,
                                 struct bo_reply *reply) {
  if (!bo_api_admin(app, req, reply))
    return;
  int64_t concert_id = req->path_ids[0];
  struct bo_schedule_count_list list;
  int64_t now_ms;
  enum bo_error err =
      bo_catalog_schedule_counts(app, concert_id, &list, &now_ms);
  if (err == BO_ERR_NOT_FOUND) {
    bo_reply_error(reply, err, "concert %lld does not exist",
                   (long long)concert_id);
    return;
  }
  if (err) {
    bo_api_fail(reply, err);
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; items != NULL && i < list.count; i++)
    if (json_array_append_new(items, render_count(&list.items[i], now_ms)) !=
        0) {
      json_decref(items);
      items = NULL;
    }
  free(list.items);
  if (items == NULL) {
    bo_api_fail(reply, BO_ERR_INTERNAL);
    return;
  }
  bo_reply_json(reply, 200,
                json_pack("{s:I, s:o}", "concertId", (json_int_t)concert_id,
                          "items", items));
}
