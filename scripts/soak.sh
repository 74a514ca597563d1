#!/usr/bin/env bash
# The chaos soak: three boxoffice instances on PostgreSQL + Redis behind
# haproxy, a mixed booking load, and faults injected while it runs; then an
# invariant checker proves from the database and the record of every
# acknowledged operation that nothing was lost, doubled or oversold.
#
#   scripts/soak.sh [SECONDS] [DIR]      (`make soak`: 300 s; CI: 45 s)
#
#  1. builds what is missing: the server (build/boxoffice, or $BOXOFFICE_BIN)
#     and the soak tools (tests/soak -> build/soak, or $SOAK_BUILD); the
#     server binary is copied first, so a rebuild meanwhile cannot change
#     what the cluster runs (cluster.sh would restart every instance)
#  2. scripts/cluster.sh up 3: PostgreSQL, Redis, 3 instances, haproxy, with
#     activeMax 20, holds of 5 s, ACTIVE for 20 s, idle after 10 s
#  3. through the admin API: two concerts, enough seats for the run
#  4. for SECONDS, at once:
#     tests/soak/soak_load   virtual users booking through haproxy and
#                            straight to the instances, retrying charges and
#                            payments with their Idempotency-Key; records
#                            every acknowledged operation; samples the
#                            line's ACTIVE set in Redis every 100 ms
#     tests/soak/inject.sh   kill -9 of instances, Redis restarts,
#                            PostgreSQL restarts (fast, and one crash)
#     then up to 30 s more for operations in flight to settle
#  5. tests/soak/soak_check: the invariant report (must show 0 violations),
#     then soak_check --self-test: corruptions of a copy of the same data,
#     each of which must be reported (proof that the checks can fail)
#  6. scripts/cluster.sh down, also when anything failed or on Ctrl-C
#
# Exit 0 only if there was no violation, the self-test passed and no
# instance died by itself. DIR (default: a new temporary folder) keeps the
# record, counts, logs and report; the cluster lives in DIR/cluster and is
# removed. A temporary DIR is removed after a clean run.
#
# Settings (environment): SOAK_VUS (40), SOAK_ACTIVE_MAX (20),
# SOAK_HOLD_SECONDS (5), SOAK_ACTIVE_SECONDS (20), SOAK_IDLE_SECONDS (10),
# SOAK_GRACE (30), SOAK_SLACK_MS (1000, see tests/soak/soak_check.c, S6),
# SOAK_SEED (random).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cluster="$root/scripts/cluster.sh"

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}
case "${1:-}" in -h | --help) usage ;; esac
seconds="${1:-300}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 10 ]; then
  echo "soak: SECONDS must be a whole number >= 10" >&2
  exit 2
