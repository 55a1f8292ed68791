#!/usr/bin/env bash
# The test command (README, CI): builds what it needs, then runs every tier.
#   1. lint (ruff, with the security rules S102/S307 and E702)
#   2. pure tiers in the pack's CPU-torch virtualenv: tests/unit (techniques), tests/diffusers; the
#      frontend read-out math (node --test); packaging (scripts/packaging_check.sh: validate-pyproject,
#      comfy node validate, the registry zip of comfy node pack, the wheel installed into a fresh
#      virtualenv and run)
#   3. the ComfyUI tier (tests/comfyui: module tests on ComfyUI's own classes + a real server),
#      mandatory when a ComfyUI is found ($COMFYUI_DIR, the enclosing ComfyUI, ~/ComfyUI), in a
#      virtualenv made from that ComfyUI's requirements, with the browser tier (headless Debian
#      chromium driven by playwright-core against that server). Skipped loudly when none is found.
# Extra arguments go to every pytest run (e.g. -x, -k name). TIERS="comfyui" (or "pure") runs one tier.
set -uo pipefail
shopt -s nullglob
skipped_tier=()
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
reports="$(mktemp -d)"
trap 'rm -rf "$reports"' EXIT
status=0

pack_venv="$(bash scripts/pack_env.sh 2> >(grep -v "^WARNING: Location" >&2))" || { echo "could not build the pack virtualenv"; exit 1; }

tiers="${TIERS:-pure comfyui}"
if [[ " $tiers " == *" pure "* ]]; then
  echo "== lint (ruff)"
  "$pack_venv/bin/python" -m ruff check . || status=1
  echo "== pure tiers: techniques + diffusers (torch $("$pack_venv/bin/python" -c 'import torch; print(torch.__version__)'))"
  "$pack_venv/bin/python" -m pytest tests/unit tests/diffusers -q --junitxml="$reports/pure.xml" "$@" || status=1
  if command -v node >/dev/null; then
    echo "== frontend read-out math (node --test)"
    node --test --test-reporter=spec --test-reporter=junit --test-reporter-destination=stdout \
      --test-reporter-destination="$reports/js.xml" tests/js/ || status=1
  else
    echo "== frontend read-out math: SKIPPED (no node on this machine)"
  fi
  echo "== packaging: pyproject (validate-pyproject, comfy node validate), registry zip, wheel in a fresh virtualenv"
  if bash scripts/packaging_check.sh; then
    packaging_line="packaging: pyproject valid, registry zip checked, wheel installed and ran"
  else
    status=1
    packaging_line="packaging: FAILED"
  fi
fi
if [[ " $tiers " != *" comfyui "* ]]; then
  echo "${packaging_line:-}"
  python3 scripts/junit_summary.py "$reports"/*.xml || status=1
  exit $status
fi

found="$(python3 scripts/find_comfyui.py)"; found_status=$?
if [ $found_status -eq 2 ]; then
  status=1
  comfy_line="ComfyUI tier: FAILED (COMFYUI_DIR is not a ComfyUI)"
elif [ -z "$found" ]; then
  comfy_line="ComfyUI tier: SKIPPED (no ComfyUI found: set COMFYUI_DIR or keep one at ~/ComfyUI)"
  skipped_tier=(--skipped-tier tests/comfyui)
else
  comfy_dir="${found%%$'\t'*}"; comfy_version="${found##*$'\t'}"
  echo "== ComfyUI tier: ComfyUI $comfy_version at $comfy_dir"
  echo "== browser tier prerequisites (Debian chromium, playwright-core)"
  bash scripts/browser_env.sh || { status=1; echo "browser tier: could not install its prerequisites"; }
  if comfy_venv="$(bash scripts/comfyui_env.sh "$comfy_dir" 2> >(grep -v "^WARNING: Location" >&2))"; then
    COMFYUI_DIR="$comfy_dir" "$comfy_venv/bin/python" -m pytest tests/comfyui -q \
      --junitxml="$reports/comfyui.xml" "$@" || status=1
    comfy_count="$(python3 scripts/junit_summary.py --ran "$reports/comfyui.xml")"
    comfy_line="ComfyUI tier: ran $comfy_count tests against ComfyUI $comfy_version ($comfy_dir)"
  else
    status=1
    comfy_line="ComfyUI tier: FAILED (could not build its virtualenv)"
  fi
fi

echo
if [[ "$comfy_line" == *SKIPPED* ]]; then
  echo "##############################################################################"
  echo "## $comfy_line"
  echo "##############################################################################"
else
  echo "$comfy_line"
fi
echo "${packaging_line:-packaging: not run (TIERS)}"
python3 scripts/junit_summary.py "${skipped_tier[@]}" "$reports"/*.xml || status=1
exit $status
