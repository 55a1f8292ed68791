"""A scoped replacement of `SpatialVideoTransformer.forward` with seams for positions and windows.

ComfyUI has no hook for the temporal position embedding (it is built from `arange(T)` inside the
module's forward) nor for the temporal block alone (attn1 patches also fire for the spatial block),
so each temporal transformer of the clone gets an object patch of its `forward`.

`patched_forward` mirrors `SpatialVideoTransformer.forward` of `comfy/ldm/modules/attention.py`,
identical in ComfyUI 0.3.64 and 0.8.0 (fingerprinted in `upstream.py`, checked by the tests), line
for line except at two seams:
* the frame embedding comes from `frame_embedding` (bitwise stock without interpolation);
* the temporal step runs through `temporal_mix`, which applies the windowing settings.
Settings come from transformer_options, so our nodes share the one patch per module and compose
in any order: positions (global, or per window in `block` mode) and windows are independent keys.
"""
from __future__ import annotations

import functools

import torch
from einops import rearrange, repeat

from ..techniques.errors import InputError
from ..techniques.frame_chunking import map_chunks, map_rows, positions_per_chunk
from ..techniques.temporal_positions import frame_position_embedding
from ..techniques.windowed_attention import banded_attention, run_block_windows
from .options import get_option
from ..upstream import COMFYUI_FORWARD, SUPPORTED_COMFYUI, warn_once_if_changed

_REQUIRED_ATTRIBUTES = (
    "time_stack", "transformer_blocks", "time_pos_embed", "time_mixer", "norm", "proj_in", "proj_out",
    "use_linear", "use_spatial_context", "in_channels", "max_time_embed_period",
)


def find_temporal_transformers(model_patcher) -> dict[str, torch.nn.Module]:
    """`{"diffusion_model.<path>": module}` for every SpatialVideoTransformer of the model."""
    from comfy.ldm.modules.attention import SpatialVideoTransformer

    diffusion_model = getattr(getattr(model_patcher, "model", None), "diffusion_model", None)
    if diffusion_model is None:
        return {}
    found = {}
    for name, module in diffusion_model.named_modules():
        if isinstance(module, SpatialVideoTransformer):
            missing = [a for a in _REQUIRED_ATTRIBUTES if not hasattr(module, a)]
            if missing:
                raise InputError(f"this ComfyUI's SpatialVideoTransformer lacks {missing}; Longer Video supports "
                                 f"ComfyUI {SUPPORTED_COMFYUI}")
            found[f"diffusion_model.{name}"] = module
    return found


def require_video_model(model_patcher) -> dict[str, torch.nn.Module]:
    """The temporal transformers of `model_patcher`, or an error naming the `model` input."""
    modules = find_temporal_transformers(model_patcher)
    if not modules:
        raise InputError(
            "model is not a Stable Video Diffusion model (it has no temporal transformers, "
            "SpatialVideoTransformer); connect SVD / SVD-XT, e.g. from Image Only Checkpoint Loader"
        )
    return modules


def install_temporal_forward(model_patcher) -> None:
    """Object-patch every temporal transformer's forward on this (already cloned) patcher."""
    from comfy.ldm.modules.attention import SpatialVideoTransformer

    modules = require_video_model(model_patcher)
    warn_once_if_changed(COMFYUI_FORWARD, SpatialVideoTransformer.forward)
    for key, module in modules.items():
        model_patcher.add_object_patch(f"{key}.forward", functools.partial(patched_forward, module))


