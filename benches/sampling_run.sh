#!/usr/bin/env bash
# Sampling benchmark: N closed requests inside the eligibility window, one real run, on SQLite
# and PostgreSQL (release build). Prints the run's wall time, peak memory and the run's own
# timings (reading the frame, deciding, writing).
#   benches/sampling_run.sh [N=1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
work="$(mktemp -d)"
pg_admin="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
pg_db="satisfaction_bench_sampling_$$"
trap 'rm -rf "$work"; psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
cargo build --release --quiet
# Closed over the 13 days before 2026-11-20T12:00-05:00: all inside the default 14-day window.
python3 benches/gen_requests_csv.py "$n" 13 > "$work/requests.csv"
export ROCKET_SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" RUST_LOG=warn NO_COLOR=1
psql "$pg_admin" -qc "CREATE DATABASE $pg_db" >/dev/null
for url in "sqlite://$work/bench.db?mode=rwc" "${pg_admin%/*}/$pg_db"; do
  echo "== ${url%%:*}"
  ROCKET_DATABASE_URL="$url" target/release/satisfaction import requests "$work/requests.csv" --report "$work/rejected.csv" >/dev/null || [ $? -eq 3 ]
  ROCKET_DATABASE_URL="$url" RUST_LOG=warn,satisfaction::sampling=info /usr/bin/time -f "sampling run: wall %e s, peak RSS %M KiB" \
    target/release/satisfaction sample --now 2026-11-20T17:00:00Z 2>&1 | grep -E "timings|sampling run"
done
