#!/usr/bin/env python3
"""Queue an API-format workflow on one or more ComfyUI servers, follow it, and download its output files.

Standard library only, so it runs anywhere Python does (no ComfyUI, no torch):

    python scripts/queue_workflow.py tests/workflows/svd_longer_video_65_frames_freenoise.api.json \\
        --set 3.video_frames=81 --seed 1234 --out videos/
    python scripts/queue_workflow.py WORKFLOW --server http://gpu1:8188 --server http://gpu2:8188 \\
        --requests requests.jsonl --out videos/     # or --request 6.seed=1 3.video_frames=81 (repeatable)

--set NODE.INPUT=VALUE changes one input of one node in every request (VALUE is read as JSON when
it parses, else as text); --seed sets every `seed` input. A request is a set of such changes: one
`--request` per request, or one JSON object per line of a --requests file ({"6.seed": 1,
"3.video_frames": 81, "2.image": "photos/a.png", "name": "a"}; "seed" sets every seed). A local file
given to an `image` input is uploaded to the server that runs the request. Each request goes to the
server with the shortest queue; progress follows each server's websocket; a server that stops
answering has its requests re-queued on the others. Files are written as `<request>_<file name>`;
a summary line ends the run. Exit status 1 when any request was refused or failed, with the
server's error (node, input, message) printed.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from comfy_dispatch import NETWORK_ERRORS, Dispatcher, Job, download, output_files  # noqa: F401 (re-exported)

DEFAULT_SERVER = "http://127.0.0.1:8188"


def parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def set_input(prompt: dict, target: str, value, where: str) -> None:
    node, dot, name = target.partition(".")
    if not dot or not node or not name:
        raise SystemExit(f"{where}: {target!r} is not NODE.INPUT, e.g. 3.video_frames")
    if node not in prompt:
        raise SystemExit(f"{where}: no node {node!r} in the workflow (nodes: {', '.join(sorted(prompt))})")
    prompt[node]["inputs"][name] = value


def set_seed(prompt: dict, seed: int) -> None:
    for node in prompt.values():
        if "seed" in node["inputs"]:
            node["inputs"]["seed"] = seed


def apply_changes(prompt: dict, sets: list[str], seed: int | None) -> dict:
    for item in sets:
        target, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set {item!r}: expected NODE.INPUT=VALUE, e.g. 3.video_frames=81")
        set_input(prompt, target, parse_value(value), f"--set {item!r}")
    if seed is not None:
        set_seed(prompt, seed)
    return prompt


def read_requests(args) -> list[dict]:
    """Each request as {"NODE.INPUT" or "seed" or "name": value}; one empty request when none is given."""
    requests = []
    for items in args.requests_inline or []:
        request_ = {}
        for item in items:
            target, sep, value = item.partition("=")
            if not sep:
                raise SystemExit(f"--request {item!r}: expected NODE.INPUT=VALUE (or seed=N, name=TEXT)")
            request_[target] = parse_value(value)
        requests.append(request_)
    if args.requests_file is not None:
        if not args.requests_file.is_file():
            raise SystemExit(f"--requests: no file {args.requests_file}")
        for number, line in enumerate(args.requests_file.read_text().splitlines(), 1):
            if line.strip():
                try:
                    request_ = json.loads(line)
                except json.JSONDecodeError as e:
                    raise SystemExit(f"--requests {args.requests_file} line {number}: not JSON ({e})") from None
                if not isinstance(request_, dict):
                    raise SystemExit(f"--requests {args.requests_file} line {number}: expected a JSON object")
                requests.append(request_)
    return requests or [{}]


def label_of(index: int, request_: dict, count: int) -> str:
    """A file-name-safe label: the request's name, else its number and changes (r2_seed-5_3.video_frames-81)."""
    if "name" in request_:
        text = str(request_["name"])
    elif count == 1 and not request_:
        return "r0"
    else:
        text = "_".join([f"r{index}"] + [f"{key}-{Path(str(value)).name}" for key, value in request_.items()])
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", text)[:120].strip("_") or f"r{index}"


