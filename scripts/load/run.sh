#!/usr/bin/env bash
# Load with invariants: USERS locust users doing mixed reads and writes for DURATION seconds
# across two `nestegg serve` instances on the machine's PostgreSQL and Redis, after a
# BASELINE-second run of GET /health/live with the same users; then a check that every
# acknowledged write is stored as acknowledged and every account's balance is its opening
# balance plus its posted transactions, exactly. Fails on any 5xx or any difference.
#
# Needs: PostgreSQL at 127.0.0.1:5432 (user postgres, trust) and Redis at 127.0.0.1:6379,
# python3 (locust is installed by scripts/load/venv.sh outside the clone), a release build
# (made here). Its own database (nestegg_load_<pid>) and Redis key prefix are created here and
# removed at the end, whatever happens. Only loopback addresses are used.
#
# Run from anywhere: bash scripts/load/run.sh   (USERS=32 DURATION=120 BASELINE=20)
# Prints the figures as a Markdown table for docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

USERS="${USERS:-32}"
DURATION="${DURATION:-120}"
BASELINE="${BASELINE:-20}"
DB="nestegg_load_$$"
PREFIX="nestegg-load-$$:"
WORK="$(mktemp -d /tmp/nestegg-load.XXXXXX)"
PG=(-h 127.0.0.1 -U postgres)

VENV="$(bash scripts/load/venv.sh)"
cargo build --release -q -p nestegg
BIN="${CARGO_TARGET_DIR:-target}/release/nestegg"

SERVERS=()
SAMPLER=""
cleanup() {
    for pid in "${SERVERS[@]}" $SAMPLER; do kill "$pid" 2>/dev/null || true; done
    for pid in "${SERVERS[@]}"; do wait "$pid" 2>/dev/null || true; done
    dropdb "${PG[@]}" --if-exists --force "$DB" || true
    redis-cli -h 127.0.0.1 --scan --pattern "${PREFIX}*" \
        | xargs -r -n 500 redis-cli -h 127.0.0.1 DEL >/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

createdb "${PG[@]}" "$DB"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
# Two instances on one database: they must say so (a sole instance refuses company).
export NESTEGG_INSTANCES=several
export REDIS_URL="redis://127.0.0.1:6379" NESTEGG_REDIS_PREFIX="$PREFIX"
export NESTEGG_JWT_SECRET="load-secret-load-secret-load-secret!!"
export NESTEGG_ENCRYPTION_KEY="$(printf '%032d' 0 | base64)"
export RUST_LOG=warn
# Migrate once, so that the two instances do not race to apply the migrations.
"$BIN" migrate up >/dev/null
BASES=()
for n in 1 2; do
    port="$(free_port)"
    NESTEGG_ADDR="127.0.0.1:$port" "$BIN" serve >"$WORK/server-$n.log" 2>&1 &
    SERVERS+=($!)
    BASES+=("http://127.0.0.1:$port")
done
for base in "${BASES[@]}"; do
    for _ in $(seq 1 100); do curl -sf "$base/health/ready" >/dev/null && break; sleep 0.1; done
    curl -sf "$base/health/ready" >/dev/null
done
export NESTEGG_LOAD_BASES
NESTEGG_LOAD_BASES="$(IFS=,; echo "${BASES[*]}")"
export NESTEGG_LOAD_LEDGER="$WORK/ledger.json"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(lscpu | sed -n 's/Model name: *//p' | head -1)"
echo "postgres: $(psql -X "${PG[@]}" -Atc 'show server_version'), redis: $(redis-server --version | sed 's/.* v=\([^ ]*\).*/\1/'), $("$VENV/bin/locust" --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# The 1-minute load average every 5 s during the runs.
(while :; do cut -d' ' -f1 /proc/loadavg >>"$WORK/load"; sleep 5; done) & SAMPLER=$!

locust() {
    "$VENV/bin/locust" -f scripts/load/locustfile.py --headless --only-summary \
        --stop-timeout 10 --users "$USERS" "$@" >"$WORK/locust-$1.out" 2>&1 \
        || { cat "$WORK/locust-$1.out"; return 1; }
}
echo "baseline: $USERS users, GET /health/live only, ${BASELINE} s"
locust LiveUser --spawn-rate "$USERS" --run-time "${BASELINE}s" --csv "$WORK/live"
echo "mixed: $USERS users, reads and writes, ${DURATION} s"
status=0
locust MixedUser --spawn-rate 4 --run-time "${DURATION}s" --csv "$WORK/mixed" || status=1
kill "$SAMPLER" 2>/dev/null || true; SAMPLER=""
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); 1-minute load during the runs: $(sort -n "$WORK/load" | head -1)-$(sort -n "$WORK/load" | tail -1)"
grep -h "5xx answers" "$WORK"/locust-*.out || true

python3 - "$WORK/live_stats.csv" "$WORK/mixed_stats.csv" <<'PY'
import csv, sys
print()
print("| request | requests | req/s | p50 | p99 | failures |")
print("| --- | --- | --- | --- | --- | --- |")
for path in sys.argv[1:]:
    for row in csv.DictReader(open(path)):
        name = row["Name"] if row["Name"] != "Aggregated" else "all of the above"
        if "live" in path and name == "all of the above":
            continue
        if name == "GET /health/live":
            name += " (baseline)"
        print(f"| {name} | {row['Request Count']} | {float(row['Requests/s']):,.0f} | "
              f"{row['50%']} ms | {row['99%']} ms | {row['Failure Count']} |")
print()
PY
for n in 1 2; do
    errors="$(grep -c 'ERROR' "$WORK/server-$n.log" || true)"
    echo "server $n: $errors ERROR lines"
    grep -m 5 'ERROR' "$WORK/server-$n.log" || true
done
"$VENV/bin/python" scripts/load/check.py "$NESTEGG_LOAD_LEDGER" "$DB" || status=1
exit "$status"
