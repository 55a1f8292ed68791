"""Temporal position interpolation for diffusers' SVD UNet (`UNetSpatioTemporalConditionModel`).

Each `TransformerSpatioTemporalModel` embeds frame positions with its own `time_proj`
(`Timesteps`, weightless) fed with `arange(T)` repeated per batch. We swap that `time_proj` for a
weightless module that computes the interpolated embedding (the state dict does not change) and
keep the original on it so the swap can be undone. Only the 16 temporal transformers are touched,
never the UNet's own `time_proj` / `add_time_proj` (diffusion timestep and micro-conditioning).
"""
from __future__ import annotations

import torch

from ..techniques.positions import PositionSettings, frame_position_embedding


class InterpolatedFramePositions(torch.nn.Module):
    """Drop-in for `Timesteps(C, flip_sin_to_cos=True, downscale_freq_shift=0)` on frame indices."""

    def __init__(self, original: torch.nn.Module, settings: PositionSettings, max_period: float = 10000):
        super().__init__()
        self.original = original
        self.settings = settings
        self.num_channels = original.num_channels
        self.max_period = max_period

    def forward(self, frame_indices: torch.Tensor) -> torch.Tensor:
        # The transformer passes arange(T) repeated per batch item, so T is the largest index + 1.
        num_frames = int(frame_indices.max().item()) + 1 if frame_indices.numel() else 1
        table = frame_position_embedding(num_frames, self.num_channels, self.max_period, self.settings, frame_indices.device)
        return table[frame_indices.long()]


def _unet_of(pipe_or_unet):
    return getattr(pipe_or_unet, "unet", pipe_or_unet)


def _temporal_transformers(unet) -> list[torch.nn.Module]:
    from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel

    return [m for m in unet.modules() if isinstance(m, TransformerSpatioTemporalModel)]


def _check_stock_time_proj(time_proj) -> None:
    if getattr(time_proj, "flip_sin_to_cos", True) is not True or getattr(time_proj, "downscale_freq_shift", 0) != 0 \
            or getattr(time_proj, "scale", 1) != 1:
        raise ValueError("a temporal transformer's time_proj is not SVD's stock Timesteps(C, True, 0); "
                         "remove other position patches first")


def apply_temporal_positions(pipe_or_unet, mode: str = "yarn", trained_frames: int = 25,
                             yarn_alpha: float | None = None, yarn_beta: float | None = None) -> int:
    """Interpolate frame positions in place; returns how many temporal transformers were patched.

    Applying again replaces the previous settings. `remove_temporal_positions` undoes it.
    """
    kwargs = {"mode": mode, "trained_frames": trained_frames}
    if yarn_alpha is not None:
        kwargs["yarn_alpha"] = yarn_alpha
    if yarn_beta is not None:
        kwargs["yarn_beta"] = yarn_beta
    settings = PositionSettings(**kwargs)
    transformers = _temporal_transformers(_unet_of(pipe_or_unet))
    if not transformers:
        raise ValueError("apply_temporal_positions: no TransformerSpatioTemporalModel found; pass an SVD pipeline or its UNet")
    for module in transformers:
        current = module.time_proj
        original = current.original if isinstance(current, InterpolatedFramePositions) else current
        _check_stock_time_proj(original)
        module.time_proj = InterpolatedFramePositions(original, settings)
    return len(transformers)


def remove_temporal_positions(pipe_or_unet) -> int:
    """Restore every patched `time_proj`; returns how many were restored."""
    restored = 0
    for module in _temporal_transformers(_unet_of(pipe_or_unet)):
        if isinstance(module.time_proj, InterpolatedFramePositions):
            module.time_proj = module.time_proj.original
            restored += 1
    return restored
