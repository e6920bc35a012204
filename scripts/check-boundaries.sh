#!/usr/bin/env bash
# Fails when an inner crate depends (normally, not for tests) on an outer framework: the
# domain, the ports and the use cases must not know about databases, HTTP, caches, runtimes or
# metrics libraries (they count through the `Metrics` port).
set -euo pipefail
forbidden='^(sea-orm|sea-query|sqlx|actix-web|actix-rt|tokio|redis|deadpool-redis|reqwest|hyper|bcrypt|jsonwebtoken|ring|prometheus-client|prometheus|metrics|metrics-exporter-prometheus) '
status=0
for crate in nestegg-domain nestegg-ports nestegg-application; do
    # cargo tree runs on its own line so that its failure fails the script (set -e).
    tree=$(cargo tree -p "$crate" -e normal --prefix none --no-dedupe)
    found=$(printf '%s\n' "$tree" | sort -u | grep -E "$forbidden" || true)
    if [ -n "$found" ]; then
        echo "$crate must not depend on:"
        echo "$found" | sed 's/^/  /'
        status=1
    else
        echo "$crate: no framework, database, cache or runtime dependency"
    fi
done
# Adapters implement ports; they never reach into the use cases or the app.
for crate in nestegg-plaid; do
    tree=$(cargo tree -p "$crate" -e normal --prefix none --no-dedupe)
    found=$(printf '%s\n' "$tree" | sort -u | grep -E '^(nestegg-application|nestegg) ' || true)
    if [ -n "$found" ]; then
        echo "$crate must not depend on:"
        echo "$found" | sed 's/^/  /'
        status=1
    else
        echo "$crate: depends on the ports and the domain only, not on the use cases or the app"
    fi
done
exit "$status"
