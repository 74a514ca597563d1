/* The storage interface: what the booking rules need from a relational
 * database, and nothing about SQL. A driver (sqlite_*.c, pg_*.c) fills in a
 * struct bo_store_driver.
 *
 * Transactions. Every operation runs inside a transaction opened by
 * bo_store_transaction(). The rule is written as a function (bo_store_tx_fn)
 * that the driver may run more than once: when the database reports a
 * transient failure (SQLITE_BUSY, a serialization failure, a deadlock) the
 * driver rolls back and calls the function again, a bounded number of times.
 * So a tx function must not have effects outside the transaction (no queue
 * calls, no metrics) and must reset any output it fills.
 *
 * A tx function returns BO_STORE_OK to commit; anything else rolls back and
 * is returned to the caller. It may keep a richer reason (say, which conflict
 * it met) in its own context.
 *
 * Connections. Each thread gets its own connection, opened on first use and
 * reopened after a failure; prepared statements are made once per
 * connection. Callers never see a connection.
 *
 * Races are won by single conditional statements whose affected-row count
 * decides (see seat_hold, points_add, reservation_transition), and the schema
 * enforces the same invariants again (unique keys, CHECKs). */
#ifndef BO_STORE_STORE_H
#define BO_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bo_store_status {
  BO_STORE_OK = 0,
  BO_STORE_NOT_FOUND, /* the row the operation names does not exist */
  BO_STORE_CONFLICT,  /* a condition or a unique key said no */
  BO_STORE_TRANSIENT, /* busy / serialization failure: retried, then given up */
  /* The database cannot be reached (connection refused or lost, timed out).
   * Not retried inside the request: the caller answers 503 at once, and the
   * driver reconnects on a later call. */
  BO_STORE_UNAVAILABLE,
  BO_STORE_FAILED, /* anything else: a bug, a full disk, a corrupt file */
};

/* ---- rows --------------------------------------------------------------- */

/* 200 characters of up to 4 UTF-8 bytes, and the NUL. */
#define BO_NAME_MAX_BYTES 801

struct bo_user {
  int64_t user_id;
  char name[BO_NAME_MAX_BYTES];
};

struct bo_concert {
  int64_t concert_id;
  char name[BO_NAME_MAX_BYTES];
};

struct bo_schedule {
  int64_t schedule_id;
  int64_t concert_id;
  int64_t starts_at_ms;
  int32_t total_seats;
  int32_t available_seats; /* neither sold nor held by a live hold, at `now` */
};

enum bo_seat_status { BO_SEAT_AVAILABLE, BO_SEAT_HELD, BO_SEAT_SOLD };

struct bo_seat {
  int64_t seat_id;
  int64_t schedule_id;
  int32_t seat_number;
  int64_t price;
  /* As seen at `now`: a hold that has run out reads AVAILABLE. */
  enum bo_seat_status status;
  /* When a HELD seat's hold runs out (it reads AVAILABLE from then on);
   * 0 for any other status. Filled by seat_list and seat_list_upcoming
   * only. */
  int64_t hold_expires_at_ms;
};

/* A seat as a hold attempt first sees it (seat_peek). */
struct bo_seat_peek {
  int64_t starts_at_ms; /* its schedule's */
  enum bo_seat_status status;
};

/* The states a reservation row can be in (booking/holds.c moves them). */
enum bo_reservation_status {
  BO_RESERVATION_HELD,
  BO_RESERVATION_CONFIRMED,
  BO_RESERVATION_EXPIRED,
  BO_RESERVATION_CANCELLED,
};

struct bo_reservation {
  int64_t reservation_id;
  int64_t user_id;
  int64_t seat_id;
  int64_t schedule_id;
  int32_t seat_number;
  int64_t price;
  int64_t reserved_at_ms;
  int64_t expires_at_ms;
  /* As stored; a HELD row whose expires_at_ms <= now is expired in fact even
   * before housekeeping writes EXPIRED. The rules make that call. */
  enum bo_reservation_status status;
};

enum bo_point_type { BO_POINT_CHARGE, BO_POINT_USE, BO_POINT_REFUND };

struct bo_point_history {
  int64_t history_id;
  int64_t user_id;
  enum bo_point_type type;
  int64_t amount; /* always > 0; the type gives the direction */
  int64_t balance_after;
  int64_t payment_id; /* the payment a USE row pays for, else 0 */
  int64_t created_at_ms;
};

struct bo_payment {
  int64_t payment_id;
  int64_t user_id;
  int64_t reservation_id;
  int64_t amount;
  /* The balance the payment left, stored with it (payment.balance_after) so
   * a payment retried with its idempotency key answers as the first did. */
  int64_t balance_after;
  int64_t paid_at_ms;
};

