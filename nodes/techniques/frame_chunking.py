"""Frame chunking: SVD's UNet on chunks of frames, its temporal layers on chunks of positions.

Sampling memory of a long video is dominated by the intermediate tensors of each layer (attention
q/k/v, the 8x-wide feed-forward, norm and activation outputs), all of which grow with the frame
count. Only a few places mix frames: the temporal self-attention, and each temporal resblock's
Conv3d (3,1,1) plus GroupNorm over (c, t, h, w). Everything else is per frame, so it can run on
`frames_per_chunk` frames at a time, and the temporal layers are independent per spatial position,
so they can run on all frames of a few positions at a time. Chunks hold as many elements as
`frames_per_chunk` whole frames, so every layer's working set is bounded by that one setting.

The temporal resblock's GroupNorm is exact: its statistics over all frames are gathered chunk by
chunk in two passes (mean, then the squared deviations), as a one-call GroupNorm computes them.

What cannot be chunked is the per-frame floor: the skip connections kept for the decoder half and
the residual stream between blocks (`unet_frame_floor`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .errors import InputError


@dataclass(frozen=True)
class FrameChunkingSettings:
    """`frames_per_chunk`: frames each per-frame layer processes at once (cond and uncond rows count
    separately), and the size, in frames' worth of elements, of each temporal chunk."""

    frames_per_chunk: int = 8

    def __post_init__(self):
        value = self.frames_per_chunk
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise InputError(f"frames_per_chunk must be a whole number >= 1; got {value!r}")

    def applies_to(self, rows: int) -> bool:
        """Calls with at most `frames_per_chunk` rows run the stock layers (bitwise stock output)."""
        return rows > self.frames_per_chunk


def chunk_ranges(total: int, size: int) -> list[tuple[int, int]]:
    """[(start, end)] covering range(total) in pieces of at most `size`."""
    size = max(1, int(size))
    return [(start, min(start + size, total)) for start in range(0, total, size)]


