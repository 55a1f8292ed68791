"""Frame-chunked forwards of diffusers' `SpatioTemporalResBlock` and `Upsample2D`.

`patched_forward` mirrors `SpatioTemporalResBlock.forward` (`diffusers/models/resnet.py`,
fingerprinted in `nodes/upstream.py` with `TemporalResnetBlock.forward`, whose steps
`temporal_step` runs) line for line except at two seams: the spatial resnet runs on chunks of
frames, the temporal resnet and the mixer on chunks of positions with all frames, its GroupNorms
with exact statistics. Calls with at most `frames_per_chunk` rows run the forward our patch
replaced. The forwards are installed where accelerate keeps the real one (`video_transformer`).
"""
from __future__ import annotations

import functools

import torch

from ..techniques.frame_chunking import (
    TemporalResBlockSteps, group_normalize, map_rows, rows_per_height_chunk, temporal_resblock_in_chunks,
)
from .video_transformer import get_option, original_forward


def patched_forward(self, hidden_states, temb=None, image_only_indicator=None):
    settings = get_option(self, "frame_chunking")
    if settings is None or not settings.applies_to(hidden_states.shape[0]):
        return original_forward(self)(hidden_states, temb, image_only_indicator)
    num_frames = image_only_indicator.shape[-1]
    # seam 1 (upstream: hidden_states = self.spatial_res_block(hidden_states, temb))
    hidden_states = map_rows(self.spatial_res_block, hidden_states, settings.frames_per_chunk, temb)

    batch_frames, channels, height, width = hidden_states.shape
    batch_size = batch_frames // num_frames

    hidden_states_mix = (
        hidden_states[None, :].reshape(batch_size, num_frames, channels, height, width).permute(0, 2, 1, 3, 4)
    )

    if temb is not None:
        temb = temb.reshape(batch_size, num_frames, -1)

    # seam 2 (upstream: self.temporal_res_block(hidden_states, temb), then self.time_mixer(...))
    hidden_states = temporal_step(self, hidden_states_mix, temb, image_only_indicator, settings)

    hidden_states = hidden_states.permute(0, 2, 1, 3, 4).reshape(batch_frames, channels, height, width)
    return hidden_states


def temporal_step(self, hidden_states_mix, temb, image_only_indicator, settings) -> torch.Tensor:
    """`time_mixer(mix, temporal_res_block(mix, temb))` on chunks of positions (b c t h w)."""
    block = self.temporal_res_block
    temb_out = None
    if block.time_emb_proj is not None and temb is not None:
        temb_out = block.time_emb_proj(block.nonlinearity(temb))[:, :, :, None, None].permute(0, 2, 1, 3, 4)

    def first(normalised):
        h = block.conv1(block.nonlinearity(normalised))
        return h + temb_out if temb_out is not None else h

    def finish(x, h):
        skip = block.conv_shortcut(x) if block.conv_shortcut is not None else x
        return self.time_mixer(x_spatial=x, x_temporal=skip + h, image_only_indicator=image_only_indicator)

    b, _, t, height, width = hidden_states_mix.shape
    steps = TemporalResBlockSteps(
        first_norm=functools.partial(normalize_with, block.norm1), first_groups=block.norm1.num_groups,
        first_eps=block.norm1.eps, first=first,
        second_norm=functools.partial(normalize_with, block.norm2), second_groups=block.norm2.num_groups,
        second_eps=block.norm2.eps, second=lambda normalised: block.conv2(block.dropout(block.nonlinearity(normalised))),
        finish=finish,
    )
    rows = rows_per_height_chunk(b * t, height, width, settings.frames_per_chunk)
    return temporal_resblock_in_chunks(hidden_states_mix, steps, rows)


def normalize_with(norm: torch.nn.GroupNorm, chunk: torch.Tensor, stats) -> torch.Tensor:
    """`norm`'s affine on a chunk normalised with given statistics.

    Run as the module's forward when accelerate hooks it (sequential CPU offload keeps weights off
    the module until its hook brings them), else directly.
    """
    def apply(module, x):
        return group_normalize(x, stats, module.weight, module.bias, module.num_groups)

    if "_old_forward" not in norm.__dict__:
        return apply(norm, chunk)
    real = norm.__dict__["_old_forward"]
    norm.__dict__["_old_forward"] = functools.partial(apply, norm)
    try:
        return norm(chunk)
    finally:
        norm.__dict__["_old_forward"] = real


def chunked_upsample_forward(self, hidden_states, *args, **kwargs):
    """`Upsample2D.forward` per chunk of frames: its 4x intermediate stays chunk-sized."""
    settings = get_option(self, "frame_chunking")
    forward = original_forward(self)
    if settings is None or not settings.applies_to(hidden_states.shape[0]):
        return forward(hidden_states, *args, **kwargs)
    return map_rows(lambda rows: forward(rows, *args, **kwargs), hidden_states, settings.frames_per_chunk)
