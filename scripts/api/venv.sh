#!/usr/bin/env bash
# Prints the path of a virtual environment holding scripts/api/requirements.txt (the OpenAPI
# validator, client generator and schemathesis), outside the clone (NESTEGG_PY_VENV, default
# /var/tmp/nestegg-py).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../venv.sh" "$here/requirements.txt" "${NESTEGG_PY_VENV:-/var/tmp/nestegg-py}"
