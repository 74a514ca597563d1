/* Every statement the SQLite driver runs, by id, so that the SQL can be read
 * (and reviewed against the schema) in one place. Each connection prepares
 * them on first use and keeps them (sqlite_conn.c). Parameters are numbered;
 * the comment above each says what they are.
 *
 * "Available at now" is written out in several statements: a seat is free
 * when it is AVAILABLE, or HELD by a hold that has run out (hold_expire_dt <=
 * now). That is what lets reads and new holds ignore stale holds without
 * waiting for housekeeping. */
#include "store/sqlite_internal.h"

/* A seat free at ?2: AVAILABLE, or HELD by a hold that ran out. */
#define BO_SQLITE_SEAT_FREE_AT_2                                               \
  "(c.seat_status = 'AVAILABLE' "                                              \
  "OR (c.seat_status = 'HELD' AND c.hold_expire_dt <= ?2))"

/* The read columns of a queue_line row (sqlite_lines.c read_line); a NULL
 * on_sale_at (no pre-queue) reads 0, as the store interface says it. */
#define BO_SQLITE_LINE_COLUMNS                                                 \
  "line_id, active_max, admit_per_minute, coalesce(on_sale_at, 0), "           \
  "inventory_factor_pct, paused, seed, created_at "

/* A seat map's row (sqlite_catalog.c read_seat): status as of ?2, and when
 * a live hold runs out (0 for no live hold). For `concert_seat c`. */
#define BO_SQLITE_SEAT_ROW_AT_2                                                \
  "SELECT c.seat_id, c.concert_schedule_id, c.seat_num, c.price, "             \
  "CASE WHEN c.seat_status = 'HELD' AND c.hold_expire_dt <= ?2 "               \
  "THEN 'AVAILABLE' ELSE c.seat_status END, "                                  \
  "CASE WHEN c.seat_status = 'HELD' AND c.hold_expire_dt > ?2 "                \
  "THEN c.hold_expire_dt ELSE 0 END "

