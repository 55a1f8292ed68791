"""Import this checkout as the package `longer_video`, whatever its folder is called.

ComfyUI imports the pack from `custom_nodes/<any folder name>`; outside ComfyUI (tests, demo,
diffusers users) the folder name may not be a valid module name, so we load it by path.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

PACK_ROOT = Path(__file__).resolve().parents[1]


def import_pack(name: str = "longer_video"):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PACK_ROOT / "__init__.py", submodule_search_locations=[str(PACK_ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
