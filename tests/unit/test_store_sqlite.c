/* The store drivers, operation by operation, on a real database per test:
 * the driver BOXOFFICE_TEST_STORE names (support/store_fixture.h), SQLite by
 * default, PostgreSQL when the tests run through tests/services.sh. Time is
 * passed in as now_ms, so expiry is tested without sleeping; races run real
 * threads, each on its own connection, as the server's workers do. Some
 * checks read the database behind the driver's back, to see the rows
 * themselves. The SQLite-only cases (writing bad rows with sqlite3,
 * reaching into the driver's connection) skip themselves on PostgreSQL, and
 * the PostgreSQL-only ones at the end (their twins, and what only a server
 * can do: lose a connection, time out, restart) skip themselves on SQLite.
 * (The file keeps its old name because the build registers it by name.) */
#include "store/migrations.h"
#include "store/pg_internal.h"
#include "store/sqlite_internal.h"
#include "store/store.h"
#include "support/store_fixture.h"

#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NOW 1800000000000LL /* 2027-01-15, any fixed instant will do */
#define HOUR_MS (3600 * 1000LL)
#define MAX_BALANCE 1000000000000LL

static struct store_fixture fx;
static void setup(void) {
  store_fixture_open(&fx);
}
static void teardown(void) {
  store_fixture_close(&fx);
}
TestSuite(store, .init = setup, .fini = teardown);

/* For the cases that test SQLite itself; the reason says where the
 * PostgreSQL twin is. */
#define SQLITE_ONLY(reason)                                                    \
  do {                                                                         \
    if (store_fixture_driver() != STORE_FIXTURE_SQLITE)                        \
      cr_skip_test("SQLite only: %s", reason);                                 \
  } while (0)
#define POSTGRES_ONLY()                                                        \
  do {                                                                         \
    if (store_fixture_driver() != STORE_FIXTURE_POSTGRES)                      \
      cr_skip_test("PostgreSQL only: runs with BOXOFFICE_TEST_STORE=postgres " \
                   "(tests/services.sh run)");                                 \
  } while (0)

static enum bo_store_status run(bool write, bo_store_tx_fn fn, void *ctx) {
  return bo_store_transaction(fx.store, write, fn, ctx);
}

/* ---- direct SQL on the database, behind the driver's back -------------- */

static int sqlite_exec(const char *sql) {
  sqlite3 *db = NULL;
  cr_assert_eq(sqlite3_open(fx.db_path, &db), SQLITE_OK);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_close(db);
  return rc;
}

static int64_t sql_int(const char *sql) {
  return store_fixture_sql_int(&fx, sql);
}

/* ---- a small world: two users and one concert with one schedule -------- */

struct world {
  int32_t seats;
  int64_t price, starts_at;
  int64_t user, other, concert, schedule;
};

static enum bo_store_status seed_tx(struct bo_store_tx *tx, void *arg) {
  struct world *w = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  struct bo_user u;
  cr_assert_eq(op->user_insert(tx, "kim", NOW, &u), BO_STORE_OK);
  w->user = u.user_id;
  cr_assert_eq(op->user_insert(tx, "lee", NOW, &u), BO_STORE_OK);
  w->other = u.user_id;
  cr_assert_eq(op->concert_insert(tx, "IU Golden Hour", NOW, &w->concert),
               BO_STORE_OK);
  cr_assert_eq(op->schedule_insert(tx, w->concert, w->starts_at, w->seats,
                                   w->price, NOW, &w->schedule),
               BO_STORE_OK);
  return BO_STORE_OK;
}

static struct world seed(int32_t seats, int64_t price) {
  struct world w = {.seats = seats, .price = price, .starts_at = NOW + HOUR_MS};
  cr_assert_eq(run(true, seed_tx, &w), BO_STORE_OK);
  return w;
}

/* ---- one operation per transaction, for the steps that must commit ----- */

struct hold_call {
  int64_t schedule, user, now, until;
  int32_t seat;
  struct bo_seat out;
};

static enum bo_store_status hold_tx(struct bo_store_tx *tx, void *arg) {
  struct hold_call *c = arg;
  return bo_store_op(tx)->seat_hold(tx, c->schedule, c->seat, c->user, c->now,
                                    c->until, &c->out);
}

static enum bo_store_status hold(int64_t schedule, int32_t seat, int64_t user,
                                 int64_t now, int64_t until) {
  struct hold_call c = {schedule, user, now, until, seat, {0}};
  return run(true, hold_tx, &c);
}

struct seats_call {
  int64_t schedule, now;
  struct bo_seat_list out;
  struct bo_schedule schedule_row;
};

static enum bo_store_status seats_tx(struct bo_store_tx *tx, void *arg) {
  struct seats_call *c = arg;
  enum bo_store_status st =
      bo_store_op(tx)->schedule_get(tx, c->schedule, c->now, &c->schedule_row);
  if (st == BO_STORE_OK)
    st = bo_store_op(tx)->seat_list(tx, c->schedule, c->now, &c->out);
  return st;
}

/* The status of seat `number` and the schedule's available count at now. */
static enum bo_seat_status seat_at(int64_t schedule, int32_t number,
                                   int64_t now, int32_t *available) {
  struct seats_call c = {.schedule = schedule, .now = now};
  cr_assert_eq(run(false, seats_tx, &c), BO_STORE_OK);
  cr_assert_geq(c.out.count, (size_t)number);
  struct bo_seat seat = c.out.items[number - 1];
  free(c.out.items);
  cr_assert_eq(seat.seat_number, number);
  if (available)
    *available = c.schedule_row.available_seats;
  return seat.status;
}

struct points_call {
  int64_t user, delta, balance;
};

static enum bo_store_status points_tx(struct bo_store_tx *tx, void *arg) {
  struct points_call *c = arg;
  return bo_store_op(tx)->points_add(tx, c->user, c->delta, MAX_BALANCE, NOW,
                                     &c->balance);
}

static enum bo_store_status balance_tx(struct bo_store_tx *tx, void *arg) {
  struct points_call *c = arg;
  return bo_store_op(tx)->points_get(tx, c->user, &c->balance);
}

static int64_t balance_of(int64_t user) {
  struct points_call c = {.user = user};
  cr_assert_eq(run(false, balance_tx, &c), BO_STORE_OK);
  return c.balance;
}

/* ---- opening, names, migrations ----------------------------------------- */

static int64_t elapsed_ms(const struct timespec *since) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - since->tv_sec) * 1000 +
         (now.tv_nsec - since->tv_nsec) / 1000000;
}

Test(store_open, rejects_what_it_cannot_open) {
  char error[512] = "";
  struct timespec start;
  /* Nothing listens on port 1: refused at once, with a reason. */
  clock_gettime(CLOCK_MONOTONIC, &start);
  cr_assert_null(
      bo_store_open("postgres://127.0.0.1:1/x", error, sizeof error));
  cr_assert(strstr(error, "cannot connect to PostgreSQL"), "%s", error);
  cr_assert(strstr(error, "port=1"), "%s", error);
  /* An address that never answers: given up after connect_timeout (1 s by
   * default, which libpq alone would round up to 2 s). */
  cr_assert_null(bo_store_open("postgresql://u:secret@10.255.255.1:5432/x",
                               error, sizeof error));
  cr_assert_lt(elapsed_ms(&start), 1800);
  cr_assert(strstr(error, "PostgreSQL"), "%s", error);
  cr_assert_null(strstr(error, "secret"), "%s", error);
  cr_assert_null(
      bo_store_open("postgres://x/?nonsense=1", error, sizeof error));
  cr_assert(strstr(error, "invalid PostgreSQL URL"), "%s", error);
  cr_assert_null(bo_store_open("mysql://x", error, sizeof error));
  cr_assert(strstr(error, "sqlite:PATH"), "%s", error);
  cr_assert_null(bo_store_open("sqlite:", error, sizeof error));
  cr_assert_null(bo_store_open("sqlite::memory:", error, sizeof error));
  cr_assert_null(
      bo_store_open("sqlite:/nonexistent-dir/x.db", error, sizeof error));
  cr_assert(strstr(error, "/nonexistent-dir/x.db"), "%s", error);
  cr_assert_null(bo_store_open(NULL, NULL, 0));
  bo_store_close(NULL);
}

Test(store_open, names_match_the_schema) {
  cr_assert_str_eq(bo_seat_status_name(BO_SEAT_HELD), "HELD");
  cr_assert_str_eq(bo_reservation_status_name(BO_RESERVATION_CANCELLED),
                   "CANCELLED");
  cr_assert_str_eq(bo_point_type_name(BO_POINT_REFUND), "REFUND");
  cr_assert_str_eq(bo_idempotency_scope_name(BO_IDEMPOTENCY_PAYMENT),
                   "PAYMENT");
  cr_assert_str_eq(bo_seat_status_name((enum bo_seat_status)42), "INVALID");
}

static int embedded_migrations(void) {
  const struct bo_migration *m = store_fixture_driver() == STORE_FIXTURE_SQLITE
                                     ? bo_migrations_sqlite
                                     : bo_migrations_postgres;
  int n = 0;
  while (m[n].sql)
    n++;
  return n;
}

Test(store, migrate_again_is_a_noop) {
  struct world w = seed(3, 100);
  cr_assert_gt(embedded_migrations(), 0);
  cr_assert_eq(sql_int("SELECT count(*) FROM schema_migrations"),
               embedded_migrations());
  cr_assert_eq(fx.store->driver->migrate(fx.store), BO_STORE_OK);
  struct bo_store *second = store_fixture_reopen(&fx);
  cr_assert_eq(second->driver->migrate(second), BO_STORE_OK);
  bo_store_close(second);
  cr_assert_eq(sql_int("SELECT count(*) FROM schema_migrations"),
               embedded_migrations());
  cr_assert_eq(sql_int("SELECT count(*) FROM users"), 2);
  cr_assert_eq(sql_int("SELECT count(*) FROM concert_seat"), w.seats);
  if (fx.driver == STORE_FIXTURE_SQLITE)
    cr_assert_eq(
        sql_int("SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
  cr_assert_eq(fx.store->driver->ping(fx.store), BO_STORE_OK);
}

#define MIGRATORS 4

struct migrator {
  pthread_barrier_t *start;
  struct bo_store *store;
  enum bo_store_status status;
};

static void *migrate_thread(void *arg) {
  struct migrator *m = arg;
  pthread_barrier_wait(m->start);
  m->status = m->store->driver->migrate(m->store);
  return NULL;
}

/* As several instances starting at once on one empty database would. */
Test(store_open, stores_migrating_at_once_apply_each_version_once) {
  store_fixture_make(&fx);
  struct migrator m[MIGRATORS];
  pthread_t threads[MIGRATORS];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, MIGRATORS);
  for (int i = 0; i < MIGRATORS; i++) {
    m[i] =
        (struct migrator){&start, store_fixture_reopen(&fx), BO_STORE_FAILED};
    pthread_create(&threads[i], NULL, migrate_thread, &m[i]);
  }
  for (int i = 0; i < MIGRATORS; i++) {
    pthread_join(threads[i], NULL);
    cr_assert_eq(m[i].status, BO_STORE_OK, "store %d", i);
    bo_store_close(m[i].store);
  }
  pthread_barrier_destroy(&start);
  cr_assert_eq(sql_int("SELECT count(*) FROM schema_migrations"),
               embedded_migrations());
  store_fixture_close(&fx);
}

/* ---- users and points ---------------------------------------------------- */

static enum bo_store_status users_tx(struct bo_store_tx *tx, void *arg) {
  (void)arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  /* 200 four-byte characters: the longest name, 800 bytes. */
  char longest[801];
  for (int i = 0; i < 200; i++)
    memcpy(longest + 4 * i, "\xf0\x9f\x8e\xb5", 4);
  longest[800] = '\0';
  struct bo_user u, got;
  cr_assert_eq(op->user_insert(tx, longest, NOW, &u), BO_STORE_OK);
  cr_assert_gt(u.user_id, 0);
  cr_assert_str_eq(u.name, longest);
  cr_assert_eq(op->user_get(tx, u.user_id, &got), BO_STORE_OK);
  cr_assert_eq(got.user_id, u.user_id);
  cr_assert_str_eq(got.name, longest);
  int64_t balance = -1;
  cr_assert_eq(op->points_get(tx, u.user_id, &balance), BO_STORE_OK);
  cr_assert_eq(balance, 0);
  cr_assert_eq(op->user_get(tx, u.user_id + 1000, &got), BO_STORE_NOT_FOUND);
  cr_assert_eq(op->points_get(tx, u.user_id + 1000, &balance),
               BO_STORE_NOT_FOUND);
  return BO_STORE_OK;
}

Test(store, user_insert_creates_a_zero_balance) {
  cr_assert_eq(run(true, users_tx, NULL), BO_STORE_OK);
  cr_assert_eq(sql_int("SELECT count(*) FROM point WHERE point = 0"), 1);
}

Test(store, points_add_stays_within_zero_and_max) {
  struct world w = seed(1, 0);
  struct points_call c = {.user = w.user, .delta = 100};
  cr_assert_eq(run(true, points_tx, &c), BO_STORE_OK);
  cr_assert_eq(c.balance, 100);
  c.delta = -101;
  cr_assert_eq(run(true, points_tx, &c), BO_STORE_CONFLICT);
  cr_assert_eq(balance_of(w.user), 100);
  c.delta = -100;
  cr_assert_eq(run(true, points_tx, &c), BO_STORE_OK);
  cr_assert_eq(c.balance, 0);
  c.delta = MAX_BALANCE;
  cr_assert_eq(run(true, points_tx, &c), BO_STORE_OK);
  cr_assert_eq(c.balance, MAX_BALANCE);
  c.delta = 1;
  cr_assert_eq(run(true, points_tx, &c), BO_STORE_CONFLICT);
  c.delta = INT64_MAX; /* the sum overflows: refused, not wrapped */
  cr_assert_eq(run(true, points_tx, &c), BO_STORE_CONFLICT);
  c.delta = INT64_MIN;
  cr_assert_eq(run(true, points_tx, &c), BO_STORE_CONFLICT);
  cr_assert_eq(balance_of(w.user), MAX_BALANCE);
  c.user = w.user + 1000;
  c.delta = 1;
  cr_assert_eq(run(true, points_tx, &c), BO_STORE_NOT_FOUND);
}

static enum bo_store_status history_tx(struct bo_store_tx *tx, void *arg) {
  struct world *w = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  struct bo_point_history rows[3] = {
      {.user_id = w->user,
       .type = BO_POINT_CHARGE,
       .amount = 500,
       .balance_after = 500},
      {.user_id = w->user,
       .type = BO_POINT_REFUND,
       .amount = 20,
       .balance_after = 520},
      {.user_id = w->user,
       .type = BO_POINT_CHARGE,
       .amount = 1,
       .balance_after = 521},
  };
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(op->points_history_insert(tx, &rows[i], NOW + i), BO_STORE_OK);
    cr_assert_gt(rows[i].history_id, 0);
    cr_assert_eq(rows[i].created_at_ms, NOW + i);
  }
  struct bo_point_history got;
  cr_assert_eq(op->points_history_get(tx, rows[1].history_id, &got),
               BO_STORE_OK);
  cr_assert_eq(got.history_id, rows[1].history_id);
  cr_assert_eq(got.user_id, w->user);
  cr_assert_eq(got.type, BO_POINT_REFUND);
  cr_assert_eq(got.amount, 20);
  cr_assert_eq(got.balance_after, 520);
  cr_assert_eq(got.payment_id, 0);
  cr_assert_eq(got.created_at_ms, NOW + 1);
  cr_assert_eq(op->points_history_get(tx, rows[2].history_id + 1, &got),
               BO_STORE_NOT_FOUND);

  struct bo_point_history_list list;
  cr_assert_eq(op->points_history_list(tx, w->user, 2, &list), BO_STORE_OK);
  cr_assert_eq(list.count, 2);
  cr_assert_eq(list.items[0].history_id, rows[2].history_id);
  cr_assert_eq(list.items[1].history_id, rows[1].history_id);
  free(list.items);
  cr_assert_eq(op->points_history_list(tx, w->other, 50, &list), BO_STORE_OK);
  cr_assert_eq(list.count, 0);
  cr_assert_null(list.items);

  struct bo_point_history bad = {.user_id = w->user + 1000,
                                 .type = BO_POINT_CHARGE,
                                 .amount = 1,
                                 .balance_after = 1};
  cr_assert_eq(op->points_history_insert(tx, &bad, NOW), BO_STORE_NOT_FOUND);
  return BO_STORE_OK;
}

