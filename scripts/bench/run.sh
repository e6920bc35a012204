#!/usr/bin/env bash
# Runs Nestegg's benchmarks; figures and the machine they were taken on go in
# docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m)"
cargo bench -p nestegg-domain --bench money -- --warm-up-time 1 --measurement-time 3
# Bank-sync ingest against a bulk insert (local PostgreSQL, the fake Plaid in-process).
bash scripts/bench/sync.sh
# Resident memory after 10,000 distinct history requests (release server, SQLite).
bash scripts/bench/cache-memory.sh
