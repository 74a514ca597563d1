#!/usr/bin/env bash
# make bench: boxoffice under an on-sale rush, measured against the ceilings
# of this machine taken in the same run (docs/benchmarks.md).
#
#   bench/run.sh [--smoke] [--configs LIST] [--workloads LIST] [--out DIR]
#
#   --smoke       a few seconds of everything at small sizes (CI runs it so
#                 the bench never rots); figures from it mean nothing
#   --configs     comma-separated, of: embedded (SQLite + in-process line),
#                 pg1 (PostgreSQL + Redis, one instance), pg3 (three
#                 instances behind haproxy); default all three
#   --workloads   comma-separated, of: issue, poll, seatmap, poll_rate,
#                 seatmap_rate, crowd, rush, purchase, memory, streams;
#                 default all (streams runs on embedded and pg1 only)
#   --out DIR     where results, logs and the clusters go (default
#                 BUILD/results); DIR/results.json and results.txt
#   --build DIR   the build folder (default build-bench), for a tree that
#                 several people bench at once
#
# Nothing is asserted about time. The run fails only when something did
# not work: a server that did not start, a workload with errors, a check
# after a rush or purchases that found a seat sold twice.
#
# Cores: nothing is pinned. The load generators (wrk, bench/load's bo_load)
# run one thread each and share the machine's cores with boxoffice and, in
# the scale-out configurations, PostgreSQL, Redis and haproxy; the ceilings
# are measured the same way, so a ratio compares like with like.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

smoke=no
configs="embedded,pg1,pg3"
workloads="issue,poll,seatmap,poll_rate,seatmap_rate,crowd,rush,purchase,memory,streams"
out=""
build="build-bench"
while [ $# -gt 0 ]; do
  case "$1" in
  --smoke) smoke=yes ;;
  --configs) configs="$2"; shift ;;
  --configs=*) configs="${1#*=}" ;;
  --workloads) workloads="$2"; shift ;;
  --workloads=*) workloads="${1#*=}" ;;
  --out) out="$2"; shift ;;
  --out=*) out="${1#*=}" ;;
  --build) build="$2"; shift ;;
  --build=*) build="${1#*=}" ;;
  -h | --help) sed -n '2,28p' "$0"; exit 0 ;;
  *) echo "bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# Absolute: the services started below change their working directory.
build="$(realpath -m "$build")"
out="$(realpath -m "${out:-$build/results}")"

# ---------------------------------------------------------------- sizes
# The issue's sizes (docs/benchmarks.md); the smoke keeps their shape.
if [ "$smoke" = yes ]; then
  secs=1 conns=32 issue_users=2000 poll_tokens=1000 rush_users=500
  rush_schedules=2 purchase_schedules=4 purchase_vus=16 crowd=200
  crowd_secs=3 crowd_ramp=1 line_users=10000 redis_line_users=2000
  streams=500 streams_secs=5 streams_ramp=1
else
  secs=10 conns=256 issue_users=100000 poll_tokens=10000 rush_users=10000
  rush_schedules=20 purchase_schedules=100 purchase_vus=256 crowd=10000
  crowd_secs=20 crowd_ramp=5 line_users=1000000 redis_line_users=200000
  streams=10000 streams_secs=60 streams_ramp=10
fi
threads="${BOXOFFICE_THREADS:-8}"

has() { case ",$1," in *",$2,"*) return 0 ;; *) return 1 ;; esac; }
say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }

# ---------------------------------------------------------------- build
scripts/install-deps.sh >&2
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBO_WERROR=ON \
  -DBO_TESTS=OFF -DBO_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target boxoffice bo_load \
  bo_http_ceiling bo_sqlite_ceiling bo_line_memory >&2
bin="$build"
export BOXOFFICE_BIN="$bin/boxoffice"

rm -rf "$out"
mkdir -p "$out/logs"
results="$out/results.jsonl"
: >"$results"
# 10,000 connections need as many descriptors in the load generators.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---------------------------------------------------------------- helpers
cleanup_dirs=()
cleanup() {
  for d in "${cleanup_dirs[@]}"; do
    scripts/cluster.sh down "$d" >/dev/null 2>&1 || true
  done
  [ -n "${ceiling_pid:-}" ] && kill "$ceiling_pid" 2>/dev/null || true
}
trap cleanup EXIT

