/* GET /api/v1/concerts/{id}/line, GET /api/v1/concerts/{id}/line/draw
 *
 * The public face of a concert's own waiting line (booking/lines.h): how
 * long it is, whether it still sells, and its verifiable draw. Before the
 * on-sale the line publishes the commitment to its seed, SHA-256(seed);
 * once the pre-queue is drawn it reveals the seed and the drawn order of
 * entry ids, so that anyone can recompute the order (tools/verify-draw)
 * and each holder can find their own entry (their token's "entryId").
 *
 * The draw document is built on every request rather than cached, which
 * keeps this file free of state: it is the queue's list of entry ids
 * (draw_result) printed without a JSON tree, 67 bytes an entry. Measured
 * with 100,000 entries (6.7 MB): printing ~9 ms; draw_result ~0.6 ms from
 * the memory queue, ~55 ms from Redis (10 LRANGEs of 10,000, so Redis is
 * never held long at once). Sending 6.7 MB costs about as much again, so a
 * cache would not change what one request costs by much.
 *
 * The public view takes the draw's time from stats(), never the entries. */
#include "booking/lines.h"

#include "api/api.h"
#include "api/common.h"
#include "queue/draw.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEX_SIZE (2 * BO_DRAW_KEY_BYTES + 1)

/* The line of concert `concert_id`; on failure answers (404 names the
 * concert) and returns false. */
static bool concert_line(struct bo_app *app, int64_t concert_id,
                         struct bo_line_view *view, struct bo_reply *reply) {
  enum bo_error err = bo_lines_get(app, concert_id, view);
  if (err == BO_ERR_NOT_FOUND)
    bo_reply_error(reply, err,
                   "concert %lld does not exist or has no waiting line of "
                   "its own",
                   (long long)concert_id);
  else if (err)
    bo_api_fail(reply, err);
  return err == BO_OK;
}

static enum bo_error queue_error(enum bo_queue_status st) {
  return st == BO_QUEUE_OK            ? BO_OK
         : st == BO_QUEUE_UNAVAILABLE ? BO_ERR_UNAVAILABLE
                                      : BO_ERR_INTERNAL;
}

static void commitment_hex(const struct bo_line_view *view,
                           char out[HEX_SIZE]) {
  uint8_t digest[BO_DRAW_KEY_BYTES];
  bo_draw_commitment(view->row.seed, digest);
  bo_draw_hex(digest, sizeof digest, out);
}

/* ---- GET /api/v1/concerts/{id}/line ------------------------------------ */

void bo_api_lines_get(struct bo_app *app, const struct bo_request *req,
                      struct bo_reply *reply) {
  int64_t concert_id = req->path_ids[0];
  struct bo_line_view view;
  if (!concert_line(app, concert_id, &view, reply))
    return;
  struct bo_queue_stats stats = {0};
  enum bo_error err =
      queue_error(view.queue->driver->stats(view.queue, &stats));
  bool drawn = stats.drawn;
  int64_t drawn_at_ms = stats.drawn_at_ms;
  if (err) {
    bo_api_fail(reply, err);
    return;
  }

  /* Without an on-sale there is no draw, so nothing to commit to; the
   * seed stays secret until the draw is made. */
  bool on_sale = view.row.on_sale_at_ms > 0;
  bool revealed = on_sale && drawn;
  char commitment[HEX_SIZE], seed[HEX_SIZE];
  commitment_hex(&view, commitment);
  if (revealed)
    bo_draw_hex(view.row.seed, sizeof view.row.seed, seed);
  json_t *body = json_pack(
      "{s:I, s:o, s:o, s:o, s:o, s:b, s:I, s:I, s:I, s:I, s:o, s:b}",
      "concertId", (json_int_t)concert_id, "onSaleAt",
      on_sale ? bo_api_time(view.row.on_sale_at_ms) : json_null(),
      "seedCommitment", on_sale ? json_string(commitment) : json_null(), "seed",
      revealed ? json_string(seed) : json_null(), "drawnAt",
      revealed ? bo_api_time(drawn_at_ms) : json_null(), "paused",
      (int)view.row.paused, "waiting", (json_int_t)stats.waiting, "preQueue",
      (json_int_t)stats.pre_queue, "active", (json_int_t)stats.active,
      "admittedLastMinute", (json_int_t)stats.admitted_last_minute, "seatsLeft",
      view.seats_left >= 0 ? json_integer(view.seats_left) : json_null(),
      "soldOut", (int)view.sold_out);
  bo_reply_json(reply, 200, body);
}

