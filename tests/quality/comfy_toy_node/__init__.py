"""Test-only ComfyUI node: the quality toy as a MODEL in ComfyUI's own SVD classes at the toy's width.

Why: ComfyUI's checkpoint detection finds SVD only at 320 channels, and the toy widened to that
(comfy_checkpoint.toy_checkpoint) costs ~15 s per model call on one CPU core: the quality bench
through a server would take hours. This node builds the same layout at 64 channels (same numbers:
tests/comfyui/test_comfy_quality_toy.py), so the bench runs the real server, sampler and nodes in
minutes. Linked into a test server's custom_nodes by bench_quality_comfy.py; never shipped.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import comfy_checkpoint


class LongerVideoTestNarrowToy:
    CATEGORY = "longer_video/testing"
    RETURN_TYPES = ("MODEL",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"weights": ("STRING", {"default": str(comfy_checkpoint.toy_model.WEIGHTS)})}}

    def load(self, weights: str):
        return (comfy_checkpoint.narrow_toy_model(Path(weights)),)


NODE_CLASS_MAPPINGS = {"LongerVideoTestNarrowToy": LongerVideoTestNarrowToy}
NODE_DISPLAY_NAME_MAPPINGS = {"LongerVideoTestNarrowToy": "Narrow quality toy (test only)"}
