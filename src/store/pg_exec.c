/* Running statements on a connection: prepare once, execute, wait for the
 * answer within a time limit, and turn errors into store statuses.
 *
 * The connection is in non-blocking mode and every wait is a poll() with a
 * deadline (conn->timeout_ms), so a server that stops answering (stopped
 * without closing its sockets, frozen, cut off by the network) costs a
 * request that much time and no more; the connection is then given up,
 * because its state is unknown, and the store pauses (pg_conn.c), so that
 * the requests behind it do not wait as long in turn. The server's own
 * statement_timeout and lock_timeout (pg_conn.c) end slow work long before
 * that.
 *
 * Errors, by SQLSTATE:
 *   08xxx, 57P01-57P03, or PQstatus CONNECTION_BAD   UNAVAILABLE, conn dropped
 *   57014 (statement_timeout), 55P03 (lock_timeout)  UNAVAILABLE, conn kept
 *   23505 unique violation                           CONFLICT
 *   23503 foreign key violation                      NOT_FOUND
 *   40001 serialization failure, 40P01 deadlock      TRANSIENT (tx re-run)
 *   23514 CHECK, anything else                       FAILED, logged as a bug
 * The statements are written so that the expected refusals come back as "no
 * row" rather than as errors (pg_sql.c); the mapping is the second line. */
#include "store/pg_internal.h"
#include "util/log.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void bo_pg_param_int(struct bo_pg_params *p, int64_t value) {
  assert(p->count < BO_PG_PARAMS_MAX);
  snprintf(p->digits[p->count], sizeof p->digits[p->count], "%" PRId64, value);
  p->values[p->count] = p->digits[p->count];
  p->count++;
}

void bo_pg_param_text(struct bo_pg_params *p, const char *text) {
  assert(p->count < BO_PG_PARAMS_MAX);
  p->values[p->count++] = text;
}

void bo_pg_param_id_or_null(struct bo_pg_params *p, int64_t id) {
  if (id > 0) {
    bo_pg_param_int(p, id);
    return;
  }
  assert(p->count < BO_PG_PARAMS_MAX);
  p->values[p->count++] = NULL;
}

static bool sqlstate_is(const char *state, const char *want) {
  return state && strcmp(state, want) == 0;
}

/* The connection itself is gone, or the server is going away. */
static bool connection_lost(PGconn *pg, const char *state) {
  return PQstatus(pg) == CONNECTION_BAD ||
         (state && !strncmp(state, "08", 2)) ||
         sqlstate_is(state, "57P01") || /* admin_shutdown */
         sqlstate_is(state, "57P02") || /* crash_shutdown */
         sqlstate_is(state, "57P03");   /* cannot_connect_now */
}

/* The message of a result, or of the connection, on one line. */
static void message_of(PGconn *pg, const PGresult *res, char *buf,
                       size_t size) {
  const char *msg =
      res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  if (!msg)
    msg = res ? PQresultErrorMessage(res) : PQerrorMessage(pg);
  snprintf(buf, size, "%s", msg ? msg : "");
  for (char *c = buf; *c; c++)
    if ((unsigned char)*c < ' ' || *c == '"')
      *c = *c == '"' ? '\'' : ' ';
}

enum bo_store_status bo_pg_error(struct bo_pg_conn *conn, const PGresult *res) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  char msg[256];
  if (conn->in_tx)
    conn->tx_failed = true;
  if (connection_lost(conn->pg, state)) {
    conn->broken = true;
    message_of(conn->pg, res, msg, sizeof msg);
    bo_log_warn("event=pg_connection_lost sqlstate=%s where=\"%s\" "
                "detail=\"%s\"",
                state ? state : "none", conn->store->where, msg);
    return BO_STORE_UNAVAILABLE;
  }
  if (sqlstate_is(state, "23505"))
    return BO_STORE_CONFLICT;
  if (sqlstate_is(state, "23503"))
    return BO_STORE_NOT_FOUND;
  if (sqlstate_is(state, "40001") || sqlstate_is(state, "40P01"))
    return BO_STORE_TRANSIENT;
  message_of(conn->pg, res, msg, sizeof msg);
  if (sqlstate_is(state, "57014") || sqlstate_is(state, "55P03")) {
    /* The server is up but too slow or too contended to answer in time:
     * the caller answers 503 now rather than queue more work behind it. */
    bo_log_warn("event=pg_timeout sqlstate=%s detail=\"%s\"", state, msg);
    return BO_STORE_UNAVAILABLE;
  }
  /* A CHECK (23514) or NOT NULL means the code let a bad value through. */
  const char *constraint =
      res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
  bo_log_error("event=pg_error sqlstate=%s constraint=%s detail=\"%s\"",
               state ? state : "none", constraint ? constraint : "none", msg);
  return BO_STORE_FAILED;
}

static int64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on the connection's socket until `deadline` (monotonic
 * ms, 0: none). 1 ready, 0 timed out, -1 failed. */
static int wait_socket(PGconn *pg, short events, int64_t deadline) {
  struct pollfd p = {.fd = PQsocket(pg), .events = events};
  if (p.fd < 0)
    return -1;
  for (;;) {
    int timeout = -1;
    if (deadline > 0) {
      int64_t left = deadline - monotonic_ms();
      timeout = left > 0 ? (int)left : 0;
    }
    int rc = poll(&p, 1, timeout);
    if (rc >= 0)
      return rc > 0 ? 1 : 0;
    if (errno != EINTR)
      return -1;
  }
}

