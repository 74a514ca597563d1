#!/usr/bin/env bash
# tools/verify-draw against a draw made by the service's own code
# (draw_fixture links src/queue/draw.c): the two were written apart, so
# agreeing on an honest draw cross-checks both, and each tampering below must
# be caught by the check that the tool names.
#
# Usage: test_verify_draw.sh DRAW_FIXTURE VERIFY_DRAW
set -euo pipefail

fixture=$1
verify=$2
count=1000
failures=0

command -v python3 >/dev/null || {
  echo "test_verify_draw: python3 is needed (scripts/install-deps.sh)" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$fixture" "$count" >"$work/draw.json"

# The fixture writes one entry id per line; the seed and commitment sit on
# lines of their own too.
mapfile -t ids < <(sed -nE 's/^ +"([0-9a-f]{64})",?$/\1/p' "$work/draw.json")
seed=$(sed -nE 's/^ *"seed": "([0-9a-f]{64})",?$/\1/p' "$work/draw.json")
commitment=$(sed -nE 's/^ *"seedCommitment": "([0-9a-f]{64})",?$/\1/p' "$work/draw.json")
if [ "${#ids[@]}" -ne "$count" ] || [ -z "$seed" ] || [ -z "$commitment" ]; then
  echo "test_verify_draw: cannot read the fixture's output" >&2
  exit 1
fi

# Coreutils and bash only: bash's printf writes the bytes of \xHH escapes.
sha256_of_hex() {
  # shellcheck disable=SC2001,SC2059
  printf "$(sed 's/../\\x&/g' <<<"$1")" | sha256sum | cut -c1-64
}
random_hex() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

# expect NAME STATUS PATTERN -- verify-draw ARGS...: the exit status is
# STATUS and the output (stdout and stderr) matches the extended regex
# PATTERN.
expect() {
  local name=$1 want=$2 pattern=$3 got=0
  shift 4
  "$verify" "$@" >"$work/out" 2>&1 || got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL $name: exit $got, want $want" >&2
    sed 's/^/    /' "$work/out" >&2
    failures=$((failures + 1))
  elif ! grep -qE -- "$pattern" "$work/out"; then
    echo "FAIL $name: output lacks /$pattern/" >&2
    sed 's/^/    /' "$work/out" >&2
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

# variant NAME SED-SCRIPT: a tampered copy of the draw.
variant() { sed -E "$2" "$work/draw.json" >"$work/$1.json"; }

# --- a known answer (docs/draw.md, "A worked example") ------------------
# Seed 00 01 .. 1f; tokens of 16 bytes 01.., 02.., 03..: the answer was
# computed apart by draw.c and by Python's hashlib, so both sides are pinned
# to it, not only to each other.
cat >"$work/known.json" <<'JSON'
{"concertId": 7, "onSaleAt": "2026-12-01T10:00:00Z",
 "seedCommitment": "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd",
 "seed": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
 "drawnAt": "2026-12-01T10:00:00.103Z",
 "entries": ["6399f6d863b08f4652b342c2e1350b4c01e291332d9d84d84b575bf7272897d2",
             "cc8cd41cef907c4d216069122c4b89936211361f9050a717a1e37ad1862e952f",
             "292afde3b64e6636d68f1120d9242f1f85e38ef7bf306e4407c2303eb63791ef"]}
JSON
# draw.c gives the same order (the fixture's --known mode).
known_order=$(sed -nE 's/^ +"([0-9a-f]{64})",?$/\1/p' <("$fixture" --known) | tr '\n' ' ')
if [ "$known_order" = "6399f6d863b08f4652b342c2e1350b4c01e291332d9d84d84b575bf7272897d2 cc8cd41cef907c4d216069122c4b89936211361f9050a717a1e37ad1862e952f 292afde3b64e6636d68f1120d9242f1f85e38ef7bf306e4407c2303eb63791ef " ]; then
  echo "ok   known answer from draw.c"
else
  echo "FAIL known answer from draw.c: $known_order" >&2
  failures=$((failures + 1))
fi
expect "known answer" 0 '^your place: 2 of 3$' -- "$work/known.json" \
  --commitment 630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd \
  --entry-id cc8cd41cef907c4d216069122c4b89936211361f9050a717a1e37ad1862e952f

# --- the honest draw ------------------------------------------------------
expect "honest draw" 0 '^verified$' -- "$work/draw.json"
expect "honest draw, saved commitment" 0 'ok \(b\)' -- \
  "$work/draw.json" --commitment "$commitment"
expect "honest draw from stdin" 0 '^verified$' -- - <"$work/draw.json"
for place in 1 137 "$count"; do
  expect "place of entry $place" 0 "^your place: $place of $count\$" -- \
    "$work/draw.json" --entry-id "${ids[place - 1]}"
done
expect "entry id in upper case" 0 "^your place: 2 of $count\$" -- \
  "$work/draw.json" --entry-id "${ids[1]^^}"

# --- tampering: each is caught, by the check it breaks --------------------
# Two neighbours swapped (places 10 and 11).
variant swapped "s/${ids[9]}/SWAP/; s/${ids[10]}/${ids[9]}/; s/SWAP/${ids[10]}/"
expect "two entries swapped" 1 'FAILED \(d\) order: place 10' -- \
  "$work/swapped.json"

# The first and the last swapped.
variant ends "s/${ids[0]}/SWAP/; s/${ids[count - 1]}/${ids[0]}/; s/SWAP/${ids[count - 1]}/"
expect "first and last swapped" 1 'FAILED \(d\) order: place 1:' -- \
  "$work/ends.json"

# An entry dropped (place 500). The rest is still in order, so only the
# holder of the dropped entry can tell: with their --entry-id it fails.
variant dropped "/${ids[499]}/d"
expect "an entry dropped, its holder checks" 1 'FAILED \(e\) your entry' -- \
  "$work/dropped.json" --entry-id "${ids[499]}"
expect "an entry dropped, another holder checks" 0 \
  "^your place: 500 of $((count - 1))\$" -- \
  "$work/dropped.json" --entry-id "${ids[500]}"

# An entry listed twice.
variant doubled "s/${ids[41]}/${ids[40]}/"
expect "an entry listed twice" 1 'FAILED \(c\) entries: place 42' -- \
  "$work/doubled.json"

# An entry that is not an id.
variant notid "s/${ids[5]}/${ids[5]:0:63}g/"
expect "an entry not hex" 1 'FAILED \(c\) entries: place 6' -- \
  "$work/notid.json"

# A wrong seed, with a commitment that matches it: the order gives it away.
other=$(random_hex)
variant wrongseed "s/\"seed\": \"$seed\"/\"seed\": \"$other\"/; s/\"seedCommitment\": \"$commitment\"/\"seedCommitment\": \"$(sha256_of_hex "$other")\"/"
expect "wrong seed (with its own commitment)" 1 'FAILED \(d\) order' -- \
  "$work/wrongseed.json"

# ... and the saved commitment catches it before the order does.
expect "wrong seed, saved commitment" 1 'FAILED \(b\) saved commitment' -- \
  "$work/wrongseed.json" --commitment "$commitment"

# A seed that does not match the commitment.
variant unmatched "s/\"seed\": \"$seed\"/\"seed\": \"$other\"/"
expect "seed not matching the commitment" 1 'FAILED \(a\) commitment' -- \
  "$work/unmatched.json"

# A wrong --commitment (the draw itself is honest).
expect "wrong --commitment" 1 'FAILED \(b\) saved commitment' -- \
  "$work/draw.json" --commitment "$(random_hex)"

# An entry id that is not in the draw at all.
expect "unknown --entry-id" 1 'FAILED \(e\) your entry' -- \
  "$work/draw.json" --entry-id "$(random_hex)"

# --- usage and input errors: exit 2 ----------------------------------------
printf 'not json' >"$work/garbage.json"
expect "not JSON" 2 'not JSON' -- "$work/garbage.json"
variant noseed '/"seed":/d'
expect "no seed" 2 'no string "seed"' -- "$work/noseed.json"
expect "no such file" 2 'verify-draw: ' -- "$work/absent.json"
expect "bad --entry-id" 2 'entry-id' -- "$work/draw.json" --entry-id 12ab
expect "no argument" 2 'usage' --

# --- an empty pre-queue is a valid draw -----------------------------------
"$fixture" 0 >"$work/empty.json"
expect "empty draw" 0 'ok \(c\) 0 distinct' -- "$work/empty.json"

if [ "$failures" -ne 0 ]; then
  echo "test_verify_draw: $failures failed" >&2
  exit 1
fi
echo "test_verify_draw: all passed"
