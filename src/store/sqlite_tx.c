/* The transaction runner.
 *
 * A rule runs as a function inside BEGIN ... COMMIT on the calling thread's
 * connection. A write transaction starts with BEGIN IMMEDIATE: it takes
 * SQLite's single write lock up front (waiting up to the busy timeout), so
 * it never has to upgrade a read lock half-way, which is what fails with
 * SQLITE_BUSY and no way out but to start over. A read transaction is a
 * plain (deferred) BEGIN and, under WAL, never waits for writers.
 *
 * The write transactions of this process are committed in groups, one
 * fsync for all the writes that arrived while the previous group was
 * being committed (sqlite_group.c).
 *
 * When the function or the COMMIT still meets SQLITE_BUSY or SQLITE_LOCKED
 * (ops report it as BO_STORE_TRANSIENT), everything is rolled back and the
 * function runs again after a short random pause, so that the contenders do
 * not collide again in step; after BO_SQLITE_TRIES the caller gets
 * BO_STORE_TRANSIENT. A connection that met a fatal error is closed at the
 * end of the transaction, and the next one opens a fresh one. */
#include "store/sqlite_internal.h"
#include "util/log.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define BO_SQLITE_TRIES 10
/* The longest pause between two tries, in microseconds. */
#define BO_SQLITE_BACKOFF_MAX_US 50000

/* Sleeps a random time in [cap/2, cap], the cap doubling with each try. */
static void backoff(int attempt, unsigned *seed) {
  long cap = 1000L << (attempt < 6 ? attempt : 6);
  if (cap > BO_SQLITE_BACKOFF_MAX_US)
    cap = BO_SQLITE_BACKOFF_MAX_US;
  long us = cap / 2 + rand_r(seed) % (cap / 2 + 1);
  struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000};
  nanosleep(&ts, NULL);
}

enum bo_store_status bo_sqlite_exec(struct bo_sqlite_conn *conn,
                                    enum bo_sqlite_stmt_id id) {
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status = bo_sqlite_stmt(conn, id, &stmt);
  if (status == BO_STORE_OK)
    status = bo_sqlite_step_done(conn, stmt);
  bo_sqlite_reset(stmt);
  return status;
}

static enum bo_store_status run_once(struct bo_sqlite_store *s, bool write,
                                     bo_store_tx_fn fn, void *ctx) {
  struct bo_sqlite_tx tx = {.base = {.driver = &bo_sqlite_driver}};
  enum bo_store_status status = bo_sqlite_conn_get(s, &tx.conn);
  if (status != BO_STORE_OK)
    return status;
  struct bo_sqlite_conn *conn = tx.conn;
  if (conn->in_tx) {
    /* SQLite has no nested transactions; the outer one stays untouched. */
    bo_log_error("event=sqlite_nested_transaction");
    return BO_STORE_FAILED;
  }
  if (write) {
    status = bo_sqlite_group_write(s, conn, fn, ctx);
    goto done;
  }
  status = bo_sqlite_exec(conn, BO_SQLITE_BEGIN);
  if (status != BO_STORE_OK)
    goto done;
  conn->in_tx = true;
  status = fn(&tx.base, ctx);
  if (status == BO_STORE_OK)
    status = bo_sqlite_exec(conn, BO_SQLITE_COMMIT);
  /* A failed COMMIT leaves the transaction open. */
  if (status != BO_STORE_OK && !sqlite3_get_autocommit(conn->db) &&
      bo_sqlite_exec(conn, BO_SQLITE_ROLLBACK) != BO_STORE_OK)
    conn->broken = true;
  conn->in_tx = false;
done:
  if (conn->broken)
    bo_sqlite_conn_drop(conn);
  return status;
}

enum bo_store_status bo_sqlite_transaction(struct bo_store *store, bool write,
                                           bo_store_tx_fn fn, void *ctx) {
  struct bo_sqlite_store *s = store->impl;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  /* Threads that collided must not pick the same pauses. */
  unsigned seed = (unsigned)now.tv_nsec ^ (unsigned)(uintptr_t)&now;
  enum bo_store_status status = BO_STORE_TRANSIENT;
  for (int attempt = 0; attempt < BO_SQLITE_TRIES; attempt++) {
    if (attempt > 0)
      backoff(attempt, &seed);
    status = run_once(s, write, fn, ctx);
    if (status != BO_STORE_TRANSIENT)
      break;
  }
  return status;
}

enum bo_store_status bo_sqlite_ping(struct bo_store *store) {
  struct bo_sqlite_conn *conn = NULL;
  sqlite3_stmt *stmt = NULL;
  enum bo_store_status status =
      bo_sqlite_conn_get((struct bo_sqlite_store *)store->impl, &conn);
  if (status != BO_STORE_OK)
    return status;
  status = bo_sqlite_stmt(conn, BO_SQLITE_PING, &stmt);
  if (status == BO_STORE_OK)
    status = bo_sqlite_step_row(conn, stmt);
  bo_sqlite_reset(stmt);
  if (conn->broken && !conn->in_tx)
    bo_sqlite_conn_drop(conn);
  return status;
}
