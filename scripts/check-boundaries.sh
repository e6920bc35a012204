#!/usr/bin/env bash
# Fails when an inner crate depends (normally, not for tests) on an outer framework: the
# domain, the ports and the use cases must not know about databases, HTTP, caches, runtimes or
# metrics libraries (they count through the `Metrics` port).
set -euo pipefail
status=0

# Fails the script when CRATE's normal dependency tree holds a crate matching PATTERN.
forbid() { # crate, pattern, what is forbidden, what holds when nothing is found
    local tree found
    # cargo tree runs on its own line so that its failure fails the script (set -e).
    tree=$(cargo tree -p "$1" -e normal --prefix none --no-dedupe)
    found=$(printf '%s\n' "$tree" | sort -u | grep -E "$2" || true)
    if [ -n "$found" ]; then
        echo "$1 must not depend on:"
        echo "$found" | sed 's/^/  /'
        status=1
    else
        echo "$1: $3"
    fi
}

frameworks='^(sea-orm|sea-query|sqlx|actix-web|actix-rt|tokio|redis|deadpool-redis|reqwest|hyper|bcrypt|jsonwebtoken|ring|prometheus-client|prometheus|metrics|metrics-exporter-prometheus) '
for crate in nestegg-domain nestegg-ports nestegg-application; do
    forbid "$crate" "$frameworks" "no framework, database, cache or runtime dependency"
done
# Adapters implement ports; they never reach into the use cases or the app.
forbid nestegg-plaid '^(nestegg-application|nestegg) ' \
    "depends on the ports and the domain only, not on the use cases or the app"
exit "$status"