/* What an idempotency key protects; keys are unique per (user, scope). */
enum bo_idempotency_scope { BO_IDEMPOTENCY_CHARGE, BO_IDEMPOTENCY_PAYMENT };

#define BO_IDEMPOTENCY_KEY_MAX 255
#define BO_FINGERPRINT_MAX 128

struct bo_idempotency_record {
  /* A canonical text of the request ("amount=10000"); a retry must match. */
  char fingerprint[BO_FINGERPRINT_MAX];
  /* The row the first request made: a point_history id for a charge, a
   * payment id for a payment. The first response is rebuilt from it. */
  int64_t result_id;
};

/* A list the driver allocates with malloc; the caller frees `items`. */
#define BO_STORE_LIST(name, type)                                              \
  struct name {                                                                \
    type *items;                                                               \
    size_t count;                                                              \
  }
BO_STORE_LIST(bo_concert_list, struct bo_concert);
BO_STORE_LIST(bo_schedule_list, struct bo_schedule);
BO_STORE_LIST(bo_seat_list, struct bo_seat);
BO_STORE_LIST(bo_reservation_list, struct bo_reservation);
BO_STORE_LIST(bo_point_history_list, struct bo_point_history);

/* ---- the driver --------------------------------------------------------- */

/* A waiting line's stored settings (table queue_line). Line 0 is the
 * global line, whose row exists only once an operator changed it; line L
 * is concert L's own line, created with the concert. */
#define BO_LINE_SEED_BYTES 32

struct bo_line_row {
  int64_t line_id;
  int64_t active_max;       /* 0: the process's BOXOFFICE_ACTIVE_MAX */
  int64_t admit_per_minute; /* 0: no rate limit */
  int64_t on_sale_at_ms;    /* 0: no pre-queue */
  /* Seats left times this / 100 is how many may be ACTIVE at once; 0: no
   * inventory cap (the global line). */
  int32_t inventory_factor_pct;
  bool paused;
  uint8_t seed[BO_LINE_SEED_BYTES]; /* secret until the draw */
  int64_t created_at_ms;
};

/* The live settings an operator may change. */
struct bo_line_change {
  int64_t active_max;
  int64_t admit_per_minute;
  int32_t inventory_factor_pct;
  bool paused;
};

/* A concert's seats over its schedules that start after `now`. */
struct bo_inventory {
  int64_t available; /* neither sold nor held by a live hold */
  int64_t held;      /* held by a live hold */
  int64_t sold;
};

/* One schedule's seats, statuses as of a given time (schedule_counts). */
struct bo_schedule_count {
  int64_t schedule_id;
  int64_t starts_at_ms;
  int64_t total;
  int64_t available; /* neither sold nor held by a live hold */
  int64_t held;      /* held by a live hold */
  int64_t sold;
};

BO_STORE_LIST(bo_line_row_list, struct bo_line_row);
BO_STORE_LIST(bo_schedule_count_list, struct bo_schedule_count);

struct bo_store;    /* one per process: the driver plus its settings */
struct bo_store_tx; /* a transaction on the calling thread's connection */

typedef enum bo_store_status (*bo_store_tx_fn)(struct bo_store_tx *tx,
                                               void *ctx);

struct bo_store_driver {
  const char *name; /* "sqlite" */

  /* Applies pending migrations; safe to call at every start. */
  enum bo_store_status (*migrate)(struct bo_store *store);
  /* A cheap round trip, for /healthz. */
  enum bo_store_status (*ping)(struct bo_store *store);
  void (*close)(struct bo_store *store);

  /* `write` says whether the function changes anything, so a driver can take
   * its write lock up front (SQLite: BEGIN IMMEDIATE) instead of upgrading
   * a read lock half-way, which is what deadlocks. */
  enum bo_store_status (*transaction)(struct bo_store *store, bool write,
                                      bo_store_tx_fn fn, void *ctx);

  /* users and points */
  enum bo_store_status (*user_insert)(struct bo_store_tx *tx, const char *name,
                                      int64_t now_ms, struct bo_user *out);
  enum bo_store_status (*user_get)(struct bo_store_tx *tx, int64_t user_id,
                                   struct bo_user *out);
  enum bo_store_status (*points_get)(struct bo_store_tx *tx, int64_t user_id,
                                     int64_t *balance);
  /* balance += delta only if the result stays within [0, max_balance], in one
   * conditional UPDATE. NOT_FOUND: no such user; CONFLICT: out of range. */
  enum bo_store_status (*points_add)(struct bo_store_tx *tx, int64_t user_id,
                                     int64_t delta, int64_t max_balance,
                                     int64_t now_ms, int64_t *balance_after);
  /* Fills in history_id and created_at_ms of `row`. */
  enum bo_store_status (*points_history_insert)(struct bo_store_tx *tx,
                                                struct bo_point_history *row,
                                                int64_t now_ms);
  enum bo_store_status (*points_history_get)(struct bo_store_tx *tx,
                                             int64_t history_id,
                                             struct bo_point_history *out);
  /* Newest first. */
  enum bo_store_status (*points_history_list)(
      struct bo_store_tx *tx, int64_t user_id, int limit,
      struct bo_point_history_list *out);

