# Sourced by the benchmarks (after `cd` to the repository): the machine line, the release
# build, a PostgreSQL database to seed, the bench user, wrk's figures and the server's memory.

# Cores, memory and CPU model, and the load average, for the figures' header.
machine() {
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(lscpu | sed -n 's/Model name: *//p' | head -1)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Builds the release server; BIN is its path.
build_release() {
  cargo build --release -q -p nestegg
  BIN="${CARGO_TARGET_DIR:-target}/release/nestegg"
}

# A scratch folder WORK, removed on exit, when the server whose pid is SERVER is stopped too.
scratch() {
  WORK=$(mktemp -d)
  SERVER=
  trap 'if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
}

# Waits (up to 10 s) until URL answers.
wait_up() { # url
  for _ in $(seq 1 100); do curl -sf "$1" >/dev/null && return; sleep 0.1; done
  echo "$1 did not answer" >&2; return 1
}

# Prints one field of the JSON on stdin, e.g. json "['id']".
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

PSQL=(psql -X -q -v ON_ERROR_STOP=1 -U postgres -h 127.0.0.1)

# The PostgreSQL benchmarks' setting: wrk (installed if missing), the server's secrets and a
# cheap bcrypt cost, and the server's version in the header.
pg_bench() {
  command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
  export NESTEGG_JWT_SECRET="bench-secret-bench-secret-bench-secret!!"
  NESTEGG_ENCRYPTION_KEY="$(printf '%032d' 0 | base64)"
  export NESTEGG_ENCRYPTION_KEY NESTEGG_BCRYPT_COST=4 RUST_LOG=warn
  echo "postgres: $("${PSQL[@]}" -Atc 'show server_version')"
}

# Drops and creates database DB.
fresh_db() { # db
  "${PSQL[@]}" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
}

# Registers the bench user at BASE (unless $1 is "login-only") and logs in: sets TOKEN and AUTH.
bench_user() { # [login-only]
  if [ "${1:-}" != login-only ]; then
    curl -sf -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
      -d '{"email":"bench@example.com","username":"bench","password":"benchmark password"}' >/dev/null
  fi
  TOKEN=$(curl -sf -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"login":"bench","password":"benchmark password"}' | json "['access_token']")
  AUTH="authorization: Bearer $TOKEN"
}

# Creates an account for the bench user; prints its id.
new_account() { # name, type, current balance
  curl -sf -X POST "$BASE/api/v1/accounts" -H 'content-type: application/json' -H "$AUTH" \
    -d "{\"name\":\"$1\",\"type\":\"$2\",\"current_balance\":\"$3\"}" | json "['id']"
}

# Inserts ROWS transactions of the user into database DB over the last DAYS days, each in the
# account the SQL join ACCOUNT picks for series number g (from `accounts` or a temp table the
# PREAMBLE makes), then the balance points the application would have written for them
# (scripts/bench/ledger-rebuild.sql) unless $6 is "no-ledger".
seed_transactions() { # db, rows, days, account join, preamble, [no-ledger]
  "${PSQL[@]}" -d "$1" <<SQL
${5:-}
INSERT INTO transactions (id, user_id, account_id, amount, date, description, merchant_name,
                          category, is_pending, is_recurring, created_at, updated_at)
SELECT gen_random_uuid(), a.user_id, a.id,
       (CASE WHEN g % 10 = 0 THEN 1 ELSE -1 END) * (1 + (random() * 20000)::int) / 100.0,
       CURRENT_DATE - (random() * $3)::int,
       'Purchase ' || g, (ARRAY['Amazon','Whole Foods','Shell','Netflix','Acme Corp'])[1 + g % 5],
       (ARRAY['food_and_drink','shopping','transportation','income','transfer','entertainment'])[1 + g % 6],
       g % 50 = 0, false, now(), now()
FROM generate_series(1, $2) g
$4;
-- Vacuumed here, so that autovacuum does not start on the fresh rows in the middle of a run.
VACUUM ANALYZE transactions;
SQL
  if [ "${6:-}" != no-ledger ]; then "${PSQL[@]}" -d "$1" -f scripts/bench/ledger-rebuild.sql; fi
}

# Runs wrk (its arguments, the URL last) and prints LABEL with the rate in UNIT and latencies.
wrk_row() { # label, unit, wrk arguments...
  local label=$1 unit=$2 out
  shift 2
  out=$(wrk --latency "$@")
  printf '%s %10s %s   p50 %-9s p99 %s\n' "$label" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$unit" "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
  if grep -q "Non-2xx" <<<"$out"; then echo "  !! $(grep Non-2xx <<<"$out")"; fi
}

# Times ten uncached GETs of PATH (a rate change drops the cache before each request).
uncached_times() { # path
  for i in $(seq 1 10); do
    curl -sf -X PUT "$BASE/api/v1/fx-rates/EUR" -H 'content-type: application/json' -H "$AUTH" -d "{\"rate\":\"1.0$i\"}" >/dev/null
    curl -sf -o /dev/null -w '%{time_total}\n' -H "$AUTH" "$BASE$1"
  done | sort -n | awk '{a[NR]=$1} END {printf "  min %.3f s  median %.3f s  max %.3f s (n=%d)\n", a[1], a[int((NR+1)/2)], a[NR], NR}'
}

# Resident memory now, and its peak (VmHWM, which `echo 5 > /proc/PID/clear_refs` resets), in MB,
# of the server whose pid is SERVER.
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status"; }
hwm_mb() { awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status"; }
