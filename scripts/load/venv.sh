#!/usr/bin/env bash
# Prints the path of a virtual environment holding scripts/load/requirements.txt (locust),
# creating or updating it first. It lives outside the clone (NESTEGG_LOAD_VENV, default
# /var/tmp/nestegg-load-py), so nothing of it is ever committed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${NESTEGG_LOAD_VENV:-/var/tmp/nestegg-load-py}"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if ! cmp -s "$here/requirements.txt" "$stamp"; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
    cp "$here/requirements.txt" "$stamp"
fi
echo "$venv"