def patched_forward(
    self,
    x: torch.Tensor,
    context=None,
    time_context=None,
    timesteps=None,
    image_only_indicator=None,
    transformer_options={},  # upstream's signature: ComfyUI writes per-call keys into this dict
) -> torch.Tensor:
    chunking = active_chunking(transformer_options, x.shape[0])  # seam 0: frame chunking reorders the work
    if chunking is not None:
        return frame_chunked_forward(self, x, context, time_context, timesteps, image_only_indicator,
                                     transformer_options, chunking)
    _, _, h, w = x.shape
    transformer_options["activations_shape"] = list(x.shape)
    x_in = x
    spatial_context = None
    if context is not None:
        spatial_context = context

    if self.use_spatial_context:
        assert (
            context.ndim == 3
        ), f"n dims of spatial context should be 3 but are {context.ndim}"

        if time_context is None:
            time_context = context
        time_context_first_timestep = time_context[::timesteps]
        time_context = repeat(
            time_context_first_timestep, "b ... -> (b n) ...", n=h * w
        )
    elif time_context is not None and not self.use_spatial_context:
        time_context = repeat(time_context, "b ... -> (b n) ...", n=h * w)
        if time_context.ndim == 2:
            time_context = rearrange(time_context, "b c -> b 1 c")

    x = self.norm(x)
    if not self.use_linear:
        x = self.proj_in(x)
    x = rearrange(x, "b c h w -> b (h w) c")
    if self.use_linear:
        x = self.proj_in(x)

    # seam 1 (upstream: emb of arange(timesteps) repeated per video)
    windows = active_windows(transformer_options, timesteps)
    emb = frame_embedding(self, x, timesteps, windows, transformer_options)

    for it_, (block, mix_block) in enumerate(
        zip(self.transformer_blocks, self.time_stack)
    ):
        transformer_options["block_index"] = it_
        x = block(
            x,
            context=spatial_context,
            transformer_options=transformer_options,
        )

        # seam 2 (upstream: x + emb, then mix_block over the frame axis)
        x_mix = temporal_mix(mix_block, x, emb, time_context, timesteps, transformer_options, windows)

        x = self.time_mixer(x_spatial=x, x_temporal=x_mix, image_only_indicator=image_only_indicator)

    if self.use_linear:
        x = self.proj_out(x)
    x = rearrange(x, "b (h w) c -> b c h w", h=h, w=w)
    if not self.use_linear:
        x = self.proj_out(x)
    out = x + x_in
    return out


def frame_chunked_forward(self, x, context, time_context, timesteps, image_only_indicator, transformer_options,
                          chunking) -> torch.Tensor:
    """`patched_forward`'s computation with per-frame steps on chunks of frames and the temporal
    step on chunks of positions; the same seams, the same results up to rounding.

    Full-size tensors: the input (kept for the residual), the token stream x, updated chunk by
    chunk in place, and the output, written over x's storage (a chunk of output rows only reads
    the same rows of x). With gradients on (reconstruction guidance, training), every step builds
    new tensors instead (`map_chunks`, `map_rows`): autograd saved the chunks an in-place write
    would overwrite.
    """
    _, _, h, w = x.shape
    transformer_options["activations_shape"] = list(x.shape)
    x_in = x
    rows, frames = x.shape[0], chunking.frames_per_chunk
    spatial_context = context

    time_context_per_video, flat = None, False
    if self.use_spatial_context:
        assert context.ndim == 3, f"n dims of spatial context should be 3 but are {context.ndim}"
        if time_context is None:
            time_context = context
        time_context_per_video = time_context[::timesteps]
    elif time_context is not None:
        time_context_per_video, flat = time_context, True

    def time_context_of(positions: int):
        """Upstream's `repeat(.., "b ... -> (b n) ...", n=h*w)`, for a chunk of positions."""
        if time_context_per_video is None:
            return None
        repeated = repeat(time_context_per_video, "b ... -> (b n) ...", n=positions)
        return rearrange(repeated, "b c -> b 1 c") if flat and repeated.ndim == 2 else repeated

    def project_in(rows_x):
        rows_x = self.norm(rows_x)
        if not self.use_linear:
            rows_x = self.proj_in(rows_x)
        rows_x = rearrange(rows_x, "b c h w -> b (h w) c")
        if self.use_linear:
            rows_x = self.proj_in(rows_x)
        return rows_x

    x = map_rows(project_in, x_in, frames)
    windows = active_windows(transformer_options, timesteps)
    emb = frame_embedding(self, x, timesteps, windows, transformer_options)
    positions = positions_per_chunk(rows, x.shape[1], frames)

    for it_, (block, mix_block) in enumerate(zip(self.transformer_blocks, self.time_stack)):
        transformer_options["block_index"] = it_

        def spatial_step(rows_x, start, end, block=block):
            chunk_context = spatial_context
            if spatial_context is not None and spatial_context.shape[0] == rows:
                chunk_context = spatial_context[start:end]
            return block(rows_x, context=chunk_context, transformer_options=transformer_options)

        def temporal_step(x_spatial, start, end, mix_block=mix_block):
            x_mix = temporal_mix(mix_block, x_spatial, emb, time_context_of(end - start), timesteps,
                                 transformer_options, windows)
            return self.time_mixer(x_spatial=x_spatial, x_temporal=x_mix, image_only_indicator=image_only_indicator)

        x = map_chunks(spatial_step, x, 0, frames)
        x = map_chunks(temporal_step, x, 1, positions)

    def project_out(rows_x, rows_in):
        if self.use_linear:
            rows_x = self.proj_out(rows_x)
        rows_x = rearrange(rows_x, "b (h w) c -> b c h w", h=h, w=w)
        if not self.use_linear:
            rows_x = self.proj_out(rows_x)
        return rows_x + rows_in

    return map_rows(project_out, x, frames, x_in, in_place=True)


