"""How training clips are cut from a video: length, frame rate, stride, size. Pure arithmetic.

A clip is (K-1)*k+1 frames at `fps` (the frames the Keyframe Sampler makes from K keyframes k frames
apart); clips start every `stride` output frames; frames are scaled to cover the training size and
centre-cropped, so the picture is never distorted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import InputError
from .keyframe_interpolation import output_frame_count

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".gif")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


@dataclass(frozen=True)
class TrainingClipSettings:
    """keyframes K and frames_between k give clips of (K-1)*k+1 frames; fps None keeps each video's
    own rate (frame folders: folder_fps); stride None = one clip length (clips do not overlap)."""

    keyframes: int = 5
    frames_between: int = 4
    fps: float | None = 8.0
    stride: int | None = None
    width: int = 1024
    height: int = 576
    folder_fps: float = 8.0
    motion_bucket_id: int = 127
    noise_aug_strength: float = 0.02

    def __post_init__(self):
        if self.keyframes < 2:
            raise InputError(f"keyframes must be >= 2; got {self.keyframes!r}")
        output_frame_count(self.keyframes, self.frames_between)  # checks frames_between
        for name in ("width", "height"):
            value = getattr(self, name)
            if value < 8 or value % 8:
                raise InputError(f"{name} must be a multiple of 8 (the VAE's factor), >= 8; got {value!r}")
        if self.fps is not None and not self.fps > 0:
            raise InputError(f"fps must be > 0, or None for each video's own rate; got {self.fps!r}")
        if not self.folder_fps > 0:
            raise InputError(f"folder_fps must be > 0; got {self.folder_fps!r}")
        if self.stride is not None and self.stride < 1:
            raise InputError(f"stride must be >= 1 frame, or None for one clip length; got {self.stride!r}")
        if not 0 <= self.motion_bucket_id <= 255:
            raise InputError(f"motion_bucket_id must be within [0, 255]; got {self.motion_bucket_id!r}")
        if self.noise_aug_strength < 0:
            raise InputError(f"noise_aug_strength must be >= 0; got {self.noise_aug_strength!r}")

    @property
    def clip_frames(self) -> int:
        return output_frame_count(self.keyframes, self.frames_between)

    @property
    def clip_stride(self) -> int:
        return self.stride or self.clip_frames


def kept_source_frames(source_fps: float, target_fps: float | None, source_count: int | None = None):
    """Source frame indices to keep, in order, so the kept frames run at `target_fps` (None: all).

    Output frame n is the source frame at time n / target_fps (rounded down); a target above the
    source rate repeats frames. `source_count` None: an endless generator (a stream of unknown length).
    """
    n = 0
    while True:
        index = n if target_fps is None else math.floor(n * source_fps / target_fps + 1e-9)
        if source_count is not None and index >= source_count:
            return
        yield index
        n += 1


def clip_starts(kept_frames: int, settings: TrainingClipSettings) -> list[int]:
    """First kept frame of every whole clip that fits in `kept_frames`."""
    return list(range(0, kept_frames - settings.clip_frames + 1, settings.clip_stride))


def cover_crop(width: int, height: int, target_width: int, target_height: int) -> tuple[int, int, tuple[int, int, int, int]]:
    """(scaled width, scaled height, crop box (left, top, right, bottom)): scale to cover, crop the centre."""
    scale = max(target_width / width, target_height / height)
    scaled_w, scaled_h = max(target_width, round(width * scale)), max(target_height, round(height * scale))
    left, top = (scaled_w - target_width) // 2, (scaled_h - target_height) // 2
    return scaled_w, scaled_h, (left, top, left + target_width, top + target_height)
