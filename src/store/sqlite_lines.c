/* The waiting lines' stored settings (table queue_line): what an operator
 * set for each line, and each line's draw seed, kept across restarts. */
#include "store/sqlite_internal.h"

#include <string.h>

/* The schema CHECKs this length and makes line 0 with zeroblob(32)
 * (sqlite_sql.c); a new length needs a migration. */
_Static_assert(BO_LINE_SEED_BYTES == 32, "queue_line.seed is 32 bytes");

static bool read_line(sqlite3_stmt *stmt, void *item) {
  struct bo_line_row *l = item;
  l->line_id = sqlite3_column_int64(stmt, 0);
  l->active_max = sqlite3_column_int64(stmt, 1);
  l->admit_per_minute = sqlite3_column_int64(stmt, 2);
  l->on_sale_at_ms = sqlite3_column_int64(stmt, 3);
  l->inventory_factor_pct = sqlite3_column_int(stmt, 4);
  l->paused = sqlite3_column_int(stmt, 5) != 0;
  l->created_at_ms = sqlite3_column_int64(stmt, 7);
  /* The blob before its length, as SQLite asks. The CHECK keeps the length
   * right; a row written some other way is not half-read. */
  const void *seed = sqlite3_column_blob(stmt, 6);
  if (!seed || sqlite3_column_bytes(stmt, 6) != BO_LINE_SEED_BYTES)
    return false;
  memcpy(l->seed, seed, BO_LINE_SEED_BYTES);
  return true;
}

enum bo_store_status bo_sqlite_line_insert(struct bo_store_tx *tx,
                                           const struct bo_line_row *row,
                                           int64_t now_ms) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_LINE_INSERT, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, row->line_id);
  sqlite3_bind_int64(stmt, 2, row->active_max);
  sqlite3_bind_int64(stmt, 3, row->admit_per_minute);
  sqlite3_bind_int64(stmt, 4, row->on_sale_at_ms);
  sqlite3_bind_int(stmt, 5, row->inventory_factor_pct);
  sqlite3_bind_int(stmt, 6, row->paused);
  sqlite3_bind_blob(stmt, 7, row->seed, BO_LINE_SEED_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 8, now_ms);
  /* The keys decide: CONFLICT for a line that exists, NOT_FOUND for the
   * line of no concert. */
  status = bo_sqlite_step_done(conn, stmt);
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status bo_sqlite_line_get(struct bo_store_tx *tx, int64_t line_id,
                                        struct bo_line_row *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status = bo_sqlite_stmt(conn, BO_SQLITE_LINE_GET, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, line_id);
  status = bo_sqlite_step_row(conn, stmt);
  if (status == BO_STORE_OK && !read_line(stmt, out))
    status = BO_STORE_FAILED;
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status bo_sqlite_line_update(struct bo_store_tx *tx,
                                           int64_t line_id,
                                           const struct bo_line_change *change,
                                           int64_t now_ms) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  /* The global line has a row only once an operator changed it, so its
   * first change makes it; a concert's line is made with the concert, so
   * a missing one is missing. */
  enum bo_sqlite_stmt_id id =
      line_id == 0 ? BO_SQLITE_LINE_UPSERT_GLOBAL : BO_SQLITE_LINE_UPDATE;
  enum bo_store_status status = bo_sqlite_stmt(conn, id, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int64(stmt, 1, line_id);
  sqlite3_bind_int64(stmt, 2, change->active_max);
  sqlite3_bind_int64(stmt, 3, change->admit_per_minute);
  sqlite3_bind_int(stmt, 4, change->inventory_factor_pct);
  sqlite3_bind_int(stmt, 5, change->paused);
  sqlite3_bind_int64(stmt, 6, now_ms);
  status = bo_sqlite_step_done(conn, stmt);
  if (status == BO_STORE_OK && sqlite3_changes(conn->db) == 0)
    status = BO_STORE_NOT_FOUND;
done:
  bo_sqlite_reset(stmt);
  return status;
}

enum bo_store_status bo_sqlite_line_list(struct bo_store_tx *tx,
                                         struct bo_line_row_list *out) {
  struct bo_sqlite_conn *conn = bo_sqlite_tx(tx)->conn;
  sqlite3_stmt *stmt = NULL;
  void *items = NULL;
  size_t count = 0;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_LINE_LIST, &stmt);
  if (status == BO_STORE_OK)
    status = bo_sqlite_collect(conn, stmt, sizeof *out->items, read_line,
                               &items, &count);
  bo_sqlite_reset(stmt);
  *out = (struct bo_line_row_list){.items = items, .count = count};
  return status;
}
