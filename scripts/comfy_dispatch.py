"""Run many requests of one workflow on several ComfyUI servers (standard library only).

Each request goes to the live server with the shortest queue (its own `queue_remaining`, then
ours), at most `per_server` at a time, so a lost server takes few requests with it. Progress comes
over each server's websocket (`comfy_ws.EventStream`); when a socket drops, or a server has been
silent for `probe` seconds, its HTTP API is asked: a server that does not answer is dropped and its
requests go back to the front of the line for the others; a server that answers but no longer
knows a prompt (restarted) gets that request re-queued too. "Does not answer" means the
connection is refused or reset, or no answer at all for `dead_after` seconds (timeouts alone
only mean busy). Finished prompts' files are downloaded
as `<request label>_<file name>`.
"""
from __future__ import annotations

import collections
import hashlib
import http.client
import json
import queue as queues
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from comfy_ws import EventStream

# a server that dies mid-answer raises http.client's IncompleteRead (an HTTPException, not an OSError):
# it is a server that stopped answering like any other, so its request is queued elsewhere
NETWORK_ERRORS = (urllib.error.URLError, ConnectionError, TimeoutError, OSError, http.client.HTTPException)


def is_gone(error: BaseException) -> bool:
    """True when nothing listens any more (refused, reset); False for a timeout (a busy server is slow,
    not gone: ComfyUI's HTTP thread can wait seconds while a CPU sampler holds the interpreter)."""
    reason = getattr(error, "reason", error)
    return isinstance(reason, (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError))


@dataclass
class Job:
    label: str
    prompt: dict
    images: dict = field(default_factory=dict)  # (node, input) -> local file to upload
    server: "Server | None" = None
    prompt_id: str | None = None
    started: float = 0.0
    requeued: int = 0
    last_progress: float = 0.0


class Server:
    def __init__(self, url: str, events: queues.Queue, http):
        self.url, self.events, self.http = url, events, http
        self.client_id = uuid.uuid4().hex
        self.alive = True
        self.queue_remaining = 0
        self.jobs: dict[str, Job] = {}
        self.heard = self.answered = time.monotonic()
        self.uploads: dict[str, str] = {}
        self.counts = collections.Counter()
        self.stream = None

    def listen(self) -> None:
        """Open the websocket and read it on a daemon thread; (server, None) is queued when it drops."""
        self.stream = EventStream(self.url, self.client_id)
        self.stream.settimeout(None)  # minutes without a message are normal (model loading); the probe covers hangs

        def read(stream=self.stream):
            try:
                while True:
                    self.events.put((self, stream.next()))
            except Exception:  # any socket end: the main loop asks the HTTP API what happened
                self.events.put((self, None))

        threading.Thread(target=read, daemon=True).start()

    def answers(self) -> tuple[dict | None, bool]:
        """(GET /queue, gone): the queue, or None with gone=True (refused/reset) or False (timed out)."""
        try:
            state = self.http(self.url, "/queue", timeout=10)[1]
        except NETWORK_ERRORS as error:
            return None, is_gone(error)
        self.answered = time.monotonic()
        return state, False


