/* Concerts, schedules and seats, the race for a seat (seat_hold), and how
 * many seats a concert has left (concert_inventory) and each of its dates
 * (schedule_counts). */
#include "store/pg_internal.h"

enum bo_store_status bo_pg_concert_insert(struct bo_store_tx *tx,
                                          const char *name, int64_t now_ms,
                                          int64_t *concert_id) {
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_text(&p, name);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status =
      bo_pg_row(bo_pg_tx(tx)->conn, BO_PG_CONCERT_INSERT, &p, &res);
  if (status == BO_STORE_OK)
    *concert_id = bo_pg_int64(res, 0, 0);
  PQclear(res);
  return status;
}

enum bo_store_status
bo_pg_schedule_insert(struct bo_store_tx *tx, int64_t concert_id,
                      int64_t starts_at_ms, int32_t seat_count, int64_t price,
                      int64_t now_ms, int64_t *schedule_id) {
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, concert_id);
  bo_pg_param_int(&p, starts_at_ms);
  bo_pg_param_int(&p, seat_count);
  bo_pg_param_int(&p, price);
  bo_pg_param_int(&p, now_ms);
  /* The schedule and its seats in one statement; no row back: no such
   * concert (NOT_FOUND). */
  enum bo_store_status status =
      bo_pg_row(bo_pg_tx(tx)->conn, BO_PG_SCHEDULE_INSERT, &p, &res);
  if (status == BO_STORE_OK)
    *schedule_id = bo_pg_int64(res, 0, 0);
  PQclear(res);
  return status;
}

static bool read_concert(const PGresult *res, int row, void *item) {
  struct bo_concert *c = item;
  c->concert_id = bo_pg_int64(res, row, 0);
  bo_pg_text(res, row, 1, c->name, sizeof c->name);
  return true;
}

enum bo_store_status bo_pg_concert_list(struct bo_store_tx *tx,
                                        struct bo_concert_list *out) {
  void *items = NULL;
  size_t count = 0;
  enum bo_store_status status =
      bo_pg_list(bo_pg_tx(tx)->conn, BO_PG_CONCERT_LIST, NULL,
                 sizeof *out->items, read_concert, &items, &count);
  *out = (struct bo_concert_list){.items = items, .count = count};
  return status;
}

enum bo_store_status bo_pg_concert_get(struct bo_store_tx *tx,
                                       int64_t concert_id,
                                       struct bo_concert *out) {
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, concert_id);
  enum bo_store_status status =
      bo_pg_row(bo_pg_tx(tx)->conn, BO_PG_CONCERT_GET, &p, &res);
  if (status == BO_STORE_OK)
    read_concert(res, 0, out);
  PQclear(res);
  return status;
}

static bool read_schedule(const PGresult *res, int row, void *item) {
  struct bo_schedule *s = item;
  s->schedule_id = bo_pg_int64(res, row, 0);
  s->concert_id = bo_pg_int64(res, row, 1);
  s->starts_at_ms = bo_pg_int64(res, row, 2);
  s->total_seats = bo_pg_int32(res, row, 3);
  s->available_seats = bo_pg_int32(res, row, 4);
  return true;
}

static enum bo_store_status schedule_list(struct bo_store_tx *tx,
                                          enum bo_pg_stmt_id id,
                                          int64_t concert_id, int64_t now_ms,
                                          struct bo_schedule_list *out) {
  struct bo_pg_params p = {0};
  void *items = NULL;
  size_t count = 0;
  bo_pg_param_int(&p, concert_id);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status =
      bo_pg_list(bo_pg_tx(tx)->conn, id, &p, sizeof *out->items, read_schedule,
                 &items, &count);
  *out = (struct bo_schedule_list){.items = items, .count = count};
  return status;
}

enum bo_store_status
bo_pg_schedule_list_bookable(struct bo_store_tx *tx, int64_t concert_id,
                             int64_t now_ms, struct bo_schedule_list *out) {
  return schedule_list(tx, BO_PG_SCHEDULE_LIST_BOOKABLE, concert_id, now_ms,
                       out);
}

