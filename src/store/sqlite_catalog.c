/* Concerts, schedules and seats, the race for a seat (seat_hold), and how
 * many seats a concert has left (concert_inventory) and each of its dates
 * (schedule_counts). */
#include "store/sqlite_internal.h"

enum bo_store_status bo_sqlite_concert_insert(struct bo_store_tx *tx,
                                              const char *name, int64_t now_ms,
                                              int64_t *concert_id) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_CONCERT_INSERT, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 2, now_ms);
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK)
    *concert_id = sqlite3_column_int64(stmt, 0);
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status
bo_sqlite_schedule_insert(struct bo_store_tx *tx, int64_t concert_id,
                          int64_t starts_at_ms, int32_t seat_count,
                          int64_t price, int64_t now_ms, int64_t *schedule_id) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_SCHEDULE_INSERT, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, concert_id);
  sqlite3_bind_int64(stmt, 2, starts_at_ms);
  sqlite3_bind_int(stmt, 3, seat_count);
  sqlite3_bind_int64(stmt, 4, now_ms);
  /* An unknown concert fails the foreign key: NOT_FOUND. */
  status = bo_sqlite_step_row(conn, stmt);
  if (status != BO_STORE_OK)
    goto done;
  *schedule_id = sqlite3_column_int64(stmt, 0);
  bo_sqlite_reset(stmt);

  status = bo_sqlite_stmt(conn, BO_SQLITE_SEATS_INSERT, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, *schedule_id);
  sqlite3_bind_int(stmt, 2, seat_count);
  sqlite3_bind_int64(stmt, 3, price);
  sqlite3_bind_int64(stmt, 4, now_ms);
  status = bo_sqlite_step_done(conn, stmt);
done:
  bo_sqlite_reset(stmt);
  return status;
}

static bool read_concert(sqlite3_stmt *stmt, void *item) {
  struct bo_concert *c = item;
  c->concert_id = sqlite3_column_int64(stmt, 0);
  bo_sqlite_column_text(stmt, 1, c->name, sizeof c->name);
  return true;
}

enum bo_store_status bo_sqlite_concert_list(struct bo_store_tx *tx,
                                            struct bo_concert_list *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  void *items = NULL;
  size_t count = 0;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_CONCERT_LIST, &stmt);
  if (status == BO_STORE_OK)
    status = bo_sqlite_collect(conn, stmt, sizeof *out->items, read_concert,
                               &items, &count);
  bo_sqlite_reset(stmt);
  *out = (struct bo_concert_list){.items = items, .count = count};
  return status;
}

enum bo_store_status bo_sqlite_concert_get(struct bo_store_tx *tx,
                                           int64_t concert_id,
                                           struct bo_concert *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_CONCERT_GET, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, concert_id);
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK)
    read_concert(stmt, out);
done:
  bo_sqlite_reset(stmt);
  return status;
}

static bool read_schedule(sqlite3_stmt *stmt, void *item) {
  struct bo_schedule *s = item;
  s->schedule_id = sqlite3_column_int64(stmt, 0);
  s->concert_id = sqlite3_column_int64(stmt, 1);
  s->starts_at_ms = sqlite3_column_int64(stmt, 2);
  s->total_seats = sqlite3_column_int(stmt, 3);
  s->available_seats = sqlite3_column_int(stmt, 4);
  return true;
}

static enum bo_store_status schedule_list(struct bo_store_tx *tx,
                                          enum bo_sqlite_stmt_id id,
                                          int64_t concert_id, int64_t now_ms,
                                          struct bo_schedule_list *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  void *items = NULL;
  size_t count = 0;
  enum bo_store_status status = bo_sqlite_stmt(conn, id, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, concert_id);
  sqlite3_bind_int64(stmt, 2, now_ms);
  status = bo_sqlite_collect(conn, stmt, sizeof *out->items, read_schedule,
                             &items, &count);
done:
  bo_sqlite_reset(stmt);
  *out = (struct bo_schedule_list){.items = items, .count = count};
  return status;
}

enum bo_store_status
bo_sqlite_schedule_list_bookable(struct bo_store_tx *tx, int64_t concert_id,
                                 int64_t now_ms, struct bo_schedule_list *out) {
  return schedule_list(tx, BO_SQLITE_SCHEDULE_LIST_BOOKABLE, concert_id, now_ms,
                       out);
}