Test(store, points_history_newest_first) {
  struct world w = seed(1, 0);
  cr_assert_eq(run(true, history_tx, &w), BO_STORE_OK);
}

static enum bo_store_status idempotency_tx(struct bo_store_tx *tx, void *arg) {
  struct world *w = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  struct bo_idempotency_record rec = {.fingerprint = "amount=10000",
                                      .result_id = 42};
  struct bo_idempotency_record got;
  cr_assert_eq(
      op->idempotency_get(tx, w->user, BO_IDEMPOTENCY_CHARGE, "k1", &got),
      BO_STORE_NOT_FOUND);
  cr_assert_eq(
      op->idempotency_put(tx, w->user, BO_IDEMPOTENCY_CHARGE, "k1", &rec, NOW),
      BO_STORE_OK);
  cr_assert_eq(
      op->idempotency_get(tx, w->user, BO_IDEMPOTENCY_CHARGE, "k1", &got),
      BO_STORE_OK);
  cr_assert_str_eq(got.fingerprint, "amount=10000");
  cr_assert_eq(got.result_id, 42);
  /* The same key is another key for another scope or another user. */
  cr_assert_eq(
      op->idempotency_get(tx, w->user, BO_IDEMPOTENCY_PAYMENT, "k1", &got),
      BO_STORE_NOT_FOUND);
  cr_assert_eq(
      op->idempotency_put(tx, w->user, BO_IDEMPOTENCY_PAYMENT, "k1", &rec, NOW),
      BO_STORE_OK);
  cr_assert_eq(
      op->idempotency_put(tx, w->other, BO_IDEMPOTENCY_CHARGE, "k1", &rec, NOW),
      BO_STORE_OK);
  return BO_STORE_OK;
}

static enum bo_store_status idempotency_again_tx(struct bo_store_tx *tx,
                                                 void *arg) {
  struct world *w = arg;
  struct bo_idempotency_record rec = {.fingerprint = "amount=1",
                                      .result_id = 7};
  return bo_store_op(tx)->idempotency_put(tx, w->user, BO_IDEMPOTENCY_CHARGE,
                                          "k1", &rec, NOW);
}

Test(store, idempotency_key_taken_is_a_conflict) {
  struct world w = seed(1, 0);
  cr_assert_eq(run(true, idempotency_tx, &w), BO_STORE_OK);
  cr_assert_eq(run(true, idempotency_again_tx, &w), BO_STORE_CONFLICT);
  cr_assert_eq(sql_int("SELECT result_id FROM idempotency_key "
                       "WHERE scope = 'CHARGE' AND idem_key = 'k1' "
                       "AND user_id = (SELECT min(user_id) FROM users)"),
               42);
}

/* ---- concerts, schedules, seats ----------------------------------------- */

static enum bo_store_status catalog_tx(struct bo_store_tx *tx, void *arg) {
  struct world *w = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  int64_t second;
  cr_assert_eq(op->concert_insert(tx, "Second", NOW, &second), BO_STORE_OK);
  struct bo_concert_list concerts;
  cr_assert_eq(op->concert_list(tx, &concerts), BO_STORE_OK);
  cr_assert_eq(concerts.count, 2);
  cr_assert_eq(concerts.items[0].concert_id, w->concert);
  cr_assert_str_eq(concerts.items[0].name, "IU Golden Hour");
  cr_assert_eq(concerts.items[1].concert_id, second);
  free(concerts.items);
  struct bo_concert c;
  cr_assert_eq(op->concert_get(tx, second, &c), BO_STORE_OK);
  cr_assert_str_eq(c.name, "Second");
  cr_assert_eq(op->concert_get(tx, second + 1, &c), BO_STORE_NOT_FOUND);

  struct bo_schedule s;
  cr_assert_eq(op->schedule_get(tx, w->schedule, NOW, &s), BO_STORE_OK);
  cr_assert_eq(s.schedule_id, w->schedule);
  cr_assert_eq(s.concert_id, w->concert);
  cr_assert_eq(s.starts_at_ms, w->starts_at);
  cr_assert_eq(s.total_seats, 5);
  cr_assert_eq(s.available_seats, 5);
  cr_assert_eq(op->schedule_get(tx, w->schedule + 1, NOW, &s),
               BO_STORE_NOT_FOUND);

  struct bo_seat_list seats;
  cr_assert_eq(op->seat_list(tx, w->schedule, NOW, &seats), BO_STORE_OK);
  cr_assert_eq(seats.count, 5);
  for (size_t i = 0; i < seats.count; i++) {
    cr_assert_eq(seats.items[i].seat_number, (int32_t)i + 1);
    cr_assert_eq(seats.items[i].schedule_id, w->schedule);
    cr_assert_eq(seats.items[i].price, 150000);
    cr_assert_eq(seats.items[i].status, BO_SEAT_AVAILABLE);
  }
  free(seats.items);

  int64_t id;
  cr_assert_eq(op->schedule_insert(tx, second + 1, NOW, 1, 0, NOW, &id),
               BO_STORE_NOT_FOUND);
  return BO_STORE_OK;
}

Test(store, schedule_insert_creates_numbered_seats) {
  struct world w = seed(5, 150000);
  cr_assert_eq(run(true, catalog_tx, &w), BO_STORE_OK);
  /* The ERD's copy of concert_id on each seat is its schedule's. */
  cr_assert_eq(sql_int("SELECT count(*) FROM concert_seat s "
                       "JOIN concert_schedule c USING (concert_schedule_id) "
                       "WHERE s.concert_id = c.concert_id"),
               5);
}

Test(store, seat_hold_conflicts_until_the_hold_runs_out) {
  struct world w = seed(3, 1000);
  struct hold_call c = {w.schedule, w.user, NOW, NOW + 1000, 2, {0}};
  cr_assert_eq(run(true, hold_tx, &c), BO_STORE_OK);
  cr_assert_gt(c.out.seat_id, 0);
  cr_assert_eq(c.out.schedule_id, w.schedule);
  cr_assert_eq(c.out.seat_number, 2);
  cr_assert_eq(c.out.price, 1000);
  cr_assert_eq(c.out.status, BO_SEAT_HELD);
  /* Held by a live hold: nobody else, and not the holder again either. */
  cr_assert_eq(hold(w.schedule, 2, w.other, NOW + 999, NOW + 5000),
               BO_STORE_CONFLICT);
  cr_assert_eq(hold(w.schedule, 2, w.user, NOW + 999, NOW + 5000),
               BO_STORE_CONFLICT);
  /* At the expiry instant the hold is over and the seat is free. */
  cr_assert_eq(hold(w.schedule, 2, w.other, NOW + 1000, NOW + 5000),
               BO_STORE_OK);
  cr_assert_eq(sql_int("SELECT hold_user_id FROM concert_seat "
                       "WHERE seat_num = 2"),
               w.other);
  cr_assert_eq(sql_int("SELECT bo_ms(hold_expire_dt) FROM concert_seat "
                       "WHERE seat_num = 2"),
               NOW + 5000);
  cr_assert_eq(hold(w.schedule, 4, w.user, NOW, NOW + 1000),
               BO_STORE_NOT_FOUND);
  cr_assert_eq(hold(w.schedule + 1, 1, w.user, NOW, NOW + 1000),
               BO_STORE_NOT_FOUND);
}

Test(store, run_out_hold_reads_available_without_housekeeping) {
  struct world w = seed(3, 1000);
  int32_t available = 0;
  cr_assert_eq(hold(w.schedule, 1, w.user, NOW, NOW + 1000), BO_STORE_OK);
  cr_assert_eq(seat_at(w.schedule, 1, NOW + 999, &available), BO_SEAT_HELD);
  cr_assert_eq(available, 2);
  cr_assert_eq(seat_at(w.schedule, 1, NOW + 1000, &available),
               BO_SEAT_AVAILABLE);
  cr_assert_eq(available, 3);
  /* Nothing was written: the row itself still says HELD. */
  cr_assert_eq(sql_int("SELECT seat_status = 'HELD' FROM concert_seat "
                       "WHERE seat_num = 1"),
               1);
}

struct peek_call {
  int64_t schedule, now;
  int32_t seat;
  struct bo_seat_peek out;
};

static enum bo_store_status peek_tx(struct bo_store_tx *tx, void *arg) {
  struct peek_call *c = arg;
  return bo_store_op(tx)->seat_peek(tx, c->schedule, c->seat, c->now, &c->out);
}

Test(store, seat_peek_reads_status_and_start_without_writing) {
  struct world w = seed(3, 1000);
  struct peek_call c = {w.schedule, NOW, 2, {0}};
  cr_assert_eq(run(false, peek_tx, &c), BO_STORE_OK);
  cr_assert_eq(c.out.status, BO_SEAT_AVAILABLE);
  cr_assert_eq(c.out.starts_at_ms, w.starts_at);
  cr_assert_eq(hold(w.schedule, 2, w.user, NOW, NOW + 1000), BO_STORE_OK);
  c.now = NOW + 999;
  cr_assert_eq(run(false, peek_tx, &c), BO_STORE_OK);
  cr_assert_eq(c.out.status, BO_SEAT_HELD);
  c.now = NOW + 1000; /* the hold ran out: free, whatever the row says */
  cr_assert_eq(run(false, peek_tx, &c), BO_STORE_OK);
  cr_assert_eq(c.out.status, BO_SEAT_AVAILABLE);
  c.seat = 4;
  cr_assert_eq(run(false, peek_tx, &c), BO_STORE_NOT_FOUND);
  c = (struct peek_call){w.schedule + 1, NOW, 1, {0}};
  cr_assert_eq(run(false, peek_tx, &c), BO_STORE_NOT_FOUND);
}

static enum bo_store_status move_seat_tx(struct bo_store_tx *tx, void *arg) {
  const int64_t *a = arg; /* {seat id, 0 release / 1 sell} */
  const struct bo_store_driver *op = bo_store_op(tx);
  return a[1] ? op->seat_sell(tx, a[0], NOW) : op->seat_release(tx, a[0], NOW);
}

