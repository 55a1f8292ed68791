"""Windowed temporal attention for diffusers' SVD UNet / pipeline.

The pack's forward of each `TransformerSpatioTemporalModel` (`video_transformer.py`) runs the
temporal block through the shared window plan: `block` runs it per window on window-local
positions and fuses the outputs, `banded` runs it once with self-attention limited to +-window/2
frames. Videos of at most `window_frames` frames take the stock path. Positions from
`apply_temporal_positions` apply as in ComfyUI: globally in banded mode, per window in block mode.
"""
from __future__ import annotations

from ..techniques.windowed_attention import WindowSettings
from .video_transformer import set_option


def apply_windowed_attention(pipe_or_unet, settings: WindowSettings = WindowSettings()) -> int:
    """Window the temporal layers in place; returns how many temporal transformers were patched."""
    return set_option(pipe_or_unet, "windows", settings)


def remove_windowed_attention(pipe_or_unet) -> int:
    return set_option(pipe_or_unet, "windows", None)