# record WORKLOAD CONFIG JSON [CEILING_NAME CEILING_VALUE RATE_FIELD]
# One line of results.jsonl: the measurement plus its ratio to a ceiling.
record() {
  local workload="$1" config="$2" json="$3"
  local ceiling="${4:-}" ceiling_value="${5:-0}" rate="${6:-rps}"
  jq -c --arg w "$workload" --arg c "$config" --arg cn "$ceiling" \
    --argjson cv "$ceiling_value" --arg rate "$rate" '
    . + {workload: $w, config: $c, rate_field: $rate, rate: .[$rate],
         ceiling: (if $cn == "" then null else $cn end),
         ceiling_rate: (if $cn == "" then null else $cv end),
         ratio: (if $cn == "" or $cv == 0 then null
                 else ((.[$rate] / $cv) * 1000 | round / 1000) end)}' \
    <<<"$json" >>"$results"
  say "$workload/$config: $(jq -c '{rate_field, rate, p50_ms, p99_ms, errors, ratio}' <<<"$(tail -n 1 "$results")")"
}

# The JSON line wrk's scripts print after "json:".
wrk_json() { grep '^json:' | tail -n 1 | sed 's/^json://'; }

errors_of() { jq -r '.errors' <<<"$1"; }
# Errors fail the run, and so does a connection the server closed
# (bo_load counts those as reconnects): every answer, 409s and 429s
# included, must keep the connection alive.
fail_on_errors() {
  local what="$1" json="$2"
  [ "$(errors_of "$json")" = 0 ] || die "$what: $(errors_of "$json") errors: $json"
  [ "$(jq -r '.reconnects // 0' <<<"$json")" = 0 ] ||
    die "$what: the server closed $(jq -r .reconnects <<<"$json") connections: $json"
}

# keepalive_check URL AUTH PATH...: every answer of PATHs on one connection
# (curl reports 0 new connections after the first).
keepalive_check() {
  local url="$1" auth="$2"
  shift 2
  local args=() p
  for p in "$@"; do args+=("$url$p"); done
  local connects
  connects="$(curl -s -o /dev/null -H "Authorization: Bearer $auth" \
    -w '%{num_connects} ' "${args[@]}" "${args[@]}")"
  [ "$(tr ' ' '\n' <<<"$connects" | grep -c '^1$')" = 1 ] ||
    die "keep-alive lost on $url ($*): connections per request: $connects"
}

# ---------------------------------------------------------------- ceilings
ceilings_json="{}"
ceiling_set() {
  ceilings_json="$(jq -c --arg k "$1" --argjson v "$2" '. + {($k): $v}' <<<"$ceilings_json")"
}

measure_http_ceiling() {
  local log="$out/logs/http_ceiling.log"
  "$bin/bench/ceiling/bo_http_ceiling" --threads "$threads" \
    --listen 127.0.0.1:0 >"$log" 2>&1 &
  ceiling_pid=$!
  local port=""
  for _ in $(seq 1 100); do
    port="$(sed -n 's/^listening 127.0.0.1:\([0-9]*\)$/\1/p' "$log")"
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || die "HTTP ceiling server did not start: $(cat "$log")"
  local json
  json="$(wrk -t1 -c"$conns" -d"${secs}s" -s bench/wrk/ceiling.lua \
    "http://127.0.0.1:$port" | wrk_json)"
  kill "$ceiling_pid"
  wait "$ceiling_pid" 2>/dev/null || true
  ceiling_pid=""
  fail_on_errors "HTTP ceiling" "$json"
  ceiling_set http "$json"
  http_ceiling_rps="$(jq -r .rps <<<"$json")"
  say "HTTP ceiling: $http_ceiling_rps req/s"
}

measure_sqlite_ceiling() {
  local dir="$1" json
  json="$("$bin/bench/ceiling/bo_sqlite_ceiling" --db "$dir/ceiling.db" \
    --threads 1 --seconds "$secs")"
  ceiling_set sqlite_update "$json"
  sqlite_ceiling_rate="$(jq -r .updates_per_s <<<"$json")"
  say "SQLite write ceiling: $sqlite_ceiling_rate updates/s"
}