def active_chunking(transformer_options: dict, rows: int):
    """Frame chunking settings when they change anything for a call with this many rows, else None."""
    chunking = get_option(transformer_options, "frame_chunking")
    return chunking if chunking is not None and chunking.applies_to(rows) else None


def active_windows(transformer_options: dict, num_frames: int):
    """The window settings when they change anything for this many frames, else None."""
    windows = get_option(transformer_options, "windows")
    return windows if windows is not None and windows.applies_to(num_frames) else None


def frame_embedding(self, x: torch.Tensor, num_frames: int, windows, transformer_options: dict) -> torch.Tensor:
    """(rows, 1, C): time_pos_embed over the (interpolated) frame sinusoid.

    In `block` mode each window sees frames 0..L-1, as in training (interpolated only if L >
    trained_frames), so one window's embedding serves every window. Otherwise the MLP runs on
    the repeated rows as upstream does, so results stay bitwise equal (a matmul over a different
    number of rows may round differently).
    """
    positions = get_option(transformer_options, "positions")
    if windows is not None and windows.mode == "block":
        length, repeats = windows.window_frames, 1
    else:
        length, repeats = num_frames, x.shape[0] // num_frames
    t_emb = frame_position_embedding(length, self.in_channels, self.max_time_embed_period, positions, device=x.device)
    return self.time_pos_embed(t_emb.repeat(repeats, 1).to(x.dtype))[:, None, :]


def run_temporal_block(mix_block, x_mix: torch.Tensor, time_context, num_frames: int, transformer_options) -> torch.Tensor:
    """Upstream's temporal step on (b t) s c activations: attention runs over the t axis."""
    B, S, C = x_mix.shape
    x_mix = rearrange(x_mix, "(b t) s c -> (b s) t c", t=num_frames)
    x_mix = mix_block(x_mix, context=time_context, transformer_options=transformer_options)
    return rearrange(x_mix, "(b s) t c -> (b t) s c", s=S, b=B // num_frames, c=C, t=num_frames)


def temporal_mix(mix_block, x: torch.Tensor, emb: torch.Tensor, time_context, num_frames: int, transformer_options,
                 windows) -> torch.Tensor:
    if windows is None:
        return run_temporal_block(mix_block, x + emb, time_context, num_frames, transformer_options)
    if windows.mode == "banded":
        options = with_banded_self_attention(transformer_options, windows.band_radius)
        return run_temporal_block(mix_block, x + emb, time_context, num_frames, options)

    # block: the whole temporal block per window on window-local positions, outputs fused
    return run_block_windows(x, emb, num_frames, windows, lambda window_input, length: run_temporal_block(
        mix_block, window_input, time_context, length, transformer_options))


def with_banded_self_attention(transformer_options: dict, radius: int) -> dict:
    """A copy of the options whose attn1 replacement (for this block only) masks far frames.

    Only the temporal block receives the copy, so the spatial block of the same transformer (which
    shares the attn1 patch key) is untouched, and nothing outlives this call.
    """
    block = transformer_options.get("block")
    key = (block[0], block[1], transformer_options.get("block_index", 0)) if block is not None else None
    replace = dict(transformer_options.get("patches_replace", {}))
    attn1 = dict(replace.get("attn1", {}))

    def banded(q, k, v, extra_options):
        upcast = extra_options.get("attn_precision") == torch.float32
        return banded_attention(q, k, v, extra_options["n_heads"], radius, upcast=upcast)

    attn1[key] = banded
    replace["attn1"] = attn1
    return {**transformer_options, "patches_replace": replace}
