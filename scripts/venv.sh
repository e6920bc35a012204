#!/usr/bin/env bash
# Usage: scripts/venv.sh REQUIREMENTS VENV
# Prints VENV, a virtual environment holding REQUIREMENTS (pinned), creating or updating it
# first. Venvs live outside the clone, so nothing of them is committed and PyPI is asked once
# per machine, not once per run.
set -euo pipefail
requirements="$1"
venv="$2"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if ! cmp -s "$requirements" "$stamp"; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
    cp "$requirements" "$stamp"
fi
echo "$venv"
