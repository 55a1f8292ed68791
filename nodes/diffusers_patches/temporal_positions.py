"""Temporal position interpolation for diffusers' SVD UNet (`UNetSpatioTemporalConditionModel`).

Each of the 16 `TransformerSpatioTemporalModel`s embeds frame positions 0..T-1 inside its forward;
the pack's forward (`video_transformer.py`) builds that embedding from these settings instead. The
scale comes from the frame count of each call (a Python int, so no host-device sync), and at
T <= trained_frames the embedding is bitwise the stock one. The UNet's own `time_proj` /
`add_time_proj` (diffusion timestep, micro-conditioning) are never touched.
"""
from __future__ import annotations

from ..techniques.temporal_positions import PositionSettings
from .video_transformer import set_option


def apply_temporal_positions(pipe_or_unet, settings: PositionSettings = PositionSettings()) -> int:
    """Interpolate frame positions in place; returns how many temporal transformers were patched.

    Applying again replaces the previous settings; `remove_temporal_positions` undoes it.
    """
    return set_option(pipe_or_unet, "positions", settings)


def remove_temporal_positions(pipe_or_unet) -> int:
    """Back to stock positions; returns how many temporal transformers were restored."""
    return set_option(pipe_or_unet, "positions", None)
