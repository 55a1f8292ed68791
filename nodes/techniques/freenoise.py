"""FreeNoise noise rescheduling: later windows start from re-ordered copies of earlier noise.

For each block `[f, f+S)` with `f = L, L+S, ...` the noise is a permutation (shuffle) or a plain
copy (repeat) of the block `[f-L, f-L+S)`, taken after earlier blocks were rescheduled, so every
frame past the first window is a copy of a frame of the first window. A partial last block takes
the first frames of its source block. Deterministic for a given generator seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import InputError
from .windowed_attention import validate_windows

NOISE_MODES = ("shuffle", "repeat")


@dataclass(frozen=True)
class FreeNoiseSettings:
    window_frames: int = 25
    stride_frames: int = 4
    mode: str = "shuffle"

    def __post_init__(self):
        validate_windows(self.window_frames, self.stride_frames)
        if self.mode not in NOISE_MODES:
            raise InputError(f"mode must be one of {', '.join(NOISE_MODES)}; got {self.mode!r}")


def reschedule_noise(noise: torch.Tensor, settings: FreeNoiseSettings, seed: int = 0, dim: int = 0) -> torch.Tensor:
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    out = noise.clone()
    num_frames = noise.shape[dim]
    window, stride = settings.window_frames, settings.stride_frames
    for start in range(window, num_frames, stride):
        count = min(stride, num_frames - start)
        source = torch.arange(start - window, start - window + count)
        if settings.mode == "shuffle":
            source = source[torch.randperm(count, generator=generator)]
        target = torch.arange(start, start + count)
        out.index_copy_(dim, target.to(out.device), out.index_select(dim, source.to(out.device)))
    return out
