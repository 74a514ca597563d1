-- One pgbench transaction of the PostgreSQL write ceiling (pg_ceiling.sh):
-- the shape of boxoffice's seat race (src/store/pg_tx.c, pg_sql.c), a
-- READ COMMITTED write transaction around one conditional single-row
-- UPDATE, committed with the server's synchronous_commit (on by default:
-- the WAL is flushed before COMMIT returns).
--
-- The row is random, so clients sometimes meet on one row, wait for its
-- lock and re-check the condition on the newest version, as racers for a
-- seat do. The condition names the states the row may be in, as
-- boxoffice's names "free, or held and expired"; it always holds here, so
-- every transaction writes (pg_ceiling.sh checks that the table saw as many
-- updates as pgbench counted transactions), and the flip keeps the table
-- the same size of live rows without any reset.
\set id random(1, 1000)
\set holder random(1, 1000000000)
BEGIN ISOLATION LEVEL READ COMMITTED;
UPDATE bench_seats SET status = 1 - status, holder = :holder
 WHERE id = :id AND (status = 0 OR status = 1);
COMMIT;