enum bo_store_status
bo_pg_schedule_list_upcoming(struct bo_store_tx *tx, int64_t concert_id,
                             int64_t now_ms, struct bo_schedule_list *out) {
  return schedule_list(tx, BO_PG_SCHEDULE_LIST_UPCOMING, concert_id, now_ms,
                       out);
}

enum bo_store_status bo_pg_schedule_get(struct bo_store_tx *tx,
                                        int64_t schedule_id, int64_t now_ms,
                                        struct bo_schedule *out) {
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, schedule_id);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status =
      bo_pg_row(bo_pg_tx(tx)->conn, BO_PG_SCHEDULE_GET, &p, &res);
  if (status == BO_STORE_OK)
    read_schedule(res, 0, out);
  PQclear(res);
  return status;
}

static bool read_seat(const PGresult *res, int row, void *item) {
  struct bo_seat *s = item;
  s->seat_id = bo_pg_int64(res, row, 0);
  s->schedule_id = bo_pg_int64(res, row, 1);
  s->seat_number = bo_pg_int32(res, row, 2);
  s->price = bo_pg_int64(res, row, 3);
  s->hold_expires_at_ms = bo_pg_int64(res, row, 5);
  return bo_pg_parse_seat_status(res, row, 4, &s->status);
}

static enum bo_store_status seat_list(struct bo_store_tx *tx,
                                      enum bo_pg_stmt_id id, int64_t key,
                                      int64_t now_ms,
                                      struct bo_seat_list *out) {
  struct bo_pg_params p = {0};
  void *items = NULL;
  size_t count = 0;
  bo_pg_param_int(&p, key);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status =
      bo_pg_list(bo_pg_tx(tx)->conn, id, &p, sizeof *out->items, read_seat,
                 &items, &count);
  *out = (struct bo_seat_list){.items = items, .count = count};
  return status;
}

enum bo_store_status bo_pg_seat_list(struct bo_store_tx *tx,
                                     int64_t schedule_id, int64_t now_ms,
                                     struct bo_seat_list *out) {
  return seat_list(tx, BO_PG_SEAT_LIST, schedule_id, now_ms, out);
}

enum bo_store_status bo_pg_seat_list_upcoming(struct bo_store_tx *tx,
                                              int64_t concert_id,
                                              int64_t now_ms,
                                              struct bo_seat_list *out) {
  return seat_list(tx, BO_PG_SEAT_LIST_UPCOMING, concert_id, now_ms, out);
}

enum bo_store_status bo_pg_seat_peek(struct bo_store_tx *tx,
                                     int64_t schedule_id, int32_t seat_number,
                                     int64_t now_ms, struct bo_seat_peek *out) {
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, schedule_id);
  bo_pg_param_int(&p, seat_number);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status =
      bo_pg_row(bo_pg_tx(tx)->conn, BO_PG_SEAT_PEEK, &p, &res);
  if (status == BO_STORE_OK) {
    out->starts_at_ms = bo_pg_int64(res, 0, 0);
    if (!bo_pg_parse_seat_status(res, 0, 1, &out->status))
      status = BO_STORE_FAILED;
  }
  PQclear(res);
  return status;
}

