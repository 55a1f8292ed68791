"""Windowed temporal attention on a ComfyUI SVD MODEL (clone-scoped)."""
from __future__ import annotations

import functools

from ..techniques.windowed_attention import WindowSettings, windowed_group_norm
from .options import set_model_option
from .video_transformer import install_temporal_forward

NORM_PATCH_MARK = "longer_video_windowed_norm"


def apply_windowed_attention(model, settings: WindowSettings):
    """A clone whose temporal layers work per window (`block`) or within a band (`banded`).

    Videos of at most `window_frames` frames (also each ComfyUI context window of that size) run
    the stock model. With `resblock_norm="window"` the temporal resblocks' GroupNorms also take
    their statistics per window (object patches of those norms, replaced by every later apply).
    """
    patched = model.clone()
    install_temporal_forward(patched)
    set_model_option(patched, "windows", settings)
    for key in [k for k, v in patched.object_patches.items() if getattr(v, NORM_PATCH_MARK, False)]:
        del patched.object_patches[key]  # the clone's own dict: the input MODEL keeps its patches
    if settings.windows_resblock_norms:
        for key, norm in temporal_resblock_norms(patched).items():
            forward = functools.partial(windowed_norm_forward, norm, settings)
            setattr(forward, NORM_PATCH_MARK, True)
            patched.add_object_patch(f"{key}.forward", forward)
    return patched


def temporal_resblock_norms(model_patcher) -> dict:
    """`{"diffusion_model.<path>": GroupNorm}`: the two norms of every VideoResBlock's temporal step."""
    from comfy.ldm.modules.diffusionmodules.openaimodel import VideoResBlock

    found = {}
    for name, module in model_patcher.model.diffusion_model.named_modules():
        if isinstance(module, VideoResBlock):
            for layers in ("in_layers", "out_layers"):
                found[f"diffusion_model.{name}.time_stack.{layers}.0"] = getattr(module.time_stack, layers)[0]
    return found


def windowed_norm_forward(norm, settings: WindowSettings, x):
    """The norm's own forward (ComfyUI's casting GroupNorm) run per window of the (B, C, T, H, W) input."""
    return windowed_group_norm(x, lambda frames: type(norm).forward(norm, frames), settings)
