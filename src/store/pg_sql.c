/* Every statement the PostgreSQL driver runs, by id, so that the SQL can be
 * read (and reviewed against the schema) in one place. Each connection
 * prepares them on first use and keeps them (pg_exec.c). Parameters are
 * numbered as in the SQLite driver's statements, so the two tables read side
 * by side; the comment above each says what they are. Parameters travel as
 * text, so a cast says a parameter's type wherever the statement alone would
 * not.
 *
 * Times are passed in and read out as milliseconds since the epoch and
 * converted by the schema's bo_time() and bo_ms() (0001_init.sql), so C
 * never sees a timestamp's text.
 *
 * "Available at now" is written out in several statements: a seat is free
 * when it is AVAILABLE, or HELD by a hold that has run out (hold_expire_dt <=
 * now). That is what lets reads and new holds ignore stale holds without
 * waiting for housekeeping.
 *
 * Statements that could fail on a unique key or a foreign key are written so
 * that they do not: INSERT ... SELECT ... WHERE the parents exist, ON
 * CONFLICT DO NOTHING, and no row back means "missing or taken". PostgreSQL
 * aborts the whole transaction on any error, and a rule may want to go on
 * after a refusal (the booking rules, and the SQLite driver, allow it). */
#include "store/pg_internal.h"

/* The read columns of a reservation, its seat joined in. */
#define BO_PG_RESERVATION_COLUMNS                                              \
  "r.reservation_id, r.user_id, r.seat_id, c.concert_schedule_id, "            \
  "c.seat_num, r.price, bo_ms(r.reservation_dt), "                             \
  "bo_ms(r.reservation_expire_dt), r.reservation_status "

#define BO_PG_HISTORY_COLUMNS                                                  \
  "h.point_history_id, p.user_id, h.type, h.amount, "                          \
  "h.point_after_transaction, h.payment_id, bo_ms(h.created_at) "

/* A seat free at $2: AVAILABLE, or HELD by a hold that ran out. */
#define BO_PG_SEAT_FREE_AT_2                                                   \
  "(c.seat_status = 'AVAILABLE' "                                              \
  "OR (c.seat_status = 'HELD' AND c.hold_expire_dt <= bo_time($2)))"

/* The read columns of a queue_line row (pg_lines.c read_line): a NULL
 * on_sale_at (no pre-queue) reads 0, the boolean 1 or 0, the seed as 64 hex
 * digits (whatever the session's bytea_output). */
#define BO_PG_LINE_COLUMNS                                                     \
  "line_id, active_max, admit_per_minute, coalesce(bo_ms(on_sale_at), 0), "    \
  "inventory_factor_pct, paused::integer, encode(seed, 'hex'), "               \
  "bo_ms(created_at) "

/* A seat map's row (pg_catalog.c read_seat): status as of $2, and when a
 * live hold runs out (0 for no live hold). For `concert_seat c`. */
#define BO_PG_SEAT_ROW_AT_2                                                    \
  "SELECT c.seat_id, c.concert_schedule_id, c.seat_num, c.price, "             \
  "CASE WHEN " BO_PG_SEAT_FREE_AT_2 " THEN 'AVAILABLE' "                       \
  "ELSE c.seat_status END, "                                                   \
  "CASE WHEN " BO_PG_SEAT_FREE_AT_2 " OR c.seat_status <> 'HELD' "             \
  "THEN 0 ELSE bo_ms(c.hold_expire_dt) END "

