"""Windowed temporal attention for diffusers' SVD UNet / pipeline.

The pack's forward of each `TransformerSpatioTemporalModel` (`video_transformer.py`) runs the
temporal block through the shared window plan: `block` runs it per window on window-local
positions and fuses the outputs, `banded` runs it once with self-attention limited to +-window/2
frames. Videos of at most `window_frames` frames take the stock path. Positions from
`apply_temporal_positions` apply as in ComfyUI: globally in banded mode, per window in block mode.
With `resblock_norm="window"` the temporal resblocks' GroupNorms take their statistics per window.
"""
from __future__ import annotations

import torch

from ..techniques.windowed_attention import WindowSettings, windowed_group_norm
from .video_transformer import get_option, set_module_option, set_option, unet_of


def apply_windowed_attention(pipe_or_unet, settings: WindowSettings = WindowSettings()) -> int:
    """Window the temporal layers in place; returns how many temporal transformers were patched."""
    count = set_option(pipe_or_unet, "windows", settings)
    for norm in temporal_resblock_norms(pipe_or_unet):
        set_module_option(norm, "windows", settings if settings.windows_resblock_norms else None, windowed_norm_forward)
    return count


def remove_windowed_attention(pipe_or_unet) -> int:
    for norm in temporal_resblock_norms(pipe_or_unet):
        set_module_option(norm, "windows", None, windowed_norm_forward)
    return set_option(pipe_or_unet, "windows", None)


def temporal_resblock_norms(pipe_or_unet) -> list[torch.nn.Module]:
    """The two GroupNorms of every temporal resblock of the UNet (they normalise (B, C, T, H, W))."""
    from diffusers.models.resnet import TemporalResnetBlock

    blocks = [m for m in unet_of(pipe_or_unet).modules() if isinstance(m, TemporalResnetBlock)]
    return [norm for block in blocks for norm in (block.norm1, block.norm2)]


def windowed_norm_forward(norm, x):
    return windowed_group_norm(x, lambda frames: type(norm).forward(norm, frames), get_option(norm, "windows"))
