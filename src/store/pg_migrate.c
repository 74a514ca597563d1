/* Versioned migrations: every embedded src/store/migrations/postgres/NNNN_*.sql
 * runs once per database, in version order, recorded in schema_migrations.
 *
 * The whole run is one transaction (through the usual runner), and
 * PostgreSQL's DDL is transactional, so a migration applies entirely or not
 * at all. Several instances may start at once: the first statement takes a
 * transaction-scoped advisory lock, one key for every boxoffice instance
 * (pg_sql.c), so they take turns, and the lock goes with the COMMIT or
 * ROLLBACK. A waiter then runs at READ COMMITTED: each statement after the
 * lock sees what the previous holder committed, so it finds
 * schema_migrations created and every version recorded, and does nothing.
 * (Without the lock, two concurrent CREATE TABLE IF NOT EXISTS can still
 * both try to create the table, and one fails.) That is also why a migration
 * file must not contain BEGIN or COMMIT of its own.
 *
 * The usual per-statement limits are lifted for this one transaction: a
 * migration may rewrite a big table, and waiting for another instance's
 * migration is expected. The lock wait is still bounded, and so is each DDL
 * lock wait, so that a migration stuck behind a long transaction fails
 * instead of queueing every request behind its lock. */
#include "store/migrations.h"
#include "store/pg_internal.h"
#include "util/log.h"

/* Created here rather than by a migration: the runner reads it before it
 * knows which migrations have run. */
static const char schema_migrations_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " applied_at timestamptz NOT NULL"
    ")";

static const char migration_limits_sql[] =
    "SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = '60s'";

static enum bo_store_status is_applied(struct bo_pg_conn *conn, int version,
                                       bool *applied) {
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, version);
  enum bo_store_status status =
      bo_pg_row(conn, BO_PG_MIGRATION_APPLIED, &p, &res);
  PQclear(res);
  *applied = status == BO_STORE_OK;
  return status == BO_STORE_NOT_FOUND ? BO_STORE_OK : status;
}

static enum bo_store_status apply(struct bo_pg_conn *conn,
                                  const struct bo_migration *m) {
  enum bo_store_status status = bo_pg_exec_text(conn, m->sql);
  if (status != BO_STORE_OK) {
    bo_log_error("event=migration_failed version=%d name=%s", m->version,
                 m->name);
    return status;
  }
  struct bo_pg_params p = {0};
  bo_pg_param_int(&p, m->version);
  bo_pg_param_text(&p, m->name);
  return bo_pg_command(conn, BO_PG_MIGRATION_RECORD, &p, NULL);
}

static enum bo_store_status migrate_steps(struct bo_pg_conn *conn, int *count) {
  enum bo_store_status status = bo_pg_exec_text(conn, migration_limits_sql);
  if (status == BO_STORE_OK)
    status = bo_pg_command(conn, BO_PG_MIGRATION_LOCK, NULL, NULL);
  if (status == BO_STORE_OK)
    status = bo_pg_exec_text(conn, schema_migrations_sql);
  for (const struct bo_migration *m = bo_migrations_postgres;
       status == BO_STORE_OK && m->sql; m++) {
    bool applied = false;
    status = is_applied(conn, m->version, &applied);
    if (status == BO_STORE_OK && !applied) {
      status = apply(conn, m);
      ++*count;
    }
  }
  return status;
}

/* ctx: an int, the number of migrations applied (reset on every try). */
static enum bo_store_status migrate_tx(struct bo_store_tx *base, void *ctx) {
  int *count = ctx;
  *count = 0;
  struct bo_pg_conn *conn = bo_pg_tx(base)->conn;
  /* The server's limits are lifted above; the driver's own wait for an
   * answer is too (TCP keepalives still notice a vanished server). */
  conn->timeout_ms = 0;
  enum bo_store_status status = migrate_steps(conn, count);
  conn->timeout_ms = BO_PG_CALL_TIMEOUT_MS;
  return status;
}

enum bo_store_status bo_pg_migrate(struct bo_store *store) {
  int count = 0;
  enum bo_store_status status =
      bo_pg_transaction(store, true, migrate_tx, &count);
  if (status == BO_STORE_OK && count > 0)
    bo_log_info("event=migrated driver=postgres applied=%d", count);
  return status;
}
