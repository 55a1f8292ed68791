#!/usr/bin/env bash
# The README's first command: set up the pack's virtualenv (once) and run the demo.
#   bash scripts/demo.sh                      # tiny random SVD, seconds on a CPU
#   bash scripts/demo.sh /path/to/svd-xt      # a real diffusers SVD / SVD-XT folder
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(bash "$root/scripts/pack_env.sh")"
exec "$venv/bin/python" "$root/scripts/demo.py" "$@"
