"""FreeNoise noise rescheduling: later windows start from re-ordered copies of earlier noise.

For each block `[f, f+S)` with `f = L, L+S, ...` the noise is a permutation (shuffle) or a plain
copy (repeat) of the block `[f-L, f-L+S)`, taken after earlier blocks were rescheduled, so every
frame past the first window is a copy of a frame of the first window. A partial last block takes
the first frames of its source block. Deterministic for a given generator seed.
"""
from __future__ import annotations

import torch

from .windows import validate_windows

NOISE_MODES = ("shuffle", "repeat")


def validate_noise_settings(window_frames: int, stride_frames: int, mode: str) -> None:
    validate_windows(window_frames, stride_frames)
    if mode not in NOISE_MODES:
        raise ValueError(f"mode must be one of {', '.join(NOISE_MODES)}; got {mode!r}")


def reschedule_noise(noise: torch.Tensor, window_frames: int, stride_frames: int, mode: str = "shuffle",
                     seed: int = 0, dim: int = 0) -> torch.Tensor:
    validate_noise_settings(window_frames, stride_frames, mode)
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    out = noise.clone()
    num_frames = noise.shape[dim]
    for start in range(window_frames, num_frames, stride_frames):
        count = min(stride_frames, num_frames - start)
        source = torch.arange(start - window_frames, start - window_frames + count)
        if mode == "shuffle":
            source = source[torch.randperm(count, generator=generator)]
        target = torch.arange(start, start + count)
        out.index_copy_(dim, target.to(out.device), out.index_select(dim, source.to(out.device)))
    return out