enum bo_store_status
bo_sqlite_schedule_list_upcoming(struct bo_store_tx *tx, int64_t concert_id,
                                 int64_t now_ms, struct bo_schedule_list *out) {
  return schedule_list(tx, BO_SQLITE_SCHEDULE_LIST_UPCOMING, concert_id, now_ms,
                       out);
}

enum bo_store_status bo_sqlite_schedule_get(struct bo_store_tx *tx,
                                            int64_t schedule_id, int64_t now_ms,
                                            struct bo_schedule *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_SCHEDULE_GET, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, schedule_id);
  sqlite3_bind_int64(stmt, 2, now_ms);
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK)
    read_schedule(stmt, out);
done:
  bo_sqlite_reset(stmt);
  return status;
}

static bool read_seat(sqlite3_stmt *stmt, void *item) {
  struct bo_seat *s = item;
  s->seat_id = sqlite3_column_int64(stmt, 0);
  s->schedule_id = sqlite3_column_int64(stmt, 1);
  s->seat_number = sqlite3_column_int(stmt, 2);
  s->price = sqlite3_column_int64(stmt, 3);
  s->hold_expires_at_ms = sqlite3_column_int64(stmt, 5);
  return bo_sqlite_parse_seat_status(stmt, 4, &s->status);
}

static enum bo_store_status seat_list(struct bo_store_tx *tx,
                                      enum bo_sqlite_stmt_id id, int64_t key,
                                      int64_t now_ms,
                                      struct bo_seat_list *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  void *items = NULL;
  size_t count = 0;
  enum bo_store_status status = bo_sqlite_stmt(conn, id, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, key);
  sqlite3_bind_int64(stmt, 2, now_ms);
  status = bo_sqlite_collect(conn, stmt, sizeof *out->items, read_seat, &items,
                             &count);
done:
  bo_sqlite_reset(stmt);
  *out = (struct bo_seat_list){.items = items, .count = count};
  return status;
}

enum bo_store_status bo_sqlite_seat_list(struct bo_store_tx *tx,
                                         int64_t schedule_id, int64_t now_ms,
                                         struct bo_seat_list *out) {
  return seat_list(tx, BO_SQLITE_SEAT_LIST, schedule_id, now_ms, out);
}

enum bo_store_status bo_sqlite_seat_list_upcoming(struct bo_store_tx *tx,
                                                  int64_t concert_id,
                                                  int64_t now_ms,
                                                  struct bo_seat_list *out) {
  return seat_list(tx, BO_SQLITE_SEAT_LIST_UPCOMING, concert_id, now_ms, out);
}

enum bo_store_status bo_sqlite_seat_peek(struct bo_store_tx *tx,
                                         int64_t schedule_id,
                                         int32_t seat_number, int64_t now_ms,
                                         struct bo_seat_peek *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_SEAT_PEEK, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, schedule_id);
  sqlite3_bind_int(stmt, 2, seat_number);
  sqlite3_bind_int64(stmt, 3, now_ms);
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK) {
    out->starts_at_ms = sqlite3_column_int64(stmt, 0);
    if (!bo_sqlite_parse_seat_status(stmt, 1, &out->status))
      status = BO_STORE_FAILED;
  }
done:
  bo_sqlite_reset(stmt);
  return status;
}

/* seat_hold matched no row: is there no such seat, or is it taken? */
static enum bo_store_status seat_taken_or_missing(struct bo_sqlite_conn *conn,
                                                  int64_t schedule_id,
                                                  int32_t seat_number) {
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_SEAT_EXISTS, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, schedule_id);
  sqlite3_bind_int(stmt, 2, seat_number);
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK)
    status = BO_STORE_CONFLICT;
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status bo_sqlite_seat_hold(struct bo_store_tx *tx,
                                         int64_t schedule_id,
                                         int32_t seat_number, int64_t user_id,
                                         int64_t now_ms, int64_t hold_until_ms,
                                         struct bo_seat *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_SEAT_HOLD, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, schedule_id);
  sqlite3_bind_int(stmt, 2, seat_number);
  sqlite3_bind_int64(stmt, 3, user_id);
  sqlite3_bind_int64(stmt, 4, now_ms);
  sqlite3_bind_int64(stmt, 5, hold_until_ms);
  /* The one statement that decides the race: a row back means we won. */
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK) {
    out->seat_id = sqlite3_column_int64(stmt, 0);
    out->schedule_id = sqlite3_column_int64(stmt, 1);
    out->seat_number = sqlite3_column_int(stmt, 2);
    out->price = sqlite3_column_int64(stmt, 3);
    out->status = BO_SEAT_HELD;
  } else if (status == BO_STORE_NOT_FOUND) {
    status = seat_taken_or_missing(conn, schedule_id, seat_number);
  }
