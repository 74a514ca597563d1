#!/usr/bin/env bash
# Users 1..N, each with its balance row, written straight into a boxoffice
# database that has just been migrated and holds no users yet. The bench
# and the profiles need 10,000-100,000 users in seconds; creating them over
# HTTP would measure something else.
#
#   bench/seed_users.sh sqlite:PATH|postgres://... N
set -euo pipefail
db_url="$1"
n="$2"
if [[ "$db_url" == sqlite:* ]]; then
  now_ms=$(($(date +%s) * 1000))
  sqlite3 -batch "${db_url#sqlite:}" "BEGIN;
    WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $n)
    INSERT INTO users (user_name, created_at, updated_at)
      SELECT 'bench' || i, $now_ms, $now_ms FROM k;
    INSERT INTO point (user_id, point, created_at, updated_at)
      SELECT user_id, 0, $now_ms, $now_ms FROM users;
    COMMIT;"
  count="$(sqlite3 -batch "${db_url#sqlite:}" "SELECT count(*) FROM users")"
else
  psql "$db_url" -Xq -v ON_ERROR_STOP=1 -c "BEGIN;
    INSERT INTO users (user_name, created_at, updated_at)
      SELECT 'bench' || i, now(), now() FROM generate_series(1, $n) i;
    INSERT INTO point (user_id, point, created_at, updated_at)
      SELECT user_id, 0, now(), now() FROM users;
    COMMIT;"
  count="$(psql "$db_url" -XqtA -c "SELECT count(*) FROM users")"
fi
if [ "$count" != "$n" ]; then
  echo "seed_users: $count users in the database, not $n" >&2
  exit 1
fi
