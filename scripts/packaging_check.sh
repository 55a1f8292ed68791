#!/usr/bin/env bash
# Packaging checks (part of the test command):
#   1. pyproject.toml is valid for pip (validate-pyproject) and for the Comfy Registry (comfy node validate);
#      the registry zip (`comfy node pack`, .comfyignore) holds what ComfyUI loads and no tests, scripts or
#      weights, and is small (tests/packaging/registry_zip.py);
#   2. the wheel works on its own: built from this checkout, installed with its diffusers extra into a
#      fresh virtualenv (CPU torch first), imported as `longer_video` from site-packages, and run on the
#      tiny pipeline with positions + windowed attention + chunked decoding (tests/packaging/wheel_smoke.py).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${LONGER_VIDEO_VENV_CACHE:-$HOME/.cache/longer-video/venvs}"
tools="$(bash "$root/scripts/requirements_env.sh" "$root/tests/requirements-tools.txt" "$cache/packaging-tools")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "-- validate-pyproject"
"$tools/bin/validate-pyproject" "$root/pyproject.toml"
echo "-- comfy node validate"
(cd "$root" && "$tools/bin/comfy" --skip-prompt --no-enable-telemetry node validate)
echo "-- registry zip: comfy node pack"
"$tools/bin/python" "$root/tests/packaging/registry_zip.py" "$root" "$tools/bin/comfy"

echo "-- wheel: build, install into a fresh virtualenv, run"
"$tools/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps -w "$work/dist" "$root" 2> >(grep -v "^WARNING: Location" >&2)
wheel="$(ls "$work"/dist/longer_video-*.whl)"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check torch==2.13.0 2> >(grep -v "^WARNING: Location" >&2)
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "${wheel}[diffusers]" 2> >(grep -v "^WARNING: Location" >&2)
(cd "$work" && "$work/venv/bin/python" "$root/tests/packaging/wheel_smoke.py" "$root/scripts")
