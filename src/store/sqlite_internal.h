/* What the SQLite driver's files share, and nothing else: the store and
 * connection objects, the statement cache, the status mapping and the row
 * helpers. Only src/store/sqlite*.c and store.c include this. */
#ifndef BO_STORE_SQLITE_INTERNAL_H
#define BO_STORE_SQLITE_INTERNAL_H

#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

/* Every SQL statement the driver runs, by id; sqlite_sql.c holds the text. */
enum bo_sqlite_stmt_id {
  BO_SQLITE_BEGIN,
  BO_SQLITE_BEGIN_IMMEDIATE,
  BO_SQLITE_COMMIT,
  BO_SQLITE_ROLLBACK,
  BO_SQLITE_SAVEPOINT,
  BO_SQLITE_RELEASE,
  BO_SQLITE_ROLLBACK_TO,
  BO_SQLITE_PING,
  BO_SQLITE_MIGRATION_APPLIED,
  BO_SQLITE_MIGRATION_RECORD,
  BO_SQLITE_USER_INSERT,
  BO_SQLITE_USER_GET,
  BO_SQLITE_POINT_CREATE,
  BO_SQLITE_POINT_GET,
  BO_SQLITE_POINT_ADD,
  BO_SQLITE_HISTORY_INSERT,
  BO_SQLITE_HISTORY_GET,
  BO_SQLITE_HISTORY_LIST,
  BO_SQLITE_IDEMPOTENCY_GET,
  BO_SQLITE_IDEMPOTENCY_PUT,
  BO_SQLITE_CONCERT_INSERT,
  BO_SQLITE_CONCERT_LIST,
  BO_SQLITE_CONCERT_GET,
  BO_SQLITE_SCHEDULE_INSERT,
  BO_SQLITE_SEATS_INSERT,
  BO_SQLITE_SCHEDULE_GET,
  BO_SQLITE_SCHEDULE_LIST_BOOKABLE,
  BO_SQLITE_SCHEDULE_LIST_UPCOMING,
  BO_SQLITE_SEAT_LIST,
  BO_SQLITE_SEAT_LIST_UPCOMING,
  BO_SQLITE_SEAT_PEEK,
  BO_SQLITE_SEAT_HOLD,
  BO_SQLITE_SEAT_EXISTS,
  BO_SQLITE_SEAT_EXISTS_BY_ID,
  BO_SQLITE_SEAT_RELEASE,
  BO_SQLITE_SEAT_SELL,
  BO_SQLITE_RESERVATION_INSERT,
  BO_SQLITE_RESERVATION_GET,
  BO_SQLITE_RESERVATION_LIST_BY_USER,
  BO_SQLITE_RESERVATION_TRANSITION,
  BO_SQLITE_RESERVATION_EXISTS,
  BO_SQLITE_RESERVATION_EXPIRE_SEAT,
  BO_SQLITE_PAYMENT_INSERT,
  BO_SQLITE_PAYMENT_GET,
  BO_SQLITE_HOLDS_EXPIRE_RESERVATIONS,
  BO_SQLITE_HOLDS_RELEASE_SEATS,
  BO_SQLITE_CONCERT_INVENTORY,
  BO_SQLITE_SCHEDULE_COUNTS,
  BO_SQLITE_LINE_INSERT,
  BO_SQLITE_LINE_GET,
  BO_SQLITE_LINE_LIST,
  BO_SQLITE_LINE_UPDATE,
  BO_SQLITE_LINE_UPSERT_GLOBAL,
  BO_SQLITE_STMT__COUNT
};

extern const char *const bo_sqlite_sql[BO_SQLITE_STMT__COUNT];
extern const struct bo_store_driver bo_sqlite_driver;

struct bo_sqlite_store;

/* One thread's connection. Only that thread touches it, except
 * bo_sqlite_close, which runs when no other thread uses the store. */
struct bo_sqlite_conn {
  sqlite3 *db;
  sqlite3_stmt *stmts[BO_SQLITE_STMT__COUNT]; /* prepared on first use */
  struct bo_sqlite_store *store;
  struct bo_sqlite_conn *prev, *next; /* the store's list of connections */
  bool in_tx;
  bool broken; /* met a fatal error: closed at the end of the transaction */
};

