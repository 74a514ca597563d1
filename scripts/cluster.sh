#!/usr/bin/env bash
# A throwaway boxoffice cluster on this machine, all on 127.0.0.1: one
# PostgreSQL, one Redis (both from tests/services.sh), N boxoffice instances
# on their own ports, and haproxy (deploy/haproxy.cfg) in front on one port.
#
#   scripts/cluster.sh up N [DIR] [--port P] [--demo] [--sqlite]
#       start what is not running yet; print the load balancer's address
#   scripts/cluster.sh down [DIR]
#       stop everything started in DIR and remove what it wrote there
#   scripts/cluster.sh status [DIR]
#       what runs, and haproxy's view of the instances
#
# DIR defaults to ${TMPDIR:-/tmp}/boxoffice-cluster. `up` is idempotent: run
# again (with the same or another N) it keeps what is healthy, restarts what
# died or was started with other settings, stops instances beyond N and
# reloads haproxy only if its server list changed. `down` leaves no process
# and no file behind (DIR itself is removed when nothing else is in it) and
# is fine to run twice.
#
#   --port P   haproxy's port (default: a free one, kept in DIR across `up`s)
#   --demo     load the demo data (by the first instance, before the others)
#   --sqlite   no PostgreSQL/Redis: one SQLite file and the in-process line.
#              Right for one instance only; with more, the instances share
#              the database but each has its own line, so a queue token works
#              only on the instance that issued it.
#
# The binary is $BOXOFFICE_BIN, else build/boxoffice (configured and built
# with cmake if missing). Every BOXOFFICE_* variable of the caller (hold and
# active times, threads, ...) reaches every instance, so they are identical
# by construction. The admin secret is $BOXOFFICE_ADMIN_TOKEN, else a random
# one kept in DIR/admin-token. DIR/cluster.env holds the addresses for
# scripts (BOXOFFICE_URL, BOXOFFICE_STATS_URL, BOXOFFICE_INSTANCES, ...).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
services="$root/tests/services.sh"
marker_name=".boxoffice-cluster"
# Every process started here carries CLUSTER_SH_DIR=<DIR> in its environment,
# so `down` can find it again even after a crash lost its pid file.
marker_var="CLUSTER_SH_DIR"

say() { echo "cluster: $*" >&2; }
in_up=no
die() {
  say "$*"
  if [ "$in_up" = yes ]; then
    say "what did start is still running; stop it with: $0 down $dir"
  fi
  exit 1
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# A port nothing answers on, below the kernel's ephemeral range (outgoing
# connections of other programs take ports from that range, and a listener
# could not bind one of those). Races with other starters are covered by
# the retries of whoever binds.
free_port() { "$services" free-port; }

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid is alive and was started by this script for this DIR.
ours() {
  local pid="$1"
  [ -n "$pid" ] && [ -r "/proc/$pid/environ" ] || return 1
  tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -Fxq "$marker_var=$dir"
}

# All live processes started for this DIR (any user's, when root).
our_pids() {
  local f pid
  for f in /proc/[0-9]*/environ; do
    pid="${f#/proc/}"
    pid="${pid%/environ}"
    [ "$pid" != "$$" ] || continue
    if tr '\0' '\n' 2>/dev/null <"$f" | grep -Fxq "$marker_var=$dir"; then
      echo "$pid"
    fi
  done
}

# Start a command detached from this shell (own session, no terminal), with
# the DIR marker in its environment; its pid goes to $1.
spawn() {
  local pidfile="$1" log="$2"
  shift 2
  # shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
  env "$marker_var=$dir" setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
    </dev/null >>"$log" 2>&1 &
  for _ in $(seq 1 50); do
    [ -s "$pidfile" ] && return 0
    sleep 0.02
  done
  return 1
}

stop_pid() { # pid, seconds to wait after SIGTERM before SIGKILL
  local pid="$1" wait="$2"
  ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 $((wait * 10))); do
    ours "$pid" || return 0
    sleep 0.1
  done
  say "pid $pid did not stop in ${wait}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do
    ours "$pid" || return 0
    sleep 0.1
  done
}

http_code() { # url -> HTTP status (000 when nothing answers)
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true
}

set_dir() {
  local d="${1:-${TMPDIR:-/tmp}/boxoffice-cluster}"
  mkdir -p "$d"
  dir="$(cd "$d" && pwd -P)"
}

