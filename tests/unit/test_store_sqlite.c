/* The SQLite store driver, operation by operation, on a real database file in
 * a fresh temporary folder per test. Time is passed in as now_ms, so expiry
 * is tested without sleeping; races run real threads, each on its own
 * connection, as the server's workers do. Some checks open the file with
 * sqlite3 directly, to see the rows themselves or to write what the driver
 * never would; one reaches into the driver's connection (sqlite_internal.h)
 * to make it fail for good. */
#include "store/migrations.h"
#include "store/sqlite_internal.h"
#include "store/store.h"
#include "support/store_fixture.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
TestSuite(store_sqlite, .init = setup, .fini = teardown);

static enum bo_store_status run(bool write, bo_store_tx_fn fn, void *ctx) {
  return bo_store_transaction(fx.store, write, fn, ctx);
}

/* ---- direct SQL on the database file, behind the driver's back --------- */

static int sql_exec(const char *sql) {
  sqlite3 *db = NULL;
  cr_assert_eq(sqlite3_open(fx.db_path, &db), SQLITE_OK);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_close(db);
  return rc;
}

static int64_t sql_int(const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  cr_assert_eq(sqlite3_open(fx.db_path, &db), SQLITE_OK);
  cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK, "%s",
               sqlite3_errmsg(db));
  cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW, "%s", sql);
  int64_t v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return v;
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

Test(store_open, rejects_what_it_cannot_open) {
  char error[256] = "";
  cr_assert_null(bo_store_open("postgres://localhost/x", error, sizeof error));
  cr_assert(strstr(error, "PostgreSQL"), "%s", error);
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
  int n = 0;
  while (bo_migrations_sqlite[n].sql)
    n++;
  return n;
}

Test(store_sqlite, migrate_again_is_a_noop) {
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
  cr_assert_eq(sql_int("SELECT journal_mode = 'wal' FROM pragma_journal_mode"),
               1);
  cr_assert_eq(fx.store->driver->ping(fx.store), BO_STORE_OK);
}

static void *migrate_thread(void *arg) {
  struct bo_store *store = arg;
  return (void *)(intptr_t)store->driver->migrate(store);
}

