#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis servers for the tests, each in a folder of
# its own, on its own port, never the machine's default ones.
#
#   tests/services.sh run CMD [ARG...]   start both in a fresh temporary folder,
#                                        export their addresses, run CMD, stop
#                                        both (also when CMD fails), exit as CMD
#   tests/services.sh start-pg DIR       initdb (first time) + start; prints the URL
#   tests/services.sh stop-pg DIR        fast shutdown, data kept
#   tests/services.sh crash-pg DIR       immediate shutdown (no checkpoint: the
#                                        next start replays the WAL, as after a
#                                        crash), data kept
#   tests/services.sh start-redis DIR    start (port kept in DIR/port); prints the URL
#   tests/services.sh stop-redis DIR     shutdown without saving, data kept in DIR
#   tests/services.sh free-port          print a port nothing listens on, below
#                                        the ephemeral range (scripts/cluster.sh)
#
# `run` exports BOXOFFICE_TEST_PG (a libpq URL of the `postgres` database, for
# creating one database per test) and BOXOFFICE_TEST_REDIS (redis://host:port).
#
# PostgreSQL refuses to run as root, and CI runs as root: then the cluster is
# owned by and run as the `postgres` system user (from the postgresql package)
# or, failing that, `nobody`. fsync and synchronous_commit stay at their
# defaults (on) so that durability tests mean something.
set -euo pipefail

pg_bin="$(pg_config --bindir 2>/dev/null || true)"
[ -x "$pg_bin/initdb" ] || pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"

as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    local user=postgres
    id "$user" >/dev/null 2>&1 || user=nobody
    runuser -u "$user" -- "$@"
  else
    "$@"
  fi
}

