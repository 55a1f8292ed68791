"""Bidirectional keyframe sampling on a diffusers SVD pipeline: the UNet call runs twice and fuses.

Within one pipeline call the UNet's forward is wrapped (`unet_forward.wrapped_forward`, which keeps
accelerate's offload hooks): each call runs the forward pass as given (the hint pre-hook has put
each frame's forward hint in), then the backward pass on the frames reversed, with each frame's
backward hint in the conditional half's image-latent channels, the backward CLIP embedding (B's
image for a gap: the UNet takes one embedding per video, so one per pass is what the host allows)
and, when set, reverse_motion_bucket_id in `added_time_ids`. The two outputs are fused per frame
(`techniques/bidirectional.py`). SVD's EDM output F gives x0 = c_skip*x + c_out*F with the same
c_skip, c_out for both passes, so fusing F with weights summing to 1 is fusing x0: the scheduler sees
one denoiser, whatever it is (Euler, ancestral, Heun, DPM++).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from ..techniques.bidirectional import Bidirectional, backward_weights, fuse, mirrored_sources
from ..techniques.keyframe_interpolation import hint_sources
from .unet_forward import wrapped_forward

MOTION_BUCKET_COLUMN = 1  # added_time_ids = [fps - 1, motion_bucket_id, noise_aug_strength]


@dataclass(frozen=True)
class BackwardClips:
    """The backward pass of one pipeline call of B same-length clips starting on keyframes."""

    settings: Bidirectional
    hints: torch.Tensor  # (B, F, C, h, w) each frame's backward hint, in frame order
    images: list  # B CLIP images (PIL)
    frames_between: int


@dataclass(frozen=True)
class BackwardPlan:
    """A stage's backward pass: per-frame hints and CLIP images, cut into clips per pipeline call."""

    settings: Bidirectional
    hints: torch.Tensor  # (T, C, h, w)
    images: list  # per frame: the PIL image of its backward hint's keyframe (or the fixed clip image)
    frames_between: int

    @classmethod
    def of(cls, settings: Bidirectional, keyframes: list, hint_latents: torch.Tensor, frames_between: int, hint: str,
           clip_image=None):
        sources = mirrored_sources(hint_sources(len(keyframes), frames_between, hint), len(keyframes))
        hints = hint_latents.index_select(0, sources.to(hint_latents.device))
        images = [clip_image if clip_image is not None else keyframes[int(s)] for s in sources]
        return cls(settings, hints, images, frames_between)

    def clips(self, ranges: list[tuple[int, int]]) -> BackwardClips:
        """The backward pass for clips [start, end): a clip's CLIP image is its last frame's (B for a gap)."""
        return BackwardClips(self.settings, torch.stack([self.hints[a:b] for a, b in ranges]),
                             [self.images[b - 1] for _, b in ranges], self.frames_between)


def backward_plan(sampling, keyframes: list, hint_latents: torch.Tensor, settings, clip_image=None):
    """The stage's backward pass for `sampling` (None for forward sampling)."""
    bidirectional = sampling.bidirectional
    if bidirectional is None:
        return None
    return BackwardPlan.of(bidirectional, keyframes, hint_latents, settings.frames_between, settings.hint, clip_image)


@contextlib.contextmanager
def bidirectional_unet(pipe, clips: BackwardClips | None):
    """Within: every UNet call of `pipe` is the fused forward + backward pair (nothing when clips is None)."""
    if clips is None:
        yield
        return
    unet = pipe.unet
    with torch.no_grad():
        embeds = pipe._encode_image(clips.images, pipe._execution_device, 1, False)  # (B, 1, D)
    videos, frames, channels = clips.hints.shape[:3]
    weights = backward_weights(frames, clips.frames_between, clips.settings.backward_share)

    def forward(real, sample, timestep, encoder_hidden_states, added_time_ids, *args, return_dict=True, **kwargs):
        out = real(sample, timestep, encoder_hidden_states, added_time_ids, *args, return_dict=False, **kwargs)[0]
        cond = slice(videos, None) if sample.shape[0] == 2 * videos else slice(None)
        reverse_sample = sample.clone()
        reverse_sample[cond, :, -channels:] = clips.hints.to(device=sample.device, dtype=sample.dtype)
        reverse_embeds = encoder_hidden_states.clone()
        reverse_embeds[cond] = embeds.to(device=reverse_embeds.device, dtype=reverse_embeds.dtype)
        reverse_ids = added_time_ids
        if clips.settings.reverse_motion_bucket_id is not None:
            reverse_ids = added_time_ids.clone()
            reverse_ids[:, MOTION_BUCKET_COLUMN] = clips.settings.reverse_motion_bucket_id
        back = real(reverse_sample.flip(1), timestep, reverse_embeds, reverse_ids, *args, return_dict=False,
                    **kwargs)[0]
        rows = out.shape[0]
        fused = fuse(out.flatten(0, 1), back.flatten(0, 1), weights.repeat(rows), frames).unflatten(0, (rows, frames))
        if not return_dict:
            return (fused,)
        from diffusers.models.unets.unet_spatio_temporal_condition import UNetSpatioTemporalConditionOutput

        return UNetSpatioTemporalConditionOutput(sample=fused)

    with wrapped_forward(unet, forward):
        yield