measure_pg_ceiling() {
  local pg_url="$1" json
  json="$(bench/ceiling/pg_ceiling.sh "$pg_url" --clients 8 --seconds "$secs")"
  ceiling_set "pg_update_$2" "$json"
  pg_ceiling_rate="$(jq -r .updates_per_s <<<"$json")"
  say "PostgreSQL write ceiling: $pg_ceiling_rate updates/s"
}

# ---------------------------------------------------------------- configs
# up CONFIG GROUP [BOXOFFICE_*=VALUE...]: a fresh cluster for one group of
# workloads (a fresh database and line), users seeded. Sets target (the URL
# the load goes to), dir, db_url, admin, pids.
up() {
  local config="$1" group="$2"
  shift 2
  dir="$out/cluster-$config-$group"
  cleanup_dirs+=("$dir")
  local n=1 flags=()
  case "$config" in
  embedded) flags=(--sqlite) ;;
  pg1) ;;
  pg3) n=3 ;;
  esac
  env "$@" BOXOFFICE_THREADS="$threads" \
    scripts/cluster.sh up "$n" "$dir" "${flags[@]}" \
    >"$out/logs/cluster-$config-$group.log" 2>&1 ||
    die "cluster $config/$group did not start: $out/logs/cluster-$config-$group.log"
  # shellcheck disable=SC1091
  source "$dir/cluster.env"
  db_url="$BOXOFFICE_DB"
  admin="$BOXOFFICE_ADMIN_TOKEN"
  if [ "$config" = pg3 ]; then
    target="$BOXOFFICE_URL"
  else
    target="${BOXOFFICE_INSTANCES%% *}"
  fi
  pids=""
  local p
  for p in "$dir"/bo/*/pid; do pids="$pids $(cat "$p")"; done
}

down() { scripts/cluster.sh down "$dir" >/dev/null 2>&1 || true; }

sql() {
  if [[ "$db_url" == sqlite:* ]]; then
    sqlite3 -batch "${db_url#sqlite:}" "$1"
  else
    psql "$db_url" -XqtA -v ON_ERROR_STOP=1 -c "$1"
  fi
}

seed_users() { bench/seed_users.sh "$db_url" "$1" || die "seeding $1 users failed"; }

# concert SCHEDULES PRICE: a concert 30 days ahead, SCHEDULES dates of 50
# seats; sets concert_id, first_schedule, last_schedule.
concert() {
  local count="$1" price="$2" day
  local body='{"name":"bench","schedules":['
  for i in $(seq 1 "$count"); do
    day="$(date -u -d "+$((30 + i)) days" +%Y-%m-%dT19:00:00Z)"
    body+="{\"startsAt\":\"$day\",\"seatCount\":50,\"price\":$price}"
    [ "$i" -lt "$count" ] && body+=","
  done
  body+=']}'
  local reply
  reply="$(curl -sf -X POST "$target/api/v1/admin/concerts" \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    --data-binary "$body")" || die "creating a concert failed"
  concert_id="$(jq -r .concertId <<<"$reply")"
  first_schedule="$(jq -r '[.schedules[].scheduleId] | min' <<<"$reply")"
  last_schedule="$(jq -r '[.schedules[].scheduleId] | max' <<<"$reply")"
  [ $((last_schedule - first_schedule + 1)) = "$count" ] ||
    die "schedule ids not consecutive: $reply"
}

rss_kib() {
  local total=0 p
  for p in $pids; do
    total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")))
  done
  echo "$total"
}

# ---------------------------------------------------------------- groups
# Group 1: issue, poll, seatmap, crowd on one line of issue_users tokens,
# half of the first poll_tokens ACTIVE.
group_line() {
  local config="$1"
  has "$workloads" issue || has "$workloads" poll || has "$workloads" seatmap ||
    has "$workloads" poll_rate || has "$workloads" seatmap_rate ||
    has "$workloads" crowd || return 0
  # The poll rate limit (10 a second per token) stays on: at the full size
  # the pool spreads polls to about 5 a second per token, and a 429 would
  # count as an error. The smoke's small pool would trip it, so it is off
  # there.
  local limit=()
  [ "$smoke" = yes ] && limit=(BOXOFFICE_POLL_RATE=0)
  up "$config" line BOXOFFICE_ACTIVE_MAX=$((poll_tokens / 2)) \
    BOXOFFICE_MAX_CONNECTIONS=$((crowd + 1000)) "${limit[@]}"
  seed_users "$issue_users"
  concert "$rush_schedules" 1000
  local tokens="$out/tokens-$config.txt" json
  json="$("$bin/bench/load/bo_load" tokens --url "$target" \
    --users "1:$issue_users" --connections "$conns" --forwarded-for \
    --out "$tokens")"
  fail_on_errors "issue/$config" "$json"
  has "$workloads" issue && record issue "$config" "$json" http "$http_ceiling_rps"
  head -n "$poll_tokens" "$tokens" >"$tokens.poll"
  local active
  active="$(awk '$3 == "ACTIVE" {print $1; exit}' "$tokens.poll")"
  keepalive_check "$target" "$active" /api/v1/queue/status \
    "/api/v1/schedules/$first_schedule/seats"

  if has "$workloads" poll; then
    json="$(wrk -t1 -c"$conns" -d"${secs}s" -s bench/wrk/poll.lua "$target" \
      -- "$tokens.poll" | wrk_json)"
    fail_on_errors "poll/$config" "$json"
    record poll "$config" "$json" http "$http_ceiling_rps"
  fi
  if has "$workloads" seatmap; then
    json="$(wrk -t1 -c"$conns" -d"${secs}s" -s bench/wrk/seatmap.lua "$target" \
      -- "$tokens.poll" "$first_schedule" "$last_schedule" | wrk_json)"
    fail_on_errors "seatmap/$config" "$json"
    record seatmap "$config" "$json" http "$http_ceiling_rps"
  fi
  # The same two at half the closed-loop rate, open loop (each of the
  # connections asks at a fixed pace whatever the answers' speed): the
  # latency a buyer meets below saturation, not the queueing of a closed
  # loop that keeps every connection busy.
  local rate_of
  for rate_of in poll seatmap; do
    has "$workloads" "${rate_of}_rate" || continue
    local closed interval maps=()
    closed="$(jq -r --arg w "$rate_of" --arg c "$config" \
      'select(.workload == $w and .config == $c) | .rps' "$results" | tail -n 1)"
    [ -n "$closed" ] || continue
    interval="$(awk -v c="$conns" -v r="$closed" 'BEGIN { i = int(c * 1000 / (r / 2) + 0.5); print (i < 1 ? 1 : i) }')"
    [ "$rate_of" = seatmap ] && maps=(--schedules "$first_schedule:$last_schedule")
    json="$("$bin/bench/load/bo_load" crowd --url "$target" --tokens "$tokens.poll" \
      --connections "$conns" --interval-ms "$interval" --duration "$secs" \
      --ramp-seconds 1 "${maps[@]}")"
    fail_on_errors "${rate_of}_rate/$config" "$json"
    json="$(jq -c --argjson closed "$closed" \
      '. + {rps: .polls_per_s, note: "open loop at \(.target_polls_per_s | round)/s, half the closed-loop \($closed | round)/s"}' <<<"$json")"
    record "${rate_of}_rate" "$config" "$json"
  done

  if has "$workloads" crowd; then
    local before during
    before="$(rss_kib)"
    "$bin/bench/load/bo_load" crowd --url "$target" --tokens "$tokens.poll" \
      --connections "$crowd" --duration "$crowd_secs" \
      --ramp-seconds "$crowd_ramp" >"$out/crowd-$config.json" &
    local load_pid=$!
    # Read while every connection is open: a second before the end.
    sleep $((crowd_ramp + crowd_secs - 1))
    during="$(rss_kib)"
    wait "$load_pid" || die "crowd/$config: bo_load failed"
    json="$(jq -c --argjson b "$before" --argjson d "$during" --argjson n "$crowd" \
      '. + {server_rss_kib_before: $b, server_rss_kib_during: $d,
            server_kib_per_connection: ((($d - $b) / $n) * 100 | round / 100)}' \
      "$out/crowd-$config.json")"
    fail_on_errors "crowd/$config" "$json"
    record crowd "$config" "$json"
  fi
  down
}

# Group 2: rush_users ACTIVE users race for every seat of rush_schedules
# dates; afterwards the database must hold exactly one live hold per seat.
group_rush() {
  local config="$1" write_ceiling="$2"
  has "$workloads" rush || return 0
  up "$config" rush BOXOFFICE_ACTIVE_MAX="$rush_users"
  seed_users "$rush_users"
  concert "$rush_schedules" 1000
  local tokens="$out/rush-tokens-$config.txt" json
  json="$("$bin/bench/load/bo_load" tokens --url "$target" \
    --users "1:$rush_users" --connections "$conns" --forwarded-for \
    --out "$tokens")"
  fail_on_errors "rush tokens/$config" "$json"
  json="$("$bin/bench/load/bo_load" rush --url "$target" --tokens "$tokens" \
    --schedules "$first_schedule:$last_schedule" --seats 50 \
    --connections "$conns")"
  fail_on_errors "rush/$config" "$json"
  local seats=$((rush_schedules * 50)) counts held
  counts="$(sql "SELECT (SELECT count(*) FROM concert_seat WHERE seat_status = 'HELD')
    || ' ' || (SELECT count(DISTINCT seat_id) FROM reservation WHERE reservation_status = 'HELD')
    || ' ' || (SELECT count(*) FROM reservation WHERE reservation_status = 'HELD')")"
  held="${counts%% *}"
  [ "$(jq -r .holds <<<"$json")" = "$seats" ] &&
    [ "$counts" = "$seats $seats $seats" ] &&
    [ "$(jq -r .duplicate_wins <<<"$json")" = 0 ] ||
    die "rush/$config: $seats seats but holds $(jq -r .holds <<<"$json"); HELD seats, seats with a HELD reservation, HELD reservations: $counts"
  json="$(jq -c --argjson h "$held" '. + {check: "one live hold per seat", held_in_db: $h}' <<<"$json")"
  record rush "$config" "$json" "$write_ceiling" "$3" holds_per_s
  down
}

# Group 3: the whole flow per virtual user; afterwards every sold seat has
# exactly one payment and no balance is negative.
group_purchase() {
  local config="$1" write_ceiling="$2"
  has "$workloads" purchase || return 0
  up "$config" purchase
  local seats=$((purchase_schedules * 50))
  seed_users $((seats + purchase_vus * 2))
  concert "$purchase_schedules" 1000
  local json
  json="$("$bin/bench/load/bo_load" purchase --url "$target" \
    --users "1:$((seats + purchase_vus * 2))" --concert "$concert_id" \
    --connections "$purchase_vus" --duration "$secs" --forwarded-for)"
  fail_on_errors "purchase/$config" "$json"
  # One statement, so one snapshot: payments still landing after the
  # driver stopped cannot make the counts disagree.
  local counts sold
  counts="$(sql "SELECT (SELECT count(*) FROM concert_seat WHERE seat_status = 'SOLD')
    || ' ' || (SELECT count(*) FROM payment)
    || ' ' || (SELECT count(DISTINCT reservation_id) FROM payment)
    || ' ' || (SELECT count(*) FROM point WHERE point < 0)")"
  sold="${counts%% *}"
  [ "$counts" = "$sold $sold $sold 0" ] &&
    [ "$sold" -ge "$(jq -r .purchases <<<"$json")" ] ||
    die "purchase/$config: sold, payments, paid reservations, negative balances: $counts; purchases $(jq -r .purchases <<<"$json")"
  json="$(jq -c --argjson s "$sold" '. + {check: "one payment per sold seat, no negative balance", sold_in_db: $s}' <<<"$json")"
  record purchase "$config" "$json" "$write_ceiling" "$3" purchases_per_s
  down
}

# Group 4: `streams` open event streams (GET /queue/stream), one per
# token, held streams_secs after a ramp of streams_ramp seconds, on a line
# that moves: activeMax is 1% of the tokens with 30 s of active time, so
# the front is let in every 30 s and each admission moves every position
# behind it, the ACTIVE streams end when their time runs out and go quiet
# (heartbeats) before that. The server's resident size is read before the
# streams open, while they are all open, and after they closed; on Redis
# the scripts the queue ran per second while they were held (the stream
# hub's checks plus housekeeping) are read from INFO commandstats.
group_streams() {
  local config="$1"
  has "$workloads" streams || return 0
  # Through haproxy the figures would be haproxy's connections as much as
  # ours; one instance is the question.
  [ "$config" = pg3 ] && return 0
  up "$config" streams BOXOFFICE_ACTIVE_MAX=$((streams / 100)) \
    BOXOFFICE_ACTIVE_SECONDS=30 BOXOFFICE_MAX_CONNECTIONS=$((streams + 2000))
  seed_users "$streams"
  local tokens="$out/stream-tokens-$config.txt" json
  json="$("$bin/bench/load/bo_load" tokens --url "$target" \
    --users "1:$streams" --connections "$conns" --forwarded-for \
    --out "$tokens")"
  fail_on_errors "streams tokens/$config" "$json"
  local before during after scripts_a="" scripts_b="" t_a t_b cpu_a cpu_b
  local rcpu_a="" rcpu_b=""
  sleep 1
  before="$(rss_kib)"
  "$bin/bench/load/bo_load" streams --url "$target" --tokens "$tokens" \
    --connections "$streams" --duration "$streams_secs" \
    --ramp-seconds "$streams_ramp" >"$out/streams-$config.json" &
  local load_pid=$!
  # The hold, from two seconds after the ramp to a second before the end:
  # every stream open, none opening.
  sleep $((streams_ramp + 2))
  t_a="$(date +%s.%N)"
  cpu_a="$(cpu_seconds)"
  if [ "$config" != embedded ]; then
    scripts_a="$(redis_scripts)"
    rcpu_a="$(redis_cpu_seconds)"
  fi
  sleep $((streams_secs - 3))
  during="$(rss_kib)"
  t_b="$(date +%s.%N)"
  cpu_b="$(cpu_seconds)"
  if [ "$config" != embedded ]; then
    scripts_b="$(redis_scripts)"
    rcpu_b="$(redis_cpu_seconds)"
  fi
  wait "$load_pid" || die "streams/$config: bo_load failed"
  sleep 2
  after="$(rss_kib)"
  local per_s=null server_cpu redis_cpu=null
  held_rate() { awk -v a="$1" -v b="$2" -v ta="$t_a" -v tb="$t_b" -v k="$3" \
    'BEGIN { printf "%.1f", (b - a) * k / (tb - ta) }'; }
  server_cpu="$(held_rate "$cpu_a" "$cpu_b" 100)"
  if [ -n "$scripts_a" ]; then
    per_s="$(held_rate "$scripts_a" "$scripts_b" 1)"
    redis_cpu="$(held_rate "$rcpu_a" "$rcpu_b" 100)"
  fi
  # The stream hub's own summary lines (every 30 s): checks, events and
  # heartbeats it queued, and its slowest round.
  grep -h 'msg="event streams"' "$dir"/bo/*/log >"$out/logs/streams-$config-hub.log" || true
  local hub
  hub="$(awk -v n="$streams" '{
      for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      if (f["open"] >= n * 0.9 && f["over_ms"] > 0) {
        checks = f["checks"] * 1000 / f["over_ms"]; slowest = f["slowest_round_ms"]
      }
    } END { printf "{\"hub_checks_per_s\": %s, \"hub_slowest_round_ms\": %s}",
            checks == "" ? "null" : sprintf("%.1f", checks), slowest == "" ? "null" : slowest }' \
    "$out/logs/streams-$config-hub.log")"
  json="$(jq -c --argjson b "$before" --argjson d "$during" --argjson a "$after" \
    --argjson sps "$per_s" --argjson cpu "$server_cpu" --argjson rcpu "$redis_cpu" \
    --argjson hub "$hub" \
    '. + {server_rss_kib_before: $b, server_rss_kib_during: $d,
          server_rss_kib_after: $a, server_cpu_percent_held: $cpu,
          redis_scripts_per_s: $sps, redis_cpu_percent_held: $rcpu,
          server_bytes_per_stream: (if .connections_open > 0
            then (($d - $b) * 1024 / .connections_open | round) else null end)}
      + $hub' \
    "$out/streams-$config.json")"
  fail_on_errors "streams/$config" "$json"
  [ "$(jq -r .streams_opened <<<"$json")" = "$streams" ] ||
    die "streams/$config: $(jq -r .streams_opened <<<"$json") of $streams streams opened: $json"
  record streams "$config" "$json" "" 0 events_per_s
  down
}

