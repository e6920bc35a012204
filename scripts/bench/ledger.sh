#!/usr/bin/env bash
# Benchmarks the ledger on PostgreSQL with 1,000,000 transactions of one user over ten years in
# 20 accounts: a daily ten-year net-worth history, a write dated three years back (it shifts
# every later balance point), and the everyday write (dated today) side by side with the same
# write on a baseline build (default: the code before the ledger) seeded the same way.
#
# Needs: the local PostgreSQL (postgres@127.0.0.1, trust auth), wrk (installed with apt-get if
# missing), git. Run from the repository: bash scripts/bench/ledger.sh
# BASELINE_REV picks the baseline commit; ROWS the number of transactions.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROWS="${ROWS:-1000000}"
BASELINE_REV="${BASELINE_REV:-bc6352a}"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -U postgres -h 127.0.0.1)
# Absolute, so that the baseline's build (in another folder) shares the same target.
TARGET="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
SCRIPT_DIR="$(pwd)/scripts/bench"

command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
cargo build --release -q -p nestegg
cp "$TARGET/release/nestegg" /tmp/nestegg-bench-current
BASE_TREE=/tmp/nestegg-bench-baseline
rm -rf "$BASE_TREE"
git worktree prune
git worktree add -q --detach "$BASE_TREE" "$BASELINE_REV"
(cd "$BASE_TREE" && CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p nestegg)
cp "$TARGET/release/nestegg" /tmp/nestegg-bench-baseline-bin
git worktree remove --force "$BASE_TREE"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(lscpu | sed -n 's/Model name: *//p' | head -1)"
echo "postgres: $("${PSQL[@]}" -Atc 'show server_version')"
echo "baseline: $BASELINE_REV ($(git log -1 --format=%s "$BASELINE_REV" | cut -c1-60))"

export NESTEGG_JWT_SECRET="bench-secret-bench-secret-bench-secret!!"
export NESTEGG_ENCRYPTION_KEY="$(printf '%032d' 0 | base64)"
export NESTEGG_BCRYPT_COST=4 RUST_LOG=warn
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
SERVER=
trap 'kill $SERVER 2>/dev/null || true' EXIT

