"""Start a real ComfyUI server (CPU) with this pack in custom_nodes, and talk to its HTTP API.

Everything the server writes goes to a temporary base directory (--base-directory): models,
custom_nodes (a link to this checkout under a folder name with a hyphen, as users clone it),
input/output/temp/user, and an in-memory database, so the ComfyUI checkout is never modified.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from queue_workflow import request  # the README's client (scripts/ is on sys.path in the tests)

PACK_FOLDER_NAME = "comfyui-longer-video"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ComfyServer:
    def __init__(self, comfyui_dir: Path, base_dir: Path, pack_root: Path, checkpoints: dict[str, Path],
                 extra_nodes: dict[str, Path] | None = None):
        """`extra_nodes`: folder name -> test-only custom node package linked next to the pack."""
        self.comfyui_dir = comfyui_dir
        self.base = base_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        for sub in ("custom_nodes", "models/checkpoints", "input", "output", "temp", "user"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        link = self.base / "custom_nodes" / PACK_FOLDER_NAME
        if not link.exists():
            link.symlink_to(pack_root, target_is_directory=True)
        for name, path in (extra_nodes or {}).items():
            if not (self.base / "custom_nodes" / name).exists():
                (self.base / "custom_nodes" / name).symlink_to(path, target_is_directory=True)
        for name, path in checkpoints.items():
            target = self.base / "models" / "checkpoints" / name
            if not target.exists():
                target.symlink_to(path)
        self.log_path = self.base / "server.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> "ComfyServer":
        cmd = [sys.executable, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(self.port),
               "--base-directory", str(self.base), "--database-url", "sqlite:///:memory:", "--disable-auto-launch"]
        log = open(self.log_path, "ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(cmd, cwd=self.comfyui_dir, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.process.returncode}; log:\n{self.log()[-4000:]}")
            try:
                self.get("/system_stats")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        raise TimeoutError(f"ComfyUI did not answer within {timeout}s; log:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # --- HTTP ---------------------------------------------------------------------------
    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return json.loads(r.read())

    def get_bytes(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return r.read()

    def post(self, path: str, payload: dict):
        """(status, body); a refusal (e.g. 400 from /prompt) is returned, not raised."""
        return request(self.url, path, payload, timeout=30)

    def queue(self, prompt: dict) -> str:
        status, body = self.post("/prompt", {"prompt": prompt})
        if status != 200:
            raise AssertionError(f"/prompt refused the prompt ({status}): {json.dumps(body)[:3000]}")
        return body["prompt_id"]

    def wait(self, prompt_id: str, timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            history = self.get(f"/history/{prompt_id}")
            if prompt_id in history and history[prompt_id].get("status", {}).get("completed") is not None:
                entry = history[prompt_id]
                if entry["status"].get("status_str") in ("success", "error"):
                    return entry
            if self.process.poll() is not None:
                raise RuntimeError(f"ComfyUI died while running {prompt_id}; log:\n{self.log()[-4000:]}")
            time.sleep(0.5)
        raise TimeoutError(f"prompt {prompt_id} did not finish within {timeout}s")

    def run(self, prompt: dict, timeout: float = 600) -> dict:
        entry = self.wait(self.queue(prompt), timeout)
        if entry["status"]["status_str"] != "success":
            raise AssertionError(f"prompt failed: {json.dumps(entry['status'])[:4000]}")
        return entry

    def images(self, entry: dict, node_id: str):
        """The IMAGE outputs of one output node as uint8 arrays, fetched through /view."""
        import numpy as np
        from PIL import Image
        import io

        frames = []
        for item in entry["outputs"][node_id]["images"]:
            query = urllib.parse.urlencode({k: item[k] for k in ("filename", "subfolder", "type")})
            frames.append(np.asarray(Image.open(io.BytesIO(self.get_bytes("/view?" + query))).convert("RGB")))
        return np.stack(frames)


def execution_error(entry: dict) -> dict:
    for kind, data in entry["status"].get("messages", []):
        if kind == "execution_error":
            return data
    raise AssertionError(f"no execution_error in {json.dumps(entry['status'])[:2000]}")


def assert_refused(server, comfyui_dir, prompt: dict, node: str, *words: str) -> None:
    """`prompt` is refused naming `node` and `words` (node type, input, allowed values): by /prompt, or
    on ComfyUI 0.3.x, whose /prompt does not check V3 nodes' combo values, by the node when it runs."""
    from find_comfyui import comfyui_version

    status, body = server.post("/prompt", {"prompt": prompt})
    if status == 400:
        text = json.dumps(body.get("node_errors", {}).get(node, body))
    else:
        assert comfyui_version(comfyui_dir).startswith("0.3."), body
        error = execution_error(server.wait(body["prompt_id"], timeout=600))
        assert error["node_id"] == node and "Traceback" not in error["exception_message"], error
        text = error["exception_message"]
    for word in words:
        assert word in text, text
    assert server.get("/system_stats")  # still serving
