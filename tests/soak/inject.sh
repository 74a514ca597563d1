#!/usr/bin/env bash
# The chaos soak's fault injector: breaks a scripts/cluster.sh cluster at
# random moments while the load runs.
#
#   tests/soak/inject.sh DIR SECONDS OUT [N] [SEED]
#
# DIR is the cluster's folder (N instances, default 3), SECONDS how long to
# keep injecting, OUT the file that gets one "fault KIND COUNT" line per
# kind (rewritten after every fault). One fault at a time, each followed by
# the repair, then a pause of a few seconds:
#
#   kill-9-instance   kill -9 of one instance, then `cluster.sh up N DIR`,
#                     which restarts what died with the same command line,
#                     settings and port (it is idempotent)
#   redis-restart     tests/services.sh stop-redis, then start-redis on the
#                     same folder and port
#   pg-restart-fast   tests/services.sh stop-pg (pg_ctl -m fast), start-pg
#   pg-crash          tests/services.sh crash-pg (-m immediate: no
#                     checkpoint, WAL replay at the next start), start-pg;
#                     exactly once per run
#
# The first four faults are one of each kind in random order, so a short run
# still sees every kind; after that kills are as likely as the other two
# together. Stores stay down 0.2-2 s. Every BOXOFFICE_* variable must be the
# one the cluster was started with (scripts/soak.sh sees to it): `up` would
# otherwise restart every instance with the new settings.
#
# Also counted: "repair-failed" (a restart that did not come back in time;
# the next fault's repair retries it) and "died-unprompted" (an instance
# found dead that no fault killed: a crash). Ends with everything running.
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cluster="$root/scripts/cluster.sh"
services="$root/tests/services.sh"

[ $# -ge 3 ] || {
  sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}
dir="$(cd "$1" && pwd -P)"
seconds="$2"
out="$3"
n="${4:-3}"
RANDOM="${5:-$$}"
up_log="$(dirname "$out")/inject-up.log"

kinds=(kill-9-instance redis-restart pg-restart-fast pg-crash repair-failed died-unprompted)
declare -A count
for k in "${kinds[@]}"; do count[$k]=0; done

say() { echo "inject: $(date -u +%T) $*" >&2; }

write_counts() {
  local k
  for k in "${kinds[@]}"; do echo "fault $k ${count[$k]}"; done >"$out.tmp"
  mv "$out.tmp" "$out"
}

rand_ms() { # lo hi -> a random number of milliseconds in [lo, hi]
  echo $(($1 + RANDOM % ($2 - $1 + 1)))
}

nap() { # milliseconds
  sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
}

pid_of() { cat "$dir/bo/$1/pid" 2>/dev/null || true; }

is_boxoffice() { # pid
  [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = boxoffice ]
}

killed="" # instances this script killed and no repair has restarted yet

# Instances found dead that we did not kill: crashes.
look_for_deaths() {
  local k
  for k in $(seq 1 "$n"); do
    if ! is_boxoffice "$(pid_of "$k")" && [[ " $killed " != *" $k "* ]]; then
      count[died-unprompted]=$((count[died-unprompted] + 1))
      say "bo$k is dead and no fault killed it; its log ends with:"
      tail -n 20 "$dir/bo/$k/log" >&2
    fi
  done
}

repair() {
  look_for_deaths
  if timeout 90 "$cluster" up "$n" "$dir" >>"$up_log" 2>&1; then
    killed=""
  else
    count[repair-failed]=$((count[repair-failed] + 1))
    say "cluster.sh up failed (see $up_log)"
    # Whatever it did not restart stays "killed by us" until a repair does.
  fi
}

restart_redis() {
  local before after
  before="$(cat "$dir/redis/port")"
  "$services" stop-redis "$dir/redis"
  nap "$(rand_ms 200 2000)"
  after="$(env CLUSTER_SH_DIR="$dir" "$services" start-redis "$dir/redis")" || after=""
  if [ "$after" != "redis://127.0.0.1:$before" ]; then
    count[repair-failed]=$((count[repair-failed] + 1))
    say "Redis did not come back on port $before (got '$after')"
  fi
}

restart_pg() { # fast | crash
  local before after
  before="$(cat "$dir/pg/port")"
  if [ "$1" = crash ]; then
    "$services" crash-pg "$dir/pg"
  else
    "$services" stop-pg "$dir/pg"
  fi
  nap "$(rand_ms 200 2000)"
  after="$(env CLUSTER_SH_DIR="$dir" "$services" start-pg "$dir/pg")" || after=""
  if [ "$after" != "postgres://postgres@127.0.0.1:$before/postgres" ]; then
    count[repair-failed]=$((count[repair-failed] + 1))
    say "PostgreSQL did not come back on port $before (got '$after')"
  fi
}

inject() { # kind
  local k pid
  case "$1" in
  kill-9-instance)
    k=$((1 + RANDOM % n))
    pid="$(pid_of "$k")"
    if ! is_boxoffice "$pid"; then
      say "bo$k is not running; repairing instead"
      repair
      return
    fi
    say "kill -9 bo$k (pid $pid)"
    kill -KILL "$pid"
    killed="$killed $k"
    nap "$(rand_ms 200 2000)"
    repair
    ;;
  redis-restart)
    say "Redis: stop, start"
    restart_redis
    ;;
  pg-restart-fast)
    say "PostgreSQL: fast shutdown, start"
    restart_pg fast
    ;;
  pg-crash)
    say "PostgreSQL: immediate shutdown (crash), start"
    restart_pg crash
    ;;
  esac
  count[$1]=$((count[$1] + 1))
  write_counts
}

write_counts
start=$SECONDS
end=$((start + seconds))
# Short runs pause less, so that every kind fits.
if [ "$seconds" -lt 90 ]; then gap=(2000 4000); else gap=(3000 9000); fi
nap "$(rand_ms 2000 4000)"

first=(kill-9-instance redis-restart pg-restart-fast pg-crash)
for i in 3 2 1; do # shuffle
  j=$((RANDOM % (i + 1)))
  t="${first[$i]}"
  first[i]="${first[$j]}"
  first[j]="$t"
done

done_first=0
while [ $((SECONDS + 3)) -lt "$end" ]; do
  if [ "$done_first" -lt 4 ]; then
    kind="${first[$done_first]}"
    done_first=$((done_first + 1))
  else
    case $((RANDOM % 4)) in
    0 | 1) kind=kill-9-instance ;;
    2) kind=redis-restart ;;
    *) kind=pg-restart-fast ;;
    esac
  fi
  inject "$kind"
  left=$(((end - SECONDS) * 1000))
  pause="$(rand_ms "${gap[0]}" "${gap[1]}")"
  [ "$pause" -lt "$left" ] || pause=$((left > 0 ? left : 0))
  nap "$pause"
done

# Leave everything running: stores first, then the instances.
env CLUSTER_SH_DIR="$dir" "$services" start-pg "$dir/pg" >/dev/null || true
env CLUSTER_SH_DIR="$dir" "$services" start-redis "$dir/redis" >/dev/null || true
repair
write_counts
total=0
for k in kill-9-instance redis-restart pg-restart-fast pg-crash; do
  total=$((total + count[$k]))
done
say "done: $total faults in $((SECONDS - start)) s"
