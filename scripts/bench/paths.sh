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
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -U postgres -h 127.0.0.1)
BASE="http://127.0.0.1:$PORT"
PREFIX="bench-paths:$$:"

command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
cargo build --release -q -p nestegg
BIN="${CARGO_TARGET_DIR:-target}/release/nestegg"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(lscpu | sed -n 's/Model name: *//p' | head -1)"
echo "postgres: $("${PSQL[@]}" -Atc 'show server_version'), redis: $(redis-server --version | awk '{print $3}')"

"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export NESTEGG_JWT_SECRET="bench-secret-bench-secret-bench-secret!!"
export NESTEGG_ENCRYPTION_KEY="$(printf '%032d' 0 | base64)"
export NESTEGG_ADDR="127.0.0.1:$PORT" NESTEGG_BCRYPT_COST=4 RUST_LOG=warn

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
  for _ in $(seq 1 100); do curl -sf "$BASE/health/ready" >/dev/null && return; sleep 0.1; done
  echo "the server did not start" >&2; exit 1
}

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
start_server NESTEGG_INSTANCES=one
curl -sf -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","username":"bench","password":"benchmark password"}' >/dev/null
TOKEN=$(curl -sf -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"login":"bench","password":"benchmark password"}' | json "['access_token']")
AUTH="authorization: Bearer $TOKEN"
for n in $(seq 1 20); do
  curl -sf -X POST "$BASE/api/v1/accounts" -H 'content-type: application/json' -H "$AUTH" \
    -d "{\"name\":\"Account $n\",\"type\":\"checking\",\"current_balance\":\"1000\"}" >/dev/null
done

echo "seeding $ROWS transactions..."
# Accounts in creation order: the first is the busy one (9% of the rows), the other 19 share
# the rest evenly.
"${PSQL[@]}" -d "$DB" <<SQL
CREATE TEMP TABLE numbered AS SELECT id, user_id, row_number() OVER (ORDER BY created_at, id) - 1 AS n FROM accounts;
INSERT INTO transactions (id, user_id, account_id, amount, date, description, merchant_name,
                          category, is_pending, is_recurring, created_at, updated_at)
SELECT gen_random_uuid(), a.user_id, a.id,
       (CASE WHEN g % 10 = 0 THEN 1 ELSE -1 END) * (1 + (random() * 20000)::int) / 100.0,
       CURRENT_DATE - (random() * 1095)::int,
       'Purchase ' || g, (ARRAY['Amazon','Whole Foods','Shell','Netflix','Acme Corp'])[1 + g % 5],
       (ARRAY['food_and_drink','shopping','transportation','income','transfer','entertainment'])[1 + g % 6],
       g % 50 = 0, false, now(), now()
FROM generate_series(1, $ROWS) g
JOIN numbered a ON a.n = CASE WHEN g % 100 < 9 THEN 0 ELSE 1 + g % 19 END;
VACUUM ANALYZE transactions;
SQL
"${PSQL[@]}" -d "$DB" -f scripts/bench/ledger-rebuild.sql
BUSY=$("${PSQL[@]}" -d "$DB" -Atc "SELECT id FROM accounts ORDER BY created_at, id LIMIT 1")
SMALL=$("${PSQL[@]}" -d "$DB" -Atc "SELECT id FROM accounts ORDER BY created_at, id OFFSET 1 LIMIT 1")
echo "busy account: $("${PSQL[@]}" -d "$DB" -Atc "SELECT COUNT(*) FROM transactions WHERE account_id = '$BUSY'") rows; small: $("${PSQL[@]}" -d "$DB" -Atc "SELECT COUNT(*) FROM transactions WHERE account_id = '$SMALL'")"

run() { # name, path, connections
  local out; out=$(wrk -t"$(( $3 > 1 ? 2 : 1 ))" -c"$3" -d"${SECONDS_EACH}s" --latency -H "$AUTH" "$BASE$2")
  printf '%-52s c=%-3s %10s req/s   p50 %-9s p99 %s\n' "$1" "$3" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
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
