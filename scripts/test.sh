#!/usr/bin/env bash
# The test command (README, CI via .ci/run). On a fresh Debian 12 machine, as
# root or with sudo:
#   1. installs what the build needs (scripts/install-deps.sh),
#   2. checks formatting, if clang-format is installed,
#   3. builds build/ with warnings as errors and runs every test: unit tests,
#      the store tests again on PostgreSQL, and the integration suite in both
#      configurations (integration.* on SQLite + the in-process queue,
#      integration_pg.* on PostgreSQL + Redis, several instances and faults
#      included),
#   4. builds build-asan/ with ASan+UBSan and runs the whole suite there
#      (unit, store, integration in both configurations, deploy smoke): the
#      tests and the server they start are both instrumented,
#   5. builds the server alone with ThreadSanitizer (build-tsan/) and runs
#      the concurrency tests of build/ against it, both configurations,
#   6. runs each fuzzer for 15 s, the chaos soak for 45 s and the benchmark
#      at smoke size (about a minute).
# A sanitizer report fails the run: in a test process through the
# sanitizer's own exit, in a server through the harness, which fails a
# test binary whose server ended badly or logged a report
# (tests/integration/support/harness.c). No report is suppressed except
# Criterion's own runner leak (tests/unit/support/lsan_runner.c says why).
# PostgreSQL and Redis are never the machine's own: tests/services.sh starts
# throwaway ones per test binary (and per test where a test needs its own)
# in temporary folders, and stops them even when a test fails or crashes.
# On 2 cores the whole run takes about 20 minutes once the packages are
# installed (measured on a fresh clone, 2026-11-27): build/ ~1 min and its
# tests ~4.5 min, the browser tests ~1 min, build-asan/ ~2 min and its
# tests ~5.5 min, build-tsan/ ~35 s and its tests ~1.5 min, then the
# fuzzers, the soak and the bench smoke ~4 min.
# Re-running is cheap: existing build directories are reused.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs="$(nproc)"
step="start"
report() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    echo "test.sh: FAILED during: $step (exit $status)" >&2
  fi
}
trap report EXIT

step="install-deps"
scripts/install-deps.sh

# Formatting drift fails the run: a tree that stays formatted keeps diffs
# about behaviour, and the fix is one command (scripts/format.sh). The check
# is skipped with a warning only when clang-format is missing.
step="format check"
if command -v clang-format >/dev/null 2>&1; then
  scripts/format.sh --check
else
  echo "test.sh: warning: clang-format not installed; formatting not checked" >&2
fi

# Same configure line as scripts/run.sh, so the two share build/ without
# reconfiguring each other.
step="build (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBO_WERROR=ON -DBO_SANITIZE=OFF -DBO_TESTS=ON
cmake --build build -j"$jobs"

step="tests (build/)"
ctest --test-dir build --output-on-failure

# The web front in a real browser: Debian's Chromium, headless, driven by
# playwright-core against build/'s server (tests/e2e/run.sh, under a
# minute): a whole purchase, two browsers racing for a seat, a hold running
# out, the waiting room letting a buyer in, the operator's dashboard.
# Screenshots of every page state go to build-e2e/screenshots/.
step="browser tests (tests/e2e/)"
tests/e2e/run.sh build/boxoffice

# Debug: sanitizer reports point at exact lines, and asserts are on.
step="build (build-asan/)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
  -DBO_WERROR=ON -DBO_SANITIZE=ON -DBO_TESTS=ON
cmake --build build-asan -j"$jobs"

step="all tests under ASan+UBSan (build-asan/)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure

# ThreadSanitizer. Criterion itself crashes under TSan, so only the server
# is built with it, and the race-heavy tests of build/ (many clients at
# once, several instances on one database, outages under load) drive it.
# ctest would set BOXOFFICE_BIN back to build/'s server, so the binaries
# run here directly, as ctest runs them. halt_on_error: the first report
# ends the server with exit code 66, which the harness turns into a failed
# test binary, as it does for "ThreadSanitizer" in a server's log.
step="build (build-tsan/)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBO_WERROR=ON -DBO_TSAN=ON -DBO_TESTS=OFF
cmake --build build-tsan -j"$jobs" --target boxoffice

tsan_env=(BOXOFFICE_SOURCE_DIR="$PWD" BOXOFFICE_BIN="$PWD/build-tsan/boxoffice"
  TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1")
for backend in sqlite postgres; do
  for name in test_races test_instances test_faults test_flow test_lines \
    test_stream; do
    step="$name on $backend against the ThreadSanitizer server (build-tsan/)"
    echo "test.sh: $step"
    if [ "$backend" = sqlite ]; then
      env "${tsan_env[@]}" BOXOFFICE_IT_BACKEND=sqlite \
        "build/tests/$name" --jobs 2
    else
      env "${tsan_env[@]}" BOXOFFICE_IT_BACKEND=postgres \
        tests/services.sh run "build/tests/$name" --jobs 2
    fi
  done
done

# Short runs of the long jobs, so they never rot: each libFuzzer harness for
# 15 s (make fuzz runs them longer) and the chaos soak for 45 s (make soak:
# 300 s). Both fail on a crash or an invariant violation.
step="fuzz (15 s per harness)"
scripts/fuzz.sh 15

step="chaos soak (45 s)"
scripts/soak.sh 45

# The benchmark at smoke size (make bench runs it in full): every
# configuration and workload for a second or so, so the bench never rots.
# It asserts nothing about time; it fails when a server does not start, a
# workload meets errors, or the checks after the rush and the purchases
# find a seat held or sold twice.
step="bench smoke (bench/run.sh --smoke)"
bench/run.sh --smoke --out build-bench/smoke

step="done"
echo "test.sh: PASSED: all tests in build/, all tests under ASan+UBSan in build-asan/, concurrency tests against a ThreadSanitizer server in build-tsan/, fuzzing, chaos soak, bench smoke"
