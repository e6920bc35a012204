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
# Absolute, so that the baseline's build (in another folder) shares the same target.
TARGET="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
SCRIPT_DIR="$(pwd)/scripts/bench"

# shellcheck source=scripts/bench/common.sh
source scripts/bench/common.sh
cargo build --release -q -p nestegg
cp "$TARGET/release/nestegg" /tmp/nestegg-bench-current
BASE_TREE=/tmp/nestegg-bench-baseline
rm -rf "$BASE_TREE"
git worktree prune
git worktree add -q --detach "$BASE_TREE" "$BASELINE_REV"
(cd "$BASE_TREE" && CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p nestegg)
cp "$TARGET/release/nestegg" /tmp/nestegg-bench-baseline-bin
git worktree remove --force "$BASE_TREE"

machine
pg_bench
echo "baseline: $BASELINE_REV ($(git log -1 --format=%s "$BASELINE_REV" | cut -c1-60))"

SERVER=
trap 'kill $SERVER 2>/dev/null || true' EXIT

# Starts BIN on database DB at PORT (for BASE), as the bench user (registered unless
# "login-only"), until stop.
serve() { # bin, db, port, [login-only]
  BASE="http://127.0.0.1:$3"
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/$2" NESTEGG_ADDR="127.0.0.1:$3" "$1" serve & SERVER=$!
  wait_up "$BASE/health/live"
  bench_user "${4:-}"
}
stop() { kill $SERVER; wait $SERVER 2>/dev/null || true; }

# Starts BIN on a fresh database DB at PORT with one user and 20 accounts, seeds ROWS
# transactions over ten years, and sets BASE, AUTH, TOKEN and ACCOUNTS.
setup() { # bin, db, port
  fresh_db "$2"
  serve "$@"
  local ids=()
  for i in $(seq 1 20); do
    type=checking; [ $((i % 5)) = 0 ] && type=credit_card; [ $((i % 5)) = 1 ] && type=savings
    ids+=("$(new_account "Account $i" "$type" 100000000)")
  done
  ACCOUNTS=$(IFS=,; echo "${ids[*]}")
  local start; start=$(date +%s)
  seed_transactions "$2" "$ROWS" 3649 \
    "JOIN LATERAL (SELECT id, user_id FROM accounts ORDER BY id OFFSET (g % 20) LIMIT 1) a ON true" \
    "" no-ledger
  echo "  seeded $ROWS transactions in $(( $(date +%s) - start )) s"
}

# What the application would have written for the seeded transactions (scripts/bench/ledger-rebuild.sql).
ledger_rebuild() { # db
  local start; start=$(date +%s)
  "${PSQL[@]}" -d "$1" -f "$SCRIPT_DIR/ledger-rebuild.sql"
  echo "  rebuilt the ledger's balance points ($("${PSQL[@]}" -d "$1" -Atc 'SELECT count(*) FROM balance_snapshots') rows) in $(( $(date +%s) - start )) s"
}

posts() { # label, date, connections
  ACCOUNTS=$ACCOUNTS DATE=$2 TOKEN=$TOKEN wrk_row "$(printf '  %-56s' "$1")" posts/s \
    -t"$(( $3 < 2 ? 1 : 2 ))" -c"$3" -d"${4:-10}s" -s "$SCRIPT_DIR/post.lua" "$BASE"
}

TODAY=$(date -u +%F)
THREE_YEARS=$(date -u -d '3 years ago' +%F)
TEN_YEARS=$(date -u -d '3650 days ago' +%F)

echo
echo "baseline build:"
setup /tmp/nestegg-bench-baseline-bin nestegg_bench_base 18081
posts "POST /transactions dated today (baseline)" "$TODAY" 8
posts "POST /transactions dated today, 1 at a time (baseline)" "$TODAY" 1
stop

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
uncached_times "/api/v1/overview/history?from=$TEN_YEARS&to=$TODAY&interval=day"
echo "  points: $(curl -sf -H "$AUTH" "$BASE/api/v1/overview/history?from=$TEN_YEARS&to=$TODAY&interval=day" | json "['items'].__len__()")"

stop

# The everyday write, one connection, baseline and current alternating on their own seeded
# databases: on two shared cores a single run of each drifts by ±20 %, alternating does not.
echo
echo "POST /transactions dated today, 1 at a time, alternating builds (wrk -t1 -c1 -d8s):"
for round in 1 2 3; do
  for build in baseline current; do
    if [ $build = baseline ]; then bin=/tmp/nestegg-bench-baseline-bin db=nestegg_bench_base; else bin=/tmp/nestegg-bench-current db=nestegg_bench_ledger; fi
    serve $bin $db 18083 login-only
    ACCOUNTS=$("${PSQL[@]}" -d "$db" -Atc "SELECT string_agg(id::text, ',') FROM accounts")
    posts "round $round $build" "$TODAY" 1 8
    stop
  done
done

echo
echo "query plans:"
ACCOUNT_ID=${ACCOUNTS%%,*}
"${PSQL[@]}" -d nestegg_bench_ledger -c "EXPLAIN (ANALYZE, COSTS OFF) UPDATE balance_snapshots SET balance = balance + 1 WHERE account_id = '$ACCOUNT_ID' AND date >= '$THREE_YEARS'"
USER_ID=$("${PSQL[@]}" -d nestegg_bench_ledger -Atc "SELECT id FROM users LIMIT 1")
"${PSQL[@]}" -d nestegg_bench_ledger -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT s.account_id, a.type, s.currency, s.date, s.balance FROM balance_snapshots s JOIN accounts a ON a.id = s.account_id WHERE a.user_id = '$USER_ID' AND s.date <= '$TODAY' ORDER BY s.account_id, s.date"
