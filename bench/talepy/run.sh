#!/usr/bin/env bash
# Measures talepy 0.8.0 on the workload of tale's `composed` benchmark, for the
# comparison in BENCHMARKS.md. Installs talepy from PyPI into a throwaway virtual
# environment (nothing of talepy is committed); needs python3 with venv and pip.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${TALEPY_VENV:-${TMPDIR:-/tmp}/tale-talepy-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet talepy==0.8.0
fi
"$venv/bin/python" "$here/workload.py"
