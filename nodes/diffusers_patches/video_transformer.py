"""A scoped replacement of diffusers' `TransformerSpatioTemporalModel.forward` with seams.

Positions and windows both change what happens inside each temporal transformer, so, as in the
ComfyUI adapter, each one gets an instance `forward` that reads the pack's settings from the
module. `patched_forward` mirrors `diffusers/models/transformers/transformer_temporal.py`
(`TransformerSpatioTemporalModel.forward`, diffusers 0.34.0 - 0.42.1, fingerprinted in
`nodes/upstream.py`) line for line except at two seams: the frame embedding and the temporal step.
With frame chunking on, `frame_chunked_forward` runs instead: the same steps with per-frame work
on chunks of frames and the temporal step on chunks of positions.

Offload hooks: accelerate (`enable_model_cpu_offload`, `enable_sequential_cpu_offload`,
`cpu_offload`) keeps a hooked module's real forward in `module._old_forward` and puts its own
wrapper in `module.forward`. The patch goes where the real forward lives, whichever order the
hooks and the patch were added in, and removing it puts back exactly the object it replaced.
"""
from __future__ import annotations

import functools

import torch

from ..techniques.errors import InputError
from ..techniques.frame_chunking import map_chunks, map_rows, positions_per_chunk
from ..techniques.temporal_positions import frame_position_embedding
from ..techniques.windowed_attention import banded_attention, run_block_windows
from ..upstream import DIFFUSERS_FORWARD, warn_once_if_changed

OPTIONS_ATTR = "_longer_video_options"
SAVED_FORWARD_ATTR = "_longer_video_saved_forward"
INSTALLED_ATTR = "_longer_video_forward"
FORWARD_SLOTS = ("_old_forward", "forward")  # accelerate's slot for the real forward first
MAX_PERIOD = 10000  # the temporal `Timesteps` use get_timestep_embedding's default period


def unet_of(pipe_or_unet):
    return getattr(pipe_or_unet, "unet", pipe_or_unet)


def temporal_transformers(pipe_or_unet) -> list[torch.nn.Module]:
    from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel

    return [m for m in unet_of(pipe_or_unet).modules() if isinstance(m, TransformerSpatioTemporalModel)]


def require_svd_unet(pipe_or_unet) -> list[torch.nn.Module]:
    modules = temporal_transformers(pipe_or_unet)
    if not modules:
        raise InputError("pipe has no temporal transformers (TransformerSpatioTemporalModel); pass a "
                         "StableVideoDiffusionPipeline or its UNetSpatioTemporalConditionModel")
    return modules


def set_option(pipe_or_unet, name: str, value) -> int:
    """Set (or with None, clear) one setting on every temporal transformer; returns how many changed.

    The forward patch is installed with the first setting and removed with the last.
    """
    modules = require_svd_unet(pipe_or_unet) if value is not None else temporal_transformers(pipe_or_unet)
    return sum(set_module_option(module, name, value, patched_forward) for module in modules)


def set_module_option(module, name: str, value, forward) -> bool:
    """Set (None: clear) a setting on one module whose `forward(module, ...)` reads it; False if nothing changed."""
    options = dict(module.__dict__.get(OPTIONS_ATTR, {}))
    if value is None and name not in options:
        return False
    if value is None:
        del options[name]
    else:
        options[name] = value
    if options:
        module.__dict__[OPTIONS_ATTR] = options
        install_forward(module, forward)
    else:
        module.__dict__.pop(OPTIONS_ATTR, None)
        uninstall_forward(module)
    return True


def get_option(module, name: str):
    return module.__dict__.get(OPTIONS_ATTR, {}).get(name)


def _ours(module, value) -> bool:
    # by identity: accelerate's wrapper copies the wrapped function's attributes (functools.update_wrapper)
    return value is not None and value is module.__dict__.get(INSTALLED_ATTR)


def install_forward(module, forward) -> None:
    if any(_ours(module, module.__dict__.get(slot)) for slot in FORWARD_SLOTS):
        return
    if forward is patched_forward:
        warn_once_if_changed(DIFFUSERS_FORWARD, type(module).forward)
    slot = "_old_forward" if "_old_forward" in module.__dict__ else "forward"
    module.__dict__[SAVED_FORWARD_ATTR] = module.__dict__.get(slot)
    module.__dict__[INSTALLED_ATTR] = module.__dict__[slot] = functools.partial(forward, module)


def original_forward(module):
    """The forward our patch replaced (accelerate's `_old_forward` or the class's), for stock calls."""
    saved = module.__dict__.get(SAVED_FORWARD_ATTR)
    return saved if saved is not None else type(module).forward.__get__(module)


