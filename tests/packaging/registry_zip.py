"""Run by scripts/packaging_check.sh: `comfy node pack` on this checkout, then what the zip holds.

Usage: python registry_zip.py ROOT COMFY_CLI
The registry zip is what `comfy node install longer-video` and ComfyUI-Manager unpack into
custom_nodes/. The packer zips the git-tracked files minus .comfyignore; this packs a scratch copy of
this checkout's tracked files (so the shared tree gets no node.zip) and fails unless the zip is small,
holds no tests/scripts/weights, and holds every tracked file ComfyUI loads.
"""
import importlib.util
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MAX_BYTES = 512 * 1024
COMFYUI_NEEDS = ("__init__.py", "nodes/", "js/", "example_workflows/", "pyproject.toml", "requirements.txt", "LICENSE")
LEFT_OUT = ("tests/", "scripts/", ".ci/")


def tracked_files(root: Path) -> list[str]:
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], check=True, capture_output=True, text=True)
    return [name for name in listed.stdout.split("\0") if name and (root / name).is_file()]


def pack(root: Path, comfy: str, scratch: Path) -> Path:
    names = set(tracked_files(root))
    if (root / ".comfyignore").is_file():  # the packer reads it from disk, tracked or not
        names.add(".comfyignore")
    for name in sorted(names):
        (scratch / name).parent.mkdir(parents=True, exist_ok=True)
        (scratch / name).write_bytes((root / name).read_bytes())
    subprocess.run(["git", "init", "-q"], cwd=scratch, check=True)
    subprocess.run(["git", "add", "-A"], cwd=scratch, check=True)
    subprocess.run([comfy, "--skip-prompt", "--no-enable-telemetry", "node", "pack"], cwd=scratch, check=True,
                   stdout=subprocess.DEVNULL)
    return scratch / "node.zip"


def problems(archive: Path, tracked: list[str]) -> list[str]:
    names = set(zipfile.ZipFile(archive).namelist())
    found = []
    if archive.stat().st_size > MAX_BYTES:
        found.append(f"{archive.stat().st_size / 1024:.0f} KB, over {MAX_BYTES // 1024} KB")
    stray = sorted(n for n in names if n.startswith(LEFT_OUT) or n.endswith(".safetensors"))
    if stray:
        found.append(f"{len(stray)} development files, e.g. {', '.join(stray[:3])}")
    needed = [n for n in tracked if n.startswith(COMFYUI_NEEDS)]
    missing = sorted(set(needed) - names)
    if missing or not needed:
        found.append(f"missing what ComfyUI loads: {', '.join(missing[:5]) or 'everything'}")
    return found


def loads_like_comfyui(unpacked: Path) -> None:
    """The unpacked zip's __init__.py gives ComfyUI's loader its two attributes (no ComfyUI or torch needed)."""
    spec = importlib.util.spec_from_file_location("longer_video_registry_zip", unpacked / "__init__.py",
                                                  submodule_search_locations=[str(unpacked)])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (unpacked / module.WEB_DIRECTORY / "longer_video.js").is_file() and callable(module.comfy_entrypoint)


def summary(archive: Path) -> str:
    tops = {}
    for info in zipfile.ZipFile(archive).infolist():
        top = info.filename.split("/")[0] + ("/" if "/" in info.filename else "")
        tops[top] = tops.get(top, 0) + 1
    listing = ", ".join(f"{top} ({count})" if top.endswith("/") else top for top, count in sorted(tops.items()))
    return f"registry zip: {archive.stat().st_size / 1024:.0f} KB, {sum(tops.values())} files: {listing}"


def main(root: Path, comfy: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        archive = pack(root, comfy, Path(tmp) / "pack")
        print(summary(archive))
        found = problems(archive, tracked_files(root))
        for problem in found:
            print(f"registry zip: {problem} (see .comfyignore)", file=sys.stderr)
        if not found:
            zipfile.ZipFile(archive).extractall(Path(tmp) / "unpacked")
            loads_like_comfyui(Path(tmp) / "unpacked")
        return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve(), sys.argv[2]))
