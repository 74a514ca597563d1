/* Users, their point balance and its history, and idempotency records. */
#include "store/pg_internal.h"

#include <string.h>

enum bo_store_status bo_pg_user_insert(struct bo_store_tx *tx, const char *name,
                                       int64_t now_ms, struct bo_user *out) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_text(&p, name);
  bo_pg_param_int(&p, now_ms);
  /* One statement makes the user and its zero balance (pg_sql.c). */
  enum bo_store_status status = bo_pg_row(conn, BO_PG_USER_INSERT, &p, &res);
  if (status == BO_STORE_OK) {
    out->user_id = bo_pg_int64(res, 0, 0);
    bo_pg_text(res, 0, 1, out->name, sizeof out->name);
  }
  PQclear(res);
  return status;
}

enum bo_store_status bo_pg_user_get(struct bo_store_tx *tx, int64_t user_id,
                                    struct bo_user *out) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, user_id);
  enum bo_store_status status = bo_pg_row(conn, BO_PG_USER_GET, &p, &res);
  if (status == BO_STORE_OK) {
    out->user_id = bo_pg_int64(res, 0, 0);
    bo_pg_text(res, 0, 1, out->name, sizeof out->name);
  }
  PQclear(res);
  return status;
}

enum bo_store_status bo_pg_points_get(struct bo_store_tx *tx, int64_t user_id,
                                      int64_t *balance) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, user_id);
  enum bo_store_status status = bo_pg_row(conn, BO_PG_POINT_GET, &p, &res);
  if (status == BO_STORE_OK)
    *balance = bo_pg_int64(res, 0, 0);
  PQclear(res);
  return status;
}

enum bo_store_status bo_pg_points_add(struct bo_store_tx *tx, int64_t user_id,
                                      int64_t delta, int64_t max_balance,
                                      int64_t now_ms, int64_t *balance_after) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, user_id);
  bo_pg_param_int(&p, delta);
  bo_pg_param_int(&p, max_balance);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status = bo_pg_row(conn, BO_PG_POINT_ADD, &p, &res);
  if (status == BO_STORE_OK) {
    *balance_after = bo_pg_int64(res, 0, 0);
  } else if (status == BO_STORE_NOT_FOUND) {
    p.count = 1; /* the user id alone */
    status = bo_pg_missing_or_conflict(conn, BO_PG_POINT_GET, &p);
  }
  PQclear(res);
  return status;
}

enum bo_store_status bo_pg_points_history_insert(struct bo_store_tx *tx,
                                                 struct bo_point_history *row,
                                                 int64_t now_ms) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, row->user_id);
  bo_pg_param_text(&p, bo_point_type_name(row->type));
  bo_pg_param_int(&p, row->amount);
  bo_pg_param_int(&p, row->balance_after);
  bo_pg_param_id_or_null(&p, row->payment_id);
  bo_pg_param_int(&p, now_ms);
  /* No row inserted: the user has no balance row, i.e. does not exist. */
  enum bo_store_status status = bo_pg_row(conn, BO_PG_HISTORY_INSERT, &p, &res);
  if (status == BO_STORE_OK) {
    row->history_id = bo_pg_int64(res, 0, 0);
    row->created_at_ms = now_ms;
  }
  PQclear(res);
  return status;
}

static bool read_history(const PGresult *res, int row, void *item) {
  struct bo_point_history *h = item;
  h->history_id = bo_pg_int64(res, row, 0);
  h->user_id = bo_pg_int64(res, row, 1);
  h->amount = bo_pg_int64(res, row, 3);
  h->balance_after = bo_pg_int64(res, row, 4);
  h->payment_id = bo_pg_int64(res, row, 5); /* NULL reads 0 */
  h->created_at_ms = bo_pg_int64(res, row, 6);
  return bo_pg_parse_point_type(res, row, 2, &h->type);
}

enum bo_store_status bo_pg_points_history_get(struct bo_store_tx *tx,
                                              int64_t history_id,
                                              struct bo_point_history *out) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, history_id);
  enum bo_store_status status = bo_pg_row(conn, BO_PG_HISTORY_GET, &p, &res);
  if (status == BO_STORE_OK && !read_history(res, 0, out))
    status = BO_STORE_FAILED;
  PQclear(res);
  return status;
}

enum bo_store_status
bo_pg_points_history_list(struct bo_store_tx *tx, int64_t user_id, int limit,
                          struct bo_point_history_list *out) {
  struct bo_pg_params p = {0};
  void *items = NULL;
  size_t count = 0;
  bo_pg_param_int(&p, user_id);
  /* A caller's 0 or less means none, as in the SQLite driver. */
  bo_pg_param_int(&p, limit > 0 ? limit : 0);
  enum bo_store_status status =
      bo_pg_list(bo_pg_tx(tx)->conn, BO_PG_HISTORY_LIST, &p, sizeof *out->items,
                 read_history, &items, &count);
  *out = (struct bo_point_history_list){.items = items, .count = count};
  return status;
}

enum bo_store_status bo_pg_idempotency_get(struct bo_store_tx *tx,
                                           int64_t user_id,
                                           enum bo_idempotency_scope scope,
                                           const char *key,
                                           struct bo_idempotency_record *out) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, user_id);
  bo_pg_param_text(&p, bo_idempotency_scope_name(scope));
  bo_pg_param_text(&p, key);
  enum bo_store_status status =
      bo_pg_row(conn, BO_PG_IDEMPOTENCY_GET, &p, &res);
  if (status == BO_STORE_OK) {
    bo_pg_text(res, 0, 0, out->fingerprint, sizeof out->fingerprint);
    out->result_id = bo_pg_int64(res, 0, 1);
  }
  PQclear(res);
  return status;
}

enum bo_store_status
bo_pg_idempotency_put(struct bo_store_tx *tx, int64_t user_id,
                      enum bo_idempotency_scope scope, const char *key,
                      const struct bo_idempotency_record *record,
                      int64_t now_ms) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  /* Bounded by the array, in case it holds no NUL. */
  char fingerprint[sizeof record->fingerprint];
  size_t n = strnlen(record->fingerprint, sizeof record->fingerprint - 1);
  memcpy(fingerprint, record->fingerprint, n);
  fingerprint[n] = '\0';
  bo_pg_param_int(&p, user_id);
  bo_pg_param_text(&p, bo_idempotency_scope_name(scope));
  bo_pg_param_text(&p, key);
  bo_pg_param_text(&p, fingerprint);
  bo_pg_param_int(&p, record->result_id);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status =
      bo_pg_row(conn, BO_PG_IDEMPOTENCY_PUT, &p, &res);
  PQclear(res);
  if (status == BO_STORE_NOT_FOUND) {
    /* Not inserted: the key is taken (CONFLICT), or there is no such user
     * (NOT_FOUND), as a foreign key would have said. */
    p.count = 1;
    status = bo_pg_missing_or_conflict(conn, BO_PG_USER_GET, &p);
  }
  return status;
}
