"""Windowed temporal attention and FreeNoise latents for diffusers' SVD UNet / pipeline.

`apply_windowed_attention` gives each `TransformerSpatioTemporalModel` an instance `forward`
(undone by `remove_windowed_attention`) that mirrors diffusers' own but runs the temporal block
through the shared window plan: `block` runs it per window on window-local positions and fuses the
outputs, `banded` runs it once with self-attention limited to +-window/2 frames. Videos of at most
`window_frames` frames take the stock path. Positions patched by `apply_temporal_positions` apply
as in ComfyUI: globally in banded mode, per window (scale from the window length) in block mode.
"""
from __future__ import annotations

import functools

import torch

from ..techniques.freenoise import reschedule_noise
from ..techniques.windows import WindowSettings, banded_attention, run_block_windows
from .positions import _temporal_transformers, _unet_of

_SETTINGS_ATTR = "_longer_video_windows"


def apply_windowed_attention(pipe_or_unet, window_frames: int = 25, stride_frames: int = 4, fusion: str = "pyramid",
                             mode: str = "block") -> int:
    settings = WindowSettings(window_frames, stride_frames, fusion, mode)
    modules = _temporal_transformers(_unet_of(pipe_or_unet))
    if not modules:
        raise ValueError("apply_windowed_attention: no TransformerSpatioTemporalModel found; pass an SVD pipeline or its UNet")
    for module in modules:
        object.__setattr__(module, _SETTINGS_ATTR, settings)
        module.forward = functools.partial(windowed_forward, module)
    return len(modules)


def remove_windowed_attention(pipe_or_unet) -> int:
    restored = 0
    for module in _temporal_transformers(_unet_of(pipe_or_unet)):
        if _SETTINGS_ATTR in module.__dict__:
            del module.__dict__[_SETTINGS_ATTR]
            module.__dict__.pop("forward", None)
            restored += 1
    return restored


def freenoise_latents(batch_size: int, num_frames: int, height: int, width: int, window_frames: int = 25,
                      stride_frames: int = 4, mode: str = "shuffle", seed: int = 0, channels: int = 4,
                      dtype=torch.float32) -> torch.Tensor:
    """Initial noise for `pipe(..., latents=...)`: (B, T, C, H/8, W/8), rescheduled along frames."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(batch_size, num_frames, channels, height // 8, width // 8, generator=generator)
    return reschedule_noise(noise, window_frames, stride_frames, mode, seed=seed, dim=1).to(dtype)


def _frame_embedding(self, num_frames: int, repeats: int, dtype, device) -> torch.Tensor:
    frames = torch.arange(num_frames, device=device).repeat(repeats, 1).reshape(-1)
    return self.time_pos_embed(self.time_proj(frames).to(dtype=dtype))[:, None, :]


def windowed_forward(self, hidden_states, encoder_hidden_states=None, image_only_indicator=None, return_dict=True):
    from diffusers.models.transformers.transformer_temporal import TransformerTemporalModelOutput

    settings: WindowSettings = getattr(self, _SETTINGS_ATTR)
    batch_frames, _, height, width = hidden_states.shape
    num_frames = image_only_indicator.shape[-1]
    if not settings.applies_to(num_frames):
        return type(self).forward(self, hidden_states, encoder_hidden_states, image_only_indicator, return_dict)
    batch_size = batch_frames // num_frames

    time_context = encoder_hidden_states
    time_context_first_timestep = time_context[None, :].reshape(batch_size, num_frames, -1, time_context.shape[-1])[:, 0]
    time_context = time_context_first_timestep[:, None].broadcast_to(
        batch_size, height * width, time_context.shape[-2], time_context.shape[-1])
    time_context = time_context.reshape(batch_size * height * width, -1, time_context.shape[-1])

    residual = hidden_states
    hidden_states = self.norm(hidden_states)
    inner_dim = hidden_states.shape[1]
    hidden_states = hidden_states.permute(0, 2, 3, 1).reshape(batch_frames, height * width, inner_dim)
    hidden_states = self.proj_in(hidden_states)

    if settings.mode == "block":
        emb = _frame_embedding(self, settings.window_frames, 1, hidden_states.dtype, hidden_states.device)
    else:
        emb = _frame_embedding(self, num_frames, batch_size, hidden_states.dtype, hidden_states.device)

    for block, temporal_block in zip(self.transformer_blocks, self.temporal_transformer_blocks):
        hidden_states = block(hidden_states, encoder_hidden_states=encoder_hidden_states)
        if settings.mode == "banded":
            with _banded_self_attention(temporal_block.attn1, settings.band_radius):
                mix = temporal_block(hidden_states + emb, num_frames=num_frames, encoder_hidden_states=time_context)
        else:
            mix = run_block_windows(hidden_states, emb, num_frames, settings, lambda window_input, length: temporal_block(
                window_input, num_frames=length, encoder_hidden_states=time_context))
        hidden_states = self.time_mixer(x_spatial=hidden_states, x_temporal=mix, image_only_indicator=image_only_indicator)

    hidden_states = self.proj_out(hidden_states)
    hidden_states = hidden_states.reshape(batch_frames, height, width, inner_dim).permute(0, 3, 1, 2).contiguous()
    output = hidden_states + residual
    return TransformerTemporalModelOutput(sample=output) if return_dict else (output,)


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
