/* The SQLite store object and its connections.
 *
 * Each thread has its own connection (an SQLite connection must not be used
 * by two threads at once, and one per thread needs no locking of ours). The
 * store owns a pthread key that finds the calling thread's connection; the
 * key's destructor closes it when the thread exits. The store also keeps every
 * connection in a list, so that closing the store closes those of threads
 * that are still alive (the main thread's, typically).
 *
 * A connection prepares each statement the first time it is needed and keeps
 * it for its lifetime (SQLITE_PREPARE_PERSISTENT); a schema change only makes
 * SQLite re-prepare it transparently. */
#include "store/sqlite_internal.h"
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a connection waits for another's lock before SQLITE_BUSY. Write
 * transactions are short, so a wait this long means something is stuck. */
#define BO_SQLITE_BUSY_TIMEOUT_MS 5000

/* synchronous=FULL: WAL with NORMAL may lose the last transactions on power
 * loss; a commit we acknowledge (a payment, a hold) must survive kill -9 and
 * power loss alike, so every commit syncs the WAL.
 * foreign_keys is per connection and off by default in SQLite. */
static const char bo_sqlite_pragmas[] = "PRAGMA synchronous = FULL;"
                                        "PRAGMA foreign_keys = ON;";

static void set_error(char *error, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *error, size_t size, const char *fmt, ...) {
  if (!error || size == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error, size, fmt, ap);
  va_end(ap);
}

static bool is_fatal(int rc) {
  switch (rc & 0xff) {
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
  case SQLITE_FULL:
  case SQLITE_PROTOCOL:
  case SQLITE_NOMEM:
  case SQLITE_READONLY:
    return true;
  default:
    return false;
  }
}

enum bo_store_status bo_sqlite_error(struct bo_sqlite_conn *conn, int rc) {
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return BO_STORE_TRANSIENT;
  case SQLITE_CONSTRAINT:
    /* A unique key is how the database says "taken"; a missing parent row is
     * a missing row. A failed CHECK or NOT NULL means the code let a bad
     * value through, which is a bug. */
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
      return BO_STORE_CONFLICT;
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
      return BO_STORE_NOT_FOUND;
    break;
  default:
    break;
  }
  if (is_fatal(rc))
    conn->broken = true;
  bo_log_error("event=sqlite_error code=%d error=\"%s\" detail=\"%s\"", rc,
               sqlite3_errstr(rc), conn->db ? sqlite3_errmsg(conn->db) : "");
  return BO_STORE_FAILED;
}

enum bo_store_status bo_sqlite_stmt(struct bo_sqlite_conn *conn,
                                    enum bo_sqlite_stmt_id id,
                                    sqlite3_stmt **out) {
  *out = conn->stmts[id];
  if (*out)
    return BO_STORE_OK;
  int rc =
      sqlite3_prepare_v3(conn->db, bo_sqlite_sql[id], -1,
                         SQLITE_PREPARE_PERSISTENT, &conn->stmts[id], NULL);
  if (rc != SQLITE_OK)
    return bo_sqlite_error(conn, rc);
  *out = conn->stmts[id];
  return BO_STORE_OK;
}

void bo_sqlite_reset(sqlite3_stmt *stmt) {
  if (!stmt)
    return;
  /* reset repeats the last step's error, which the caller has handled. */
  (void)sqlite3_reset(stmt);
  /* Text is bound SQLITE_STATIC from the caller's buffers: drop it. */
  sqlite3_clear_bindings(stmt);
}

static void conn_free(struct bo_sqlite_conn *conn) {
  for (int i = 0; i < BO_SQLITE_STMT__COUNT; i++)
    sqlite3_finalize(conn->stmts[i]);
  /* v2 so that a connection closes even if something still refers to it. */
  sqlite3_close_v2(conn->db);
  free(conn);
}

static void conns_link(struct bo_sqlite_store *s, struct bo_sqlite_conn *conn) {
  pthread_mutex_lock(&s->conns_lock);
  conn->next = s->conns;
  if (s->conns)
    s->conns->prev = conn;
  s->conns = conn;
  pthread_mutex_unlock(&s->conns_lock);
}

static void conns_unlink(struct bo_sqlite_store *s,
                         struct bo_sqlite_conn *conn) {
  pthread_mutex_lock(&s->conns_lock);
  if (conn->prev)
    conn->prev->next = conn->next;
  else
    s->conns = conn->next;
  if (conn->next)
    conn->next->prev = conn->prev;
  pthread_mutex_unlock(&s->conns_lock);
}

/* The pthread key's destructor: a thread that used the store has exited. */
static void conn_thread_exit(void *arg) {
  struct bo_sqlite_conn *conn = arg;
  conns_unlink(conn->store, conn);
  conn_free(conn);
}

/* Checks that the journal really is WAL: the pragma answers the mode it got,
 * which is not WAL on a file system that cannot share memory. */
static int set_wal(sqlite3 *db, const char **why) {
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    goto done;
  rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW)
    goto done;
  const unsigned char *mode = sqlite3_column_text(stmt, 0);
  rc = SQLITE_OK;
  if (!mode || strcmp((const char *)mode, "wal") != 0) {
    *why = "journal_mode=WAL is not supported here";
    rc = SQLITE_ERROR;
  }