  /* idempotency */
  enum bo_store_status (*idempotency_get)(struct bo_store_tx *tx,
                                          int64_t user_id,
                                          enum bo_idempotency_scope scope,
                                          const char *key,
                                          struct bo_idempotency_record *out);
  /* CONFLICT when the key is already taken. */
  enum bo_store_status (*idempotency_put)(
      struct bo_store_tx *tx, int64_t user_id, enum bo_idempotency_scope scope,
      const char *key, const struct bo_idempotency_record *record,
      int64_t now_ms);

  /* concerts, schedules, seats */
  enum bo_store_status (*concert_insert)(struct bo_store_tx *tx,
                                         const char *name, int64_t now_ms,
                                         int64_t *concert_id);
  /* Also creates seats 1..seat_count at `price`, all AVAILABLE. */
  enum bo_store_status (*schedule_insert)(struct bo_store_tx *tx,
                                          int64_t concert_id,
                                          int64_t starts_at_ms,
                                          int32_t seat_count, int64_t price,
                                          int64_t now_ms, int64_t *schedule_id);
  enum bo_store_status (*concert_list)(struct bo_store_tx *tx,
                                       struct bo_concert_list *out);
  enum bo_store_status (*concert_get)(struct bo_store_tx *tx,
                                      int64_t concert_id,
                                      struct bo_concert *out);
  /* Schedules of the concert starting after now_ms with at least one seat
   * available at now_ms, soonest first. */
  enum bo_store_status (*schedule_list_bookable)(struct bo_store_tx *tx,
                                                 int64_t concert_id,
                                                 int64_t now_ms,
                                                 struct bo_schedule_list *out);
  /* Schedules of the concert starting after now_ms, soonest first, sold
   * out or not; available_seats is not read (-1). Cheap: it touches no
   * seat. */
  enum bo_store_status (*schedule_list_upcoming)(struct bo_store_tx *tx,
                                                 int64_t concert_id,
                                                 int64_t now_ms,
                                                 struct bo_schedule_list *out);
  /* available_seats as of now_ms. */
  enum bo_store_status (*schedule_get)(struct bo_store_tx *tx,
                                       int64_t schedule_id, int64_t now_ms,
                                       struct bo_schedule *out);
  /* Every seat of the concert's schedules that start after now_ms, in the
   * order of schedule_list_upcoming and then by number, with status as of
   * now_ms: all of a concert's seat maps in one round trip. */
  enum bo_store_status (*seat_list_upcoming)(struct bo_store_tx *tx,
                                             int64_t concert_id, int64_t now_ms,
                                             struct bo_seat_list *out);
  /* Every seat, by number, with status as of now_ms. */
  enum bo_store_status (*seat_list)(struct bo_store_tx *tx, int64_t schedule_id,
                                    int64_t now_ms, struct bo_seat_list *out);

  /* One seat's status as of now_ms and its schedule's start: what a hold
   * checks before it queues for the write lock (booking/holds.c).
   * NOT_FOUND: no such seat number in that schedule. */
  enum bo_store_status (*seat_peek)(struct bo_store_tx *tx, int64_t schedule_id,
                                    int32_t seat_number, int64_t now_ms,
                                    struct bo_seat_peek *out);
  /* holds: the race for a seat is this one conditional UPDATE.
   * Marks the seat HELD by user_id until hold_until_ms if it is AVAILABLE or
   * its hold ran out (expiry <= now_ms). NOT_FOUND: no such seat number in
   * that schedule; CONFLICT: held by a live hold or sold. On OK `out` is the
   * seat (status HELD). */
  enum bo_store_status (*seat_hold)(struct bo_store_tx *tx, int64_t schedule_id,
                                    int32_t seat_number, int64_t user_id,
                                    int64_t now_ms, int64_t hold_until_ms,
                                    struct bo_seat *out);
  /* HELD -> AVAILABLE (cancel). CONFLICT if the seat is not HELD. */
  enum bo_store_status (*seat_release)(struct bo_store_tx *tx, int64_t seat_id,
                                       int64_t now_ms);
  /* HELD -> SOLD (payment). CONFLICT if the seat is not HELD. */
  enum bo_store_status (*seat_sell)(struct bo_store_tx *tx, int64_t seat_id,
                                    int64_t now_ms);

