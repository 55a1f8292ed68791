"""Our per-model settings live under one key of the clone's transformer_options.

ComfyUI hands `model_options["transformer_options"]` to every diffusion-model call (also per
context window), so the patched temporal layers read their settings from there instead of
from globals; clones deep-copy model_options, so settings never leak into the input MODEL.
"""
from __future__ import annotations

OPTIONS_KEY = "longer_video"


def set_model_option(model_patcher, name: str, value) -> None:
    """Set one of our settings on a (cloned) ModelPatcher without replacing shared dicts."""
    transformer_options = model_patcher.model_options.setdefault("transformer_options", {})
    ours = dict(transformer_options.get(OPTIONS_KEY, {}))
    ours[name] = value
    transformer_options[OPTIONS_KEY] = ours


def get_option(transformer_options: dict, name: str, default=None):
    return transformer_options.get(OPTIONS_KEY, {}).get(name, default)