enum bo_store_status bo_pg_seat_hold(struct bo_store_tx *tx,
                                     int64_t schedule_id, int32_t seat_number,
                                     int64_t user_id, int64_t now_ms,
                                     int64_t hold_until_ms,
                                     struct bo_seat *out) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, schedule_id);
  bo_pg_param_int(&p, seat_number);
  bo_pg_param_int(&p, user_id);
  bo_pg_param_int(&p, now_ms);
  bo_pg_param_int(&p, hold_until_ms);
  /* The one statement that decides the race: a row back means we won. */
  enum bo_store_status status = bo_pg_row(conn, BO_PG_SEAT_HOLD, &p, &res);
  if (status == BO_STORE_OK) {
    out->seat_id = bo_pg_int64(res, 0, 0);
    out->schedule_id = bo_pg_int64(res, 0, 1);
    out->seat_number = bo_pg_int32(res, 0, 2);
    out->price = bo_pg_int64(res, 0, 3);
    out->status = BO_SEAT_HELD;
  } else if (status == BO_STORE_NOT_FOUND) {
    /* No such seat, or taken? The schedule and number alone. */
    p.count = 2;
    status = bo_pg_missing_or_conflict(conn, BO_PG_SEAT_EXISTS, &p);
  }
  PQclear(res);
  return status;
}

/* A conditional HELD -> `id`'s state move of one seat. */
static enum bo_store_status seat_from_held(struct bo_store_tx *tx,
                                           enum bo_pg_stmt_id id,
                                           int64_t seat_id, int64_t now_ms) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  int64_t changed = 0;
  bo_pg_param_int(&p, seat_id);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status = bo_pg_command(conn, id, &p, &changed);
  if (status == BO_STORE_OK && changed == 0) {
    p.count = 1;
    status = bo_pg_missing_or_conflict(conn, BO_PG_SEAT_EXISTS_BY_ID, &p);
  }
  return status;
}

enum bo_store_status bo_pg_seat_release(struct bo_store_tx *tx, int64_t seat_id,
                                        int64_t now_ms) {
  return seat_from_held(tx, BO_PG_SEAT_RELEASE, seat_id, now_ms);
}

enum bo_store_status bo_pg_seat_sell(struct bo_store_tx *tx, int64_t seat_id,
                                     int64_t now_ms) {
  return seat_from_held(tx, BO_PG_SEAT_SELL, seat_id, now_ms);
}

enum bo_store_status bo_pg_concert_inventory(struct bo_store_tx *tx,
                                             int64_t concert_id, int64_t now_ms,
                                             struct bo_inventory *out) {
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, concert_id);
  bo_pg_param_int(&p, now_ms);
  /* Always one row (an aggregate), zeros when no seat matched. */
  enum bo_store_status status =
      bo_pg_row(bo_pg_tx(tx)->conn, BO_PG_CONCERT_INVENTORY, &p, &res);
  if (status == BO_STORE_OK)
    *out = (struct bo_inventory){.available = bo_pg_int64(res, 0, 0),
                                 .held = bo_pg_int64(res, 0, 1),
                                 .sold = bo_pg_int64(res, 0, 2)};
  PQclear(res);
  return status;
}

static bool read_schedule_count(const PGresult *res, int row, void *item) {
  struct bo_schedule_count *s = item;
  *s = (struct bo_schedule_count){
      .schedule_id = bo_pg_int64(res, row, 0),
      .starts_at_ms = bo_pg_int64(res, row, 1),
      .total = bo_pg_int64(res, row, 2),
      .available = bo_pg_int64(res, row, 3),
      .held = bo_pg_int64(res, row, 4),
      .sold = bo_pg_int64(res, row, 5),
  };
  return true;
}

enum bo_store_status bo_pg_schedule_counts(struct bo_store_tx *tx,
                                           int64_t concert_id, int64_t now_ms,
                                           struct bo_schedule_count_list *out) {
  struct bo_pg_params p = {0};
  void *items = NULL;
  size_t count = 0;
  bo_pg_param_int(&p, concert_id);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status =
      bo_pg_list(bo_pg_tx(tx)->conn, BO_PG_SCHEDULE_COUNTS, &p,
                 sizeof *out->items, read_schedule_count, &items, &count);
  /* No date: no such concert, or (it cannot be made, but) one without
   * dates, which is an empty list. */
  if (status == BO_STORE_OK && count == 0) {
    struct bo_concert concert;
    status = bo_pg_concert_get(tx, concert_id, &concert);
  }
  *out = (struct bo_schedule_count_list){.items = items, .count = count};
  return status;
}
