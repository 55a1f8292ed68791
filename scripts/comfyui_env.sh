#!/usr/bin/env bash
# Usage: comfyui_env.sh COMFYUI_DIR
# Creates (once, cached by requirements hash) and prints a virtualenv that can run that ComfyUI
# on the CPU with this pack's ComfyUI tests.
#
# Why not the CPU torch 2.13.0 wheel: ComfyUI imports torchvision at start-up (comfy.model_base ->
# cosmos), and the only torchvision that imports on these machines is the pair torch 2.14.1 /
# torchvision 0.29.1 (a CUDA build from the local wheel store that runs on the CPU). PyPI's
# torchvision beside the CPU wheel fails with "operator torchvision::nms does not exist".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
comfy="$(cd "$1" && pwd)"
cache="${LONGER_VIDEO_VENV_CACHE:-$HOME/.cache/longer-video/venvs}"
torch_pins="torch==2.14.1 torchvision==0.29.1"
extra="requests pytest==9.2.0 comfy-api-simplified==1.6.0"
# ComfyUI's requirements minus the torch family (pinned above) and torchaudio (audio nodes only).
reqs="$(grep -vE '^\s*(#|$)' "$comfy/requirements.txt" | grep -vE '^(torch|torchvision|torchaudio)\s*$')"
key="$(printf '%s\n%s\n%s\n%s\n' "$torch_pins" "$extra" "$reqs" "$(python3 --version)" | sha256sum | cut -c1-12)"
venv="$cache/comfyui-$key"
if [ ! -f "$venv/.ready" ]; then
  echo "comfyui env: building $venv for $comfy (takes a few minutes once) ..." >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check $torch_pins >&2
  printf '%s\n' "$reqs" > "$venv/comfyui-requirements.txt"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check $torch_pins -r "$venv/comfyui-requirements.txt" $extra >&2
  touch "$venv/.ready"
fi
echo "$venv"
