"""Frame-chunked replacements of ComfyUI's `VideoResBlock.forward` and `Upsample.forward`.

`patched_forward` mirrors `VideoResBlock.forward` of `comfy/ldm/modules/diffusionmodules/
openaimodel.py` (identical in ComfyUI 0.3.64 and 0.8.0, fingerprinted in `upstream.py`) line for
line except at two seams:
* the spatial ResBlock (`super().forward`) runs on chunks of frames;
* `time_stack` (a `ResBlock._forward` with dims=3, also fingerprinted) and `time_mixer` run on
  chunks of positions with all frames (`temporal_step`), the GroupNorms with exact statistics.
Calls with at most `frames_per_chunk` rows take the stock forward. The settings are bound into
the object patch (this forward gets no transformer_options), so they live on the clone.
"""
from __future__ import annotations

import torch
from einops import rearrange

from ..techniques.frame_chunking import (
    FrameChunkingSettings, TemporalResBlockSteps, group_normalize, map_rows, rows_per_height_chunk,
    temporal_resblock_in_chunks,
)


def patched_forward(self, settings: FrameChunkingSettings, x: torch.Tensor, emb: torch.Tensor, num_video_frames: int,
                    image_only_indicator=None) -> torch.Tensor:
    from comfy.ldm.modules.diffusionmodules.openaimodel import ResBlock, VideoResBlock

    if not settings.applies_to(x.shape[0]):
        return VideoResBlock.forward(self, x, emb, num_video_frames, image_only_indicator)
    # seam 1 (upstream: x = super().forward(x, emb))
    x = map_rows(lambda rows, rows_emb: ResBlock.forward(self, rows, rows_emb), x, settings.frames_per_chunk, emb)

    x_mix = rearrange(x, "(b t) c h w -> b c t h w", t=num_video_frames)

    # seam 2 (upstream: x = self.time_stack(x, emb per video), then self.time_mixer(x_mix, x))
    x = temporal_step(self, x_mix, rearrange(emb, "(b t) ... -> b t ...", t=num_video_frames), image_only_indicator,
                      settings)
    x = rearrange(x, "b c t h w -> (b t) c h w")
    return x


def temporal_step(self, x_mix: torch.Tensor, emb: torch.Tensor, image_only_indicator, settings) -> torch.Tensor:
    """`time_mixer(x_mix, time_stack(x_mix, emb))` on chunks of positions (b c t h w layout)."""
    stack = self.time_stack
    if stack.updown or stack.use_scale_shift_norm or stack.skip_t_emb:  # not SVD's layout: the stock step
        x = stack(x_mix, emb)
        return self.time_mixer(x_spatial=x_mix, x_temporal=x, image_only_indicator=image_only_indicator)

    in_norm, in_act, in_conv = stack.in_layers
    out_norm, out_act, out_dropout, out_conv = stack.out_layers
    emb_out = stack.emb_layers(emb)  # (b, t, c); upstream: .type(h.dtype), [..., None, None], movedim(1, 2)
    while emb_out.ndim < x_mix.ndim:
        emb_out = emb_out[..., None]
    emb_out = emb_out.movedim(1, 2)

    def first(normalised):
        h = in_conv(in_act(normalised))
        return h + emb_out.type(h.dtype)

    def finish(x, h):
        return self.time_mixer(x_spatial=x, x_temporal=stack.skip_connection(x) + h,
                               image_only_indicator=image_only_indicator)

    b, _, t, height, width = x_mix.shape
    steps = TemporalResBlockSteps(
        first_norm=lambda chunk, stats: comfy_group_norm(in_norm, chunk, stats), first_groups=in_norm.num_groups,
        first_eps=in_norm.eps, first=first,
        second_norm=lambda chunk, stats: comfy_group_norm(out_norm, chunk, stats), second_groups=out_norm.num_groups,
        second_eps=out_norm.eps, second=lambda normalised: out_conv(out_dropout(out_act(normalised))),
        finish=finish,
    )
    return temporal_resblock_in_chunks(x_mix, steps, rows_per_height_chunk(b * t, height, width, settings.frames_per_chunk))


def comfy_group_norm(norm, chunk: torch.Tensor, stats) -> torch.Tensor:
    """A ComfyUI GroupNorm applied with given statistics; weights cast as its own forward would."""
    weight, bias = norm.weight, norm.bias
    if getattr(norm, "comfy_cast_weights", False) or getattr(norm, "weight_function", None) \
            or getattr(norm, "bias_function", None):
        import comfy.ops

        weight, bias = comfy.ops.cast_bias_weight(norm, chunk)
    return group_normalize(chunk, stats, weight, bias, norm.num_groups)


def chunked_upsample_forward(self, settings: FrameChunkingSettings, x: torch.Tensor, output_shape=None) -> torch.Tensor:
    """`Upsample.forward` per chunk of frames: its nearest-neighbour 4x intermediate stays chunk-sized."""
    from comfy.ldm.modules.diffusionmodules.openaimodel import Upsample

    if not settings.applies_to(x.shape[0]):
        return Upsample.forward(self, x, output_shape=output_shape)
    return map_rows(lambda rows: Upsample.forward(self, rows, output_shape=output_shape), x, settings.frames_per_chunk)
