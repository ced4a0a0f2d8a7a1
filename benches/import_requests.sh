#!/usr/bin/env bash
# Import benchmark: N generated requests through `satisfaction import requests`, on SQLite and
# PostgreSQL, reporting rows/s and peak resident memory (GNU time). Release build.
#   benches/import_requests.sh [N=1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
# IN_TIME_ORDER=1: a file in the order a CRM exports it (see the generator).
python3 benches/gen_requests_csv.py "$n" ${IN_TIME_ORDER:+--in-time-order} > "$work/requests.csv"
echo "input: $n rows, $(du -h "$work/requests.csv" | cut -f1)"
export ROCKET_SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" RUST_LOG=warn
pg_admin="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
pg_db="satisfaction_bench_$$"
psql "$pg_admin" -qc "CREATE DATABASE $pg_db" >/dev/null
trap 'rm -rf "$work"; psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null' EXIT
for url in "sqlite://$work/bench.db?mode=rwc" "${pg_admin%/*}/$pg_db"; do
  echo "== ${url%%:*}"
  ROCKET_DATABASE_URL="$url" /usr/bin/time -f "peak RSS %M KiB, wall %e s" \
    target/release/satisfaction import requests "$work/requests.csv" --report "$work/rejected.csv" || [ $? -eq 3 ]
done
