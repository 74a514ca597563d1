/* soak_check: the chaos soak's invariant checker.
 *
 *   soak_check --db URL --record FILE [--counts FILE] [--faults FILE]
 *              [--active-max N] [--slack-ms N] [--self-test]
 *
 * Reads the cluster's PostgreSQL database and the load generator's record
 * of acknowledged operations (tests/soak/soak_load.c describes it), checks
 * every invariant below in one REPEATABLE READ snapshot, and prints one
 * summary: how long the load ran, operations by kind and outcome, faults by
 * kind, each check with how many things it looked at and how many broke it.
 * Exit status 0 only with zero violations (1: violations, 2: could not
 * check).
 *
 * The database must hold the soak's data only (a fresh cluster): every
 * charge and payment the load generator makes carries an Idempotency-Key,
 * so a CHARGE history row or a payment with no key is one that was applied
 * twice.
 *
 * Points
 *   B1  for every user: sum(CHARGE) - sum(USE) + sum(REFUND) = balance
 *   B2  for every user: the newest history row's balance after = balance
 *       (no history: balance 0)
 *   B3  history chains: each row's balance after = the previous row's
 *       (by point_history_id, 0 before the first) +/- its amount. Ids follow
 *       the order of the balance updates: the row is inserted after the
 *       conditional UPDATE of the balance row in the same transaction, and
 *       that UPDATE holds the row lock until COMMIT.
 *   B4  charges exactly once: every CHARGE row is the result of exactly one
 *       CHARGE idempotency record of its user, and every CHARGE record
 *       points at a CHARGE row of its user
 *   B5  every USE row belongs to a payment of its user with the same amount
 *       and balance after; every payment of a positive amount has exactly
 *       one USE row (none for a free seat); only USE rows name a payment
 *   B6  payments exactly once: every payment is the result of exactly one
 *       PAYMENT idempotency record of its user, and every record points at
 *       a payment of its user
 * Acknowledged operations (the record)
 *   A1  every charge answered 200 is there: its key's record leads to a
 *       CHARGE row of that user with that amount and that balance after
 *   A2  every payment answered 201 is there: the payment id, with that user,
 *       reservation, amount and balance after, COMPLETED, its reservation
 *       CONFIRMED, and its key's record names that payment
 *   A3  every hold answered 201 is there: that reservation, user, schedule,
 *       seat number and price
 *   A4  every cancel answered 200 left its reservation CANCELLED
 *   A5  a keyed charge or payment that was finally refused (answered 4xx
 *       after every unanswered attempt had surely ended) left nothing: no
 *       idempotency record, and for a payment no payment of its reservation
 *   A6  the load generator saw no broken promise (a replay that did not
 *       return the first answer, a 201 hold with other fields, ...)
 * Seats
 *   S1  at most one CONFIRMED reservation per seat
 *   S2  a SOLD seat has exactly one CONFIRMED reservation, with exactly one
 *       COMPLETED payment; a seat that is not SOLD has no CONFIRMED one
 *   S3  every payment is for a CONFIRMED reservation of the same user, of
 *       the reservation's price; at most one payment per reservation
 *   S4  a live hold (seat HELD, hold_expire_dt past the check's time) has
 *       exactly one HELD reservation of that user ending then, and every
 *       live HELD reservation has its seat HELD by its user until its end
 *   S5  a reservation's state agrees with its times: CONFIRMED and CANCELLED
 *       happened before the hold ran out (updated_at < expire), EXPIRED at
 *       or after it (updated_at >= expire). Exact: the server writes
 *       updated_at with the same clock reading that the condition tested.
 *   S6  no seat held by two reservations at once (the rule is below)
 * Queue
 *   Q1  the most ACTIVE tokens with an expiry past now that the sampler saw
 *       (ZCOUNT bo:{q}:active (now +inf, every 100 ms) <= activeMax, and
 *       the sampler did sample
 *   Q2  the largest ZCARD of the active set <= activeMax (docs/queue.md
 *       promises that too: run-out tokens are dropped before any admission)
 *
 * S6, the rule. A reservation holds its seat from reservation_dt until
 *   - CONFIRMED: forever (the seat is sold);
 *   - CANCELLED: updated_at (the moment of the cancel);
 *   - EXPIRED or HELD: reservation_expire_dt (when the hold runs out).
 * The reservations of one seat, taken in reservation_id order, must not
 * overlap: each must begin no earlier than the latest end of all earlier
 * reservations of that seat (so nothing may follow a CONFIRMED one), less a
 * slack (--slack-ms, default 1000).
 *   Why reservation_id order is the order of the holds: a hold is one
 *   transaction that first takes the seat row with a conditional UPDATE and
 *   then INSERTs the reservation (the id comes from an identity at that
 *   INSERT). A second hold of the same seat can only pass its UPDATE after
 *   the first hold committed (it waits for the row lock, or comes later),
 *   so its id is drawn after the first one's.
 *   Why a slack: reservation_dt, and a cancel's updated_at, are the clock
 *   of the instance read before its transaction began, not the moment the
 *   seat row changed hands. A hold that read its clock at t and then waited
 *   for the row lock of a cancel (or of housekeeping releasing a run-out
 *   hold) that read its clock at t' > t starts "before" the other ended,
 *   by at most the time between a clock reading and the statement that
 *   decides, which is milliseconds unless a lock or the scheduler delays it
 *   (lock waits are bounded at 2 s). A hold that takes over a run-out hold
 *   directly (seat still HELD) is exact: its UPDATE requires
 *   hold_expire_dt <= its own now. A real double hold overlaps by up to the
 *   whole hold time (BOXOFFICE_HOLD_SECONDS). The report shows how many
 *   starts fell inside the slack and the largest one.
 *
 * --self-test copies the tables into a scratch schema (inside a transaction
 * that is rolled back, so nothing is left), checks that the untouched copy
 * passes, then applies one corruption at a time (a stray history row, a
 * double CONFIRMED, overlapping holds, a lost acknowledged charge, a charge
 * applied twice, ...) and checks that each is reported by the check meant
 * to catch it. Exit 0 only if every corruption was caught. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_EXAMPLES 3

struct check_def {
  const char *id;
  const char *title;
  const char *count_sql; /* one bigint: how many things were looked at */
  const char *bad_sql;   /* one text column: one row per violation */
};

struct check_result {
  long long checked, violations;
  char examples[MAX_EXAMPLES][400];
};

/* What the load generator and the injector left in files. */
struct figures {
  char **ops; /* "op KIND OUTCOME N" lines */
  size_t n_ops;
  char **reqs; /* "req KIND OUTCOME N" lines */
  size_t n_reqs;
  char **faults; /* "fault KIND N" lines */
  size_t n_faults;
  long long load_ms, seconds_planned, vus, seed;
  long long samples, sample_errors, max_live, max_card, max_waiting,
      samples_at_max;
  bool have_counts;
  long long record_lines, anomalies;
  char anomaly_text[MAX_EXAMPLES][400];
};

