/* What the PostgreSQL driver's files share, and nothing else: the store and
 * connection objects, the statement table, parameters, the status mapping
 * and the row helpers. Only src/store/pg_*.c and store.c include this. */
#ifndef BO_STORE_PG_INTERNAL_H
#define BO_STORE_PG_INTERNAL_H

#include "store/store.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every SQL statement the driver runs, by id; pg_sql.c holds the text. Each
 * connection prepares a statement the first time it runs it, under the name
 * "bo_<id>". */
enum bo_pg_stmt_id {
  BO_PG_BEGIN_READ,
  BO_PG_BEGIN_WRITE,
  BO_PG_COMMIT,
  BO_PG_ROLLBACK,
  BO_PG_PING,
  BO_PG_MIGRATION_LOCK,
  BO_PG_MIGRATION_APPLIED,
  BO_PG_MIGRATION_RECORD,
  BO_PG_USER_INSERT,
  BO_PG_USER_GET,
  BO_PG_POINT_GET,
  BO_PG_POINT_ADD,
  BO_PG_HISTORY_INSERT,
  BO_PG_HISTORY_GET,
  BO_PG_HISTORY_LIST,
  BO_PG_IDEMPOTENCY_GET,
  BO_PG_IDEMPOTENCY_PUT,
  BO_PG_CONCERT_INSERT,
  BO_PG_CONCERT_LIST,
  BO_PG_CONCERT_GET,
  BO_PG_SCHEDULE_INSERT,
  BO_PG_SCHEDULE_GET,
  BO_PG_SCHEDULE_LIST_BOOKABLE,
  BO_PG_SCHEDULE_LIST_UPCOMING,
  BO_PG_SEAT_LIST,
  BO_PG_SEAT_LIST_UPCOMING,
  BO_PG_SEAT_PEEK,
  BO_PG_SEAT_HOLD,
  BO_PG_SEAT_EXISTS,
  BO_PG_SEAT_EXISTS_BY_ID,
  BO_PG_SEAT_RELEASE,
  BO_PG_SEAT_SELL,
  BO_PG_RESERVATION_INSERT,
  BO_PG_RESERVATION_PARENTS,
  BO_PG_RESERVATION_GET,
  BO_PG_RESERVATION_LIST_BY_USER,
  BO_PG_RESERVATION_TRANSITION,
  BO_PG_RESERVATION_EXISTS,
  BO_PG_RESERVATION_EXPIRE_SEAT,
  BO_PG_PAYMENT_INSERT,
  BO_PG_PAYMENT_PARENTS,
  BO_PG_PAYMENT_GET,
  BO_PG_HOLDS_EXPIRE_RESERVATIONS,
  BO_PG_HOLDS_RELEASE_SEATS,
  BO_PG_CONCERT_INVENTORY,
  BO_PG_SCHEDULE_COUNTS,
  BO_PG_LINE_INSERT,
  BO_PG_LINE_EXISTS,
  BO_PG_LINE_GET,
  BO_PG_LINE_LIST,
  BO_PG_LINE_UPDATE,
  BO_PG_LINE_UPSERT_GLOBAL,
  BO_PG_STMT__COUNT
};

extern const char *const bo_pg_sql[BO_PG_STMT__COUNT];
extern const struct bo_store_driver bo_pg_driver;

/* Session limits, set on every connection (pg_conn.c): no statement runs
 * longer, and no lock is waited for longer, than this. */
#define BO_PG_STATEMENT_TIMEOUT_MS 5000
#define BO_PG_LOCK_TIMEOUT_MS 2000
/* How long the driver itself waits for any one answer before it gives the
 * connection up: the server's own statement_timeout plus a margin, so this
 * fires only when the server cannot answer at all (stopped, partitioned). */
#define BO_PG_CALL_TIMEOUT_MS (BO_PG_STATEMENT_TIMEOUT_MS + 2000)
/* The round trip of BEGIN (each transaction's first statement) and of
 * ping (/healthz): statements that do no work, which a server that answers
 * at all answers in milliseconds. No answer within this means the server
 * does not answer now (frozen, overloaded past use, cut off), so the call
 * gives up and the store pauses (below). */
#define BO_PG_START_TIMEOUT_MS 1000
#define BO_PG_PING_TIMEOUT_MS BO_PG_START_TIMEOUT_MS
/* How long calls fail at once once the server has left calls unanswered
 * past their limits, before one call at a time may try it again; and the
 * window in which two such calls mean the server rather than one stuck
 * connection (pg_conn.c, "Pausing"). */
#define BO_PG_PAUSE_MS 1000
#define BO_PG_UNANSWERED_WINDOW_MS 5000

struct bo_pg_store;

/* One thread's connection. Only that thread touches it, except
 * bo_pg_close, which runs when no other thread uses the store. */
