/* Versioned migrations: every embedded src/store/migrations/sqlite/NNNN_*.sql
 * runs once per database, in version order, recorded in schema_migrations.
 *
 * The whole run is one write transaction (BEGIN IMMEDIATE, through the usual
 * runner): SQLite's DDL is transactional, so a migration applies entirely or
 * not at all, and two processes starting at once take turns; the second finds
 * every version recorded and does nothing. That is also why a migration file
 * must not contain BEGIN or COMMIT of its own. */
#include "store/migrations.h"
#include "store/sqlite_internal.h"
#include "util/log.h"

/* Created here rather than by a migration: the runner reads it before it
 * knows which migrations have run. */
static const char schema_migrations_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at INTEGER NOT NULL" /* ms since the epoch, like every time */
    ") STRICT";

static enum bo_store_status is_applied(struct bo_sqlite_conn *conn, int version,
                                       bool *applied) {
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_stmt(conn, BO_SQLITE_MIGRATION_APPLIED, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int(stmt, 1, version);
  status = bo_sqlite_step_row(conn, stmt);
  *applied = status == BO_STORE_OK;
  if (status == BO_STORE_NOT_FOUND)
    status = BO_STORE_OK;
done:
  bo_sqlite_reset(stmt);
  return status;
}

static enum bo_store_status apply(struct bo_sqlite_conn *conn,
                                  const struct bo_migration *m) {
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_exec(conn->db, m->sql, NULL, NULL, NULL);
  enum bo_store_status status =
      rc == SQLITE_OK ? BO_STORE_OK : bo_sqlite_error(conn, rc);
  if (status != BO_STORE_OK) {
    bo_log_error("event=migration_failed version=%d name=%s", m->version,
                 m->name);
    goto done;
  }
  status = bo_sqlite_stmt(conn, BO_SQLITE_MIGRATION_RECORD, &stmt);
  if (status != BO_STORE_OK)
    goto done;
  sqlite3_bind_int(stmt, 1, m->version);
  sqlite3_bind_text(stmt, 2, m->name, -1, SQLITE_STATIC);
  status = bo_sqlite_step_done(conn, stmt);
done:
  bo_sqlite_reset(stmt);
  return status;
}

/* ctx: an int, the number of migrations applied (reset on every try). */
static enum bo_store_status migrate_tx(struct bo_store_tx *base, void *ctx) {
  int *count = ctx;
  *count = 0;
  struct bo_sqlite_conn *conn = bo_sqlite_tx(base)->conn;
  int rc = sqlite3_exec(conn->db, schema_migrations_sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return bo_sqlite_error(conn, rc);
  for (const struct bo_migration *m = bo_migrations_sqlite; m->sql; m++) {
    bool applied = false;
    enum bo_store_status status = is_applied(conn, m->version, &applied);
    if (status == BO_STORE_OK && !applied) {
      status = apply(conn, m);
      ++*count;
    }
    if (status != BO_STORE_OK)
      return status;
  }
  return BO_STORE_OK;
}

enum bo_store_status bo_sqlite_migrate(struct bo_store *store) {
  int count = 0;
  enum bo_store_status status =
      bo_sqlite_transaction(store, true, migrate_tx, &count);
  if (status == BO_STORE_OK && count > 0)
    bo_log_info("event=migrated driver=sqlite applied=%d", count);
  return status;
}
