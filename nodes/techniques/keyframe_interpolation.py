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

from dataclasses import dataclass

import torch

from .bidirectional import Bidirectional, check_direction
from .errors import InputError

HINT_MODES = ("hold", "nearest", "first")
SAMPLING_MODES = ("segment", "whole")


@dataclass(frozen=True)
class KeyframeSettings:
    """What a keyframe stage is asked for; the keyframes themselves come with the call."""

    frames_between: int = 4
    hint: str = "hold"
    pin_keyframes: bool = True
    pin_release: float = 1.0
    loop: bool = False

    def __post_init__(self):
        if self.frames_between < 1:
            raise InputError(f"frames_between must be >= 1 (output frames = (keyframes-1)*frames_between+1); "
                             f"got {self.frames_between}")
        if self.hint not in HINT_MODES:
            raise InputError(f"hint must be one of {', '.join(HINT_MODES)}; got {self.hint!r}")
        if not 0.0 <= self.pin_release <= 1.0:
            raise InputError(f"pin_release must be within [0, 1] (fraction of the sampling steps); got {self.pin_release}")

    def stage_keyframes(self, num_keyframes: int) -> int:
        """Keyframes the stage interpolates: with `loop` the first keyframe comes again after the last."""
        return num_keyframes + 1 if self.loop else num_keyframes

    @property
    def pins_held_to_the_end(self) -> bool:
        return self.pin_keyframes and self.pin_release >= 1.0


@dataclass(frozen=True)
class KeyframeSamplingSettings:
    """How a keyframe stage is sampled: gap by gap (`segment`) or all frames at once (`whole`).

    Shared by the Keyframe Sampler node and the diffusers `interpolate_keyframes(sampling=...)`.
    Every field has a default and is checked on its own in `__post_init__`, so a new field (e.g. a
    sampling direction) is added at the end without changing existing callers.
    """

    mode: str = "segment"
    segments_per_batch: int = 1
    direction: str = "forward"
    reverse_motion_bucket_id: int | None = None

    def __post_init__(self):
        if self.mode not in SAMPLING_MODES:
            raise InputError(f"mode must be one of {', '.join(SAMPLING_MODES)}; got {self.mode!r}")
        if isinstance(self.segments_per_batch, bool) or not isinstance(self.segments_per_batch, int) \
                or self.segments_per_batch < 1:
            raise InputError(f"segments_per_batch must be an integer >= 1; got {self.segments_per_batch!r}")
        check_direction(self.direction, self.reverse_motion_bucket_id)

    @property
    def bidirectional(self) -> Bidirectional | None:
        """The backward pass's settings, or None for forward sampling (`bidirectional.py`)."""
        return Bidirectional(self.reverse_motion_bucket_id) if self.direction == "bidirectional" else None


def require_keyframes(num_keyframes: int, input_name: str = "keyframes") -> None:
    if num_keyframes < 2:
        raise InputError(f"{input_name} must hold at least 2 frames to interpolate between (or 1 with loop); "
                         f"got {num_keyframes}")


def require_open_loop(keyframes: torch.Tensor) -> None:
    """loop adds the first keyframe after the last: refuse keyframes that already end on it."""
    if keyframes.shape[0] > 1 and torch.equal(keyframes[-1], keyframes[0]):
        raise InputError("loop is on but the keyframes already end on the first keyframe (a looped earlier stage?): "
                         "turn loop off for this stage")


def validate_keyframe_settings(num_keyframes: int, frames_between: int, hint: str = "hold",
                               pin_release: float = 1.0) -> None:
    """Raise an InputError naming the input when the settings cannot make a video."""
    require_keyframes(num_keyframes)
    KeyframeSettings(frames_between=frames_between, hint=hint, pin_release=pin_release)


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
    return int(round(pin_release * steps))


def segment_ranges(num_frames: int, frames_between: int) -> list[tuple[int, int]]:
    """[start, end) of every gap clip: k+1 frames sharing its end keyframe with the next clip."""
    if frames_between < 1 or num_frames < frames_between + 1 or (num_frames - 1) % frames_between:
        raise InputError(f"a {num_frames}-frame latent is not (keyframes-1)*{frames_between}+1 frames; "
                         f"segment mode needs the latent from LongerVideoKeyframeConditioning")
    return [(start, start + frames_between + 1) for start in range(0, num_frames - 1, frames_between)]


def stitch_segments(segments: list[torch.Tensor], frames_between: int) -> torch.Tensor:
    """Join gap clips into T frames; each shared keyframe is taken from the clip that ends on it.

    With pins held to the end both copies equal the keyframe latent. With pins released (or off)
    the two clips refine it differently, and their mean would be a double exposure of two samples,
    so one copy is kept: the earlier clip's, which leads into it.
    """
    if not segments:
        raise InputError("no segments to stitch")
    result = torch.cat([segments[0]] + [segment[1:] for segment in segments[1:]])
    expected = len(segments) * frames_between + 1
    if result.shape[0] != expected:
        raise InputError(f"segments must have {frames_between + 1} frames each")
    return result