struct bo_pg_conn {
  PGconn *pg;
  bool prepared[BO_PG_STMT__COUNT]; /* on this connection, so far */
  struct bo_pg_store *store;
  struct bo_pg_conn *prev, *next; /* the store's list of connections */
  /* How long one round trip may take before the connection is given up
   * (0: no limit); BO_PG_CALL_TIMEOUT_MS unless a caller narrows or lifts
   * it for one call (ping, migrations). */
  int timeout_ms;
  bool in_tx;
  bool tx_failed; /* a statement failed inside the open transaction */
  bool used;      /* has run a transaction: an error at BEGIN may be stale */
  bool broken;    /* lost or unusable: closed at the end of the call */
};

#define BO_PG_CONNINFO_MAX 8

struct bo_pg_store {
  struct bo_store base; /* base.impl points back here */
  char *url;
  /* "host=... port=... dbname=...", for log lines: never the password. */
  char where[256];
  /* libpq keywords and values, NULL-ended: the URL (expanded as dbname) and
   * the defaults the URL does not set itself (pg_conn.c). */
  const char *keywords[BO_PG_CONNINFO_MAX + 1];
  const char *values[BO_PG_CONNINFO_MAX + 1];
  int connect_timeout_ms; /* 0: no limit */
  pthread_key_t conn_key; /* the calling thread's struct bo_pg_conn */
  /* Every open connection, so that close reaches those of other threads. */
  pthread_mutex_t conns_lock;
  struct bo_pg_conn *conns;
  /* Set while connecting fails, so an outage logs once, not per request. */
  atomic_bool down;
  /* Monotonic ms until which calls fail at once (0: none), set when the
   * server left a call unanswered past its limit; `probing` while the one
   * call let through after that time is out. See bo_pg_admit. */
  _Atomic int64_t paused_until;
  atomic_bool probing;
  _Atomic int64_t last_unanswered; /* monotonic ms of the last; 0: none */
};

/* The driver's transaction; ops cast the public one back to it. */
struct bo_pg_tx {
  struct bo_store_tx base; /* first, so the cast is valid */
  struct bo_pg_conn *conn;
};

static inline struct bo_pg_tx *bo_pg_tx(struct bo_store_tx *tx) {
  return (struct bo_pg_tx *)tx;
}

/* Statement parameters, all sent as text (the server parses them into the
 * types the statement declares). Integers are formatted into `digits`;
 * text is borrowed from the caller until the statement has run. */
#define BO_PG_PARAMS_MAX 8

struct bo_pg_params {
  int count;
  const char *values[BO_PG_PARAMS_MAX];
  char digits[BO_PG_PARAMS_MAX][24];
};

void bo_pg_param_int(struct bo_pg_params *p, int64_t value);
void bo_pg_param_text(struct bo_pg_params *p, const char *text);
/* An id where 0 means "none" (NULL). */
void bo_pg_param_id_or_null(struct bo_pg_params *p, int64_t id);

/* ---- pg_conn.c ---------------------------------------------------------- */

struct bo_store *bo_pg_open(const char *url, char *error, size_t error_size);
void bo_pg_close(struct bo_store *store);
/* The calling thread's connection, opened on first use (and again after it
 * was lost). UNAVAILABLE when the server cannot be reached in time. */
enum bo_store_status bo_pg_conn_get(struct bo_pg_store *store,
                                    struct bo_pg_conn **out);
/* Closes a connection that was lost or failed; the next call reopens. */
void bo_pg_conn_drop(struct bo_pg_conn *conn);
/* Whether a call may go to the server now. False while the store pauses
 * (the call answers UNAVAILABLE at once); once the pause is over, true for
 * one call at a time, the probe, with *probe set to what bo_pg_done needs.
 * *probe is 0 for a call that is not a probe. */
bool bo_pg_admit(struct bo_pg_store *s, int64_t *probe);
/* After an admitted call: a probe that was answered in time ends the
 * pause. */
void bo_pg_done(struct bo_pg_store *s, int64_t probe);
/* The server left a call unanswered past its limit: pause, if it is the
 * second within BO_PG_UNANSWERED_WINDOW_MS or a probe's. */
void bo_pg_unresponsive(struct bo_pg_store *s);

/* ---- pg_exec.c ---------------------------------------------------------- */

/* Runs statement `id` (preparing it first if this connection has not yet)
 * with `params` (NULL: none), waiting at most conn->timeout_ms. On OK *res
 * is the result, for the caller to PQclear; otherwise *res is NULL and the
 * error has been mapped by bo_pg_error. */
enum bo_store_status bo_pg_exec(struct bo_pg_conn *conn, enum bo_pg_stmt_id id,
                                const struct bo_pg_params *params,
                                PGresult **res);
