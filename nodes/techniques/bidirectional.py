"""Bidirectional (time-reversed) keyframe sampling: a forward and a backward pass fused per model call.

For a gap [A .. B] the forward pass sees the frames in order, hinted with A (SVD's concat input);
the backward pass sees the same noisy frames reversed, hinted with B, so that B is the frame the
stock model starts from. Both passes estimate the clean video at the same noise level; the
estimates are fused frame by frame, the backward one weighted by how far the frame is from A:

    x0 = (1 - w_t) * x0_forward + w_t * flip(x0_backward),  w_t = (t - a) / (b - a) within each gap.

Why this fusion: it is Time Reversal Fusion's linear blend (Feng et al., "Explorative Inbetweening
of Time and Space", ECCV 2024; github HavenFeng/time_reversal, `get_blend_weights`, weight_type
"linear"), applied to the denoised estimate instead of the scheduler step (for Euler the two are the
same update). A per-call blend of two estimates at one (x, sigma) is again a denoiser, so every
sampler (ancestral, SDE, multistep, adaptive, second order) and every pin path work unchanged. ViBiD's
alternative (ViBiDSampler, ICLR 2025: one forward step, re-noise, one backward step) changes the
denoiser from call to call, which multistep and second-order samplers cannot account for, and needs a
sampler of its own. Cost: two model evaluations per call.

Keyframe frames that end one gap and start the next get w = 1/2 (the mean of the two gaps'
ramps); the clip's first frame gets 0 and its last 1. The backward pass's hint map is the forward
map mirrored: the keyframe a frame sees looking back in reversed time is the next keyframe.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import InputError

DIRECTIONS = ("forward", "bidirectional")


@dataclass(frozen=True)
class Bidirectional:
    """How the backward pass is run and weighted.

    reverse_motion_bucket_id: the backward pass's motion_bucket_id; None = the forward one (SVD's
    bucket is an amount of motion with no direction). backward_share scales the ramp: 0 = the
    forward pass alone (for checks), 1 = the linear blend.
    """

    reverse_motion_bucket_id: int | None = None
    backward_share: float = 1.0

    def __post_init__(self):
        check_reverse_motion_bucket_id(self.reverse_motion_bucket_id)
        if not 0.0 <= self.backward_share <= 1.0:
            raise InputError(f"backward_share must be within [0, 1]; got {self.backward_share}")


def check_direction(direction: str, reverse_motion_bucket_id: int | None = None) -> None:
    if direction not in DIRECTIONS:
        raise InputError(f"direction must be one of {', '.join(DIRECTIONS)}; got {direction!r}")
    check_reverse_motion_bucket_id(reverse_motion_bucket_id)
    if direction == "forward" and reverse_motion_bucket_id is not None:
        raise InputError(f"reverse_motion_bucket_id ({reverse_motion_bucket_id}) needs direction bidirectional "
                         f"(there is no backward pass with direction forward)")


def check_reverse_motion_bucket_id(value) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"reverse_motion_bucket_id must be None (= motion_bucket_id) or an integer >= 0; got {value!r}")


def mirrored_sources(sources: torch.Tensor, num_keyframes: int) -> torch.Tensor:
    """The backward pass's hint map (in frame order) from the forward one: src_b[t] = K-1 - src_f[T-1-t].

    hold -> the keyframe at or after each frame; nearest -> ties go to the later keyframe;
    first -> the last keyframe everywhere.
    """
    return (num_keyframes - 1) - sources.flip(0)


def backward_weights(clip_frames: int, frames_between: int, backward_share: float = 1.0) -> torch.Tensor:
    """(clip_frames,) weight of the backward estimate per frame of a clip starting on a keyframe."""
    if frames_between < 1 or clip_frames < 2 or (clip_frames - 1) % frames_between:
        raise InputError(f"a clip of {clip_frames} frames is not (keyframes-1)*{frames_between}+1 frames")
    frames = torch.arange(clip_frames, dtype=torch.float64)
    weights = (frames % frames_between) / frames_between
    weights[frames_between:-1:frames_between] = 0.5  # keyframes between two gaps
    weights[-1] = 1.0
    return (weights * backward_share).float()


def flip_clips(batch: torch.Tensor, clip_frames: int) -> torch.Tensor:
    """Reverse the frame order within each clip of a (clips*clip_frames, ...) batch."""
    if batch.shape[0] % clip_frames:
        raise InputError(f"a batch of {batch.shape[0]} frames is not whole clips of {clip_frames} frames")
    return batch.unflatten(0, (-1, clip_frames)).flip(1).flatten(0, 1)


def fuse(forward: torch.Tensor, backward_reversed: torch.Tensor, weights: torch.Tensor, clip_frames: int) -> torch.Tensor:
    """(1-w)*forward + w*backward, the backward estimate (computed on reversed clips) put back in order.

    weights: one per frame of the batch (batch,), or broadcastable to it.
    """
    backward = flip_clips(backward_reversed, clip_frames)
    w = weights.reshape(-1, *([1] * (forward.ndim - 1))).to(device=forward.device, dtype=forward.dtype)
    return forward * (1 - w) + backward * w