# Starts BIN on a fresh database DB at PORT with one user and 20 accounts, seeds ROWS
# transactions over ten years, and sets BASE, AUTH, TOKEN and ACCOUNTS.
setup() { # bin, db, port
  local bin=$1 db=$2 port=$3
  "${PSQL[@]}" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  BASE="http://127.0.0.1:$port"
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" NESTEGG_ADDR="127.0.0.1:$port" \
    "$bin" serve & SERVER=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/health/live" >/dev/null && break; sleep 0.2; done
  curl -sf -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","username":"bench","password":"benchmark password"}' >/dev/null
  TOKEN=$(curl -sf -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"login":"bench","password":"benchmark password"}' | json "['access_token']")
  AUTH="authorization: Bearer $TOKEN"
  local ids=()
  for i in $(seq 1 20); do
    type=checking; [ $((i % 5)) = 0 ] && type=credit_card; [ $((i % 5)) = 1 ] && type=savings
    ids+=("$(curl -sf -X POST "$BASE/api/v1/accounts" -H 'content-type: application/json' -H "$AUTH" \
      -d "{\"name\":\"Account $i\",\"type\":\"$type\",\"current_balance\":\"100000000\"}" | json "['id']")")
  done
  ACCOUNTS=$(IFS=,; echo "${ids[*]}")
  local start; start=$(date +%s)
  "${PSQL[@]}" -d "$db" <<SQL
INSERT INTO transactions (id, user_id, account_id, amount, date, description, merchant_name,
                          category, is_pending, is_recurring, created_at, updated_at)
SELECT gen_random_uuid(), a.user_id, a.id,
       (CASE WHEN g % 10 = 0 THEN 1 ELSE -1 END) * (1 + (random() * 20000)::int) / 100.0,
       CURRENT_DATE - (random() * 3649)::int,
       'Purchase ' || g, (ARRAY['Amazon','Whole Foods','Shell','Netflix','Acme Corp'])[1 + g % 5],
       (ARRAY['food_and_drink','shopping','transportation','income','transfer','entertainment'])[1 + g % 6],
       g % 50 = 0, false, now(), now()
FROM generate_series(1, $ROWS) g
JOIN LATERAL (SELECT id, user_id FROM accounts ORDER BY id OFFSET (g % 20) LIMIT 1) a ON true;
VACUUM ANALYZE transactions;
SQL
  # Vacuumed above, so that autovacuum does not start on the fresh rows in the middle of a run.
  echo "  seeded $ROWS transactions in $(( $(date +%s) - start )) s"
}

# What the application would have written for the seeded transactions (scripts/bench/ledger-rebuild.sql).
ledger_rebuild() { # db
  local start; start=$(date +%s)
  "${PSQL[@]}" -d "$1" -f "$SCRIPT_DIR/ledger-rebuild.sql"
  echo "  rebuilt the ledger's balance points ($("${PSQL[@]}" -d "$1" -Atc 'SELECT count(*) FROM balance_snapshots') rows) in $(( $(date +%s) - start )) s"
}

posts() { # label, date, connections
  local out
  out=$(ACCOUNTS=$ACCOUNTS DATE=$2 TOKEN=$TOKEN wrk -t"$(( $3 < 2 ? 1 : 2 ))" -c"$3" -d10s --latency -s "$SCRIPT_DIR/post.lua" "$BASE")
  printf '  %-56s %8s posts/s   p50 %-9s p99 %s\n' "$1" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
  if grep -q "Non-2xx" <<<"$out"; then echo "  !! $(grep Non-2xx <<<"$out")"; fi
}

TODAY=$(date -u +%F)
THREE_YEARS=$(date -u -d '3 years ago' +%F)
TEN_YEARS=$(date -u -d '3650 days ago' +%F)

echo
echo "baseline build:"
setup /tmp/nestegg-bench-baseline-bin nestegg_bench_base 18081
posts "POST /transactions dated today (baseline)" "$TODAY" 8
posts "POST /transactions dated today, 1 at a time (baseline)" "$TODAY" 1
kill $SERVER; wait $SERVER 2>/dev/null || true

echo
echo "current build:"
setup /tmp/nestegg-bench-current nestegg_bench_ledger 18082
ledger_rebuild nestegg_bench_ledger
posts "POST /transactions dated today" "$TODAY" 8
posts "POST /transactions dated today, 1 at a time" "$TODAY" 1
posts "POST /transactions dated 3 years back" "$THREE_YEARS" 8
posts "POST /transactions dated 3 years back, 1 at a time" "$THREE_YEARS" 1

echo
echo "daily ten-year history of 20 accounts ($TEN_YEARS to $TODAY), uncached (a rate change drops the cache before each request):"
for i in $(seq 1 10); do
  curl -sf -X PUT "$BASE/api/v1/fx-rates/EUR" -H 'content-type: application/json' -H "$AUTH" -d "{\"rate\":\"1.0$i\"}" >/dev/null
  curl -sf -o /dev/null -w '%{time_total}\n' -H "$AUTH" "$BASE/api/v1/overview/history?from=$TEN_YEARS&to=$TODAY&interval=day"
done | sort -n | awk '{a[NR]=$1} END {printf "  min %.3f s  median %.3f s  max %.3f s (n=%d)\n", a[1], a[int((NR+1)/2)], a[NR], NR}'
echo "  points: $(curl -sf -H "$AUTH" "$BASE/api/v1/overview/history?from=$TEN_YEARS&to=$TODAY&interval=day" | json "['items'].__len__()")"

kill $SERVER; wait $SERVER 2>/dev/null || true

# The everyday write, one connection, baseline and current alternating on their own seeded
# databases: on two shared cores a single run of each drifts by ±20 %, alternating does not.
echo
echo "POST /transactions dated today, 1 at a time, alternating builds (wrk -t1 -c1 -d8s):"
for round in 1 2 3; do
  for build in baseline current; do
    if [ $build = baseline ]; then bin=/tmp/nestegg-bench-baseline-bin db=nestegg_bench_base; else bin=/tmp/nestegg-bench-current db=nestegg_bench_ledger; fi
    BASE="http://127.0.0.1:18083"
    DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" NESTEGG_ADDR="127.0.0.1:18083" "$bin" serve & SERVER=$!
    for _ in $(seq 1 100); do curl -sf "$BASE/health/live" >/dev/null && break; sleep 0.2; done
    TOKEN=$(curl -sf -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
      -d '{"login":"bench","password":"benchmark password"}' | json "['access_token']")
    ACCOUNTS=$("${PSQL[@]}" -d "$db" -Atc "SELECT string_agg(id::text, ',') FROM accounts")
    out=$(ACCOUNTS=$ACCOUNTS DATE=$TODAY TOKEN=$TOKEN wrk -t1 -c1 -d8s --latency -s "$SCRIPT_DIR/post.lua" "$BASE")
    printf '  round %s %-9s %8s posts/s   p50 %-9s p99 %s\n' "$round" "$build" \
      "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
      "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
    kill $SERVER; wait $SERVER 2>/dev/null || true
  done
done

echo
echo "query plans:"
ACCOUNT_ID=${ACCOUNTS%%,*}
"${PSQL[@]}" -d nestegg_bench_ledger -c "EXPLAIN (ANALYZE, COSTS OFF) UPDATE balance_snapshots SET balance = balance + 1 WHERE account_id = '$ACCOUNT_ID' AND date >= '$THREE_YEARS'"
USER_ID=$("${PSQL[@]}" -d nestegg_bench_ledger -Atc "SELECT id FROM users LIMIT 1")
"${PSQL[@]}" -d nestegg_bench_ledger -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT s.account_id, a.type, s.currency, s.date, s.balance FROM balance_snapshots s JOIN accounts a ON a.id = s.account_id WHERE a.user_id = '$USER_ID' AND s.date <= '$TODAY' ORDER BY s.account_id, s.date"
