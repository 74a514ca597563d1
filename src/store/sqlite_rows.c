/* Small helpers every SQLite op uses to step statements and read rows. */
#include "store/sqlite_internal.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

enum bo_store_status bo_sqlite_step_row(struct bo_sqlite_conn *conn,
                                        sqlite3_stmt *stmt) {
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW)
    return BO_STORE_OK;
  if (rc == SQLITE_DONE)
    return BO_STORE_NOT_FOUND;
  return bo_sqlite_error(conn, rc);
}

enum bo_store_status bo_sqlite_step_done(struct bo_sqlite_conn *conn,
                                         sqlite3_stmt *stmt) {
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE)
    return BO_STORE_OK;
  if (rc == SQLITE_ROW) {
    bo_log_error("event=sqlite_unexpected_row sql=\"%s\"", sqlite3_sql(stmt));
    return BO_STORE_FAILED;
  }
  return bo_sqlite_error(conn, rc);
}

enum bo_store_status
bo_sqlite_missing_or_conflict(struct bo_sqlite_conn *conn,
                              enum bo_sqlite_stmt_id exists, int64_t id) {
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status = bo_sqlite_stmt(conn, exists, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, id);
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK)
    status = BO_STORE_CONFLICT;
done:
  bo_sqlite_reset(stmt);
  return status;
}

void bo_sqlite_column_text(sqlite3_stmt *stmt, int col, char *dst,
                           size_t size) {
  const unsigned char *text = sqlite3_column_text(stmt, col);
  int bytes = sqlite3_column_bytes(stmt, col);
  size_t n = text && bytes > 0 ? (size_t)bytes : 0;
  if (size == 0)
    return;
  if (n >= size) {
    n = size - 1;
    /* Do not leave half a UTF-8 character at the end. */
    while (n > 0 && (text[n] & 0xc0) == 0x80)
      n--;
  }
  if (n > 0)
    memcpy(dst, text, n);
  dst[n] = '\0';
}

void bo_sqlite_bind_id_or_null(sqlite3_stmt *stmt, int param, int64_t id) {
  if (id > 0)
    sqlite3_bind_int64(stmt, param, id);
  else
    sqlite3_bind_null(stmt, param);
}

enum bo_store_status bo_sqlite_collect(struct bo_sqlite_conn *conn,
                                       sqlite3_stmt *stmt, size_t item_size,
                                       bo_sqlite_row_fn read, void **items,
                                       size_t *count) {
  enum bo_store_status status = BO_STORE_OK;
  unsigned char *all = NULL;
  size_t n = 0, cap = 0;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (n == cap) {
      size_t grown = cap ? cap * 2 : 16;
      unsigned char *bigger = realloc(all, grown * item_size);
      if (!bigger) {
        bo_log_error("event=sqlite_out_of_memory rows=%zu", n);
        status = BO_STORE_FAILED;
        goto done;
      }
      all = bigger;
      cap = grown;
    }
    if (!read(stmt, all + n * item_size)) {
      bo_log_error("event=sqlite_bad_row sql=\"%s\"", sqlite3_sql(stmt));
      status = BO_STORE_FAILED;
      goto done;
    }
    n++;
  }
  if (rc != SQLITE_DONE)
    status = bo_sqlite_error(conn, rc);
done:
  if (status != BO_STORE_OK) {
    free(all);
    all = NULL;
    n = 0;
  }
  *items = all;
  *count = n;
  return status;
}

/* Finds `text` among the names that name_of gives for 0..count-1. */
static bool parse_name(sqlite3_stmt *stmt, int col, const char *(*name_of)(int),
                       int count, int *out) {
  const char *text = (const char *)sqlite3_column_text(stmt, col);
  for (int i = 0; text && i < count; i++) {
    if (strcmp(text, name_of(i)) == 0) {
      *out = i;
      return true;
    }
  }
  return false;
}

static const char *seat_status_name(int v) {
  return bo_seat_status_name((enum bo_seat_status)v);
}

static const char *reservation_status_name(int v) {
  return bo_reservation_status_name((enum bo_reservation_status)v);
}

static const char *point_type_name(int v) {
  return bo_point_type_name((enum bo_point_type)v);
}

bool bo_sqlite_parse_seat_status(sqlite3_stmt *stmt, int col,
                                 enum bo_seat_status *out) {
  int v;
  if (!parse_name(stmt, col, seat_status_name, BO_SEAT_SOLD + 1, &v))
    return false;
  *out = (enum bo_seat_status)v;
  return true;
}

bool bo_sqlite_parse_reservation_status(sqlite3_stmt *stmt, int col,
                                        enum bo_reservation_status *out) {
  int v;
  if (!parse_name(stmt, col, reservation_status_name,
                  BO_RESERVATION_CANCELLED + 1, &v))
    return false;
  *out = (enum bo_reservation_status)v;
  return true;
}

bool bo_sqlite_parse_point_type(sqlite3_stmt *stmt, int col,
                                enum bo_point_type *out) {
  int v;
  if (!parse_name(stmt, col, point_type_name, BO_POINT_REFUND + 1, &v))
    return false;
  *out = (enum bo_point_type)v;
  return true;
}
