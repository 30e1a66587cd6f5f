#!/usr/bin/env bash
# Requests per second and latency of the access server's hot path, POST /api/v1/keys/verify
# (what a service calls to check a presented key), against the same server's /healthz in
# the same run, at 64 concurrent connections, on SQLite and (when PostgreSQL is installed)
# on PostgreSQL.
#
#   bench/access_server.sh [SECONDS]        (default 10 s per measurement)
#
# Needs wrk (apt-get install wrk). Builds the release binary. Goal: verify throughput at
# least 0.5x /healthz, and p99 under 5 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
cargo build --release --quiet
sg=$(realpath "${CARGO_TARGET_DIR:-target}")/release/secrets-guard
work=$(mktemp -d)
server_pid=""
pg_dir=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$pg_dir" ] && { .ci/postgres stop "$pg_dir"; rm -rf "$pg_dir"; } || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wrk prints "Requests/sec: N" and, with --latency, the 50% and 99% percentiles.
measure() { # URL SCRIPT -> "rps p50 p99"
  local out
  out=$(wrk -t2 -c64 -d"${seconds}s" --latency ${2:+-s "$2"} "$1")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  echo "$rps $p50 $p99"
}

run_backend() { # NAME STORE-ARGS...
  local name=$1; shift
  local dir=$work/$name; mkdir -p "$dir"
  local token
  token=$("$sg" server init "$@" --key-file "$dir/server.key" --account Bench --owner owner@bench.test 2>/dev/null)
  SECRETS_GUARD_LOG=warn "$sg" server "$@" --key-file "$dir/server.key" --listen 127.0.0.1:0 2>"$dir/server.log" &
  server_pid=$!
  local url=""
  for _ in $(seq 1 100); do
    url=$(grep -o 'http://[0-9.:]*' "$dir/server.log" || true)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { cat "$dir/server.log" >&2; exit 1; }
  export SECRETS_GUARD_SERVER=$url SECRETS_GUARD_SESSION=$dir/session
  local uri
  uri=$("$sg" access accept-invite "$token" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["otpauth_uri"])')
  "$sg" access login owner@bench.test --otp "$("$sg" access totp-code --secret "$uri")" >/dev/null
  "$sg" access subaccount add prod --env prod >/dev/null
  local key
  key=$("$sg" access key create --subaccount prod --name bench 2>/dev/null)
  # A few more keys, so the lookup is not of a one-row table.
  for i in $(seq 1 50); do "$sg" access key create --subaccount prod --name "k$i" >/dev/null 2>&1; done
  cat >"$dir/verify.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key": "$key"}'
wrk.headers["Content-Type"] = "application/json"
LUA
  # Warm up, then measure both in the same run.
  wrk -t2 -c64 -d2s -s "$dir/verify.lua" "$url/api/v1/keys/verify" >/dev/null
  read -r h_rps h_p50 h_p99 < <(measure "$url/healthz" "")
  read -r v_rps v_p50 v_p99 < <(measure "$url/api/v1/keys/verify" "$dir/verify.lua")
  local ratio
  ratio=$(python3 -c "print(f'{$v_rps/$h_rps:.2f}')")
  printf '%-10s  /healthz %10s req/s (p50 %s, p99 %s)   keys/verify %10s req/s (p50 %s, p99 %s)   ratio %s\n' \
    "$name" "$h_rps" "$h_p50" "$h_p99" "$v_rps" "$v_p50" "$v_p99" "$ratio"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

echo "secrets-guard access server, 64 connections, ${seconds}s each, $(nproc) cores"
run_backend sqlite --db "$work/sqlite.db"
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  pg_dir=$(mktemp -d)   # its own directory: the postgres user cannot enter $work
  pg_url=$(.ci/postgres start "$pg_dir" "$(free_port)")
  run_backend postgres --database-url "$pg_url"
else
  echo "postgres    skipped: PostgreSQL is not installed (apt-get install postgresql)"
fi