def positions_per_chunk(rows: int, positions: int, frames_per_chunk: int) -> int:
    """Spatial positions per temporal chunk, so a chunk of all `rows` holds about as many elements
    as `frames_per_chunk` whole frames."""
    return max(1, min(positions, (frames_per_chunk * positions) // max(rows, 1)))


def map_rows(function: Callable[..., torch.Tensor], x: torch.Tensor, size: int, *per_row,
             in_place: bool = False) -> torch.Tensor:
    """`function(x[a:b], *(t[a:b] for t in per_row))` over chunks of rows, stacked into one tensor.

    Tensors in `per_row` whose first dimension is not x's (broadcast ones) are passed whole. Only
    one chunk's intermediates exist at a time; the output is allocated once, from the first chunk.
    `in_place`: the output is written over x's storage when it has x's size and dtype. Rows a..b of
    a contiguous (N, ...) tensor occupy the same span of storage whatever the trailing shape, and a
    chunk's output is computed before it is written, so no row is overwritten before it is read; x
    must not be used afterwards. With gradients on, the chunks are concatenated instead: writing
    into a tensor autograd saved (x, or rows of it) would break the backward pass.
    """
    rows = x.shape[0]
    if torch.is_grad_enabled():
        return torch.cat([function(x[start:end], *_rows_of(per_row, rows, start, end))
                          for start, end in chunk_ranges(rows, size)])
    out = None
    for start, end in chunk_ranges(rows, size):
        y = function(x[start:end], *_rows_of(per_row, rows, start, end))
        if out is None:
            shape = (rows,) + tuple(y.shape[1:])
            fits = in_place and x.is_contiguous() and y.dtype == x.dtype and x.numel() == rows * y[0].numel()
            out = x.view(shape) if fits else y.new_empty(shape)
        out[start:end] = y
    return out


def _rows_of(per_row, rows: int, start: int, end: int) -> list:
    return [t[start:end] if torch.is_tensor(t) and t.ndim > 0 and t.shape[0] == rows else t for t in per_row]


def map_chunks(function: Callable[[torch.Tensor, int, int], torch.Tensor], x: torch.Tensor, dim: int,
               size: int) -> torch.Tensor:
    """x with each chunk `x.narrow(dim, a, b - a)` replaced by `function(that chunk, a, b)`.

    Without gradients the results are written into x (no second full-size tensor; `function` must
    read only its own chunk of x); with gradients they are concatenated into a new tensor, since
    autograd may have saved x's chunks for the backward pass.
    """
    ranges = chunk_ranges(x.shape[dim], size)
    if torch.is_grad_enabled():
        return torch.cat([function(x.narrow(dim, start, end - start), start, end) for start, end in ranges], dim=dim)
    for start, end in ranges:
        chunk = x.narrow(dim, start, end - start)
        chunk.copy_(function(chunk, start, end))
    return x


@dataclass(frozen=True)
class GroupStatistics:
    """Per (video, group) mean and 1/std of a GroupNorm input, shape (b, groups), in float32 or wider."""

    mean: torch.Tensor
    rstd: torch.Tensor


def _accumulate(dtype: torch.dtype) -> torch.dtype:
    return torch.promote_types(dtype, torch.float32)  # half precision accumulates in float32, as GroupNorm does


def _grouped(chunk: torch.Tensor, groups: int) -> torch.Tensor:
    return chunk.to(_accumulate(chunk.dtype)).reshape(chunk.shape[0], groups, -1)


def group_statistics(x: torch.Tensor, groups: int, eps: float, rows_per_chunk: int, dim: int = 3) -> GroupStatistics:
    """GroupNorm statistics of x (b, c, ...) over (c/groups, ...), gathered along `dim` in chunks.

    Two passes (sum, then squared deviations from the mean) in float32 or wider, as a one-call
    GroupNorm computes the biased variance, so the normalised chunks match it to rounding.
    """
    b, c = x.shape[:2]
    if c % groups:
        raise ValueError(f"{c} channels do not split into {groups} groups")
    count = x.numel() // (b * groups)
    ranges = chunk_ranges(x.shape[dim], rows_per_chunk)
    total = torch.zeros(b, groups, dtype=_accumulate(x.dtype), device=x.device)
    for start, end in ranges:
        total += _grouped(x.narrow(dim, start, end - start), groups).sum(-1)
    mean = total / count
    squares = torch.zeros_like(total)
    for start, end in ranges:
        squares += (_grouped(x.narrow(dim, start, end - start), groups) - mean[..., None]).square().sum(-1)
    return GroupStatistics(mean, torch.rsqrt(squares / count + eps))


def group_normalize(chunk: torch.Tensor, stats: GroupStatistics, weight, bias, groups: int) -> torch.Tensor:
    """GroupNorm of a chunk of a larger tensor with that tensor's statistics, in the chunk's dtype."""
    b, c = chunk.shape[:2]
    trailing = (1,) * (chunk.ndim - 2)
    compute = stats.mean.dtype
    y = (chunk.to(compute).reshape(b, groups, c // groups, *chunk.shape[2:]) - stats.mean.view(b, groups, 1, *trailing)) \
        * stats.rstd.view(b, groups, 1, *trailing)
    y = y.reshape(chunk.shape)
    if weight is not None:
        y = y * weight.to(compute).view(1, c, *trailing)
    if bias is not None:
        y = y + bias.to(compute).view(1, c, *trailing)
    return y.to(chunk.dtype)


@dataclass(frozen=True)
class TemporalResBlockSteps:
    """A temporal resblock as two normalised steps: h = first(norm1(x)); out = finish(x, second(norm2(h))).

    `first_norm` / `second_norm`: `normalize(chunk, stats) -> normalised chunk` with the norm's
    affine weights (the adapters fetch them the way their host does); `groups`, `eps` per norm.
    `first` holds activation, conv and the time embedding, `second` activation, dropout and conv,
    `finish` the skip connection and the spatial/temporal mix. Each works on a chunk of positions
    with all frames, which is exact because the convolution kernel is 1 in height and width.
    """

    first_norm: Callable[[torch.Tensor, GroupStatistics], torch.Tensor]
    first_groups: int
    first_eps: float
    first: Callable[[torch.Tensor], torch.Tensor]
    second_norm: Callable[[torch.Tensor, GroupStatistics], torch.Tensor]
    second_groups: int
    second_eps: float
    second: Callable[[torch.Tensor], torch.Tensor]
    finish: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def temporal_resblock_in_chunks(x: torch.Tensor, steps: TemporalResBlockSteps, rows_per_chunk: int) -> torch.Tensor:
    """Run `steps` on x (b, c, t, h, w) in chunks of `rows_per_chunk` rows of height.

    Two full-size tensors exist at once: x and one buffer that first holds h and is then
    overwritten, chunk by chunk, by the output (a chunk's output only reads that chunk's h).
    The buffer is laid out (b, t, c, h, w), so the caller's `b c t h w -> (b t) c h w` is free.
    With gradients on, h and the output are concatenated instead (autograd saves h's chunks).
    """
    b, _, t, height, width = x.shape
    ranges = chunk_ranges(height, rows_per_chunk)
    stats = group_statistics(x, steps.first_groups, steps.first_eps, rows_per_chunk)

    def first(start, end):
        return steps.first(steps.first_norm(x[:, :, :, start:end], stats))

    if torch.is_grad_enabled():
        h = torch.cat([first(start, end) for start, end in ranges], dim=3)
    else:
        h = None
        for start, end in ranges:
            chunk = first(start, end)
            if h is None:
                h = chunk.new_empty((b, t, chunk.shape[1], height, width)).permute(0, 2, 1, 3, 4)
            h[:, :, :, start:end] = chunk
        del chunk
    stats = group_statistics(h, steps.second_groups, steps.second_eps, rows_per_chunk)

    def second(h_chunk, start, end):
        return steps.finish(x[:, :, :, start:end], steps.second(steps.second_norm(h_chunk, stats)))

    return map_chunks(second, h, 3, rows_per_chunk)


def rows_per_height_chunk(rows: int, height: int, width: int, frames_per_chunk: int) -> int:
    """Rows of height per temporal chunk (all frames), about `frames_per_chunk` frames' worth."""
    return max(1, positions_per_chunk(rows, height * width, frames_per_chunk) // max(width, 1))


@dataclass(frozen=True)
class FrameFloor:
    """Per frame, in elements per latent pixel (multiply by h*w and the dtype size for bytes):
    what frame chunking cannot shrink, at the decoder's widest moment."""

    skips: float       # skip connections alive then (the decoder has popped the deeper ones)
    stream: float      # the residual stream there: the block input and its concatenation with a skip
    all_skips: float   # every skip connection, as held at the bottom of the UNet

    @property
    def total(self) -> float:
        return max(self.skips + self.stream, self.all_skips)


def unet_frame_floor(skips: list[tuple[int, int]], bottom_channels: int, decoder_channels: list[int]) -> FrameFloor:
    """The floor of a UNet from its skip tensors and its decoder.

    `skips`: (channels, downscale) of every skip tensor, in the order the encoder stores them.
    `bottom_channels`: channels of the middle block's output. `decoder_channels`: the stream's
    channels after each skip is consumed (one entry per skip, in the order they are popped). When
    a skip is concatenated, the stream h, the concatenation [h, skip] and every skip not yet
    consumed exist together.
    """
    if len(decoder_channels) != len(skips):
        raise ValueError(f"the decoder consumes {len(decoder_channels)} skips; the encoder stores {len(skips)}")
    remaining = list(skips)
    all_skips = sum(c / s ** 2 for c, s in remaining)
    channels, worst = bottom_channels, FrameFloor(0.0, 0.0, all_skips)
    for out_channels in decoder_channels:
        skip_channels, scale = remaining[-1]
        alive = sum(c / s ** 2 for c, s in remaining)
        stream = (2 * channels + skip_channels) / scale ** 2
        if alive + stream > worst.skips + worst.stream:
            worst = FrameFloor(alive, stream, all_skips)
        remaining.pop()
        channels = out_channels
    return worst