find_binary() {
  bin="${BOXOFFICE_BIN:-$root/build/boxoffice}"
  if [ ! -x "$bin" ]; then
    [ -z "${BOXOFFICE_BIN:-}" ] || die "BOXOFFICE_BIN=$bin is not an executable"
    say "building $bin"
    # Same configure line as scripts/run.sh and scripts/test.sh.
    cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DBO_WERROR=ON -DBO_SANITIZE=OFF -DBO_TESTS=ON >&2
    cmake --build "$root/build" -j"$(nproc)" --target boxoffice >&2
  fi
  bin="$(cd "$(dirname "$bin")" && pwd -P)/$(basename "$bin")"
}

# ---------------------------------------------------------------- stores

start_stores() {
  if [ "$store" = sqlite ]; then
    mkdir -p "$dir/sqlite"
    db_url="sqlite:$dir/sqlite/boxoffice.db"
    queue_url="memory"
    return 0
  fi
  command -v redis-server >/dev/null || die "redis-server missing: run scripts/install-deps.sh"
  command -v psql >/dev/null || die "psql missing: run scripts/install-deps.sh"

  local pg_url=""
  if [ -f "$dir/pg/port" ] && [ -f "$dir/pg/data/postmaster.pid" ] &&
    port_answers "$(cat "$dir/pg/port")"; then
    pg_url="postgres://postgres@127.0.0.1:$(cat "$dir/pg/port")/postgres"
  else
    pg_url="$(env "$marker_var=$dir" "$services" start-pg "$dir/pg")" ||
      die "PostgreSQL did not start (log: $dir/pg/server.log)"
  fi
  # A database of its own, created once.
  if [ "$(psql "$pg_url" -XtAc "SELECT 1 FROM pg_database WHERE datname = 'boxoffice'")" != 1 ]; then
    psql "$pg_url" -Xq -c "CREATE DATABASE boxoffice" >/dev/null
  fi
  db_url="${pg_url%/postgres}/boxoffice"

  if [ -f "$dir/redis/port" ] && redis-cli -p "$(cat "$dir/redis/port")" ping >/dev/null 2>&1; then
    queue_url="redis://127.0.0.1:$(cat "$dir/redis/port")"
  else
    queue_url="$(env "$marker_var=$dir" "$services" start-redis "$dir/redis")" ||
      die "Redis did not start (log: $dir/redis/redis.log)"
  fi
}

# ---------------------------------------------------------------- instances

instance_env=()
make_instance_env() {
  instance_env=(
    "BOXOFFICE_DB=$db_url"
    "BOXOFFICE_QUEUE=$queue_url"
    "BOXOFFICE_ADMIN_TOKEN=$admin_token"
    # haproxy pools keep-alive connections to the instances: an instance
    # must not close them sooner than haproxy's own client timeout (30 s).
    "BOXOFFICE_CLIENT_TIMEOUT_SECONDS=${BOXOFFICE_CLIENT_TIMEOUT_SECONDS:-30}"
  )
}

run_bo() { env -u BOXOFFICE_LISTEN "${instance_env[@]}" "$@"; }

# What an instance was started with: the binary and every BOXOFFICE_*
# setting. An `up` with other settings restarts the instances, so that they
# never differ within the cluster.
fingerprint() {
  {
    echo "$bin"
    stat -c '%Y %s' "$bin"
    run_bo env | grep '^BOXOFFICE_' | sort
  } | sha256sum | cut -c1-16
}

