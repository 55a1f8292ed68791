#!/usr/bin/env bash
# Creates (once) and prints the path of the pack's own virtualenv: CPU torch 2.13.0 from the
# local wheel plus diffusers & co. Used by the demo and by the pure test tiers.
# Rebuilt when tests/requirements-pack.txt changes (a stamp holds its hash).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LONGER_VIDEO_VENV:-$root/.venv}"
req="$root/tests/requirements-pack.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "pack env: building $venv (CPU torch) ..." >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  # torch first and pinned, so nothing later can pull a multi-GB CUDA build.
  "$venv/bin/python" -m pip install -q --disable-pip-version-check torch==2.13.0 >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2
  "$venv/bin/python" - <<'PY' >&2
import torch
assert "+cpu" in torch.__version__ or not torch.version.cuda, f"expected a CPU torch, got {torch.__version__}"
print("pack env: torch", torch.__version__)
PY
  echo "$want" > "$stamp"
fi
echo "$venv"
