#!/usr/bin/env bash
# Usage: requirements_env.sh REQUIREMENTS VENV
# Creates (or rebuilds when REQUIREMENTS changes; a stamp holds its hash) the virtualenv VENV from
# REQUIREMENTS and prints its path. A `torch==...` line is installed first and on its own, so no
# later package can pull a multi-GB CUDA build in its place.
set -euo pipefail
req="$1"
venv="$2"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "env: building $venv from $(basename "$req") ..." >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  torch_pin="$(grep -E '^torch==' "$req" || true)"
  if [ -n "$torch_pin" ]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$torch_pin" >&2
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$venv"