struct bo_sqlite_store {
  struct bo_store base; /* base.impl points back here */
  char *path;
  pthread_key_t conn_key; /* the calling thread's struct bo_sqlite_conn */
  /* Every open connection, so that close reaches those of other threads. */
  pthread_mutex_t conns_lock;
  struct bo_sqlite_conn *conns;
  /* The writes waiting for a group commit, and whether a thread is
   * running one (sqlite_group.c). */
  pthread_mutex_t group_lock;
  pthread_cond_t group_done;
  struct bo_sqlite_write *queue_head, **queue_tail;
  bool group_running;
};

/* One write transaction waiting for, or in, a group commit. */
struct bo_sqlite_write {
  bo_store_tx_fn fn;
  void *ctx;
  enum bo_store_status status;
  bool done;
  struct bo_sqlite_write *next;
};

/* The driver's transaction; ops cast the public one back to it. */
struct bo_sqlite_tx {
  struct bo_store_tx base; /* first, so the cast is valid */
  struct bo_sqlite_conn *conn;
};

static inline struct bo_sqlite_tx *bo_sqlite_tx(struct bo_store_tx *tx) {
  return (struct bo_sqlite_tx *)tx;
}

/* ---- sqlite_group.c ----------------------------------------------------- */

void bo_sqlite_group_init(struct bo_sqlite_store *store);
void bo_sqlite_group_destroy(struct bo_sqlite_store *store);
/* Runs `fn` as one write of a group commit on the calling thread's
 * connection `conn` or another thread's: returns once the group's COMMIT
 * is durable (or failed), with fn's own outcome. */
enum bo_store_status bo_sqlite_group_write(struct bo_sqlite_store *store,
                                           struct bo_sqlite_conn *conn,
                                           bo_store_tx_fn fn, void *ctx);

/* ---- sqlite_conn.c ------------------------------------------------------ */

struct bo_store *bo_sqlite_open(const char *path, char *error,
                                size_t error_size);
void bo_sqlite_close(struct bo_store *store);
/* The calling thread's connection, opened on first use. */
enum bo_store_status bo_sqlite_conn_get(struct bo_sqlite_store *store,
                                        struct bo_sqlite_conn **out);
/* Closes a connection that met a fatal error; the next call reopens. */
void bo_sqlite_conn_drop(struct bo_sqlite_conn *conn);
/* The cached statement `id`, prepared once per connection. Give it back
 * with bo_sqlite_reset once done, on every path. */
enum bo_store_status bo_sqlite_stmt(struct bo_sqlite_conn *conn,
                                    enum bo_sqlite_stmt_id id,
                                    sqlite3_stmt **out);
void bo_sqlite_reset(sqlite3_stmt *stmt);
/* Maps an SQLite error code to a store status, logs what is a bug or an
 * outage, and marks the connection broken on a fatal error. */
enum bo_store_status bo_sqlite_error(struct bo_sqlite_conn *conn, int rc);

/* ---- sqlite_tx.c -------------------------------------------------------- */

enum bo_store_status bo_sqlite_transaction(struct bo_store *store, bool write,
                                           bo_store_tx_fn fn, void *ctx);
enum bo_store_status bo_sqlite_ping(struct bo_store *store);
/* Runs a cached statement that returns no row (BEGIN, COMMIT, ...). */
enum bo_store_status bo_sqlite_exec(struct bo_sqlite_conn *conn,
                                    enum bo_sqlite_stmt_id id);

/* ---- sqlite_rows.c ------------------------------------------------------ */

/* sqlite3_step for a statement that yields at most the one row wanted:
 * OK on a row, NOT_FOUND on none. */
enum bo_store_status bo_sqlite_step_row(struct bo_sqlite_conn *conn,
                                        sqlite3_stmt *stmt);
/* sqlite3_step for a statement that yields no rows. */
enum bo_store_status bo_sqlite_step_done(struct bo_sqlite_conn *conn,
                                         sqlite3_stmt *stmt);
