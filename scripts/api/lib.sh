# Sourced by the scripts in scripts/api: starts the fake Plaid and a `nestegg serve` on a fresh
# SQLite file at free loopback ports, and stops both on exit. Expects the debug binaries built
# (`cargo build -p nestegg -p nestegg-plaid-fake`).
# Sets: BASE (http://127.0.0.1:PORT), WORK (a temporary folder), BIN (the nestegg binary).

target="${CARGO_TARGET_DIR:-target}"
BIN="$target/debug/nestegg"
FAKE="$target/debug/nestegg-plaid-fake"
WORK="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_services() {
    local port fake_port
    port="$(free_port)"
    fake_port="$(free_port)"
    PLAID_FAKE_ADDR="127.0.0.1:$fake_port" "$FAKE" >"$WORK/plaid.log" 2>&1 &
    pids+=($!)
    export DATABASE_URL="sqlite://$WORK/nestegg.db?mode=rwc"
    export NESTEGG_ADDR="127.0.0.1:$port"
    NESTEGG_JWT_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
    NESTEGG_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
    export NESTEGG_JWT_SECRET NESTEGG_ENCRYPTION_KEY
    # Cheap hashing: the scripts register and log in many times; never use 4 in production.
    export NESTEGG_BCRYPT_COST=4
    export PLAID_BASE_URL="http://127.0.0.1:$fake_port" PLAID_CLIENT_ID=fake-client-id \
        PLAID_SECRET=fake-secret
    export RUST_LOG="${RUST_LOG:-warn}"
    "$BIN" serve >"$WORK/nestegg.log" 2>&1 &
    pids+=($!)
    BASE="http://127.0.0.1:$port"
    for _ in $(seq 1 100); do
        curl -fsS "$BASE/health/ready" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "nestegg did not become ready:" >&2
    cat "$WORK/nestegg.log" >&2
    return 1
}

# Prints an access token for a user with two years of demo data (accounts, transactions,
# securities, a portfolio with trades).
demo_token() {
    local out login password
    out="$("$BIN" demo)"
    login="$(echo "$out" | awk '/login:/ {print $2}')"
    password="$(echo "$out" | awk '/password:/ {print $2}')"
    curl -fsS -H 'content-type: application/json' \
        -d "{\"login\": \"$login\", \"password\": \"$password\"}" "$BASE/api/v1/auth/login" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
