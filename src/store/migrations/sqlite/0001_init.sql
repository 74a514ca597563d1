-- The relational part of the ERD ("Concert reservation service ERD"), with
-- the same table and column names. waiting_queue is not here: the ERD moved it
-- to Redis, and the queue drivers keep it.
--
-- Conventions, on every table:
-- * Times are INTEGER milliseconds since the Unix epoch, UTC. SQLite has no
--   timestamp type (it would store text or a float), and integers compare
--   exactly, so "the hold ran out at now" means the same in SQL as in C.
-- * Ids are INTEGER PRIMARY KEY (SQLite's 64-bit rowid, the ERD's bigint)
--   with AUTOINCREMENT: ids are public (URLs, idempotency records), so one is
--   never reused, even after a delete.
-- * Money and counts are INTEGER, 64-bit in SQLite; money is KRW won.
-- * STRICT: a column holds only its declared type, so a value bound with the
--   wrong type fails loudly instead of comparing as text.
-- * status is the ERD's row-state column (ACTIVE, or DELETED for a soft
--   delete), kept apart from the domain states (seat_status, ...).
--
-- schema_migrations(version, name, applied_at) is created by the migration
-- runner itself (sqlite_migrate.c), which needs it before this file runs.

CREATE TABLE users (
  user_id    INTEGER PRIMARY KEY AUTOINCREMENT,
  -- Bounded so that a name always fits the store's fixed-size buffers.
  user_name  TEXT    NOT NULL CHECK (length(user_name) BETWEEN 1 AND 200),
  status     TEXT    NOT NULL DEFAULT 'ACTIVE'
                     CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE concert (
  concert_id   INTEGER PRIMARY KEY AUTOINCREMENT,
  -- Bounded so that a name always fits the store's fixed-size buffers.
  concert_name TEXT    NOT NULL CHECK (length(concert_name) BETWEEN 1 AND 200),
  status       TEXT    NOT NULL DEFAULT 'ACTIVE'
                       CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE concert_schedule (
  concert_schedule_id INTEGER PRIMARY KEY AUTOINCREMENT,
  concert_id          INTEGER NOT NULL REFERENCES concert (concert_id),
  concert_dt          INTEGER NOT NULL,
  total_seat          INTEGER NOT NULL CHECK (total_seat > 0),
  status              TEXT    NOT NULL DEFAULT 'ACTIVE'
                              CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  -- The parent key of concert_seat's (schedule, concert) foreign key, which
  -- keeps the ERD's copy of concert_id on each seat equal to its schedule's.
  UNIQUE (concert_schedule_id, concert_id)
) STRICT;

-- The bookable dates of one concert, by start time.
CREATE INDEX concert_schedule_by_concert
  ON concert_schedule (concert_id, concert_dt);

CREATE TABLE concert_seat (
  seat_id             INTEGER PRIMARY KEY AUTOINCREMENT,
  concert_id          INTEGER NOT NULL,
  concert_schedule_id INTEGER NOT NULL,
  seat_num            INTEGER NOT NULL CHECK (seat_num > 0),
  price               INTEGER NOT NULL CHECK (price >= 0),
  -- A HELD seat whose hold_expire_dt has passed is free in fact: readers
  -- report it AVAILABLE and a new hold may take it, so correctness never
  -- waits for housekeeping to write AVAILABLE.
  seat_status         TEXT    NOT NULL DEFAULT 'AVAILABLE'
                              CHECK (seat_status IN ('AVAILABLE', 'HELD',
                                                     'SOLD')),
  -- Who holds the seat and until when. The race for a seat is decided by
  -- one conditional UPDATE of this row, so the row itself must say whether
  -- its hold is still live.
  hold_user_id        INTEGER REFERENCES users (user_id),
  hold_expire_dt      INTEGER,
  status              TEXT    NOT NULL DEFAULT 'ACTIVE'
                              CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  -- HELD if and only if both hold columns are set: no half-held seat, and no
  -- stale holder left on a seat that was released or sold.
  CHECK (CASE WHEN seat_status = 'HELD'
              THEN hold_user_id IS NOT NULL AND hold_expire_dt IS NOT NULL
              ELSE hold_user_id IS NULL AND hold_expire_dt IS NULL END),
  -- "Seat 7 of schedule 3" names exactly one row: the one the race is on.
  UNIQUE (concert_schedule_id, seat_num),
  FOREIGN KEY (concert_schedule_id, concert_id)
    REFERENCES concert_schedule (concert_schedule_id, concert_id)
) STRICT;

-- Housekeeping finds run-out holds without reading every seat.
CREATE INDEX concert_seat_held_until
  ON concert_seat (hold_expire_dt) WHERE seat_status = 'HELD';

CREATE TABLE reservation (
  reservation_id        INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id               INTEGER NOT NULL REFERENCES users (user_id),
  seat_id               INTEGER NOT NULL REFERENCES concert_seat (seat_id),
  reservation_dt        INTEGER NOT NULL,
  reservation_expire_dt INTEGER NOT NULL,
  reservation_status    TEXT    NOT NULL DEFAULT 'HELD'
                                CHECK (reservation_status IN
                                       ('HELD', 'CONFIRMED', 'EXPIRED',
                                        'CANCELLED')),
  -- The seat's price when it was held: what the payment charges, whatever
  -- happens to the seat's price afterwards.
  price                 INTEGER NOT NULL CHECK (price >= 0),
  status                TEXT    NOT NULL DEFAULT 'ACTIVE'
                                CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  -- A hold lasts a positive time.
  CHECK (reservation_expire_dt > reservation_dt)
) STRICT;

-- At most one live (held or sold) reservation per seat: a second one would be
-- a double booking, so the database refuses it whatever the code did.
CREATE UNIQUE INDEX reservation_live_seat
  ON reservation (seat_id) WHERE reservation_status IN ('HELD', 'CONFIRMED');
-- A user's reservations, newest first.
CREATE INDEX reservation_by_user ON reservation (user_id, reservation_id);
-- Housekeeping finds run-out holds without reading every reservation.
CREATE INDEX reservation_held_until
  ON reservation (reservation_expire_dt) WHERE reservation_status = 'HELD';
-- The reservations of one seat (expiring a run-out hold before a new one).
CREATE INDEX reservation_by_seat ON reservation (seat_id);

CREATE TABLE payment (
  payment_id     INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id        INTEGER NOT NULL REFERENCES users (user_id),
  -- UNIQUE: a reservation is paid at most once, even when two payments race
  -- past the code's own checks.
  reservation_id INTEGER NOT NULL UNIQUE
                         REFERENCES reservation (reservation_id),
  amount         INTEGER NOT NULL CHECK (amount >= 0),
  -- A payment is recorded in the same transaction that takes the money, so
  -- it is never pending; a new state has to be a deliberate migration.
  payment_status TEXT    NOT NULL DEFAULT 'COMPLETED'
                         CHECK (payment_status IN ('COMPLETED')),
  -- The balance the payment left: a payment retried with its idempotency key
  -- answers exactly as the first one did.
  balance_after  INTEGER NOT NULL CHECK (balance_after >= 0),
  payment_dt     INTEGER NOT NULL,
  status         TEXT    NOT NULL DEFAULT 'ACTIVE'
                         CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE point (
  point_id   INTEGER PRIMARY KEY AUTOINCREMENT,
  -- One balance per user, created with the user: every charge and payment
  -- updates this one row, and that conditional UPDATE decides races.
  user_id    INTEGER NOT NULL UNIQUE REFERENCES users (user_id),
  -- Never negative and never above 10^12 (the API's limit). The code's
  -- conditional UPDATE keeps this already; the CHECK makes any other path
  -- that would overdraw fail too.
  point      INTEGER NOT NULL DEFAULT 0
                     CHECK (point >= 0 AND point <= 1000000000000),
  status     TEXT    NOT NULL DEFAULT 'ACTIVE'
                     CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE point_history (
  point_history_id        INTEGER PRIMARY KEY AUTOINCREMENT,
  point_id                INTEGER NOT NULL REFERENCES point (point_id),
  -- Always positive: type gives the direction, so a sign cannot be lost.
  amount                  INTEGER NOT NULL CHECK (amount > 0),
  point_after_transaction INTEGER NOT NULL
                                  CHECK (point_after_transaction >= 0),
  type                    TEXT    NOT NULL
                                  CHECK (type IN ('CHARGE', 'USE', 'REFUND')),
  -- The payment a USE row pays for, so money out is tied to what it bought.
  payment_id              INTEGER REFERENCES payment (payment_id),
  status                  TEXT    NOT NULL DEFAULT 'ACTIVE'
                                  CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at              INTEGER NOT NULL,
  updated_at              INTEGER NOT NULL
) STRICT;

-- A user's history, newest first.
CREATE INDEX point_history_by_point
  ON point_history (point_id, point_history_id);

-- A request retried with the same Idempotency-Key gets the first result and
-- does nothing again. The row is written in the transaction that has the
-- effect, so both exist or neither; and two racing retries are decided by the
-- primary key, not by a read.
CREATE TABLE idempotency_key (
  user_id             INTEGER NOT NULL REFERENCES users (user_id),
  scope               TEXT    NOT NULL CHECK (scope IN ('CHARGE', 'PAYMENT')),
  idem_key            TEXT    NOT NULL
                              CHECK (length(idem_key) BETWEEN 1 AND 255),
  -- A canonical text of the first request: the same key with another body
  -- is refused. Bounded in bytes to fit the store's buffer.
  request_fingerprint TEXT    NOT NULL
                              CHECK (length(CAST(request_fingerprint AS BLOB))
                                     < 128),
  -- What the first request made (a point_history id or a payment id), from
  -- which its response is rebuilt.
  result_id           INTEGER NOT NULL,
  created_at          INTEGER NOT NULL,
  PRIMARY KEY (user_id, scope, idem_key)
) STRICT, WITHOUT ROWID;