/* After a conditional statement matched no row: runs `exists` (one id
 * parameter) and answers CONFLICT if the row is there, NOT_FOUND if not. */
enum bo_store_status
bo_sqlite_missing_or_conflict(struct bo_sqlite_conn *conn,
                              enum bo_sqlite_stmt_id exists, int64_t id);
/* Copies column `col` into dst, cut at a character boundary to fit. */
void bo_sqlite_column_text(sqlite3_stmt *stmt, int col, char *dst, size_t size);
/* Binds an id where 0 means "none" (NULL). */
void bo_sqlite_bind_id_or_null(sqlite3_stmt *stmt, int param, int64_t id);

/* Reads the current row into *item; false if a value is not understood. */
typedef bool (*bo_sqlite_row_fn)(sqlite3_stmt *stmt, void *item);
/* Steps through every row into a malloc'd array (NULL when empty). On error
 * frees what it gathered and leaves *items NULL and *count 0. */
enum bo_store_status bo_sqlite_collect(struct bo_sqlite_conn *conn,
                                       sqlite3_stmt *stmt, size_t item_size,
                                       bo_sqlite_row_fn read, void **items,
                                       size_t *count);

/* Parse the schema's text names back into enums (false if unknown). */
bool bo_sqlite_parse_seat_status(sqlite3_stmt *stmt, int col,
                                 enum bo_seat_status *out);
bool bo_sqlite_parse_reservation_status(sqlite3_stmt *stmt, int col,
                                        enum bo_reservation_status *out);
bool bo_sqlite_parse_point_type(sqlite3_stmt *stmt, int col,
                                enum bo_point_type *out);

/* ---- the operations (sqlite_migrate.c, sqlite_users.c, ...) ------------- */

enum bo_store_status bo_sqlite_migrate(struct bo_store *store);

enum bo_store_status bo_sqlite_user_insert(struct bo_store_tx *tx,
                                           const char *name, int64_t now_ms,
                                           struct bo_user *out);
enum bo_store_status bo_sqlite_user_get(struct bo_store_tx *tx, int64_t user_id,
                                        struct bo_user *out);
enum bo_store_status bo_sqlite_points_get(struct bo_store_tx *tx,
                                          int64_t user_id, int64_t *balance);
enum bo_store_status bo_sqlite_points_add(struct bo_store_tx *tx,
                                          int64_t user_id, int64_t delta,
                                          int64_t max_balance, int64_t now_ms,
                                          int64_t *balance_after);
enum bo_store_status
bo_sqlite_points_history_insert(struct bo_store_tx *tx,
                                struct bo_point_history *row, int64_t now_ms);
enum bo_store_status bo_sqlite_points_history_get(struct bo_store_tx *tx,
                                                  int64_t history_id,
                                                  struct bo_point_history *out);
enum bo_store_status
bo_sqlite_points_history_list(struct bo_store_tx *tx, int64_t user_id,
                              int limit, struct bo_point_history_list *out);
enum bo_store_status
bo_sqlite_idempotency_get(struct bo_store_tx *tx, int64_t user_id,
                          enum bo_idempotency_scope scope, const char *key,
                          struct bo_idempotency_record *out);
enum bo_store_status
bo_sqlite_idempotency_put(struct bo_store_tx *tx, int64_t user_id,
                          enum bo_idempotency_scope scope, const char *key,
                          const struct bo_idempotency_record *record,
                          int64_t now_ms);

enum bo_store_status bo_sqlite_concert_insert(struct bo_store_tx *tx,
                                              const char *name, int64_t now_ms,
                                              int64_t *concert_id);
enum bo_store_status
bo_sqlite_schedule_insert(struct bo_store_tx *tx, int64_t concert_id,
                          int64_t starts_at_ms, int32_t seat_count,
                          int64_t price, int64_t now_ms, int64_t *schedule_id);
enum bo_store_status bo_sqlite_concert_list(struct bo_store_tx *tx,
                                            struct bo_concert_list *out);
enum bo_store_status bo_sqlite_concert_get(struct bo_store_tx *tx,
                                           int64_t concert_id,
                                           struct bo_concert *out);
