#!/usr/bin/env bash
# Where a request's work goes: boxoffice on the embedded default under
# valgrind's callgrind, one workload, counted in instructions per request.
# Instructions, not seconds: the count is the same whatever else the machine
# is doing, so a before/after comparison on a shared machine means
# something (docs/benchmarks.md has the figures this produced).
#
#   bench/profile.sh poll|seatmap|purchase [--bin PATH] [--seconds N] [--out DIR]
#
#   --bin      the boxoffice binary (default build-bench/boxoffice, built if
#              missing); pass an older build to measure "before"
#   --seconds  how long the load runs under callgrind (default 20)
#   --out      where callgrind.out, the annotation and summary.json go
#              (default build-bench/profile-WORKLOAD)
#
# Prints instructions per request (per purchase for purchase) and the
# functions with the most inclusive instructions.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

workload="${1:-}"
case "$workload" in
poll | seatmap | purchase) shift ;;
*) sed -n '2,17p' "$0"; exit 2 ;;
esac
bin="$root/build-bench/boxoffice"
seconds=20
out=""
while [ $# -gt 0 ]; do
  case "$1" in
  --bin) bin="$2"; shift ;;
  --seconds) seconds="$2"; shift ;;
  --out) out="$2"; shift ;;
  *) echo "profile: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
out="${out:-$root/build-bench/profile-$workload}"
out="$(realpath -m "$out")" # absolute: the server runs elsewhere
say() { echo "profile: $*" >&2; }

if [ ! -x "$root/build-bench/bench/load/bo_load" ] || [ ! -x "$bin" ]; then
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBO_WERROR=ON \
    -DBO_TESTS=OFF -DBO_BENCH=ON >/dev/null
  cmake --build build-bench -j"$(nproc)" --target boxoffice bo_load >&2
fi
load="$root/build-bench/bench/load/bo_load"

rm -rf "$out"
mkdir -p "$out"
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
users=2000
"$bin" migrate --db "sqlite:$out/profile.db" >/dev/null 2>&1
bench/seed_users.sh "sqlite:$out/profile.db" "$users"

# The server's threads and settings as served by default, except the rate
# limits (one host sends everything here) and enough room in the line.
BOXOFFICE_ADMIN_TOKEN=profile valgrind --tool=callgrind \
  --callgrind-out-file="$out/callgrind.out" \
  "$bin" serve --listen "127.0.0.1:$port" --db "sqlite:$out/profile.db" \
  --active-max 1000 --poll-rate 0 --issue-rate 0 2>"$out/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -sf "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "$url/healthz" >/dev/null || { cat "$out/server.log" >&2; exit 1; }

body='{"name":"profile","schedules":['
for i in $(seq 1 20); do
  body+="{\"startsAt\":\"$(date -u -d "+$((30 + i)) days" +%Y-%m-%dT19:00:00Z)\",\"seatCount\":50,\"price\":1000}"
  [ "$i" -lt 20 ] && body+=","
done
body+=']}'
reply="$(curl -sf -X POST "$url/api/v1/admin/concerts" -H 'Authorization: Bearer profile' \
  -H 'Content-Type: application/json' --data-binary "$body")"
concert="$(jq -r .concertId <<<"$reply")"
first="$(jq -r '[.schedules[].scheduleId] | min' <<<"$reply")"
last="$(jq -r '[.schedules[].scheduleId] | max' <<<"$reply")"

tokens="$out/tokens.txt"
if [ "$workload" != purchase ]; then
  "$load" tokens --url "$url" --users "1:$users" --connections 16 --out "$tokens" >/dev/null
fi

callgrind_control -z "$server" >/dev/null # count only what follows
case "$workload" in
poll)
  json="$(wrk -t1 -c32 -d"${seconds}s" -s bench/wrk/poll.lua "$url" -- "$tokens" |
    grep '^json:' | sed 's/^json://')"
  count="$(jq -r .requests <<<"$json")" unit=request ;;
seatmap)
  json="$(wrk -t1 -c32 -d"${seconds}s" -s bench/wrk/seatmap.lua "$url" -- "$tokens" "$first" "$last" |
    grep '^json:' | sed 's/^json://')"
  count="$(jq -r .requests <<<"$json")" unit=request ;;
purchase)
  json="$("$load" purchase --url "$url" --users "1:$users" --concert "$concert" \
    --connections 16 --duration "$seconds")"
  count="$(jq -r .purchases <<<"$json")" unit=purchase ;;
esac
callgrind_control -d "$server" >/dev/null
sleep 1
kill "$server"
wait "$server" 2>/dev/null || true
trap - EXIT

# The dump taken after the load (callgrind numbers its dumps .1, .2, ...).
dump="$(ls "$out"/callgrind.out.* 2>/dev/null | sort -V | head -n 1)"
[ -n "$dump" ] || dump="$out/callgrind.out"
callgrind_annotate --inclusive=yes "$dump" >"$out/inclusive.txt" 2>/dev/null
total="$(grep -m1 'PROGRAM TOTALS' "$out/inclusive.txt" | awk '{gsub(",", "", $1); print $1}')"
per=$((total / (count > 0 ? count : 1)))
jq -n --arg w "$workload" --argjson n "$count" --arg u "$unit" --argjson ir "$total" \
  --argjson per "$per" --arg bin "$bin" \
  '{workload: $w, binary: $bin, count: $n, unit: $u, instructions: $ir,
    instructions_per_unit: $per}' | tee "$out/summary.json"
say "functions by inclusive instructions: $out/inclusive.txt"