done:
  sqlite3_finalize(stmt);
  return rc;
}

/* Opens a configured connection; on failure returns the SQLite code and
 * fills error. */
static int conn_open(struct bo_sqlite_store *s, struct bo_sqlite_conn **out,
                     char *error, size_t error_size) {
  const char *why = NULL;
  struct bo_sqlite_conn *conn = calloc(1, sizeof *conn);
  int rc = SQLITE_NOMEM;
  if (!conn)
    goto done;
  conn->store = s;
  /* NOMUTEX: only the owning thread uses the connection. */
  rc = sqlite3_open_v2(
      s->path, &conn->db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    goto done;
  sqlite3_extended_result_codes(conn->db, 1);
  sqlite3_busy_timeout(conn->db, BO_SQLITE_BUSY_TIMEOUT_MS);
  rc = set_wal(conn->db, &why);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(conn->db, bo_sqlite_pragmas, NULL, NULL, NULL);
done:
  if (rc != SQLITE_OK) {
    if (!why)
      why = conn && conn->db ? sqlite3_errmsg(conn->db) : sqlite3_errstr(rc);
    set_error(error, error_size, "cannot open SQLite database %s: %s", s->path,
              why);
    if (conn)
      conn_free(conn);
    conn = NULL;
  }
  *out = conn;
  return rc;
}

enum bo_store_status bo_sqlite_conn_get(struct bo_sqlite_store *s,
                                        struct bo_sqlite_conn **out) {
  char error[512];
  *out = pthread_getspecific(s->conn_key);
  if (*out)
    return BO_STORE_OK;
  int rc = conn_open(s, out, error, sizeof error);
  if (rc != SQLITE_OK) {
    bo_log_error("event=sqlite_open_failed code=%d detail=\"%s\"", rc, error);
    return (rc & 0xff) == SQLITE_BUSY ? BO_STORE_TRANSIENT : BO_STORE_FAILED;
  }
  if (pthread_setspecific(s->conn_key, *out) != 0) {
    conn_free(*out);
    *out = NULL;
    return BO_STORE_FAILED;
  }
  conns_link(s, *out);
  return BO_STORE_OK;
}

void bo_sqlite_conn_drop(struct bo_sqlite_conn *conn) {
  struct bo_sqlite_store *s = conn->store;
  bo_log_warn("event=sqlite_reconnect path=\"%s\"", s->path);
  pthread_setspecific(s->conn_key, NULL);
  conns_unlink(s, conn);
  conn_free(conn);
}

struct bo_store *bo_sqlite_open(const char *path, char *error,
                                size_t error_size) {
  struct bo_store *result = NULL;
  struct bo_sqlite_store *s = NULL;
  struct bo_sqlite_conn *conn = NULL;
  bool key_made = false;
  if (!path || !*path || strcmp(path, ":memory:") == 0) {
    /* Every thread has its own connection, and each :memory: (or "")
     * connection is a database of its own. */
    set_error(error, error_size,
              "sqlite: needs a file path, e.g. sqlite:boxoffice.db");
    goto done;
  }
  if (!sqlite3_threadsafe()) {
    set_error(error, error_size,
              "the SQLite library was built without thread support");
    goto done;
  }
  s = calloc(1, sizeof *s);
  if (!s || !(s->path = strdup(path)) ||
      pthread_key_create(&s->conn_key, conn_thread_exit) != 0) {
    set_error(error, error_size, "out of memory opening the store");
    goto done;
  }
  key_made = true;
  pthread_mutex_init(&s->conns_lock, NULL);
  bo_sqlite_group_init(s);
  s->base.driver = &bo_sqlite_driver;
  s->base.impl = s;
  /* Open this thread's connection now, so that a bad path fails at start-up
   * with a reason rather than at the first request. */
  if (conn_open(s, &conn, error, error_size) != SQLITE_OK)
    goto done;
  if (pthread_setspecific(s->conn_key, conn) != 0) {
    set_error(error, error_size, "out of memory opening the store");
    goto done;
  }
  conns_link(s, conn);
  conn = NULL;
  result = &s->base;
  s = NULL;
done:
  if (conn)
    conn_free(conn);
  if (s && key_made) {
    pthread_key_delete(s->conn_key);
    pthread_mutex_destroy(&s->conns_lock);
    bo_sqlite_group_destroy(s);
  }
  if (s)
    free(s->path);
  free(s);
  return result;
}

void bo_sqlite_close(struct bo_store *store) {
  struct bo_sqlite_store *s = store->impl;
  /* After pthread_key_delete no destructor runs, so no thread can free a
   * connection behind our back once the list is ours. */
  pthread_key_delete(s->conn_key);
  pthread_mutex_lock(&s->conns_lock);
  struct bo_sqlite_conn *conn = s->conns;
  while (conn) {
    struct bo_sqlite_conn *next = conn->next;
    conn_free(conn);
    conn = next;
  }
  s->conns = NULL;
  pthread_mutex_unlock(&s->conns_lock);
  pthread_mutex_destroy(&s->conns_lock);
  bo_sqlite_group_destroy(s);
  free(s->path);
  free(s);
}
