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
#   4. builds build-asan/ with ASan+UBSan and runs the integration tests
#      there, both configurations, since they drive the real binary through
#      the code paths that matter.
# PostgreSQL and Redis are never the machine's own: tests/services.sh starts
# throwaway ones per test binary (and per test where a test needs its own)
# in temporary folders, and stops them even when a test fails or crashes.
# On 2 cores the whole run takes about 4 minutes once the packages are
# installed: each build ~30 s, step 3 ~1.5 min, step 4 ~1 min.
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

# Debug: sanitizer reports point at exact lines, and asserts are on.
step="build (build-asan/)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
  -DBO_WERROR=ON -DBO_SANITIZE=ON -DBO_TESTS=ON
cmake --build build-asan -j"$jobs"

step="integration tests under ASan+UBSan (build-asan/)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan -L integration --output-on-failure

step="done"
echo "test.sh: PASSED: all tests in build/, integration tests under ASan+UBSan in build-asan/"
