"""Plan and blend overlapping temporal chunks for decoding long videos with bounded memory.

SVD's temporal VAE decoder mixes neighbouring frames (Conv3d (3,1,1) in every res block) and
normalises over the frames of each call, so decoding chunks independently leaves seams. Each
chunk is therefore decoded with `overlap` extra frames of context on each side that are thrown
away, and neighbouring chunks are cross-faded over a few frames around the seam.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable

import torch

from .errors import InputError


@dataclass(frozen=True)
class Chunk:
    """Decode latent frames [start, end); frames [keep_start, keep_end) are this chunk's own."""

    start: int
    end: int
    keep_start: int
    keep_end: int


@dataclass(frozen=True)
class ChunkSettings:
    """How a video is cut for decoding; checks that do not depend on the video run on creation."""

    chunk_frames: int = 16
    overlap_frames: int = 4
    crossfade_frames: int = 4

    def __post_init__(self):
        if self.chunk_frames < 1:
            raise InputError(f"chunk_frames must be >= 1; got {self.chunk_frames}")
        if self.overlap_frames < 0:
            raise InputError(f"overlap_frames must be >= 0; got {self.overlap_frames}")
        if 2 * self.overlap_frames >= self.chunk_frames:
            raise InputError(
                f"overlap_frames*2 must be < chunk_frames (each chunk keeps chunk - 2*overlap frames); "
                f"got chunk_frames={self.chunk_frames}, overlap_frames={self.overlap_frames}"
            )
        if self.crossfade_frames < 0 or self.crossfade_frames > 2 * self.overlap_frames:
            raise InputError(
                f"crossfade_frames must be between 0 and 2*overlap_frames ({2 * self.overlap_frames}): the fade needs "
                f"both chunks decoded there; got {self.crossfade_frames}"
            )

    @property
    def smallest_chunk(self) -> int:
        """The shortest chunk that still keeps a frame of its own with this overlap."""
        return 2 * self.overlap_frames + 1

    def halved(self) -> "ChunkSettings | None":
        """Half the chunk (not below `smallest_chunk`), for a retry after running out of memory; None at the floor."""
        if self.chunk_frames <= self.smallest_chunk:
            return None
        return replace(self, chunk_frames=max(self.smallest_chunk, self.chunk_frames // 2))


def require_frames(num_frames: int) -> None:
    if num_frames < 1:
        raise InputError(f"the latent has no frames (got {num_frames}); chunked decoding needs at least 1")


def plan_chunks(num_frames: int, settings: ChunkSettings) -> list[Chunk]:
    """Windows of at most `chunk_frames`; every frame is kept by exactly one window.

    Inner seams get `overlap_frames` of context on both sides; the first and last windows start
    and end at the video's ends and use their whole length.
    """
    require_frames(num_frames)
    chunks: list[Chunk] = []
    keep_start = 0
    while True:
        start = max(0, keep_start - settings.overlap_frames)
        end = min(num_frames, start + settings.chunk_frames)
        keep_end = end if end == num_frames else end - settings.overlap_frames
        chunks.append(Chunk(start, end, keep_start, keep_end))
        if end == num_frames:
            return chunks
        keep_start = keep_end


def chunk_weights(chunk: Chunk, num_frames: int, crossfade_frames: int) -> torch.Tensor:
    """Weights over the chunk's decoded frames: 1 on its kept frames, linear ramps across seams.

    At a seam b the ramp covers frames [b - f//2, b - f//2 + f) with weights (j+0.5)/f for the
    chunk on the right and the complement for the chunk on the left, so they sum to one.
    """
    t = torch.arange(chunk.start, chunk.end, dtype=torch.float64)
    f = crossfade_frames
    if f == 0:
        return ((t >= chunk.keep_start) & (t < chunk.keep_end)).to(torch.float64)
    rising = torch.ones_like(t)
    if chunk.keep_start > 0:
        rising = ((t - (chunk.keep_start - f // 2) + 0.5) / f).clamp(0.0, 1.0)
    falling = torch.ones_like(t)
    if chunk.keep_end < num_frames:
        falling = 1.0 - ((t - (chunk.keep_end - f // 2) + 0.5) / f).clamp(0.0, 1.0)
    return torch.minimum(rising, falling)


def decode_in_chunks(
    latents: torch.Tensor,
    decode: Callable[[torch.Tensor], torch.Tensor],
    settings: ChunkSettings,
    on_chunk_done: Callable[[int, int], None] | None = None,
    before_chunk: Callable[[], None] | None = None,
    map_chunks: Callable[[int, Callable[[int], torch.Tensor]], Iterable[torch.Tensor]] | None = None,
) -> torch.Tensor:
    """Decode `latents` (T, ...) chunk by chunk along dim 0 and blend the pixels.

    `decode(latent_chunk) -> pixels (n, ...)` decodes one chunk as one video. Only one chunk is
    decoded at a time; the output is accumulated on the device/dtype `decode` returns.
    `before_chunk` runs before each decode (cancellation), `on_chunk_done(i, n)` after (progress).
    `map_chunks(n, decode_chunk)` may decode the n chunks elsewhere (e.g. split over processes) and
    return their pixels in order; the blend is then the same arithmetic in the same order.
    """
    num_frames = latents.shape[0]
    chunks = plan_chunks(num_frames, settings)

    def decode_chunk(index: int) -> torch.Tensor:
        chunk = chunks[index]
        if before_chunk is not None:
            before_chunk()
        pixels = decode(latents[chunk.start:chunk.end])
        if pixels.shape[0] != chunk.end - chunk.start:
            raise RuntimeError(f"decoder returned {pixels.shape[0]} frames for a chunk of {chunk.end - chunk.start}")
        if on_chunk_done is not None:
            on_chunk_done(index, len(chunks))
        return pixels

    decoded = (decode_chunk(index) for index in range(len(chunks))) if map_chunks is None else \
        map_chunks(len(chunks), decode_chunk)
    out = None
    weight_sum = None
    for chunk, pixels in zip(chunks, decoded):
        if out is None:
            out = torch.zeros((num_frames,) + tuple(pixels.shape[1:]), dtype=torch.float32, device=pixels.device)
            weight_sum = torch.zeros(num_frames, dtype=torch.float64)
        weights = chunk_weights(chunk, num_frames, settings.crossfade_frames)
        used = weights > 0
        rows = torch.arange(chunk.start, chunk.end)[used]
        w = weights[used].to(torch.float32).to(pixels.device).view(-1, *([1] * (pixels.dim() - 1)))
        out[rows] += (pixels[used].to(torch.float32) * w).to(out.device)
        weight_sum[rows] += weights[used]
        del pixels
    norm = weight_sum.to(torch.float32).to(out.device).view(-1, *([1] * (out.dim() - 1)))
    return out / norm
