#!/usr/bin/env bash
# Benchmarks bank-sync ingest on PostgreSQL: a first sync of an item holding 100,000
# transactions from the fake Plaid (started in-process, 500 updates per /transactions/sync
# page, through the real HTTP client and BankSync::sync) against the baseline of the same rows
# written by one SqlConnectionRepository::apply call into a second fresh database, measured in
# the same run; then a second, unchanged sync of the item. Prints both rates, their ratio
# (target: the sync at least half the bulk rate) and the second sync's time (target: < 1 s),
# after checking that every run stored the bank's transactions and balances.
#
# Needs: the local PostgreSQL (trust auth; TEST_DATABASE_URL, an admin URL, defaults to
# postgres://postgres@127.0.0.1:5432/postgres), no internet. Builds in release mode
# (cargo bench). Run from the repository: bash scripts/bench/sync.sh
# TRANSACTIONS=5000 makes a quick run; RUST_LOG=... turns on the app's logs.
# The bench program is crates/app/benches/sync_ingest.rs; figures go in docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export TRANSACTIONS="${TRANSACTIONS:-100000}"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(lscpu | sed -n 's/Model name: *//p' | head -1)"
echo "postgres: $(psql -X -At "$TEST_DATABASE_URL" -c 'show server_version' 2>/dev/null || echo '?')"
cargo bench -q -p nestegg --bench sync_ingest --no-run
echo "load before: $(uptime | sed 's/.*load average/load average/')"
cargo bench -q -p nestegg --bench sync_ingest
echo "load after: $(uptime | sed 's/.*load average/load average/')"
