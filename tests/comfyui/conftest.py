"""The ComfyUI tier: real ComfyUI modules and a real server. Mandatory when a ComfyUI is found.

The runner (scripts/run_tests.sh) starts this tier in a virtualenv made from that ComfyUI's
requirements; run alone, it puts the found ComfyUI on sys.path here.
"""
import sys

import pytest
from find_comfyui import comfyui_version, find_comfyui

COMFYUI = find_comfyui()

if COMFYUI is None:
    pytest.skip("ComfyUI tier SKIPPED: no ComfyUI found (set COMFYUI_DIR or keep one at ~/ComfyUI)",
                allow_module_level=True)

if str(COMFYUI) not in sys.path:
    sys.path.insert(0, str(COMFYUI))

import comfy.cli_args  # noqa: E402  (must be configured before comfy.model_management is imported)

comfy.cli_args.args.cpu = True  # these machines have no GPU; the server tier passes --cpu too


def pytest_report_header(config):
    return f"ComfyUI tier: {COMFYUI} (ComfyUI {comfyui_version(COMFYUI)})"


@pytest.fixture(scope="session")
def comfyui_dir():
    return COMFYUI
