#!/usr/bin/env bash
# Smoke test of the deployment: three boxoffice instances on one PostgreSQL
# and one Redis behind haproxy (scripts/cluster.sh, deploy/haproxy.cfg), all
# driven through the load balancer with curl.
#
#   tests/deploy_smoke.sh [BOXOFFICE_BIN] [--sqlite]
#
#  1. the whole flow: user, charge, queue token, hold, payment, replayed
#     payment (same Idempotency-Key), the reservation CONFIRMED, the balance
#  2. 50 users race for one seat at once: exactly one 201, the rest 409
#  3. every instance served API requests (each one's /metrics)
#  4. kill -9 of one instance: requests through haproxy keep succeeding
#     (connection failures retried on another instance), haproxy marks it DOWN,
#     a new hold + payment still works
#  5. Redis stopped: every instance's /healthz says 503 and haproxy marks
#     them all DOWN, yet requests still reach them (unchecked backups):
#     points are served, a token request gets the instance's own 503
#     UNAVAILABLE; with Redis back, tokens work again at once
#  6. `cluster.sh down` leaves no process and no folder
#
# --sqlite runs one instance on SQLite and the in-process line instead (for a
# machine without the PostgreSQL/Redis drivers); 3, 4 and 5 are then skipped.
# Exit 0 only if every check held. Takes 10-20 s.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cluster="$root/scripts/cluster.sh"

store=pg
bin_arg=""
for a in "$@"; do
  case "$a" in
  --sqlite) store=sqlite ;;
  -h | --help)
    sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
  *) bin_arg="$a" ;;
  esac
done

# Hermetic: none of the caller's BOXOFFICE_* settings, only ours.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^BOXOFFICE_' || true)
export BOXOFFICE_BIN="${bin_arg:-$root/build/boxoffice}"
BOXOFFICE_ADMIN_TOKEN="smoke-$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
export BOXOFFICE_ADMIN_TOKEN
export BOXOFFICE_ACTIVE_MAX=1000 BOXOFFICE_HOLD_SECONDS=300 BOXOFFICE_ACTIVE_SECONDS=600

n=3
[ "$store" = pg ] || n=1
work="$(mktemp -d "${TMPDIR:-/tmp}/bo-deploy-smoke-XXXXXX")"
chmod 755 "$work" # PostgreSQL runs as the postgres user when we are root
cdir="$work/cluster"
started=$(date +%s)

