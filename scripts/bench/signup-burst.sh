#!/usr/bin/env bash
# Benchmarks logins during a sign-up burst: the release server on a fresh SQLite file at the
# default bcrypt cost (12) and queue (64), one user, then
#   baseline: LOGINS logins one after another, nothing else running;
#   burst:    the same logins while SIGNUPS sign-ups are sent at once (curl --parallel).
# Prints the median and maximum login time of each, and how the sign-ups were answered
# (201 created, 503 refused at once with Retry-After). Target: the median login during the
# burst stays under 2 × the baseline, instead of waiting behind every queued hash.
#
# Needs: curl (7.66+), no database server, no internet. Builds in release mode.
# Run from the repository: bash scripts/bench/signup-burst.sh
# SIGNUPS=50 LOGINS=10 makes a quick run; figures go in docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

SIGNUPS="${SIGNUPS:-500}"
LOGINS="${LOGINS:-20}"
PORT="${PORT:-18089}"
TARGET="${CARGO_TARGET_DIR:-target}"
work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(lscpu | sed -n 's/Model name: *//p' | head -1)"
cargo build -q --release -p nestegg --bin nestegg
DATABASE_URL="sqlite://$work/bench.db?mode=rwc" NESTEGG_ADDR="127.0.0.1:$PORT" RUST_LOG=warn \
    "$TARGET/release/nestegg" serve >"$work/server.log" 2>&1 &
server=$!
base="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
    curl -fs "$base/health/live" >/dev/null 2>&1 && break
    sleep 0.1
done

password="correct horse battery"
register() {
    curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        -d "{\"email\":\"$1@example.com\",\"username\":\"$1\",\"password\":\"$password\"}" \
        "$base/api/v1/auth/register"
}
[ "$(register owner)" = 201 ] || { echo "could not register the owner"; exit 1; }

# Times LOGINS sequential logins of the owner into $1 (one time per line, seconds).
logins() {
    for _ in $(seq 1 "$LOGINS"); do
        curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H 'Content-Type: application/json' \
            -d "{\"login\":\"owner\",\"password\":\"$password\"}" "$base/api/v1/auth/login"
    done >"$1"
    if grep -qv '^200 ' "$1"; then echo "a login failed:"; grep -v '^200 ' "$1" | sort | uniq -c; fi
}
summary() {
    awk '{print $2}' "$1" | sort -n | awk '{t[NR]=$1} END {printf "median %.3f s, max %.3f s (n=%d)\n", t[int((NR+1)/2)], t[NR], NR}'
}

logins "$work/baseline"
echo "logins, baseline:      $(summary "$work/baseline")"

for i in $(seq 1 "$SIGNUPS"); do
    # `next` separates transfers; one after the last would start an empty one.
    [ "$i" -gt 1 ] && printf 'next\n'
    printf 'url = "%s/api/v1/auth/register"\nheader = "Content-Type: application/json"\n' "$base"
    printf 'data = "{\\"email\\":\\"u%s@example.com\\",\\"username\\":\\"burst%s\\",\\"password\\":\\"%s\\"}"\n' "$i" "$i" "$password"
    printf 'output = "/dev/null"\nwrite-out = "%%{http_code} %%{time_total}\\n"\n'
done >"$work/burst.curl"
started=$(date +%s.%N)
curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max "$SIGNUPS" -K "$work/burst.curl" >"$work/signups" &
burst=$!
sleep 0.2
logins "$work/during"
wait "$burst" || echo "curl reported an error for some sign-ups (exit $?)"
ended=$(date +%s.%N)
echo "logins, during burst:  $(summary "$work/during")"
echo "sign-ups: $SIGNUPS sent at once, done in $(echo "$ended - $started" | bc) s:"
awk '{n[$1]++; if ($2 > m[$1]) m[$1] = $2} END {for (c in n) printf "  %s: %d (slowest %.3f s)\n", c, n[c], m[c]}' "$work/signups" | sort