free_port() {
  # A random port that nothing answers on, below the kernel's ephemeral
  # range: outgoing connections take their local ports from that range, and
  # after a load test thousands of them sit in TIME_WAIT there, where a
  # listener cannot bind (bench/run.sh met it after 10,000 connections). A
  # race with another starter is covered by the retries in the start
  # functions.
  local port lo=10000 hi
  hi="$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
  hi=$((hi - 1))
  if [ "$hi" -le $((lo + 1000)) ]; then
    lo=20000
    hi=50000
  fi
  for _ in $(seq 1 100); do
    port=$((lo + RANDOM % (hi - lo)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

start_pg() {
  local dir="$1"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    local user=postgres
    id "$user" >/dev/null 2>&1 || user=nobody
    chown "$user" "$dir"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg_owner "$pg_bin/initdb" -D "$dir/data" -U postgres -A trust -N \
      --locale=C.UTF-8 -E UTF8 >"$dir/initdb.log" 2>&1
  fi
  local port
  [ -f "$dir/port" ] && port="$(cat "$dir/port")" || port="$(free_port)"
  # Already running (started twice): say where, do not start a second one.
  if [ -f "$dir/port" ] && as_pg_owner "$pg_bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    return 0
  fi
  for _ in 1 2 3; do
    if as_pg_owner "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" \
      start >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      echo "postgres://postgres@127.0.0.1:$port/postgres"
      return 0
    fi
    port="$(free_port)"
  done
  echo "services: PostgreSQL did not start; see $dir/server.log" >&2
  cat "$dir/server.log" >&2 || true
  return 1
}

stop_pg() {
  local dir="$1" mode="${2:-fast}"
  [ -f "$dir/data/postmaster.pid" ] || return 0
  as_pg_owner "$pg_bin/pg_ctl" -D "$dir/data" -m "$mode" -w -t 30 stop >/dev/null 2>&1 || true
}

# The pid of the Redis that runs in DIR (it runs in its --dir, and writes
# its pid file only once it listens), or nothing. Another program's Redis
# may answer on the same port: one started by a concurrent test that picked
# the same free port a moment later, so that ours could not bind it. Only
# this check tells them apart; a ping alone does not.
our_redis() {
  local dir="$1" pid
  pid="$(cat "$dir/redis.pid" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$(cd "$dir" && pwd -P)" ] || return 0
  echo "$pid"
}

start_redis() {
  local dir="$1"
  mkdir -p "$dir"
  local port
  [ -f "$dir/port" ] && port="$(cat "$dir/port")" || port="$(free_port)"
  # Already running (started twice): say where, do not start a second one.
  if [ -f "$dir/port" ] && [ -n "$(our_redis "$dir")" ]; then
    echo "redis://127.0.0.1:$port"
    return 0
  fi
  for _ in 1 2 3; do
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
      --save "" --appendonly yes --appendfsync everysec >/dev/null
    for _ in $(seq 1 100); do
      if [ -n "$(our_redis "$dir")" ] &&
        [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
        echo "$port" >"$dir/port"
        echo "redis://127.0.0.1:$port"
        return 0
      fi
      sleep 0.05
    done
    port="$(free_port)"
  done
  echo "services: Redis did not start; see $dir/redis.log" >&2
  return 1
}

stop_redis() {
  local dir="$1" pid
  [ -f "$dir/port" ] || return 0
  # Only a Redis that runs in this folder: once ours has stopped, its port
  # may belong to another test's Redis, which must not be shut down.
  pid="$(our_redis "$dir")"
  [ -n "$pid" ] || return 0
  redis-cli -p "$(cat "$dir/port")" shutdown nosave >/dev/null 2>&1 || true
  # Redis removes its pid file once the AOF is synced and its port closed;
  # the process itself lingers for another second or so on its way out,
  # which nobody needs to wait for.
  for _ in $(seq 1 500); do
    [ -f "$dir/redis.pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.01
  done
}

services_dir=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  [ -n "$services_dir" ] || return 0
  stop_pg "$services_dir/pg"
  stop_redis "$services_dir/redis"
  rm -rf "$services_dir"
}

# $TMPDIR if set, else /dev/shm when writable, else /tmp: the same choice as
# the integration harness. On tmpfs an fsync costs nothing, so the suite's
# speed does not depend on the disk of the machine; fsync and
# synchronous_commit stay on, so what the crash tests check (kill -9 of a
# server, an immediate shutdown of PostgreSQL: the WAL must have left the
# process before a commit is acknowledged) means the same there.
scratch_base() {
  if [ -n "${TMPDIR:-}" ]; then
    echo "$TMPDIR"
  elif [ -w /dev/shm ] && [ -x /dev/shm ]; then
    echo /dev/shm
  else
    echo /tmp
  fi
}

# Cleans up once process PID has gone. The EXIT trap does not run when this
# script is killed outright (ctest's TIMEOUT kills the whole process tree
# with SIGKILL); this watcher, in a session of its own and reparented at
# once, is outside that tree and stops the servers then.
watch() {
  local pid="$1"
  services_dir="$2"
  while kill -0 "$pid" 2>/dev/null; do sleep 1; done
  cleanup
}

run() {
  services_dir="$(mktemp -d "$(scratch_base)/bo-services-XXXXXX")"
  chmod 755 "$services_dir"
  trap cleanup EXIT
  setsid -f "$(readlink -f "$0")" watch "$$" "$services_dir" \
    </dev/null >/dev/null 2>&1
  BOXOFFICE_TEST_PG="$(start_pg "$services_dir/pg")"
  BOXOFFICE_TEST_REDIS="$(start_redis "$services_dir/redis")"
  export BOXOFFICE_TEST_PG BOXOFFICE_TEST_REDIS
  local rc=0
  "$@" || rc=$?
  return "$rc"
}

cmd="${1:-}"
shift || true
case "$cmd" in
run) run "$@" ;;
start-pg) start_pg "$1" ;;
stop-pg) stop_pg "$1" ;;
crash-pg) stop_pg "$1" immediate ;;
start-redis) start_redis "$1" ;;
stop-redis) stop_redis "$1" ;;
free-port) free_port ;;
watch) watch "$1" "$2" ;; # internal: see run
*)
  echo "usage: tests/services.sh run CMD... | start-pg DIR | stop-pg DIR | crash-pg DIR | start-redis DIR | stop-redis DIR" >&2
  exit 2
  ;;
esac