/* The server did not answer in time: the connection's state is unknown.
 * Every limit is longer than the server's own (statement_timeout answers
 * with an error first), so no answer at all means the server does not
 * answer now: the store pauses (pg_conn.c). */
static enum bo_store_status gave_up(struct bo_pg_conn *conn, int waited) {
  conn->broken = true;
  if (conn->in_tx)
    conn->tx_failed = true;
  if (waited)
    bo_pg_unresponsive(conn->store);
  bo_log_warn("event=pg_no_answer where=\"%s\" %s=%d", conn->store->where,
              waited ? "timeout_ms" : "poll_failed",
              waited ? conn->timeout_ms : errno);
  return BO_STORE_UNAVAILABLE;
}

/* After a PQsend*: sends the rest of the query and waits for every result
 * of it. Keeps the first error, else the last result, in *out. */
static enum bo_store_status await_results(struct bo_pg_conn *conn,
                                          PGresult **out) {
  PGconn *pg = conn->pg;
  int64_t deadline =
      conn->timeout_ms > 0 ? monotonic_ms() + conn->timeout_ms : 0;
  PGresult *kept = NULL;
  int rc;
  *out = NULL;
  /* A full socket buffer: the server may be waiting for us to read. */
  while ((rc = PQflush(pg)) == 1) {
    int ready = wait_socket(pg, POLLIN | POLLOUT, deadline);
    if (ready <= 0)
      return gave_up(conn, ready == 0);
    if (!PQconsumeInput(pg))
      break; /* lost: PQgetResult below reports it */
  }
  for (;;) {
    while (PQstatus(pg) != CONNECTION_BAD && PQisBusy(pg)) {
      int ready = wait_socket(pg, POLLIN, deadline);
      if (ready <= 0) {
        PQclear(kept);
        return gave_up(conn, ready == 0);
      }
      if (!PQconsumeInput(pg) && PQstatus(pg) != CONNECTION_BAD) {
        PQclear(kept);
        return gave_up(conn, 0);
      }
    }
    /* Does not block now: either a result is parsed, or the connection is
     * gone and libpq answers with its error at once. */
    PGresult *res = PQgetResult(pg);
    if (!res)
      break;
    if (kept && PQresultStatus(kept) == PGRES_FATAL_ERROR) {
      PQclear(res);
    } else {
      PQclear(kept);
      kept = res;
    }
  }
  ExecStatusType st = kept ? PQresultStatus(kept) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    *out = kept;
    return BO_STORE_OK;
  }
  enum bo_store_status status = bo_pg_error(conn, kept);
  PQclear(kept);
  return status;
}

static enum bo_store_status prepare(struct bo_pg_conn *conn,
                                    enum bo_pg_stmt_id id, const char *name) {
  PGresult *res = NULL;
  if (!PQsendPrepare(conn->pg, name, bo_pg_sql[id], 0, NULL))
    return bo_pg_error(conn, NULL);
  enum bo_store_status status = await_results(conn, &res);
  PQclear(res);
  /* A Parse is not undone by a ROLLBACK: once made, it stays made. */
  if (status == BO_STORE_OK)
    conn->prepared[id] = true;
  return status;
}

enum bo_store_status bo_pg_exec(struct bo_pg_conn *conn, enum bo_pg_stmt_id id,
                                const struct bo_pg_params *params,
                                PGresult **res) {
  char name[16];
  *res = NULL;
  snprintf(name, sizeof name, "bo_%d", (int)id);
  if (!conn->prepared[id]) {
    enum bo_store_status status = prepare(conn, id, name);
    if (status != BO_STORE_OK)
      return status;
  }
  if (!PQsendQueryPrepared(conn->pg, name, params ? params->count : 0,
                           params ? params->values : NULL, NULL, NULL, 0))
    return bo_pg_error(conn, NULL);
  return await_results(conn, res);
}

enum bo_store_status bo_pg_row(struct bo_pg_conn *conn, enum bo_pg_stmt_id id,
                               const struct bo_pg_params *params,
                               PGresult **res) {
  enum bo_store_status status = bo_pg_exec(conn, id, params, res);
  if (status == BO_STORE_OK && PQntuples(*res) == 0) {
    PQclear(*res);
    *res = NULL;
    status = BO_STORE_NOT_FOUND;
  }
  return status;
}

enum bo_store_status bo_pg_command(struct bo_pg_conn *conn,
                                   enum bo_pg_stmt_id id,
                                   const struct bo_pg_params *params,
                                   int64_t *changed) {
  PGresult *res = NULL;
  enum bo_store_status status = bo_pg_exec(conn, id, params, &res);
  if (status == BO_STORE_OK && changed)
    *changed = strtoll(PQcmdTuples(res), NULL, 10); /* "" reads 0 */
  PQclear(res);
  return status;
}

enum bo_store_status bo_pg_exec_text(struct bo_pg_conn *conn, const char *sql) {
  PGresult *res = NULL;
  if (!PQsendQuery(conn->pg, sql))
    return bo_pg_error(conn, NULL);
  enum bo_store_status status = await_results(conn, &res);
  PQclear(res);
  return status;
}