instance_healthy() { # k
  local k="$1" d="$dir/bo/$1"
  [ -f "$d/pid" ] && [ -f "$d/port" ] && ours "$(cat "$d/pid")" &&
    [ "$(cat "$d/settings" 2>/dev/null)" = "$(fingerprint)" ] &&
    [ "$(http_code "http://127.0.0.1:$(cat "$d/port")/healthz")" = 200 ]
}

start_instance() { # k, extra serve flags...
  local k="$1" d="$dir/bo/$1"
  shift
  mkdir -p "$d"
  if [ -f "$d/pid" ]; then
    stop_pid "$(cat "$d/pid")" 12
    rm -f "$d/pid"
  fi
  local port
  # The old port keeps haproxy's server list unchanged, if it is still free.
  if [ -f "$d/port" ] && ! port_answers "$(cat "$d/port")"; then
    port="$(cat "$d/port")"
  else
    port="$(free_port)"
  fi
  for attempt in 1 2 3; do
    echo "--- start $(date -u +%FT%TZ) port $port" >>"$d/log"
    spawn "$d/pid" "$d/log" env -u BOXOFFICE_LISTEN "${instance_env[@]}" \
      "$bin" serve --listen "127.0.0.1:$port" "$@" || die "bo$k: could not start"
    for _ in $(seq 1 200); do
      if [ "$(http_code "http://127.0.0.1:$port/healthz")" = 200 ]; then
        echo "$port" >"$d/port"
        fingerprint >"$d/settings"
        say "bo$k: http://127.0.0.1:$port (pid $(cat "$d/pid"))"
        return 0
      fi
      ours "$(cat "$d/pid")" || break
      sleep 0.1
    done
    stop_pid "$(cat "$d/pid")" 2
    say "bo$k did not become healthy on port $port (attempt $attempt); its log:"
    tail -n 15 "$d/log" >&2
    port="$(free_port)"
  done
  die "bo$k: gave up"
}

# ---------------------------------------------------------------- haproxy

write_haproxy_cfg() { # out
  local out="$1" k
  {
    awk '/# servers: begin/ { skip = 1; print; next }
         /# servers: end/ { skip = 0; print "@SERVERS@" }
         !skip { print }' "$root/deploy/haproxy.cfg" |
      while IFS= read -r line; do
        if [ "$line" = "@SERVERS@" ]; then
          for k in $(seq 1 "$n"); do
            echo "    server bo$k 127.0.0.1:$(cat "$dir/bo/$k/port")"
          done
          for k in $(seq 1 "$n"); do
            echo "    server bo$k-fallback 127.0.0.1:$(cat "$dir/bo/$k/port") backup no-check"
          done
          echo "    # servers: end"
        else
          printf '%s\n' "$line"
        fi
      done
  } >"$out"
}

haproxy_env=()
make_haproxy_env() {
  # BO_LB_MAXCONN and BO_LB_USER pass through from the caller, if set.
  haproxy_env=(env "BO_LB_BIND=127.0.0.1:$lb_port" "BO_LB_STATS_BIND=127.0.0.1:$stats_port"
    "BO_LB_RUNDIR=$dir/haproxy")
}

stats_csv() { curl -s --max-time 2 "http://127.0.0.1:$stats_port/stats;csv" 2>/dev/null || true; }

# Servers of backend boxoffice that haproxy reports UP.
servers_up() { stats_csv | awk -F, '$1 == "boxoffice" && $2 ~ /^bo[0-9]+$/ && $18 == "UP"' | wc -l; }

start_haproxy() {
  local h="$dir/haproxy"
  mkdir -p "$h"
  command -v haproxy >/dev/null || die "haproxy missing: run scripts/install-deps.sh"
  if [ -n "$port_flag" ]; then
    lb_port="$port_flag"
  elif [ -f "$h/port" ]; then
    lb_port="$(cat "$h/port")"
  else
    lb_port="$(free_port)"
  fi
  if [ -f "$h/stats-port" ]; then stats_port="$(cat "$h/stats-port")"; else stats_port="$(free_port)"; fi
  while [ "$stats_port" = "$lb_port" ]; do stats_port="$(free_port)"; done

  local old="" attempt
  [ -f "$h/pid" ] && ours "$(cat "$h/pid")" && old="$(cat "$h/pid")"
  for attempt in 1 2 3; do
    make_haproxy_env
    write_haproxy_cfg "$h/haproxy.cfg.new"
    if [ -n "$old" ] && [ -f "$h/haproxy.cfg" ] && cmp -s "$h/haproxy.cfg" "$h/haproxy.cfg.new" &&
      [ "$(cat "$h/port")" = "$lb_port" ]; then
      rm -f "$h/haproxy.cfg.new" # running with this very configuration
    else
      "${haproxy_env[@]}" haproxy -c -q -f "$h/haproxy.cfg.new" ||
        die "generated haproxy configuration is invalid: $h/haproxy.cfg.new"
      mv "$h/haproxy.cfg.new" "$h/haproxy.cfg"
      echo "$lb_port" >"$h/port"
      echo "$stats_port" >"$h/stats-port"
      local sf=()
      [ -z "$old" ] || sf=(-sf "$old") # the old process finishes its requests and leaves
      echo "--- start $(date -u +%FT%TZ) port $lb_port" >>"$h/haproxy.log"
      # -db: stay in the foreground (spawn detaches it); logs go to stdout.
      rm -f "$h/pid"
      spawn "$h/pid" "$h/haproxy.log" "${haproxy_env[@]}" haproxy -db -f "$h/haproxy.cfg" "${sf[@]}" ||
        die "haproxy did not start"
    fi

    # Ready when haproxy answers and reports every instance UP.
    for _ in $(seq 1 100); do
      if [ "$(servers_up)" -eq "$n" ] && [ "$(http_code "http://127.0.0.1:$lb_port/healthz")" = 200 ]; then
        say "haproxy: http://127.0.0.1:$lb_port (pid $(cat "$h/pid")), stats http://127.0.0.1:$stats_port/stats"
        return 0
      fi
      ours "$(cat "$h/pid")" || break
      sleep 0.1
    done
    tail -n 5 "$h/haproxy.log" >&2
    # It exited (most likely a port taken meanwhile): new ports, unless fixed.
    if ours "$(cat "$h/pid")" || [ -n "$old" ]; then break; fi
    [ -n "$port_flag" ] || lb_port="$(free_port)"
    stats_port="$(free_port)"
    while [ "$stats_port" = "$lb_port" ]; do stats_port="$(free_port)"; done
    say "haproxy did not start (attempt $attempt); trying other ports"
  done
  die "haproxy did not report $n instances UP (log: $h/haproxy.log, stats: http://127.0.0.1:$stats_port/stats)"
}

# ---------------------------------------------------------------- commands

cmd_up() {
  if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt 64 ]; then
    die "N must be 1..64, not '$n'"
  fi
  set_dir "$dir_arg"
  if [ ! -f "$dir/$marker_name" ]; then
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty and not a cluster folder; pick another"
    echo "$store" >"$dir/$marker_name"
  fi
  in_up=yes
  local was
  was="$(cat "$dir/$marker_name")"
  [ "$was" = "$store" ] || die "$dir runs a $was cluster; run 'down' first to switch to $store"
  # PostgreSQL runs as the postgres user when we are root: it must reach DIR.
  [ "$(id -u)" -ne 0 ] || chmod 755 "$dir"
  if [ "$store" = sqlite ] && [ "$n" -gt 1 ]; then
    say "warning: --sqlite with $n instances: one shared database, but $n separate"
    say "  waiting lines; a queue token works only where it was issued"
  fi

  find_binary
  if [ -n "${BOXOFFICE_ADMIN_TOKEN:-}" ]; then
    admin_token="$BOXOFFICE_ADMIN_TOKEN"
  else
    if [ ! -s "$dir/admin-token" ]; then
      (
        umask 077
        head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$dir/admin-token"
      )
    fi
    admin_token="$(cat "$dir/admin-token")"
  fi

  start_stores
  make_instance_env
  # Migrate once up front (instances would each do it too, under the
  # migration lock), so a schema problem shows here with its message.
  run_bo "$bin" migrate >>"$dir/migrate.log" 2>&1 ||
    die "migration failed: $(tail -n 5 "$dir/migrate.log")"

  local k
  for k in $(seq 1 "$n"); do
    if instance_healthy "$k"; then
      say "bo$k: running on http://127.0.0.1:$(cat "$dir/bo/$k/port")"
    elif [ "$k" = 1 ] && [ "$demo" = yes ]; then
      start_instance "$k" --demo
    else
      start_instance "$k"
    fi
  done
  # haproxy first, so that it no longer sends anything to instances beyond
  # N (an earlier, larger `up`) when they stop.
  start_haproxy
  for d in "$dir"/bo/*; do
    [ -d "$d" ] || continue
    k="$(basename "$d")"
    if [ "$k" -gt "$n" ]; then
      [ -f "$d/pid" ] && stop_pid "$(cat "$d/pid")" 12
      rm -rf "$d"
      say "bo$k: stopped (beyond N=$n)"
    fi
  done

  local urls="" k2
  for k2 in $(seq 1 "$n"); do urls="$urls http://127.0.0.1:$(cat "$dir/bo/$k2/port")"; done
  (
    umask 077
    {
      echo "BOXOFFICE_URL=http://127.0.0.1:$lb_port"
      echo "BOXOFFICE_STATS_URL=http://127.0.0.1:$stats_port/stats"
      echo "BOXOFFICE_INSTANCES=\"${urls# }\""
      echo "BOXOFFICE_DB=$db_url"
      echo "BOXOFFICE_QUEUE=$queue_url"
      echo "BOXOFFICE_ADMIN_TOKEN=$admin_token"
    } >"$dir/cluster.env"
  )
  say "$n instance(s) behind http://127.0.0.1:$lb_port; db $db_url, queue $queue_url"
  say "addresses and admin secret: $dir/cluster.env; stop with: $0 down $dir"
  echo "http://127.0.0.1:$lb_port"
}

cmd_down() {
  local d="${dir_arg:-${TMPDIR:-/tmp}/boxoffice-cluster}"
  if [ ! -d "$d" ]; then
    say "nothing at $d"
    return 0
  fi
  dir="$(cd "$d" && pwd -P)"
  if [ ! -f "$dir/$marker_name" ]; then
    [ -z "$(ls -A "$dir")" ] || die "$dir is not a cluster folder; leaving it alone"
    rmdir "$dir" 2>/dev/null || true
    return 0
  fi
  # Front to back: no new requests, then the instances finish theirs.
  [ -f "$dir/haproxy/pid" ] && stop_pid "$(cat "$dir/haproxy/pid")" 5
  local p
  for p in "$dir"/bo/*/pid; do
    [ -f "$p" ] || continue
    kill -TERM "$(cat "$p")" 2>/dev/null || true
  done
  for p in "$dir"/bo/*/pid; do
    [ -f "$p" ] || continue
    stop_pid "$(cat "$p")" 12
  done
  if [ -d "$dir/redis" ]; then
    "$services" stop-redis "$dir/redis"
    # Redis rewrites its process title over its environment, so the marker
    # sweep below cannot see it: a Redis still running in DIR/redis is ours.
    p="$(cat "$dir/redis/redis.pid" 2>/dev/null || true)"
    if [ -n "$p" ] && [ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$dir/redis" ]; then
      say "Redis $p did not stop; killing it"
      kill -KILL "$p" 2>/dev/null || true
    fi
  fi
  [ -d "$dir/pg" ] && "$services" stop-pg "$dir/pg"
  # Whatever is left that we started (a crashed `up`, a lost pid file).
  local left
  left="$(our_pids | tr '\n' ' ')"
  if [ -n "${left// /}" ]; then
    say "stopping leftover processes: $left"
    for p in $left; do stop_pid "$p" 5; done
  fi
  local f
  for f in haproxy bo pg redis sqlite admin-token cluster.env migrate.log "$marker_name"; do
    rm -rf "${dir:?}/$f"
  done
  rmdir "$dir" 2>/dev/null || say "left $dir in place (it holds other files)"
  say "down: $dir"
}

cmd_status() {
  set_dir "$dir_arg"
  [ -f "$dir/$marker_name" ] || {
    say "no cluster in $dir"
    rmdir "$dir" 2>/dev/null || true
    return 1
  }
  local p k
  for p in "$dir"/bo/*/pid; do
    [ -f "$p" ] || continue
    k="$(basename "$(dirname "$p")")"
    local port
    port="$(cat "$dir/bo/$k/port" 2>/dev/null || echo '?')"
    if ours "$(cat "$p")"; then
      echo "bo$k  pid $(cat "$p")  http://127.0.0.1:$port  healthz $(http_code "http://127.0.0.1:$port/healthz")"
    else
      echo "bo$k  not running (port $port)"
    fi
  done
  if [ -f "$dir/haproxy/pid" ] && ours "$(cat "$dir/haproxy/pid")"; then
    stats_port="$(cat "$dir/haproxy/stats-port")"
    echo "haproxy  pid $(cat "$dir/haproxy/pid")  http://127.0.0.1:$(cat "$dir/haproxy/port")  stats http://127.0.0.1:$stats_port/stats"
    stats_csv | awk -F, '$1 == "boxoffice" { printf "  %-8s %-6s requests %s\n", $2, $18, $8 }'
  else
    echo "haproxy  not running"
  fi
}

# ---------------------------------------------------------------- main

cmd="${1:-}"
shift || true
pos=()
port_flag=""
demo=no
store=pg
while [ $# -gt 0 ]; do
  case "$1" in
  --port)
    [ $# -ge 2 ] || usage
    port_flag="$2"
    shift 2
    ;;
  --port=*)
    port_flag="${1#--port=}"
    shift
    ;;
  --demo)
    demo=yes
    shift
    ;;
  --sqlite)
    store=sqlite
    shift
    ;;
  -h | --help) usage ;;
  -*) die "unknown option $1" ;;
  *)
    pos+=("$1")
    shift
    ;;
  esac
done
[ -z "$port_flag" ] || [[ "$port_flag" =~ ^[0-9]+$ ]] || die "--port needs a number"

dir=""
case "$cmd" in
up)
  if [ ${#pos[@]} -lt 1 ] || [ ${#pos[@]} -gt 2 ]; then usage; fi
  n="${pos[0]}"
  dir_arg="${pos[1]:-}"
  cmd_up
  ;;
down)
  [ ${#pos[@]} -le 1 ] || usage
  dir_arg="${pos[0]:-}"
  cmd_down
  ;;
status)
  [ ${#pos[@]} -le 1 ] || usage
  dir_arg="${pos[0]:-}"
  cmd_status
  ;;
-h | --help | help) usage ;;
*) usage ;;
esac