def upload(server: Server, path: Path) -> str:
    """The server-side name of a local image, uploaded once per server (content-addressed)."""
    data = path.read_bytes()
    name = f"{hashlib.sha256(data).hexdigest()[:12]}_{path.name}"
    if name not in server.uploads:
        boundary = uuid.uuid4().hex
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + \
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="overwrite"\r\n\r\ntrue\r\n--{boundary}--\r\n'.encode()
        req = urllib.request.Request(server.url + "/upload/image", data=body,
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        with urllib.request.urlopen(req, timeout=120) as r:
            answer = json.loads(r.read())
        server.uploads[name] = f"{answer['subfolder']}/{answer['name']}" if answer.get("subfolder") else answer["name"]
    return server.uploads[name]


class Dispatcher:
    def __init__(self, urls: list[str], http, out: Path, timeout: float, per_server: int = 2, probe: float = 5.0,
                 dead_after: float = 60.0, report_refusal=None, log=print):
        self.events: queues.Queue = queues.Queue()
        self.servers = [Server(url, self.events, http) for url in urls]
        self.http, self.out, self.timeout, self.per_server, self.probe = http, out, timeout, per_server, probe
        self.dead_after = dead_after
        self.report_refusal = report_refusal or (lambda body: None)
        self.log = log
        self.done: list[Job] = []
        self.failed: list[Job] = []

    # --- the loop ------------------------------------------------------------------------
    def run(self, jobs: list[Job]) -> bool:
        for server in self.servers:
            server.queue_remaining = self.http(server.url, "/prompt", timeout=10)[1].get("exec_info", {}).get(
                "queue_remaining", 0)
            server.listen()
        waiting = collections.deque(jobs)
        while waiting or any(server.jobs for server in self.servers):
            self.dispatch(waiting)
            try:
                server, message = self.events.get(timeout=1.0)
                server.heard = time.monotonic()
                if message is not None:
                    server.answered = server.heard
                if message is None:
                    self.check(server, waiting, dropped=True)
                else:
                    self.on_message(server, message, waiting)
            except queues.Empty:
                pass
            for server in self.servers:
                if server.alive and server.jobs and time.monotonic() - server.heard > self.probe:
                    server.heard = time.monotonic()
                    self.check(server, waiting)
            self.expire()
            if waiting and not any(server.alive for server in self.servers):
                for job in waiting:
                    self.fail(job, "no server left that answers")
                waiting.clear()
        return not self.failed

    def dispatch(self, waiting: collections.deque) -> None:
        while waiting:
            free = [s for s in self.servers if s.alive and len(s.jobs) < self.per_server]
            if not free:
                return
            server = min(free, key=lambda s: (s.queue_remaining, len(s.jobs)))
            job = waiting.popleft()
            try:
                self.queue(server, job)
            except NETWORK_ERRORS as error:
                waiting.appendleft(job)
                self.unreachable(server, waiting, error, "queueing")
                return

    def queue(self, server: Server, job: Job) -> None:
        prompt = json.loads(json.dumps(job.prompt))
        for (node, name), path in job.images.items():
            prompt[node]["inputs"][name] = upload(server, path)
        status, body = self.http(server.url, "/prompt", {"prompt": prompt, "client_id": server.client_id})
        if status != 200:
            self.report_refusal(body)
            self.fail(job, "refused by the server", server)
            return
        if body.get("node_errors"):
            self.report_refusal(body)
        job.server, job.prompt_id, job.started = server, body["prompt_id"], time.monotonic()
        server.jobs[job.prompt_id] = job
        server.queue_remaining += 1
        self.log(f"queued {job.prompt_id} {job.label} on {server.url}")

    # --- events ----------------------------------------------------------------------------
    def on_message(self, server: Server, message: dict, waiting) -> None:
        kind, data = message.get("type"), message.get("data") or {}
        if kind == "status":
            server.queue_remaining = data.get("status", {}).get("exec_info", {}).get("queue_remaining", 0)
            return
        job = server.jobs.get(data.get("prompt_id"))
        if job is None:
            return
        if kind == "progress":
            now = time.monotonic()
            if data.get("value") == data.get("max") or now - job.last_progress > 2:
                job.last_progress = now
                self.log(f"{job.label} on {server.url}: node {data.get('node')} {data.get('value')}/{data.get('max')}")
        elif kind == "execution_success" or (kind == "executing" and data.get("node") is None):
            self.finish(server, job, waiting)
        elif kind in ("execution_error", "execution_interrupted"):
            self.fail(job, f"{kind}: node {data.get('node_id')} ({data.get('node_type')}): "
                           f"{data.get('exception_message', '')}".rstrip(), server)

    def finish(self, server: Server, job: Job, waiting) -> None:
        try:
            entry = self.http(server.url, f"/history/{job.prompt_id}", timeout=30)[1].get(job.prompt_id)
            if entry is None or entry.get("status", {}).get("completed") is None:
                return  # not in the history yet; the next check finds it
            if entry["status"].get("status_str") != "success":
                return self.fail(job, "the prompt failed (see the server's history)", server)
            for item in output_files(entry):
                self.log(str(download(server.url, item, self.out, job.label)))
        except NETWORK_ERRORS as error:
            return self.unreachable(server, waiting, error, "downloading")  # a slow server: the next check retries
        server.jobs.pop(job.prompt_id, None)
        server.counts["done"] += 1
        self.done.append(job)

    def fail(self, job: Job, reason: str, server: Server | None = None) -> None:
        if server is not None:
            server.jobs.pop(job.prompt_id, None)
            server.counts["failed"] += 1
        print(f"failed: {job.label}{f' on {server.url}' if server else ''}: {reason}", file=sys.stderr)
        self.failed.append(job)

    def expire(self) -> None:
        for server in self.servers:
            for job in list(server.jobs.values()):
                if time.monotonic() - job.started > self.timeout:
                    self.fail(job, f"did not finish within {self.timeout:.0f}s", server)

    # --- lost servers ----------------------------------------------------------------------
    def check(self, server: Server, waiting, dropped: bool = False) -> None:
        """Ask a silent (or dropped) server's HTTP API; drop it when it is gone or silent for `dead_after`."""
        if not server.alive:
            return
        state, gone = server.answers()
        if state is None:
            if gone or time.monotonic() - server.answered > self.dead_after:
                self.drop(server, waiting, "stopped answering")
            return
        if dropped:
            try:
                server.listen()
            except NETWORK_ERRORS:
                return self.drop(server, waiting, "its websocket cannot be reopened")
        known = {item[1] for item in state.get("queue_running", []) + state.get("queue_pending", [])}
        for job in list(server.jobs.values()):
            if job.prompt_id not in known:
                self.finish(server, job, waiting)
                if server.alive and job.prompt_id in server.jobs and job not in self.failed:
                    try:
                        history = self.http(server.url, f"/history/{job.prompt_id}", timeout=30)[1]
                    except NETWORK_ERRORS as error:
                        return self.unreachable(server, waiting, error, "reading the history")
                    if job.prompt_id not in history:  # the server forgot it (restarted): run it again elsewhere
                        self.requeue(server, job, waiting)

    def unreachable(self, server: Server, waiting, error: BaseException, doing: str) -> None:
        """A request to the server failed: drop it when it is gone or silent too long, else try again later."""
        if is_gone(error) or time.monotonic() - server.answered > self.dead_after:
            self.drop(server, waiting, f"stopped answering ({doing}: {getattr(error, 'reason', error)})")

    def drop(self, server: Server, waiting, reason: str) -> None:
        if server.alive:
            print(f"server {server.url} {reason}; its requests go to the other servers", file=sys.stderr)
        server.alive = False
        for job in list(server.jobs.values()):
            self.requeue(server, job, waiting)

    def requeue(self, server: Server, job: Job, waiting) -> None:
        server.jobs.pop(job.prompt_id, None)
        server.counts["re-queued away"] += 1
        job.requeued += 1
        job.server = job.prompt_id = None
        waiting.appendleft(job)

    def summary(self) -> str:
        requeued = sum(server.counts["re-queued away"] for server in self.servers)
        parts = [f"summary: {len(self.done)} done, {len(self.failed)} failed, {requeued} re-queued"]
        for server in self.servers:
            c = server.counts
            parts.append(f"{server.url}: {c['done']} done, {c['failed']} failed, {c['re-queued away']} re-queued away"
                         + ("" if server.alive else " (stopped answering)"))
        return " | ".join(parts)


def output_files(entry: dict) -> list[dict]:
    """Saved files (type 'output') of every output node: videos, images, latents."""
    files = []
    for outputs in entry.get("outputs", {}).values():
        for items in outputs.values():
            if isinstance(items, list):
                files += [i for i in items if isinstance(i, dict) and i.get("type") == "output" and "filename" in i]
    return files


def download(server: str, item: dict, out_dir: Path, label: str = "") -> Path:
    query = urllib.parse.urlencode({k: item.get(k, "") for k in ("filename", "subfolder", "type")})
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (f"{label}_{item['filename']}" if label else item["filename"])
    with urllib.request.urlopen(f"{server}/view?{query}", timeout=300) as r:
        path.write_bytes(r.read())
    return path
