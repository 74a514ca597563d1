/* The operator's handles on the waiting lines (booking/lines.h), all
 * behind the admin secret:
 *   GET   /api/v1/admin/lines                every line, the global one first
 *   GET   /api/v1/admin/queue                the global line (line 0)
 *   PATCH /api/v1/admin/queue                change it live
 *   GET   /api/v1/admin/concerts/{id}/line   a concert's own line
 *   PATCH /api/v1/admin/concerts/{id}/line   change it live
 *   POST  /api/v1/admin/tokens/end           end one live token now
 * A change is stored and applied on this instance at once, on the others
 * within a second (BO_LINES_REREAD_MS). */
#include "api/api.h"
#include "api/common.h"
#include "booking/lines.h"
#include "http/input.h"
#include "util/token.h"

#include <stdlib.h>

#define GLOBAL_LINE 0

/* ---- rendering ---------------------------------------------------------- */

static json_t *count_or_null(bool counted, int64_t n) {
  return counted ? json_integer(n) : json_null();
}

/* A line as the operator sees it: its settings and its numbers. NULL when
 * the queue store cannot be asked (*err says why) or memory ran out. */
static json_t *render_view(const struct bo_line_view *view,
                           enum bo_error *err) {
  struct bo_queue_stats stats = {0};
  enum bo_queue_status st = view->queue->driver->stats(view->queue, &stats);
  if (st != BO_QUEUE_OK) {
    *err = st == BO_QUEUE_UNAVAILABLE ? BO_ERR_UNAVAILABLE : BO_ERR_INTERNAL;
    return NULL;
  }
  bool concert = view->line_id != GLOBAL_LINE;
  /* An inventory not counted yet reads null rather than a made-up 0. */
  bool counted = concert && view->seats_left >= 0;
  const struct bo_line_row *row = &view->row;
  json_t *body = json_pack(
      "{s:I, s:o, s:b, s:I, s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:b, s:o, s:o, "
      "s:o, s:b}",
      "lineId", (json_int_t)view->line_id, "concertId",
      concert ? json_integer(view->line_id) : json_null(), "paused",
      (int)row->paused, "activeMax", (json_int_t)view->active_max,
      "admitPerMinute", (json_int_t)row->admit_per_minute, "inventoryFactor",
      row->inventory_factor_pct > 0
          ? json_real(row->inventory_factor_pct / 100.0)
          : json_null(),
      "onSaleAt",
      row->on_sale_at_ms > 0 ? bo_api_time(row->on_sale_at_ms) : json_null(),
      "waiting", (json_int_t)stats.waiting, "preQueue",
      (json_int_t)stats.pre_queue, "active", (json_int_t)stats.active,
      "admittedLastMinute", (json_int_t)stats.admitted_last_minute, "drawn",
      (int)stats.drawn, "held", count_or_null(counted, view->inventory.held),
      "sold", count_or_null(counted, view->inventory.sold), "seatsLeft",
      count_or_null(counted, view->seats_left), "soldOut", (int)view->sold_out);
  if (body == NULL)
    *err = BO_ERR_INTERNAL;
  return body;
}

/* Answers with line `line_id`'s view, or the error reading it. */
static void reply_line(struct bo_app *app, int64_t line_id, int status,
                       struct bo_reply *reply) {
  struct bo_line_view view;
  enum bo_error err = bo_lines_get(app, line_id, &view);
  json_t *body = err ? NULL : render_view(&view, &err);
  if (err == BO_ERR_NOT_FOUND)
    bo_reply_error(reply, err,
                   "concert %lld does not exist or has no waiting line of "
                   "its own",
                   (long long)line_id);
  else if (err)
    bo_api_fail(reply, err);
  else
    bo_reply_json(reply, status, body);
}

void bo_api_admin_lines_list(struct bo_app *app, const struct bo_request *req,
                             struct bo_reply *reply) {
  if (!bo_api_admin(app, req, reply))
    return;
  struct bo_line_view *views = NULL;
  size_t count = 0;
  enum bo_error err = bo_lines_list(app, &views, &count);
  json_t *items = err ? NULL : json_array();
  if (!err && items == NULL)
    err = BO_ERR_INTERNAL;
  /* bo_lines_list() orders by id, so the global line (0) leads. */
  for (size_t i = 0; !err && i < count; i++)
    if (json_array_append_new(items, render_view(&views[i], &err)) != 0 && !err)
      err = BO_ERR_INTERNAL;
  free(views);
  if (err) {
    json_decref(items);
    bo_api_fail(reply, err);
    return;
  }
  bo_reply_json(reply, 200, json_pack("{s:o}", "items", items));
}

void bo_api_admin_queue_get(struct bo_app *app, const struct bo_request *req,
                            struct bo_reply *reply) {
  if (bo_api_admin(app, req, reply))
    reply_line(app, GLOBAL_LINE, 200, reply);
}

