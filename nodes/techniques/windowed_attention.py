"""FreeNoise-style temporal windows: plan, fusion weights, and weighted fusion of window outputs.

The temporal layers see at most `window` frames at a time; windows start every `stride` frames and
a tail window is aligned to the end, so every frame is covered for any (T, window, stride). Window
outputs are fused per frame with weights normalised over the windows that cover the frame:
`O_t = sum_w w(t - a_w) O_t^w / sum_w w(t - a_w)` (the reference code leaves tail frames empty;
diffusers normalises its tail window with the wrong slice).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import torch

from .errors import InputError

FUSIONS = ("pyramid", "flat", "delayed_reverse_sawtooth")
WINDOW_MODES = ("block", "banded")
# What SVD's temporal resblocks normalise over in `block` mode: the whole video (stock) or each window.
RESBLOCK_NORMS = ("video", "window")


@dataclass(frozen=True)
class WindowSettings:
    window_frames: int = 25
    stride_frames: int = 4
    fusion: str = "pyramid"
    mode: str = "block"
    resblock_norm: str = "video"

    def __post_init__(self):
        validate_windows(self.window_frames, self.stride_frames)
        if self.resblock_norm not in RESBLOCK_NORMS:
            raise InputError(f"resblock_norm must be one of {', '.join(RESBLOCK_NORMS)}; got {self.resblock_norm!r}")
        if self.resblock_norm == "window" and self.mode != "block":
            raise InputError("resblock_norm=window needs mode=block (banded mode has no windows to normalise over)")
        if self.fusion not in FUSIONS:
            raise InputError(f"fusion must be one of {', '.join(FUSIONS)}; got {self.fusion!r}")
        if self.mode not in WINDOW_MODES:
            raise InputError(f"mode must be one of {', '.join(WINDOW_MODES)}; got {self.mode!r}")

    def applies_to(self, num_frames: int) -> bool:
        """Windowing only changes anything for videos longer than one window."""
        return num_frames > self.window_frames

    @property
    def windows_resblock_norms(self) -> bool:
        return self.mode == "block" and self.resblock_norm == "window"

    @property
    def band_radius(self) -> int:
        """`banded`: each frame attends to frames at most this far away (a window's half width)."""
        return self.window_frames // 2


def validate_windows(window_frames: int, stride_frames: int) -> None:
    if int(window_frames) != window_frames or window_frames < 1:
        raise InputError(f"window_frames must be a whole number >= 1; got {window_frames!r}")
    if int(stride_frames) != stride_frames or not 1 <= stride_frames <= window_frames:
        raise InputError(
            f"stride_frames must be between 1 and window_frames ({window_frames}), or frames would be skipped; "
            f"got {stride_frames!r}"
        )


def plan_windows(num_frames: int, window_frames: int, stride_frames: int) -> list[tuple[int, int]]:
    """[(start, end)] windows of `window_frames` every `stride_frames`, the last one ending at T."""
    validate_windows(window_frames, stride_frames)
    if num_frames <= window_frames:
        return [(0, num_frames)]
    starts = list(range(0, num_frames - window_frames + 1, stride_frames))
    if starts[-1] + window_frames < num_frames:
        starts.append(num_frames - window_frames)
    return [(s, s + window_frames) for s in starts]


def fusion_weights(length: int, fusion: str) -> torch.Tensor:
    """Per-position weights inside one window (float64), for odd and even lengths."""
    if fusion == "flat":
        return torch.ones(length, dtype=torch.float64)
    if fusion == "pyramid":  # 1, 2, ..., peak, ..., 2, 1
        j = torch.arange(length, dtype=torch.float64)
        return torch.minimum(j + 1, length - j)
    if fusion == "delayed_reverse_sawtooth":  # ~0 for the first half, then a ramp down from the middle
        mid = (length + 1) // 2
        head = [0.01] * (mid - 1) + ([float(mid)] if length % 2 == 0 else [])
        return torch.tensor(head + [float(v) for v in range(mid, 0, -1)], dtype=torch.float64)
    raise InputError(f"fusion must be one of {', '.join(FUSIONS)}; got {fusion!r}")


@functools.lru_cache(maxsize=128)
def fusion_plan(num_frames: int, windows: tuple[tuple[int, int], ...], fusion: str, device: torch.device,
                dtype: torch.dtype) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Per-window weights and the per-frame reciprocal of their sum, in `dtype` on `device`.

    Cached per video length, plan and device: the sampler calls the temporal layers with the same
    shapes at every step, so after the first call no step builds or copies these again.
    """
    weight_sum = torch.zeros(num_frames, dtype=torch.float64)
    weights = []
    for start, end in windows:
        w = fusion_weights(end - start, fusion)
        weight_sum[start:end] += w
        weights.append(w.to(dtype=dtype).to(device))
    covered = set().union(*(range(start, end) for start, end in windows))
    if len(covered) < num_frames:  # checked on the plan, not on a tensor (works under fake tensors too)
        raise RuntimeError("windows do not cover every frame")  # guarded by plan_windows
    return tuple(weights), (1.0 / weight_sum).to(dtype=dtype).to(device)


def fuse_windows(
    x: torch.Tensor,
    run_window: Callable[[torch.Tensor, int, int], torch.Tensor],
    windows: list[tuple[int, int]],
    fusion: str,
    dim: int,
) -> torch.Tensor:
    """Run `run_window(x[window], start, end)` per window along `dim` and fuse the results.

    The weighted sum is accumulated in float32 whatever the activations' dtype: a frame's weights
    add up to tens (43 at T=65, L=25, S=4, pyramid), which overflows float16 on large activations.
    """
    num_frames = x.shape[dim]
    accumulate = torch.promote_types(x.dtype, torch.float32)
    weights, inverse_sum = fusion_plan(num_frames, tuple(windows), fusion, x.device, accumulate)
    out = None
    shape = [1] * x.dim()
    for (start, end), w in zip(windows, weights):
        y = run_window(x.narrow(dim, start, end - start), start, end)
        shape[dim] = end - start
        if out is None:
            out = torch.zeros(x.shape[:dim] + (num_frames,) + y.shape[dim + 1:], dtype=accumulate, device=y.device)
        out.narrow(dim, start, end - start).add_(y.to(accumulate) * w.view(shape))
    shape[dim] = num_frames
    return (out * inverse_sum.view(shape)).to(y.dtype)


def run_block_windows(
    x: torch.Tensor,
    emb: torch.Tensor,
    num_frames: int,
    settings: WindowSettings,
    run_block: Callable[[torch.Tensor, int], torch.Tensor],
) -> torch.Tensor:
    """`block` mode on (b t) s c activations: `run_block(window_input, length)` per window, fused.

    Each window gets the frame embedding of positions 0..length-1 (`emb`, as in training), the
    outputs are fused with `settings.fusion`. Shared by the ComfyUI and diffusers patches, which
    differ only in how they call the temporal block.
    """
    batch_frames, tokens, channels = x.shape
    videos = x.reshape(batch_frames // num_frames, num_frames, tokens, channels)

    def run_window(frames: torch.Tensor, start: int, end: int) -> torch.Tensor:
        length = end - start
        window_input = (frames + emb[:length]).reshape(-1, tokens, channels)
        return run_block(window_input, length).reshape(frames.shape)

    plan = plan_windows(num_frames, settings.window_frames, settings.stride_frames)
    return fuse_windows(videos, run_window, plan, settings.fusion, dim=1).reshape(batch_frames, tokens, channels)


def band_mask(num_frames: int, radius: int, device=None) -> torch.Tensor:
    """(T, T) boolean: True where |i - j| <= radius (frames allowed to attend to each other)."""
    i = torch.arange(num_frames, device=device)
    return (i[:, None] - i[None, :]).abs() <= radius


def banded_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, radius: int,
                     upcast: bool = False) -> torch.Tensor:
    """Self-attention over the frame axis of (N, T, heads*dim) tensors, limited to |i - j| <= radius."""
    n, frames, inner = q.shape
    dim = inner // heads
    dtype = q.dtype
    q, k, v = (t.reshape(n, frames, heads, dim).transpose(1, 2) for t in (q, k, v))
    if upcast:
        q, k, v = q.float(), k.float(), v.float()
    mask = band_mask(frames, radius, device=q.device)
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return out.transpose(1, 2).reshape(n, frames, inner).to(dtype)


def windowed_group_norm(x: torch.Tensor, group_norm: Callable[[torch.Tensor], torch.Tensor],
                        settings: WindowSettings) -> torch.Tensor:
    """`group_norm` of a (B, C, T, H, W) video with statistics per window, fused per frame as block mode
    fuses the temporal blocks' outputs (SVD's temporal resblocks otherwise normalise over all T frames)."""
    num_frames = x.shape[2]
    if not settings.applies_to(num_frames):
        return group_norm(x)
    plan = plan_windows(num_frames, settings.window_frames, settings.stride_frames)
    return fuse_windows(x, lambda frames, start, end: group_norm(frames), plan, settings.fusion, dim=2)
