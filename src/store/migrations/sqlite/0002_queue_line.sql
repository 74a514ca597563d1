-- The stored settings of the waiting lines (the queue itself stays in Redis
-- or in the process, as the ERD says; only what an operator sets, and what
-- must survive a restart, is here). Conventions as in 0001_init.sql.

CREATE TABLE queue_line (
  -- 0 is the one global line; any other id is the concert_id of the
  -- concert whose own line it is, so a concert has at most one line.
  line_id              INTEGER PRIMARY KEY CHECK (line_id >= 0),
  -- The concert a concert line belongs to, derived from line_id rather than
  -- written: a foreign key needs a column that may be NULL for line 0, and a
  -- generated one can never disagree with line_id. A CHECK or a trigger
  -- could say "line_id names a concert unless it is 0" too, but the foreign
  -- key is the rule the database already knows how to keep (and to report
  -- as a missing parent), and it also stops the concert row from being
  -- deleted from under its line.
  concert_id           INTEGER GENERATED ALWAYS AS (NULLIF(line_id, 0)) STORED
                               REFERENCES concert (concert_id),
  -- How many may be ACTIVE at once; 0: the process's BOXOFFICE_ACTIVE_MAX.
  active_max           INTEGER NOT NULL CHECK (active_max >= 0),
  -- 0: no rate limit.
  admit_per_minute     INTEGER NOT NULL CHECK (admit_per_minute >= 0),
  -- When the sale opens; NULL (0 in the store interface) for a line with no
  -- pre-queue. NULL rather than 0 so that "none" has one spelling and never
  -- reads as a time.
  on_sale_at           INTEGER CHECK (on_sale_at > 0),
  -- Seats left times this / 100 may be ACTIVE at once; 0: no inventory cap.
  -- At most 100 times the seats left.
  inventory_factor_pct INTEGER NOT NULL
                               CHECK (inventory_factor_pct BETWEEN 0 AND 10000),
  -- 0 or 1: STRICT tables have no boolean type.
  paused               INTEGER NOT NULL CHECK (paused IN (0, 1)),
  -- The draw's secret, exactly the store's 32 bytes: a shorter one would be
  -- a weaker secret, a longer one would not fit the store's buffer.
  seed                 BLOB    NOT NULL CHECK (length(seed) = 32),
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL
) STRICT;
-- No status column (the ERD's soft-delete marker on its own tables): a line
-- is never deleted, and `paused` is the one state an operator sets.
