"""Temporal position interpolation for SVD-style sinusoidal frame embeddings.

SVD embeds frame positions 0..T-1 with `[cos(p*w_i), sin(p*w_i)]`, `w_i = base^(-i/half)`, then a
small MLP. Past the trained length the MLP sees phases it never saw. Interpolation maps the
requested length back into the trained range:

* linear (PI): every frequency divided by s = T / L_train, i.e. positions p / s;
* ntk: base' = base * s^(half/(half-1)): keeps the highest frequency, divides the lowest by s;
* yarn: per frequency ramp between identity (fast components, many periods inside L_train) and PI
  (slow components), with `r_i = L_train * w_i / (2 pi)` periods seen in training.

The scale is derived from the real frame count, so one configuration serves any length and is
exactly the stock embedding at T <= L_train.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from .errors import InputError

MODES = ("none", "linear", "ntk", "yarn")

# SVD's trained lengths are tiny (r_0 = 14/2pi = 2.2 periods for SVD, 4.0 for SVD-XT), so the LLM
# defaults (alpha=1, beta=32) would put every frequency on the PI side. These keep the fastest
# two or three frequencies exact and interpolate the rest.
DEFAULT_YARN_ALPHA = 0.5
DEFAULT_YARN_BETA = 2.0


@dataclass(frozen=True)
class PositionSettings:
    """What a user picks; the scale itself is decided per call from the frame count."""

    mode: str = "yarn"
    trained_frames: int = 25
    yarn_alpha: float = DEFAULT_YARN_ALPHA
    yarn_beta: float = DEFAULT_YARN_BETA

    def __post_init__(self):
        if self.mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}; got {self.mode!r}")
        if int(self.trained_frames) != self.trained_frames or self.trained_frames < 1:
            raise InputError(f"trained_frames must be a whole number >= 1 (14 for SVD, 25 for SVD-XT); got {self.trained_frames!r}")
        validate_yarn_range(self.yarn_alpha, self.yarn_beta)

    def scale_for(self, num_frames: int) -> float:
        """s = T / L_train when the video is longer than trained, else 1 (stock)."""
        if self.mode == "none":
            return 1.0
        return position_scale(num_frames, self.trained_frames)


def validate_yarn_range(yarn_alpha: float, yarn_beta: float) -> None:
    if not (0 <= yarn_alpha < yarn_beta):
        raise InputError(
            f"yarn_alpha and yarn_beta must satisfy 0 <= yarn_alpha < yarn_beta; got alpha={yarn_alpha}, beta={yarn_beta}"
        )


def position_scale(num_frames: int, trained_frames: int) -> float:
    if num_frames < 1:
        raise InputError(f"num_frames must be >= 1; got {num_frames}")
    return max(1.0, num_frames / trained_frames)


def stock_frequencies(dim: int, max_period: float, device=None) -> torch.Tensor:
    """The frequencies exactly as ComfyUI's and diffusers' sinusoid compute them (float32).

    Same ops in the same order, so the identity path is bitwise equal to the stock embedding.
    """
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32, device=device)
    return torch.exp(exponent / half)


def interpolated_frequencies(dim: int, max_period: float, settings: PositionSettings, scale: float) -> torch.Tensor:
    """Per-frequency w'_i for `scale` > 1, in float64 (cast by the caller's embedding)."""
    half = dim // 2
    i = torch.arange(half, dtype=torch.float64)
    omega = torch.exp(-math.log(max_period) * i / half)
    if settings.mode == "none" or scale <= 1.0:
        return omega
    if settings.mode == "linear":
        return omega / scale
    if settings.mode == "ntk":
        if half < 2:
            return omega / scale
        base = max_period * scale ** (half / (half - 1))
        return torch.exp(-math.log(base) * i / half)
    if settings.mode == "yarn":
        periods_seen = settings.trained_frames * omega / (2 * math.pi)
        ramp = ((periods_seen - settings.yarn_alpha) / (settings.yarn_beta - settings.yarn_alpha)).clamp(0.0, 1.0)
        return ramp * omega + (1.0 - ramp) * omega / scale
    raise InputError(f"unknown position mode {settings.mode!r}")


def sinusoid(positions: torch.Tensor, frequencies: torch.Tensor, dim: int) -> torch.Tensor:
    """`[cos(p w), sin(p w)]` (zero-padded to an odd dim), float32, as SVD lays it out."""
    args = positions[:, None].to(frequencies.dtype) * frequencies[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1).to(torch.float32)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


@functools.lru_cache(maxsize=256)
def frame_position_embedding(
    num_frames: int, dim: int, max_period: float, settings: PositionSettings | None, device=None
) -> torch.Tensor:
    """(T, dim) float32 embedding of frames 0..T-1; the exact stock one when no interpolation applies.

    The stock table is computed on `device` with upstream's float32 ops (bitwise equal there); an
    interpolated one in float64 on the CPU (Apple's MPS has no float64) and moved once. Cached per
    (length, width, settings, device), so sampling steps after the first build nothing: do not
    modify the returned tensor.
    """
    scale = settings.scale_for(num_frames) if settings is not None else 1.0
    if scale <= 1.0:
        positions = torch.arange(num_frames, device=device)
        return sinusoid(positions.float(), stock_frequencies(dim, max_period, device=device), dim)
    freqs = interpolated_frequencies(dim, max_period, settings, scale)
    return sinusoid(torch.arange(num_frames, dtype=torch.float64), freqs, dim).to(device)
