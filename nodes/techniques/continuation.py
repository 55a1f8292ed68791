"""Video continuation: extend a clip by a new clip that starts from the last frames of the old one.

The new clip has `overlap_frames` (m) + `new_frames` (n) frames. Its first m frames cover the last m
frames of the previous clip (the history); joining drops them, so every continuation adds n frames.
Three ways to make the new clip agree with its history (compared in the long-video write-up this
pack follows; injection was the most stable):
- injection:      the m overlap frames are the known frames, held through sampling (a noise mask);
- history_cfg:    the known frames reach the model only through SVD's per-frame concat latent, and a
                  separate guidance term adds `history_scale * (D(with history) - D(without))`;
- reconstruction: reconstruction guidance (Ho et al. 2022, Video Diffusion Models): the new frames'
                  denoised estimate is moved by `-(w/2) grad_{x_new} ||D(x)[overlap] - known||^2`, a
                  gradient through the whole denoiser at every step; the overlap's estimate is replaced
                  by the known frames.
The concat hints (`hints`): `hold` gives overlap frame i known frame i and every new frame the last
known frame (the init image of plain last-frame chaining); `first` / `last` give every frame of the
clip one image, the overlap's first / last frame. SVD was trained with one concat image for every
frame, so `first` and `last` are in its training distribution and `hold` is not. `first` is the default:
on the quality toy it kept the motion (0.50 px trajectory error at 4x the trained length) where
`hold` lost it (3.78 px, no better than naive extension; tests/quality/QUALITY.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import InputError

METHODS = ("injection", "history_cfg", "reconstruction")
HINTS = ("hold", "first", "last")


@dataclass(frozen=True)
class ContinuationSettings:
    """What one continuation is asked for; the previous clip comes with the call."""

    overlap_frames: int = 4
    new_frames: int = 21
    method: str = "injection"
    history_scale: float = 1.0
    guidance_weight: float = 1.0
    hints: str = "first"  # measured best on the quality toy (tests/quality/QUALITY.md): 0.50 px vs hold 3.78 px at T = 32

    def __post_init__(self):
        if self.overlap_frames < 1:
            raise InputError(f"overlap_frames must be >= 1 (frames of the previous clip the new one starts from); "
                             f"got {self.overlap_frames}")
        if self.new_frames < 1:
            raise InputError(f"new_frames must be >= 1; got {self.new_frames}")
        if self.method not in METHODS:
            raise InputError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}")
        if self.history_scale < 0:
            raise InputError(f"history_scale must be >= 0 (0 = no history term); got {self.history_scale}")
        if self.guidance_weight < 0:
            raise InputError(f"guidance_weight must be >= 0; got {self.guidance_weight}")
        if self.hints not in HINTS:
            raise InputError(f"hints must be one of {', '.join(HINTS)}; got {self.hints!r}")

    @property
    def clip_frames(self) -> int:
        """Frames the new clip samples: the overlap, then the new ones."""
        return self.overlap_frames + self.new_frames

    @property
    def pins_overlap(self) -> bool:
        return self.method == "injection"


@dataclass(frozen=True)
class JoinSettings:
    """How a sampled continuation is appended to the video so far."""

    crossfade: bool = True


def require_history(previous_frames: int, overlap_frames: int, input_name: str = "previous clip") -> None:
    """The previous clip must be longer than the overlap (the overlap is part of it, not all of it)."""
    if overlap_frames >= previous_frames:
        raise InputError(f"overlap_frames ({overlap_frames}) must be smaller than the {input_name}'s frame count "
                         f"({previous_frames}); lower overlap_frames or continue a longer clip")


def history(previous: torch.Tensor, overlap_frames: int, frame_dim: int = 0) -> torch.Tensor:
    """The last `overlap_frames` frames of `previous` (the frames the new clip starts from)."""
    require_history(previous.shape[frame_dim], overlap_frames)
    return previous.narrow(frame_dim, previous.shape[frame_dim] - overlap_frames, overlap_frames)


def hold_hints(known: torch.Tensor, new_frames: int, frame_dim: int = 0) -> torch.Tensor:
    """Per-frame concat hints for the m+n clip: known frame i for overlap frame i, the last known frame
    for every new frame."""
    last = known.narrow(frame_dim, known.shape[frame_dim] - 1, 1)
    return torch.cat([known, last.repeat_interleave(new_frames, dim=frame_dim)], dim=frame_dim)


def one_frame_hints(known: torch.Tensor, new_frames: int, index: int, frame_dim: int = 0) -> torch.Tensor:
    """Per-frame concat hints that are one known frame (`index`) for every frame of the m+n clip."""
    one = known.narrow(frame_dim, index % known.shape[frame_dim], 1)
    return one.repeat_interleave(known.shape[frame_dim] + new_frames, dim=frame_dim)


def continuation_hints(known: torch.Tensor, new_frames: int, hints: str = "hold", frame_dim: int = 0) -> torch.Tensor:
    """The clip's per-frame concat hints for a `hints` choice (HINTS): hold, first or last."""
    if hints == "hold":
        return hold_hints(known, new_frames, frame_dim)
    if hints not in HINTS:
        raise InputError(f"hints must be one of {', '.join(HINTS)}; got {hints!r}")
    return one_frame_hints(known, new_frames, 0 if hints == "first" else -1, frame_dim)