done:
  bo_sqlite_reset(stmt);
  return status;
}

/* A conditional HELD -> `id`'s state move of one seat. */
static enum bo_store_status seat_from_held(struct bo_store_tx *tx,
                                           enum bo_sqlite_stmt_id id,
                                           int64_t seat_id, int64_t now_ms) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status = bo_sqlite_stmt(conn, id, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, seat_id);
  sqlite3_bind_int64(stmt, 2, now_ms);
  status = bo_sqlite_step_done(conn, stmt);
  if (status == BO_STORE_OK && sqlite3_changes(conn->db) == 0)
    status = bo_sqlite_missing_or_conflict(conn, BO_SQLITE_SEAT_EXISTS_BY_ID,
                                           seat_id);
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status bo_sqlite_seat_release(struct bo_store_tx *tx,
                                            int64_t seat_id, int64_t now_ms) {
  return seat_from_held(tx, BO_SQLITE_SEAT_RELEASE, seat_id, now_ms);
}

enum bo_store_status bo_sqlite_seat_sell(struct bo_store_tx *tx,
                                         int64_t seat_id, int64_t now_ms) {
  return seat_from_held(tx, BO_SQLITE_SEAT_SELL, seat_id, now_ms);
}

enum bo_store_status bo_sqlite_concert_inventory(struct bo_store_tx *tx,
                                                 int64_t concert_id,
                                                 int64_t now_ms,
                                                 struct bo_inventory *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_CONCERT_INVENTORY, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, concert_id);
  sqlite3_bind_int64(stmt, 2, now_ms);
  /* Always one row (an aggregate), zeros when no seat matched. */
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK)
    *out = (struct bo_inventory){.available = sqlite3_column_int64(stmt, 0),
                                 .held = sqlite3_column_int64(stmt, 1),
                                 .sold = sqlite3_column_int64(stmt, 2)};
done:
  bo_sqlite_reset(stmt);
  return status;
}

static bool read_schedule_count(sqlite3_stmt *stmt, void *item) {
  struct bo_schedule_count *s = item;
  *s = (struct bo_schedule_count){
      .schedule_id = sqlite3_column_int64(stmt, 0),
      .starts_at_ms = sqlite3_column_int64(stmt, 1),
      .total = sqlite3_column_int64(stmt, 2),
      .available = sqlite3_column_int64(stmt, 3),
      .held = sqlite3_column_int64(stmt, 4),
      .sold = sqlite3_column_int64(stmt, 5),
  };
  return true;
}

enum bo_store_status
bo_sqlite_schedule_counts(struct bo_store_tx *tx, int64_t concert_id,
                          int64_t now_ms, struct bo_schedule_count_list *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  void *items = NULL;
  size_t count = 0;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_SCHEDULE_COUNTS, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, concert_id);
  sqlite3_bind_int64(stmt, 2, now_ms);
  status = bo_sqlite_collect(conn, stmt, sizeof *out->items,
                             read_schedule_count, &items, &count);
  bo_sqlite_reset(stmt);
  stmt = NULL;
  /* No date: no such concert, or (it cannot be made, but) one without
   * dates, which is an empty list. */
  if (status == BO_STORE_OK && count == 0) {
    struct bo_concert concert;
    status = bo_sqlite_concert_get(tx, concert_id, &concert);
  }
done:
  bo_sqlite_reset(stmt);
  *out = (struct bo_schedule_count_list){.items = items, .count = count};
  return status;
}