static enum bo_store_status move_seat(int64_t seat_id, bool sell) {
  int64_t a[2] = {seat_id, sell};
  return run(true, move_seat_tx, a);
}

Test(store, seat_release_and_sell_need_a_held_seat) {
  struct world w = seed(2, 1000);
  struct hold_call c = {w.schedule, w.user, NOW, NOW + 1000, 1, {0}};
  cr_assert_eq(run(true, hold_tx, &c), BO_STORE_OK);
  int64_t seat = c.out.seat_id;
  cr_assert_eq(move_seat(seat, false), BO_STORE_OK);
  cr_assert_eq(seat_at(w.schedule, 1, NOW, NULL), BO_SEAT_AVAILABLE);
  cr_assert_eq(sql_int("SELECT hold_user_id IS NULL AND hold_expire_dt IS NULL"
                       " FROM concert_seat WHERE seat_num = 1"),
               1);
  cr_assert_eq(move_seat(seat, false), BO_STORE_CONFLICT);
  cr_assert_eq(move_seat(seat, true), BO_STORE_CONFLICT);

  cr_assert_eq(run(true, hold_tx, &c), BO_STORE_OK);
  cr_assert_eq(move_seat(seat, true), BO_STORE_OK);
  cr_assert_eq(seat_at(w.schedule, 1, NOW, NULL), BO_SEAT_SOLD);
  /* Sold is for good: no expiry makes it free again. */
  cr_assert_eq(seat_at(w.schedule, 1, NOW + 100 * HOUR_MS, NULL), BO_SEAT_SOLD);
  cr_assert_eq(
      hold(w.schedule, 1, w.other, NOW + 100 * HOUR_MS, NOW + 101 * HOUR_MS),
      BO_STORE_CONFLICT);
  cr_assert_eq(move_seat(seat, true), BO_STORE_CONFLICT);
  cr_assert_eq(move_seat(seat, false), BO_STORE_CONFLICT);
  cr_assert_eq(move_seat(seat + 1000, true), BO_STORE_NOT_FOUND);
  cr_assert_eq(move_seat(seat + 1000, false), BO_STORE_NOT_FOUND);
}

struct bookable_call {
  int64_t concert, now;
  struct bo_schedule_list out;
};

static enum bo_store_status bookable_tx(struct bo_store_tx *tx, void *arg) {
  struct bookable_call *c = arg;
  return bo_store_op(tx)->schedule_list_bookable(tx, c->concert, c->now,
                                                 &c->out);
}

/* The ids of the bookable schedules at now, joined as "id,id,". */
static char *bookable(int64_t concert, int64_t now, char *buf, size_t size) {
  struct bookable_call c = {concert, now, {0}};
  cr_assert_eq(run(false, bookable_tx, &c), BO_STORE_OK);
  buf[0] = '\0';
  for (size_t i = 0; i < c.out.count; i++)
    snprintf(buf + strlen(buf), size - strlen(buf), "%lld:%d,",
             (long long)c.out.items[i].schedule_id,
             c.out.items[i].available_seats);
  free(c.out.items);
  return buf;
}

struct schedules_call {
  int64_t concert;
  int64_t ids[4];
};

static enum bo_store_status schedules_tx(struct bo_store_tx *tx, void *arg) {
  struct schedules_call *c = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  int64_t other;
  /* late (2 seats), soon (1 seat), past, and right now. */
  const int64_t starts[4] = {NOW + 2 * HOUR_MS, NOW + HOUR_MS, NOW - HOUR_MS,
                             NOW};
  const int32_t seats[4] = {2, 1, 5, 5};
  cr_assert_eq(op->concert_insert(tx, "B", NOW, &c->concert), BO_STORE_OK);
  for (int i = 0; i < 4; i++)
    cr_assert_eq(op->schedule_insert(tx, c->concert, starts[i], seats[i], 10,
                                     NOW, &c->ids[i]),
                 BO_STORE_OK);
  cr_assert_eq(op->concert_insert(tx, "C", NOW, &other), BO_STORE_OK);
  return op->schedule_insert(tx, other, NOW + HOUR_MS, 5, 10, NOW, &other);
}

Test(store, bookable_schedules_are_future_with_a_free_seat) {
  struct world w = seed(1, 0);
  struct schedules_call s = {0};
  cr_assert_eq(run(true, schedules_tx, &s), BO_STORE_OK);
  int64_t late = s.ids[0], soon = s.ids[1];
  char got[128], want[128];
  snprintf(want, sizeof want, "%lld:1,%lld:2,", (long long)soon,
           (long long)late);
  cr_assert_str_eq(bookable(s.concert, NOW, got, sizeof got), want);

  /* The only seat of `soon` held: not bookable until the hold runs out. */
  cr_assert_eq(hold(soon, 1, w.user, NOW, NOW + 1000), BO_STORE_OK);
  snprintf(want, sizeof want, "%lld:2,", (long long)late);
  cr_assert_str_eq(bookable(s.concert, NOW + 999, got, sizeof got), want);
  snprintf(want, sizeof want, "%lld:1,%lld:2,", (long long)soon,
           (long long)late);
  cr_assert_str_eq(bookable(s.concert, NOW + 1000, got, sizeof got), want);
  /* Once it has started, a schedule is not bookable any more. */
  snprintf(want, sizeof want, "%lld:2,", (long long)late);
  cr_assert_str_eq(bookable(s.concert, NOW + HOUR_MS, got, sizeof got), want);
  cr_assert_str_eq(bookable(s.concert + 1000, NOW, got, sizeof got), "");
}

/* ---- reservations and payments ------------------------------------------ */

/* Holds seat `number` for the user until `until` and records the HELD
 * reservation, as the booking rules do. */
struct reserve_call {
  struct world *w;
  int64_t user, now, until;
  int32_t seat;
  struct bo_reservation out;
};

static enum bo_store_status reserve_tx(struct bo_store_tx *tx, void *arg) {
  struct reserve_call *c = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  struct bo_seat seat;
  enum bo_store_status st = op->seat_hold(tx, c->w->schedule, c->seat, c->user,
                                          c->now, c->until, &seat);
  if (st == BO_STORE_OK)
    st = op->reservation_expire_seat(tx, seat.seat_id, c->now);
  if (st != BO_STORE_OK)
    return st;
  c->out = (struct bo_reservation){.user_id = c->user,
                                   .seat_id = seat.seat_id,
                                   .price = seat.price,
                                   .reserved_at_ms = c->now,
                                   .expires_at_ms = c->until,
                                   .status = BO_RESERVATION_HELD};
  return op->reservation_insert(tx, &c->out, c->now);
}

static struct bo_reservation reserve(struct world *w, int64_t user,
                                     int32_t seat, int64_t now, int64_t until) {
  struct reserve_call c = {w, user, now, until, seat, {0}};
  cr_assert_eq(run(true, reserve_tx, &c), BO_STORE_OK);
  cr_assert_gt(c.out.reservation_id, 0);
  return c.out;
}

static enum bo_store_status reservations_tx(struct bo_store_tx *tx, void *arg) {
  struct world *w = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  struct bo_reservation_list list;
  cr_assert_eq(op->reservation_list_by_user(tx, w->user, &list), BO_STORE_OK);
  cr_assert_eq(list.count, 2);
  /* Newest first, with the schedule and seat number joined in. */
  cr_assert_eq(list.items[0].seat_number, 3);
  cr_assert_eq(list.items[1].seat_number, 1);
  cr_assert_gt(list.items[0].reservation_id, list.items[1].reservation_id);
  struct bo_reservation got;
  cr_assert_eq(op->reservation_get(tx, list.items[1].reservation_id, &got),
               BO_STORE_OK);
  cr_assert_eq(got.user_id, w->user);
  cr_assert_eq(got.schedule_id, w->schedule);
  cr_assert_eq(got.seat_number, 1);
  cr_assert_eq(got.price, 700);
  cr_assert_eq(got.reserved_at_ms, NOW);
  cr_assert_eq(got.expires_at_ms, NOW + 300000);
  cr_assert_eq(got.status, BO_RESERVATION_HELD);
  free(list.items);
  cr_assert_eq(op->reservation_list_by_user(tx, w->other, &list), BO_STORE_OK);
  cr_assert_eq(list.count, 0);
  cr_assert_eq(op->reservation_get(tx, 999999, &got), BO_STORE_NOT_FOUND);
  return BO_STORE_OK;
}

Test(store, reservations_read_back_newest_first) {
  struct world w = seed(3, 700);
  reserve(&w, w.user, 1, NOW, NOW + 300000);
  reserve(&w, w.user, 3, NOW, NOW + 300000);
  cr_assert_eq(run(false, reservations_tx, &w), BO_STORE_OK);
}

static enum bo_store_status insert_tx(struct bo_store_tx *tx, void *arg) {
  struct bo_reservation *r = arg;
  return bo_store_op(tx)->reservation_insert(tx, r, NOW);
}

static enum bo_store_status expire_seat_tx(struct bo_store_tx *tx, void *arg) {
  const int64_t *a = arg; /* {seat id, now} */
  return bo_store_op(tx)->reservation_expire_seat(tx, a[0], a[1]);
}

Test(store, one_live_reservation_per_seat) {
  struct world w = seed(2, 700);
  struct bo_reservation first = reserve(&w, w.user, 1, NOW, NOW + 1000);
  /* Past the code's checks, the partial unique index still says no. */
  struct bo_reservation twin = first;
  twin.user_id = w.other;
  cr_assert_eq(run(true, insert_tx, &twin), BO_STORE_CONFLICT);
  /* An unknown user or seat fails a foreign key (foreign_keys is on). */
  twin = first;
  twin.seat_id += 1000;
  cr_assert_eq(run(true, insert_tx, &twin), BO_STORE_NOT_FOUND);
  twin = first;
  twin.seat_id += 1; /* seat 2, free: only the user is wrong */
  twin.user_id += 1000;
  cr_assert_eq(run(true, insert_tx, &twin), BO_STORE_NOT_FOUND);

  /* Before the hold runs out, expiring the seat's holds changes nothing. */
  int64_t expire[2] = {first.seat_id, NOW + 999};
  cr_assert_eq(run(true, expire_seat_tx, expire), BO_STORE_OK);
  cr_assert_eq(sql_int("SELECT count(*) FROM reservation "
                       "WHERE reservation_status = 'HELD'"),
               1);

  /* After the hold runs out, the next hold expires the old row first. */
  struct bo_reservation second =
      reserve(&w, w.other, 1, NOW + 1000, NOW + 2000);
  cr_assert_neq(second.reservation_id, first.reservation_id);
  cr_assert_eq(sql_int("SELECT count(*) FROM reservation "
                       "WHERE reservation_status = 'EXPIRED'"),
               1);
}

struct transition_call {
  int64_t id, live_at;
  enum bo_reservation_status from, to;
};

static enum bo_store_status transition_tx(struct bo_store_tx *tx, void *arg) {
  struct transition_call *c = arg;
  return bo_store_op(tx)->reservation_transition(tx, c->id, c->from, c->to,
                                                 c->live_at, NOW);
}

static enum bo_store_status transition(int64_t id,
                                       enum bo_reservation_status from,
                                       enum bo_reservation_status to,
                                       int64_t live_at) {
  struct transition_call c = {id, live_at, from, to};
  return run(true, transition_tx, &c);
}

Test(store, reservation_transition_is_conditional) {
  struct world w = seed(2, 700);
  struct bo_reservation a = reserve(&w, w.user, 1, NOW, NOW + 1000);
  struct bo_reservation b = reserve(&w, w.user, 2, NOW, NOW + 1000);
  /* Confirming needs the hold to be live at live_at. */
  cr_assert_eq(transition(a.reservation_id, BO_RESERVATION_HELD,
                          BO_RESERVATION_CONFIRMED, NOW + 1000),
               BO_STORE_CONFLICT);
  cr_assert_eq(transition(a.reservation_id, BO_RESERVATION_HELD,
                          BO_RESERVATION_CONFIRMED, NOW + 999),
               BO_STORE_OK);
  cr_assert_eq(transition(a.reservation_id, BO_RESERVATION_HELD,
                          BO_RESERVATION_CANCELLED, 0),
               BO_STORE_CONFLICT);
  /* live_at 0: whatever the expiry. */
  cr_assert_eq(transition(b.reservation_id, BO_RESERVATION_HELD,
                          BO_RESERVATION_CANCELLED, 0),
               BO_STORE_OK);
  cr_assert_eq(
      transition(999999, BO_RESERVATION_HELD, BO_RESERVATION_CANCELLED, 0),
      BO_STORE_NOT_FOUND);
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM reservation WHERE "
           "(reservation_id, reservation_status) IN "
           "(VALUES (%lld, 'CONFIRMED'), (%lld, 'CANCELLED'))",
           (long long)a.reservation_id, (long long)b.reservation_id);
  cr_assert_eq(sql_int(sql), 2);
}

struct pay_call {
  struct bo_payment payment;
  struct bo_point_history use;
};

static enum bo_store_status pay_tx(struct bo_store_tx *tx, void *arg) {
  struct pay_call *c = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  enum bo_store_status st = op->payment_insert(tx, &c->payment, NOW);
  if (st != BO_STORE_OK)
    return st;
  c->use.payment_id = c->payment.payment_id;
  return op->points_history_insert(tx, &c->use, NOW);
}

