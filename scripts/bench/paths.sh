#!/usr/bin/env bash
# Every path of the most-read requests, not only the cached one, on PostgreSQL: one user with
# 20 accounts and 100,000 transactions (one busy account holding 9% of them), served by the
# release binary in each way it can run, one after another on the same data, with
# /health/live measured in the same run as the baseline:
#
# - the cached overview with the cache in process and in Redis, for one instance alone
#   (NESTEGG_INSTANCES=one) and as one of several (=several, which also reads the session on
#   every request, and without Redis reads the cache version from the database);
# - the overview uncached (NESTEGG_CACHE_MAX_BYTES=0: nothing is kept), for its latency one
#   request at a time and its throughput;
# - the first page of transactions: the user's, the busy account's, and a small account's.
#
# Needs: the local PostgreSQL (postgres@127.0.0.1, trust auth) and Redis (127.0.0.1:6379),
# wrk (installed with apt-get if missing). Run from the repository: bash scripts/bench/paths.sh
# Figures go to stdout; copy them into docs/PERFORMANCE.md with the machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROWS="${ROWS:-100000}"
PORT="${PORT:-18090}"
SECONDS_EACH="${SECONDS_EACH:-10}"
DB=nestegg_paths
BASE="http://127.0.0.1:$PORT"
PREFIX="bench-paths:$$:"

# shellcheck source=scripts/bench/common.sh
source scripts/bench/common.sh
build_release
machine
pg_bench
echo "redis: $(redis-server --version | awk '{print $3}')"

fresh_db $DB
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" NESTEGG_ADDR="127.0.0.1:$PORT"

SERVER=
stop_server() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  SERVER=
}
cleanup() {
  stop_server
  redis-cli -h 127.0.0.1 --scan --pattern "$PREFIX*" | xargs -r redis-cli -h 127.0.0.1 DEL >/dev/null
}
trap cleanup EXIT
start_server() { # VAR=value ... for this server only
  stop_server
  env "$@" "$BIN" serve & SERVER=$!
  wait_up "$BASE/health/ready"
}

start_server NESTEGG_INSTANCES=one
bench_user
for n in $(seq 1 20); do new_account "Account $n" checking 1000 >/dev/null; done

echo "seeding $ROWS transactions..."
# Accounts in creation order: the first is the busy one (9% of the rows), the other 19 share
# the rest evenly.
seed_transactions "$DB" "$ROWS" 1095 \
  "JOIN numbered a ON a.n = CASE WHEN g % 100 < 9 THEN 0 ELSE 1 + g % 19 END" \
  "CREATE TEMP TABLE numbered AS SELECT id, user_id, row_number() OVER (ORDER BY created_at, id) - 1 AS n FROM accounts;"
BUSY=$("${PSQL[@]}" -d "$DB" -Atc "SELECT id FROM accounts ORDER BY created_at, id LIMIT 1")
SMALL=$("${PSQL[@]}" -d "$DB" -Atc "SELECT id FROM accounts ORDER BY created_at, id OFFSET 1 LIMIT 1")
echo "busy account: $("${PSQL[@]}" -d "$DB" -Atc "SELECT COUNT(*) FROM transactions WHERE account_id = '$BUSY'") rows; small: $("${PSQL[@]}" -d "$DB" -Atc "SELECT COUNT(*) FROM transactions WHERE account_id = '$SMALL'")"

run() { # name, path, connections
  wrk_row "$(printf '%-52s c=%-3s' "$1" "$3")" req/s -t"$(( $3 > 1 ? 2 : 1 ))" -c"$3" -d"${SECONDS_EACH}s" -H "$AUTH" "$BASE$2"
}

echo
echo "wrk -d${SECONDS_EACH}s; server, PostgreSQL, Redis and wrk share the machine:"
start_server NESTEGG_INSTANCES=one
run "GET /health/live (baseline)" "/health/live" 16
run "GET /overview cached, one instance, in process" "/api/v1/overview" 16
# Twice each, alternating, to show the run-to-run spread beside the differences.
for _ in 1 2; do
  run "GET /transactions first page, the user's" "/api/v1/transactions?limit=50" 1
  run "GET /transactions first page, busy account (9%)" "/api/v1/transactions?limit=50&account_id=$BUSY" 1
  run "GET /transactions first page, small account" "/api/v1/transactions?limit=50&account_id=$SMALL" 1
done
run "GET /transactions first page, the user's" "/api/v1/transactions?limit=50" 16
run "GET /transactions first page, busy account (9%)" "/api/v1/transactions?limit=50&account_id=$BUSY" 16
start_server NESTEGG_INSTANCES=one REDIS_URL=redis://127.0.0.1:6379 NESTEGG_REDIS_PREFIX="$PREFIX"
run "GET /overview cached, one instance, Redis" "/api/v1/overview" 16
start_server NESTEGG_INSTANCES=several
run "GET /overview cached, several, versions in PostgreSQL" "/api/v1/overview" 16
start_server NESTEGG_INSTANCES=several REDIS_URL=redis://127.0.0.1:6379 NESTEGG_REDIS_PREFIX="$PREFIX"
run "GET /overview cached, several, Redis" "/api/v1/overview" 16
start_server NESTEGG_INSTANCES=one NESTEGG_CACHE_MAX_BYTES=0
run "GET /overview uncached (20 accounts)" "/api/v1/overview" 1
run "GET /overview uncached (20 accounts)" "/api/v1/overview" 16
start_server NESTEGG_INSTANCES=one
run "GET /health/live (baseline, again)" "/health/live" 16
