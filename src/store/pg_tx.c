/* The transaction runner, and why READ COMMITTED wins every race.
 *
 * Isolation. Every transaction runs at READ COMMITTED, spelled out in its
 * BEGIN so that a server whose default_transaction_isolation is another
 * level cannot change what follows:
 *   - read transactions (write = false): BEGIN ISOLATION LEVEL READ
 *     COMMITTED READ ONLY, so a rule that writes where it said it would not
 *     fails loudly (25006) instead of writing;
 *   - write transactions (holds, cancels, charges, payments, sign-ups,
 *     concert creation, housekeeping): BEGIN ISOLATION LEVEL READ COMMITTED;
 *   - migrations: the same, serialised by pg_advisory_xact_lock
 *     (pg_migrate.c).
 *
 * Why the races are still won. No promise rests on what a transaction read
 * earlier: each race is decided by one conditional statement on one row, or
 * by a unique index, and READ COMMITTED gives those exactly the semantics
 * they need. An UPDATE that finds its row locked by another transaction
 * waits for it to end; if that one committed, the UPDATE evaluates its WHERE
 * again on the row's newest version, skips the row if it no longer matches,
 * and computes its SET from that version. So:
 *   - One seat, many racers (seat_hold): UPDATE concert_seat ... WHERE the
 *     seat is AVAILABLE or its hold ran out, RETURNING. One racer updates;
 *     the others wait for its row lock, re-check, find HELD by a live hold
 *     and get no row: CONFLICT (409 SEAT_UNAVAILABLE). The winner keeps the
 *     row lock until it commits, so recording its reservation is serialised
 *     per seat too; the partial unique index reservation_live_seat would
 *     refuse a second live reservation anyway (a racing insert waits for the
 *     first one's commit, then finds the key taken).
 *   - Charges and spending (points_add): UPDATE point SET point = point + d
 *     WHERE point + d stays in [0, 10^12] RETURNING point. Concurrent
 *     charges queue on the row and each adds to the balance the previous
 *     one committed, so none is lost; a spend is checked against that
 *     balance, so two payments never overdraw. The CHECK says so again.
 *   - Paying, cancelling, expiring (reservation_transition, seat_sell,
 *     seat_release): UPDATE ... WHERE status = 'HELD' (and the hold still
 *     live, for paying and cancelling). Of two payments, or a payment and a
 *     cancel, of one reservation exactly one moves it; the other re-checks,
 *     sees CONFIRMED or CANCELLED and gets no row: CONFLICT.
 *   - One payment per reservation, one use per idempotency key: UNIQUE
 *     (reservation_id) and PRIMARY KEY (user_id, scope, idem_key), inserted
 *     with ON CONFLICT DO NOTHING. A second insert of a key waits for the
 *     first transaction and, once it has committed, finds the key taken. A
 *     taken idempotency key makes the rule return TRANSIENT: the runner
 *     re-runs it, and the re-run (a new statement, hence a new snapshot)
 *     finds the first request's record and replays its answer.
 *   - Housekeeping (holds_release_expired) picks its rows with FOR UPDATE
 *     SKIP LOCKED: it never waits for a payment or a new hold, several
 *     instances sweeping at once take disjoint rows, and the UPDATE
 *     re-checks each locked row.
 * What READ COMMITTED does not give is one snapshot for a whole
 * transaction: two reads in one transaction may see different commits in
 * between. No decision rests on such a read. Rules read, check, and then act
 * with a statement that repeats the check in its WHERE; a stale read only
 * changes which refusal is reported (the loser of two payments of one
 * reservation hears RESERVATION_EXPIRED rather than ALREADY_PAID; both are
 * 409). SERIALIZABLE would add serialization failures to every hot race,
 * each costing a re-run, for no invariant that is not already held.
 *
 * Deadlocks are rare but possible: a payment locks its reservation, then its
 * seat; a new hold of that seat, taken just as the old hold runs out (the
 * payment's clock still before the expiry, the hold's after it, as two
 * instances' clocks may be), locks the seat, then the old reservation (to
 * expire it). PostgreSQL breaks the cycle after deadlock_timeout (1 s) by
 * aborting one of them with 40P01; the re-run then sees the other's commit
 * and refuses cleanly.
 *
 * Retries. 40001 (serialization failure) and 40P01 (deadlock) are
 * BO_STORE_TRANSIENT: everything is rolled back and the function runs again
 * after a short random pause, so that the contenders do not collide again
 * in step; after BO_PG_TRIES the caller gets BO_STORE_TRANSIENT (503). A tx
 * function has no effects outside its transaction, so re-running it is
 * safe. A lost connection, statement_timeout (5 s) or lock_timeout (2 s) is
 * BO_STORE_UNAVAILABLE and is not retried: the request answers 503 at once.
 * A COMMIT whose answer never came may or may not have committed; a client
 * that retries with its Idempotency-Key gets the right answer either way.
 *
 * A server that does not answer. BEGIN does no work on the server, so its
 * answer may take BO_PG_START_TIMEOUT_MS (1 s), not the 7 s a statement may:
 * a server that is frozen or too slow to use is found out at the start of
 * a transaction, before anything of the rule has run, in a second. Then,
 * and whenever a round trip goes unanswered past its limit, the store
 * pauses (pg_conn.c): calls answer UNAVAILABLE at once instead of each
 * waiting out its own limit, which would hold every request queued behind
 * it on the same worker thread.
 *
 * One exception to "not retried": a connection that sat idle may have been
 * closed by a server restart without libpq knowing. If the BEGIN, before
 * anything of the rule has run, finds the connection lost, the connection is
 * replaced once, at once, and BEGIN sent again. A server still down refuses
 * the new connection at once, so the call still answers UNAVAILABLE quickly;
 * a server back up serves the call.
 *
 * Unlike SQLite, PostgreSQL aborts the whole transaction on any error. A
 * function that goes on after a failed statement and returns OK would
 * commit nothing; the runner rolls back and reports FAILED instead. The
 * statements are written so that expected refusals are "no row", not errors
 * (pg_sql.c). */