static enum bo_store_status payment_read_tx(struct bo_store_tx *tx, void *arg) {
  struct pay_call *c = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  struct bo_payment got;
  cr_assert_eq(op->payment_get(tx, c->payment.payment_id, &got), BO_STORE_OK);
  cr_assert_eq(got.payment_id, c->payment.payment_id);
  cr_assert_eq(got.user_id, c->payment.user_id);
  cr_assert_eq(got.reservation_id, c->payment.reservation_id);
  cr_assert_eq(got.amount, 700);
  cr_assert_eq(got.balance_after, 300);
  cr_assert_eq(got.paid_at_ms, NOW);
  cr_assert_eq(op->payment_get(tx, got.payment_id + 1, &got),
               BO_STORE_NOT_FOUND);
  struct bo_point_history h;
  cr_assert_eq(op->points_history_get(tx, c->use.history_id, &h), BO_STORE_OK);
  cr_assert_eq(h.type, BO_POINT_USE);
  cr_assert_eq(h.payment_id, c->payment.payment_id);
  return BO_STORE_OK;
}

Test(store, at_most_one_payment_per_reservation) {
  struct world w = seed(1, 700);
  struct bo_reservation r = reserve(&w, w.user, 1, NOW, NOW + 1000);
  struct pay_call c = {
      .payment = {.user_id = w.user,
                  .reservation_id = r.reservation_id,
                  .amount = 700,
                  .balance_after = 300},
      .use = {.user_id = w.user,
              .type = BO_POINT_USE,
              .amount = 700,
              .balance_after = 300},
  };
  cr_assert_eq(run(true, pay_tx, &c), BO_STORE_OK);
  cr_assert_gt(c.payment.payment_id, 0);
  cr_assert_eq(run(false, payment_read_tx, &c), BO_STORE_OK);
  struct pay_call again = c;
  again.payment.payment_id = 0;
  cr_assert_eq(run(true, pay_tx, &again), BO_STORE_CONFLICT);
  cr_assert_eq(sql_int("SELECT count(*) FROM payment"), 1);
  cr_assert_eq(sql_int("SELECT count(*) FROM point_history"), 1);
}

struct sweep_call {
  int64_t now;
  int limit, released;
};

static enum bo_store_status sweep_tx(struct bo_store_tx *tx, void *arg) {
  struct sweep_call *c = arg;
  return bo_store_op(tx)->holds_release_expired(tx, c->now, c->limit,
                                                &c->released);
}

static int sweep(int64_t now, int limit) {
  struct sweep_call c = {now, limit, -1};
  cr_assert_eq(run(true, sweep_tx, &c), BO_STORE_OK);
  return c.released;
}

Test(store, holds_release_expired_frees_run_out_holds_in_batches) {
  struct world w = seed(6, 700);
  for (int32_t seat = 1; seat <= 5; seat++)
    reserve(&w, w.user, seat, NOW, NOW + 1000);
  reserve(&w, w.other, 6, NOW, NOW + 5000); /* still live at NOW + 1000 */
  cr_assert_eq(sweep(NOW + 999, 10), 0);
  cr_assert_eq(sweep(NOW + 1000, 2), 2);
  cr_assert_eq(sql_int("SELECT count(*) FROM reservation "
                       "WHERE reservation_status = 'EXPIRED'"),
               2);
  cr_assert_eq(sweep(NOW + 1000, 2), 2);
  cr_assert_eq(sweep(NOW + 1000, 2), 1);
  cr_assert_eq(sweep(NOW + 1000, 2), 0);
  cr_assert_eq(sql_int("SELECT count(*) FROM reservation "
                       "WHERE reservation_status = 'EXPIRED'"),
               5);
  cr_assert_eq(sql_int("SELECT count(*) FROM concert_seat "
                       "WHERE seat_status = 'AVAILABLE' "
                       "AND hold_user_id IS NULL"),
               5);
  cr_assert_eq(seat_at(w.schedule, 6, NOW + 1000, NULL), BO_SEAT_HELD);
}

/* ---- the transaction runner ---------------------------------------------- */

static enum bo_store_status write_then_refuse_tx(struct bo_store_tx *tx,
                                                 void *arg) {
  struct world *w = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  struct bo_user u;
  int64_t balance;
  cr_assert_eq(op->user_insert(tx, "ghost", NOW, &u), BO_STORE_OK);
  cr_assert_eq(op->points_add(tx, w->user, 500, MAX_BALANCE, NOW, &balance),
               BO_STORE_OK);
  struct bo_seat seat;
  cr_assert_eq(
      op->seat_hold(tx, w->schedule, 1, w->user, NOW, NOW + 1000, &seat),
      BO_STORE_OK);
  return BO_STORE_CONFLICT;
}

Test(store, a_refusing_function_leaves_nothing_behind) {
  struct world w = seed(1, 700);
  cr_assert_eq(run(true, write_then_refuse_tx, &w), BO_STORE_CONFLICT);
  cr_assert_eq(sql_int("SELECT count(*) FROM users"), 2);
  cr_assert_eq(sql_int("SELECT count(*) FROM point"), 2);
  cr_assert_eq(balance_of(w.user), 0);
  cr_assert_eq(seat_at(w.schedule, 1, NOW, NULL), BO_SEAT_AVAILABLE);
}

struct flaky {
  int calls, fail_times;
};

/* Writes a concert, then reports a transient failure fail_times times. */
static enum bo_store_status flaky_tx(struct bo_store_tx *tx, void *arg) {
  struct flaky *f = arg;
  int64_t id;
  cr_assert_eq(bo_store_op(tx)->concert_insert(tx, "x", NOW, &id), BO_STORE_OK);
  return ++f->calls <= f->fail_times ? BO_STORE_TRANSIENT : BO_STORE_OK;
}

Test(store, transient_failures_are_rolled_back_and_retried) {
  struct flaky f = {0, 2};
  cr_assert_eq(run(true, flaky_tx, &f), BO_STORE_OK);
  cr_assert_eq(f.calls, 3);
  cr_assert_eq(sql_int("SELECT count(*) FROM concert"), 1);

  f = (struct flaky){0, 1000};
  cr_assert_eq(run(true, flaky_tx, &f), BO_STORE_TRANSIENT);
  cr_assert_gt(f.calls, 3);
  cr_assert_lt(f.calls, 100);
  cr_assert_eq(sql_int("SELECT count(*) FROM concert"), 1);
}

static enum bo_store_status inner_tx(struct bo_store_tx *tx, void *arg) {
  (void)arg;
  int64_t id;
  return bo_store_op(tx)->concert_insert(tx, "inner", NOW, &id);
}

static enum bo_store_status outer_tx(struct bo_store_tx *tx, void *arg) {
  (void)arg;
  int64_t id;
  cr_assert_eq(bo_store_op(tx)->concert_insert(tx, "outer", NOW, &id),
               BO_STORE_OK);
  /* SQLite has no nested transactions: refused, the outer one unharmed. */
  cr_assert_eq(run(true, inner_tx, NULL), BO_STORE_FAILED);
  return BO_STORE_OK;
}

Test(store, a_nested_transaction_is_refused) {
  cr_assert_eq(run(true, outer_tx, NULL), BO_STORE_OK);
  cr_assert_eq(sql_int("SELECT count(*) FROM concert"), 1);
}

/* Caps this connection's database at its current size, then writes until
 * SQLite reports SQLITE_FULL, which the driver treats as fatal. */
static enum bo_store_status fill_up_tx(struct bo_store_tx *tx, void *arg) {
  (void)arg;
  sqlite3 *db = bo_sqlite_tx(tx)->conn->db;
  cr_assert_eq(sqlite3_exec(db, "PRAGMA max_page_count = 1", NULL, NULL, NULL),
               SQLITE_OK);
  char name[201];
  memset(name, 'n', 200);
  name[200] = '\0';
  enum bo_store_status st = BO_STORE_OK;
  int64_t id;
  for (int i = 0; i < 10000 && st == BO_STORE_OK; i++)
    st = bo_store_op(tx)->concert_insert(tx, name, NOW, &id);
  return st;
}

static enum bo_store_status page_cap_tx(struct bo_store_tx *tx, void *arg) {
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db = bo_sqlite_tx(tx)->conn->db;
  cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA max_page_count", -1, &stmt, NULL),
               SQLITE_OK);
  cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW);
  *(int64_t *)arg = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return BO_STORE_OK;
}

Test(store, a_connection_that_met_a_fatal_error_is_reopened) {
  SQLITE_ONLY("caps SQLite's page count; the PostgreSQL twins kill the "
              "connection (pg_a_connection_lost_*)");
  int64_t cap = 0;
  cr_assert_eq(run(true, fill_up_tx, NULL), BO_STORE_FAILED);
  cr_assert_eq(sql_int("SELECT count(*) FROM concert"), 0);
  /* The capped connection is gone: the next one has SQLite's default. */
  cr_assert_eq(run(false, page_cap_tx, &cap), BO_STORE_OK);
  cr_assert_gt(cap, 1000000);
  struct world w = seed(1, 0);
  cr_assert_gt(w.schedule, 0);
}

Test(store, commits_survive_closing_and_reopening) {
  struct world w = seed(1, 700);
  struct points_call c = {.user = w.user, .delta = 1234};
  cr_assert_eq(run(true, points_tx, &c), BO_STORE_OK);
  bo_store_close(fx.store);
  fx.store = store_fixture_reopen(&fx);
  cr_assert_eq(balance_of(w.user), 1234);
}

/* ---- races: real threads, each on its own connection --------------------- */

#define RACERS 16

struct racer {
  pthread_barrier_t *start;
  struct store_fixture *fx;
  int64_t schedule, user;
  enum bo_store_status status;
};

static void *hold_racer(void *arg) {
  struct racer *r = arg;
  struct hold_call c = {r->schedule, r->user, NOW, NOW + 1000, 1, {0}};
  pthread_barrier_wait(r->start);
  r->status = bo_store_transaction(r->fx->store, true, hold_tx, &c);
  return NULL;
}

static enum bo_store_status users_many_tx(struct bo_store_tx *tx, void *arg) {
  struct racer *racers = arg;
  struct bo_user u;
  for (int i = 0; i < RACERS; i++) {
    cr_assert_eq(bo_store_op(tx)->user_insert(tx, "racer", NOW, &u),
                 BO_STORE_OK);
    racers[i].user = u.user_id;
  }
  return BO_STORE_OK;
}

Test(store, of_many_racing_holds_exactly_one_wins) {
  struct world w = seed(1, 700);
  struct racer racers[RACERS];
  pthread_t threads[RACERS];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, RACERS);
  for (int i = 0; i < RACERS; i++)
    racers[i] = (struct racer){&start, &fx, w.schedule, 0, BO_STORE_FAILED};
  cr_assert_eq(run(true, users_many_tx, racers), BO_STORE_OK);
  for (int i = 0; i < RACERS; i++)
    pthread_create(&threads[i], NULL, hold_racer, &racers[i]);
  int won = 0, lost = 0;
  int64_t winner = 0;
  for (int i = 0; i < RACERS; i++) {
    pthread_join(threads[i], NULL);
    if (racers[i].status == BO_STORE_OK) {
      won++;
      winner = racers[i].user;
    } else if (racers[i].status == BO_STORE_CONFLICT) {
      lost++;
    }
  }
  pthread_barrier_destroy(&start);
  cr_assert_eq(won, 1);
  cr_assert_eq(lost, RACERS - 1);
  cr_assert_eq(sql_int("SELECT hold_user_id FROM concert_seat"), winner);
}

#define ADDERS 8
#define ADDS 50

struct adder {
  pthread_barrier_t *start;
  struct store_fixture *fx;
  int64_t user, delta;
  int ok, conflict, other;
};

static void *add_racer(void *arg) {
  struct adder *a = arg;
  pthread_barrier_wait(a->start);
  for (int i = 0; i < ADDS; i++) {
    struct points_call c = {.user = a->user, .delta = a->delta};
    enum bo_store_status st =
        bo_store_transaction(a->fx->store, true, points_tx, &c);
    if (st == BO_STORE_OK)
      a->ok++;
    else if (st == BO_STORE_CONFLICT)
      a->conflict++;
    else
      a->other++;
  }
  return NULL;
}

/* ADDERS threads each add `delta(i)` ADDS times; returns the OK count. */
static int race_adds(int64_t user, int64_t (*delta)(int), int *conflicts) {
  struct adder adders[ADDERS];
  pthread_t threads[ADDERS];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, ADDERS);
  for (int i = 0; i < ADDERS; i++) {
    adders[i] = (struct adder){&start, &fx, user, delta(i), 0, 0, 0};
    pthread_create(&threads[i], NULL, add_racer, &adders[i]);
  }
  int ok = 0;
  *conflicts = 0;
  for (int i = 0; i < ADDERS; i++) {
    pthread_join(threads[i], NULL);
    cr_assert_eq(adders[i].other, 0);
    ok += adders[i].ok;
    *conflicts += adders[i].conflict;
  }
  pthread_barrier_destroy(&start);
  return ok;
}

static int64_t thread_number(int i) {
  return i + 1;
}
static int64_t minus_one(int i) {
  (void)i;
  return -1;
}