def last_frame_hints(known: torch.Tensor, new_frames: int, frame_dim: int = 0) -> torch.Tensor:
    """Per-frame concat hints without history: the last known frame everywhere (plain last-frame chaining)."""
    last = known.narrow(frame_dim, known.shape[frame_dim] - 1, 1)
    return last.repeat_interleave(known.shape[frame_dim] + new_frames, dim=frame_dim)


def overlap_latent(known: torch.Tensor, new_frames: int) -> torch.Tensor:
    """(m+n, C, h, w): the known frames first, zeros for the frames to generate."""
    return torch.cat([known, known.new_zeros((new_frames, *known.shape[1:]))])


def overlap_mask(overlap_frames: int, new_frames: int, height: int, width: int) -> torch.Tensor:
    """(m+n, 1, h, w) denoise mask with exactly one mask per frame: 0 = keep (overlap), 1 = generate."""
    mask = torch.ones(overlap_frames + new_frames, 1, height, width)
    mask[:overlap_frames] = 0.0
    return mask


def with_history_guidance(denoised: torch.Tensor, cond_denoised: torch.Tensor, history_denoised: torch.Tensor,
                          history_scale: float) -> torch.Tensor:
    """The guided prediction plus the history term: conditional with history minus conditional without."""
    return denoised + history_scale * (history_denoised - cond_denoised)


def reconstruction_guided(denoised: torch.Tensor, x: torch.Tensor, known: torch.Tensor, guidance_weight: float,
                          frame_dim: int = 0) -> torch.Tensor:
    """Ho et al.'s reconstruction guidance: the known frames for the overlap, and for the new frames
    `denoised[new] - (w/2) grad_{x[new]} ||denoised[overlap] - known||^2`.

    `denoised` must have been computed from `x` with gradients on. The overlap is the first
    `known.shape[frame_dim]` frames. Only the new frames are corrected: correcting the overlap's
    estimate too would put it at `known + (1 - w)(denoised[overlap] - known)` where the denoiser is
    near the identity (an overshoot for every w > 1); the paper replaces it by the known frames. In the
    variance-exploding form (x = x0 + sigma*eps, which both ComfyUI and diffusers' Euler sample in)
    the weight is the paper's `w_r * alpha_t` with alpha_t = 1.
    """
    m = known.shape[frame_dim]
    overlap = denoised.narrow(frame_dim, 0, m)
    new = denoised.narrow(frame_dim, m, denoised.shape[frame_dim] - m)
    if guidance_weight:
        error = (overlap - known.to(overlap)).pow(2).sum()
        (gradient,) = torch.autograd.grad(error, x)
        new = new - (guidance_weight / 2) * gradient.narrow(frame_dim, m, new.shape[frame_dim]).to(new)
    return torch.cat([known.to(overlap).expand_as(overlap), new], dim=frame_dim).detach()


def crossfade_weights(overlap_frames: int) -> torch.Tensor:
    """Weight of the new clip on each overlap frame: (i+1)/(m+1), rising from the old clip to the new."""
    return torch.arange(1, overlap_frames + 1, dtype=torch.float32) / (overlap_frames + 1)


def join_clips(video: torch.Tensor, clip: torch.Tensor, overlap_frames: int, crossfade: bool = False,
               frame_dim: int = 0) -> torch.Tensor:
    """The video followed by the clip's new frames: len(video) + len(clip) - overlap frames.

    The clip's first `overlap_frames` frames cover the video's last ones. Without a cross-fade the
    video keeps its own frames there; with one, they blend from the video's to the clip's.
    """
    if video.shape[frame_dim] < overlap_frames:
        raise InputError(f"video has {video.shape[frame_dim]} frames, fewer than the clip's {overlap_frames} overlap "
                         f"frames; connect the video the clip continues")
    if clip.shape[frame_dim] <= overlap_frames:
        raise InputError(f"clip has {clip.shape[frame_dim]} frames, no more than its {overlap_frames} overlap frames")
    other = [d for d in range(video.ndim) if d != frame_dim]
    if video.ndim != clip.ndim or [video.shape[d] for d in other] != [clip.shape[d] for d in other]:
        raise InputError(f"clip frames are {tuple(clip.shape)} but the video's are {tuple(video.shape)}; both must be "
                         f"the same size (the clip continues that video)")
    kept = video.shape[frame_dim] - overlap_frames
    parts = [video.narrow(frame_dim, 0, kept)]
    old = video.narrow(frame_dim, kept, overlap_frames)
    new = clip.narrow(frame_dim, 0, overlap_frames)
    if crossfade and overlap_frames:
        shape = [1] * video.ndim
        shape[frame_dim] = overlap_frames
        weight = crossfade_weights(overlap_frames).view(shape).to(device=new.device, dtype=new.dtype)
        parts.append(old.to(new) * (1 - weight) + new * weight)
    else:
        parts.append(old.to(clip))
    parts.append(clip.narrow(frame_dim, overlap_frames, clip.shape[frame_dim] - overlap_frames))
    return torch.cat([p.to(clip) for p in parts], dim=frame_dim)