Test(store_open, two_stores_migrating_at_once_apply_each_version_once) {
  store_fixture_make(&fx);
  struct bo_store *a = store_fixture_reopen(&fx);
  struct bo_store *b = store_fixture_reopen(&fx);
  pthread_t ta, tb;
  void *ra, *rb;
  pthread_create(&ta, NULL, migrate_thread, a);
  pthread_create(&tb, NULL, migrate_thread, b);
  pthread_join(ta, &ra);
  pthread_join(tb, &rb);
  cr_assert_eq((intptr_t)ra, BO_STORE_OK);
  cr_assert_eq((intptr_t)rb, BO_STORE_OK);
  bo_store_close(a);
  bo_store_close(b);
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

Test(store_sqlite, user_insert_creates_a_zero_balance) {
  cr_assert_eq(run(true, users_tx, NULL), BO_STORE_OK);
  cr_assert_eq(sql_int("SELECT count(*) FROM point WHERE point = 0"), 1);
}

Test(store_sqlite, points_add_stays_within_zero_and_max) {
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

Test(store_sqlite, points_history_newest_first) {
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

Test(store_sqlite, idempotency_key_taken_is_a_conflict) {
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

Test(store_sqlite, schedule_insert_creates_numbered_seats) {
  struct world w = seed(5, 150000);
  cr_assert_eq(run(true, catalog_tx, &w), BO_STORE_OK);
  /* The ERD's copy of concert_id on each seat is its schedule's. */
  cr_assert_eq(sql_int("SELECT count(*) FROM concert_seat s "
                       "JOIN concert_schedule c USING (concert_schedule_id) "
                       "WHERE s.concert_id = c.concert_id"),
               5);
}

Test(store_sqlite, seat_hold_conflicts_until_the_hold_runs_out) {
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
  cr_assert_eq(sql_int("SELECT hold_expire_dt FROM concert_seat "
                       "WHERE seat_num = 2"),
               NOW + 5000);
  cr_assert_eq(hold(w.schedule, 4, w.user, NOW, NOW + 1000),
               BO_STORE_NOT_FOUND);
  cr_assert_eq(hold(w.schedule + 1, 1, w.user, NOW, NOW + 1000),
               BO_STORE_NOT_FOUND);
}

Test(store_sqlite, run_out_hold_reads_available_without_housekeeping) {
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

static enum bo_store_status move_seat_tx(struct bo_store_tx *tx, void *arg) {
  const int64_t *a = arg; /* {seat id, 0 release / 1 sell} */
  const struct bo_store_driver *op = bo_store_op(tx);
  return a[1] ? op->seat_sell(tx, a[0], NOW) : op->seat_release(tx, a[0], NOW);
}

static enum bo_store_status move_seat(int64_t seat_id, bool sell) {
  int64_t a[2] = {seat_id, sell};
  return run(true, move_seat_tx, a);
}

Test(store_sqlite, seat_release_and_sell_need_a_held_seat) {
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

Test(store_sqlite, bookable_schedules_are_future_with_a_free_seat) {
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

Test(store_sqlite, reservations_read_back_newest_first) {
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

Test(store_sqlite, one_live_reservation_per_seat) {
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

Test(store_sqlite, reservation_transition_is_conditional) {
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

Test(store_sqlite, at_most_one_payment_per_reservation) {
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

Test(store_sqlite, holds_release_expired_frees_run_out_holds_in_batches) {
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

Test(store_sqlite, a_refusing_function_leaves_nothing_behind) {
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

Test(store_sqlite, transient_failures_are_rolled_back_and_retried) {
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

Test(store_sqlite, a_nested_transaction_is_refused) {
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

Test(store_sqlite, a_connection_that_met_a_fatal_error_is_reopened) {
  int64_t cap = 0;
  cr_assert_eq(run(true, fill_up_tx, NULL), BO_STORE_FAILED);
  cr_assert_eq(sql_int("SELECT count(*) FROM concert"), 0);
  /* The capped connection is gone: the next one has SQLite's default. */
  cr_assert_eq(run(false, page_cap_tx, &cap), BO_STORE_OK);
  cr_assert_gt(cap, 1000000);
  struct world w = seed(1, 0);
  cr_assert_gt(w.schedule, 0);
}

Test(store_sqlite, commits_survive_closing_and_reopening) {
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

Test(store_sqlite, of_many_racing_holds_exactly_one_wins) {
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

Test(store_sqlite, concurrent_charges_all_count) {
  struct world w = seed(1, 0);
  int conflicts;
  cr_assert_eq(race_adds(w.user, thread_number, &conflicts), ADDERS * ADDS);
  cr_assert_eq(conflicts, 0);
  /* 50 * (1 + 2 + ... + 8) */
  cr_assert_eq(balance_of(w.user), ADDS * ADDERS * (ADDERS + 1) / 2);
}

Test(store_sqlite, concurrent_spending_never_overdraws) {
  struct world w = seed(1, 0);
  struct points_call c = {.user = w.user, .delta = 100};
  cr_assert_eq(run(true, points_tx, &c), BO_STORE_OK);
  int conflicts;
  cr_assert_eq(race_adds(w.user, minus_one, &conflicts), 100);
  cr_assert_eq(conflicts, ADDERS * ADDS - 100);
  cr_assert_eq(balance_of(w.user), 0);
}

/* ---- the schema enforces the invariants by itself ------------------------ */

Test(store_sqlite, schema_checks_reject_bad_rows_written_directly) {
  struct world w = seed(2, 700);
  reserve(&w, w.user, 1, NOW, NOW + 1000);
  cr_assert_eq(sql_exec("UPDATE point SET point = -1"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sql_exec("UPDATE point SET point = 1000000000001"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sql_exec("UPDATE point SET point = 1000000000000"), SQLITE_OK);
  /* STRICT: text is not a number. */
  cr_assert_eq(sql_exec("UPDATE point SET point = 'lots'"),
               SQLITE_CONSTRAINT_DATATYPE);
  /* A held seat without a holder, a free seat with one. */
  cr_assert_eq(sql_exec("UPDATE concert_seat SET hold_user_id = NULL "
                        "WHERE seat_num = 1"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sql_exec("UPDATE concert_seat SET hold_user_id = 1 "
                        "WHERE seat_num = 2"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sql_exec("UPDATE concert_seat SET seat_status = 'GONE' "
                        "WHERE seat_num = 2"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sql_exec("UPDATE concert_seat SET seat_num = 1 "
                        "WHERE seat_num = 2"),
               SQLITE_CONSTRAINT_UNIQUE);
  cr_assert_eq(sql_exec("UPDATE concert_seat SET price = -1"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sql_exec("INSERT INTO reservation (user_id, seat_id, "
                        "reservation_dt, reservation_expire_dt, price, "
                        "created_at, updated_at) "
                        "SELECT user_id, seat_id, 1, 2, 0, 1, 1 "
                        "FROM reservation"),
               SQLITE_CONSTRAINT_UNIQUE);
  cr_assert_eq(sql_exec("UPDATE reservation SET reservation_status = 'LOST'"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sql_exec("INSERT INTO payment (user_id, reservation_id, "
                        "amount, balance_after, payment_dt, created_at, "
                        "updated_at) SELECT user_id, reservation_id, 1, 0, "
                        "1, 1, 1 FROM reservation"),
               SQLITE_OK);
  cr_assert_eq(sql_exec("INSERT INTO payment (user_id, reservation_id, "
                        "amount, balance_after, payment_dt, created_at, "
                        "updated_at) SELECT user_id, reservation_id, 1, 0, "
                        "1, 1, 1 FROM reservation"),
               SQLITE_CONSTRAINT_UNIQUE);
  cr_assert_eq(sql_exec("UPDATE payment SET payment_status = 'PENDING'"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sql_exec("INSERT INTO point_history (point_id, amount, "
                        "point_after_transaction, type, created_at, "
                        "updated_at) VALUES (1, 0, 0, 'CHARGE', 1, 1)"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sql_exec("INSERT INTO point_history (point_id, amount, "
                        "point_after_transaction, type, created_at, "
                        "updated_at) VALUES (1, 5, 0, 'GIFT', 1, 1)"),
               SQLITE_CONSTRAINT_CHECK);
  cr_assert_eq(sql_exec("INSERT INTO point (user_id, created_at, updated_at) "
                        "VALUES (1, 1, 1)"),
               SQLITE_CONSTRAINT_UNIQUE);
  cr_assert_eq(sql_exec("INSERT INTO users (user_name, created_at, "
                        "updated_at) VALUES ('', 1, 1)"),
               SQLITE_CONSTRAINT_CHECK);
}