/* bo_pg_exec for a statement that yields at most the one row wanted:
 * OK on a row, NOT_FOUND on none (and *res is then NULL). */
enum bo_store_status bo_pg_row(struct bo_pg_conn *conn, enum bo_pg_stmt_id id,
                               const struct bo_pg_params *params,
                               PGresult **res);
/* bo_pg_exec for a statement whose rows are not read; *changed (if not
 * NULL) is the number of rows it inserted, updated or deleted. */
enum bo_store_status bo_pg_command(struct bo_pg_conn *conn,
                                   enum bo_pg_stmt_id id,
                                   const struct bo_pg_params *params,
                                   int64_t *changed);
/* Runs SQL text, unprepared, through the simple protocol: several
 * statements at once are allowed (a migration file, session settings). */
enum bo_store_status bo_pg_exec_text(struct bo_pg_conn *conn, const char *sql);
/* Maps a failed result (or a failed send, res NULL) to a store status, logs
 * what is a bug or an outage, and marks the connection broken when it is
 * lost. See pg_exec.c for the table. */
enum bo_store_status bo_pg_error(struct bo_pg_conn *conn, const PGresult *res);

/* ---- pg_tx.c ------------------------------------------------------------ */

enum bo_store_status bo_pg_transaction(struct bo_store *store, bool write,
                                       bo_store_tx_fn fn, void *ctx);
enum bo_store_status bo_pg_ping(struct bo_store *store);

/* ---- pg_rows.c ---------------------------------------------------------- */

/* After a conditional statement matched no row: runs `exists` (with the
 * same kind of parameters) and answers CONFLICT if it finds a row,
 * NOT_FOUND if not. */
enum bo_store_status
bo_pg_missing_or_conflict(struct bo_pg_conn *conn, enum bo_pg_stmt_id exists,
                          const struct bo_pg_params *params);
/* Column values of row `row`; SQL NULL reads 0. */
int64_t bo_pg_int64(const PGresult *res, int row, int col);
int32_t bo_pg_int32(const PGresult *res, int row, int col);
/* Copies a text column into dst, cut at a character boundary to fit. */
void bo_pg_text(const PGresult *res, int row, int col, char *dst, size_t size);

/* Reads row `row` into *item; false if a value is not understood. */
typedef bool (*bo_pg_row_fn)(const PGresult *res, int row, void *item);
/* Runs `id` and reads every row into a malloc'd array (NULL when empty).
 * On error leaves *items NULL and *count 0. */
enum bo_store_status bo_pg_list(struct bo_pg_conn *conn, enum bo_pg_stmt_id id,
                                const struct bo_pg_params *params,
                                size_t item_size, bo_pg_row_fn read,
                                void **items, size_t *count);

/* Parse the schema's text names back into enums (false if unknown). */
bool bo_pg_parse_seat_status(const PGresult *res, int row, int col,
                             enum bo_seat_status *out);
bool bo_pg_parse_reservation_status(const PGresult *res, int row, int col,
                                    enum bo_reservation_status *out);
bool bo_pg_parse_point_type(const PGresult *res, int row, int col,
                            enum bo_point_type *out);

/* ---- the operations (pg_migrate.c, pg_users.c, ...) --------------------- */

enum bo_store_status bo_pg_migrate(struct bo_store *store);

enum bo_store_status bo_pg_user_insert(struct bo_store_tx *tx, const char *name,
                                       int64_t now_ms, struct bo_user *out);
enum bo_store_status bo_pg_user_get(struct bo_store_tx *tx, int64_t user_id,
                                    struct bo_user *out);
enum bo_store_status bo_pg_points_get(struct bo_store_tx *tx, int64_t user_id,
                                      int64_t *balance);
enum bo_store_status bo_pg_points_add(struct bo_store_tx *tx, int64_t user_id,
                                      int64_t delta, int64_t max_balance,
                                      int64_t now_ms, int64_t *balance_after);
enum bo_store_status bo_pg_points_history_insert(struct bo_store_tx *tx,
                                                 struct bo_point_history *row,
                                                 int64_t now_ms);
enum bo_store_status bo_pg_points_history_get(struct bo_store_tx *tx,
                                              int64_t history_id,
                                              struct bo_point_history *out);
enum bo_store_status
bo_pg_points_history_list(struct bo_store_tx *tx, int64_t user_id, int limit,
                          struct bo_point_history_list *out);
enum bo_store_status bo_pg_idempotency_get(struct bo_store_tx *tx,
                                           int64_t user_id,
                                           enum bo_idempotency_scope scope,
                                           const char *key,
                                           struct bo_idempotency_record *out);
enum bo_store_status
bo_pg_idempotency_put(struct bo_store_tx *tx, int64_t user_id,
                      enum bo_idempotency_scope scope, const char *key,
                      const struct bo_idempotency_record *record,
                      int64_t now_ms);

