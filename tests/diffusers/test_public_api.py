"""`import longer_video as lv` for diffusers users: `__all__` is the API, and `dir(lv)` shows nothing else.

ComfyUI still finds what its loader asks the folder's module for (`WEB_DIRECTORY`, `comfy_entrypoint`).
"""
import inspect
from pathlib import Path

import longer_video as lv

FOR_COMFYUI = {"WEB_DIRECTORY", "comfy_entrypoint"}


def public(names) -> set[str]:
    return {name for name in names if not name.startswith("_")}


def test_dir_and_all_hold_the_python_api_only():
    assert public(dir(lv)) == set(lv.__all__), public(dir(lv)) ^ set(lv.__all__)
    assert not ({"importlib", "PUBLIC_API"} | FOR_COMFYUI) & set(lv.__all__)
    plain_globals = {name for name, value in vars(lv).items() if not inspect.ismodule(value)}
    assert public(plain_globals) <= set(lv.__all__), public(plain_globals) - set(lv.__all__)


def test_every_name_in_all_resolves_to_what_it_names():
    assert lv.__all__ == sorted(set(lv.__all__))
    for name in lv.__all__:
        assert getattr(getattr(lv, name), "__name__", name) == name, name


def test_comfyui_still_reads_its_two_attributes():
    # ComfyUI's nodes.py: hasattr/getattr(module, "WEB_DIRECTORY"), then "NODE_CLASS_MAPPINGS", else "comfy_entrypoint".
    assert all(hasattr(lv, name) for name in FOR_COMFYUI) and not hasattr(lv, "NODE_CLASS_MAPPINGS")
    assert (Path(lv.__file__).parent / lv.WEB_DIRECTORY / "longer_video.js").is_file()
    assert inspect.iscoroutinefunction(lv.comfy_entrypoint)
