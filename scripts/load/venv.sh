#!/usr/bin/env bash
# Prints the path of a virtual environment holding scripts/load/requirements.txt (locust),
# outside the clone (NESTEGG_LOAD_VENV, default /var/tmp/nestegg-load-py).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../venv.sh" "$here/requirements.txt" "${NESTEGG_LOAD_VENV:-/var/tmp/nestegg-load-py}"
