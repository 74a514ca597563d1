/* Reservations, payments, and the housekeeping that writes down run-out
 * holds. */
#include "store/pg_internal.h"

enum bo_store_status bo_pg_reservation_insert(struct bo_store_tx *tx,
                                              struct bo_reservation *row,
                                              int64_t now_ms) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, row->user_id);
  bo_pg_param_int(&p, row->seat_id);
  bo_pg_param_int(&p, row->reserved_at_ms);
  bo_pg_param_int(&p, row->expires_at_ms);
  bo_pg_param_text(&p, bo_reservation_status_name(row->status));
  bo_pg_param_int(&p, row->price);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status =
      bo_pg_row(conn, BO_PG_RESERVATION_INSERT, &p, &res);
  if (status == BO_STORE_OK) {
    row->reservation_id = bo_pg_int64(res, 0, 0);
  } else if (status == BO_STORE_NOT_FOUND) {
    /* A second live reservation of the seat (the partial unique index):
     * CONFLICT; an unknown user or seat: NOT_FOUND. */
    p.count = 2;
    status = bo_pg_missing_or_conflict(conn, BO_PG_RESERVATION_PARENTS, &p);
  }
  PQclear(res);
  return status;
}

static bool read_reservation(const PGresult *res, int row, void *item) {
  struct bo_reservation *r = item;
  r->reservation_id = bo_pg_int64(res, row, 0);
  r->user_id = bo_pg_int64(res, row, 1);
  r->seat_id = bo_pg_int64(res, row, 2);
  r->schedule_id = bo_pg_int64(res, row, 3);
  r->seat_number = bo_pg_int32(res, row, 4);
  r->price = bo_pg_int64(res, row, 5);
  r->reserved_at_ms = bo_pg_int64(res, row, 6);
  r->expires_at_ms = bo_pg_int64(res, row, 7);
  return bo_pg_parse_reservation_status(res, row, 8, &r->status);
}

enum bo_store_status bo_pg_reservation_get(struct bo_store_tx *tx,
                                           int64_t reservation_id,
                                           struct bo_reservation *out) {
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, reservation_id);
  enum bo_store_status status =
      bo_pg_row(bo_pg_tx(tx)->conn, BO_PG_RESERVATION_GET, &p, &res);
  if (status == BO_STORE_OK && !read_reservation(res, 0, out))
    status = BO_STORE_FAILED;
  PQclear(res);
  return status;
}

enum bo_store_status
bo_pg_reservation_list_by_user(struct bo_store_tx *tx, int64_t user_id,
                               struct bo_reservation_list *out) {
  struct bo_pg_params p = {0};
  void *items = NULL;
  size_t count = 0;
  bo_pg_param_int(&p, user_id);
  enum bo_store_status status =
      bo_pg_list(bo_pg_tx(tx)->conn, BO_PG_RESERVATION_LIST_BY_USER, &p,
                 sizeof *out->items, read_reservation, &items, &count);
  *out = (struct bo_reservation_list){.items = items, .count = count};
  return status;
}

enum bo_store_status
bo_pg_reservation_transition(struct bo_store_tx *tx, int64_t reservation_id,
                             enum bo_reservation_status from,
                             enum bo_reservation_status to, int64_t live_at_ms,
                             int64_t now_ms) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  int64_t changed = 0;
  bo_pg_param_int(&p, reservation_id);
  bo_pg_param_text(&p, bo_reservation_status_name(from));
  bo_pg_param_text(&p, bo_reservation_status_name(to));
  bo_pg_param_int(&p, live_at_ms);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status =
      bo_pg_command(conn, BO_PG_RESERVATION_TRANSITION, &p, &changed);
  if (status == BO_STORE_OK && changed == 0) {
    p.count = 1;
    status = bo_pg_missing_or_conflict(conn, BO_PG_RESERVATION_EXISTS, &p);
  }
  return status;
}

enum bo_store_status bo_pg_reservation_expire_seat(struct bo_store_tx *tx,
                                                   int64_t seat_id,
                                                   int64_t now_ms) {
  struct bo_pg_params p = {0};
  bo_pg_param_int(&p, seat_id);
  bo_pg_param_int(&p, now_ms);
  return bo_pg_command(bo_pg_tx(tx)->conn, BO_PG_RESERVATION_EXPIRE_SEAT, &p,
                       NULL);
}

enum bo_store_status bo_pg_payment_insert(struct bo_store_tx *tx,
                                          struct bo_payment *row,
                                          int64_t now_ms) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  if (row->paid_at_ms == 0)
    row->paid_at_ms = now_ms;
  bo_pg_param_int(&p, row->user_id);
  bo_pg_param_int(&p, row->reservation_id);
  bo_pg_param_int(&p, row->amount);
  bo_pg_param_int(&p, row->balance_after);
  bo_pg_param_int(&p, row->paid_at_ms);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status = bo_pg_row(conn, BO_PG_PAYMENT_INSERT, &p, &res);
  if (status == BO_STORE_OK) {
    row->payment_id = bo_pg_int64(res, 0, 0);
  } else if (status == BO_STORE_NOT_FOUND) {
    /* UNIQUE (reservation_id) decides two payments of one reservation:
     * CONFLICT; an unknown user or reservation: NOT_FOUND. */
    p.count = 2;
    status = bo_pg_missing_or_conflict(conn, BO_PG_PAYMENT_PARENTS, &p);
  }
  PQclear(res);
  return status;
}

enum bo_store_status bo_pg_payment_get(struct bo_store_tx *tx,
                                       int64_t payment_id,
                                       struct bo_payment *out) {
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, payment_id);
  enum bo_store_status status =
      bo_pg_row(bo_pg_tx(tx)->conn, BO_PG_PAYMENT_GET, &p, &res);
  if (status == BO_STORE_OK) {
    out->payment_id = bo_pg_int64(res, 0, 0);
    out->user_id = bo_pg_int64(res, 0, 1);
    out->reservation_id = bo_pg_int64(res, 0, 2);
    out->amount = bo_pg_int64(res, 0, 3);
    out->balance_after = bo_pg_int64(res, 0, 4);
    out->paid_at_ms = bo_pg_int64(res, 0, 5);
  }
  PQclear(res);
  return status;
}

/* Runs one of the housekeeping UPDATEs; *changed is how many rows moved. */
static enum bo_store_status sweep(struct bo_pg_conn *conn,
                                  enum bo_pg_stmt_id id, int64_t now_ms,
                                  int limit, int *changed) {
  struct bo_pg_params p = {0};
  int64_t n = 0;
  bo_pg_param_int(&p, now_ms);
  bo_pg_param_int(&p, limit);
  enum bo_store_status status = bo_pg_command(conn, id, &p, &n);
  if (status == BO_STORE_OK)
    *changed = (int)n;
  return status;
}

/* Reservations and seats are swept separately, each by its own expiry, and
 * need not match one for one: a run-out HELD reservation is expired in fact
 * already, and its seat reads AVAILABLE already; this only writes it down.
 * Rows another transaction has locked are skipped, for the next pass. */
enum bo_store_status bo_pg_holds_release_expired(struct bo_store_tx *tx,
                                                 int64_t now_ms, int limit,
                                                 int *released) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  int expired = 0;
  *released = 0;
  if (limit <= 0)
    return BO_STORE_OK;
  enum bo_store_status status =
      sweep(conn, BO_PG_HOLDS_EXPIRE_RESERVATIONS, now_ms, limit, &expired);
  if (status == BO_STORE_OK)
    status = sweep(conn, BO_PG_HOLDS_RELEASE_SEATS, now_ms, limit, released);
  return status;
}