void bo_api_admin_line_get(struct bo_app *app, const struct bo_request *req,
                           struct bo_reply *reply) {
  if (bo_api_admin(app, req, reply))
    reply_line(app, req->path_ids[0], 200, reply);
}

/* ---- PATCH -------------------------------------------------------------- */

/* What a PATCH body gave: each field with whether it was there. */
struct line_patch {
  bool paused;
  int64_t active_max, admit_per_minute, factor_pct;
  bool paused_given, active_max_given, admit_given, factor_given;
};

static bool parse_patch(const struct bo_request *req, int64_t line_id,
                        struct line_patch *p, struct bo_reply *reply) {
  const struct bo_field fields[] = {
      {"paused", BO_FIELD_BOOL, false, 0, 0, &p->paused, &p->paused_given},
      {"activeMax", BO_FIELD_INT, false, 1, BO_LINE_ACTIVE_MAX_MAX,
       &p->active_max, &p->active_max_given},
      {"admitPerMinute", BO_FIELD_INT, false, 0, BO_LINE_ADMIT_PER_MINUTE_MAX,
       &p->admit_per_minute, &p->admit_given},
      {"inventoryFactor", BO_FIELD_HUNDREDTHS, false, BO_LINE_FACTOR_MIN_PCT,
       BO_LINE_FACTOR_MAX_PCT, &p->factor_pct, &p->factor_given},
  };
  json_t *root = NULL;
  if (!bo_input_parse(req, fields, sizeof fields / sizeof fields[0], &root,
                      reply))
    return false;
  json_decref(root);
  if (!p->paused_given && !p->active_max_given && !p->admit_given &&
      !p->factor_given) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                   "nothing to change: give at least one of 'paused', "
                   "'activeMax', 'admitPerMinute', 'inventoryFactor'");
    return false;
  }
  /* The global line serves every concert without a line of its own; no
   * one inventory caps it, and a factor would cap it at zero. */
  if (line_id == GLOBAL_LINE && p->factor_given) {
    bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                   "field 'inventoryFactor' applies to a concert's line only; "
                   "the global line has no inventory");
    return false;
  }
  return true;
}

/* The whole change: what the PATCH gave, the rest as stored. */
static struct bo_line_change merge(const struct bo_line_row *row,
                                   const struct line_patch *p) {
  return (struct bo_line_change){
      .active_max = p->active_max_given ? p->active_max : row->active_max,
      .admit_per_minute =
          p->admit_given ? p->admit_per_minute : row->admit_per_minute,
      .inventory_factor_pct =
          p->factor_given ? (int32_t)p->factor_pct : row->inventory_factor_pct,
      .paused = p->paused_given ? p->paused : row->paused,
  };
}

static void patch_line(struct bo_app *app, const struct bo_request *req,
                       int64_t line_id, struct bo_reply *reply) {
  if (!bo_api_admin(app, req, reply))
    return;
  struct line_patch patch = {0};
  if (!parse_patch(req, line_id, &patch, reply))
    return;
  struct bo_line_view view;
  enum bo_error err = bo_lines_get(app, line_id, &view);
  if (!err) {
    struct bo_line_change change = merge(&view.row, &patch);
    err = bo_lines_change(app, line_id, &change);
  }
  if (err && err != BO_ERR_NOT_FOUND) {
    bo_api_fail(reply, err);
    return;
  }
  /* NOT_FOUND is worded there, the same as for a GET. */
  reply_line(app, line_id, 200, reply);
}

void bo_api_admin_queue_patch(struct bo_app *app, const struct bo_request *req,
                              struct bo_reply *reply) {
  patch_line(app, req, GLOBAL_LINE, reply);
}

void bo_api_admin_line_patch(struct bo_app *app, const struct bo_request *req,
                             struct bo_reply *reply) {
  patch_line(app, req, req->path_ids[0], reply);
}

/* ---- POST /api/v1/admin/tokens/end -------------------------------------- */

void bo_api_admin_token_end(struct bo_app *app, const struct bo_request *req,
                            struct bo_reply *reply) {
  if (!bo_api_admin(app, req, reply))
    return;
  const char *token = NULL;
  const struct bo_field fields[] = {
      {"token", BO_FIELD_STRING, true, 1, BO_SCOPED_TOKEN_TEXT_MAX, &token,
       NULL},
  };
  json_t *root = NULL;
  if (!bo_input_parse(req, fields, 1, &root, reply))
    return;
  enum bo_error err = bo_admission_end(app, token);
  /* TOKEN_INVALID speaks to someone presenting a token; the operator
   * named one, which is simply not there (or no longer live). */
  if (err == BO_ERR_TOKEN_INVALID)
    bo_reply_error(reply, BO_ERR_NOT_FOUND,
                   "no live token '%s' (unknown, expired, or already ended "
                   "or spent)",
                   token);
  else if (err)
    bo_api_fail(reply, err);
  else
    bo_reply_json(reply, 200,
                  json_pack("{s:s, s:s}", "token", token, "status", "ENDED"));
  json_decref(root);
}