const char *const bo_sqlite_sql[BO_SQLITE_STMT__COUNT] = {
    [BO_SQLITE_BEGIN] = "BEGIN",
    [BO_SQLITE_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [BO_SQLITE_COMMIT] = "COMMIT",
    [BO_SQLITE_ROLLBACK] = "ROLLBACK",
    /* One write of a group commit (sqlite_group.c). */
    [BO_SQLITE_SAVEPOINT] = "SAVEPOINT one_write",
    [BO_SQLITE_RELEASE] = "RELEASE one_write",
    [BO_SQLITE_ROLLBACK_TO] = "ROLLBACK TO one_write",
    /* Reads the database header, so it proves the file is still there. */
    [BO_SQLITE_PING] = "PRAGMA schema_version",

    /* 1 version | 1 version, 2 name */
    [BO_SQLITE_MIGRATION_APPLIED] =
        "SELECT 1 FROM schema_migrations WHERE version = ?1",
    [BO_SQLITE_MIGRATION_RECORD] =
        "INSERT INTO schema_migrations (version, name, applied_at) "
        "VALUES (?1, ?2, "
        "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",

    /* 1 name, 2 now */
    [BO_SQLITE_USER_INSERT] =
        "INSERT INTO users (user_name, created_at, updated_at) "
        "VALUES (?1, ?2, ?2) RETURNING user_id, user_name",
    /* 1 user */
    [BO_SQLITE_USER_GET] =
        "SELECT user_id, user_name FROM users WHERE user_id = ?1",
    /* 1 user, 2 now */
    [BO_SQLITE_POINT_CREATE] =
        "INSERT INTO point (user_id, point, created_at, updated_at) "
        "VALUES (?1, 0, ?2, ?2)",
    /* 1 user */
    [BO_SQLITE_POINT_GET] = "SELECT point FROM point WHERE user_id = ?1",
    /* 1 user, 2 delta, 3 max, 4 now. An overflowing sum turns into a REAL
     * in SQLite and falls outside the range, so it is refused too. */
    [BO_SQLITE_POINT_ADD] =
        "UPDATE point SET point = point + ?2, updated_at = ?4 "
        "WHERE user_id = ?1 AND point + ?2 BETWEEN 0 AND ?3 RETURNING point",
    /* 1 user, 2 type, 3 amount, 4 balance after, 5 payment or NULL, 6 now */
    [BO_SQLITE_HISTORY_INSERT] =
        "INSERT INTO point_history (point_id, type, amount, "
        "point_after_transaction, payment_id, created_at, updated_at) "
        "SELECT point_id, ?2, ?3, ?4, ?5, ?6, ?6 FROM point WHERE user_id = ?1 "
        "RETURNING point_history_id",
    /* 1 history id */
    [BO_SQLITE_HISTORY_GET] =
        "SELECT h.point_history_id, p.user_id, h.type, h.amount, "
        "h.point_after_transaction, h.payment_id, h.created_at "
        "FROM point_history h JOIN point p USING (point_id) "
        "WHERE h.point_history_id = ?1",
    /* 1 user, 2 limit */
    [BO_SQLITE_HISTORY_LIST] =
        "SELECT h.point_history_id, p.user_id, h.type, h.amount, "
        "h.point_after_transaction, h.payment_id, h.created_at "
        "FROM point p JOIN point_history h USING (point_id) "
        "WHERE p.user_id = ?1 ORDER BY h.point_history_id DESC LIMIT ?2",

    /* 1 user, 2 scope, 3 key | 4 fingerprint, 5 result, 6 now */
    [BO_SQLITE_IDEMPOTENCY_GET] =
        "SELECT request_fingerprint, result_id FROM idempotency_key "
        "WHERE user_id = ?1 AND scope = ?2 AND idem_key = ?3",
    [BO_SQLITE_IDEMPOTENCY_PUT] =
        "INSERT INTO idempotency_key (user_id, scope, idem_key, "
        "request_fingerprint, result_id, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",

    /* 1 name, 2 now */
    [BO_SQLITE_CONCERT_INSERT] =
        "INSERT INTO concert (concert_name, created_at, updated_at) "
        "VALUES (?1, ?2, ?2) RETURNING concert_id",
    [BO_SQLITE_CONCERT_LIST] =
        "SELECT concert_id, concert_name FROM concert ORDER BY concert_id",
    /* 1 concert */
    [BO_SQLITE_CONCERT_GET] =
        "SELECT concert_id, concert_name FROM concert WHERE concert_id = ?1",
    /* 1 concert, 2 starts at, 3 seat count, 4 now */
    [BO_SQLITE_SCHEDULE_INSERT] =
        "INSERT INTO concert_schedule (concert_id, concert_dt, total_seat, "
        "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4) "
        "RETURNING concert_schedule_id",
    /* 1 schedule, 2 seat count, 3 price, 4 now: seats 1..count in one
     * statement, numbered by a recursive CTE. */
    [BO_SQLITE_SEATS_INSERT] =
        "WITH RECURSIVE n (k) AS (SELECT 1 UNION ALL "
        "SELECT k + 1 FROM n WHERE k < ?2) "
        "INSERT INTO concert_seat (concert_id, concert_schedule_id, seat_num, "
        "price, created_at, updated_at) "
        "SELECT s.concert_id, s.concert_schedule_id, n.k, ?3, ?4, ?4 "
        "FROM concert_schedule s, n WHERE s.concert_schedule_id = ?1",
    /* 1 schedule, 2 now */
    [BO_SQLITE_SCHEDULE_GET] =
        "SELECT s.concert_schedule_id, s.concert_id, s.concert_dt, "
        "s.total_seat, count(c.seat_id) FROM concert_schedule s "
        "LEFT JOIN concert_seat c "
        "ON c.concert_schedule_id = s.concert_schedule_id "
        "AND " BO_SQLITE_SEAT_FREE_AT_2 " "
        "WHERE s.concert_schedule_id = ?1 GROUP BY s.concert_schedule_id",
    /* 1 concert, 2 now. The inner join drops schedules with no free seat. */
    [BO_SQLITE_SCHEDULE_LIST_BOOKABLE] =
        "SELECT s.concert_schedule_id, s.concert_id, s.concert_dt, "
        "s.total_seat, count(c.seat_id) FROM concert_schedule s "
        "JOIN concert_seat c "
        "ON c.concert_schedule_id = s.concert_schedule_id "
        "AND " BO_SQLITE_SEAT_FREE_AT_2 " "
        "WHERE s.concert_id = ?1 AND s.concert_dt > ?2 "
        "GROUP BY s.concert_schedule_id "
        "ORDER BY s.concert_dt, s.concert_schedule_id",
    /* 1 concert, 2 now */
    [BO_SQLITE_SCHEDULE_LIST_UPCOMING] =
        "SELECT concert_schedule_id, concert_id, concert_dt, total_seat, -1 "
        "FROM concert_schedule WHERE concert_id = ?1 AND concert_dt > ?2 "
        "ORDER BY concert_dt, concert_schedule_id",
    /* 1 schedule, 2 now */
    [BO_SQLITE_SEAT_LIST] = BO_SQLITE_SEAT_ROW_AT_2
    "FROM concert_seat c "
    "WHERE c.concert_schedule_id = ?1 ORDER BY c.seat_num",
    /* 1 concert, 2 now */
    [BO_SQLITE_SEAT_LIST_UPCOMING] = BO_SQLITE_SEAT_ROW_AT_2
    "FROM concert_seat c JOIN concert_schedule s "
    "ON s.concert_schedule_id = c.concert_schedule_id "
    "WHERE s.concert_id = ?1 AND s.concert_dt > ?2 "
    "ORDER BY s.concert_dt, s.concert_schedule_id, c.seat_num",

    /* 1 schedule, 2 seat number, 3 now */
    [BO_SQLITE_SEAT_PEEK] =
        "SELECT s.concert_dt, CASE WHEN c.seat_status = 'HELD' "
        "AND c.hold_expire_dt <= ?3 THEN 'AVAILABLE' ELSE c.seat_status END "
        "FROM concert_seat c JOIN concert_schedule s "
        "ON s.concert_schedule_id = c.concert_schedule_id "
        "WHERE c.concert_schedule_id = ?1 AND c.seat_num = ?2",

    /* 1 schedule, 2 seat number, 3 user, 4 now, 5 hold until. The race for
     * a seat: whoever's UPDATE matches wins, everyone else matches no row. */
    [BO_SQLITE_SEAT_HOLD] =
        "UPDATE concert_seat SET seat_status = 'HELD', hold_user_id = ?3, "
        "hold_expire_dt = ?5, updated_at = ?4 "
        "WHERE concert_schedule_id = ?1 AND seat_num = ?2 "
        "AND (seat_status = 'AVAILABLE' "
        "OR (seat_status = 'HELD' AND hold_expire_dt <= ?4)) "
        "RETURNING seat_id, concert_schedule_id, seat_num, price",
    /* 1 schedule, 2 seat number */
    [BO_SQLITE_SEAT_EXISTS] =
        "SELECT 1 FROM concert_seat "
        "WHERE concert_schedule_id = ?1 AND seat_num = ?2",
    /* 1 seat */
    [BO_SQLITE_SEAT_EXISTS_BY_ID] =
        "SELECT 1 FROM concert_seat WHERE seat_id = ?1",
    /* 1 seat, 2 now */
    [BO_SQLITE_SEAT_RELEASE] =
        "UPDATE concert_seat SET seat_status = 'AVAILABLE', "
        "hold_user_id = NULL, hold_expire_dt = NULL, updated_at = ?2 "
        "WHERE seat_id = ?1 AND seat_status = 'HELD'",
    [BO_SQLITE_SEAT_SELL] =
        "UPDATE concert_seat SET seat_status = 'SOLD', "
        "hold_user_id = NULL, hold_expire_dt = NULL, updated_at = ?2 "
        "WHERE seat_id = ?1 AND seat_status = 'HELD'",

    /* 1 user, 2 seat, 3 reserved at, 4 expires at, 5 status, 6 price,
     * 7 now */
    [BO_SQLITE_RESERVATION_INSERT] =
        "INSERT INTO reservation (user_id, seat_id, reservation_dt, "
        "reservation_expire_dt, reservation_status, price, created_at, "
        "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) "
        "RETURNING reservation_id",
    /* 1 reservation */
    [BO_SQLITE_RESERVATION_GET] =
        "SELECT r.reservation_id, r.user_id, r.seat_id, "
        "c.concert_schedule_id, c.seat_num, r.price, r.reservation_dt, "
        "r.reservation_expire_dt, r.reservation_status "
        "FROM reservation r JOIN concert_seat c USING (seat_id) "
        "WHERE r.reservation_id = ?1",
    /* 1 user */
    [BO_SQLITE_RESERVATION_LIST_BY_USER] =
        "SELECT r.reservation_id, r.user_id, r.seat_id, "
        "c.concert_schedule_id, c.seat_num, r.price, r.reservation_dt, "
        "r.reservation_expire_dt, r.reservation_status "
        "FROM reservation r JOIN concert_seat c USING (seat_id) "
        "WHERE r.user_id = ?1 ORDER BY r.reservation_id DESC",
    /* 1 reservation, 2 from, 3 to, 4 live at (<= 0: any expiry), 5 now */
    [BO_SQLITE_RESERVATION_TRANSITION] =
        "UPDATE reservation SET reservation_status = ?3, updated_at = ?5 "
        "WHERE reservation_id = ?1 AND reservation_status = ?2 "
        "AND (?4 <= 0 OR reservation_expire_dt > ?4)",
    /* 1 reservation */
    [BO_SQLITE_RESERVATION_EXISTS] =
        "SELECT 1 FROM reservation WHERE reservation_id = ?1",
    /* 1 seat, 2 now */
    [BO_SQLITE_RESERVATION_EXPIRE_SEAT] =
        "UPDATE reservation SET reservation_status = 'EXPIRED', "
        "updated_at = ?2 WHERE seat_id = ?1 AND reservation_status = 'HELD' "
        "AND reservation_expire_dt <= ?2",

    /* 1 user, 2 reservation, 3 amount, 4 balance after, 5 paid at, 6 now */
    [BO_SQLITE_PAYMENT_INSERT] =
        "INSERT INTO payment (user_id, reservation_id, amount, "
        "payment_status, balance_after, payment_dt, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, 'COMPLETED', ?4, ?5, ?6, ?6) "
        "RETURNING payment_id",
    /* 1 payment */
    [BO_SQLITE_PAYMENT_GET] =
        "SELECT payment_id, user_id, reservation_id, amount, balance_after, "
        "payment_dt FROM payment WHERE payment_id = ?1",

    /* 1 now, 2 limit. UPDATE ... LIMIT needs a compile-time option, so the
     * rows are picked by a subquery; the partial indexes keep it to live
     * holds. */
    [BO_SQLITE_HOLDS_EXPIRE_RESERVATIONS] =
        "UPDATE reservation SET reservation_status = 'EXPIRED', "
        "updated_at = ?1 WHERE reservation_id IN ("
        "SELECT reservation_id FROM reservation "
        "WHERE reservation_status = 'HELD' AND reservation_expire_dt <= ?1 "
        "ORDER BY reservation_expire_dt LIMIT ?2)",
    [BO_SQLITE_HOLDS_RELEASE_SEATS] =
        "UPDATE concert_seat SET seat_status = 'AVAILABLE', "
        "hold_user_id = NULL, hold_expire_dt = NULL, updated_at = ?1 "
        "WHERE seat_id IN (SELECT seat_id FROM concert_seat "
        "WHERE seat_status = 'HELD' AND hold_expire_dt <= ?1 "
        "ORDER BY hold_expire_dt LIMIT ?2)",

    /* 1 concert, 2 now. The three counts in one pass over the seats of the
     * concert's future dates: the dates by concert_schedule_by_concert, their
     * seats by the (schedule, seat number) key. Without GROUP BY an
     * aggregate always yields its one row, zeros for no such concert. */
    [BO_SQLITE_CONCERT_INVENTORY] =
        "SELECT count(*) FILTER (WHERE " BO_SQLITE_SEAT_FREE_AT_2 "), "
        "count(*) FILTER (WHERE c.seat_status = 'HELD' "
        "AND c.hold_expire_dt > ?2), "
        "count(*) FILTER (WHERE c.seat_status = 'SOLD') "
        "FROM concert_schedule s JOIN concert_seat c "
        "ON c.concert_schedule_id = s.concert_schedule_id "
        "WHERE s.concert_id = ?1 AND s.concert_dt > ?2",
    /* 1 concert, 2 now. Every date of the concert, past ones too, with the
     * same three counts, in one pass: the dates by
     * concert_schedule_by_concert, their seats by the (schedule, seat
     * number) key. No row for no such concert (sqlite_catalog.c then asks
     * CONCERT_GET which it is). */
    [BO_SQLITE_SCHEDULE_COUNTS] =
        "SELECT s.concert_schedule_id, s.concert_dt, s.total_seat, "
        "count(*) FILTER (WHERE " BO_SQLITE_SEAT_FREE_AT_2 "), "
        "count(*) FILTER (WHERE c.seat_status = 'HELD' "
        "AND c.hold_expire_dt > ?2), "
        "count(*) FILTER (WHERE c.seat_status = 'SOLD') "
        "FROM concert_schedule s JOIN concert_seat c "
        "ON c.concert_schedule_id = s.concert_schedule_id "
        "WHERE s.concert_id = ?1 GROUP BY s.concert_schedule_id "
        "ORDER BY s.concert_dt, s.concert_schedule_id",

    /* 1 line, 2 active max, 3 admit per minute, 4 on sale at (0: none),
     * 5 inventory factor, 6 paused, 7 seed, 8 now. The primary key refuses
     * a second row of the line (CONFLICT), the foreign key a concert line
     * of no concert (NOT_FOUND). */
    [BO_SQLITE_LINE_INSERT] =
        "INSERT INTO queue_line (line_id, active_max, admit_per_minute, "
        "on_sale_at, inventory_factor_pct, paused, seed, created_at, "
        "updated_at) VALUES (?1, ?2, ?3, NULLIF(?4, 0), ?5, ?6, ?7, ?8, ?8)",
    /* 1 line */
    [BO_SQLITE_LINE_GET] =
        "SELECT " BO_SQLITE_LINE_COLUMNS "FROM queue_line WHERE line_id = ?1",
    [BO_SQLITE_LINE_LIST] =
        "SELECT " BO_SQLITE_LINE_COLUMNS "FROM queue_line ORDER BY line_id",
    /* 1 line, 2 active max, 3 admit per minute, 4 inventory factor,
     * 5 paused, 6 now: the settings an operator may change. */
    [BO_SQLITE_LINE_UPDATE] =
        "UPDATE queue_line SET active_max = ?2, admit_per_minute = ?3, "
        "inventory_factor_pct = ?4, paused = ?5, updated_at = ?6 "
        "WHERE line_id = ?1",
    /* The same parameters, line 0 only: the global line's row is made by
     * its first change (a zero seed, no on-sale), in one statement, so two
     * first changes cannot both try to insert it. */
    [BO_SQLITE_LINE_UPSERT_GLOBAL] =
        "INSERT INTO queue_line (line_id, active_max, admit_per_minute, "
        "inventory_factor_pct, paused, seed, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, zeroblob(32), ?6, ?6) "
        "ON CONFLICT (line_id) DO UPDATE SET "
        "active_max = excluded.active_max, "
        "admit_per_minute = excluded.admit_per_minute, "
        "inventory_factor_pct = excluded.inventory_factor_pct, "
        "paused = excluded.paused, updated_at = excluded.updated_at",
};
