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

import comfy.cli_args  # noqa: E402

comfy.cli_args.args.cpu = True  # these machines have no GPU; the server tier passes --cpu too


def pytest_report_header(config):
    return f"ComfyUI tier: {COMFYUI} (ComfyUI {comfyui_version(COMFYUI)})"


@pytest.fixture(scope="session")
def comfyui_dir():
    return COMFYUI


@pytest.fixture(scope="session")
def tiny_checkpoint(comfyui_dir):
    import os
    from pathlib import Path

    from svd_checkpoint import GENERATOR_VERSION, write_svd_checkpoint

    cache = Path(os.environ.get("LONGER_VIDEO_TEST_CACHE", Path.home() / ".cache" / "longer-video"))
    path = cache / "checkpoints" / f"svd_tiny_random_v{GENERATOR_VERSION}.safetensors"
    if not path.exists():
        write_svd_checkpoint(path)
    return path


@pytest.fixture(scope="session")
def server(comfyui_dir, tiny_checkpoint, tmp_path_factory):
    """One real ComfyUI server (CPU, tiny checkpoint) shared by the server-tier modules."""
    from server_prompts import start_server

    server = start_server(comfyui_dir, tmp_path_factory.mktemp("comfy_base"), tiny_checkpoint)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def object_info(server):
    return server.get("/object_info")


@pytest.fixture(scope="module")
def clip_vision(tmp_path_factory):
    """The tiny CLIP vision tower the module tests condition on (one per test module, as before)."""
    from comfy_models import build_clip_vision
    from comfy_sampling import CONFIG

    return build_clip_vision(CONFIG["context_dim"], tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="module")
def vae():
    """The tiny SVD VAE (temporal decoder) of the module tests."""
    from comfy_models import build_svd_vae

    return build_svd_vae()