enum bo_store_status bo_pg_concert_insert(struct bo_store_tx *tx,
                                          const char *name, int64_t now_ms,
                                          int64_t *concert_id);
enum bo_store_status
bo_pg_schedule_insert(struct bo_store_tx *tx, int64_t concert_id,
                      int64_t starts_at_ms, int32_t seat_count, int64_t price,
                      int64_t now_ms, int64_t *schedule_id);
enum bo_store_status bo_pg_concert_list(struct bo_store_tx *tx,
                                        struct bo_concert_list *out);
enum bo_store_status bo_pg_concert_get(struct bo_store_tx *tx,
                                       int64_t concert_id,
                                       struct bo_concert *out);
enum bo_store_status bo_pg_schedule_list_upcoming(struct bo_store_tx *tx,
                                                  int64_t concert_id,
                                                  int64_t now_ms,
                                                  struct bo_schedule_list *out);
enum bo_store_status bo_pg_schedule_list_bookable(struct bo_store_tx *tx,
                                                  int64_t concert_id,
                                                  int64_t now_ms,
                                                  struct bo_schedule_list *out);
enum bo_store_status bo_pg_schedule_get(struct bo_store_tx *tx,
                                        int64_t schedule_id, int64_t now_ms,
                                        struct bo_schedule *out);
enum bo_store_status bo_pg_seat_list_upcoming(struct bo_store_tx *tx,
                                              int64_t concert_id,
                                              int64_t now_ms,
                                              struct bo_seat_list *out);
enum bo_store_status bo_pg_seat_list(struct bo_store_tx *tx,
                                     int64_t schedule_id, int64_t now_ms,
                                     struct bo_seat_list *out);
enum bo_store_status bo_pg_seat_peek(struct bo_store_tx *tx,
                                     int64_t schedule_id, int32_t seat_number,
                                     int64_t now_ms, struct bo_seat_peek *out);
enum bo_store_status bo_pg_seat_hold(struct bo_store_tx *tx,
                                     int64_t schedule_id, int32_t seat_number,
                                     int64_t user_id, int64_t now_ms,
                                     int64_t hold_until_ms,
                                     struct bo_seat *out);
enum bo_store_status bo_pg_seat_release(struct bo_store_tx *tx, int64_t seat_id,
                                        int64_t now_ms);
enum bo_store_status bo_pg_seat_sell(struct bo_store_tx *tx, int64_t seat_id,
                                     int64_t now_ms);

enum bo_store_status bo_pg_reservation_insert(struct bo_store_tx *tx,
                                              struct bo_reservation *row,
                                              int64_t now_ms);
enum bo_store_status bo_pg_reservation_get(struct bo_store_tx *tx,
                                           int64_t reservation_id,
                                           struct bo_reservation *out);
enum bo_store_status
bo_pg_reservation_list_by_user(struct bo_store_tx *tx, int64_t user_id,
                               struct bo_reservation_list *out);
enum bo_store_status
bo_pg_reservation_transition(struct bo_store_tx *tx, int64_t reservation_id,
                             enum bo_reservation_status from,
                             enum bo_reservation_status to, int64_t live_at_ms,
                             int64_t now_ms);
enum bo_store_status bo_pg_reservation_expire_seat(struct bo_store_tx *tx,
                                                   int64_t seat_id,
                                                   int64_t now_ms);
enum bo_store_status bo_pg_payment_insert(struct bo_store_tx *tx,
                                          struct bo_payment *row,
                                          int64_t now_ms);
enum bo_store_status bo_pg_payment_get(struct bo_store_tx *tx,
                                       int64_t payment_id,
                                       struct bo_payment *out);
enum bo_store_status bo_pg_concert_inventory(struct bo_store_tx *tx,
                                             int64_t concert_id, int64_t now_ms,
                                             struct bo_inventory *out);
enum bo_store_status bo_pg_schedule_counts(struct bo_store_tx *tx,
                                           int64_t concert_id, int64_t now_ms,
                                           struct bo_schedule_count_list *out);

enum bo_store_status bo_pg_line_insert(struct bo_store_tx *tx,
                                       const struct bo_line_row *row,
                                       int64_t now_ms);
enum bo_store_status bo_pg_line_get(struct bo_store_tx *tx, int64_t line_id,
                                    struct bo_line_row *out);
enum bo_store_status bo_pg_line_update(struct bo_store_tx *tx, int64_t line_id,
                                       const struct bo_line_change *change,
                                       int64_t now_ms);
enum bo_store_status bo_pg_line_list(struct bo_store_tx *tx,
                                     struct bo_line_row_list *out);

enum bo_store_status bo_pg_holds_release_expired(struct bo_store_tx *tx,
                                                 int64_t now_ms, int limit,
                                                 int *released);

#endif
