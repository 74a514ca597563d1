#!/usr/bin/env bash
# The first command of the README: installs what is missing, builds, and
# serves the API with demo data (loaded only into an empty database, so
# re-running keeps what you did). Extra arguments go to `boxoffice serve`,
# e.g. scripts/run.sh --listen 127.0.0.1:9090
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

# Same configure line as scripts/test.sh, so the two share build/ without
# reconfiguring each other; only the server is built here.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBO_WERROR=ON -DBO_SANITIZE=OFF -DBO_TESTS=ON
cmake --build build -j"$(nproc)" --target boxoffice

# Where it will listen, resolved like boxoffice does: flag, variable, default.
listen="${BOXOFFICE_LISTEN:-127.0.0.1:8080}"
token_flag=no
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
  --listen=*) listen="${args[i]#--listen=}" ;;
  --listen)
    if [ $((i + 1)) -lt ${#args[@]} ]; then listen="${args[i + 1]}"; fi
    ;;
  --admin-token | --admin-token=*) token_flag=yes ;;
  esac
done

# A newcomer should be able to try the admin API at once, so an unset secret
# gets a fresh random one for this run (never a fixed, guessable default). A
# secret the user chose is not echoed: the terminal may be recorded.
admin="<your admin secret>"
if [ -z "${BOXOFFICE_ADMIN_TOKEN:-}" ] && [ "$token_flag" = no ]; then
  BOXOFFICE_ADMIN_TOKEN="demo-$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')"
  export BOXOFFICE_ADMIN_TOKEN
  admin="$BOXOFFICE_ADMIN_TOKEN"
  echo "run.sh: admin secret for this run (set BOXOFFICE_ADMIN_TOKEN to choose one):"
  echo "  $admin"
fi

echo "run.sh: serving on http://$listen (a port of 0 means: see the log for the real one)"
echo "  try: curl http://$listen/api/v1/concerts"
echo "       curl -H 'Authorization: Bearer $admin' -X POST http://$listen/api/v1/admin/concerts ..."
echo "  stop with Ctrl-C"

exec build/boxoffice serve --demo "$@"
