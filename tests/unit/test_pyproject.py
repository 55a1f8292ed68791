"""The package metadata as the Comfy Registry and pip read it, and what ComfyUI-Manager installs."""
import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_registry_fields_are_complete():
    project, comfy = PYPROJECT["project"], PYPROJECT["tool"]["comfy"]
    assert project["name"] == "longer-video" and "comfyui" not in project["name"].lower()  # registry id, PyPI name
    assert project["version"].count(".") == 2 and project["license"] == {"file": "LICENSE"}
    assert project["urls"]["Repository"].startswith("https://github.com/")
    assert comfy["PublisherId"] and comfy["DisplayName"] == "Longer Video"
    assert comfy["Icon"].startswith("https://") and comfy["Icon"].endswith(".png")
    assert (ROOT / comfy["Icon"].split("/main/", 1)[1]).is_file()  # the icon the URL points at is in the repository
    for technique in ("position interpolation", "FreeNoise", "keyframe", "chunked VAE decoding"):
        assert technique.lower() in project["description"].lower(), technique


def test_pip_package_is_the_repository_root_as_longer_video():
    setuptools = PYPROJECT["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"longer_video": "."}
    on_disk = {"longer_video"} | {"longer_video." + str(p.parent.relative_to(ROOT)).replace("/", ".")
                                  for p in (ROOT / "nodes").rglob("__init__.py")}
    assert set(setuptools["packages"]) == on_disk  # every package of the tree ships, nothing else
    assert "diffusers" in " ".join(PYPROJECT["project"]["optional-dependencies"]["diffusers"])


def third_party_imports(paths) -> set[str]:
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"__future__"}


def test_requirements_hold_what_the_nodes_import_and_nothing_heavy():
    comfyui_side = [p for p in (ROOT / "nodes").rglob("*.py") if "diffusers_patches" not in p.parts]
    imported = third_party_imports(comfyui_side)
    provided_by_comfyui = {"torch", "comfy", "comfy_api", "comfy_extras", "latent_preview", "folder_paths", "nodes"}
    required = {line.split("=")[0].split(">")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    assert imported - provided_by_comfyui <= required, imported - provided_by_comfyui - required
    assert not required & {"torch", "diffusers", "transformers", "huggingface-hub", "safetensors"}