passed=0
failed=0
skipped=0
results=()
ok() {
  passed=$((passed + 1))
  results+=("PASS  $*")
  echo "PASS  $*"
}
bad() {
  failed=$((failed + 1))
  results+=("FAIL  $*")
  echo "FAIL  $*"
}
skip() {
  skipped=$((skipped + 1))
  results+=("SKIP  $*")
  echo "SKIP  $*"
}
check() { # description, then a command that must succeed
  local what="$1"
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

finish() {
  local rc=$?
  trap - EXIT
  if [ -d "$cdir" ]; then
    if [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
      for l in "$cdir"/haproxy/haproxy.log "$cdir"/bo/*/log; do
        [ -f "$l" ] || continue
        echo "--- $l (last lines)"
        tail -n 10 "$l"
      done
    fi
    "$cluster" down "$cdir" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  echo
  echo "deploy smoke test ($store, $n instance(s) behind haproxy), $(($(date +%s) - started)) s:"
  printf '  %s\n' "${results[@]}"
  if [ "$failed" -eq 0 ] && [ "$rc" -eq 0 ] && [ "$passed" -gt 0 ]; then
    echo "deploy smoke test: OK ($passed passed, $skipped skipped)"
    exit 0
  fi
  echo "deploy smoke test: FAILED ($failed failed, $passed passed, $skipped skipped)"
  exit 1
}
trap finish EXIT

# ------------------------------------------------------------ HTTP helpers

J='Content-Type: application/json'
# req METHOD PATH [BODY] [curl options...] -> sets $code and $body
req() {
  local method="$1" path="$2" data="${3:-}" out
  shift 2
  [ $# -eq 0 ] || shift
  local args=(-s --max-time 10 -X "$method" -w '\n%{http_code}')
  [ -z "$data" ] || args+=(-H "$J" -d "$data")
  out="$(curl "${args[@]}" "$@" "$B$path" 2>/dev/null)" || out=$'\n000'
  code="${out##*$'\n'}"
  body="${out%$'\n'*}"
}
ms() { date +%s%3N; }
since() { # start in ms -> seconds with one decimal
  local d=$(($(ms) - $1))
  echo "$((d / 1000)).$((d % 1000 / 100))"
}
# num FIELD: the number after "FIELD": in $body; str FIELD: the string.
num() { sed -n "s/.*\"$1\":\(-\{0,1\}[0-9][0-9]*\).*/\1/p" <<<"$body" | head -n 1; }
str() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$body" | head -n 1; }

expect() { # what, expected code(s) as a regex
  if [[ "$code" =~ ^($2)$ ]]; then return 0; fi
  bad "$1: HTTP $code, expected $2: $body"
  return 1
}

new_user() { # name -> echo userId
  req POST /api/v1/users "{\"name\":\"$1\"}"
  [ "$code" = 201 ] && num userId
}
new_token() { # userId -> echo token (ACTIVE expected)
  req POST /api/v1/queue/tokens "{\"userId\":$1}"
  [[ "$code" =~ ^20[01]$ ]] && [ "$(str status)" = ACTIVE ] && str token
}

# ------------------------------------------------------------ bring it up

echo "== cluster.sh up $n ($store) in $cdir"
up_args=(up "$n" "$cdir")
[ "$store" = pg ] || up_args+=(--sqlite)
t0=$(ms)
if ! B="$("$cluster" "${up_args[@]}" 2>"$work/up.log")"; then
  cat "$work/up.log"
  bad "cluster.sh up $n"
  exit 1
fi
ok "cluster.sh up $n: $B in $(since "$t0") s"
# shellcheck disable=SC1091 # written by cluster.sh
. "$cdir/cluster.env"
read -r -a instances <<<"$BOXOFFICE_INSTANCES"
stats="$BOXOFFICE_STATS_URL"
stats_csv() { curl -s --max-time 2 "$stats;csv"; }

# ------------------------------------------------------------ 1. the flow

echo "== 1. the whole flow through haproxy"
starts="$(date -u -d '+30 days' +%Y-%m-%dT20:00:00Z)"
req POST /api/v1/admin/concerts \
  "{\"name\":\"Deploy smoke\",\"schedules\":[{\"startsAt\":\"$starts\",\"seatCount\":50,\"price\":150000}]}" \
  -H "Authorization: Bearer $BOXOFFICE_ADMIN_TOKEN"
sched=""
if expect "admin: create a concert" 201; then
  sched="$(num scheduleId)"
  ok "admin: concert with schedule $sched"
fi

has() { [[ "$body" == *"$1"* ]]; }
need() { # message, then a command that must succeed
  local what="$1"
  shift
  "$@" && return 0
  bad "$what: $body"
  return 1
}
flow() { # label seat: new user, charge, token, hold, pay, replay, checks
  local label="$1" seat="$2" uid tok rid key pid
  uid="$(new_user "$label")"
  need "$label: create user (HTTP $code)" [ -n "$uid" ] || return 1
  key="smoke-$label-$RANDOM$RANDOM"
  req POST "/api/v1/users/$uid/points/charge" '{"amount":200000}' -H "Idempotency-Key: charge-$key"
  expect "$label: charge" 200 || return 1
  need "$label: balance after charge" [ "$(num balance)" = 200000 ] || return 1
  tok="$(new_token "$uid")"
  need "$label: an ACTIVE queue token (HTTP $code)" [ -n "$tok" ] || return 1
  req POST /api/v1/reservations "{\"scheduleId\":$sched,\"seatNumber\":$seat}" -H "Authorization: Bearer $tok"
  expect "$label: hold seat $seat" 201 || return 1
  need "$label: hold is HELD" [ "$(str status)" = HELD ] || return 1
  rid="$(num reservationId)"
  req POST /api/v1/payments "{\"reservationId\":$rid}" -H "Authorization: Bearer $tok" -H "Idempotency-Key: pay-$key"
  expect "$label: pay" 201 || return 1
  need "$label: payment COMPLETED, balance 50000" \
    [ "$(str status)/$(num balance)" = COMPLETED/50000 ] || return 1
  pid="$(num paymentId)"
  # The retry may land on another instance; it must answer from the first.
  req POST /api/v1/payments "{\"reservationId\":$rid}" -H "Authorization: Bearer $tok" -H "Idempotency-Key: pay-$key"
  expect "$label: replayed payment" 201 || return 1
  need "$label: replay answers payment $pid" [ "$(num paymentId)" = "$pid" ] || return 1
  req GET "/api/v1/users/$uid/reservations"
  expect "$label: list reservations" 200 || return 1
  need "$label: reservation CONFIRMED" has '"status":"CONFIRMED"' || return 1
  req GET "/api/v1/users/$uid/points"
  expect "$label: balance" 200 || return 1
  need "$label: balance 50000 after payment" [ "$(num balance)" = 50000 ] || return 1
  req GET /api/v1/queue/status "" -H "Authorization: Bearer $tok"
  expect "$label: token spent after payment" 401 || return 1
}
if [ -n "$sched" ] && flow flow 1; then
  ok "flow: user, charge, token, hold, pay, replay by Idempotency-Key, CONFIRMED, balance 50000"
fi

req GET /healthz "" -H "X-Request-Id: smoke-rid-$$"
sleep 0.2
check "X-Request-Id passes through (haproxy log shows smoke-rid-$$)" \
  grep -q "{smoke-rid-$$}" "$cdir/haproxy/haproxy.log"

# ------------------------------------------------------------ 2. the race

echo "== 2. 50 clients race for one seat through haproxy"
racers=50
race_ok=yes
declare -a tokens=()
for i in $(seq 1 "$racers"); do
  (
    uid="$(new_user "racer$i")" || exit 1
    new_token "$uid" >"$work/token.$i"
  ) &
done
wait
for i in $(seq 1 "$racers"); do
  tokens[i]="$(cat "$work/token.$i" 2>/dev/null)"
  [ -n "${tokens[i]}" ] || race_ok=no
done
if [ "$race_ok" = no ] || [ -z "$sched" ]; then
  bad "race: could not give $racers users an ACTIVE token"
else
  for i in $(seq 1 "$racers"); do
    curl -s --max-time 10 -o "$work/race.$i.body" -w '%{http_code}' -X POST -H "$J" \
      -H "Authorization: Bearer ${tokens[i]}" -d "{\"scheduleId\":$sched,\"seatNumber\":2}" \
      "$B/api/v1/reservations" >"$work/race.$i.code" 2>/dev/null &
  done
  wait
  wins=0 losses=0 other=""
  for i in $(seq 1 "$racers"); do
    c="$(cat "$work/race.$i.code")"
    case "$c" in
    201) wins=$((wins + 1)) ;;
    409) grep -q SEAT_UNAVAILABLE "$work/race.$i.body" && losses=$((losses + 1)) || other="$other $c" ;;
    *) other="$other $c" ;;
    esac
  done
  if [ "$wins" -eq 1 ] && [ "$losses" -eq $((racers - 1)) ]; then
    ok "race: $racers holds of one seat -> 1 x 201, $losses x 409 SEAT_UNAVAILABLE"
  else
    bad "race: $wins x 201, $losses x 409, others:${other:- none}"
  fi
