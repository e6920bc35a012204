#!/usr/bin/env bash
# Memory of the real server (release build, SQLite) while it streams `GET /me/export` of a user
# with about a million transactions and a million history rows, against the same export of a
# user with a thousand, measured in the same run on the same server.
#
# The rows are made in SQL (the first thousand through the API, then doubled ten times with
# new ids), since only their number matters to the export. Peak memory is the server's VmHWM,
# reset through /proc/<pid>/clear_refs before each export, so the seeding does not count.
#
# Needs: python3, curl, sqlite3, a release build. Run from the repository:
#   bash scripts/bench/export-memory.sh
# Figures go to stdout; copy them into docs/PERFORMANCE.md with the machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

PORT="${PORT:-18082}"
BASE="http://127.0.0.1:$PORT"
DOUBLINGS="${DOUBLINGS:-10}"

# shellcheck source=scripts/bench/common.sh
source scripts/bench/common.sh
scratch
build_release
machine
DB="$WORK/n.db"

DATABASE_URL="sqlite://$DB?mode=rwc" NESTEGG_ADDR="127.0.0.1:$PORT" NESTEGG_BCRYPT_COST=4 \
    RUST_LOG=warn "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
wait_up "$BASE/health/live"

# Registers $1 with one checking account and 1,000 transactions through the API; prints the
# access token.
seed() {
  python3 - "$BASE" "$1" <<'PY'
import datetime, sys
sys.path.insert(0, "scripts/bench")
from api import call, new_user
base, name = sys.argv[1], sys.argv[2]
token = new_user(base, name)
account = call(base, "POST", "/api/v1/accounts",
               {"name": "Checking", "type": "checking", "current_balance": "1000",
                "opened_on": "2015-01-01"}, token)["id"]
start = datetime.date(2016, 1, 1)
for i in range(1000):
    call(base, "POST", "/api/v1/transactions",
         {"account_id": account, "amount": f"-{i % 97 + 1}.25",
          "date": (start + datetime.timedelta(days=i * 3)).isoformat(),
          "description": f"Coffee and a croissant #{i}", "merchant_name": "Corner Cafe",
          "category": "food_and_drink"}, token)
print(token)
PY
}

# Doubles user $1's transactions and their history $DOUBLINGS times, with new ids.
double() {
  local user
  user=$(sqlite3 "$DB" "SELECT hex(id) FROM users WHERE username = '$1'")
  for _ in $(seq 1 "$DOUBLINGS"); do
    sqlite3 "$DB" "BEGIN;
      INSERT INTO transactions (id, user_id, account_id, plaid_transaction_id, amount, date,
          description, merchant_name, category, is_pending, is_recurring, created_at, updated_at)
        SELECT randomblob(16), user_id, account_id, NULL, amount, date, description,
          merchant_name, category, is_pending, is_recurring, created_at, updated_at
        FROM transactions WHERE user_id = X'$user';
      INSERT INTO transaction_history (id, user_id, transaction_id, account_id, action, changes,
          created_at)
        SELECT randomblob(16), user_id, transaction_id, account_id, action, changes, created_at
        FROM transaction_history WHERE user_id = X'$user';
      COMMIT;"
  done
  sqlite3 "$DB" "SELECT count(*) FROM transactions WHERE user_id = X'$user'"
}

# Streams user $2's export through a counter; prints size, time and what the document holds.
export_run() {
  local label=$1 token=$2 idle start
  sleep 1
  idle=$(rss_mb)
  echo 5 >"/proc/$SERVER/clear_refs"
  start=$(date +%s.%N)
  counted=$(curl -sf -H "authorization: Bearer $token" "$BASE/api/v1/me/export" |
    python3 "$WORK/count.py")
  printf '%-34s idle %6s MB  peak %6s MB  (+%5.1f)  %6.1f s  %s\n' "$label" "$idle" "$(hwm_mb)" \
    "$(echo "$(hwm_mb) - $idle" | bc)" "$(echo "$(date +%s.%N) - $start" | bc)" "$counted"
}

command -v bc >/dev/null || apt-get install -y bc >/dev/null
# Counts an export's transactions and history rows as it streams by: a record is an object
# opening an array or following a comma in it (their fields hold no such objects), in the
# section whose key came last; a tail is carried across chunks so nothing counts twice.
cat >"$WORK/count.py" <<'PY'
import re, sys
token = re.compile(rb'"(transactions|transaction_history|snapshots)":|[\[,]\{"')
counts, section, size, carry = {}, None, 0, b""
while True:
    chunk = sys.stdin.buffer.read(1 << 20)
    size += len(chunk)
    window = carry + chunk
    end = len(window) - (40 if chunk else 0)
    for m in token.finditer(window):
        if m.start() >= end:
            break
        if m.group(1):
            section = m.group(1).decode()
        elif section:
            counts[section] = counts.get(section, 0) + 1
    carry = window[end:]
    if not chunk:
        break
print(f"{size / 1e6:.1f} MB, {counts.get('transactions', 0)} transactions, "
      f"{counts.get('transaction_history', 0)} history rows")
PY
small=$(seed small)
large=$(seed large)
echo "seeded: $(double large) transactions for the large user"
echo
echo "GET /api/v1/me/export, one server, the small user first (baseline):"
export_run "1,000 transactions (baseline)" "$small"
export_run "$(( 1000 << DOUBLINGS )) transactions" "$large"
export_run "1,000 transactions again" "$small"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
