#!/usr/bin/env bash
# HTTP load benchmark: the release server on a fresh SQLite file (or PostgreSQL with
# BENCH_DATABASE_URL) holding 100,000 historical responses, measured with wrk (Debian package
# `wrk`): 2 threads, 16 connections, 10 s per endpoint. Prints requests/s and latencies.
#   benches/http_load.sh [SECONDS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
work="$(mktemp -d)"
port=8765
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
# BENCH_BINARY: an already built release binary (e.g. from another CARGO_TARGET_DIR).
[ -n "${BENCH_BINARY:-}" ] || cargo build --release --quiet
export ROCKET_SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" RUST_LOG=warn
export ROCKET_DATABASE_URL="${BENCH_DATABASE_URL:-sqlite://$work/bench.db?mode=rwc}" ROCKET_PORT=$port
bin="${BENCH_BINARY:-target/release/satisfaction}"
$bin migrate >/dev/null
python3 benches/gen_responses_csv.py 100000 > "$work/responses.csv"
$bin import responses "$work/responses.csv" >/dev/null
key="$($bin api-key create load-bench)"
$bin serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
run() {
  local name="$1"; shift
  echo "== $name"
  wrk -t2 -c16 -d"${seconds}s" --latency "$@" | grep -E "Requests/sec|Latency  | 50% | 99% |Non-2xx"
}
run "GET /health" "http://127.0.0.1:$port/health"
run "GET / (home page, template)" "http://127.0.0.1:$port/"
run "GET /api/v1/stats?by=direction (whole months: roll-up)" -H "Authorization: Bearer $key" \
  "http://127.0.0.1:$port/api/v1/stats?by=direction&from=2025-12-01&to=2026-11-30"
run "GET /api/v1/stats?by=direction (any dates: months and edge days)" -H "Authorization: Bearer $key" \
  "http://127.0.0.1:$port/api/v1/stats?by=direction&from=2025-12-15&to=2026-11-14"
echo "server peak RSS: $(grep VmHWM /proc/$server/status | awk '{print $2, $3}')"
