#!/usr/bin/env bash
# The browser tests of the web front: Debian's Chromium, driven headless by
# playwright-core, against a real boxoffice.
#
#   tests/e2e/run.sh [BOXOFFICE_BINARY] [TEST_FILE ...]
#
# BOXOFFICE_BINARY defaults to build/boxoffice; this script builds nothing.
# TEST_FILE defaults to every tests/e2e/*.test.js. Each file gets a fresh
# server of its own: a free port (the server binds port 0 and logs the one it
# got), a new SQLite file in a temporary folder, a random admin secret, and
# the settings its "// server:" line asks for (a short hold for the expiry
# test, activeMax 1 for the waiting room). The file's tests see it as
# BOXOFFICE_URL and BOXOFFICE_ADMIN_TOKEN. The server is stopped by its pid
# after the file, and a server that did not end cleanly fails the file too.
#
# Environment:
#   E2E_SCREENSHOT_DIR  where the screenshots go (default build-e2e/screenshots)
#   E2E_CHROMIUM        the browser (default /usr/bin/chromium)
#   E2E_KEEP=1          keep the temporary folder (server logs, databases)
#
# Node modules (playwright-core only, pinned by package-lock.json) are
# installed with `npm ci` when missing or older than the lock file; no
# browser is downloaded. playwright-core stays at 1.61, the last release
# that runs on Node 18 (Debian 12's). Exits non-zero when any test fails;
# a failing test leaves FAILED-*.png of its pages next to the screenshots.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

bin="${1:-$root/build/boxoffice}"
[ $# -gt 0 ] && shift
bin="$(realpath -- "$bin" 2>/dev/null || echo "$bin")"
if [ $# -gt 0 ]; then
  files=()
  for f in "$@"; do files+=("$(realpath -- "$f")"); done
else
  files=("$here"/*.test.js)
fi

shots="${E2E_SCREENSHOT_DIR:-$root/build-e2e/screenshots}"
mkdir -p "$shots"
shots="$(cd "$shots" && pwd)"
rm -f "$shots"/FAILED-*.png
chromium="${E2E_CHROMIUM:-/usr/bin/chromium}"

fail() {
  echo "e2e: $*" >&2
  exit 2
}

[ -x "$bin" ] || fail "no boxoffice binary at $bin (build it first, or pass its path)"
[ -x "$chromium" ] || fail "no Chromium at $chromium (scripts/install-deps.sh installs Debian's)"
command -v node >/dev/null || fail "node is missing (scripts/install-deps.sh installs it)"
command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh installs it)"
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
         process.exit(a > 18 || (a === 18 && b >= 19) ? 0 : 1)' ||
  fail "node $(node --version) is too old: the tests need 18.19 or later"

if [ ! -d "$here/node_modules/playwright-core" ] ||
  [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  command -v npm >/dev/null || fail "npm is missing (scripts/install-deps.sh installs it)"
  echo "e2e: npm ci (playwright-core, no browser download)"
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/boxoffice-e2e.XXXXXX")"
server_pid=""

stop_server() {
  [ -n "$server_pid" ] || return 0
  local pid=$server_pid status=0
  server_pid=""
  kill -TERM "$pid" 2>/dev/null || true
  # SIGTERM lets requests in flight finish (event streams are cut); give it
  # 10 s before SIGKILL.
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" || status=$?
  return "$status"
}

cleanup() {
  stop_server || true
  if [ "${E2E_KEEP:-0}" = 1 ]; then
    echo "e2e: kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The environment of a server: none of the caller's BOXOFFICE_* settings,
# only ours.
unset_ours=()
while read -r name; do unset_ours+=(-u "$name"); done < <(compgen -e | grep '^BOXOFFICE_' || true)

# start_server DIR SETTING... : sets server_pid and port.
start_server() {
  local dir=$1
  shift
  mkdir -p "$dir"
  (cd "$dir" && exec env "${unset_ours[@]}" \
    BOXOFFICE_LISTEN=127.0.0.1:0 \
    BOXOFFICE_DB="sqlite:$dir/boxoffice.db" \
    BOXOFFICE_ADMIN_TOKEN="$admin" \
    BOXOFFICE_THREADS=4 \
    BOXOFFICE_MAX_CONNECTIONS=1000 \
    "$@" "$bin" serve) >"$dir/server.log" 2>&1 &
  server_pid=$!
  port=""
  for _ in $(seq 100); do
    port="$(sed -n 's/.*msg=listening .* port=\([0-9]*\) .*/\1/p' "$dir/server.log" | head -n1)"
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ] || ! curl -fsS --retry 20 --retry-connrefused --retry-delay 0 \
    --max-time 2 -o /dev/null "http://127.0.0.1:$port/healthz"; then
    echo "e2e: the server did not start; its log:" >&2
    cat "$dir/server.log" >&2
    return 1
  fi
}

failed=()
started=$SECONDS
for file in "${files[@]}"; do
  name="$(basename "$file" .test.js)"
  # The file's own settings: "// server: BOXOFFICE_X=1 BOXOFFICE_Y=2".
  settings=()
  line="$(grep -m1 '^// server:' "$file" || true)"
  for word in ${line#// server:}; do
    [[ "$word" =~ ^BOXOFFICE_[A-Z_]+=[^[:space:]]*$ ]] ||
      fail "$file: '// server:' takes BOXOFFICE_NAME=value words, not '$word'"
    settings+=("$word")
  done

  admin="e2e-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  dir="$tmp/$name"
  echo "e2e: ── $name ${settings[*]:-}"
  if ! start_server "$dir" "${settings[@]}"; then
    stop_server || true
    failed+=("$name (server did not start)")
    continue
  fi

  status=0
  # Each test has its own timeout; this one stops a file that hangs anyway.
  (cd "$here" && timeout -k 10 240 env \
    BOXOFFICE_URL="http://127.0.0.1:$port" \
    BOXOFFICE_ADMIN_TOKEN="$admin" \
    E2E_SCREENSHOT_DIR="$shots" \
    E2E_CHROMIUM="$chromium" \
    node --test --test-reporter=spec "$file") || status=$?

  server_status=0
  stop_server || server_status=$?
  if [ "$status" -ne 0 ]; then
    failed+=("$name")
    echo "e2e: $name FAILED (exit $status); the end of its server's log:" >&2
    tail -n 30 "$dir/server.log" >&2
  elif [ "$server_status" -ne 0 ]; then
    failed+=("$name (server exit $server_status)")
    echo "e2e: $name: the server ended with status $server_status; the end of its log:" >&2
    tail -n 30 "$dir/server.log" >&2
  fi
done

elapsed=$((SECONDS - started))
if [ ${#failed[@]} -gt 0 ]; then
  echo "e2e: FAILED after ${elapsed}s: ${failed[*]} (screenshots in $shots)" >&2
  exit 1
fi
echo "e2e: PASSED: ${#files[@]} file(s) in ${elapsed}s; screenshots in $shots"
