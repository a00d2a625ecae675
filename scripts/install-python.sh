#!/usr/bin/env bash
# Creates .venv and installs the project with its test extras. Idempotent: pip skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.installed-$(cat setup.cfg pyproject.toml | sha1sum | cut -c1-12)
if [ -f "$stamp" ]; then echo "python env: up to date"; exit 0; fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
rm -f .venv/.installed-*; touch "$stamp"
echo "python env: installed"
