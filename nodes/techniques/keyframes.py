"""Keyframe-hint interpolation: frame arithmetic, per-frame hints, pin masks and segments.

K keyframes with `frames_between` = k give T = (K-1)*k + 1 frames; keyframe j sits at frame j*k.
Each frame gets a *hint* (the conditioning latent SVD concatenates to its input) taken from one
keyframe:
- hold:    the nearest keyframe at or before the frame (the original write-up's
           `repeat_interleave(k)[:T]`);
- nearest: the closest keyframe (ties go to the earlier one);
- first:   keyframe 0 for every frame, which is what stock SVD does with one init image.
Pinning keeps the keyframe frames fixed: a per-frame mask (0 = keep, 1 = generate) with exactly
one entry per frame, because samplers tile shorter masks cyclically instead of holding them.
Segment mode samples each gap `[j*k, (j+1)*k]` (k+1 frames, both ends keyframes) as its own clip.
"""
from __future__ import annotations

import torch

HINT_MODES = ("hold", "nearest", "first")
SAMPLING_MODES = ("segment", "whole")


def validate_keyframe_settings(num_keyframes: int, frames_between: int, hint: str = "hold",
                               pin_release: float = 1.0) -> None:
    """Raise a ValueError naming the input when the settings cannot make a video."""
    if num_keyframes < 2:
        raise ValueError(f"keyframes must hold at least 2 frames to interpolate between; got {num_keyframes}")
    if frames_between < 1:
        raise ValueError(f"frames_between must be >= 1 (output frames = (keyframes-1)*frames_between+1); "
                         f"got {frames_between}")
    if hint not in HINT_MODES:
        raise ValueError(f"hint must be one of {', '.join(HINT_MODES)}; got {hint!r}")
    if not 0.0 <= pin_release <= 1.0:
        raise ValueError(f"pin_release must be within [0, 1] (fraction of the sampling steps); got {pin_release}")


def validate_sampling_settings(mode: str, segments_per_batch: int) -> None:
    if mode not in SAMPLING_MODES:
        raise ValueError(f"mode must be one of {', '.join(SAMPLING_MODES)}; got {mode!r}")
    if segments_per_batch < 1:
        raise ValueError(f"segments_per_batch must be >= 1; got {segments_per_batch}")


def validate_frame_size(width: int, height: int) -> None:
    for name, value in (("width", width), ("height", height)):
        if value < 8 or value % 8:
            raise ValueError(f"{name} must be a positive multiple of 8 (the VAE downsamples by 8); got {value}")


def output_frame_count(num_keyframes: int, frames_between: int) -> int:
    """T = (K-1)*k + 1: e.g. 5 keyframes, k=4 -> 17; 17 keyframes, k=4 -> 65."""
    validate_keyframe_settings(num_keyframes, frames_between)
    return (num_keyframes - 1) * frames_between + 1


def keyframe_indices(num_keyframes: int, frames_between: int) -> list[int]:
    """Output frame of each keyframe."""
    validate_keyframe_settings(num_keyframes, frames_between)
    return [j * frames_between for j in range(num_keyframes)]


def hint_sources(num_keyframes: int, frames_between: int, hint: str = "hold") -> torch.Tensor:
    """For every output frame, the index of the keyframe whose latent is its hint (long, shape (T,))."""
    validate_keyframe_settings(num_keyframes, frames_between, hint)
    frames = torch.arange(output_frame_count(num_keyframes, frames_between))
    if hint == "first":
        return torch.zeros_like(frames)
    if hint == "hold":
        return frames // frames_between
    offset = frames % frames_between
    before = frames // frames_between
    return torch.where(2 * offset > frames_between, before + 1, before).clamp(max=num_keyframes - 1)


def per_frame(keyframe_values: torch.Tensor, frames_between: int, hint: str = "hold") -> torch.Tensor:
    """Expand a per-keyframe tensor (K, ...) to per-frame (T, ...) by the hint map."""
    sources = hint_sources(keyframe_values.shape[0], frames_between, hint)
    return keyframe_values.index_select(0, sources.to(keyframe_values.device))


def pinned_latent(keyframe_latents: torch.Tensor, frames_between: int) -> torch.Tensor:
    """(T, C, h, w): the keyframe latents at their frames, zeros elsewhere (the latent to sample)."""
    count = keyframe_latents.shape[0]
    out = keyframe_latents.new_zeros((output_frame_count(count, frames_between), *keyframe_latents.shape[1:]))
    out[::frames_between] = keyframe_latents
    return out


def pin_mask(num_keyframes: int, frames_between: int, height: int, width: int) -> torch.Tensor:
    """(T, 1, h, w) denoise mask: 0 on keyframe frames (kept), 1 on frames to generate."""
    frames = output_frame_count(num_keyframes, frames_between)
    mask = torch.ones(frames, 1, height, width)
    mask[::frames_between] = 0.0
    return mask


def pinned_steps(steps: int, pin_release: float) -> int:
    """How many of `steps` sampling steps keep the pins (the rest refine the keyframes freely)."""
    if not 0.0 <= pin_release <= 1.0:
        raise ValueError(f"pin_release must be within [0, 1]; got {pin_release}")
    return int(round(pin_release * steps))


def segment_ranges(num_frames: int, frames_between: int) -> list[tuple[int, int]]:
    """[start, end) of every gap clip: k+1 frames sharing its end keyframe with the next clip."""
    if frames_between < 1 or num_frames < frames_between + 1 or (num_frames - 1) % frames_between:
        raise ValueError(f"a {num_frames}-frame latent is not (keyframes-1)*{frames_between}+1 frames; "
                         f"segment mode needs the latent from LongerVideoKeyframeConditioning")
    return [(start, start + frames_between + 1) for start in range(0, num_frames - 1, frames_between)]


def stitch_segments(segments: list[torch.Tensor], frames_between: int) -> torch.Tensor:
    """Join gap clips into T frames; each shared keyframe is the mean of its two clips.

    With pins held to the end both copies equal the keyframe latent, so the mean is exact.
    """
    if not segments:
        raise ValueError("no segments to stitch")
    out = [segments[0]]
    for segment in segments[1:]:
        shared = (out[-1][-1:] + segment[:1]) / 2
        out[-1] = torch.cat([out[-1][:-1], shared])
        out.append(segment[1:])
    result = torch.cat(out)
    expected = len(segments) * frames_between + 1
    if result.shape[0] != expected:
        raise ValueError(f"segments must have {frames_between + 1} frames each")
    return result
