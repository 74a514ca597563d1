#!/usr/bin/env bash
# The PostgreSQL write ceiling: how many seat-race write transactions per
# second the server behind URI commits, measured with pgbench and nothing of
# boxoffice in the way.
#
#   bench/ceiling/pg_ceiling.sh URI [--clients N] [--seconds S]
#
# URI is a libpq connection string or URI (postgres://user@host:port/db);
# the user must be allowed to create a table there. Defaults: 8 clients,
# 5 seconds. Prints one JSON line on stdout:
#   {"ceiling":"pg_update","clients":N,"jobs":J,"updates":U,"seconds":S,
#    "updates_per_s":R,"latency_avg_ms":A,"p50_ms":..,"p99_ms":..,"failed":F}
# updates_per_s and latency_avg_ms are pgbench's own summary (tps without
# the connection time); p50/p99 come from its per-transaction log.
#
# Each transaction (pg_update.sql) is BEGIN ISOLATION LEVEL READ COMMITTED,
# one conditional single-row UPDATE on a random one of 1000 rows, COMMIT:
# the least a boxoffice write (a hold, a payment) does, so boxoffice on the
# same server cannot commit more of them. pgbench runs prepared statements
# (-M prepared), as boxoffice's driver does, on one connection per client,
# as boxoffice's worker threads each have theirs; it runs on the same
# machine as the server and is not the bottleneck (2 threads, -j 2).
#
# The table bench_seats is created (pg_update_setup.sql; an existing table
# of that name stops the run) and dropped at the end, also on failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  echo "usage: $0 URI [--clients N] [--seconds S]" >&2
  exit 2
}

uri=""
clients=8
seconds=5
while [ $# -gt 0 ]; do
  case "$1" in
  --clients)
    [ $# -ge 2 ] || usage
    clients="$2"
    shift 2
    ;;
  --seconds)
    [ $# -ge 2 ] || usage
    seconds="$2"
    shift 2
    ;;
  -h | --help) usage ;;
  -*)
    echo "pg_ceiling: unknown flag $1" >&2
    usage
    ;;
  *)
    [ -z "$uri" ] || usage
    uri="$1"
    shift
    ;;
  esac
done
[ -n "$uri" ] || usage
[[ "$clients" =~ ^[1-9][0-9]*$ ]] || {
  echo "pg_ceiling: --clients wants a positive whole number" >&2
  exit 2
}
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || {
  echo "pg_ceiling: --seconds wants a positive whole number" >&2
  exit 2
}
# pgbench wants no more threads than clients.
jobs=$((clients < 2 ? clients : 2))

# No message repeats the URI: it may carry a password.
sql() { psql "$uri" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

work="$(mktemp -d "${TMPDIR:-/tmp}/pg-ceiling-XXXXXX")"
created=0
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  if [ "$created" = 1 ]; then
    sql -c "DROP TABLE IF EXISTS bench_seats" >/dev/null 2>&1 ||
      echo "pg_ceiling: could not drop bench_seats" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if ! sql -f "$here/pg_update_setup.sql" >"$work/setup.log" 2>&1; then
  echo "pg_ceiling: setting up bench_seats failed:" >&2
  cat "$work/setup.log" >&2
  exit 1
fi
created=1
updates_before="$(sql -c "SELECT n_tup_upd FROM pg_stat_user_tables
                          WHERE relid = 'bench_seats'::regclass")"

if ! pgbench -n -f "$here/pg_update.sql" -c "$clients" -j "$jobs" \
  -T "$seconds" -M prepared -l --log-prefix="$work/tx" "$uri" \
  >"$work/summary" 2>"$work/pgbench.err"; then
  echo "pg_ceiling: pgbench failed:" >&2
  cat "$work/pgbench.err" "$work/summary" >&2
  exit 1
fi

summary_field() { sed -n "s/^$1//p" "$work/summary" | awk '{print $1}'; }
processed="$(summary_field 'number of transactions actually processed: ')"
failed="$(summary_field 'number of failed transactions: ')"
latency_avg="$(summary_field 'latency average = ')"
tps="$(summary_field 'tps = ')"
processed="${processed%%/*}"
if [ -z "$processed" ] || [ -z "$latency_avg" ] || [ -z "$tps" ]; then
  echo "pg_ceiling: cannot read pgbench's summary:" >&2
  cat "$work/summary" >&2
  exit 1
fi

# The log: client transaction_no time_us script epoch epoch_us ...; the
# time is "failed" for a failed transaction. Nearest-rank percentiles.
read -r p50 p99 < <(cat "$work"/tx.* | awk '$3 ~ /^[0-9]+$/ {print $3}' |
  sort -n | awk '{t[NR] = $1}
    END {
      if (NR == 0) { print "0 0"; exit }
      i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999)
      printf "%.3f %.3f\n", t[i50] / 1000, t[i99] / 1000
    }')

# Every transaction's UPDATE must have matched its row. The backends report
# their counts when they end, so give the statistics a moment to arrive.
rows_updated=0
for _ in $(seq 1 30); do
  rows_updated="$(sql -c "SELECT n_tup_upd - $updates_before
                          FROM pg_stat_user_tables
                          WHERE relid = 'bench_seats'::regclass")"
  [ "$rows_updated" -lt "$processed" ] || break
  sleep 0.1
done
if [ "$rows_updated" -ne "$processed" ]; then
  echo "pg_ceiling: warning: pgbench counted $processed transactions but" \
    "the table saw $rows_updated updates" >&2
fi

printf '{"ceiling":"pg_update","clients":%d,"jobs":%d,"updates":%d,' \
  "$clients" "$jobs" "$processed"
printf '"seconds":%d,"updates_per_s":%.1f,"latency_avg_ms":%.3f,' \
  "$seconds" "$tps" "$latency_avg"
printf '"p50_ms":%s,"p99_ms":%s,"failed":%d}\n' "$p50" "$p99" "${failed:-0}"
