#!/usr/bin/env bash
# Creates .venv and installs the project with its test extras. Idempotent: pip skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
PY="${PYTHON:-python3}"
stamp=.venv/.installed-$(cat setup.cfg pyproject.toml | sha1sum | cut -c1-12)
if [ -x .venv/bin/python ] && [ -f "$stamp" ]; then echo "python env: up to date"; exit 0; fi
[ -x .venv/bin/python ] || step "python env: creating .venv" "$PY" -m venv .venv
step "python env: upgrading pip" .venv/bin/python -m pip install -q --upgrade pip
step "python env: installing the project and its test tools" .venv/bin/python -m pip install -q -e '.[test]'
rm -f .venv/.installed-*; touch "$stamp"
echo "python env: installed"
