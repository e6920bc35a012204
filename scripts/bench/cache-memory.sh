#!/usr/bin/env bash
# Resident memory of the real server (release build, SQLite, the in-process report cache)
# after 10,000 distinct history requests from one user, against the same server idle and
# against a server that caches nothing (NESTEGG_CACHE_MAX_BYTES=0), measured in the same run.
#
# Two patterns, 10,000 requests each, on a fresh server each time:
#   - ten-year daily ranges, each with another `from` (the abuse of issue 10: before, every
#     range became a cache entry of ~300 KB); they do not end today, so they are not cached;
#   - ranges ending today, each with another (from, interval): the ones that are cached, so
#     the budget is what bounds them.
#
# Needs: python3, curl, a release build. Run from the repository: bash scripts/bench/cache-memory.sh
# Figures go to stdout; copy them into docs/PERFORMANCE.md with the machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

REQUESTS="${REQUESTS:-10000}"
PORT="${PORT:-18081}"
BASE="http://127.0.0.1:$PORT"

# shellcheck source=scripts/bench/common.sh
source scripts/bench/common.sh
scratch
build_release
machine

# Starts a server (pid in SERVER) on a fresh database with NESTEGG_CACHE_MAX_BYTES=$1.
start_server() {
  rm -f "$WORK"/n.db*
  DATABASE_URL="sqlite://$WORK/n.db?mode=rwc" NESTEGG_ADDR="127.0.0.1:$PORT" \
    NESTEGG_BCRYPT_COST=4 NESTEGG_CACHE_MAX_BYTES="$1" RUST_LOG=warn \
    "$BIN" serve >"$WORK/server.log" 2>&1 &
  SERVER=$!
  wait_up "$BASE/health/live"
}

# One user with five accounts and 200 transactions over ten years; prints the access token.
seed() {
  python3 - "$BASE" <<'PY'
import datetime, sys
sys.path.insert(0, "scripts/bench")
from api import call, new_user
base = sys.argv[1]
token = new_user(base, "bench")
today = datetime.date.today()
for n, kind in enumerate(["checking", "savings", "credit_card", "checking", "savings"]):
    account = call(base, "POST", "/api/v1/accounts",
                   {"name": f"A{n}", "type": kind, "current_balance": "1000"}, token)["id"]
    for i in range(40):
        day = today - datetime.timedelta(days=(i * 91 + n * 17) % 3650)
        call(base, "POST", "/api/v1/transactions",
             {"account_id": account, "amount": f"-{i + 1}.25", "date": day.isoformat(),
              "description": "bench"}, token)
print(token)
PY
}

# Sends $REQUESTS distinct history requests of pattern $1 with token $2 on two connections.
drive() {
  python3 - "$PORT" "$1" "$2" "$REQUESTS" <<'PY'
import datetime, http.client, sys, threading
port, pattern, token, total = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
today = datetime.date.today()
def path(n):
    if pattern == "ten-year":
        start = today - datetime.timedelta(days=20000 + n)
        end = start + datetime.timedelta(days=3650)
        return f"/api/v1/overview/history?from={start}&to={end}&interval=day"
    # Ending today: 3,658 starts by day (the most points allowed), then by week, then by month.
    interval = ("day", "week", "month")[n // 3658]
    start = today - datetime.timedelta(days=1 + n % 3658)
    return f"/api/v1/overview/history?from={start}&interval={interval}"
errors, sizes = [], []
def worker(first):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for n in range(first, total, 2):
        conn.request("GET", path(n), headers={"authorization": "Bearer " + token})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            errors.append((response.status, path(n)))
        sizes.append(len(body))
threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
for t in threads: t.start()
for t in threads: t.join()
if errors:
    sys.exit(f"{len(errors)} errors, first: {errors[0]}")
print(f"{len(sizes)} responses, {sum(sizes) / len(sizes) / 1024:.0f} KB on average")
PY
}

run() { # label, NESTEGG_CACHE_MAX_BYTES, pattern
  local token idle start
  start_server "$2"
  token=$(seed)
  sleep 1
  idle=$(rss_mb)
  start=$(date +%s)
  drive "$3" "$token" >"$WORK/drive.txt"
  printf '%-48s idle %6s MB  after %6s MB  (+%5.1f)  peak %6s MB  %4s s  %s\n' "$1" "$idle" \
    "$(rss_mb)" "$(echo "$(rss_mb) - $idle" | bc)" "$(hwm_mb)" "$(( $(date +%s) - start ))" \
    "$(cat "$WORK/drive.txt")"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
}

command -v bc >/dev/null || apt-get install -y bc >/dev/null
echo
echo "$REQUESTS distinct GET /overview/history per run, 2 connections, a fresh server each run:"
run "ten-year daily ranges, no cache (baseline)" 0 ten-year
run "ten-year daily ranges, 32 MiB budget (default)" 33554432 ten-year
run "ranges ending today, no cache (baseline)" 0 today
run "ranges ending today, 32 MiB budget (default)" 33554432 today
run "ranges ending today, 64 MiB budget" 67108864 today
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