/* ---- GET /api/v1/concerts/{id}/line/draw ------------------------------- */

/* Everything of the document but the entries: 5 fields of at most 64
 * characters, with room to spare. */
#define DRAW_HEAD_MAX 512
/* One entry: its 64 hex digits, two quotes and a comma. */
#define DRAW_ENTRY_TEXT 67

/* The draw document, printed: every value is a number, a time or hex,
 * none of which JSON escapes. NULL when out of memory. */
static char *render_draw(int64_t concert_id, const struct bo_line_view *view,
                         const struct bo_draw_result *draw, size_t *len) {
  size_t cap = DRAW_HEAD_MAX + draw->count * DRAW_ENTRY_TEXT;
  char *text = malloc(cap);
  if (text == NULL)
    return NULL;
  char commitment[HEX_SIZE], seed[HEX_SIZE];
  char on_sale[BO_TIME_TEXT_SIZE], drawn[BO_TIME_TEXT_SIZE];
  commitment_hex(view, commitment);
  bo_draw_hex(view->row.seed, sizeof view->row.seed, seed);
  bo_time_format(view->row.on_sale_at_ms, on_sale);
  bo_time_format(draw->drawn_at_ms, drawn);
  size_t at = (size_t)snprintf(
      text, cap,
      "{\"concertId\":%lld,\"onSaleAt\":\"%s\",\"seedCommitment\":\"%s\","
      "\"seed\":\"%s\",\"drawnAt\":\"%s\",\"entries\":[",
      (long long)concert_id, on_sale, commitment, seed, drawn);
  for (size_t i = 0; i < draw->count; i++) {
    if (i > 0)
      text[at++] = ',';
    text[at++] = '"';
    bo_draw_hex(draw->entry_ids[i], BO_DRAW_ID_BYTES, text + at);
    at += 2 * BO_DRAW_ID_BYTES;
    text[at++] = '"';
  }
  memcpy(text + at, "]}", 3);
  *len = at + 2;
  return text;
}

/* 409 DRAW_PENDING, saying when the draw will be made. */
static void draw_pending(struct bo_app *app, const struct bo_line_view *view,
                         struct bo_reply *reply) {
  char when[BO_TIME_TEXT_SIZE];
  bo_time_format(view->row.on_sale_at_ms, when);
  int64_t left_ms = view->row.on_sale_at_ms - bo_clock_now_ms(&app->clock);
  if (left_ms > 0)
    bo_reply_error(reply, BO_ERR_DRAW_PENDING,
                   "the pre-queue is drawn at the on-sale, %s (in %lld s); "
                   "save the seedCommitment of GET /api/v1/concerts/%lld/line "
                   "now to check the draw then",
                   when, (long long)((left_ms + 999) / 1000),
                   (long long)view->line_id);
  else
    bo_reply_error(reply, BO_ERR_DRAW_PENDING,
                   "the on-sale was at %s and the draw is being made; retry "
                   "in a second",
                   when);
}

void bo_api_lines_draw(struct bo_app *app, const struct bo_request *req,
                       struct bo_reply *reply) {
  int64_t concert_id = req->path_ids[0];
  struct bo_line_view view;
  if (!concert_line(app, concert_id, &view, reply))
    return;
  if (view.row.on_sale_at_ms <= 0) {
    bo_reply_error(reply, BO_ERR_NOT_FOUND,
                   "concert %lld's line has no on-sale time, so no draw",
                   (long long)concert_id);
    return;
  }
  struct bo_draw_result draw = {0};
  enum bo_error err =
      queue_error(view.queue->driver->draw_result(view.queue, &draw));
  if (err) {
    bo_api_fail(reply, err);
  } else if (!draw.drawn) {
    draw_pending(app, &view, reply);
  } else {
    size_t len = 0;
    char *text = render_draw(concert_id, &view, &draw, &len);
    bo_reply_text(reply, 200, "application/json", text, text ? len : 0);
  }
  free(draw.entry_ids);
}
