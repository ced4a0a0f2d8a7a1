#!/usr/bin/env bash
# The databases' own pace at taking closed requests into this schema (its indexes, its two
# foreign keys), with nothing of the product in the way: generated rows inserted set-based
# (INSERT … SELECT), 20,000 to a commit — what `satisfaction import requests` could at best
# approach on this machine. Compare with benches/import_requests.sh. SQLite's page cache is the
# one the import sets (`database.sqlite_import_cache_mb`, 64 MB; SQLITE_CACHE_MB to change it).
#   benches/import_floor.sh [N=1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
batch=20000
work="$(mktemp -d)"
pg_admin="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
pg_db="satisfaction_floor_$$"
trap 'rm -rf "$work"; psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null' EXIT
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/satisfaction"
export ROCKET_SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" RUST_LOG=warn
psql "$pg_admin" -qc "CREATE DATABASE $pg_db" >/dev/null
sqlite_url="sqlite://$work/floor.db?mode=rwc"
pg_url="${pg_admin%/*}/$pg_db"
for url in "$sqlite_url" "$pg_url"; do ROCKET_DATABASE_URL="$url" "$bin" migrate >/dev/null; done

columns="crm_id, direction_id, channel_id, service_code, service_name, status, requested_at, closed_at, contact_email, contact_hash, locale, source, created_at, updated_at"
# A random closing in the year and a random 64-hex contact hash, as a real CRM export has.
{
  echo "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
  echo "PRAGMA cache_size = -$((${SQLITE_CACHE_MB:-64} * 1024));"
  echo "INSERT INTO directions (code, name_fr, name_en) VALUES ('GEN', 'Général', 'General');"
  for ((start = 0; start < n; start += batch)); do
    echo "BEGIN IMMEDIATE;
INSERT INTO service_requests ($columns)
WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $batch),
  r(x, closed) AS (SELECT x, datetime('2026-01-01', '+' || abs(random() % 31536000) || ' seconds') FROM g)
SELECT printf('F-%09d', $start + x), (SELECT id FROM directions WHERE code = 'GEN'), 1, 'S1', 'Service', 'closed',
  closed, closed, 'c' || x || '@exemple.ca', lower(hex(randomblob(32))), 'fr', 'csv', datetime('now'), datetime('now')
FROM r;
COMMIT;"
  done
} > "$work/sqlite.sql"
{
  echo "INSERT INTO directions (code, name_fr, name_en) VALUES ('GEN', 'Général', 'General');"
  for ((start = 0; start < n; start += batch)); do
    echo "BEGIN;
INSERT INTO service_requests ($columns)
SELECT format('F-%s', lpad(($start + g)::text, 9, '0')), (SELECT id FROM directions WHERE code = 'GEN'), 1, 'S1', 'Service',
  'closed', c, c, 'c' || g || '@exemple.ca', md5(random()::text) || md5(random()::text), 'fr', 'csv', now(), now()
FROM generate_series(1, $batch) g, LATERAL (SELECT timestamptz '2026-01-01' + random() * interval '365 days' AS c) t;
COMMIT;"
  done
} > "$work/postgres.sql"

echo "== $n requests, $batch to a commit"
started=$(date +%s.%N)
sqlite3 "$work/floor.db" < "$work/sqlite.sql" >/dev/null
ended=$(date +%s.%N)
echo "sqlite: $(echo "$ended - $started" | bc) s, $(echo "$n / ($ended - $started)" | bc) rows/s"
started=$(date +%s.%N)
psql "$pg_url" -q -v ON_ERROR_STOP=1 -f "$work/postgres.sql" >/dev/null
ended=$(date +%s.%N)
echo "postgresql: $(echo "$ended - $started" | bc) s, $(echo "$n / ($ended - $started)" | bc) rows/s"