#include "store/pg_internal.h"
#include "util/log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BO_PG_TRIES 10
/* The longest pause between two tries, in microseconds. */
#define BO_PG_BACKOFF_MAX_US 50000

/* Sleeps a random time in [cap/2, cap], the cap doubling with each try. */
static void backoff(int attempt, unsigned *seed) {
  long cap = 1000L << (attempt < 6 ? attempt : 6);
  if (cap > BO_PG_BACKOFF_MAX_US)
    cap = BO_PG_BACKOFF_MAX_US;
  long us = cap / 2 + rand_r(seed) % (cap / 2 + 1);
  struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000};
  nanosleep(&ts, NULL);
}

/* Runs the first statement of a call (BEGIN, or ping's SELECT 1) on the
 * thread's connection, with a round trip of at most timeout_ms. A
 * connection that served earlier calls and turns out lost is replaced once
 * (see above). *out is the connection used, or NULL if none could be had. */
static enum bo_store_status start_call(struct bo_pg_store *s,
                                       enum bo_pg_stmt_id first, int timeout_ms,
                                       struct bo_pg_conn **out) {
  enum bo_store_status status;
  for (int attempt = 0;; attempt++) {
    struct bo_pg_conn *conn = NULL;
    *out = NULL;
    status = bo_pg_conn_get(s, &conn);
    if (status != BO_STORE_OK)
      return status;
    *out = conn;
    conn->timeout_ms = timeout_ms;
    status = bo_pg_command(conn, first, NULL, NULL);
    /* Only a connection that libpq found closed; one that timed out is
     * not stale but stuck, and a second try would double the wait. */
    if (status == BO_STORE_UNAVAILABLE && conn->used && attempt == 0 &&
        PQstatus(conn->pg) == CONNECTION_BAD) {
      bo_pg_conn_drop(conn);
      continue;
    }
    return status;
  }
}

