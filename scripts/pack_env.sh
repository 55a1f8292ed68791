#!/usr/bin/env bash
# Creates (once) and prints the path of the pack's own virtualenv (tests/requirements-pack.txt:
# torch 2.13.0 first, then diffusers & co.), used by the demo and the pure test tiers. On these
# machines torch 2.13.0 is a CPU wheel on disk; elsewhere pip picks the build PyPI offers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec bash "$root/scripts/requirements_env.sh" "$root/tests/requirements-pack.txt" "${LONGER_VIDEO_VENV:-$root/.venv}"
