/* Reservations, payments, and the housekeeping that writes down run-out
 * holds. */
#include "store/sqlite_internal.h"

enum bo_store_status bo_sqlite_reservation_insert(struct bo_store_tx *tx,
                                                  struct bo_reservation *row,
                                                  int64_t now_ms) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_RESERVATION_INSERT, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, row->user_id);
  sqlite3_bind_int64(stmt, 2, row->seat_id);
  sqlite3_bind_int64(stmt, 3, row->reserved_at_ms);
  sqlite3_bind_int64(stmt, 4, row->expires_at_ms);
  sqlite3_bind_text(stmt, 5, bo_reservation_status_name(row->status), -1,
                    SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 6, row->price);
  sqlite3_bind_int64(stmt, 7, now_ms);
  /* A second live reservation of the seat fails the partial unique index:
   * CONFLICT; an unknown user or seat fails a foreign key: NOT_FOUND. */
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK)
    row->reservation_id = sqlite3_column_int64(stmt, 0);
done:
  bo_sqlite_reset(stmt);
  return status;
}

static bool read_reservation(sqlite3_stmt *stmt, void *item) {
  struct bo_reservation *r = item;
  r->reservation_id = sqlite3_column_int64(stmt, 0);
  r->user_id = sqlite3_column_int64(stmt, 1);
  r->seat_id = sqlite3_column_int64(stmt, 2);
  r->schedule_id = sqlite3_column_int64(stmt, 3);
  r->seat_number = sqlite3_column_int(stmt, 4);
  r->price = sqlite3_column_int64(stmt, 5);
  r->reserved_at_ms = sqlite3_column_int64(stmt, 6);
  r->expires_at_ms = sqlite3_column_int64(stmt, 7);
  return bo_sqlite_parse_reservation_status(stmt, 8, &r->status);
}

enum bo_store_status bo_sqlite_reservation_get(struct bo_store_tx *tx,
                                               int64_t reservation_id,
                                               struct bo_reservation *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_RESERVATION_GET, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, reservation_id);
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK && !read_reservation(stmt, out))
    status = BO_STORE_FAILED;
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status
bo_sqlite_reservation_list_by_user(struct bo_store_tx *tx, int64_t user_id,
                                   struct bo_reservation_list *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  void *items = NULL;
  size_t count = 0;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_RESERVATION_LIST_BY_USER, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, user_id);
  status = bo_sqlite_collect(conn, stmt, sizeof *out->items, read_reservation,
                             &items, &count);
done:
  bo_sqlite_reset(stmt);
  *out = (struct bo_reservation_list){.items = items, .count = count};
  return status;
}

enum bo_store_status
bo_sqlite_reservation_transition(struct bo_store_tx *tx, int64_t reservation_id,
                                 enum bo_reservation_status from,
                                 enum bo_reservation_status to,
                                 int64_t live_at_ms, int64_t now_ms) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_RESERVATION_TRANSITION, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, reservation_id);
  sqlite3_bind_text(stmt, 2, bo_reservation_status_name(from), -1,
                    SQLITE_STATIC);
  sqlite3_bind_text(stmt, 3, bo_reservation_status_name(to), -1, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 4, live_at_ms);
  sqlite3_bind_int64(stmt, 5, now_ms);
  status = bo_sqlite_step_done(conn, stmt);
  if (status == BO_STORE_OK && sqlite3_changes(conn->db) == 0)
    status = bo_sqlite_missing_or_conflict(conn, BO_SQLITE_RESERVATION_EXISTS,
                                           reservation_id);
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status bo_sqlite_reservation_expire_seat(struct bo_store_tx *tx,
                                                       int64_t seat_id,
                                                       int64_t now_ms) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_RESERVATION_EXPIRE_SEAT, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, seat_id);
  sqlite3_bind_int64(stmt, 2, now_ms);
  status = bo_sqlite_step_done(conn, stmt);
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status bo_sqlite_payment_insert(struct bo_store_tx *tx,
                                              struct bo_payment *row,
                                              int64_t now_ms) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_PAYMENT_INSERT, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  if (row->paid_at_ms == 0)
    row->paid_at_ms = now_ms;
  sqlite3_bind_int64(stmt, 1, row->user_id);
  sqlite3_bind_int64(stmt, 2, row->reservation_id);
  sqlite3_bind_int64(stmt, 3, row->amount);
  sqlite3_bind_int64(stmt, 4, row->balance_after);
  sqlite3_bind_int64(stmt, 5, row->paid_at_ms);
  sqlite3_bind_int64(stmt, 6, now_ms);
  /* UNIQUE (reservation_id) decides two payments of one reservation. */
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK)
    row->payment_id = sqlite3_column_int64(stmt, 0);
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status bo_sqlite_payment_get(struct bo_store_tx *tx,
                                           int64_t payment_id,
                                           struct bo_payment *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_PAYMENT_GET, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, payment_id);
  status = bo_sqlite_step_row(conn, stmt);
  if (status != BO_STORE_OK)
    goto done;
  out->payment_id = sqlite3_column_int64(stmt, 0);
  out->user_id = sqlite3_column_int64(stmt, 1);
  out->reservation_id = sqlite3_column_int64(stmt, 2);
  out->amount = sqlite3_column_int64(stmt, 3);
  out->balance_after = sqlite3_column_int64(stmt, 4);
  out->paid_at_ms = sqlite3_column_int64(stmt, 5);
done:
  bo_sqlite_reset(stmt);
  return status;
}

/* Runs one of the housekeeping UPDATEs; *changed is how many rows moved. */
static enum bo_store_status sweep(struct bo_sqlite_conn *conn,
                                  enum bo_sqlite_stmt_id id, int64_t now_ms,
                                  int limit, int *changed) {
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status = bo_sqlite_stmt(conn, id, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, now_ms);
  sqlite3_bind_int(stmt, 2, limit);
  status = bo_sqlite_step_done(conn, stmt);
  if (status == BO_STORE_OK)
    *changed = sqlite3_changes(conn->db);
done:
  bo_sqlite_reset(stmt);
  return status;
}

/* Reservations and seats are swept separately, each by its own expiry, and
 * need not match one for one: a run-out HELD reservation is expired in fact
 * already, and its seat reads AVAILABLE already; this only writes it down. */
enum bo_store_status bo_sqlite_holds_release_expired(struct bo_store_tx *tx,
                                                     int64_t now_ms, int limit,
                                                     int *released) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  int expired = 0;
  *released = 0;
  if (limit <= 0)
    return BO_STORE_OK;
  enum bo_store_status status =
      sweep(conn, BO_SQLITE_HOLDS_EXPIRE_RESERVATIONS, now_ms, limit, &expired);
  if (status == BO_STORE_OK)
    status =
        sweep(conn, BO_SQLITE_HOLDS_RELEASE_SEATS, now_ms, limit, released);
  return status;
}
