"""Training clips from a folder: video files (PyAV) and folders of frames (PIL).

Each source is read as a stream: frames are resampled to the clip frame rate, scaled and
centre-cropped to the training size, and a clip is handed out as soon as its last frame is read, so
a long video never sits in memory whole. A source that cannot be read (corrupt, truncated, not a
video) is skipped with a warning naming it; the others are still read.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch

from ..techniques.errors import InputError
from ..techniques.training_clips import (
    IMAGE_SUFFIXES, VIDEO_SUFFIXES, TrainingClipSettings, cover_crop, kept_source_frames,
)


@dataclass
class Clip:
    source: Path
    start: int  # first frame, counted in kept (resampled) frames
    fps: float
    pixels: torch.Tensor  # (T, 3, H, W) in [-1, 1]


def find_sources(data_dir) -> list[Path]:
    """Video files and frame folders directly in `data_dir`, sorted by name."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"data folder not found: {data_dir}")
    sources = [p for p in sorted(data_dir.iterdir())
               if (p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES) or (p.is_dir() and _images(p))]
    if not sources:
        raise InputError(f"{data_dir} holds no videos ({', '.join(VIDEO_SUFFIXES)}) and no folders of frames "
                         f"({', '.join(IMAGE_SUFFIXES)})")
    return sources


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def to_pixels(image, settings: TrainingClipSettings) -> torch.Tensor:
    """A PIL image -> (3, H, W) in [-1, 1] at the training size (cover, centre crop)."""
    from PIL import Image

    image = image.convert("RGB")
    w, h, box = cover_crop(image.width, image.height, settings.width, settings.height)
    image = image.resize((w, h), Image.Resampling.LANCZOS).crop(box)
    data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).reshape(settings.height, settings.width, 3)
    return data.permute(2, 0, 1).float() / 127.5 - 1.0


def _video_frames(path: Path) -> tuple[float, Iterator]:
    import av

    container = av.open(str(path))
    stream = container.streams.video[0]
    rate = float(stream.average_rate or stream.guessed_rate or 0)
    if rate <= 0:
        container.close()
        raise ValueError("the video stream has no frame rate")

    def frames():
        try:
            for frame in container.decode(stream):
                yield frame.to_image()
        finally:
            container.close()

    return rate, frames()


def _folder_frames(path: Path, settings: TrainingClipSettings) -> tuple[float, Iterator]:
    from PIL import Image

    def frames():
        for image_path in _images(path):
            with Image.open(image_path) as image:
                image.load()
                yield image

    return settings.folder_fps, frames()


def source_clips(source: Path, settings: TrainingClipSettings) -> Iterator[Clip]:
    """The clips of one source, streamed (raises what the reader raises; `iter_clips` catches it)."""
    rate, frames = _video_frames(source) if source.is_file() else _folder_frames(source, settings)
    fps = settings.fps or rate
    wanted = kept_source_frames(rate, settings.fps)
    next_index = next(wanted)
    buffer: list[torch.Tensor] = []  # kept frames from `next_start` on
    kept, next_start = 0, 0
    for index, image in enumerate(frames):
        while index == next_index:  # a target rate above the source's repeats a frame
            if kept >= next_start:
                buffer.append(to_pixels(image, settings))
            kept += 1
            next_index = next(wanted)
            if len(buffer) == settings.clip_frames:
                yield Clip(source, next_start, fps, torch.stack(buffer))
                next_start += settings.clip_stride
                buffer = buffer[settings.clip_stride:]  # empty when the stride is longer than a clip


def iter_clips(data_dir, settings: TrainingClipSettings, warn=warnings.warn) -> Iterator[Clip]:
    """Every clip of every source; a source that fails is skipped with a warning naming it, and a
    source too short for one clip is named too (its clips so far are kept)."""
    for source in find_sources(data_dir):
        count = 0
        try:
            for clip in source_clips(source, settings):
                count += 1
                yield clip
        except Exception as error:  # any unreadable source: skipped, never the run
            warn(f"skipping {source}: cannot read it ({type(error).__name__}: {error})")
            continue
        if count == 0:
            warn(f"skipping {source}: shorter than one clip ({settings.clip_frames} frames at "
                 f"{settings.fps or 'its own'} fps)")