static enum bo_store_status commit(struct bo_pg_conn *conn) {
  PGresult *res = NULL;
  enum bo_store_status status = bo_pg_exec(conn, BO_PG_COMMIT, NULL, &res);
  /* COMMIT of a transaction that met an error answers "ROLLBACK". */
  if (status == BO_STORE_OK && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
    bo_log_error("event=pg_commit_rolled_back");
    status = BO_STORE_FAILED;
  }
  PQclear(res);
  return status;
}

static enum bo_store_status run_once(struct bo_pg_store *s, bool write,
                                     bo_store_tx_fn fn, void *ctx) {
  struct bo_pg_tx tx = {.base = {.driver = &bo_pg_driver}};
  struct bo_pg_conn *conn = pthread_getspecific(s->conn_key);
  if (conn && conn->in_tx) {
    /* No nested transactions; the outer one stays untouched. */
    bo_log_error("event=pg_nested_transaction");
    return BO_STORE_FAILED;
  }
  enum bo_store_status status =
      start_call(s, write ? BO_PG_BEGIN_WRITE : BO_PG_BEGIN_READ,
                 BO_PG_START_TIMEOUT_MS, &tx.conn);
  conn = tx.conn;
  if (!conn)
    return status;
  if (status != BO_STORE_OK)
    goto done;
  conn->timeout_ms = BO_PG_CALL_TIMEOUT_MS;
  conn->in_tx = true;
  conn->tx_failed = false;
  status = fn(&tx.base, ctx);
  if (status == BO_STORE_OK && conn->tx_failed) {
    bo_log_error("event=pg_commit_after_error msg=\"a transaction function "
                 "went on after a failed statement\"");
    status = BO_STORE_FAILED;
  }
  if (status == BO_STORE_OK)
    status = commit(conn);
  if (status != BO_STORE_OK && !conn->broken &&
      PQtransactionStatus(conn->pg) != PQTRANS_IDLE &&
      bo_pg_command(conn, BO_PG_ROLLBACK, NULL, NULL) != BO_STORE_OK)
    conn->broken = true;
  conn->in_tx = false;
done:
  conn->used = true;
  conn->timeout_ms = BO_PG_CALL_TIMEOUT_MS;
  if (conn->broken)
    bo_pg_conn_drop(conn);
  return status;
}

enum bo_store_status bo_pg_transaction(struct bo_store *store, bool write,
                                       bo_store_tx_fn fn, void *ctx) {
  struct bo_pg_store *s = store->impl;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  /* Threads that collided must not pick the same pauses. */
  unsigned seed = (unsigned)now.tv_nsec ^ (unsigned)(uintptr_t)&now;
  int64_t probe;
  if (!bo_pg_admit(s, &probe))
    return BO_STORE_UNAVAILABLE;
  enum bo_store_status status = BO_STORE_TRANSIENT;
  for (int attempt = 0; attempt < BO_PG_TRIES; attempt++) {
    if (attempt > 0)
      backoff(attempt, &seed);
    status = run_once(s, write, fn, ctx);
    if (status != BO_STORE_TRANSIENT)
      break;
  }
  bo_pg_done(s, probe);
  return status;
}

enum bo_store_status bo_pg_ping(struct bo_store *store) {
  struct bo_pg_store *s = store->impl;
  struct bo_pg_conn *conn = pthread_getspecific(s->conn_key);
  enum bo_store_status status;
  if (conn && conn->in_tx) {
    /* Inside a transaction: ask on it, and leave it to its runner. */
    conn->timeout_ms = BO_PG_PING_TIMEOUT_MS;
    status = bo_pg_command(conn, BO_PG_PING, NULL, NULL);
    conn->timeout_ms = BO_PG_CALL_TIMEOUT_MS;
    return status;
  }
  int64_t probe;
  if (!bo_pg_admit(s, &probe))
    return BO_STORE_UNAVAILABLE;
  status = start_call(s, BO_PG_PING, BO_PG_PING_TIMEOUT_MS, &conn);
  if (conn) {
    conn->used = true;
    conn->timeout_ms = BO_PG_CALL_TIMEOUT_MS;
    if (conn->broken)
      bo_pg_conn_drop(conn);
  }
  bo_pg_done(s, probe);
  return status;
}