static const char *db_url, *record_path, *counts_path, *faults_path;
static long long active_max = 20, slack_ms = 1000;

/* ---- libpq helpers ----------------------------------------------------- */

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt,
                                                                ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "soak_check: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static void exec_ok(PGconn *c, const char *sql) {
  PGresult *r = PQexec(c, sql);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    die("%s\n  in: %.300s", PQerrorMessage(c), sql);
  PQclear(r);
}

static long long query_ll(PGconn *c, const char *sql) {
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
    die("%s\n  in: %.300s", PQerrorMessage(c), sql);
  long long v = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), 0, 10);
  PQclear(r);
  return v;
}

static void run_check(PGconn *c, const struct check_def *d,
                      struct check_result *out) {
  memset(out, 0, sizeof *out);
  out->checked = query_ll(c, d->count_sql);
  PGresult *r = PQexec(c, d->bad_sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    die("check %s: %s", d->id, PQerrorMessage(c));
  out->violations = PQntuples(r);
  for (int i = 0; i < PQntuples(r) && i < MAX_EXAMPLES; i++)
    snprintf(out->examples[i], sizeof out->examples[i], "%s",
             PQgetvalue(r, i, 0));
  PQclear(r);
}

/* ---- The checks -------------------------------------------------------- */

/* The end of a reservation's hold, in ms (see S6 in the header). */
#define HOLD_END                                                               \
  "CASE reservation_status WHEN 'CONFIRMED' THEN 9223372036854775807 "         \
  "WHEN 'CANCELLED' THEN bo_ms(updated_at) "                                   \
  "ELSE bo_ms(reservation_expire_dt) END"

#define SEATS_BY_START                                                         \
  "SELECT reservation_id, seat_id, reservation_status, "                       \
  "bo_ms(reservation_dt) AS s, max(" HOLD_END ") OVER (PARTITION BY seat_id "  \
  "ORDER BY reservation_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) " \
  "AS prev_end FROM reservation"

static const struct check_def checks[] = {
    {"B1", "balance = charges - uses + refunds, per user",
     "SELECT count(*) FROM point",
     "SELECT format('user %s: balance %s, history sums to %s', p.user_id, "
     "p.point, coalesce(s.total, 0)) FROM point p LEFT JOIN (SELECT point_id, "
     "sum(CASE type WHEN 'USE' THEN -amount ELSE amount END) AS total "
     "FROM point_history GROUP BY point_id) s USING (point_id) "
     "WHERE coalesce(s.total, 0) <> p.point ORDER BY p.user_id"},
    {"B2", "newest history row's balance after = balance",
     "SELECT count(*) FROM point",
     "SELECT format('user %s: balance %s, newest history row %s says %s', "
     "p.user_id, p.point, h.point_history_id, h.point_after_transaction) "
     "FROM point p LEFT JOIN (SELECT DISTINCT ON (point_id) point_id, "
     "point_history_id, point_after_transaction FROM point_history "
     "ORDER BY point_id, point_history_id DESC) h USING (point_id) "
     "WHERE coalesce(h.point_after_transaction, 0) <> p.point "
     "ORDER BY p.user_id"},
    {"B3", "history chains: each row = previous +/- amount",
     "SELECT count(*) FROM point_history",
     "SELECT format('history row %s (user %s, %s %s): balance after %s, the "
     "row before says %s', point_history_id, user_id, type, amount, "
     "point_after_transaction, prev) FROM (SELECT h.*, p.user_id, "
     "lag(h.point_after_transaction, 1, 0::bigint) OVER (PARTITION BY "
     "h.point_id ORDER BY h.point_history_id) AS prev FROM point_history h "
     "JOIN point p USING (point_id)) x WHERE point_after_transaction <> prev + "
     "CASE type WHEN 'USE' THEN -amount ELSE amount END "
     "ORDER BY point_history_id"},
    {"B4", "every CHARGE row has exactly one key, every key its row",
     "SELECT (SELECT count(*) FROM point_history WHERE type = 'CHARGE') + "
     "(SELECT count(*) FROM idempotency_key WHERE scope = 'CHARGE')",
     "SELECT format('CHARGE row %s (user %s, amount %s) is the result of %s "
     "idempotency records (applied twice?)', h.point_history_id, p.user_id, "
     "h.amount, count(k.idem_key)) FROM point_history h JOIN point p "
     "USING (point_id) LEFT JOIN idempotency_key k ON k.scope = 'CHARGE' "
     "AND k.user_id = p.user_id AND k.result_id = h.point_history_id "
     "WHERE h.type = 'CHARGE' GROUP BY h.point_history_id, p.user_id, "
     "h.amount HAVING count(k.idem_key) <> 1 "
     "UNION ALL SELECT format('CHARGE key %s of user %s names history row "
     "%s: %s', k.idem_key, k.user_id, k.result_id, "
     "coalesce(h.type || ' of user ' || p.user_id, 'missing')) "
     "FROM idempotency_key k LEFT JOIN point_history h "
     "ON h.point_history_id = k.result_id LEFT JOIN point p USING (point_id) "
     "WHERE k.scope = 'CHARGE' AND (h.point_history_id IS NULL OR "
     "h.type <> 'CHARGE' OR p.user_id <> k.user_id)"},
    {"B5", "USE rows = payments (user, amount, balance after)",
     "SELECT (SELECT count(*) FROM point_history WHERE type = 'USE') + "
     "(SELECT count(*) FROM payment)",
     "SELECT format('USE row %s (user %s, amount %s, after %s): payment %s "
     "%s', h.point_history_id, p.user_id, h.amount, "
     "h.point_after_transaction, h.payment_id, coalesce(format('of user %s, "
     "amount %s, balance after %s', y.user_id, y.amount, y.balance_after), "
     "'missing')) FROM point_history h JOIN point p USING (point_id) "
     "LEFT JOIN payment y ON y.payment_id = h.payment_id "
     "WHERE h.type = 'USE' AND (y.payment_id IS NULL OR y.user_id <> "
     "p.user_id OR y.amount <> h.amount OR y.balance_after <> "
     "h.point_after_transaction) "
     "UNION ALL SELECT format('payment %s (amount %s) has %s USE rows', "
     "y.payment_id, y.amount, count(h.point_history_id)) FROM payment y "
     "LEFT JOIN point_history h ON h.payment_id = y.payment_id AND "
     "h.type = 'USE' GROUP BY y.payment_id, y.amount "
     "HAVING count(h.point_history_id) <> CASE WHEN y.amount > 0 THEN 1 "
     "ELSE 0 END "
     "UNION ALL SELECT format('%s row %s names payment %s', type, "
     "point_history_id, payment_id) FROM point_history "
     "WHERE type <> 'USE' AND payment_id IS NOT NULL"},
    {"B6", "every payment has exactly one key, every key its payment",
     "SELECT (SELECT count(*) FROM payment) + "
     "(SELECT count(*) FROM idempotency_key WHERE scope = 'PAYMENT')",
     "SELECT format('payment %s (user %s, reservation %s) is the result of "
     "%s idempotency records', y.payment_id, y.user_id, y.reservation_id, "
     "count(k.idem_key)) FROM payment y LEFT JOIN idempotency_key k "
     "ON k.scope = 'PAYMENT' AND k.user_id = y.user_id "
     "AND k.result_id = y.payment_id GROUP BY y.payment_id, y.user_id, "
     "y.reservation_id HAVING count(k.idem_key) <> 1 "
     "UNION ALL SELECT format('PAYMENT key %s of user %s names payment %s: "
     "%s', k.idem_key, k.user_id, k.result_id, coalesce('of user ' || "
     "y.user_id, 'missing')) FROM idempotency_key k LEFT JOIN payment y "
     "ON y.payment_id = k.result_id WHERE k.scope = 'PAYMENT' AND "
     "(y.payment_id IS NULL OR y.user_id <> k.user_id)"},
    {"A1", "every acknowledged charge is there, once",
     "SELECT count(*) FROM ack_charge",
     "SELECT format('charge %s of user %s (amount %s, answered balance %s): "
     "%s', a.idem_key, a.user_id, a.amount, a.balance, CASE WHEN k.idem_key "
     "IS NULL THEN 'no idempotency record' WHEN h.point_history_id IS NULL "
     "THEN format('history row %s is missing', k.result_id) ELSE "
     "format('history row %s is %s %s, balance after %s, of user %s', "
     "h.point_history_id, h.type, h.amount, h.point_after_transaction, "
     "p.user_id) END) FROM ack_charge a LEFT JOIN idempotency_key k "
     "ON k.user_id = a.user_id AND k.scope = 'CHARGE' AND "
     "k.idem_key = a.idem_key LEFT JOIN point_history h "
     "ON h.point_history_id = k.result_id LEFT JOIN point p "
     "ON p.point_id = h.point_id WHERE h.point_history_id IS NULL OR "
     "h.type <> 'CHARGE' OR h.amount <> a.amount OR "
     "h.point_after_transaction <> a.balance OR p.user_id <> a.user_id "
     "UNION ALL SELECT format('charge key %s of user %s acknowledged %s "
     "times', idem_key, user_id, count(*)) FROM ack_charge "
     "GROUP BY idem_key, user_id HAVING count(*) > 1"},
    {"A2", "every acknowledged payment is there, once",
     "SELECT count(*) FROM ack_payment",
     "SELECT format('payment %s (user %s, reservation %s, amount %s, balance "
     "%s, key %s): %s', a.payment_id, a.user_id, a.reservation_id, a.amount, "
     "a.balance, a.idem_key, CASE WHEN y.payment_id IS NULL THEN 'missing' "
     "ELSE format('stored as user %s, reservation %s, amount %s, balance "
     "%s, %s; reservation %s; key names payment %s', y.user_id, "
     "y.reservation_id, y.amount, y.balance_after, y.payment_status, "
     "r.reservation_status, k.result_id) END) FROM ack_payment a "
     "LEFT JOIN payment y ON y.payment_id = a.payment_id "
     "LEFT JOIN reservation r ON r.reservation_id = a.reservation_id "
     "LEFT JOIN idempotency_key k ON k.user_id = a.user_id AND "
     "k.scope = 'PAYMENT' AND k.idem_key = a.idem_key "
     "WHERE y.payment_id IS NULL OR y.user_id <> a.user_id OR "
     "y.reservation_id <> a.reservation_id OR y.amount <> a.amount OR "
     "y.balance_after <> a.balance OR y.payment_status <> 'COMPLETED' OR "
     "r.reservation_status IS DISTINCT FROM 'CONFIRMED' OR "
     "k.result_id IS DISTINCT FROM a.payment_id "
     "UNION ALL SELECT format('reservation %s acknowledged as paid %s "
     "times', reservation_id, count(*)) FROM ack_payment "
     "GROUP BY reservation_id HAVING count(*) > 1"},
    {"A3", "every acknowledged hold is there", "SELECT count(*) FROM ack_hold",
     "SELECT format('hold %s (user %s, schedule %s seat %s, price %s): %s', "
     "a.reservation_id, a.user_id, a.schedule_id, a.seat_num, a.price, "
     "coalesce(format('stored as user %s, schedule %s seat %s, price %s', "
     "r.user_id, c.concert_schedule_id, c.seat_num, r.price), 'missing')) "
     "FROM ack_hold a LEFT JOIN reservation r "
     "ON r.reservation_id = a.reservation_id LEFT JOIN concert_seat c "
     "ON c.seat_id = r.seat_id WHERE r.reservation_id IS NULL OR "
     "r.user_id <> a.user_id OR c.concert_schedule_id IS DISTINCT FROM "
     "a.schedule_id OR c.seat_num IS DISTINCT FROM a.seat_num OR "
     "r.price <> a.price"},
    {"A4", "every acknowledged cancel left the reservation CANCELLED",
     "SELECT count(*) FROM ack_cancel",
     "SELECT format('cancelled reservation %s of user %s is %s', "
     "a.reservation_id, a.user_id, coalesce(r.reservation_status || ' of "
     "user ' || r.user_id, 'missing')) FROM ack_cancel a LEFT JOIN "
     "reservation r USING (reservation_id) WHERE r.reservation_status IS "
     "DISTINCT FROM 'CANCELLED' OR r.user_id <> a.user_id"},
    {"A5", "a finally refused charge or payment left nothing",
     "SELECT count(*) FROM ack_refused",
     "SELECT format('%s with key %s of user %s was refused (%s) yet %s', "
     "CASE a.scope WHEN 'CHARGE' THEN 'charge' ELSE 'payment of "
     "reservation ' || a.reservation_id END, a.idem_key, a.user_id, "
     "a.label, CASE WHEN k.idem_key IS NOT NULL THEN 'its key has a record' "
     "ELSE format('reservation %s has payment %s', a.reservation_id, "
     "y.payment_id) END) FROM ack_refused a LEFT JOIN idempotency_key k "
     "ON k.user_id = a.user_id AND k.scope = a.scope AND "
     "k.idem_key = a.idem_key LEFT JOIN payment y "
     "ON a.scope = 'PAYMENT' AND y.reservation_id = a.reservation_id "
     "WHERE k.idem_key IS NOT NULL OR y.payment_id IS NOT NULL"},
    {"S1", "at most one CONFIRMED reservation per seat",
     "SELECT count(*) FROM concert_seat",
     "SELECT format('seat %s has %s CONFIRMED reservations: %s', seat_id, "
     "count(*), string_agg(reservation_id::text, ', ' ORDER BY "
     "reservation_id)) FROM reservation WHERE reservation_status = "
     "'CONFIRMED' GROUP BY seat_id HAVING count(*) > 1"},
    {"S2", "SOLD seat = one CONFIRMED + one COMPLETED payment",
     "SELECT count(*) FROM concert_seat",
     "SELECT format('seat %s (schedule %s #%s) is %s with %s CONFIRMED "
     "reservation(s) and %s payment(s) of them', c.seat_id, "
     "c.concert_schedule_id, c.seat_num, c.seat_status, "
     "count(DISTINCT r.reservation_id), count(y.payment_id)) "
     "FROM concert_seat c LEFT JOIN reservation r ON r.seat_id = c.seat_id "
     "AND r.reservation_status = 'CONFIRMED' LEFT JOIN payment y "
     "ON y.reservation_id = r.reservation_id GROUP BY c.seat_id, "
     "c.concert_schedule_id, c.seat_num, c.seat_status "
     "HAVING CASE WHEN c.seat_status = 'SOLD' THEN NOT "
     "(count(DISTINCT r.reservation_id) = 1 AND count(y.payment_id) = 1 AND "
     "coalesce(bool_and(y.payment_status = 'COMPLETED'), false)) "
     "ELSE count(r.reservation_id) > 0 END ORDER BY c.seat_id"},
    {"S3", "payment = its CONFIRMED reservation (user, price), once",
     "SELECT count(*) FROM payment",
     "SELECT format('payment %s (user %s, amount %s) for reservation %s: %s', "
     "y.payment_id, y.user_id, y.amount, y.reservation_id, "
     "coalesce(format('%s, user %s, price %s', r.reservation_status, "
     "r.user_id, r.price), 'missing')) FROM payment y LEFT JOIN reservation "
     "r USING (reservation_id) WHERE r.reservation_id IS NULL OR "
     "r.reservation_status <> 'CONFIRMED' OR r.user_id <> y.user_id OR "
     "r.price <> y.amount "
     "UNION ALL SELECT format('reservation %s has %s payments', "
     "reservation_id, count(*)) FROM payment GROUP BY reservation_id "
     "HAVING count(*) > 1"},
    {"S4", "live holds: seat and reservation agree",
     "SELECT (SELECT count(*) FROM concert_seat WHERE seat_status = 'HELD') "
     "+ (SELECT count(*) FROM reservation WHERE reservation_status = "
     "'HELD')",
     "SELECT format('seat %s HELD by user %s until %s has %s matching HELD "
     "reservation(s)', c.seat_id, c.hold_user_id, c.hold_expire_dt, "
     "count(r.reservation_id)) FROM concert_seat c LEFT JOIN reservation r "
     "ON r.seat_id = c.seat_id AND r.reservation_status = 'HELD' AND "
     "r.user_id = c.hold_user_id AND r.reservation_expire_dt = "
     "c.hold_expire_dt WHERE c.seat_status = 'HELD' AND c.hold_expire_dt > "
     "now() GROUP BY c.seat_id, c.hold_user_id, c.hold_expire_dt "
     "HAVING count(r.reservation_id) <> 1 "
     "UNION ALL SELECT format('reservation %s HELD by user %s until %s, but "
     "its seat %s is %s (user %s, until %s)', r.reservation_id, r.user_id, "
     "r.reservation_expire_dt, c.seat_id, c.seat_status, c.hold_user_id, "
     "c.hold_expire_dt) FROM reservation r JOIN concert_seat c "
     "USING (seat_id) WHERE r.reservation_status = 'HELD' AND "
     "r.reservation_expire_dt > now() AND (c.seat_status <> 'HELD' OR "
     "c.hold_user_id IS DISTINCT FROM r.user_id OR c.hold_expire_dt IS "
     "DISTINCT FROM r.reservation_expire_dt)"},
    {"S5", "state agrees with times (paid/cancelled live, expired late)",
     "SELECT count(*) FROM reservation WHERE reservation_status <> 'HELD'",
     "SELECT format('reservation %s is %s at %s, its hold ran out at %s', "
     "reservation_id, reservation_status, updated_at, "
     "reservation_expire_dt) FROM reservation WHERE "
     "(reservation_status IN ('CONFIRMED', 'CANCELLED') AND updated_at >= "
     "reservation_expire_dt) OR (reservation_status = 'EXPIRED' AND "
     "updated_at < reservation_expire_dt) ORDER BY reservation_id"},
    {"S6", "no seat held by two reservations at once",
     "SELECT count(*) FROM reservation",
     "SELECT format('seat %s: reservation %s (%s) began at %s ms, but an "
     "earlier reservation of the seat held it until %s', seat_id, "
     "reservation_id, reservation_status, s, CASE WHEN prev_end = "
     "9223372036854775807 THEN 'forever (CONFIRMED)' ELSE prev_end || ' ms' "
     "END) FROM (" SEATS_BY_START ") x WHERE s < prev_end - "
     "current_setting('soak.slack_ms')::bigint ORDER BY seat_id, "
     "reservation_id"},
};
#define N_CHECKS (sizeof checks / sizeof checks[0])

/* ---- Inputs ------------------------------------------------------------ */

static char *trim_nl(char *s) {
  s[strcspn(s, "\r\n")] = '\0';
  return s;
}

static void push(char ***list, size_t *n, const char *line) {
  char **bigger = realloc(*list, (*n + 1) * sizeof **list);
  if (!bigger)
    die("out of memory");
  *list = bigger;
  (*list)[(*n)++] = strdup(line);
}

static void free_figures(struct figures *f) {
  char **lists[] = {f->ops, f->reqs, f->faults};
  size_t sizes[] = {f->n_ops, f->n_reqs, f->n_faults};
  for (size_t l = 0; l < 3; l++) {
    for (size_t i = 0; i < sizes[l]; i++)
      free(lists[l][i]);
    free(lists[l]);
  }
  memset(f, 0, sizeof *f);
}

static void read_counts(struct figures *f) {
  FILE *in = counts_path ? fopen(counts_path, "r") : NULL;
  if (!in)
    return;
  f->have_counts = true;
  char line[512], name[128];
  long long v;
  while (fgets(line, sizeof line, in)) {
    trim_nl(line);
    if (strncmp(line, "op ", 3) == 0)
      push(&f->ops, &f->n_ops, line + 3);
    else if (strncmp(line, "req ", 4) == 0)
      push(&f->reqs, &f->n_reqs, line + 4);
    else if (sscanf(line, "stat %127s %lld", name, &v) == 2) {
      struct {
        const char *name;
        long long *to;
      } stats[] = {
          {"load_ms", &f->load_ms},
          {"seconds_planned", &f->seconds_planned},
          {"vus", &f->vus},
          {"seed", &f->seed},
          {"sampler_samples", &f->samples},
          {"sampler_errors", &f->sample_errors},
          {"sampler_max_live_active", &f->max_live},
          {"sampler_max_zcard_active", &f->max_card},
          {"sampler_max_waiting", &f->max_waiting},
          {"sampler_samples_at_active_max", &f->samples_at_max},
      };
      for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++)
        if (strcmp(stats[i].name, name) == 0)
          *stats[i].to = v;
    }
  }
  fclose(in);
}

