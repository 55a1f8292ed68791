"""Find the ComfyUI the ComfyUI tier runs against; prints its path, or nothing (exit 1).

Order: $COMFYUI_DIR (an error if set but not a ComfyUI), the ComfyUI enclosing this pack when it
sits in custom_nodes/, then ~/ComfyUI.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

PACK_ROOT = Path(__file__).resolve().parents[1]


def is_comfyui(path: Path) -> bool:
    return (path / "main.py").is_file() and (path / "comfy").is_dir() and (path / "nodes.py").is_file()


def find_comfyui() -> Path | None:
    explicit = os.environ.get("COMFYUI_DIR")
    if explicit:
        path = Path(explicit).expanduser().resolve()
        if not is_comfyui(path):
            print(f"COMFYUI_DIR={explicit} is not a ComfyUI checkout (needs main.py, nodes.py and comfy/)", file=sys.stderr)
            raise SystemExit(2)
        return path
    if PACK_ROOT.parent.name == "custom_nodes" and is_comfyui(PACK_ROOT.parent.parent):
        return PACK_ROOT.parent.parent
    home = Path.home() / "ComfyUI"
    return home if is_comfyui(home) else None


def comfyui_version(path: Path) -> str:
    text = (path / "comfyui_version.py").read_text() if (path / "comfyui_version.py").is_file() else ""
    match = re.search(r"__version__\s*=\s*['\"]([^'\"]+)", text)
    return match.group(1) if match else "unknown"


if __name__ == "__main__":
    found = find_comfyui()
    if found is None:
        sys.exit(1)
    print(f"{found}\t{comfyui_version(found)}")