def uninstall_forward(module) -> None:
    saved = module.__dict__.pop(SAVED_FORWARD_ATTR, None)
    restore_forward(module, module.__dict__.pop(INSTALLED_ATTR, None), saved)


def restore_forward(module, ours, saved) -> None:
    """Put `saved` (None: the class forward) back in whichever slot now holds `ours`.

    accelerate may have hooked the module after our patch (our forward then sits in `_old_forward`):
    that slot gets the class forward, as it would have held.
    """
    if ours is None:
        return
    for slot in FORWARD_SLOTS:
        if module.__dict__.get(slot) is not ours:
            continue
        if saved is not None:
            module.__dict__[slot] = saved
        elif slot == "forward":
            del module.__dict__["forward"]
        else:
            module.__dict__[slot] = type(module).forward.__get__(module)


def patched_forward(self, hidden_states, encoder_hidden_states=None, image_only_indicator=None, return_dict=True):
    from diffusers.models.transformers.transformer_temporal import TransformerTemporalModelOutput

    chunking = active_chunking(self, hidden_states.shape[0])  # seam 0: frame chunking reorders the work
    if chunking is not None:
        output = frame_chunked_forward(self, hidden_states, encoder_hidden_states, image_only_indicator, chunking)
        return (output,) if not return_dict else TransformerTemporalModelOutput(sample=output)

    # 1. Input
    batch_frames, _, height, width = hidden_states.shape
    num_frames = image_only_indicator.shape[-1]
    batch_size = batch_frames // num_frames

    time_context = encoder_hidden_states
    time_context_first_timestep = time_context[None, :].reshape(
        batch_size, num_frames, -1, time_context.shape[-1]
    )[:, 0]
    time_context = time_context_first_timestep[:, None].broadcast_to(
        batch_size, height * width, time_context.shape[-2], time_context.shape[-1]
    )
    time_context = time_context.reshape(batch_size * height * width, -1, time_context.shape[-1])

    residual = hidden_states

    hidden_states = self.norm(hidden_states)
    inner_dim = hidden_states.shape[1]
    hidden_states = hidden_states.permute(0, 2, 3, 1).reshape(batch_frames, height * width, inner_dim)
    hidden_states = self.proj_in(hidden_states)

    # seam 1 (upstream: time_pos_embed(time_proj(arange(num_frames) repeated per video)))
    windows = active_windows(self, num_frames)
    emb = frame_embedding(self, hidden_states, num_frames, batch_size, windows)

    # 2. Blocks
    for block, temporal_block in zip(self.transformer_blocks, self.temporal_transformer_blocks):
        if torch.is_grad_enabled() and self.gradient_checkpointing:
            hidden_states = self._gradient_checkpointing_func(
                block, hidden_states, None, encoder_hidden_states, None
            )
        else:
            hidden_states = block(hidden_states, encoder_hidden_states=encoder_hidden_states)

        # seam 2 (upstream: temporal_block(hidden_states + emb, num_frames, time_context))
        hidden_states_mix = temporal_mix(temporal_block, hidden_states, emb, time_context, num_frames, windows)

        hidden_states = self.time_mixer(
            x_spatial=hidden_states,
            x_temporal=hidden_states_mix,
            image_only_indicator=image_only_indicator,
        )

    # 3. Output
    hidden_states = self.proj_out(hidden_states)
    hidden_states = hidden_states.reshape(batch_frames, height, width, inner_dim).permute(0, 3, 1, 2).contiguous()

    output = hidden_states + residual

    if not return_dict:
        return (output,)

    return TransformerTemporalModelOutput(sample=output)