fi

# ------------------------------------------------------------ 3. the spread

# API requests an instance answered, from its own /metrics (health checks
# and scrapes left out).
api_requests() {
  curl -s --max-time 3 "$1/metrics" |
    awk '/^boxoffice_http_requests_total\{/ && !/route="\/(healthz|metrics)"/ { s += $NF } END { print s + 0 }'
}
echo "== 3. every instance served traffic"
if [ "$n" -lt 2 ]; then
  skip "spread over instances (one instance)"
else
  spread=""
  all=yes
  for k in $(seq 1 "$n"); do
    r="$(api_requests "${instances[k - 1]}")"
    spread="$spread bo$k=$r"
    [ "${r:-0}" -gt 0 ] || all=no
  done
  lb="$(stats_csv | awk -F, '$1 == "boxoffice" && $2 ~ /^bo[0-9]+$/ { printf " %s=%s", $2, $8 }')"
  if [ "$all" = yes ]; then
    ok "spread: API requests per instance:$spread (haproxy sessions:$lb)"
  else
    bad "spread: an instance got no API request:$spread (haproxy sessions:$lb)"
  fi
fi

# ------------------------------------------------------------ 4. kill -9

echo "== 4. kill -9 of one instance"
if [ "$n" -lt 2 ]; then
  skip "failover after kill -9 (one instance)"