# EVALSHA calls Redis has served so far (the queue's scripts).
redis_scripts() {
  redis-cli -u "$BOXOFFICE_QUEUE" info commandstats |
    sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p'
}

# CPU seconds (user + system) Redis has used so far.
redis_cpu_seconds() {
  redis-cli -u "$BOXOFFICE_QUEUE" info cpu | tr -d '\r' |
    awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.3f", s }'
}

# CPU seconds (user + system) the instances have used so far.
cpu_seconds() {
  local p ticks=0 hz
  hz="$(getconf CLK_TCK)"
  for p in $pids; do
    ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
  done
  awk -v t="$ticks" -v hz="$hz" 'BEGIN { printf "%.3f", t / hz }'
}

# ---------------------------------------------------------------- run
measure_http_ceiling
has "$configs" embedded && measure_sqlite_ceiling "$out"

for config in embedded pg1 pg3; do
  has "$configs" "$config" || continue
  say "---- $config"
  write_ceiling=sqlite_update
  write_rate="${sqlite_ceiling_rate:-0}"
  if [ "$config" != embedded ]; then
    # The PostgreSQL of this configuration's clusters, measured on a
    # cluster of its own (the same settings, a fresh database).
    up "$config" ceiling
    measure_pg_ceiling "${db_url%/boxoffice}/postgres" "$config"
    down
    write_ceiling=pg_update
    write_rate="$pg_ceiling_rate"
  fi
  group_line "$config"
  group_rush "$config" "$write_ceiling" "$write_rate"
  group_purchase "$config" "$write_ceiling" "$write_rate"
  group_streams "$config"
