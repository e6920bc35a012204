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
BASE="http://127.0.0.1:$PORT"

# shellcheck source=scripts/bench/common.sh
source scripts/bench/common.sh
build_release
machine
pg_bench

fresh_db $DB
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" NESTEGG_ADDR="127.0.0.1:$PORT"
"$BIN" serve & SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
wait_up "$BASE/health/live"

bench_user
for name in Checking Savings Card Brokerage Cash; do
  type=checking; [ "$name" = Card ] && type=credit_card; [ "$name" = Savings ] && type=savings
  new_account "$name" "$type" 1000000 >/dev/null
done

echo "seeding $ROWS transactions..."
start=$(date +%s)
seed_transactions "$DB" "$ROWS" 1095 \
  "JOIN LATERAL (SELECT id, user_id FROM accounts ORDER BY id OFFSET (g % 5) LIMIT 1) a ON true"
echo "seeded in $(( $(date +%s) - start )) s"

# The cursor of the page 10,000 rows deep, as the API encodes it (base64url of "date|id").
DEEP=$("${PSQL[@]}" -d "$DB" -Atc "SELECT date || '|' || id FROM transactions ORDER BY date DESC, id DESC OFFSET 9999 LIMIT 1" \
  | tr -d '\n' | base64 -w0 | tr '+/' '-_' | tr -d '=')

run() { # name, path, [connections]
  wrk_row "$(printf '%-34s' "$1")" req/s -t2 -c"${3:-16}" -d10s -H "$AUTH" "$BASE$2"
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
FROM=$(date -u -d '1 year ago + 1 day' +%F) TO=$(date -u +%F)
uncached_times "/api/v1/cashflow?from=$FROM&to=$TO"

echo
echo "query plans:"
USER_ID=$("${PSQL[@]}" -d "$DB" -Atc "SELECT id FROM users LIMIT 1")
"${PSQL[@]}" -d "$DB" -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM transactions WHERE user_id = '$USER_ID' ORDER BY date DESC, id DESC LIMIT 51"
"${PSQL[@]}" -d "$DB" -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT id FROM transactions WHERE user_id = '$USER_ID' AND (date, id) < (SELECT date, id FROM transactions ORDER BY date DESC, id DESC OFFSET 9999 LIMIT 1) ORDER BY date DESC, id DESC LIMIT 51"
ACCOUNT_ID=$("${PSQL[@]}" -d "$DB" -Atc "SELECT id FROM accounts LIMIT 1")
"${PSQL[@]}" -d "$DB" -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT id FROM transactions WHERE user_id = '$USER_ID' AND account_id = '$ACCOUNT_ID' ORDER BY date DESC, id DESC LIMIT 51"
"${PSQL[@]}" -d "$DB" -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT id FROM transactions WHERE user_id = '$USER_ID' AND (lower(description) LIKE '%whole%' OR lower(merchant_name) LIKE '%whole%') ORDER BY date DESC, id DESC LIMIT 51"
"${PSQL[@]}" -d "$DB" -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT t.category, a.currency, SUM(t.amount), COUNT(*) FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE t.user_id = '$USER_ID' AND t.date >= '$FROM' AND t.date <= '$TO' AND t.is_pending = false AND t.category <> 'transfer' GROUP BY 1, 2"