else
  victim=2
  vpid="$(cat "$cdir/bo/$victim/pid")"
  kill -9 "$vpid"
  t0=$(ms)
  # At once, before any health check noticed: connection failures must be
  # retried on the others, for POSTs too (the request never left haproxy).
  fails=""
  total=0
  for i in $(seq 1 10); do
    for step in concerts user charge points; do
      case "$step" in
      concerts) req GET /api/v1/concerts ;;
      user) req POST /api/v1/users "{\"name\":\"after-kill-$i\"}" ;;
      charge) req POST /api/v1/users/1/points/charge '{"amount":1}' -H "Idempotency-Key: after-kill-$$-$i" ;;
      points) req GET /api/v1/users/1/points ;;
      esac
      total=$((total + 1))
      [[ "$code" =~ ^20[01]$ ]] || fails="$fails $step:$code"
    done
  done
  retried="$(stats_csv | awk -F, '$1 == "boxoffice" && $2 == "BACKEND" { print "retried " $16 ", redispatched " $17 }')"
  if [ -z "$fails" ]; then
    ok "after kill -9 of bo$victim: $total/$total requests through haproxy succeeded (haproxy $retried)"
  else
    bad "after kill -9 of bo$victim: failures:$fails"
  fi
  down_after=""
  for _ in $(seq 1 100); do
    st="$(stats_csv | awk -F, -v s="bo$victim" '$1 == "boxoffice" && $2 == s { print $18 }')"
    if [[ "$st" == DOWN* ]]; then
      down_after="$(since "$t0")"
      break
    fi
    sleep 0.1
  done
  if [ -n "$down_after" ]; then
    ok "haproxy marked bo$victim DOWN ${down_after} s after the kill"
  else
    bad "haproxy still reports bo$victim as '$st' 10 s after the kill"
  fi
  [ -z "$sched" ] || if flow after-kill 3; then
    ok "flow after the kill: hold + pay on the surviving instances"
  fi
fi

# ------------------------------------------------------------ 5. Redis down

echo "== 5. Redis stopped and started again"
if [ "$store" != pg ]; then
  skip "Redis stopped (no Redis in --sqlite)"
else
  "$root/tests/services.sh" stop-redis "$cdir/redis"
  # Every /healthz now says 503, so haproxy takes every instance out; the
  # unchecked backups keep the instances reachable.
  all_down=""
  for _ in $(seq 1 80); do
    st="$(stats_csv | awk -F, '$1 == "boxoffice" && $2 ~ /^bo[0-9]+$/ && $18 !~ /^DOWN/' | wc -l)"
    if [ "$st" -eq 0 ]; then
      all_down=yes
      break
    fi
    sleep 0.1
  done
  [ -n "$all_down" ] || bad "Redis stopped: haproxy did not mark the instances DOWN"
  req GET /api/v1/users/1/points
  check "Redis stopped: points (PostgreSQL only) still served through haproxy (HTTP $code)" [ "$code" = 200 ]
  req POST /api/v1/queue/tokens '{"userId":1}'
  check "Redis stopped: a token request gets the instance's 503 UNAVAILABLE (HTTP $code)" \
    [ "$code/$(str code)" = 503/UNAVAILABLE ]
  "$root/tests/services.sh" start-redis "$cdir/redis" >/dev/null
  t0=$(ms)
  for _ in $(seq 1 50); do
    req POST /api/v1/queue/tokens '{"userId":1}'
    [[ "$code" =~ ^20[01]$ ]] && break
    sleep 0.1
  done
  if [[ "$code" =~ ^20[01]$ ]]; then
    ok "Redis back: queue tokens through haproxy again after $(since "$t0") s"
  else
    bad "Redis back: still HTTP $code 5 s after the restart: $body"
  fi
fi

# ------------------------------------------------------------ 6. down

echo "== 6. cluster.sh down"
ports=()
for u in "${instances[@]}" "$B" "${stats%/stats}"; do ports+=("${u##*:}"); done
if "$cluster" down "$cdir" >"$work/down.log" 2>&1; then
  left=""
  for p in "${ports[@]}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then left="$left $p"; fi
  done
  procs="$(grep -l "CLUSTER_SH_DIR=$cdir" /proc/[0-9]*/environ 2>/dev/null | tr '\n' ' ')"
  if [ -z "$left" ] && [ -z "$procs" ] && [ ! -e "$cdir" ]; then
    ok "down: no process, no port, no folder left"
  else
    bad "down left: ports [$left] processes [$procs] folder $([ -e "$cdir" ] && echo yes || echo no)"
  fi
else
  cat "$work/down.log"
  bad "cluster.sh down failed"
fi
