#!/usr/bin/env bash
# Installs what boxoffice needs to build, run and test on Debian 12.
# Idempotent: packages already present are skipped, and apt is only asked
# when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates curl
  libmicrohttpd-dev   # HTTP server (thread pool, epoll)
  libjansson-dev      # JSON in and out
  libsqlite3-dev sqlite3  # embedded store
  libsodium-dev       # random tokens, constant-time compare, hashing
  libcriterion-dev    # unit tests
  libpq-dev           # PostgreSQL client (scale-out store)
  libhiredis-dev      # Redis client (scale-out queue)
  postgresql redis-server  # real servers the tests start in a temp folder
  haproxy             # load balancer in front of N instances (deploy/, scripts/cluster.sh)
  libcurl4-openssl-dev  # HTTP client of the integration tests
  clang-format        # the formatting check of scripts/test.sh
  clang libclang-rt-14-dev  # libFuzzer harnesses (tests/fuzz)
  wrk jq              # benchmarks: HTTP load and the results table (bench/)
  libhttp-parser-dev  # response parsing in the load driver (bench/load)
  linux-perf valgrind # profiles for docs/benchmarks.md (perf record, callgrind)
  python3             # tools/verify-draw and its test (standard library only)
  nodejs npm          # the browser tests (tests/e2e: node --test, playwright-core)
  chromium            # the browser they drive headless
)

# A package counts as present when it is installed, or when an installed
# package provides it: NodeSource's nodejs, for one, provides npm (and
# conflicts with Debian's).
provided="$(dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
  sed -n 's/^ii *|//p' | tr ',' '\n' | sed 's/(.*//; s/[[:space:]]//g' || true)"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    grep -qxF -- "$p" <<<"$provided" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
