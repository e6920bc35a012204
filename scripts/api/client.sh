#!/usr/bin/env bash
# Keeps the OpenAPI document usable by tools: validates it as OpenAPI 3.1
# (openapi-spec-validator), generates a typed Python client from it (openapi-python-client)
# and makes one round trip through that client against a running server.
#   bash scripts/api/client.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="$(bash scripts/api/venv.sh)"
# shellcheck source=scripts/api/lib.sh
source scripts/api/lib.sh
cargo build --quiet -p nestegg -p nestegg-plaid-fake

"$BIN" openapi >"$WORK/openapi.json"
"$venv/bin/openapi-spec-validator" "$WORK/openapi.json"

printf 'post_hooks: []\npackage_name_override: nestegg_client\n' >"$WORK/client.yml"
# --fail-on-warning: a document the generator only half understands fails here.
"$venv/bin/openapi-python-client" generate --path "$WORK/openapi.json" --meta none \
    --output-path "$WORK/nestegg_client" --config "$WORK/client.yml" --fail-on-warning

start_services
PYTHONPATH="$WORK" "$venv/bin/python" scripts/api/round_trip.py "$BASE"
