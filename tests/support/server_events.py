"""Follow a prompt's progress on a real ComfyUI server's websocket, e.g. to interrupt it mid-node.

ComfyUI reports per-node progress (`{"type": "progress", "data": {"node", "value", "max", ...}}`)
only on /ws, so the test needs a websocket client: aiohttp, which ComfyUI itself requires.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass


@dataclass
class Interrupted:
    prompt_id: str
    value: int  # the node's progress when /interrupt was sent
    max: int
    last_value: int  # the node's last progress report before the prompt stopped


async def _interrupt_at(url: str, prompt: dict, node_id: str, at_progress: int, timeout: float) -> Interrupted:
    import aiohttp

    client_id = uuid.uuid4().hex
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{url.replace('http', 'ws', 1)}/ws?clientId={client_id}") as ws:
            async with session.post(f"{url}/prompt", json={"prompt": prompt, "client_id": client_id}) as r:
                body = await r.json()
                if r.status != 200:
                    raise AssertionError(f"/prompt refused the prompt ({r.status}): {json.dumps(body)[:3000]}")
            prompt_id = body["prompt_id"]
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue  # binary previews
                event = json.loads(message.data)
                data = event.get("data", {})
                if data.get("prompt_id") not in (None, prompt_id):
                    continue
                if event["type"] == "execution_error":
                    raise AssertionError(f"prompt failed before it could be interrupted: {json.dumps(data)[:3000]}")
                if event["type"] == "executing" and data.get("node") is None:
                    raise AssertionError(f"prompt finished before node {node_id} reached {at_progress}")
                if event["type"] == "progress" and data.get("node") == node_id and data["value"] >= at_progress:
                    async with session.post(f"{url}/interrupt", json={}) as r:
                        assert r.status == 200, f"/interrupt answered {r.status}"
                    return Interrupted(prompt_id, data["value"], data["max"], await _last_progress(ws, node_id, data))
    raise AssertionError("the websocket closed before the prompt made progress")


async def _last_progress(ws, node_id: str, data: dict) -> int:
    """Read on until the prompt stops; the node's last reported progress value."""
    import aiohttp

    last = data["value"]
    async for message in ws:
        if message.type != aiohttp.WSMsgType.TEXT:
            continue
        event = json.loads(message.data)
        data = event.get("data", {})
        if event["type"] == "progress" and data.get("node") == node_id:
            last = data["value"]
        if event["type"] in ("execution_interrupted", "execution_error", "execution_success"):
            return last
        if event["type"] == "executing" and data.get("node") is None:
            return last
    return last


def queue_and_interrupt(url: str, prompt: dict, node_id: str, at_progress: int = 1, timeout: float = 600) -> Interrupted:
    """Queue `prompt`, send /interrupt once node `node_id` reports `at_progress` steps done."""
    return asyncio.run(asyncio.wait_for(_interrupt_at(url, prompt, node_id, at_progress, timeout), timeout))


def cached_nodes(entry: dict) -> set[str]:
    """Node ids the server took from its cache for this history entry (not executed again)."""
    for kind, data in entry["status"].get("messages", []):
        if kind == "execution_cached":
            return set(data.get("nodes", []))
    return set()


def was_interrupted(entry: dict) -> bool:
    return any(kind == "execution_interrupted" for kind, _ in entry["status"].get("messages", []))