static void read_faults(struct figures *f) {
  FILE *in = faults_path ? fopen(faults_path, "r") : NULL;
  if (!in)
    return;
  char line[512];
  while (fgets(line, sizeof line, in)) {
    trim_nl(line);
    if (strncmp(line, "fault ", 6) == 0)
      push(&f->faults, &f->n_faults, line + 6);
  }
  fclose(in);
}

/* COPY rows into a temporary table. */
struct copy {
  PGconn *c;
  const char *table;
  bool open;
};

__attribute__((format(printf, 2, 3))) static void
copy_row(struct copy *cp, const char *fmt, ...) {
  if (!cp->open) {
    char sql[160];
    snprintf(sql, sizeof sql, "COPY %s FROM STDIN", cp->table);
    PGresult *r = PQexec(cp->c, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
      die("%s: %s", sql, PQerrorMessage(cp->c));
    PQclear(r);
    cp->open = true;
  }
  char row[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(row, sizeof row, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof row || PQputCopyData(cp->c, row, n) != 1)
    die("COPY %s: %s", cp->table, PQerrorMessage(cp->c));
}

static void copy_end(struct copy *cp) {
  if (!cp->open)
    return;
  if (PQputCopyEnd(cp->c, NULL) != 1)
    die("COPY %s: %s", cp->table, PQerrorMessage(cp->c));
  PGresult *r = PQgetResult(cp->c);
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    die("COPY %s: %s", cp->table, PQerrorMessage(cp->c));
  PQclear(r);
  while ((r = PQgetResult(cp->c)))
    PQclear(r);
  cp->open = false;
}

static bool safe_word(const char *s) { /* keys and labels go into COPY text */
  for (; *s; s++)
    if (*s == '\t' || *s == '\\' || *s == '\n')
      return false;
  return true;
}

/* The record into temporary tables ack_charge, ack_payment, ack_hold,
 * ack_cancel, ack_refused; anomalies into the figures. */
static void load_record(PGconn *c, struct figures *f) {
  exec_ok(c, "CREATE TEMP TABLE ack_charge (user_id bigint, idem_key text, "
             "amount bigint, balance bigint);"
             "CREATE TEMP TABLE ack_payment (user_id bigint, reservation_id "
             "bigint, payment_id bigint, amount bigint, idem_key text, "
             "balance bigint);"
             "CREATE TEMP TABLE ack_hold (reservation_id bigint, user_id "
             "bigint, schedule_id bigint, seat_num integer, price bigint);"
             "CREATE TEMP TABLE ack_cancel (reservation_id bigint, user_id "
             "bigint);"
             "CREATE TEMP TABLE ack_refused (scope text, user_id bigint, "
             "idem_key text, reservation_id bigint, amount bigint, "
             "label text)");
  FILE *in = fopen(record_path, "r");
  if (!in)
    die("cannot read the record %s", record_path);
  char line[1024], key[300], label[100], scope;
  long long a, b, d, e, h;
  int seat;
  /* One COPY at a time per connection: one pass per table. */
  const char *tables[] = {"ack_charge", "ack_payment", "ack_hold", "ack_cancel",
                          "ack_refused"};
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
    rewind(in);
    struct copy cp = {c, tables[t], false};
    while (fgets(line, sizeof line, in)) {
      trim_nl(line);
      if (t == 0) {
        f->record_lines++;
        if (line[0] == 'A' && line[1] == ' ') {
          if (f->anomalies < MAX_EXAMPLES)
            snprintf(f->anomaly_text[f->anomalies], 400, "%.399s", line + 2);
          f->anomalies++;
        }
      }
      if (t == 0 &&
          sscanf(line, "C %lld %299s %lld %lld", &a, key, &b, &d) == 4 &&
          safe_word(key))
        copy_row(&cp, "%lld\t%s\t%lld\t%lld\n", a, key, b, d);
      else if (t == 1 &&
               sscanf(line, "P %lld %lld %lld %lld %299s %lld", &a, &b, &d, &e,
                      key, &h) == 6 &&
               safe_word(key))
        copy_row(&cp, "%lld\t%lld\t%lld\t%lld\t%s\t%lld\n", a, b, d, e, key, h);
      else if (t == 2 && sscanf(line, "H %lld %lld %lld %d %lld", &a, &b, &d,
                                &seat, &e) == 5)
        copy_row(&cp, "%lld\t%lld\t%lld\t%d\t%lld\n", a, b, d, seat, e);
      else if (t == 3 && sscanf(line, "X %lld %lld", &a, &b) == 2)
        copy_row(&cp, "%lld\t%lld\n", a, b);
      else if (t == 4 &&
               sscanf(line, "F %c %lld %299s %lld %99s", &scope, &a, key, &b,
                      label) == 5 &&
               safe_word(key) && safe_word(label)) {
        /* F C user key amount label | F P user key reservation label */
        char num[32];
        snprintf(num, sizeof num, "%lld", b);
        copy_row(&cp, "%s\t%lld\t%s\t%s\t%s\t%s\n",
                 scope == 'C' ? "CHARGE" : "PAYMENT", a, key,
                 scope == 'P' ? num : "\\N", scope == 'C' ? num : "\\N", label);
      }
    }
    copy_end(&cp);
  }
  fclose(in);
}

/* ---- Report ------------------------------------------------------------ */

static void print_ops(const struct figures *f) {
  /* Group "KIND OUTCOME N" lines by kind, in first-seen order. */
  char done[64][32];
  int n_done = 0;
  for (size_t i = 0; i < f->n_ops; i++) {
    char kind[32];
    if (sscanf(f->ops[i], "%31s", kind) != 1)
      continue;
    bool seen = false;
    for (int k = 0; k < n_done; k++)
      seen = seen || strcmp(done[k], kind) == 0;
    if (seen || n_done >= 64)
      continue;
    snprintf(done[n_done++], sizeof done[0], "%s", kind);
    printf("  %-17s", kind);
    int col = 0;
    for (size_t j = i; j < f->n_ops; j++) {
      char k2[32], rest[256];
      if (sscanf(f->ops[j], "%31s %255[^\n]", k2, rest) != 2 ||
          strcmp(k2, kind) != 0)
        continue;
      /* rest = "OUTCOME WORDS N": split off the count. */
      char *sp = strrchr(rest, ' ');
      if (!sp)
        continue;
      *sp = '\0';
      printf("%s%s %s", col++ ? ", " : "", sp + 1, rest);
    }
    printf("\n");
  }
}

static void print_requests(const struct figures *f) {
  long long total = 0, ok = 0, c4 = 0, c5 = 0, net = 0;
  for (size_t i = 0; i < f->n_reqs; i++) {
    char kind[64], outcome[128];
    long long n;
    if (sscanf(f->reqs[i], "%63s %127s %lld", kind, outcome, &n) != 3)
      continue;
    total += n;
    if (outcome[0] == '2')
      ok += n;
    else if (outcome[0] == '4')
      c4 += n;
    else if (outcome[0] == '5')
      c5 += n;
    else
      net += n;
  }
  printf("requests          %lld: 2xx %lld, 4xx %lld, 5xx %lld, no answer "
         "%lld\n",
         total, ok, c4, c5, net);
  /* 5xx and no-answer by outcome, summed over kinds. */
  char labels[32][128];
  long long sums[32];
  int n_labels = 0;
  for (size_t i = 0; i < f->n_reqs; i++) {
    char kind[64], outcome[128];
    long long n;
    if (sscanf(f->reqs[i], "%63s %127s %lld", kind, outcome, &n) != 3 ||
        outcome[0] == '2' || outcome[0] == '4')
      continue;
    int k;
    for (k = 0; k < n_labels && strcmp(labels[k], outcome) != 0; k++) {
    }
    if (k == n_labels && n_labels < 32) {
      snprintf(labels[n_labels], sizeof labels[0], "%s", outcome);
      sums[n_labels++] = 0;
    }
    if (k < 32)
      sums[k] += n;
  }
  if (n_labels) {
    printf("  failed answers  ");
    for (int k = 0; k < n_labels; k++)
      printf("%s%s %lld", k ? ", " : "", labels[k], sums[k]);
    printf("\n");
  }
}

static void print_db_totals(PGconn *c) {
  printf("database          users %lld, history rows %lld (CHARGE %lld, USE "
         "%lld, REFUND %lld), payments %lld\n",
         query_ll(c, "SELECT count(*) FROM users"),
         query_ll(c, "SELECT count(*) FROM point_history"),
         query_ll(c, "SELECT count(*) FROM point_history WHERE type = "
                     "'CHARGE'"),
         query_ll(c, "SELECT count(*) FROM point_history WHERE type = 'USE'"),
         query_ll(c, "SELECT count(*) FROM point_history WHERE type = "
                     "'REFUND'"),
         query_ll(c, "SELECT count(*) FROM payment"));
  printf("                  reservations %lld (HELD %lld, CONFIRMED %lld, "
         "CANCELLED %lld, EXPIRED %lld), seats %lld (SOLD %lld)\n",
         query_ll(c, "SELECT count(*) FROM reservation"),
         query_ll(c, "SELECT count(*) FROM reservation WHERE "
                     "reservation_status = 'HELD'"),
         query_ll(c, "SELECT count(*) FROM reservation WHERE "
                     "reservation_status = 'CONFIRMED'"),
         query_ll(c, "SELECT count(*) FROM reservation WHERE "
                     "reservation_status = 'CANCELLED'"),
         query_ll(c, "SELECT count(*) FROM reservation WHERE "
                     "reservation_status = 'EXPIRED'"),
         query_ll(c, "SELECT count(*) FROM concert_seat"),
         query_ll(c, "SELECT count(*) FROM concert_seat WHERE seat_status = "
                     "'SOLD'"));
}

/* S6's near misses: starts inside the slack, and the largest. */
static void print_slack(PGconn *c) {
  long long close_calls = query_ll(
      c, "SELECT count(*) FROM (" SEATS_BY_START ") x WHERE s < prev_end "
         "AND s >= prev_end - current_setting('soak.slack_ms')::bigint");
  long long worst =
      query_ll(c, "SELECT coalesce(max(prev_end - s), 0) FROM (" SEATS_BY_START
                  ") x WHERE s < prev_end AND prev_end < 9223372036854775807");
  long long takeovers =
      query_ll(c, "SELECT count(*) FROM (" SEATS_BY_START ") x WHERE "
                  "prev_end IS NOT NULL");
  printf("  S6 detail: %lld reservations followed an earlier one of their "
         "seat; %lld began inside the %lld ms slack (largest %lld ms)\n",
         takeovers, close_calls, slack_ms, worst);
}

/* Runs every check (and the two queue checks) into results[]; returns the
 * number of violations. */
struct queue_input {
  long long samples, max_live, max_card, anomalies;
};

static long long all_checks(PGconn *c, const struct queue_input *q,
                            struct check_result *results,
                            struct check_result *qres) {
  long long total = 0;
  for (size_t i = 0; i < N_CHECKS; i++) {
    run_check(c, &checks[i], &results[i]);
    total += results[i].violations;
  }
  /* Q1, Q2, A6: from the files, not the database. */
  memset(qres, 0, 3 * sizeof *qres);
  qres[0].checked = q->samples;
  if (q->samples == 0) {
    qres[0].violations = 1;
    snprintf(qres[0].examples[0], sizeof qres[0].examples[0],
             "the sampler took no sample");
  } else if (q->max_live > active_max) {
    qres[0].violations = 1;
    snprintf(qres[0].examples[0], sizeof qres[0].examples[0],
             "%lld ACTIVE tokens with time left at once, activeMax %lld",
             q->max_live, active_max);
  }
  qres[1].checked = q->samples;
  if (q->max_card > active_max) {
    qres[1].violations = 1;
    snprintf(qres[1].examples[0], sizeof qres[1].examples[0],
             "ZCARD of the active set reached %lld, activeMax %lld",
             q->max_card, active_max);
  }
  qres[2].violations = q->anomalies;
  total += qres[0].violations + qres[1].violations + qres[2].violations;
  return total;
}

static const char *const queue_ids[] = {"Q1", "Q2", "A6"};
static const char *const queue_titles[] = {
    "sampled ACTIVE (expiry > now) <= activeMax",
    "sampled ZCARD bo:{q}:active <= activeMax",
    "no broken promise seen by the client"};

static void print_check(const char *id, const char *title,
                        const struct check_result *r) {
  printf("  %-3s %-58s %9lld %10lld\n", id, title, r->checked, r->violations);
  for (int i = 0; i < MAX_EXAMPLES && i < r->violations; i++)
    if (r->examples[i][0])
      printf("        ! %s\n", r->examples[i]);
}

static void set_slack(PGconn *c) {
  char sql[96];
  snprintf(sql, sizeof sql, "SET soak.slack_ms = %lld", slack_ms);
  exec_ok(c, sql);
}

static PGconn *connect_db(void) {
  for (int attempt = 0; attempt < 60; attempt++) {
    PGconn *c = PQconnectdb(db_url);
    if (PQstatus(c) == CONNECTION_OK) {
      exec_ok(c, "SET client_min_messages = warning");
      return c;
    }
    if (attempt == 59)
      die("cannot connect: %s", PQerrorMessage(c));
    PQfinish(c);
    sleep(1);
  }
  return NULL;
}

static int check_main(void) {
  struct figures f = {0};
  read_counts(&f);
  read_faults(&f);
  PGconn *c = connect_db();
  set_slack(c);
  load_record(c, &f);
  exec_ok(c, "BEGIN ISOLATION LEVEL REPEATABLE READ");
  struct check_result results[N_CHECKS], qres[3];
  struct queue_input q = {f.samples, f.max_live, f.max_card, f.anomalies};
  long long violations = all_checks(c, &q, results, qres);
  for (int i = 0; i < MAX_EXAMPLES && i < f.anomalies; i++)
    snprintf(qres[2].examples[i], sizeof qres[2].examples[i], "%s",
             f.anomaly_text[i]);
  qres[2].checked = f.record_lines;

  printf("\n==== boxoffice chaos soak: invariant report "
         "====================================\n");
  if (f.have_counts)
    printf("duration          %.1f s of load (%lld s planned + settling), "
           "%lld virtual users, seed %lld\n",
           (double)f.load_ms / 1000, f.seconds_planned, f.vus, f.seed);
  printf("operations        (by kind: count outcome, ...)\n");
  print_ops(&f);
  print_requests(&f);
  printf("faults            ");
  long long n_faults = 0;
  for (size_t i = 0; i < f.n_faults; i++) {
    char kind[64];
    long long n;
    if (sscanf(f.faults[i], "%63s %lld", kind, &n) == 2) {
      printf("%s%s %lld", i ? ", " : "", kind, n);
      if (strstr(kind, "failed") == NULL)
        n_faults += n;
    }
  }
  printf("%s(%lld injected)\n", f.n_faults ? " " : "none ", n_faults);
  printf("queue             %lld samples (%lld failed while Redis was away), "
         "max ACTIVE %lld of activeMax %lld (%lld samples at the cap), max "
         "waiting %lld\n",
         f.samples, f.sample_errors, f.max_live, active_max, f.samples_at_max,
         f.max_waiting);
  print_db_totals(c);
  printf("checks%67s %10s\n", "checked", "violations");
  for (size_t i = 0; i < N_CHECKS; i++) {
    print_check(checks[i].id, checks[i].title, &results[i]);
    if (strcmp(checks[i].id, "S6") == 0)
      print_slack(c);
  }
  for (int i = 0; i < 3; i++)
    print_check(queue_ids[i], queue_titles[i], &qres[i]);
  exec_ok(c, "COMMIT");
  printf("VIOLATIONS        %lld\n", violations);
  printf("=============================================================="
         "==================\n");
  PQfinish(c);
  free_figures(&f);
  return violations ? 1 : 0;
}

/* ---- Self-test --------------------------------------------------------- */

struct corruption {
  const char *what;
  const char *expect; /* check ids that must report it, space separated */
  const char *sql;    /* run in the scratch schema; "" for file-side ones */
  int queue;          /* 1: sampler over activeMax, 2: client anomaly */
};

/* Each picks real rows of the soak (the newest of their kind) and breaks
 * them in the copy. */
static const struct corruption corruptions[] = {
    {"stray CHARGE history row (balance untouched)", "B1 B2 B4",
     "INSERT INTO point_history SELECT (SELECT max(point_history_id) + 1 "
     "FROM point_history), h.point_id, 1000, h.point_after_transaction + "
     "1000, 'CHARGE', NULL, h.status, h.created_at, h.updated_at "
     "FROM point_history h ORDER BY h.point_history_id DESC LIMIT 1",
     0},
    {"double CONFIRMED: a second sale of a sold seat", "S1 S2 S6",
     "INSERT INTO reservation SELECT (SELECT max(reservation_id) + 1 FROM "
     "reservation), r.user_id, r.seat_id, r.reservation_dt + interval '1 "
     "s', r.reservation_expire_dt + interval '1 s', 'CONFIRMED', r.price, "
     "r.status, r.created_at, r.updated_at + interval '1 s' FROM reservation "
     "r WHERE r.reservation_status = 'CONFIRMED' ORDER BY r.reservation_id "
     "DESC LIMIT 1",
     0},
    {"overlapping holds: a hold that began inside another's", "S6",
     "INSERT INTO reservation SELECT (SELECT max(reservation_id) + 1 FROM "
     "reservation), r.user_id, r.seat_id, r.reservation_dt + interval '1 "
     "s', r.reservation_expire_dt + interval '1 s', 'EXPIRED', r.price, "
     "r.status, r.created_at, r.reservation_expire_dt + interval '2 s' "
     "FROM reservation r WHERE r.reservation_status = 'EXPIRED' AND NOT "
     "EXISTS (SELECT 1 FROM reservation r2 WHERE r2.seat_id = r.seat_id AND "
     "r2.reservation_id > r.reservation_id) ORDER BY r.reservation_id DESC "
     "LIMIT 1",
     0},
    {"acknowledged charge lost (its history row deleted)", "A1 B1 B4",
     "DELETE FROM point_history WHERE point_history_id = (SELECT "
     "k.result_id FROM ack_charge a JOIN idempotency_key k ON k.user_id = "
     "a.user_id AND k.scope = 'CHARGE' AND k.idem_key = a.idem_key ORDER BY "
     "k.result_id DESC LIMIT 1)",
     0},
    {"charge applied twice (balance and chain made consistent)", "B4",
     "WITH h AS (SELECT h.* FROM point_history h WHERE h.type = 'CHARGE' "
     "ORDER BY h.point_history_id DESC LIMIT 1), last AS (SELECT "
     "l.point_after_transaction FROM point_history l, h WHERE l.point_id = "
     "h.point_id ORDER BY l.point_history_id DESC LIMIT 1), ins AS (INSERT "
     "INTO point_history SELECT (SELECT max(point_history_id) + 1 FROM "
     "point_history), h.point_id, h.amount, last.point_after_transaction + "
     "h.amount, 'CHARGE', NULL, h.status, h.created_at, h.updated_at FROM "
     "h, last) UPDATE point p SET point = last.point_after_transaction + "
     "h.amount FROM h, last WHERE p.point_id = h.point_id",
     0},
    {"acknowledged payment lost (payment row deleted)", "A2 B5 B6 S2",
     "DELETE FROM payment WHERE payment_id = (SELECT max(payment_id) FROM "
     "ack_payment)",
     0},
    {"payment amount altered", "A2 B5 S3",
     "UPDATE payment SET amount = amount + 1 WHERE payment_id = (SELECT "
     "max(payment_id) FROM ack_payment)",
     0},
    {"SOLD seat nobody paid for", "S2",
     "UPDATE concert_seat SET seat_status = 'SOLD' WHERE seat_id = (SELECT "
     "max(seat_id) FROM concert_seat WHERE seat_status = 'AVAILABLE')",
     0},
    {"CONFIRMED reservation whose seat is not SOLD", "S2",
     "UPDATE concert_seat SET seat_status = 'AVAILABLE' WHERE seat_id = "
     "(SELECT seat_id FROM reservation WHERE reservation_status = "
     "'CONFIRMED' ORDER BY reservation_id DESC LIMIT 1)",
     0},
    {"balance off by one", "B1 B2",
     "UPDATE point SET point = point + 1 WHERE user_id = (SELECT "
     "max(user_id) FROM point)",
     0},
    {"reservation EXPIRED before its hold ran out", "S5",
     "UPDATE reservation SET updated_at = reservation_expire_dt - interval "
     "'1 s' WHERE reservation_id = (SELECT max(reservation_id) FROM "
     "reservation WHERE reservation_status = 'EXPIRED')",
     0},
    {"acknowledged cancel not CANCELLED", "A4",
     "UPDATE reservation SET reservation_status = 'EXPIRED' WHERE "
     "reservation_id = (SELECT max(reservation_id) FROM ack_cancel)",
     0},
    {"acknowledged hold missing", "A3",
     "DELETE FROM reservation WHERE reservation_id = (SELECT "
     "max(reservation_id) FROM ack_hold)",
     0},
    {"the sampler saw activeMax + 1 ACTIVE", "Q1", "", 1},
    {"the client saw a broken promise", "A6", "", 2},
};

static bool fired(const char *id, const struct check_result *results,
                  const struct check_result *qres) {
  for (size_t i = 0; i < N_CHECKS; i++)
    if (strcmp(checks[i].id, id) == 0)
      return results[i].violations > 0;
  for (int i = 0; i < 3; i++)
    if (strcmp(queue_ids[i], id) == 0)
      return qres[i].violations > 0;
  return false;
}

static void fired_list(const struct check_result *results,
                       const struct check_result *qres, char *out,
                       size_t size) {
  out[0] = '\0';
  for (size_t i = 0; i < N_CHECKS; i++)
    if (results[i].violations > 0)
      snprintf(out + strlen(out), size - strlen(out), "%s%s(%lld)",
               out[0] ? " " : "", checks[i].id, results[i].violations);
  for (int i = 0; i < 3; i++)
    if (qres[i].violations > 0)
      snprintf(out + strlen(out), size - strlen(out), "%s%s(%lld)",
               out[0] ? " " : "", queue_ids[i], qres[i].violations);
}

static int self_test_main(void) {
  struct figures f = {0};
  read_counts(&f);
  PGconn *c = connect_db();
  set_slack(c);
  load_record(c, &f);
  /* The copy: the same tables, without their constraints, in a schema
   * that the ROLLBACK at the end takes away again. */
  exec_ok(c, "BEGIN ISOLATION LEVEL REPEATABLE READ");
  exec_ok(c, "CREATE SCHEMA soak_selftest");
  const char *tables[] = {"users",           "point",       "point_history",
                          "idempotency_key", "concert",     "concert_schedule",
                          "concert_seat",    "reservation", "payment"};
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE TABLE soak_selftest.%s AS SELECT * FROM public.%s",
             tables[i], tables[i]);
    exec_ok(c, sql);
  }
  exec_ok(c, "CREATE INDEX ON soak_selftest.reservation (seat_id);"
             "CREATE INDEX ON soak_selftest.point_history (point_id);"
             "CREATE INDEX ON soak_selftest.payment (reservation_id);"
             "ANALYZE soak_selftest.reservation, soak_selftest.point_history, "
             "soak_selftest.payment, soak_selftest.concert_seat");
  exec_ok(c, "SET LOCAL search_path = soak_selftest, public");

  struct check_result results[N_CHECKS], qres[3];
  struct queue_input clean = {f.samples ? f.samples : 1, f.max_live, f.max_card,
                              f.anomalies};
  if (clean.max_live > active_max)
    clean.max_live = active_max; /* the file-side checks start clean too */
  if (clean.max_card > active_max)
    clean.max_card = active_max;
  clean.anomalies = 0;
  char list[600];
  int failures = 0;

  printf("\n==== soak_check --self-test: each corruption must be reported "
         "=================\n");
  long long v = all_checks(c, &clean, results, qres);
  fired_list(results, qres, list, sizeof list);
  printf("  %-60s %s\n", "untouched copy of the soak's data",
         v == 0 ? "0 violations: ok" : list);
  if (v != 0)
    failures++;
  for (size_t i = 0; i < sizeof corruptions / sizeof corruptions[0]; i++) {
    const struct corruption *k = &corruptions[i];
    struct queue_input q = clean;
    if (k->queue == 1)
      q.max_live = active_max + 1;
    if (k->queue == 2)
      q.anomalies = 1;
    exec_ok(c, "SAVEPOINT corrupt");
    long long changed = 1;
    if (k->sql[0]) {
      PGresult *r = PQexec(c, k->sql);
      if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die("self-test \"%s\": %s", k->what, PQerrorMessage(c));
      changed = strtoll(PQcmdTuples(r), NULL, 10);
      PQclear(r);
    }
    all_checks(c, &q, results, qres);
    fired_list(results, qres, list, sizeof list);
    bool caught = changed > 0;
    char want[64];
    snprintf(want, sizeof want, "%s", k->expect);
    for (char *save = NULL, *id = strtok_r(want, " ", &save); id;
         id = strtok_r(NULL, " ", &save))
      caught = caught && fired(id, results, qres);
    if (!caught)
      failures++;
    printf("  %-60s %s: %s (expected %s)\n", k->what,
           changed == 0 ? "NOT APPLIED (no such rows)"
           : caught     ? "caught"
                        : "MISSED",
           list[0] ? list : "nothing reported", k->expect);
    exec_ok(c, "ROLLBACK TO SAVEPOINT corrupt");
  }
  exec_ok(c, "ROLLBACK");
  printf("self-test: %s (%d problem(s))\n", failures ? "FAILED" : "passed",
         failures);
  PQfinish(c);
  free_figures(&f);
  return failures ? 1 : 0;
}

static void usage(void) {
  fprintf(stderr, "usage: soak_check --db URL --record FILE [--counts FILE] "
                  "[--faults FILE] [--active-max N] [--slack-ms N] "
                  "[--self-test]\n");
  exit(2);
}

int main(int argc, char **argv) {
  bool self_test = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--self-test") == 0) {
      self_test = true;
      continue;
    }
    if (i + 1 >= argc)
      usage();
    const char *v = argv[++i];
    if (strcmp(a, "--db") == 0)
      db_url = v;
    else if (strcmp(a, "--record") == 0)
      record_path = v;
    else if (strcmp(a, "--counts") == 0)
      counts_path = v;
    else if (strcmp(a, "--faults") == 0)
      faults_path = v;
    else if (strcmp(a, "--active-max") == 0)
      active_max = strtoll(v, NULL, 10);
    else if (strcmp(a, "--slack-ms") == 0)
      slack_ms = strtoll(v, NULL, 10);
    else
      usage();
  }
  if (!db_url || !record_path || active_max <= 0 || slack_ms < 0)
    usage();
  return self_test ? self_test_main() : check_main();
}
