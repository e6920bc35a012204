#!/usr/bin/env bash
# Benchmarks the transaction list, cash flow and cached overview on PostgreSQL with 1,000,000
# transactions for one user, against /health/live measured in the same run.
#
# Needs: the local PostgreSQL (postgres@127.0.0.1, trust auth), wrk (installed with apt-get if
# missing), a release build. Run from the repository: bash scripts/bench/transactions.sh
# Figures go to stdout; copy them into docs/PERFORMANCE.md with the machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROWS="${ROWS:-1000000}"
PORT="${PORT:-18080}"
DB=nestegg_bench
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -U postgres -h 127.0.0.1)
BASE="http://127.0.0.1:$PORT"

command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
cargo build --release -q -p nestegg
BIN="${CARGO_TARGET_DIR:-target}/release/nestegg"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(lscpu | sed -n 's/Model name: *//p' | head -1)"
echo "postgres: $("${PSQL[@]}" -Atc 'show server_version')"

"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export NESTEGG_JWT_SECRET="bench-secret-bench-secret-bench-secret!!"
export NESTEGG_ENCRYPTION_KEY="$(printf '%032d' 0 | base64)"
export NESTEGG_ADDR="127.0.0.1:$PORT" NESTEGG_BCRYPT_COST=4 RUST_LOG=warn
"$BIN" serve & SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "$BASE/health/live" >/dev/null && break; sleep 0.2; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
curl -sf -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","username":"bench","password":"benchmark password"}' >/dev/null
TOKEN=$(curl -sf -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"login":"bench","password":"benchmark password"}' | json "['access_token']")
AUTH="authorization: Bearer $TOKEN"
for name in Checking Savings Card Brokerage Cash; do
  type=checking; [ "$name" = Card ] && type=credit_card; [ "$name" = Savings ] && type=savings
  curl -sf -X POST "$BASE/api/v1/accounts" -H 'content-type: application/json' -H "$AUTH" \
    -d "{\"name\":\"$name\",\"type\":\"$type\",\"current_balance\":\"1000000\"}" >/dev/null
done

echo "seeding $ROWS transactions..."
start=$(date +%s)
"${PSQL[@]}" -d "$DB" <<SQL
INSERT INTO transactions (id, user_id, account_id, amount, date, description, merchant_name,
                          category, is_pending, is_recurring, created_at, updated_at)
SELECT gen_random_uuid(), a.user_id, a.id,
       (CASE WHEN g % 10 = 0 THEN 1 ELSE -1 END) * (1 + (random() * 20000)::int) / 100.0,
       DATE '2026-11-25' - (random() * 1095)::int,
       'Purchase ' || g, (ARRAY['Amazon','Whole Foods','Shell','Netflix','Acme Corp'])[1 + g % 5],
       (ARRAY['food_and_drink','shopping','transportation','income','transfer','entertainment'])[1 + g % 6],
       g % 50 = 0, false, now(), now()
FROM generate_series(1, $ROWS) g
JOIN LATERAL (SELECT id, user_id FROM accounts ORDER BY id OFFSET (g % 5) LIMIT 1) a ON true;
VACUUM ANALYZE transactions;
SQL
# The balances and balance points the application would have written for them.
"${PSQL[@]}" -d "$DB" -f scripts/bench/ledger-rebuild.sql
echo "seeded in $(( $(date +%s) - start )) s"

# The cursor of the page 10,000 rows deep, as the API encodes it (base64url of "date|id").
DEEP=$("${PSQL[@]}" -d "$DB" -Atc "SELECT date || '|' || id FROM transactions ORDER BY date DESC, id DESC OFFSET 9999 LIMIT 1" \
  | tr -d '\n' | base64 -w0 | tr '+/' '-_' | tr -d '=')

run() { # name, path, [connections]
  local out; out=$(wrk -t2 -c"${3:-16}" -d10s --latency -H "$AUTH" "$BASE$2")
  printf '%-34s %10s req/s   p50 %-9s p99 %s\n' "$1" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
}
echo
echo "wrk -t2 -c16 -d10s, server and load on the same 2 cores:"
run "GET /health/live (baseline)" "/health/live"
run "GET /overview (cached)" "/api/v1/overview"
run "GET /transactions first page" "/api/v1/transactions?limit=50"
run "GET /transactions 10,000 rows deep" "/api/v1/transactions?limit=50&cursor=$DEEP"
run "GET /transactions?q=whole (search)" "/api/v1/transactions?limit=50&q=whole"

echo
echo "one-year cash flow, uncached (a rate change drops the cache before each request):"
for i in $(seq 1 10); do
  curl -sf -X PUT "$BASE/api/v1/fx-rates/EUR" -H 'content-type: application/json' -H "$AUTH" -d "{\"rate\":\"1.0$i\"}" >/dev/null
  curl -sf -o /dev/null -w '%{time_total}\n' -H "$AUTH" "$BASE/api/v1/cashflow?from=2025-11-26&to=2026-11-25"
done | sort -n | awk '{a[NR]=$1} END {printf "  min %.3f s  median %.3f s  max %.3f s (n=%d)\n", a[1], a[int((NR+1)/2)], a[NR], NR}'

echo
echo "query plans:"
USER_ID=$("${PSQL[@]}" -d "$DB" -Atc "SELECT id FROM users LIMIT 1")
"${PSQL[@]}" -d "$DB" -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM transactions WHERE user_id = '$USER_ID' ORDER BY date DESC, id DESC LIMIT 51"
"${PSQL[@]}" -d "$DB" -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT id FROM transactions WHERE user_id = '$USER_ID' AND (date, id) < (SELECT date, id FROM transactions ORDER BY date DESC, id DESC OFFSET 9999 LIMIT 1) ORDER BY date DESC, id DESC LIMIT 51"
ACCOUNT_ID=$("${PSQL[@]}" -d "$DB" -Atc "SELECT id FROM accounts LIMIT 1")
"${PSQL[@]}" -d "$DB" -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT id FROM transactions WHERE user_id = '$USER_ID' AND account_id = '$ACCOUNT_ID' ORDER BY date DESC, id DESC LIMIT 51"
"${PSQL[@]}" -d "$DB" -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT id FROM transactions WHERE user_id = '$USER_ID' AND (lower(description) LIKE '%whole%' OR lower(merchant_name) LIKE '%whole%') ORDER BY date DESC, id DESC LIMIT 51"
"${PSQL[@]}" -d "$DB" -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT t.category, a.currency, SUM(t.amount), COUNT(*) FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE t.user_id = '$USER_ID' AND t.date >= '2025-11-26' AND t.date <= '2026-11-25' AND t.is_pending = false AND t.category <> 'transfer' GROUP BY 1, 2"