def build_job(base: dict, index: int, request_: dict, count: int) -> Job:
    prompt = json.loads(json.dumps(base))
    images = {}
    where = f"request {label_of(index, request_, count)}"
    for key, value in request_.items():
        if key == "seed":
            set_seed(prompt, int(value))
        elif key != "name":
            set_input(prompt, key, value, where)
    for node_id, node in prompt.items():
        value = node["inputs"].get("image")
        if isinstance(value, str) and Path(value).is_file():
            images[(node_id, "image")] = Path(value)
    return Job(label_of(index, request_, count), prompt, images)


def check_servers(urls: list[str]) -> list[str]:
    """Well-formed, distinct http(s)://HOST[:PORT] addresses (trailing / removed), else one line naming the bad one."""
    checked = []
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        try:
            port_ok = parts.port is None or 0 < parts.port < 65536
        except ValueError:
            port_ok = False
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or parts.query or parts.fragment:
            raise SystemExit(f"--server {url!r}: expected http://HOST:PORT (e.g. {DEFAULT_SERVER})")
        url = url.rstrip("/")
        if url in checked:
            raise SystemExit(f"--server {url!r} is given twice")
        checked.append(url)
    return checked


def request(server: str, path: str, payload: dict | None = None, timeout: float = 60):
    """(HTTP status, JSON body) of a GET (no payload) or a JSON POST; error statuses are returned too."""
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(server + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def print_refusal(body: dict) -> None:
    error = body.get("error", {})
    if error:
        print(f"refused: {error.get('message', '')} {error.get('details', '')}", file=sys.stderr)
    for node, errors in body.get("node_errors", {}).items():
        for e in errors["errors"]:
            print(f"  node {node} ({errors['class_type']}): {e['message']}: {e['details']}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workflow", type=Path, help="API-format workflow JSON (Export (API) in ComfyUI)")
    parser.add_argument("--server", dest="servers", action="append", metavar="URL",
                        help=f"a ComfyUI server's address (repeatable; default {DEFAULT_SERVER})")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NODE.INPUT=VALUE",
                        help="change one input of one node in every request, e.g. 3.video_frames=81 (repeatable)")
    parser.add_argument("--seed", type=int, help="set every seed input (of every request)")
    parser.add_argument("--request", dest="requests_inline", action="append", nargs="+", metavar="NODE.INPUT=VALUE",
                        help="one request: its changes (seed=N sets every seed, name=TEXT labels its files); repeatable")
    parser.add_argument("--requests", dest="requests_file", type=Path, help="JSON lines file, one request per line")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the downloaded files")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds one request may take once queued")
    parser.add_argument("--per-server", type=int, default=2, help="requests queued on one server at a time")
    parser.add_argument("--dead-after", type=float, default=60,
                        help="seconds without any answer before a server that still accepts connections counts as gone")
    args = parser.parse_args(argv)

    servers = check_servers(args.servers or [DEFAULT_SERVER])
    if args.per_server < 1:
        raise SystemExit(f"--per-server must be >= 1; got {args.per_server}")
    if not args.workflow.is_file():
        raise SystemExit(f"workflow: no file {args.workflow}")
    try:
        base = apply_changes(json.loads(args.workflow.read_text()), args.sets, args.seed)
    except json.JSONDecodeError as e:
        raise SystemExit(f"workflow: {args.workflow} is not JSON ({e})") from None
    requests = read_requests(args)
    jobs = [build_job(base, index, request_, len(requests)) for index, request_ in enumerate(requests)]
    for server in servers:
        try:
            request(server, "/prompt", timeout=10)
        except NETWORK_ERRORS as e:
            reason = getattr(e, "reason", e)
            raise SystemExit(f"no ComfyUI server answers at {server} ({reason}); start ComfyUI or pass --server") from None
    dispatcher = Dispatcher(servers, request, args.out, args.timeout, per_server=args.per_server,
                            dead_after=args.dead_after, report_refusal=print_refusal,
                            log=lambda line: print(line, flush=True))
    ok = dispatcher.run(jobs)
    print(dispatcher.summary(), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
