#!/usr/bin/env bash
# The README's first command: the demo on diffusers.
#   bash scripts/demo.sh                      # tiny random SVD, seconds on a CPU
#   bash scripts/demo.sh /path/to/svd-xt      # a real diffusers SVD / SVD-XT folder (GPU used when present)
# Python: $LONGER_VIDEO_PYTHON, else a python3 that already has torch (any build: CUDA, ROCm, MPS, CPU),
# diffusers, transformers and PyAV, else the pack's .venv, built on the first run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${LONGER_VIDEO_PYTHON:-}" ]; then
  py="$LONGER_VIDEO_PYTHON"
elif python3 -c "import torch, diffusers, transformers, av, PIL" 2>/dev/null; then
  py=python3
else
  if [ ! -x "$root/.venv/bin/python" ]; then
    echo "demo: first run: installing torch 2.13.0, diffusers, transformers and PyAV into $root/.venv" \
         "(a few minutes, once; on Linux PyPI's torch is a ~3 GB CUDA build). To use your own environment" \
         "instead: pip install \"$root[diffusers]\" there, or set LONGER_VIDEO_PYTHON." >&2
  fi
  py="$(bash "$root/scripts/pack_env.sh")/bin/python"
fi
exec "$py" "$root/scripts/demo.py" "$@"
