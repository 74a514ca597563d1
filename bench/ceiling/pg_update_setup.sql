-- The table of the PostgreSQL write ceiling (pg_ceiling.sh runs this, then
-- pg_update.sql under pgbench, then drops the table): 1000 seats, all free.
-- CREATE without IF NOT EXISTS: a table of that name that is not ours stops
-- the run instead of being flipped and dropped.
CREATE TABLE bench_seats (
  id integer PRIMARY KEY,
  status integer NOT NULL CHECK (status IN (0, 1)),
  holder bigint
);
INSERT INTO bench_seats (id, status)
SELECT i, 0 FROM generate_series(1, 1000) AS i;
VACUUM ANALYZE bench_seats;