enum bo_store_status
bo_sqlite_schedule_list_upcoming(struct bo_store_tx *tx, int64_t concert_id,
                                 int64_t now_ms, struct bo_schedule_list *out);
enum bo_store_status
bo_sqlite_schedule_list_bookable(struct bo_store_tx *tx, int64_t concert_id,
                                 int64_t now_ms, struct bo_schedule_list *out);
enum bo_store_status bo_sqlite_schedule_get(struct bo_store_tx *tx,
                                            int64_t schedule_id, int64_t now_ms,
                                            struct bo_schedule *out);
enum bo_store_status bo_sqlite_seat_list_upcoming(struct bo_store_tx *tx,
                                                  int64_t concert_id,
                                                  int64_t now_ms,
                                                  struct bo_seat_list *out);
enum bo_store_status bo_sqlite_seat_list(struct bo_store_tx *tx,
                                         int64_t schedule_id, int64_t now_ms,
                                         struct bo_seat_list *out);
enum bo_store_status bo_sqlite_seat_peek(struct bo_store_tx *tx,
                                         int64_t schedule_id,
                                         int32_t seat_number, int64_t now_ms,
                                         struct bo_seat_peek *out);
enum bo_store_status bo_sqlite_seat_hold(struct bo_store_tx *tx,
                                         int64_t schedule_id,
                                         int32_t seat_number, int64_t user_id,
                                         int64_t now_ms, int64_t hold_until_ms,
                                         struct bo_seat *out);
enum bo_store_status bo_sqlite_seat_release(struct bo_store_tx *tx,
                                            int64_t seat_id, int64_t now_ms);
enum bo_store_status bo_sqlite_seat_sell(struct bo_store_tx *tx,
                                         int64_t seat_id, int64_t now_ms);

enum bo_store_status bo_sqlite_reservation_insert(struct bo_store_tx *tx,
                                                  struct bo_reservation *row,
                                                  int64_t now_ms);
enum bo_store_status bo_sqlite_reservation_get(struct bo_store_tx *tx,
                                               int64_t reservation_id,
                                               struct bo_reservation *out);
enum bo_store_status
bo_sqlite_reservation_list_by_user(struct bo_store_tx *tx, int64_t user_id,
                                   struct bo_reservation_list *out);
enum bo_store_status
bo_sqlite_reservation_transition(struct bo_store_tx *tx, int64_t reservation_id,
                                 enum bo_reservation_status from,
                                 enum bo_reservation_status to,
                                 int64_t live_at_ms, int64_t now_ms);
enum bo_store_status bo_sqlite_reservation_expire_seat(struct bo_store_tx *tx,
                                                       int64_t seat_id,
                                                       int64_t now_ms);
enum bo_store_status bo_sqlite_payment_insert(struct bo_store_tx *tx,
                                              struct bo_payment *row,
                                              int64_t now_ms);
enum bo_store_status bo_sqlite_payment_get(struct bo_store_tx *tx,
                                           int64_t payment_id,
                                           struct bo_payment *out);
enum bo_store_status bo_sqlite_concert_inventory(struct bo_store_tx *tx,
                                                 int64_t concert_id,
                                                 int64_t now_ms,
                                                 struct bo_inventory *out);
enum bo_store_status
bo_sqlite_schedule_counts(struct bo_store_tx *tx, int64_t concert_id,
                          int64_t now_ms, struct bo_schedule_count_list *out);

enum bo_store_status bo_sqlite_line_insert(struct bo_store_tx *tx,
                                           const struct bo_line_row *row,
                                           int64_t now_ms);
enum bo_store_status bo_sqlite_line_get(struct bo_store_tx *tx, int64_t line_id,
                                        struct bo_line_row *out);
enum bo_store_status bo_sqlite_line_update(struct bo_store_tx *tx,
                                           int64_t line_id,
                                           const struct bo_line_change *change,
                                           int64_t now_ms);
enum bo_store_status bo_sqlite_line_list(struct bo_store_tx *tx,
                                         struct bo_line_row_list *out);

enum bo_store_status bo_sqlite_holds_release_expired(struct bo_store_tx *tx,
                                                     int64_t now_ms, int limit,
                                                     int *released);

#endif