const char *const bo_pg_sql[BO_PG_STMT__COUNT] = {
    /* The isolation level is spelled out so that a server whose default is
     * another one cannot change what pg_tx.c explains. */
    [BO_PG_BEGIN_READ] = "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY",
    [BO_PG_BEGIN_WRITE] = "BEGIN ISOLATION LEVEL READ COMMITTED",
    [BO_PG_COMMIT] = "COMMIT",
    [BO_PG_ROLLBACK] = "ROLLBACK",
    [BO_PG_PING] = "SELECT 1",

    /* One key for every boxoffice instance on the database ("boxoffic" in
     * ASCII), held until the migration transaction ends. */
    [BO_PG_MIGRATION_LOCK] =
        "SELECT pg_advisory_xact_lock(7093020357986511203)",
    /* 1 version | 1 version, 2 name */
    [BO_PG_MIGRATION_APPLIED] =
        "SELECT 1 FROM schema_migrations WHERE version = $1::integer",
    [BO_PG_MIGRATION_RECORD] =
        "INSERT INTO schema_migrations (version, name, applied_at) "
        "VALUES ($1::integer, $2::text, now())",

    /* 1 name, 2 now. The user and its zero balance in one statement: every
     * user has a balance row from the start, so that a charge is one
     * conditional UPDATE and never an insert racing another insert. */
    [BO_PG_USER_INSERT] =
        "WITH u AS (INSERT INTO users (user_name, created_at, updated_at) "
        "VALUES ($1::text, bo_time($2), bo_time($2)) "
        "RETURNING user_id, user_name, created_at), "
        "p AS (INSERT INTO point (user_id, point, created_at, updated_at) "
        "SELECT user_id, 0, created_at, created_at FROM u) "
        "SELECT user_id, user_name FROM u",
    /* 1 user */
    [BO_PG_USER_GET] =
        "SELECT user_id, user_name FROM users WHERE user_id = $1::bigint",
    /* 1 user */
    [BO_PG_POINT_GET] = "SELECT point FROM point WHERE user_id = $1::bigint",
    /* 1 user, 2 delta, 3 max, 4 now. The range test is done in numeric, so
     * a sum past 2^63 is refused rather than raising an error; SET is only
     * computed for a row that passed it. */
    [BO_PG_POINT_ADD] =
        "UPDATE point SET point = point + $2::bigint, "
        "updated_at = bo_time($4) WHERE user_id = $1::bigint "
        "AND point::numeric + $2::bigint BETWEEN 0 AND $3::bigint "
        "RETURNING point",
    /* 1 user, 2 type, 3 amount, 4 balance after, 5 payment or NULL, 6 now.
     * No row: the user has no balance row, i.e. does not exist. */
    [BO_PG_HISTORY_INSERT] =
        "INSERT INTO point_history (point_id, type, amount, "
        "point_after_transaction, payment_id, created_at, updated_at) "
        "SELECT point_id, $2::text, $3::bigint, $4::bigint, $5::bigint, "
        "bo_time($6), bo_time($6) FROM point WHERE user_id = $1::bigint "
        "RETURNING point_history_id",
    /* 1 history id */
    [BO_PG_HISTORY_GET] = "SELECT " BO_PG_HISTORY_COLUMNS
                          "FROM point_history h JOIN point p USING (point_id) "
                          "WHERE h.point_history_id = $1::bigint",
    /* 1 user, 2 limit */
    [BO_PG_HISTORY_LIST] = "SELECT " BO_PG_HISTORY_COLUMNS
                           "FROM point p JOIN point_history h USING (point_id) "
                           "WHERE p.user_id = $1::bigint "
                           "ORDER BY h.point_history_id DESC LIMIT $2::bigint",

    /* 1 user, 2 scope, 3 key | 4 fingerprint, 5 result, 6 now. No row back
     * from the insert: the key is taken (a racing first request waits for
     * the other's commit here, then finds it) or the user is unknown. */
    [BO_PG_IDEMPOTENCY_GET] =
        "SELECT request_fingerprint, result_id FROM idempotency_key "
        "WHERE user_id = $1::bigint AND scope = $2::text "
        "AND idem_key = $3::text",
    [BO_PG_IDEMPOTENCY_PUT] =
        "INSERT INTO idempotency_key (user_id, scope, idem_key, "
        "request_fingerprint, result_id, created_at) "
        "SELECT user_id, $2::text, $3::text, $4::text, $5::bigint, "
        "bo_time($6) FROM users WHERE user_id = $1::bigint "
        "ON CONFLICT DO NOTHING RETURNING 1",

    /* 1 name, 2 now */
    [BO_PG_CONCERT_INSERT] =
        "INSERT INTO concert (concert_name, created_at, updated_at) "
        "VALUES ($1::text, bo_time($2), bo_time($2)) RETURNING concert_id",
    [BO_PG_CONCERT_LIST] =
        "SELECT concert_id, concert_name FROM concert ORDER BY concert_id",
    /* 1 concert */
    [BO_PG_CONCERT_GET] = "SELECT concert_id, concert_name FROM concert "
                          "WHERE concert_id = $1::bigint",
    /* 1 concert, 2 starts at, 3 seat count, 4 price, 5 now. The schedule and
     * its seats 1..count in one statement; no row back: no such concert. */
    [BO_PG_SCHEDULE_INSERT] =
        "WITH s AS (INSERT INTO concert_schedule (concert_id, concert_dt, "
        "total_seat, created_at, updated_at) "
        "SELECT concert_id, bo_time($2), $3::integer, bo_time($5), "
        "bo_time($5) FROM concert WHERE concert_id = $1::bigint "
        "RETURNING concert_schedule_id, concert_id), "
        "seats AS (INSERT INTO concert_seat (concert_id, "
        "concert_schedule_id, seat_num, price, created_at, updated_at) "
        "SELECT s.concert_id, s.concert_schedule_id, n, $4::bigint, "
        "bo_time($5), bo_time($5) "
        "FROM s, generate_series(1, $3::integer) AS n) "
        "SELECT concert_schedule_id FROM s",
    /* 1 schedule, 2 now */
    [BO_PG_SCHEDULE_GET] =
        "SELECT s.concert_schedule_id, s.concert_id, bo_ms(s.concert_dt), "
        "s.total_seat, count(c.seat_id) FROM concert_schedule s "
        "LEFT JOIN concert_seat c "
        "ON c.concert_schedule_id = s.concert_schedule_id "
        "AND " BO_PG_SEAT_FREE_AT_2 " WHERE s.concert_schedule_id = $1::bigint "
        "GROUP BY s.concert_schedule_id",
    /* 1 concert, 2 now. The inner join drops schedules with no free seat. */
    [BO_PG_SCHEDULE_LIST_BOOKABLE] =
        "SELECT s.concert_schedule_id, s.concert_id, bo_ms(s.concert_dt), "
        "s.total_seat, count(c.seat_id) FROM concert_schedule s "
        "JOIN concert_seat c "
        "ON c.concert_schedule_id = s.concert_schedule_id "
        "AND " BO_PG_SEAT_FREE_AT_2 " WHERE s.concert_id = $1::bigint "
        "AND s.concert_dt > bo_time($2) GROUP BY s.concert_schedule_id "
        "ORDER BY s.concert_dt, s.concert_schedule_id",
    /* 1 concert, 2 now */
    [BO_PG_SCHEDULE_LIST_UPCOMING] =
        "SELECT concert_schedule_id, concert_id, bo_ms(concert_dt), "
        "total_seat, -1 FROM concert_schedule WHERE concert_id = $1::bigint "
        "AND concert_dt > bo_time($2) "
        "ORDER BY concert_dt, concert_schedule_id",
    /* 1 schedule, 2 now */
    [BO_PG_SEAT_LIST] = BO_PG_SEAT_ROW_AT_2
    "FROM concert_seat c "
    "WHERE c.concert_schedule_id = $1::bigint ORDER BY c.seat_num",
    /* 1 concert, 2 now */
    [BO_PG_SEAT_LIST_UPCOMING] = BO_PG_SEAT_ROW_AT_2
    "FROM concert_seat c JOIN concert_schedule s "
    "ON s.concert_schedule_id = c.concert_schedule_id "
    "WHERE s.concert_id = $1::bigint AND s.concert_dt > bo_time($2) "
    "ORDER BY s.concert_dt, s.concert_schedule_id, c.seat_num",

    /* 1 schedule, 2 seat number, 3 now */
    [BO_PG_SEAT_PEEK] =
        "SELECT bo_ms(s.concert_dt), CASE WHEN c.seat_status = 'HELD' "
        "AND c.hold_expire_dt <= bo_time($3) THEN 'AVAILABLE' "
        "ELSE c.seat_status END FROM concert_seat c JOIN concert_schedule s "
        "ON s.concert_schedule_id = c.concert_schedule_id "
        "WHERE c.concert_schedule_id = $1::bigint AND c.seat_num = $2::int",

    /* 1 schedule, 2 seat number, 3 user, 4 now, 5 hold until. The race for
     * a seat: whoever's UPDATE matches wins. A racer that finds the row
     * locked waits, then re-checks the WHERE on the winner's version (READ
     * COMMITTED), which is HELD by a live hold: no row. */
    [BO_PG_SEAT_HOLD] =
        "UPDATE concert_seat SET seat_status = 'HELD', "
        "hold_user_id = $3::bigint, hold_expire_dt = bo_time($5), "
        "updated_at = bo_time($4) "
        "WHERE concert_schedule_id = $1::bigint AND seat_num = $2::integer "
        "AND (seat_status = 'AVAILABLE' "
        "OR (seat_status = 'HELD' AND hold_expire_dt <= bo_time($4))) "
        "RETURNING seat_id, concert_schedule_id, seat_num, price",
    /* 1 schedule, 2 seat number */
    [BO_PG_SEAT_EXISTS] = "SELECT 1 FROM concert_seat "
                          "WHERE concert_schedule_id = $1::bigint "
                          "AND seat_num = $2::integer",
    /* 1 seat */
    [BO_PG_SEAT_EXISTS_BY_ID] =
        "SELECT 1 FROM concert_seat WHERE seat_id = $1::bigint",
    /* 1 seat, 2 now */
    [BO_PG_SEAT_RELEASE] =
        "UPDATE concert_seat SET seat_status = 'AVAILABLE', "
        "hold_user_id = NULL, hold_expire_dt = NULL, updated_at = bo_time($2) "
        "WHERE seat_id = $1::bigint AND seat_status = 'HELD'",
    [BO_PG_SEAT_SELL] =
        "UPDATE concert_seat SET seat_status = 'SOLD', "
        "hold_user_id = NULL, hold_expire_dt = NULL, updated_at = bo_time($2) "
        "WHERE seat_id = $1::bigint AND seat_status = 'HELD'",

    /* 1 user, 2 seat, 3 reserved at, 4 expires at, 5 status, 6 price,
     * 7 now. No row back: a live reservation of the seat exists (the partial
     * unique index), or the user or seat does not (RESERVATION_PARENTS). */
    [BO_PG_RESERVATION_INSERT] =
        "INSERT INTO reservation (user_id, seat_id, reservation_dt, "
        "reservation_expire_dt, reservation_status, price, created_at, "
        "updated_at) "
        "SELECT u.user_id, c.seat_id, bo_time($3), bo_time($4), $5::text, "
        "$6::bigint, bo_time($7), bo_time($7) FROM users u, concert_seat c "
        "WHERE u.user_id = $1::bigint AND c.seat_id = $2::bigint "
        "ON CONFLICT DO NOTHING RETURNING reservation_id",
    /* 1 user, 2 seat */
    [BO_PG_RESERVATION_PARENTS] =
        "SELECT 1 FROM users WHERE user_id = $1::bigint "
        "AND EXISTS (SELECT 1 FROM concert_seat WHERE seat_id = $2::bigint)",
    /* 1 reservation */
    [BO_PG_RESERVATION_GET] =
        "SELECT " BO_PG_RESERVATION_COLUMNS
        "FROM reservation r JOIN concert_seat c USING (seat_id) "
        "WHERE r.reservation_id = $1::bigint",
    /* 1 user */
    [BO_PG_RESERVATION_LIST_BY_USER] =
        "SELECT " BO_PG_RESERVATION_COLUMNS
        "FROM reservation r JOIN concert_seat c USING (seat_id) "
        "WHERE r.user_id = $1::bigint ORDER BY r.reservation_id DESC",
    /* 1 reservation, 2 from, 3 to, 4 live at (<= 0: any expiry), 5 now */
    [BO_PG_RESERVATION_TRANSITION] =
        "UPDATE reservation SET reservation_status = $3::text, "
        "updated_at = bo_time($5) "
        "WHERE reservation_id = $1::bigint AND reservation_status = $2::text "
        "AND ($4::bigint <= 0 OR reservation_expire_dt > bo_time($4))",
    /* 1 reservation */
    [BO_PG_RESERVATION_EXISTS] =
        "SELECT 1 FROM reservation WHERE reservation_id = $1::bigint",
    /* 1 seat, 2 now */
    [BO_PG_RESERVATION_EXPIRE_SEAT] =
        "UPDATE reservation SET reservation_status = 'EXPIRED', "
        "updated_at = bo_time($2) WHERE seat_id = $1::bigint "
        "AND reservation_status = 'HELD' "
        "AND reservation_expire_dt <= bo_time($2)",

    /* 1 user, 2 reservation, 3 amount, 4 balance after, 5 paid at, 6 now.
     * No row back: the reservation is paid already (UNIQUE), or the user or
     * reservation does not exist (PAYMENT_PARENTS). */
    [BO_PG_PAYMENT_INSERT] =
        "INSERT INTO payment (user_id, reservation_id, amount, "
        "payment_status, balance_after, payment_dt, created_at, updated_at) "
        "SELECT u.user_id, r.reservation_id, $3::bigint, 'COMPLETED', "
        "$4::bigint, bo_time($5), bo_time($6), bo_time($6) "
        "FROM users u, reservation r "
        "WHERE u.user_id = $1::bigint AND r.reservation_id = $2::bigint "
        "ON CONFLICT DO NOTHING RETURNING payment_id",
    /* 1 user, 2 reservation */
    [BO_PG_PAYMENT_PARENTS] =
        "SELECT 1 FROM users WHERE user_id = $1::bigint AND EXISTS "
        "(SELECT 1 FROM reservation WHERE reservation_id = $2::bigint)",
    /* 1 payment */
    [BO_PG_PAYMENT_GET] =
        "SELECT payment_id, user_id, reservation_id, amount, balance_after, "
        "bo_ms(payment_dt) FROM payment WHERE payment_id = $1::bigint",

    /* 1 now, 2 limit. The rows are picked and locked first, skipping any
     * that another transaction holds (a payment, a new hold, another
     * instance's sweep), so sweepers never wait for anyone nor for each
     * other; the outer conditions re-check the locked version. */
    [BO_PG_HOLDS_EXPIRE_RESERVATIONS] =
        "WITH due AS (SELECT reservation_id FROM reservation "
        "WHERE reservation_status = 'HELD' "
        "AND reservation_expire_dt <= bo_time($1) "
        "ORDER BY reservation_expire_dt LIMIT $2::bigint "
        "FOR UPDATE SKIP LOCKED) "
        "UPDATE reservation r SET reservation_status = 'EXPIRED', "
        "updated_at = bo_time($1) FROM due "
        "WHERE r.reservation_id = due.reservation_id "
        "AND r.reservation_status = 'HELD' "
        "AND r.reservation_expire_dt <= bo_time($1)",
    [BO_PG_HOLDS_RELEASE_SEATS] =
        "WITH due AS (SELECT seat_id FROM concert_seat "
        "WHERE seat_status = 'HELD' AND hold_expire_dt <= bo_time($1) "
        "ORDER BY hold_expire_dt LIMIT $2::bigint FOR UPDATE SKIP LOCKED) "
        "UPDATE concert_seat c SET seat_status = 'AVAILABLE', "
        "hold_user_id = NULL, hold_expire_dt = NULL, updated_at = bo_time($1) "
        "FROM due WHERE c.seat_id = due.seat_id AND c.seat_status = 'HELD' "
        "AND c.hold_expire_dt <= bo_time($1)",

    /* 1 concert, 2 now. The three counts in one pass over the seats of the
     * concert's future dates: the dates by concert_schedule_by_concert, their
     * seats by the (schedule, seat number) key. Without GROUP BY an
     * aggregate always yields its one row, zeros for no such concert. */
    [BO_PG_CONCERT_INVENTORY] =
        "SELECT count(*) FILTER (WHERE " BO_PG_SEAT_FREE_AT_2 "), "
        "count(*) FILTER (WHERE c.seat_status = 'HELD' "
        "AND c.hold_expire_dt > bo_time($2)), "
        "count(*) FILTER (WHERE c.seat_status = 'SOLD') "
        "FROM concert_schedule s JOIN concert_seat c "
        "ON c.concert_schedule_id = s.concert_schedule_id "
        "WHERE s.concert_id = $1::bigint AND s.concert_dt > bo_time($2)",
    /* 1 concert, 2 now. Every date of the concert, past ones too, with the
     * same three counts, in one pass: the dates by
     * concert_schedule_by_concert, their seats by the (schedule, seat
     * number) key. No row for no such concert (pg_catalog.c then asks
     * CONCERT_GET which it is). */
    [BO_PG_SCHEDULE_COUNTS] =
        "SELECT s.concert_schedule_id, bo_ms(s.concert_dt), s.total_seat, "
        "count(*) FILTER (WHERE " BO_PG_SEAT_FREE_AT_2 "), "
        "count(*) FILTER (WHERE c.seat_status = 'HELD' "
        "AND c.hold_expire_dt > bo_time($2)), "
        "count(*) FILTER (WHERE c.seat_status = 'SOLD') "
        "FROM concert_schedule s JOIN concert_seat c "
        "ON c.concert_schedule_id = s.concert_schedule_id "
        "WHERE s.concert_id = $1::bigint GROUP BY s.concert_schedule_id "
        "ORDER BY s.concert_dt, s.concert_schedule_id",

    /* 1 line, 2 active max, 3 admit per minute, 4 on sale at (0: none),
     * 5 inventory factor, 6 paused (1 or 0), 7 seed (hex), 8 now. No row
     * back: the line exists (CONFLICT) or, for a concert line, the concert
     * does not (NOT_FOUND); LINE_EXISTS tells which. */
    [BO_PG_LINE_INSERT] =
        "INSERT INTO queue_line (line_id, active_max, admit_per_minute, "
        "on_sale_at, inventory_factor_pct, paused, seed, created_at, "
        "updated_at) "
        "SELECT $1::bigint, $2::bigint, $3::bigint, "
        "bo_time(NULLIF($4::bigint, 0)), $5::integer, $6::boolean, "
        "decode($7::text, 'hex'), bo_time($8), bo_time($8) "
        "WHERE $1::bigint = 0 "
        "OR EXISTS (SELECT 1 FROM concert WHERE concert_id = $1::bigint) "
        "ON CONFLICT DO NOTHING RETURNING 1",
    /* 1 line */
    [BO_PG_LINE_EXISTS] = "SELECT 1 FROM queue_line WHERE line_id = $1::bigint",
    [BO_PG_LINE_GET] = "SELECT " BO_PG_LINE_COLUMNS
                       "FROM queue_line WHERE line_id = $1::bigint",
    [BO_PG_LINE_LIST] =
        "SELECT " BO_PG_LINE_COLUMNS "FROM queue_line ORDER BY line_id",
    /* 1 line, 2 active max, 3 admit per minute, 4 inventory factor,
     * 5 paused (1 or 0), 6 now: the settings an operator may change. */
    [BO_PG_LINE_UPDATE] =
        "UPDATE queue_line SET active_max = $2::bigint, "
        "admit_per_minute = $3::bigint, inventory_factor_pct = $4::integer, "
        "paused = $5::boolean, updated_at = bo_time($6) "
        "WHERE line_id = $1::bigint",
    /* The same parameters, line 0 only: the global line's row is made by
     * its first change (a zero seed, no on-sale), in one statement, so two
     * first changes at once do not both insert it: the second waits for the
     * first's commit and then updates its row. */
    [BO_PG_LINE_UPSERT_GLOBAL] =
        "INSERT INTO queue_line (line_id, active_max, admit_per_minute, "
        "inventory_factor_pct, paused, seed, created_at, updated_at) "
        "VALUES ($1::bigint, $2::bigint, $3::bigint, $4::integer, "
        "$5::boolean, decode(repeat('00', 32), 'hex'), bo_time($6), "
        "bo_time($6)) "
        "ON CONFLICT (line_id) DO UPDATE SET "
        "active_max = EXCLUDED.active_max, "
        "admit_per_minute = EXCLUDED.admit_per_minute, "
        "inventory_factor_pct = EXCLUDED.inventory_factor_pct, "
        "paused = EXCLUDED.paused, updated_at = EXCLUDED.updated_at",
};