done

if has "$workloads" memory; then
  json="$("$bin/bench/memory/bo_line_memory" --queue memory --users "$line_users")"
  record line_memory embedded "$json"
  if has "$configs" pg1 || has "$configs" pg3; then
    redis_dir="$out/redis-memory"
    cleanup_dirs+=("$redis_dir")
    redis_url="$(tests/services.sh start-redis "$redis_dir")"
    json="$("$bin/bench/memory/bo_line_memory" --queue "$redis_url/9" \
      --users "$redis_line_users")"
    tests/services.sh stop-redis "$redis_dir" >/dev/null 2>&1 || true
    record line_memory redis "$json"
  fi
fi

# ---------------------------------------------------------------- report
jq -s --argjson ceilings "$ceilings_json" --arg smoke "$smoke" \
  --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
  --argjson cores "$(nproc)" --arg kernel "$(uname -r)" \
  --arg commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --arg when "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  '{when: $when, commit: $commit, smoke: ($smoke == "yes"),
    machine: {cpu: $cpu, cores: $cores, kernel: $kernel},
    ceilings: $ceilings, results: .}' "$results" >"$out/results.json"

{
  printf '%-13s %-9s %15s %9s %9s %7s  %s\n' workload config rate p50_ms p99_ms errors "ratio to ceiling"
  jq -r '.results[] |
    [.workload, .config,
     (if .rate then (.rate | round | tostring) + " " + (.rate_field | sub("_per_s$"; "/s") | sub("^rps$"; "req/s")) else
        (if .bytes_per_waiting then (.bytes_per_waiting | tostring) + " B/waiting" else "-" end) end),
     (.p50_ms // "-" | tostring), (.p99_ms // "-" | tostring), (.errors // "-" | tostring),
     (if .ratio then "\(.ratio * 100 | round)% of \(.ceiling) (\(.ceiling_rate | round)/s)"
      elif .note then .note
      elif .server_kib_per_connection then "server \(.server_kib_per_connection) KiB/connection"
      elif .server_bytes_per_stream then "\(.connections_open) streams, server \(.server_bytes_per_stream) B/stream"
      else "-" end)] | @tsv' "$out/results.json" |
    while IFS=$'\t' read -r w c r p50 p99 e ratio; do
      printf '%-13s %-9s %15s %9s %9s %7s  %s\n' "$w" "$c" "$r" "$p50" "$p99" "$e" "$ratio"
    done
} | tee "$out/results.txt"
say "results: $out/results.json, $out/results.txt"
