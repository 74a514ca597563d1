/* Users, their point balance and its history, and idempotency records. */
#include "store/sqlite_internal.h"

#include <string.h>

enum bo_store_status bo_sqlite_user_insert(struct bo_store_tx *tx,
                                           const char *name, int64_t now_ms,
                                           struct bo_user *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_USER_INSERT, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 2, now_ms);
  status = bo_sqlite_step_row(conn, stmt);
  if (status != BO_STORE_OK)
    goto done;
  out->user_id = sqlite3_column_int64(stmt, 0);
  bo_sqlite_column_text(stmt, 1, out->name, sizeof out->name);
  bo_sqlite_reset(stmt);

  /* Every user has a balance row from the start, so that a charge is one
   * conditional UPDATE and never an insert racing another insert. */
  status = bo_sqlite_stmt(conn, BO_SQLITE_POINT_CREATE, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, out->user_id);
  sqlite3_bind_int64(stmt, 2, now_ms);
  status = bo_sqlite_step_done(conn, stmt);
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status bo_sqlite_user_get(struct bo_store_tx *tx, int64_t user_id,
                                        struct bo_user *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status = bo_sqlite_stmt(conn, BO_SQLITE_USER_GET, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, user_id);
  status = bo_sqlite_step_row(conn, stmt);
  if (status != BO_STORE_OK)
    goto done;
  out->user_id = sqlite3_column_int64(stmt, 0);
  bo_sqlite_column_text(stmt, 1, out->name, sizeof out->name);
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status bo_sqlite_points_get(struct bo_store_tx *tx,
                                          int64_t user_id, int64_t *balance) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_POINT_GET, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, user_id);
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK)
    *balance = sqlite3_column_int64(stmt, 0);
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status bo_sqlite_points_add(struct bo_store_tx *tx,
                                          int64_t user_id, int64_t delta,
                                          int64_t max_balance, int64_t now_ms,
                                          int64_t *balance_after) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_POINT_ADD, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, user_id);
  sqlite3_bind_int64(stmt, 2, delta);
  sqlite3_bind_int64(stmt, 3, max_balance);
  sqlite3_bind_int64(stmt, 4, now_ms);
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK)
    *balance_after = sqlite3_column_int64(stmt, 0);
  else if (status == BO_STORE_NOT_FOUND)
    status = bo_sqlite_missing_or_conflict(conn, BO_SQLITE_POINT_GET, user_id);
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status
bo_sqlite_points_history_insert(struct bo_store_tx *tx,
                                struct bo_point_history *row, int64_t now_ms) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_HISTORY_INSERT, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, row->user_id);
  sqlite3_bind_text(stmt, 2, bo_point_type_name(row->type), -1, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 3, row->amount);
  sqlite3_bind_int64(stmt, 4, row->balance_after);
  bo_sqlite_bind_id_or_null(stmt, 5, row->payment_id);
  sqlite3_bind_int64(stmt, 6, now_ms);
  /* No row inserted: the user has no balance row, i.e. does not exist. */
  status = bo_sqlite_step_row(conn, stmt);
  if (status != BO_STORE_OK)
    goto done;
  row->history_id = sqlite3_column_int64(stmt, 0);
  row->created_at_ms = now_ms;
done:
  bo_sqlite_reset(stmt);
  return status;
}

static bool read_history(sqlite3_stmt *stmt, void *item) {
  struct bo_point_history *h = item;
  h->history_id = sqlite3_column_int64(stmt, 0);
  h->user_id = sqlite3_column_int64(stmt, 1);
  h->amount = sqlite3_column_int64(stmt, 3);
  h->balance_after = sqlite3_column_int64(stmt, 4);
  h->payment_id = sqlite3_column_int64(stmt, 5); /* NULL reads 0 */
  h->created_at_ms = sqlite3_column_int64(stmt, 6);
  return bo_sqlite_parse_point_type(stmt, 2, &h->type);
}

enum bo_store_status
bo_sqlite_points_history_get(struct bo_store_tx *tx, int64_t history_id,
                             struct bo_point_history *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_HISTORY_GET, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, history_id);
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK && !read_history(stmt, out))
    status = BO_STORE_FAILED;
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status
bo_sqlite_points_history_list(struct bo_store_tx *tx, int64_t user_id,
                              int limit, struct bo_point_history_list *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  void *items = NULL;
  size_t count = 0;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_HISTORY_LIST, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, user_id);
  /* SQLite reads a negative LIMIT as "no limit"; a caller's 0 or less
   * means none. */
  sqlite3_bind_int(stmt, 2, limit > 0 ? limit : 0);
  status = bo_sqlite_collect(conn, stmt, sizeof *out->items, read_history,
                             &items, &count);
done:
  bo_sqlite_reset(stmt);
  *out = (struct bo_point_history_list){.items = items, .count = count};
  return status;
}

enum bo_store_status
bo_sqlite_idempotency_get(struct bo_store_tx *tx, int64_t user_id,
                          enum bo_idempotency_scope scope, const char *key,
                          struct bo_idempotency_record *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_IDEMPOTENCY_GET, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, user_id);
  sqlite3_bind_text(stmt, 2, bo_idempotency_scope_name(scope), -1,
                    SQLITE_STATIC);
  sqlite3_bind_text(stmt, 3, key, -1, SQLITE_STATIC);
  status = bo_sqlite_step_row(conn, stmt);
  if (status != BO_STORE_OK)
    goto done;
  bo_sqlite_column_text(stmt, 0, out->fingerprint, sizeof out->fingerprint);
  out->result_id = sqlite3_column_int64(stmt, 1);
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status
bo_sqlite_idempotency_put(struct bo_store_tx *tx, int64_t user_id,
                          enum bo_idempotency_scope scope, const char *key,
                          const struct bo_idempotency_record *record,
                          int64_t now_ms) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_IDEMPOTENCY_PUT, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, user_id);
  sqlite3_bind_text(stmt, 2, bo_idempotency_scope_name(scope), -1,
                    SQLITE_STATIC);
  sqlite3_bind_text(stmt, 3, key, -1, SQLITE_STATIC);
  /* Bounded by the array, in case it holds no NUL. */
  sqlite3_bind_text(
      stmt, 4, record->fingerprint,
      (int)strnlen(record->fingerprint, sizeof record->fingerprint - 1),
      SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 5, record->result_id);
  sqlite3_bind_int64(stmt, 6, now_ms);
  /* The primary key decides a race of two first requests: CONFLICT. */
  status = bo_sqlite_step_done(conn, stmt);
done:
  bo_sqlite_reset(stmt);
  return status;
}
