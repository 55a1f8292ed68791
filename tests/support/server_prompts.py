"""Helpers the server-tier tests share: the tiny checkpoint name, API twins, server start, video frames."""
from __future__ import annotations

import copy
import io
import json
import urllib.parse
from pathlib import Path

from comfy_server import ComfyServer

ROOT = Path(__file__).resolve().parents[2]
CKPT = "svd_tiny_random.safetensors"
TINY_SIZE = 64
SIZED_NODES = ("SVD_img2vid_Conditioning", "LongerVideoKeyframeConditioning")
SAMPLER_NODES = ("KSampler", "LongerVideoKeyframeSampler")
MODEL_PATCH_NODES = ("LongerVideoTemporalPositions", "LongerVideoWindowedAttention", "LongerVideoFreeNoise")
SERVER_NODES: set[str] = set()  # node types the last started server offers (start_server fills it)


def api_twin(name: str) -> dict:
    """The API-format prompt shipped beside example_workflows/<name>.json (what the tests queue)."""
    return json.loads((ROOT / "tests" / "workflows" / f"{name}.api.json").read_text())


def tiny(prompt: dict, steps: int = 2) -> dict:
    """The shipped prompt at test size: the tiny checkpoint, 64x64, 2 steps, same frame counts."""
    prompt = copy.deepcopy(prompt)
    for node in prompt.values():
        if node["class_type"] == "ImageOnlyCheckpointLoader":
            node["inputs"]["ckpt_name"] = CKPT
        if node["class_type"] in SIZED_NODES:
            node["inputs"].update(width=TINY_SIZE, height=TINY_SIZE)
        if node["class_type"] in SAMPLER_NODES:
            node["inputs"]["steps"] = steps
    if SERVER_NODES and "BatchImagesNode" not in SERVER_NODES:
        prompt = with_image_batch_chain(prompt)
    return prompt


def with_image_batch_chain(prompt: dict) -> dict:
    """ComfyUI 0.3.64 has no BatchImagesNode (0.8's Batch Images, which the own-keyframes example
    uses): the same batch as a chain of the older two-input ImageBatch, under the same node id."""
    next_id = max(int(k) for k in prompt) + 1
    for node_id, node in list(prompt.items()):
        if node["class_type"] != "BatchImagesNode":
            continue
        images = [link for _, link in sorted(node["inputs"].items(), key=lambda kv: int(kv[0].rsplit("image", 1)[1]))]
        batch = images[0]
        for image in images[1:-1]:
            prompt[str(next_id)] = {"class_type": "ImageBatch", "inputs": {"image1": batch, "image2": image}}
            batch, next_id = [str(next_id), 0], next_id + 1
        prompt[node_id] = {"class_type": "ImageBatch", "inputs": {"image1": batch, "image2": images[-1]}}
    return prompt


def stock_path(prompt: dict) -> dict:
    """The same graph through the stock path: the pack's model patches taken out (their consumers
    get the MODEL the patches were applied to) and ComfyUI's VAE Decode for the chunked decoder."""
    prompt = copy.deepcopy(prompt)
    patches = {k for k, node in prompt.items() if node["class_type"] in MODEL_PATCH_NODES}

    def unpatched(link: list) -> list:
        while link[0] in patches:
            link = prompt[link[0]]["inputs"]["model"]
        return link

    for node_id, node in prompt.items():
        if node_id not in patches and isinstance(node["inputs"].get("model"), list):
            node["inputs"]["model"] = unpatched(node["inputs"]["model"])
        if node["class_type"] == "LongerVideoChunkedDecode":
            prompt[node_id] = {"class_type": "VAEDecode",
                               "inputs": {"samples": node["inputs"]["samples"], "vae": node["inputs"]["vae"]}}
    for node_id in patches:
        del prompt[node_id]
    return prompt


def write_init_image(path: Path, quarter_turns: int = 0):
    """The demo's pattern image (turned by 90 degree steps, for distinct keyframes)."""
    from demo import pattern_image  # scripts/ is on sys.path (tests/conftest.py)

    pattern_image(TINY_SIZE, TINY_SIZE).rotate(90 * quarter_turns).save(path)


def start_server(comfyui_dir, base: Path, checkpoint: Path) -> ComfyServer:
    server = ComfyServer(comfyui_dir, base, ROOT, {CKPT: checkpoint})
    write_init_image(base / "input" / "example.png")
    server.start()
    SERVER_NODES.clear()
    SERVER_NODES.update(server.get("/object_info"))
    return server


def count_video_frames(server: ComfyServer, item: dict) -> int:
    import av

    query = urllib.parse.urlencode({k: item[k] for k in ("filename", "subfolder", "type")})
    with av.open(io.BytesIO(server.get_bytes("/view?" + query))) as container:
        return sum(1 for _ in container.decode(video=0))


def with_saved_latents(prompt: dict, sources: dict[str, str]) -> dict:
    """Add SaveLatent nodes (ids 90, 91, ...) for the given node outputs, named by key."""
    for i, (name, node) in enumerate(sources.items()):
        prompt[str(90 + i)] = {"class_type": "SaveLatent",
                               "inputs": {"samples": [node, 0], "filename_prefix": f"lv_test/{name}"}}
    return prompt


def saved_latent(server, entry: dict, node: str):
    from safetensors.torch import load_file

    item = entry["outputs"][node]["latents"][0]
    return load_file(server.base / "output" / item["subfolder"] / item["filename"])["latent_tensor"]
