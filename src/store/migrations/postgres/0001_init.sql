-- The relational part of the ERD ("Concert reservation service ERD"), with
-- the same table and column names as the SQLite schema, in PostgreSQL's own
-- types. waiting_queue is not here: the ERD moved it to Redis, and the queue
-- drivers keep it.
--
-- Conventions, on every table:
-- * Times are timestamptz: one instant, whatever the session's time zone,
--   that psql, reports and other tools read as a time. The store interface
--   speaks int64 milliseconds since the epoch; the statements convert with
--   bo_time() and bo_ms() below, so no C code parses a timestamp's text
--   (whose format follows DateStyle and TimeZone). timestamptz keeps
--   microseconds, so every millisecond survives the round trip exactly, and
--   "the hold ran out at now" compares two timestamptz converted the same way.
-- * Ids are bigint GENERATED ALWAYS AS IDENTITY (the ERD's bigint): ids are
--   public (URLs, idempotency records), so one is never reused, and ALWAYS
--   refuses an id written by hand.
-- * Money and counts are bigint (KRW won; 64-bit like the store's int64_t);
--   seat numbers and seat counts are integer, as in the ERD.
-- * Names are text with a CHECK on their length rather than varchar(n): the
--   same rule as SQLite's, and one place to change it.
-- * status is the ERD's row-state column (ACTIVE, or DELETED for a soft
--   delete), kept apart from the domain states (seat_status, ...). Domain
--   states are text with a CHECK, not enum types, so that a new state is an
--   ALTER of one constraint, in a transaction, like any other migration.
--
-- schema_migrations(version, name, applied_at) is created by the migration
-- runner itself (pg_migrate.c), which needs it before this file runs. This
-- file runs inside the runner's transaction: no BEGIN or COMMIT here.

-- ms since the epoch -> timestamptz. The division is done in double
-- precision and to_timestamp() rounds to the microsecond, which is exact for
-- whole milliseconds. IMMUTABLE (to_timestamp(double) is), so it is inlined
-- and an index on a timestamptz column still serves "col <= bo_time($1)".
CREATE FUNCTION bo_time(ms bigint) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN to_timestamp(ms::double precision / 1000);

-- timestamptz -> ms since the epoch. The epoch of an interval (numeric since
-- PostgreSQL 14) rather than extract(epoch FROM timestamptz), which is only
-- STABLE; the result is exact and rounds a stray microsecond to the nearest
-- millisecond.
CREATE FUNCTION bo_ms(t timestamptz) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN round(extract(epoch FROM t - timestamptz '1970-01-01 00:00:00+00')
               * 1000)::bigint;

CREATE TABLE users (
  user_id    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Bounded so that a name always fits the store's fixed-size buffers
  -- (200 characters of up to 4 bytes each in UTF-8).
  user_name  text        NOT NULL
                         CHECK (char_length(user_name) BETWEEN 1 AND 200),
  status     text        NOT NULL DEFAULT 'ACTIVE'
                         CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE concert (
  concert_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Bounded so that a name always fits the store's fixed-size buffers.
  concert_name text        NOT NULL
                           CHECK (char_length(concert_name) BETWEEN 1 AND 200),
  status       text        NOT NULL DEFAULT 'ACTIVE'
                           CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL
);

CREATE TABLE concert_schedule (
  concert_schedule_id bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  concert_id          bigint      NOT NULL REFERENCES concert (concert_id),
  concert_dt          timestamptz NOT NULL,
  total_seat          integer     NOT NULL CHECK (total_seat > 0),
  status              text        NOT NULL DEFAULT 'ACTIVE'
                                  CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  -- The parent key of concert_seat's (schedule, concert) foreign key, which
  -- keeps the ERD's copy of concert_id on each seat equal to its schedule's.
  UNIQUE (concert_schedule_id, concert_id)
);

-- The bookable dates of one concert, by start time.
CREATE INDEX concert_schedule_by_concert
  ON concert_schedule (concert_id, concert_dt);

CREATE TABLE concert_seat (
  seat_id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  concert_id          bigint      NOT NULL,
  concert_schedule_id bigint      NOT NULL,
  seat_num            integer     NOT NULL CHECK (seat_num > 0),
  price               bigint      NOT NULL CHECK (price >= 0),
  -- A HELD seat whose hold_expire_dt has passed is free in fact: readers
  -- report it AVAILABLE and a new hold may take it, so correctness never
  -- waits for housekeeping to write AVAILABLE.
  seat_status         text        NOT NULL DEFAULT 'AVAILABLE'
                                  CHECK (seat_status IN ('AVAILABLE', 'HELD',
                                                         'SOLD')),
  -- Who holds the seat and until when. The race for a seat is decided by
  -- one conditional UPDATE of this row, so the row itself must say whether
  -- its hold is still live.
  hold_user_id        bigint      REFERENCES users (user_id),
  hold_expire_dt      timestamptz,
  status              text        NOT NULL DEFAULT 'ACTIVE'
                                  CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  -- HELD if and only if both hold columns are set: no half-held seat, and no
  -- stale holder left on a seat that was released or sold.
  CONSTRAINT concert_seat_hold_check
    CHECK (CASE WHEN seat_status = 'HELD'
                THEN hold_user_id IS NOT NULL AND hold_expire_dt IS NOT NULL
                ELSE hold_user_id IS NULL AND hold_expire_dt IS NULL END),
  -- "Seat 7 of schedule 3" names exactly one row: the one the race is on.
  UNIQUE (concert_schedule_id, seat_num),
  FOREIGN KEY (concert_schedule_id, concert_id)
    REFERENCES concert_schedule (concert_schedule_id, concert_id)
);

-- Housekeeping finds run-out holds without reading every seat.
CREATE INDEX concert_seat_held_until
  ON concert_seat (hold_expire_dt) WHERE seat_status = 'HELD';

CREATE TABLE reservation (
  reservation_id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id               bigint      NOT NULL REFERENCES users (user_id),
  seat_id               bigint      NOT NULL REFERENCES concert_seat (seat_id),
  reservation_dt        timestamptz NOT NULL,
  reservation_expire_dt timestamptz NOT NULL,
  reservation_status    text        NOT NULL DEFAULT 'HELD'
                                    CHECK (reservation_status IN
                                           ('HELD', 'CONFIRMED', 'EXPIRED',
                                            'CANCELLED')),
  -- The seat's price when it was held: what the payment charges, whatever
  -- happens to the seat's price afterwards.
  price                 bigint      NOT NULL CHECK (price >= 0),
  status                text        NOT NULL DEFAULT 'ACTIVE'
                                    CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  -- A hold lasts a positive time.
  CHECK (reservation_expire_dt > reservation_dt)
);

-- At most one live (held or sold) reservation per seat: a second one would be
-- a double booking, so the database refuses it whatever the code did. A
-- racer that got past the seat's conditional UPDATE anyway would wait here
-- for the first one's commit and then be refused.
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
  payment_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id        bigint      NOT NULL REFERENCES users (user_id),
  -- UNIQUE: a reservation is paid at most once, even when two payments race
  -- past the code's own checks.
  reservation_id bigint      NOT NULL UNIQUE
                             REFERENCES reservation (reservation_id),
  amount         bigint      NOT NULL CHECK (amount >= 0),
  -- A payment is recorded in the same transaction that takes the money, so
  -- it is never pending; a new state has to be a deliberate migration.
  payment_status text        NOT NULL DEFAULT 'COMPLETED'
                             CHECK (payment_status IN ('COMPLETED')),
  -- The balance the payment left: a payment retried with its idempotency key
  -- answers exactly as the first one did.
  balance_after  bigint      NOT NULL CHECK (balance_after >= 0),
  payment_dt     timestamptz NOT NULL,
  status         text        NOT NULL DEFAULT 'ACTIVE'
                             CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL
);

CREATE TABLE point (
  point_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- One balance per user, created with the user: every charge and payment
  -- updates this one row, and that conditional UPDATE decides races.
  user_id    bigint      NOT NULL UNIQUE REFERENCES users (user_id),
  -- Never negative and never above 10^12 (the API's limit). The code's
  -- conditional UPDATE keeps this already; the CHECK makes any other path
  -- that would overdraw fail too.
  point      bigint      NOT NULL DEFAULT 0
                         CHECK (point >= 0 AND point <= 1000000000000),
  status     text        NOT NULL DEFAULT 'ACTIVE'
                         CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE point_history (
  point_history_id        bigint      GENERATED ALWAYS AS IDENTITY
                                      PRIMARY KEY,
  point_id                bigint      NOT NULL REFERENCES point (point_id),
  -- Always positive: type gives the direction, so a sign cannot be lost.
  amount                  bigint      NOT NULL CHECK (amount > 0),
  point_after_transaction bigint      NOT NULL
                                      CHECK (point_after_transaction >= 0),
  type                    text        NOT NULL
                                      CHECK (type IN ('CHARGE', 'USE',
                                                      'REFUND')),
  -- The payment a USE row pays for, so money out is tied to what it bought.
  payment_id              bigint      REFERENCES payment (payment_id),
  status                  text        NOT NULL DEFAULT 'ACTIVE'
                                      CHECK (status IN ('ACTIVE', 'DELETED')),
  created_at              timestamptz NOT NULL,
  updated_at              timestamptz NOT NULL
);

-- A user's history, newest first.
CREATE INDEX point_history_by_point
  ON point_history (point_id, point_history_id);

-- A request retried with the same Idempotency-Key gets the first result and
-- does nothing again. The row is written in the transaction that has the
-- effect, so both exist or neither; and two racing retries are decided by the
-- primary key, not by a read: the second waits for the first to commit and
-- then finds the key taken.
CREATE TABLE idempotency_key (
  user_id             bigint      NOT NULL REFERENCES users (user_id),
  scope               text        NOT NULL
                                  CHECK (scope IN ('CHARGE', 'PAYMENT')),
  idem_key            text        NOT NULL
                                  CHECK (char_length(idem_key)
                                         BETWEEN 1 AND 255),
  -- A canonical text of the first request: the same key with another body
  -- is refused. Bounded in bytes to fit the store's buffer.
  request_fingerprint text        NOT NULL
                                  CHECK (octet_length(request_fingerprint)
                                         < 128),
  -- What the first request made (a point_history id or a payment id), from
  -- which its response is rebuilt.
  result_id           bigint      NOT NULL,
  created_at          timestamptz NOT NULL,
  PRIMARY KEY (user_id, scope, idem_key)
);