def frame_chunked_forward(self, hidden_states, encoder_hidden_states, image_only_indicator, chunking) -> torch.Tensor:
    """`patched_forward`'s computation with per-frame steps on chunks of frames and the temporal
    step on chunks of positions; same seams, same results up to rounding. Full-size tensors: the
    input (the residual), the token stream (updated in place) and the output. With gradients on,
    every step builds new tensors instead (`map_chunks`, `map_rows`), so backward works."""
    batch_frames, _, height, width = hidden_states.shape
    num_frames = image_only_indicator.shape[-1]
    batch_size = batch_frames // num_frames
    frames = chunking.frames_per_chunk

    time_context = encoder_hidden_states
    time_context_first_timestep = time_context[None, :].reshape(
        batch_size, num_frames, -1, time_context.shape[-1]
    )[:, 0]

    def time_context_of(positions: int) -> torch.Tensor:
        """Upstream's time_context broadcast to every position, for a chunk of positions."""
        context = time_context_first_timestep[:, None].broadcast_to(
            batch_size, positions, time_context.shape[-2], time_context.shape[-1]
        )
        return context.reshape(batch_size * positions, -1, time_context.shape[-1])

    residual = hidden_states

    def project_in(rows):
        rows = self.norm(rows)
        inner_dim = rows.shape[1]
        rows = rows.permute(0, 2, 3, 1).reshape(rows.shape[0], height * width, inner_dim)
        return self.proj_in(rows)

    hidden_states = map_rows(project_in, residual, frames)
    windows = active_windows(self, num_frames)
    emb = frame_embedding(self, hidden_states, num_frames, batch_size, windows)
    positions = positions_per_chunk(batch_frames, hidden_states.shape[1], frames)

    for block, temporal_block in zip(self.transformer_blocks, self.temporal_transformer_blocks):
        def spatial_step(rows, start, end, block=block):
            rows_context = encoder_hidden_states
            if encoder_hidden_states is not None and encoder_hidden_states.shape[0] == batch_frames:
                rows_context = encoder_hidden_states[start:end]
            if torch.is_grad_enabled() and self.gradient_checkpointing:
                return self._gradient_checkpointing_func(block, rows, None, rows_context, None)
            return block(rows, encoder_hidden_states=rows_context)

        def temporal_step(spatial, start, end, temporal_block=temporal_block):
            mixed = temporal_mix(temporal_block, spatial, emb, time_context_of(end - start), num_frames, windows)
            return self.time_mixer(x_spatial=spatial, x_temporal=mixed, image_only_indicator=image_only_indicator)

        hidden_states = map_chunks(spatial_step, hidden_states, 0, frames)
        hidden_states = map_chunks(temporal_step, hidden_states, 1, positions)

    def project_out(rows, rows_residual):
        rows = self.proj_out(rows)
        rows = rows.reshape(rows.shape[0], height, width, rows.shape[-1]).permute(0, 3, 1, 2).contiguous()
        return rows + rows_residual

    return map_rows(project_out, hidden_states, frames, residual, in_place=True)


def active_chunking(module, rows: int):
    chunking = get_option(module, "frame_chunking")
    return chunking if chunking is not None and chunking.applies_to(rows) else None


def active_windows(module, num_frames: int):
    windows = get_option(module, "windows")
    return windows if windows is not None and windows.applies_to(num_frames) else None


def frame_embedding(self, hidden_states: torch.Tensor, num_frames: int, batch_size: int, windows) -> torch.Tensor:
    """(rows, 1, C) like upstream's `emb`; in `block` mode one window's (positions 0..L-1)."""
    if windows is not None and windows.mode == "block":
        length, repeats = windows.window_frames, 1
    else:
        length, repeats = num_frames, batch_size
    t_emb = frame_position_embedding(length, self.time_proj.num_channels, MAX_PERIOD, get_option(self, "positions"),
                                     device=hidden_states.device)
    # `Timesteps` returns f32 while time_pos_embed may run in half precision, as upstream casts
    return self.time_pos_embed(t_emb.repeat(repeats, 1).to(dtype=hidden_states.dtype))[:, None, :]


def temporal_mix(temporal_block, hidden_states, emb, time_context, num_frames: int, windows) -> torch.Tensor:
    if windows is None:
        return temporal_block(hidden_states + emb, num_frames=num_frames, encoder_hidden_states=time_context)
    if windows.mode == "banded":
        with _banded_self_attention(temporal_block.attn1, windows.band_radius):
            return temporal_block(hidden_states + emb, num_frames=num_frames, encoder_hidden_states=time_context)
    return run_block_windows(hidden_states, emb, num_frames, windows, lambda window_input, length: temporal_block(
        window_input, num_frames=length, encoder_hidden_states=time_context))


class _BandedProcessor:
    """Self-attention over frames limited to a band; used only for the duration of one call."""

    def __init__(self, radius: int):
        self.radius = radius

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, **kwargs):
        q, k, v = attn.to_q(hidden_states), attn.to_k(hidden_states), attn.to_v(hidden_states)
        out = banded_attention(q, k, v, attn.heads, self.radius, upcast=getattr(attn, "upcast_attention", False))
        out = attn.to_out[0](out)
        return attn.to_out[1](out)


class _banded_self_attention:
    def __init__(self, attention, radius: int):
        self.attention, self.radius = attention, radius

    def __enter__(self):
        self.original = self.attention.processor
        self.attention.processor = _BandedProcessor(self.radius)

    def __exit__(self, *exc):
        self.attention.processor = self.original
