#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, build-fuzz/ with clang) and runs
# each for SECONDS (default 60) on a copy of its seed corpus.
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]     e.g. scripts/fuzz.sh 15 api auth
#
# HARNESS is fuzz_api, fuzz_input, fuzz_router, fuzz_auth or fuzz_config (the
# "fuzz_" may be left out); all of them by default. FUZZ_JOBS harnesses run
# at once (default: the number of cores).
#
# New inputs go to a scratch folder (on /dev/shm when there is one: SQLite's
# fsyncs are then cheap), never into the repository; to keep a run's corpus,
# set FUZZ_KEEP=DIR. Crash inputs are kept in build-fuzz/fuzz-artifacts/.
# Before the timed run, each harness replays tests/fuzz/regressions/<name>/
# (inputs that once crashed it), so a fixed bug that comes back fails at once.
#
# Installs nothing: scripts/install-deps.sh brings clang and libclang-rt-14-dev.
# Fails when any harness crashes, leaks, times out or breaks an invariant,
# after printing one line per harness: time, executions, exec/s, corpus size.
set -euo pipefail
cd "$(dirname "$0")/.."

all=(fuzz_api fuzz_input fuzz_router fuzz_auth fuzz_config)
seconds="${1:-60}"
[ $# -gt 0 ] && shift
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [HARNESS...] (SECONDS a positive integer)" >&2
  exit 2
fi
harnesses=()
for h in "${@:-${all[@]}}"; do
  h="fuzz_${h#fuzz_}"
  if [ ! -f "tests/fuzz/$h.c" ]; then
    echo "fuzz: no harness $h (have: ${all[*]})" >&2
    exit 2
  fi
  harnesses+=("$h")
done
jobs="${FUZZ_JOBS:-$(nproc)}"

# Longest input the fuzzer builds, per harness: a request body needs room
# (an admin concert with several schedules), a path or a header does not,
# and short inputs keep exec/s high.
max_len() {
  case "$1" in
  fuzz_api | fuzz_input) echo 4096 ;;
  fuzz_config) echo 1024 ;;
  *) echo 512 ;;
  esac
}

if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz: clang is not installed (scripts/install-deps.sh installs it)" >&2
  exit 2
fi
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBO_FUZZ=ON -DBO_TESTS=OFF -DBO_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${harnesses[@]}" >/dev/null

shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm="${TMPDIR:-/tmp}"
scratch="$(mktemp -d "$shm/bo-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
artifacts="$PWD/build-fuzz/fuzz-artifacts"
mkdir -p "$artifacts"

# Runs one harness; leaves its figures in $scratch/$h/result and its full
# output in $scratch/$h/log.
run_one() {
  local h="$1" dir="$scratch/$1" bin="$PWD/build-fuzz/tests/fuzz/$1"
  mkdir -p "$dir/corpus" "$dir/tmp" "$artifacts/$h"
  cp tests/fuzz/corpus/"$h"/* "$dir/corpus/"
  local dict=()
  [ -f "tests/fuzz/dict/$h.dict" ] && dict=(-dict="tests/fuzz/dict/$h.dict")
  local status=ok regressions=()
  if [ -d "tests/fuzz/regressions/$h" ]; then
    mapfile -t regressions < <(find "tests/fuzz/regressions/$h" -type f | sort)
  fi
  if [ ${#regressions[@]} -gt 0 ] &&
    ! TMPDIR="$dir/tmp" "$bin" "${regressions[@]}" >"$dir/regressions.log" 2>&1; then
    status="REGRESSION (see below)"
  fi
  local start end rc=0
  start="$(date +%s.%N)"
  # -timeout: an input that takes 10 s is a hang, which fails the run too.
  TMPDIR="$dir/tmp" "$bin" "$dir/corpus" -max_total_time="$seconds" \
    -max_len="$(max_len "$h")" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$h/" "${dict[@]}" \
    >"$dir/log" 2>&1 || rc=$?
  end="$(date +%s.%N)"
  [ "$rc" -eq 0 ] || status="FAILED (exit $rc)"
  local execs rate corpus
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")"
  corpus="$(find "$dir/corpus" -type f | wc -l)"
  if [ -n "${FUZZ_KEEP:-}" ]; then
    mkdir -p "$FUZZ_KEEP/$h"
    cp "$dir/corpus"/* "$FUZZ_KEEP/$h/"
  fi
  printf '%-12s %7.1f s %12s execs %8s exec/s %6s corpus  %s\n' "$h" \
    "$(awk "BEGIN { print $end - $start }")" "${execs:-?}" "${rate:-?}" "$corpus" \
    "$status" >"$dir/result"
}

echo "fuzz: ${#harnesses[@]} harness(es), ${seconds} s each, $jobs at once"
for h in "${harnesses[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
  run_one "$h" &
done
wait

# The lines of a libFuzzer log worth reading: what broke, our own frames of
# the stack, and where the crash input was written.
crash_summary() {
  grep -E "fuzz invariant broken|ERROR: |runtime error|SUMMARY: |Test unit written|^ +#[0-9]+ .* in [a-zA-Z_]*(bo_|fuzz_|check_|LLVMFuzzerTestOneInput)" \
    "$1" | head -30 || tail -20 "$1"
}

failed=0
for h in "${harnesses[@]}"; do
  if [ -f "$scratch/$h/result" ]; then
    cat "$scratch/$h/result"
  else
    printf '%-12s did not finish\n' "$h"
  fi
  if ! grep -q ' ok$' "$scratch/$h/result" 2>/dev/null; then
    failed=1
    if grep -q "fuzz invariant broken\|ERROR: " "$scratch/$h/regressions.log" 2>/dev/null; then
      echo "  ---- a regression input (tests/fuzz/regressions/$h/) fails again:"
      crash_summary "$scratch/$h/regressions.log" | sed 's/^/  /'
    fi
    if [ -s "$scratch/$h/log" ] && ! grep -q "^Done [0-9]* runs" "$scratch/$h/log"; then
      echo "  ---- the fuzzing run:"
      crash_summary "$scratch/$h/log" | sed 's/^/  /'
    fi
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED" >&2
  exit 1
fi
echo "fuzz: PASSED"