fi
[ $# -le 2 ] || usage

vus="${SOAK_VUS:-40}"
active_max="${SOAK_ACTIVE_MAX:-20}"
hold_seconds="${SOAK_HOLD_SECONDS:-5}"
active_seconds="${SOAK_ACTIVE_SECONDS:-20}"
idle_seconds="${SOAK_IDLE_SECONDS:-10}"
grace="${SOAK_GRACE:-30}"
slack_ms="${SOAK_SLACK_MS:-1000}"
seed="${SOAK_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"

say() { echo "soak: $*" >&2; }

if [ -n "${2:-}" ]; then
  work="$2"
  mkdir -p "$work"
  work="$(cd "$work" && pwd -P)"
  temp_work=no
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/bo-soak-XXXXXX")"
  temp_work=yes
fi
chmod 755 "$work" # PostgreSQL runs as the postgres user when we are root
cdir="$work/cluster"

# ---------------------------------------------------------------- build

# Hermetic: none of the caller's BOXOFFICE_* settings except the binary.
bin_arg="${BOXOFFICE_BIN:-}"
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^BOXOFFICE_' || true)

if [ -z "$bin_arg" ]; then
  if [ ! -f "$root/build/CMakeCache.txt" ]; then
    say "configuring build/"
    cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DBO_WERROR=ON -DBO_SANITIZE=OFF -DBO_TESTS=ON >&2
  fi
  say "building build/boxoffice"
  cmake --build "$root/build" -j"$(nproc)" --target boxoffice >&2
  bin_arg="$root/build/boxoffice"
fi
[ -x "$bin_arg" ] || {
  say "no server binary at $bin_arg"
  exit 2
}
mkdir -p "$work/bin"
cp "$bin_arg" "$work/bin/boxoffice"

tools="${SOAK_BUILD:-$root/build/soak}"
say "building the soak tools in $tools"
cmake -S "$root/tests/soak" -B "$tools" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$tools" -j"$(nproc)" >&2

# ---------------------------------------------------------------- cluster

load_pid=""
inject_pid=""
cluster_started=no
# shellcheck disable=SC2317 # called by the trap
finish() {
  local rc=$?
  trap - EXIT INT TERM
  # The injector runs in a session of its own: its process group holds
  # whatever it is in the middle of (timeout, cluster.sh up, services.sh).
  if [ -n "$inject_pid" ] && kill -0 "$inject_pid" 2>/dev/null; then
    kill -TERM -- "-$inject_pid" 2>/dev/null || true
    wait "$inject_pid" 2>/dev/null || true
  fi
  if [ -n "$load_pid" ] && kill -0 "$load_pid" 2>/dev/null; then
    kill -TERM "$load_pid" 2>/dev/null || true
    wait "$load_pid" 2>/dev/null || true
  fi
  if [ "$cluster_started" = yes ]; then
    mkdir -p "$work/logs"
    for f in "$cdir"/bo/*/log; do
      [ -f "$f" ] && cp "$f" "$work/logs/bo$(basename "$(dirname "$f")").log"
    done
    cp "$cdir/haproxy/haproxy.log" "$cdir/pg/server.log" "$cdir/redis/redis.log" \
      "$work/logs/" 2>/dev/null || true
    "$cluster" down "$cdir" >>"$work/cluster.log" 2>&1 || say "cluster.sh down failed (see $work/cluster.log)"
  fi
  if [ "$rc" -eq 0 ] && [ "$temp_work" = yes ]; then
    rm -rf "$work"
  else
    say "files kept in $work"
  fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export BOXOFFICE_BIN="$work/bin/boxoffice"
BOXOFFICE_ADMIN_TOKEN="soak-$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
export BOXOFFICE_ADMIN_TOKEN
export BOXOFFICE_ACTIVE_MAX="$active_max" BOXOFFICE_HOLD_SECONDS="$hold_seconds"
export BOXOFFICE_ACTIVE_SECONDS="$active_seconds" BOXOFFICE_IDLE_SECONDS="$idle_seconds"

say "cluster: 3 instances in $cdir (activeMax $active_max, hold ${hold_seconds}s, active ${active_seconds}s, idle ${idle_seconds}s)"
cluster_started=yes
"$cluster" up 3 "$cdir" >>"$work/cluster.log" 2>&1 || {
  say "cluster.sh up failed:"
  tail -n 20 "$work/cluster.log" >&2
  exit 1
}

# cluster.env, read without exporting it: BOXOFFICE_URL and friends must
# not reach the injector's `cluster.sh up`, whose settings must not change.
env_value() { sed -n "s/^$1=//p" "$cdir/cluster.env" | tr -d '"'; }
lb="$(env_value BOXOFFICE_URL)"
instances="$(env_value BOXOFFICE_INSTANCES)"
db="$(env_value BOXOFFICE_DB)"
queue="$(env_value BOXOFFICE_QUEUE)"
say "haproxy $lb; instances $instances"

# ---------------------------------------------------------------- data

# Seats: about 30 payments a second here at most; 80 seats per second of
# run, in schedules of 500, at most 50 schedules per concert (the admin API
# takes 100), at least two concerts; plus 30 free seats (price 0).
schedules=$(((seconds * 80 + 499) / 500))
[ "$schedules" -ge 4 ] || schedules=4
concerts=$(((schedules + 49) / 50))
[ "$concerts" -ge 2 ] || concerts=2
make_concert() { # name, first schedule index, count, with a free schedule
  local name="$1" from="$2" count="$3" free="$4" items="" i price
  for i in $(seq "$from" $((from + count - 1))); do
    price=$((10000 * (1 + i % 5)))
    items="$items{\"startsAt\":\"$((2031 + i / 672))-01-$(printf '%02d' $((1 + i % 28)))T$(printf '%02d' $((i / 28 % 24))):00:00Z\",\"seatCount\":500,\"price\":$price},"
  done
  [ "$free" = no ] || items="$items{\"startsAt\":\"2030-06-01T19:00:00Z\",\"seatCount\":30,\"price\":0},"
  local code
  code="$(curl -s -o "$work/admin.out" -w '%{http_code}' --max-time 60 \
    -H "Authorization: Bearer $BOXOFFICE_ADMIN_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$name\",\"schedules\":[${items%,}]}" "$lb/api/v1/admin/concerts")"
  [ "$code" = 201 ] || {
    say "creating $name answered $code: $(cat "$work/admin.out")"
    exit 1
  }
}
from=0
for c in $(seq 1 "$concerts"); do
  count=$(((schedules - from) / (concerts - c + 1)))
  free=no
  [ "$c" -ne 1 ] || free=yes
  make_concert "Soak Festival $c" "$from" "$count" "$free"
  from=$((from + count))
done
say "data: $concerts concerts, $schedules schedules of 500 seats + 30 free seats"

# ---------------------------------------------------------------- run

record="$work/record.txt"
counts="$work/counts.txt"
faults="$work/faults.txt"
say "load: $vus virtual users for ${seconds}s (seed $seed); faults meanwhile"
"$tools/soak_load" --lb "$lb" --instances "$instances" --redis "$queue" \
  --seconds "$seconds" --grace "$grace" --vus "$vus" --active-max "$active_max" \
  --hold-seconds "$hold_seconds" --seed "$seed" \
  --record "$record" --counts "$counts" 2>"$work/load.log" &
load_pid=$!
setsid "$root/tests/soak/inject.sh" "$cdir" "$seconds" "$faults" 3 "$((seed % 32768))" \
  </dev/null 2>"$work/inject.log" &
inject_pid=$!

load_rc=0
inject_rc=0
wait "$inject_pid" || inject_rc=$?
inject_pid=""
wait "$load_pid" || load_rc=$?
load_pid=""
cat "$work/inject.log" >&2
grep -v '^soak_load: ANOMALY' "$work/load.log" >&2 || true
[ "$load_rc" -eq 0 ] || say "soak_load exited with $load_rc"
[ "$inject_rc" -eq 0 ] || say "inject.sh exited with $inject_rc"

# ---------------------------------------------------------------- check

check_rc=0
"$tools/soak_check" --db "$db" --record "$record" --counts "$counts" \
  --faults "$faults" --active-max "$active_max" --slack-ms "$slack_ms" |
  tee "$work/report.txt" || check_rc=$?
self_rc=0
"$tools/soak_check" --db "$db" --record "$record" --counts "$counts" \
  --active-max "$active_max" --slack-ms "$slack_ms" --self-test |
  tee -a "$work/report.txt" || self_rc=$?

died="$(sed -n 's/^fault died-unprompted //p' "$faults" 2>/dev/null || echo 0)"
crashes="$(cat "$cdir"/bo/*/log 2>/dev/null | grep -cE 'Assertion|AddressSanitizer|runtime error|Segmentation' || true)"

rc=0
if [ "$check_rc" -ne 0 ]; then
  say "FAILED: the invariant checker reported violations (or could not check)"
  rc=1
fi
if [ "$self_rc" -ne 0 ]; then
  say "FAILED: the checker's self-test"
  rc=1
fi
if [ "${died:-0}" -ne 0 ] || [ "${crashes:-0}" -ne 0 ]; then
  say "FAILED: instances died by themselves ($died) / crash lines in their logs ($crashes)"
  rc=1
fi
if [ "$load_rc" -ne 0 ] || [ "$inject_rc" -ne 0 ]; then
  rc=1
fi
[ "$rc" -ne 0 ] || say "passed: 0 violations"
exit "$rc"