  /* reservations */
  /* Fills in reservation_id; status is whatever `row` says (HELD). */
  enum bo_store_status (*reservation_insert)(struct bo_store_tx *tx,
                                             struct bo_reservation *row,
                                             int64_t now_ms);
  enum bo_store_status (*reservation_get)(struct bo_store_tx *tx,
                                          int64_t reservation_id,
                                          struct bo_reservation *out);
  /* Newest first. */
  enum bo_store_status (*reservation_list_by_user)(
      struct bo_store_tx *tx, int64_t user_id, struct bo_reservation_list *out);
  /* One conditional UPDATE: from -> to, only if the row is in `from` and, when
   * live_at_ms > 0, its expiry is after live_at_ms. CONFLICT when no row
   * matched (NOT_FOUND if the id does not exist). */
  enum bo_store_status (*reservation_transition)(
      struct bo_store_tx *tx, int64_t reservation_id,
      enum bo_reservation_status from, enum bo_reservation_status to,
      int64_t live_at_ms, int64_t now_ms);
  /* Writes EXPIRED on the HELD reservations of this seat whose time ran out,
   * before a new hold on the seat is recorded. */
  enum bo_store_status (*reservation_expire_seat)(struct bo_store_tx *tx,
                                                  int64_t seat_id,
                                                  int64_t now_ms);

  /* payments: CONFLICT if the reservation already has one. */
  enum bo_store_status (*payment_insert)(struct bo_store_tx *tx,
                                         struct bo_payment *row,
                                         int64_t now_ms);
  enum bo_store_status (*payment_get)(struct bo_store_tx *tx,
                                      int64_t payment_id,
                                      struct bo_payment *out);

  /* waiting lines (queue_line). CONFLICT if the line exists. */
  enum bo_store_status (*line_insert)(struct bo_store_tx *tx,
                                      const struct bo_line_row *row,
                                      int64_t now_ms);
  enum bo_store_status (*line_get)(struct bo_store_tx *tx, int64_t line_id,
                                   struct bo_line_row *out);
  /* Writes the live settings. Line 0's row is created by its first change
   * (seed zero, no on-sale); for any other line NOT_FOUND if absent. */
  enum bo_store_status (*line_update)(struct bo_store_tx *tx, int64_t line_id,
                                      const struct bo_line_change *change,
                                      int64_t now_ms);
  /* Every line's row, by line id. */
  enum bo_store_status (*line_list)(struct bo_store_tx *tx,
                                    struct bo_line_row_list *out);
  /* Counts over the concert's seats in schedules starting after now_ms,
   * statuses as of now_ms (a run-out hold counts as available). All zero
   * for a concert with no such schedule, or no such concert. */
  enum bo_store_status (*concert_inventory)(struct bo_store_tx *tx,
                                            int64_t concert_id, int64_t now_ms,
                                            struct bo_inventory *out);
  /* Every schedule of the concert, past ones too, soonest first, with its
   * seat counts as of now_ms (a run-out hold counts as available).
   * NOT_FOUND: no such concert. */
  enum bo_store_status (*schedule_counts)(struct bo_store_tx *tx,
                                          int64_t concert_id, int64_t now_ms,
                                          struct bo_schedule_count_list *out);

  /* housekeeping: writes EXPIRED on run-out holds and frees their seats, at
   * most `limit` of each per call. */
  enum bo_store_status (*holds_release_expired)(struct bo_store_tx *tx,
                                                int64_t now_ms, int limit,
                                                int *released);
};

struct bo_store {
  const struct bo_store_driver *driver;
  void *impl; /* the driver's own state */
};

/* Opens the store named by a BOXOFFICE_DB value ("sqlite:PATH" or
 * "postgres://..."). Call bo_store_close() only once no other thread uses
 * the store: it closes every thread's connection.
 * On failure returns NULL and writes a reason into `error`. */
struct bo_store *bo_store_open(const char *url, char *error, size_t error_size);
void bo_store_close(struct bo_store *store);

static inline enum bo_store_status bo_store_transaction(struct bo_store *store,
                                                        bool write,
                                                        bo_store_tx_fn fn,
                                                        void *ctx) {
  return store->driver->transaction(store, write, fn, ctx);
}

/* Every transaction knows its driver, so rules call operations as
 * bo_store_op(tx)->seat_hold(tx, ...). */
struct bo_store_tx {
  const struct bo_store_driver *driver;
};

static inline const struct bo_store_driver *
bo_store_op(struct bo_store_tx *tx) {
  return tx->driver;
}

/* Text names shared by every driver's schema. */
const char *bo_seat_status_name(enum bo_seat_status status);
const char *bo_reservation_status_name(enum bo_reservation_status status);
const char *bo_point_type_name(enum bo_point_type type);
const char *bo_idempotency_scope_name(enum bo_idempotency_scope scope);

#endif
