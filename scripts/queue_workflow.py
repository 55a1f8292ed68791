#!/usr/bin/env python3
"""Queue an API-format workflow on a ComfyUI server, wait for it, and download its output files.

Standard library only, so it runs anywhere Python does (no ComfyUI, no torch):

    python scripts/queue_workflow.py tests/workflows/svd_longer_video_65_frames_freenoise.api.json \\
        --set 3.video_frames=81 --seed 1234 --out videos/

--set NODE.INPUT=VALUE changes one input of one node (VALUE is read as JSON when it parses, else
as text); --seed sets every `seed` input. Exit status 1 when the server refuses or fails the prompt,
with its error (node, input, message) printed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path


def parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_changes(prompt: dict, sets: list[str], seed: int | None) -> dict:
    for item in sets:
        target, sep, value = item.partition("=")
        node, dot, name = target.partition(".")
        if not sep or not dot:
            raise SystemExit(f"--set {item!r}: expected NODE.INPUT=VALUE, e.g. 3.video_frames=81")
        if node not in prompt:
            raise SystemExit(f"--set {item!r}: no node {node!r} in the workflow (nodes: {', '.join(sorted(prompt))})")
        prompt[node]["inputs"][name] = parse_value(value)
    if seed is not None:
        for node in prompt.values():
            if "seed" in node["inputs"]:
                node["inputs"]["seed"] = seed
    return prompt


def request(server: str, path: str, payload: dict | None = None, timeout: float = 60):
    """(HTTP status, JSON body) of a GET (no payload) or a JSON POST; error statuses are returned too."""
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(server + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def queue(server: str, prompt: dict) -> str:
    status, body = request(server, "/prompt", {"prompt": prompt})
    if status != 200:
        error = body.get("error", {})
        print(f"refused: {error.get('message', '')} {error.get('details', '')}", file=sys.stderr)
        for node, errors in body.get("node_errors", {}).items():
            for e in errors["errors"]:
                print(f"  node {node} ({errors['class_type']}): {e['message']}: {e['details']}", file=sys.stderr)
        raise SystemExit(1)
    return body["prompt_id"]


def wait(server: str, prompt_id: str, timeout: float, poll: float = 1.0) -> dict:
    """The history entry once the prompt has finished (success or error)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, history = request(server, f"/history/{prompt_id}")
        entry = history.get(prompt_id)
        if entry and entry.get("status", {}).get("completed") is not None:
            return entry
        time.sleep(poll)
    raise SystemExit(f"prompt {prompt_id} did not finish within {timeout:.0f}s")


def output_files(entry: dict) -> list[dict]:
    """Saved files (type 'output') of every output node: videos, images, latents."""
    files = []
    for outputs in entry.get("outputs", {}).values():
        for items in outputs.values():
            if isinstance(items, list):
                files += [i for i in items if isinstance(i, dict) and i.get("type") == "output" and "filename" in i]
    return files


def download(server: str, item: dict, out_dir: Path) -> Path:
    query = urllib.parse.urlencode({k: item.get(k, "") for k in ("filename", "subfolder", "type")})
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / item["filename"]
    with urllib.request.urlopen(f"{server}/view?{query}", timeout=300) as r:
        path.write_bytes(r.read())
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workflow", type=Path, help="API-format workflow JSON (Export (API) in ComfyUI)")
    parser.add_argument("--server", default="http://127.0.0.1:8188", help="the ComfyUI server's address")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NODE.INPUT=VALUE",
                        help="change one input of one node, e.g. 3.video_frames=81 (repeatable)")
    parser.add_argument("--seed", type=int, help="set every seed input")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the downloaded files")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the prompt to finish")
    args = parser.parse_args(argv)

    if not args.workflow.is_file():
        raise SystemExit(f"workflow: no file {args.workflow}")
    try:
        prompt = apply_changes(json.loads(args.workflow.read_text()), args.sets, args.seed)
    except json.JSONDecodeError as e:
        raise SystemExit(f"workflow: {args.workflow} is not JSON ({e})") from None
    server = args.server.rstrip("/")
    try:
        return run(server, prompt, args.timeout, args.out)
    except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
        reason = getattr(e, "reason", e)
        raise SystemExit(f"no ComfyUI server answers at {server} ({reason}); start ComfyUI or pass --server") from None


def run(server: str, prompt: dict, timeout: float, out: Path) -> int:
    prompt_id = queue(server, prompt)
    print(f"queued {prompt_id}", flush=True)
    entry = wait(server, prompt_id, timeout)
    if entry["status"].get("status_str") != "success":
        for kind, data in entry["status"].get("messages", []):
            if kind in ("execution_error", "execution_interrupted"):
                print(f"{kind}: node {data.get('node_id')} ({data.get('node_type')}): "
                      f"{data.get('exception_message', '')}", file=sys.stderr)
        return 1
    for item in output_files(entry):
        print(download(server, item, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
