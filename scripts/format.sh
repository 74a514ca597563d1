#!/usr/bin/env bash
# Formats every C source and header under src/ and tests/ with the checked-in
# .clang-format. With --check it changes nothing and fails when a file would
# change, which is what scripts/test.sh (and so CI) runs.
#
# The reference is Debian 12's clang-format (14): other major versions can
# format a few constructs differently, so judge drift with that one.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=(-i)
case "${1:-}" in
--check) mode=(--dry-run --Werror) ;;
"") ;;
*)
  echo "usage: scripts/format.sh [--check]" >&2
  exit 2
  ;;
esac

if ! command -v clang-format >/dev/null 2>&1; then
  echo "format: clang-format is not installed (apt-get install clang-format)" >&2
  exit 2
fi

# find, not git ls-files: files not yet added must be checked too.
mapfile -d '' files < <(find src tests bench -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
if [ ${#files[@]} -eq 0 ]; then
  echo "format: no C files found"
  exit 0
fi

if clang-format --style=file "${mode[@]}" "${files[@]}"; then
  if [ "${1:-}" = --check ]; then
    echo "format: ${#files[@]} files formatted as .clang-format says"
  else
    echo "format: formatted ${#files[@]} files"
  fi
else
  echo "format: some files drift from .clang-format; run scripts/format.sh" >&2
  exit 1
fi
