"""Regenerate the shipped example workflows, their thumbnails and API twins from
tests/browser/workflow_specs.mjs, in the frontend of a real ComfyUI server started for the purpose.

    COMFYUI_DIR=~/ComfyUI $(bash scripts/comfyui_env.sh ~/ComfyUI)/bin/python tests/browser/build_workflows.py

Use ComfyUI 0.8.0 (its frontend writes the twins the browser tier compares against).
WORKFLOW_ONLY=<twin name> builds one workflow and leaves the others' files alone.
"""
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "tests" / "support")]

from find_comfyui import find_comfyui  # noqa: E402
from pack_import import import_pack  # noqa: E402

import_pack()
from server_prompts import start_server, write_init_image  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as base:
        checkpoint = Path(base) / "svd_xt.safetensors"
        checkpoint.touch()  # the loader lists the name; nothing is loaded
        server = start_server(find_comfyui(), Path(base) / "comfy", checkpoint)
        try:
            for n in (1, 2, 3):
                write_init_image(server.base / "input" / f"keyframe_{n}.png", quarter_turns=n)
            subprocess.run(["node", "tests/browser/build_workflows.mjs", server.url, str(ROOT)], cwd=ROOT, check=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