Test(store, concurrent_charges_all_count) {
  struct world w = seed(1, 0);
  int conflicts;
  cr_assert_eq(race_adds(w.user, thread_number, &conflicts), ADDERS * ADDS);
  cr_assert_eq(conflicts, 0);
  /* 50 * (1 + 2 + ... + 8) */
  cr_assert_eq(balance_of(w.user), ADDS * ADDERS * (ADDERS + 1) / 2);
}

Test(store, concurrent_spending_never_overdraws) {
  struct world w = seed(1, 0);
  struct points_call c = {.user = w.user, .delta = 100};
  cr_assert_eq(run(true, points_tx, &c), BO_STORE_OK);
  int conflicts;
  cr_assert_eq(race_adds(w.user, minus_one, &conflicts), 100);
  cr_assert_eq(conflicts, ADDERS * ADDS - 100);
  cr_assert_eq(balance_of(w.user), 0);
}

/* ---- the schema enforces the invariants by itself ------------------------ */

Test(store, schema_checks_reject_bad_rows_written_directly) {
  SQLITE_ONLY("writes with sqlite3 and expects SQLite's codes; the "
              "PostgreSQL twin is pg_schema_checks_reject_bad_rows");
  struct world w = seed(2, 700);
  reserve(&w, w.user, 1, NOW, NOW + 1000);
  cr_assert_eq(sqlite_exec("UPDATE point SET point = -1"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sqlite_exec("UPDATE point SET point = 1000000000001"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sqlite_exec("UPDATE point SET point = 1000000000000"),
               SQLITE_OK);
  /* STRICT: text is not a number. */
  cr_assert_eq(sqlite_exec("UPDATE point SET point = 'lots'"),
               SQLITE_CONSTRAINT_DATATYPE);
  /* A held seat without a holder, a free seat with one. */
  cr_assert_eq(sqlite_exec("UPDATE concert_seat SET hold_user_id = NULL "
                           "WHERE seat_num = 1"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sqlite_exec("UPDATE concert_seat SET hold_user_id = 1 "
                           "WHERE seat_num = 2"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sqlite_exec("UPDATE concert_seat SET seat_status = 'GONE' "
                           "WHERE seat_num = 2"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sqlite_exec("UPDATE concert_seat SET seat_num = 1 "
                           "WHERE seat_num = 2"),
               SQLITE_CONSTRAINT_UNIQUE);
  cr_assert_eq(sqlite_exec("UPDATE concert_seat SET price = -1"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sqlite_exec("INSERT INTO reservation (user_id, seat_id, "
                           "reservation_dt, reservation_expire_dt, price, "
                           "created_at, updated_at) "
                           "SELECT user_id, seat_id, 1, 2, 0, 1, 1 "
                           "FROM reservation"),
               SQLITE_CONSTRAINT_UNIQUE);
  cr_assert_eq(
      sqlite_exec("UPDATE reservation SET reservation_status = 'LOST'"),
      SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sqlite_exec("INSERT INTO payment (user_id, reservation_id, "
                           "amount, balance_after, payment_dt, created_at, "
                           "updated_at) SELECT user_id, reservation_id, 1, 0, "
                           "1, 1, 1 FROM reservation"),
               SQLITE_OK);
  cr_assert_eq(sqlite_exec("INSERT INTO payment (user_id, reservation_id, "
                           "amount, balance_after, payment_dt, created_at, "
                           "updated_at) SELECT user_id, reservation_id, 1, 0, "
                           "1, 1, 1 FROM reservation"),
               SQLITE_CONSTRAINT_UNIQUE);
  cr_assert_eq(sqlite_exec("UPDATE payment SET payment_status = 'PENDING'"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sqlite_exec("INSERT INTO point_history (point_id, amount, "
                           "point_after_transaction, type, created_at, "
                           "updated_at) VALUES (1, 0, 0, 'CHARGE', 1, 1)"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sqlite_exec("INSERT INTO point_history (point_id, amount, "
                           "point_after_transaction, type, created_at, "
                           "updated_at) VALUES (1, 5, 0, 'GIFT', 1, 1)"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(
      sqlite_exec("INSERT INTO point (user_id, created_at, updated_at) "
                  "VALUES (1, 1, 1)"),
      SQLITE_CONSTRAINT_UNIQUE);
  cr_assert_eq(sqlite_exec("INSERT INTO users (user_name, created_at, "
                           "updated_at) VALUES ('', 1, 1)"),
               SQLITE_CONSTRAINT_CHECK);
}

/* ---- PostgreSQL only ------------------------------------------------------
 */

/* Runs `sql` on the fixture's database on a connection of its own and
 * returns its SQLSTATE ("00000" on success). */
static const char *pg_state(const char *sql) {
  static char state[6];
  PGconn *pg = PQconnectdb(fx.url);
  cr_assert_eq(PQstatus(pg), CONNECTION_OK, "%s", PQerrorMessage(pg));
  PGresult *res = PQexec(pg, sql);
  const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  snprintf(state, sizeof state, "%s", s ? s : "00000");
  PQclear(res);
  PQfinish(pg);
  return state;
}

Test(store, pg_schema_checks_reject_bad_rows) {
  POSTGRES_ONLY();
  struct world w = seed(2, 700);
  reserve(&w, w.user, 1, NOW, NOW + 1000);
  cr_assert_str_eq(pg_state("UPDATE point SET point = -1"), "23514");
  cr_assert_str_eq(pg_state("UPDATE point SET point = 1000000000001"), "23514");
  cr_assert_str_eq(pg_state("UPDATE point SET point = 1000000000000"), "00000");
  /* Typed columns: text is not a number. */
  cr_assert_str_eq(pg_state("UPDATE point SET point = 'lots'"), "22P02");
  /* A held seat without a holder, a free seat with one. */
  cr_assert_str_eq(pg_state("UPDATE concert_seat SET hold_user_id = NULL "
                            "WHERE seat_num = 1"),
                   "23514");
  cr_assert_str_eq(pg_state("UPDATE concert_seat SET hold_user_id = 1 "
                            "WHERE seat_num = 2"),
                   "23514");
  cr_assert_str_eq(pg_state("UPDATE concert_seat SET seat_status = 'GONE' "
                            "WHERE seat_num = 2"),
                   "23514");
  cr_assert_str_eq(pg_state("UPDATE concert_seat SET seat_num = 1 "
                            "WHERE seat_num = 2"),
                   "23505");
  cr_assert_str_eq(pg_state("UPDATE concert_seat SET price = -1"), "23514");
  /* A second live reservation of the seat: the partial unique index. */
  cr_assert_str_eq(pg_state("INSERT INTO reservation (user_id, seat_id, "
                            "reservation_dt, reservation_expire_dt, price, "
                            "created_at, updated_at) "
                            "SELECT user_id, seat_id, now(), now() + "
                            "interval '1 s', 0, now(), now() "
                            "FROM reservation"),
                   "23505");
  cr_assert_str_eq(pg_state("UPDATE reservation SET reservation_expire_dt = "
                            "reservation_dt"),
                   "23514");
  cr_assert_str_eq(pg_state("UPDATE reservation "
                            "SET reservation_status = 'LOST'"),
                   "23514");
  cr_assert_str_eq(pg_state("INSERT INTO payment (user_id, reservation_id, "
                            "amount, balance_after, payment_dt, created_at, "
                            "updated_at) SELECT user_id, reservation_id, 1, "
                            "0, now(), now(), now() FROM reservation"),
                   "00000");
  cr_assert_str_eq(pg_state("INSERT INTO payment (user_id, reservation_id, "
                            "amount, balance_after, payment_dt, created_at, "
                            "updated_at) SELECT user_id, reservation_id, 1, "
                            "0, now(), now(), now() FROM reservation"),
                   "23505");
  cr_assert_str_eq(pg_state("UPDATE payment SET payment_status = 'PENDING'"),
                   "23514");
  cr_assert_str_eq(pg_state("INSERT INTO point_history (point_id, amount, "
                            "point_after_transaction, type, created_at, "
                            "updated_at) SELECT point_id, 0, 0, 'CHARGE', "
                            "now(), now() FROM point LIMIT 1"),
                   "23514");
  cr_assert_str_eq(pg_state("INSERT INTO point_history (point_id, amount, "
                            "point_after_transaction, type, created_at, "
                            "updated_at) SELECT point_id, 5, 0, 'GIFT', "
                            "now(), now() FROM point LIMIT 1"),
                   "23514");
  cr_assert_str_eq(pg_state("INSERT INTO point (user_id, created_at, "
                            "updated_at) SELECT user_id, now(), now() "
                            "FROM users LIMIT 1"),
                   "23505");
  cr_assert_str_eq(pg_state("INSERT INTO users (user_name, created_at, "
                            "updated_at) VALUES ('', now(), now())"),
                   "23514");
  /* Ids come from the identity only, and parents must exist. */
  cr_assert_str_eq(pg_state("INSERT INTO users (user_id, user_name, "
                            "created_at, updated_at) "
                            "VALUES (424242, 'x', now(), now())"),
                   "428C9");
  cr_assert_str_eq(pg_state("UPDATE concert_seat SET hold_user_id = 424242 "
                            "WHERE seat_num = 1"),
                   "23503");
}

Test(store, pg_times_keep_every_millisecond) {
  POSTGRES_ONLY();
  /* Through timestamptz and back: bo_time() and bo_ms() are exact. */
  cr_assert_eq(sql_int("SELECT count(*) FROM generate_series(-100000, 100000) "
                       "AS g WHERE bo_ms(bo_time(1800000000000 + g * 7919)) "
                       "<> 1800000000000 + g * 7919"),
               0);
  cr_assert_eq(sql_int("SELECT bo_ms(bo_time(0)) = 0 AND bo_ms(bo_time(-1)) = "
                       "-1 AND bo_ms(timestamptz '2027-01-15 08:00:00.123Z') "
                       "= 1800000000123"),
               1);
}

/* The backend of the transaction's connection. */
static int backend_pid(struct bo_store_tx *tx) {
  return PQbackendPID(bo_pg_tx(tx)->conn->pg);
}

static enum bo_store_status pid_tx(struct bo_store_tx *tx, void *arg) {
  *(int *)arg = backend_pid(tx);
  return BO_STORE_OK;
}

static int current_backend(void) {
  int pid = 0;
  cr_assert_eq(run(false, pid_tx, &pid), BO_STORE_OK);
  cr_assert_gt(pid, 0);
  return pid;
}

/* What a server restart or an administrator does to one session. */
static void terminate_backend(int pid) {
  char sql[96];
  snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 5000)", pid);
  cr_assert_eq(sql_int(sql), 1);
}

struct kill_call {
  int64_t user;
  int calls, pid;
  enum bo_store_status after;
};

static enum bo_store_status killed_mid_tx(struct bo_store_tx *tx, void *arg) {
  struct kill_call *c = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  int64_t balance;
  c->calls++;
  cr_assert_eq(op->points_add(tx, c->user, 10, MAX_BALANCE, NOW, &balance),
               BO_STORE_OK);
  c->pid = backend_pid(tx);
  terminate_backend(c->pid);
  c->after = op->points_add(tx, c->user, 10, MAX_BALANCE, NOW, &balance);
  return c->after;
}

Test(store, pg_a_connection_lost_mid_transaction_answers_unavailable) {
  POSTGRES_ONLY();
  struct world w = seed(1, 0);
  struct kill_call c = {.user = w.user};
  cr_assert_eq(run(true, killed_mid_tx, &c), BO_STORE_UNAVAILABLE);
  /* Not retried in the request, and nothing of it committed. */
  cr_assert_eq(c.calls, 1);
  cr_assert_eq(c.after, BO_STORE_UNAVAILABLE);
  /* The next call works, on a new connection with its own statements. */
  cr_assert_eq(balance_of(w.user), 0);
  cr_assert_neq(current_backend(), c.pid);
  struct points_call add = {.user = w.user, .delta = 7};
  cr_assert_eq(run(true, points_tx, &add), BO_STORE_OK);
  cr_assert_eq(add.balance, 7);
}

Test(store, pg_a_connection_lost_while_idle_is_replaced_at_once) {
  POSTGRES_ONLY();
  struct world w = seed(1, 0);
  int before = current_backend();
  terminate_backend(before);
  /* libpq has not noticed yet; the BEGIN does, and the call goes on a new
   * connection instead of failing. */
  struct points_call add = {.user = w.user, .delta = 5};
  cr_assert_eq(run(true, points_tx, &add), BO_STORE_OK);
  cr_assert_neq(current_backend(), before);
  terminate_backend(current_backend());
  cr_assert_eq(fx.store->driver->ping(fx.store), BO_STORE_OK);
  cr_assert_eq(balance_of(w.user), 5);
}

Test(store, pg_a_lock_held_too_long_answers_unavailable_in_time) {
  POSTGRES_ONLY();
  struct world w = seed(1, 0);
  /* Another session holds the balance row and does not let go. */
  PGconn *other = PQconnectdb(fx.url);
  cr_assert_eq(PQstatus(other), CONNECTION_OK);
  PQclear(PQexec(other, "BEGIN"));
  PGresult *res = PQexec(other, "SELECT point FROM point FOR UPDATE");
  cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
  PQclear(res);
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  struct points_call add = {.user = w.user, .delta = 5};
  /* lock_timeout: 503 after about 2 s, once, not ten retries. */
  cr_assert_eq(run(true, points_tx, &add), BO_STORE_UNAVAILABLE);
  int64_t waited = elapsed_ms(&start);
  cr_assert_geq(waited, BO_PG_LOCK_TIMEOUT_MS - 100);
  cr_assert_lt(waited, BO_PG_LOCK_TIMEOUT_MS + 1500);
  PQclear(PQexec(other, "ROLLBACK"));
  PQfinish(other);
  cr_assert_eq(run(true, points_tx, &add), BO_STORE_OK);
  cr_assert_eq(balance_of(w.user), 5);
}

/* The session's settings, as "isolation read_only statement lock". */
static enum bo_store_status settings_tx(struct bo_store_tx *tx, void *arg) {
  PGresult *res =
      PQexec(bo_pg_tx(tx)->conn->pg,
             "SELECT concat_ws(' ', current_setting('transaction_isolation'), "
             "current_setting('transaction_read_only'), "
             "current_setting('statement_timeout'), "
             "current_setting('lock_timeout'))");
  cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s",
               PQresultErrorMessage(res));
  snprintf(arg, 128, "%s", PQgetvalue(res, 0, 0));
  PQclear(res);
  return BO_STORE_OK;
}

Test(store, pg_every_transaction_is_read_committed_with_limits) {
  POSTGRES_ONLY();
  char got[128];
  cr_assert_eq(run(false, settings_tx, got), BO_STORE_OK);
  cr_assert_str_eq(got, "read committed on 5s 2s");
  cr_assert_eq(run(true, settings_tx, got), BO_STORE_OK);
  cr_assert_str_eq(got, "read committed off 5s 2s");
  /* Even where the server's default is another level. */
  char sql[160];
  snprintf(sql, sizeof sql,
           "ALTER DATABASE %s SET default_transaction_isolation = "
           "'serializable'",
           fx.db_name);
  cr_assert_str_eq(pg_state(sql), "00000");
  struct bo_store *other = store_fixture_reopen(&fx);
  cr_assert_eq(bo_store_transaction(other, true, settings_tx, got),
               BO_STORE_OK);
  cr_assert_str_eq(got, "read committed off 5s 2s");
  bo_store_close(other);
  /* A read transaction that writes fails loudly instead of writing. */
  struct world w = seed(1, 0);
  struct points_call add = {.user = w.user, .delta = 5};
  cr_assert_eq(run(false, points_tx, &add), BO_STORE_FAILED);
  cr_assert_eq(balance_of(w.user), 0);
}

/* Lists the seats `*arg` times, then reports how often the one prepared
 * statement for it has run on this connection. */
static enum bo_store_status prepared_tx(struct bo_store_tx *tx, void *arg) {
  int64_t *n = arg;
  struct bo_seat_list seats;
  for (int64_t i = 0; i < n[0]; i++) {
    cr_assert_eq(bo_store_op(tx)->seat_list(tx, n[1], NOW, &seats),
                 BO_STORE_OK);
    free(seats.items);
  }
  char sql[160];
  snprintf(sql, sizeof sql,
           "SELECT count(*) * 1000000 + sum(generic_plans + custom_plans) "
           "FROM pg_prepared_statements WHERE name = 'bo_%d'",
           (int)BO_PG_SEAT_LIST);
  PGresult *res = PQexec(bo_pg_tx(tx)->conn->pg, sql);
  cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
  n[2] = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  return BO_STORE_OK;
}

Test(store, pg_statements_are_prepared_once_per_connection) {
  POSTGRES_ONLY();
  struct world w = seed(3, 0);
  int64_t n[3] = {3, w.schedule, 0};
  cr_assert_eq(run(false, prepared_tx, n), BO_STORE_OK);
  cr_assert_eq(n[2], 1000000 + 3); /* one statement, run three times */
  n[0] = 2;
  cr_assert_eq(run(false, prepared_tx, n), BO_STORE_OK);
  cr_assert_eq(n[2], 1000000 + 5);
  /* A new connection prepares it again. */
  terminate_backend(current_backend());
  n[0] = 1;
  cr_assert_eq(run(false, prepared_tx, n), BO_STORE_OK);
  cr_assert_eq(n[2], 1000000 + 1);
}

static enum bo_store_status go_on_after_error_tx(struct bo_store_tx *tx,
                                                 void *arg) {
  (void)arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  char too_long[300];
  int64_t id;
  memset(too_long, 'x', sizeof too_long - 1);
  too_long[sizeof too_long - 1] = '\0';
  cr_assert_eq(op->concert_insert(tx, "kept?", NOW, &id), BO_STORE_OK);
  cr_assert_eq(op->concert_insert(tx, too_long, NOW, &id), BO_STORE_FAILED);
  return BO_STORE_OK; /* a bug: it ignores the failure */
}

Test(store, pg_a_function_that_ignores_a_failed_statement_commits_nothing) {
  POSTGRES_ONLY();
  /* PostgreSQL has aborted the transaction: the runner says so rather than
   * report a commit that did not happen. */
  cr_assert_eq(run(true, go_on_after_error_tx, NULL), BO_STORE_FAILED);
  cr_assert_eq(sql_int("SELECT count(*) FROM concert"), 0);
}

Test(store, pg_a_backend_that_stops_answering_costs_a_ping_one_second) {
  POSTGRES_ONLY();
  int pid = current_backend();
  /* Frozen, not gone: the socket stays open and nothing ever answers. */
  if (kill(pid, SIGSTOP) != 0)
    cr_skip_test("cannot stop the server's process (run as root or as the "
                 "cluster's owner)");
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  enum bo_store_status st = fx.store->driver->ping(fx.store);
  int64_t waited = elapsed_ms(&start);
  kill(pid, SIGCONT);
  cr_assert_eq(st, BO_STORE_UNAVAILABLE);
  cr_assert_geq(waited, BO_PG_PING_TIMEOUT_MS - 100);
  cr_assert_lt(waited, BO_PG_PING_TIMEOUT_MS + 700);
  /* The stuck connection was given up; the next call has a new one. */
  cr_assert_eq(fx.store->driver->ping(fx.store), BO_STORE_OK);
  cr_assert_neq(current_backend(), pid);
}

/* ---- PostgreSQL only: the server stops and comes back -------------------- */

/* A cluster of this test's own (tests/services.sh start-pg), so that
 * stopping it disturbs no other test running at the same time. */
static char outage_dir[96];

static void services(const char *command, char *out, size_t size) {
  const char *root = getenv("BOXOFFICE_SOURCE_DIR");
  char script[512], line[1024];
  if (root && *root) {
    snprintf(script, sizeof script, "%s/tests/services.sh", root);
  } else {
    /* tests/unit/test_store_sqlite.c -> tests/services.sh */
    snprintf(script, sizeof script, "%s", __FILE__);
    char *cut = strstr(script, "/unit/test_store_sqlite.c");
    cr_assert_not_null(cut, "set BOXOFFICE_SOURCE_DIR to the source tree");
    snprintf(cut, sizeof script - (size_t)(cut - script), "/services.sh");
  }
  snprintf(line, sizeof line, "%s %s %s/pg", script, command, outage_dir);
  FILE *p = popen(line, "r");
  cr_assert_not_null(p, "%s", line);
  char buf[512] = "";
  if (!fgets(buf, sizeof buf, p))
    buf[0] = '\0';
  cr_assert_eq(pclose(p), 0, "%s failed", line);
  buf[strcspn(buf, "\n")] = '\0';
  if (out)
    snprintf(out, size, "%s", buf);
}

static void outage_setup(void) {
  if (store_fixture_driver() != STORE_FIXTURE_POSTGRES)
    return;
  snprintf(outage_dir, sizeof outage_dir, "/tmp/bo-outage-XXXXXX");
  cr_assert_not_null(mkdtemp(outage_dir));
  chmod(outage_dir, 0755); /* the cluster runs as another user */
  fx = (struct store_fixture){.driver = STORE_FIXTURE_POSTGRES};
  services("start-pg", fx.url, sizeof fx.url);
  fx.store = store_fixture_reopen(&fx);
  cr_assert_eq(fx.store->driver->migrate(fx.store), BO_STORE_OK);
}

static void outage_teardown(void) {
  if (!outage_dir[0])
    return;
  bo_store_close(fx.store);
  fx.store = NULL;
  services("stop-pg", NULL, 0);
  char line[160];
  snprintf(line, sizeof line, "rm -rf %s", outage_dir);
  cr_assert_eq(system(line), 0);
}

TestSuite(store_outage, .init = outage_setup, .fini = outage_teardown);

/* Each kind of call while the server is down: 503 at once, every time. */
static void expect_down(int64_t user) {
  for (int i = 0; i < 3; i++) {
    struct timespec start;
    struct points_call add = {.user = user, .delta = 1};
    clock_gettime(CLOCK_MONOTONIC, &start);
    cr_assert_eq(run(true, points_tx, &add), BO_STORE_UNAVAILABLE);
    cr_assert_eq(run(false, balance_tx, &add), BO_STORE_UNAVAILABLE);
    cr_assert_eq(fx.store->driver->ping(fx.store), BO_STORE_UNAVAILABLE);
    cr_assert_lt(elapsed_ms(&start), 1000, "3 calls took %lld ms",
                 (long long)elapsed_ms(&start));
  }
  char error[512];
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  cr_assert_null(bo_store_open(fx.url, error, sizeof error));
  cr_assert_lt(elapsed_ms(&start), 1200);
}

/* The same store object, never reopened, through a clean stop and a crash. */
Test(store_outage, calls_fail_fast_while_the_server_is_down_then_work_again) {
  POSTGRES_ONLY();
  struct world w = seed(1, 0);
  struct points_call add = {.user = w.user, .delta = 100};
  cr_assert_eq(run(true, points_tx, &add), BO_STORE_OK);

  services("stop-pg", NULL, 0);
  expect_down(w.user);
  services("start-pg", NULL, 0);
  /* The first call after the restart already works. */
  add.delta = 10;
  cr_assert_eq(run(true, points_tx, &add), BO_STORE_OK);
  cr_assert_eq(add.balance, 110);
  cr_assert_eq(fx.store->driver->ping(fx.store), BO_STORE_OK);

  /* A crash (no shutdown checkpoint): what was acknowledged is still there
   * once the server has replayed its WAL. */
  services("crash-pg", NULL, 0);
  expect_down(w.user);
  services("start-pg", NULL, 0);
  cr_assert_eq(balance_of(w.user), 110);
  /* A race right after, on fresh connections in other threads. */
  struct racer racers[RACERS];
  pthread_t threads[RACERS];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, RACERS);
  for (int i = 0; i < RACERS; i++)
    racers[i] =
        (struct racer){&start, &fx, w.schedule, w.user, BO_STORE_FAILED};
  for (int i = 0; i < RACERS; i++)
    pthread_create(&threads[i], NULL, hold_racer, &racers[i]);
  int won = 0;
  for (int i = 0; i < RACERS; i++) {
    pthread_join(threads[i], NULL);
    won += racers[i].status == BO_STORE_OK;
    cr_assert(racers[i].status == BO_STORE_OK ||
              racers[i].status == BO_STORE_CONFLICT);
  }
  pthread_barrier_destroy(&start);
  cr_assert_eq(won, 1);
}

/* ---- writes that commit together --------------------------------------- */

/* Writers that each insert a user and then either keep it (OK) or refuse
 * (CONFLICT, as a rule does when it finds the seat taken). Many at once:
 * on SQLite they are committed in groups (sqlite_group.c), so a refusing
 * writer shares a transaction with others; its insert must vanish and
 * theirs must stay. */
#define GROUP_WRITERS 8
#define GROUP_WRITES 100

struct group_writer {
  pthread_barrier_t *start;
  int index;
  int kept, refused, other;
};

struct insert_call {
  char name[32];
  bool refuse;
};

static enum bo_store_status insert_then_decide_tx(struct bo_store_tx *tx,
                                                  void *arg) {
  struct insert_call *c = arg;
  struct bo_user u;
  enum bo_store_status st = bo_store_op(tx)->user_insert(tx, c->name, NOW, &u);
  if (st != BO_STORE_OK)
    return st;
  return c->refuse ? BO_STORE_CONFLICT : BO_STORE_OK;
}

static void *group_writer(void *arg) {
  struct group_writer *g = arg;
  pthread_barrier_wait(g->start);
  for (int i = 0; i < GROUP_WRITES; i++) {
    struct insert_call c = {.refuse = (g->index + i) % 3 == 0};
    snprintf(c.name, sizeof c.name, "%s-%d-%d", c.refuse ? "refused" : "kept",
             g->index, i);
    enum bo_store_status st = run(true, insert_then_decide_tx, &c);
    if (st == BO_STORE_OK && !c.refuse)
      g->kept++;
    else if (st == BO_STORE_CONFLICT && c.refuse)
      g->refused++;
    else
      g->other++;
  }
  return NULL;
}

Test(store, refused_writes_vanish_and_the_others_stay_when_racing) {
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, GROUP_WRITERS);
  struct group_writer writers[GROUP_WRITERS];
  pthread_t threads[GROUP_WRITERS];
  for (int i = 0; i < GROUP_WRITERS; i++) {
    writers[i] = (struct group_writer){.start = &start, .index = i};
    pthread_create(&threads[i], NULL, group_writer, &writers[i]);
  }
  int kept = 0, refused = 0;
  for (int i = 0; i < GROUP_WRITERS; i++) {
    pthread_join(threads[i], NULL);
    cr_assert_eq(writers[i].other, 0, "writer %d: unexpected outcomes", i);
    kept += writers[i].kept;
    refused += writers[i].refused;
  }
  pthread_barrier_destroy(&start);
  cr_assert_eq(kept + refused, GROUP_WRITERS * GROUP_WRITES);
  cr_assert_gt(refused, 0);
  cr_assert_eq(sql_int("SELECT count(*) FROM users WHERE user_name LIKE "
                       "'kept-%'"),
               kept, "every kept write is there");
  cr_assert_eq(sql_int("SELECT count(*) FROM users WHERE user_name LIKE "
                       "'refused-%'"),
               0, "no refused write is there");
}

/* ---- all of a concert's seats at once ---------------------------------- */

struct upcoming_call {
  int64_t concert, now, later_schedule, past_schedule;
  struct bo_seat_list seats;
  struct bo_schedule_list dates;
};

/* Two more dates for the world's concert: one sooner than its first (so
 * the order is by start, not id) and one already past. */
static enum bo_store_status more_dates_tx(struct bo_store_tx *tx, void *arg) {
  struct upcoming_call *c = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  enum bo_store_status st = op->schedule_insert(
      tx, c->concert, NOW + HOUR_MS / 2, 2, 500, NOW, &c->later_schedule);
  if (st == BO_STORE_OK)
    st = op->schedule_insert(tx, c->concert, NOW - HOUR_MS, 2, 500, NOW,
                             &c->past_schedule);
  return st;
}

static enum bo_store_status upcoming_tx(struct bo_store_tx *tx, void *arg) {
  struct upcoming_call *c = arg;
  const struct bo_store_driver *op = bo_store_op(tx);
  enum bo_store_status st =
      op->seat_list_upcoming(tx, c->concert, c->now, &c->seats);
  if (st == BO_STORE_OK)
    st = op->schedule_list_upcoming(tx, c->concert, c->now, &c->dates);
  return st;
}

Test(store, seat_list_upcoming_is_every_future_map_in_date_order) {
  struct world w = seed(3, 1000); /* starts in an hour */
  struct upcoming_call c = {.concert = w.concert, .now = NOW};
  cr_assert_eq(run(true, more_dates_tx, &c), BO_STORE_OK);
  cr_assert_eq(hold(w.schedule, 2, w.user, NOW, NOW + 1000), BO_STORE_OK);
  cr_assert_eq(run(false, upcoming_tx, &c), BO_STORE_OK);

  /* Dates: the half-hour one first, then the world's; never the past. */
  cr_assert_eq(c.dates.count, 2);
  cr_assert_eq(c.dates.items[0].schedule_id, c.later_schedule);
  cr_assert_eq(c.dates.items[1].schedule_id, w.schedule);
  cr_assert_eq(c.dates.items[1].total_seats, 3);
  /* Seats in the same order, by number within a date. */
  cr_assert_eq(c.seats.count, 5);
  const int64_t schedule_of[] = {c.later_schedule, c.later_schedule, w.schedule,
                                 w.schedule, w.schedule};
  const int number_of[] = {1, 2, 1, 2, 3};
  for (size_t i = 0; i < c.seats.count; i++) {
    cr_assert_eq(c.seats.items[i].schedule_id, schedule_of[i], "seat %zu", i);
    cr_assert_eq(c.seats.items[i].seat_number, number_of[i], "seat %zu", i);
  }
  cr_assert_eq(c.seats.items[3].status, BO_SEAT_HELD);
  cr_assert_eq(c.seats.items[3].hold_expires_at_ms, NOW + 1000);
  cr_assert_eq(c.seats.items[2].status, BO_SEAT_AVAILABLE);
  cr_assert_eq(c.seats.items[2].hold_expires_at_ms, 0);
  free(c.seats.items);
  free(c.dates.items);
}

/* ---- waiting lines (queue_line) ------------------------------------------ */

/* A row whose every field differs from a zeroed one and from another salt's,
 * so a field that is lost or swapped on the way shows. The seed holds a
 * zero byte and high bytes, which text would not carry. */
static struct bo_line_row line_row(int64_t line_id, int salt) {
  struct bo_line_row r = {.line_id = line_id,
                          .active_max = 100 + salt,
                          .admit_per_minute = 600 + salt,
                          .on_sale_at_ms = NOW + HOUR_MS + salt,
                          .inventory_factor_pct = 150 + salt,
                          .paused = true};
  for (int i = 0; i < BO_LINE_SEED_BYTES; i++)
    r.seed[i] = (uint8_t)(i * 37 + salt);
  r.seed[5] = 0x00;
  r.seed[6] = 0xff;
  return r;
}

struct line_call {
  int64_t line, now;
  struct bo_line_row row;       /* line_insert's */
  struct bo_line_change change; /* line_update's */
  struct bo_line_row got;       /* line_get's */
  struct bo_line_row_list list; /* line_list's */
};

static enum bo_store_status line_insert_tx(struct bo_store_tx *tx, void *arg) {
  struct line_call *c = arg;
  return bo_store_op(tx)->line_insert(tx, &c->row, c->now);
}

static enum bo_store_status line_get_tx(struct bo_store_tx *tx, void *arg) {
  struct line_call *c = arg;
  return bo_store_op(tx)->line_get(tx, c->line, &c->got);
}

static enum bo_store_status line_update_tx(struct bo_store_tx *tx, void *arg) {
  struct line_call *c = arg;
  return bo_store_op(tx)->line_update(tx, c->line, &c->change, c->now);
}

static enum bo_store_status line_list_tx(struct bo_store_tx *tx, void *arg) {
  struct line_call *c = arg;
  return bo_store_op(tx)->line_list(tx, &c->list);
}

static enum bo_store_status line_insert(struct bo_line_row row, int64_t now) {
  struct line_call c = {.row = row, .now = now};
  return run(true, line_insert_tx, &c);
}

static enum bo_store_status
line_update(int64_t line, struct bo_line_change change, int64_t now) {
  struct line_call c = {.line = line, .change = change, .now = now};
  return run(true, line_update_tx, &c);
}

/* line_get's answer; *got is filled only on OK. */
static enum bo_store_status line_get(int64_t line, struct bo_line_row *got) {
  struct line_call c = {.line = line};
  enum bo_store_status st = run(false, line_get_tx, &c);
  if (st == BO_STORE_OK)
    *got = c.got;
  return st;
}

static void assert_line_is(const struct bo_line_row *got,
                           const struct bo_line_row *want, int64_t created) {
  cr_assert_eq(got->line_id, want->line_id);
  cr_assert_eq(got->active_max, want->active_max, "line %lld",
               (long long)want->line_id);
  cr_assert_eq(got->admit_per_minute, want->admit_per_minute);
  cr_assert_eq(got->on_sale_at_ms, want->on_sale_at_ms);
  cr_assert_eq(got->inventory_factor_pct, want->inventory_factor_pct);
  cr_assert_eq(got->paused, want->paused);
  cr_assert_arr_eq(got->seed, want->seed, BO_LINE_SEED_BYTES, "line %lld",
                   (long long)want->line_id);
  cr_assert_eq(got->created_at_ms, created);
}

Test(store, line_rows_read_back_every_field) {
  struct world w = seed(1, 100);
  /* A concert's line with an on-sale time, paused; the global one with
   * none (0), running. */
  struct bo_line_row concert_line = line_row(w.concert, 1);
  struct bo_line_row global = line_row(0, 2);
  global.on_sale_at_ms = 0;
  global.paused = false;
  cr_assert_eq(line_insert(concert_line, NOW + 7), BO_STORE_OK);
  cr_assert_eq(line_insert(global, NOW + 9), BO_STORE_OK);

  struct bo_line_row got;
  cr_assert_eq(line_get(w.concert, &got), BO_STORE_OK);
  assert_line_is(&got, &concert_line, NOW + 7);
  cr_assert_eq(line_get(0, &got), BO_STORE_OK);
  assert_line_is(&got, &global, NOW + 9);
  cr_assert_eq(line_get(w.concert + 1, &got), BO_STORE_NOT_FOUND);
  /* "No on-sale" is stored as NULL, never as a time. */
  cr_assert_eq(sql_int("SELECT count(*) FROM queue_line "
                       "WHERE on_sale_at IS NULL AND line_id = 0"),
               1);
  cr_assert_eq(sql_int("SELECT bo_ms(on_sale_at) FROM queue_line "
                       "WHERE line_id <> 0"),
               NOW + HOUR_MS + 1);

  /* By line id, whatever the order of insertion. */
  struct line_call c = {0};
  cr_assert_eq(run(false, line_list_tx, &c), BO_STORE_OK);
  cr_assert_eq(c.list.count, 2);
  assert_line_is(&c.list.items[0], &global, NOW + 9);
  assert_line_is(&c.list.items[1], &concert_line, NOW + 7);
  free(c.list.items);
}

Test(store, line_list_of_no_lines_is_empty) {
  struct line_call c = {.list = {.items = (void *)&c, .count = 9}};
  cr_assert_eq(run(false, line_list_tx, &c), BO_STORE_OK);
  cr_assert_eq(c.list.count, 0);
  cr_assert_null(c.list.items);
}

Test(store, line_insert_of_a_line_that_exists_is_a_conflict) {
  struct world w = seed(1, 100);
  struct bo_line_row first = line_row(w.concert, 1);
  cr_assert_eq(line_insert(first, NOW), BO_STORE_OK);
  cr_assert_eq(line_insert(line_row(w.concert, 2), NOW + 1), BO_STORE_CONFLICT);
  cr_assert_eq(line_insert(line_row(0, 3), NOW), BO_STORE_OK);
  cr_assert_eq(line_insert(line_row(0, 4), NOW), BO_STORE_CONFLICT);
  /* The first row stands, untouched. */
  struct bo_line_row got;
  cr_assert_eq(line_get(w.concert, &got), BO_STORE_OK);
  assert_line_is(&got, &first, NOW);
  cr_assert_eq(sql_int("SELECT count(*) FROM queue_line"), 2);
}

Test(store, line_insert_for_no_such_concert_is_not_found) {
  struct world w = seed(1, 100);
  cr_assert_eq(line_insert(line_row(w.concert + 1, 1), NOW),
               BO_STORE_NOT_FOUND);
  cr_assert_eq(sql_int("SELECT count(*) FROM queue_line"), 0);
  /* The concert column is the line's own id, or NULL for line 0. */
  cr_assert_eq(line_insert(line_row(w.concert, 1), NOW), BO_STORE_OK);
  cr_assert_eq(line_insert(line_row(0, 1), NOW), BO_STORE_OK);
  cr_assert_eq(sql_int("SELECT count(*) FROM queue_line WHERE "
                       "(line_id = 0 AND concert_id IS NULL) OR "
                       "(line_id <> 0 AND concert_id = line_id)"),
               2);
}

Test(store, line_update_creates_the_global_line_then_changes_it) {
  struct bo_line_row got;
  cr_assert_eq(line_get(0, &got), BO_STORE_NOT_FOUND);

  struct bo_line_change first = {.active_max = 50,
                                 .admit_per_minute = 1200,
                                 .inventory_factor_pct = 0,
                                 .paused = true};
  cr_assert_eq(line_update(0, first, NOW), BO_STORE_OK);
  /* Made by its first change: the settings given, a zero seed, no on-sale. */
  struct bo_line_row want = {.line_id = 0,
                             .active_max = 50,
                             .admit_per_minute = 1200,
                             .inventory_factor_pct = 0,
                             .paused = true};
  cr_assert_eq(line_get(0, &got), BO_STORE_OK);
  assert_line_is(&got, &want, NOW);

  struct bo_line_change second = {.active_max = 0,
                                  .admit_per_minute = 30,
                                  .inventory_factor_pct = 10000,
                                  .paused = false};
  cr_assert_eq(line_update(0, second, NOW + 5000), BO_STORE_OK);
  want.active_max = 0;
  want.admit_per_minute = 30;
  want.inventory_factor_pct = 10000;
  want.paused = false;
  cr_assert_eq(line_get(0, &got), BO_STORE_OK);
  assert_line_is(&got, &want, NOW); /* created when it was made */
  cr_assert_eq(sql_int("SELECT bo_ms(updated_at) FROM queue_line"), NOW + 5000);
  cr_assert_eq(sql_int("SELECT count(*) FROM queue_line"), 1);
}

Test(store, line_update_changes_only_the_live_settings) {
  struct world w = seed(1, 100);
  struct bo_line_row row = line_row(w.concert, 1);
  cr_assert_eq(line_insert(row, NOW), BO_STORE_OK);
  struct bo_line_change change = {.active_max = 7,
                                  .admit_per_minute = 0,
                                  .inventory_factor_pct = 200,
                                  .paused = false};
  cr_assert_eq(line_update(w.concert, change, NOW + 1000), BO_STORE_OK);
  /* The seed and the on-sale time are the line's own, kept. */
  row.active_max = 7;
  row.admit_per_minute = 0;
  row.inventory_factor_pct = 200;
  row.paused = false;
  struct bo_line_row got;
  cr_assert_eq(line_get(w.concert, &got), BO_STORE_OK);
  assert_line_is(&got, &row, NOW);
  cr_assert_eq(sql_int("SELECT bo_ms(updated_at) FROM queue_line"), NOW + 1000);
}

Test(store, line_update_of_a_missing_concert_line_is_not_found) {
  struct world w = seed(1, 100);
  struct bo_line_change change = {.active_max = 1, .paused = true};
  /* The concert exists but its line was never made; and no such concert. */
  cr_assert_eq(line_update(w.concert, change, NOW), BO_STORE_NOT_FOUND);
  cr_assert_eq(line_update(w.concert + 1, change, NOW), BO_STORE_NOT_FOUND);
  cr_assert_eq(sql_int("SELECT count(*) FROM queue_line"), 0);
}

Test(store, line_schema_refuses_a_seed_of_another_length) {
  struct world w = seed(1, 100);
  cr_assert_eq(line_insert(line_row(w.concert, 1), NOW), BO_STORE_OK);
  /* The store interface cannot say another length, so SQL does. */
  if (fx.driver == STORE_FIXTURE_SQLITE) {
    cr_assert_eq(sqlite_exec("UPDATE queue_line SET seed = zeroblob(31)"),
                 SQLITE_CONSTRAINT_CHECK);
    cr_assert_eq(sqlite_exec("UPDATE queue_line SET seed = zeroblob(33)"),
                 SQLITE_CONSTRAINT_CHECK);
    cr_assert_eq(sqlite_exec("UPDATE queue_line SET seed = zeroblob(0)"),
                 SQLITE_CONSTRAINT_CHECK);
    cr_assert_eq(sqlite_exec("UPDATE queue_line SET seed = zeroblob(32)"),
                 SQLITE_OK);
    cr_assert_eq(sqlite_exec("UPDATE queue_line "
                             "SET inventory_factor_pct = 10001"),
                 SQLITE_CONSTRAINT_CHECK);
    cr_assert_eq(sqlite_exec("UPDATE queue_line SET paused = 2"),
                 SQLITE_CONSTRAINT_CHECK);
    cr_assert_eq(sqlite_exec("UPDATE queue_line SET on_sale_at = 0"),
                 SQLITE_CONSTRAINT_CHECK);
    /* Foreign keys are per connection in SQLite, off by default. */
    cr_assert_eq(sqlite_exec("PRAGMA foreign_keys = ON; "
                             "UPDATE queue_line SET line_id = 424242"),
                 SQLITE_CONSTRAINT_FOREIGNKEY);
  } else {
    cr_assert_str_eq(pg_state("UPDATE queue_line "
                              "SET seed = decode(repeat('00', 31), 'hex')"),
                     "23514");
    cr_assert_str_eq(pg_state("UPDATE queue_line "
                              "SET seed = decode(repeat('00', 33), 'hex')"),
                     "23514");
    cr_assert_str_eq(pg_state("UPDATE queue_line SET seed = ''::bytea"),
                     "23514");
    cr_assert_str_eq(pg_state("UPDATE queue_line "
                              "SET seed = decode(repeat('00', 32), 'hex')"),
                     "00000");
    cr_assert_str_eq(pg_state("UPDATE queue_line "
                              "SET inventory_factor_pct = 10001"),
                     "23514");
    cr_assert_str_eq(pg_state("UPDATE queue_line SET on_sale_at = bo_time(0)"),
                     "23514");
    cr_assert_str_eq(pg_state("UPDATE queue_line SET line_id = 424242"),
                     "23503");
  }
  /* The row the refused writes left alone still reads. */
  struct bo_line_row got;
  cr_assert_eq(line_get(w.concert, &got), BO_STORE_OK);
}

/* ---- a concert's inventory ----------------------------------------------- */

struct inventory_call {
  int64_t concert, now;
  struct bo_inventory out;
};

static enum bo_store_status inventory_tx(struct bo_store_tx *tx, void *arg) {
  struct inventory_call *c = arg;
  return bo_store_op(tx)->concert_inventory(tx, c->concert, c->now, &c->out);
}

static struct bo_inventory inventory(int64_t concert, int64_t now) {
  struct inventory_call c = {.concert = concert,
                             .now = now,
                             .out = {-1, -1, -1}}; /* so zeros are written */
  cr_assert_eq(run(false, inventory_tx, &c), BO_STORE_OK);
  return c.out;
}

#define cr_assert_inventory(got, a, h, s)                                      \
  do {                                                                         \
    struct bo_inventory got_ = (got);                                          \
    cr_assert(got_.available == (a) && got_.held == (h) && got_.sold == (s),   \
              "available %lld held %lld sold %lld, want %d %d %d",             \
              (long long)got_.available, (long long)got_.held,                 \
              (long long)got_.sold, (a), (h), (s));                            \
  } while (0)

/* Holds the seat and sells it. */
static void sell(int64_t schedule, int32_t seat, int64_t user) {
  struct hold_call c = {schedule, user, NOW - 5000, NOW - 4000, seat, {0}};
  cr_assert_eq(run(true, hold_tx, &c), BO_STORE_OK);
  cr_assert_eq(move_seat(c.out.seat_id, true), BO_STORE_OK);
}

Test(store, concert_inventory_counts_future_seats_as_of_now) {
  /* Dates: A in an hour (4 seats), B in half an hour (2, from more_dates_tx),
   * P an hour ago (2). */
  struct world w = seed(4, 1000);
  struct upcoming_call dates = {.concert = w.concert};
  cr_assert_eq(run(true, more_dates_tx, &dates), BO_STORE_OK);
  int64_t a = w.schedule, b = dates.later_schedule, p = dates.past_schedule;
  const int64_t soon = NOW + 10 * 60 * 1000;

  cr_assert_eq(hold(a, 1, w.user, NOW, soon), BO_STORE_OK);       /* live */
  cr_assert_eq(hold(a, 2, w.user, NOW - 2000, NOW), BO_STORE_OK); /* ran out */
  sell(a, 3, w.other);
  /* a4 untouched */
  sell(b, 1, w.user);
  cr_assert_eq(hold(b, 2, w.other, NOW, soon), BO_STORE_OK);
  /* The past date's seats count nowhere, whatever their state. */
  sell(p, 1, w.user);
  cr_assert_eq(hold(p, 2, w.user, NOW, soon), BO_STORE_OK);

  /* a2 and a4 are available (a2's hold ran out at now exactly), a1 and b2
   * held, a3 and b1 sold. */
  cr_assert_inventory(inventory(w.concert, NOW), 2, 2, 2);
  /* Before a2's hold ran out it was held. */
  cr_assert_inventory(inventory(w.concert, NOW - 1), 1, 3, 2);
  /* Once B has started only A is left, and a1's hold has run out too. */
  cr_assert_inventory(inventory(w.concert, NOW + HOUR_MS / 2), 3, 0, 1);
  /* After the last date: nothing. */
  cr_assert_inventory(inventory(w.concert, NOW + HOUR_MS), 0, 0, 0);
  /* No such concert: zeros, not an error. */
  cr_assert_inventory(inventory(w.concert + 1, NOW), 0, 0, 0);
}

/* It runs every quarter second per line, so it must read only the
 * concert's own seats: index searches, never a scan of a whole table. */
Test(store, concert_inventory_searches_indexes_only) {
  SQLITE_ONLY("reads SQLite's query plan; PostgreSQL's planner picks a scan "
              "on tables this small whatever the indexes");
  seed(2, 100);
  sqlite3 *db = NULL;
  sqlite3_stmt *plan = NULL;
  char sql[2048];
  snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s",
           bo_sqlite_sql[BO_SQLITE_CONCERT_INVENTORY]);
  cr_assert_eq(sqlite3_open(fx.db_path, &db), SQLITE_OK);
  cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &plan, NULL), SQLITE_OK, "%s",
               sqlite3_errmsg(db));
  int steps = 0;
  while (sqlite3_step(plan) == SQLITE_ROW) {
    const char *detail = (const char *)sqlite3_column_text(plan, 3);
    cr_assert(strncmp(detail, "SEARCH", 6) == 0, "plan step: %s", detail);
    steps++;
  }
  cr_assert_eq(steps, 2); /* the dates, then their seats */
  sqlite3_finalize(plan);
  sqlite3_close(db);
}

/* ---- each date of a concert with its counts ----------------------------- */

struct schedule_counts_call {
  int64_t concert, now;
  struct bo_schedule_count_list out;
};

static enum bo_store_status schedule_counts_tx(struct bo_store_tx *tx,
                                               void *arg) {
  struct schedule_counts_call *c = arg;
  free(c->out.items);
  c->out = (struct bo_schedule_count_list){0};
  return bo_store_op(tx)->schedule_counts(tx, c->concert, c->now, &c->out);
}

#define cr_assert_schedule_count(got, id, starts, t, a, h, s)                  \
  do {                                                                         \
    const struct bo_schedule_count *got_ = (got);                              \
    cr_assert(got_->schedule_id == (id) && got_->starts_at_ms == (starts) &&   \
                  got_->total == (t) && got_->available == (a) &&              \
                  got_->held == (h) && got_->sold == (s),                      \
              "schedule %lld at %lld: total %lld available %lld held %lld "    \
              "sold %lld, want %lld at %lld: %d %d %d %d",                     \
              (long long)got_->schedule_id, (long long)got_->starts_at_ms,     \
              (long long)got_->total, (long long)got_->available,              \
              (long long)got_->held, (long long)got_->sold, (long long)(id),   \
              (long long)(starts), (t), (a), (h), (s));                        \
  } while (0)

Test(store, schedule_counts_are_every_date_soonest_first_as_of_now) {
  /* Dates: A in an hour (4 seats), B in half an hour (2, from more_dates_tx),
   * P an hour ago (2). */
  struct world w = seed(4, 1000);
  struct upcoming_call dates = {.concert = w.concert};
  cr_assert_eq(run(true, more_dates_tx, &dates), BO_STORE_OK);
  int64_t a = w.schedule, b = dates.later_schedule, p = dates.past_schedule;
  const int64_t soon = NOW + 10 * 60 * 1000;

  cr_assert_eq(hold(a, 1, w.user, NOW, soon), BO_STORE_OK);       /* live */
  cr_assert_eq(hold(a, 2, w.user, NOW - 2000, NOW), BO_STORE_OK); /* ran out */
  sell(a, 3, w.other);
  /* a4 untouched */
  sell(b, 1, w.user);
  cr_assert_eq(hold(b, 2, w.other, NOW, soon), BO_STORE_OK);
  /* Unlike concert_inventory, the past date is counted too. */
  sell(p, 1, w.user);
  cr_assert_eq(hold(p, 2, w.user, NOW, soon), BO_STORE_OK);

  struct schedule_counts_call c = {.concert = w.concert, .now = NOW};
  cr_assert_eq(run(false, schedule_counts_tx, &c), BO_STORE_OK);
  cr_assert_eq(c.out.count, 3);
  cr_assert_schedule_count(&c.out.items[0], p, NOW - HOUR_MS, 2, 0, 1, 1);
  cr_assert_schedule_count(&c.out.items[1], b, NOW + HOUR_MS / 2, 2, 0, 1, 1);
  /* a2's hold ran out at now exactly: available, as a4. */
  cr_assert_schedule_count(&c.out.items[2], a, NOW + HOUR_MS, 4, 2, 1, 1);

  /* Before a2's hold ran out it was held. */
  c.now = NOW - 1;
  cr_assert_eq(run(false, schedule_counts_tx, &c), BO_STORE_OK);
  cr_assert_eq(c.out.count, 3);
  cr_assert_schedule_count(&c.out.items[2], a, NOW + HOUR_MS, 4, 1, 2, 1);

  /* Once the live holds ran out too, only the sold seats are taken. */
  c.now = soon;
  cr_assert_eq(run(false, schedule_counts_tx, &c), BO_STORE_OK);
  cr_assert_eq(c.out.count, 3);
  cr_assert_schedule_count(&c.out.items[0], p, NOW - HOUR_MS, 2, 1, 0, 1);
  cr_assert_schedule_count(&c.out.items[1], b, NOW + HOUR_MS / 2, 2, 1, 0, 1);
  cr_assert_schedule_count(&c.out.items[2], a, NOW + HOUR_MS, 4, 3, 0, 1);
  free(c.out.items);
}

static enum bo_store_status bare_concert_tx(struct bo_store_tx *tx, void *arg) {
  return bo_store_op(tx)->concert_insert(tx, "no dates", NOW, arg);
}

Test(store, schedule_counts_not_found_for_no_concert_empty_for_no_dates) {
  struct world w = seed(2, 1000);
  struct schedule_counts_call c = {.concert = w.concert + 1000, .now = NOW};
  cr_assert_eq(run(false, schedule_counts_tx, &c), BO_STORE_NOT_FOUND);
  cr_assert_eq(c.out.count, 0);
  cr_assert_null(c.out.items);

  /* The API never makes a concert without dates; the store answers it with
   * an empty list all the same. */
  int64_t bare = 0;
  cr_assert_eq(run(true, bare_concert_tx, &bare), BO_STORE_OK);
  c.concert = bare;
  cr_assert_eq(run(false, schedule_counts_tx, &c), BO_STORE_OK);
  cr_assert_eq(c.out.count, 0);
}
