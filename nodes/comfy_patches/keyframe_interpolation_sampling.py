"""Segment-mode sampling: each keyframe gap sampled as its own (k+1)-frame SVD clip.

Segment g covers frames [g*k, g*k+k]; its conditioning, latent and pin mask are the per-frame
slices of the whole-video ones, and its noise comes from `seed + g`, so a segment equals a
KSampler run by hand on the sliced inputs with that seed. Memory depends on the segment length
and `segments_per_batch`, not on the number of keyframes. Batched segments run as a batch of
clips that equals running them one by one (`clip_batch.py`). Bidirectional sampling (both modes)
adds the backward pass's conditioning to each run and fuses on a clone (`bidirectional.py`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..techniques.bidirectional import Bidirectional
from ..techniques.errors import InputError
from ..techniques.keyframe_interpolation import segment_ranges, stitch_segments
from .bidirectional import bidirectional_model, with_backward_pass
from .clip_batch import ClipBatch, as_batch_of_clips, require_batchable
from .keyframe_interpolation import FRAMES_BETWEEN_KEY


@dataclass(frozen=True)
class SamplerSettings:
    """KSampler's own widgets; ComfyUI validates sampler_name and scheduler against its lists."""

    seed: int = 0
    steps: int = 20
    cfg: float = 2.5
    sampler_name: str = "euler"
    scheduler: str = "karras"


def frames_between_of(latent: dict) -> int:
    if FRAMES_BETWEEN_KEY not in latent:
        raise InputError("latent_image must come from LongerVideoKeyframeConditioning "
                         "(it records the keyframe spacing that segment mode needs)")
    return int(latent[FRAMES_BETWEEN_KEY])


def slice_frames(value, start: int, end: int, frames: int):
    """The [start, end) frames of a per-frame tensor (batch == frames); anything else unchanged."""
    if isinstance(value, torch.Tensor) and value.ndim >= 1 and value.shape[0] == frames:
        return value[start:end]
    return value


def slice_conditioning(conditioning: list, start: int, end: int, frames: int) -> list:
    return [[slice_frames(tensor, start, end, frames),
             {key: slice_frames(value, start, end, frames) for key, value in values.items()}]
            for tensor, values in conditioning]


def concat_conditioning(parts: list[list], clip_frames: int) -> list:
    """Join the same-structured conditionings of several clips: per-frame tensors (batch ==
    clip_frames) are concatenated, shared ones (batch 1, e.g. stock SVD conditioning) kept once."""
    def join(values):
        first = values[0]
        if isinstance(first, torch.Tensor) and first.ndim >= 1 and first.shape[0] == clip_frames:
            return torch.cat(values)
        return first

    return [[join([tensor for tensor, _ in entries]),
             {key: join([values[key] for _, values in entries]) for key in entries[0][1]}]
            for entries in zip(*parts)]


def segment_inputs(positive, negative, latent: dict, start: int, end: int) -> tuple:
    frames = latent["samples"].shape[0]
    sub_latent = {"samples": latent["samples"][start:end]}
    if "noise_mask" in latent:
        sub_latent["noise_mask"] = slice_frames(latent["noise_mask"], start, end, frames)
    return (slice_conditioning(positive, start, end, frames), slice_conditioning(negative, start, end, frames),
            sub_latent)


@dataclass(frozen=True)
class BackwardPass:
    """Bidirectional sampling of a keyframe stage (`bidirectional.py`): its settings and the keyframe spacing."""

    settings: Bidirectional
    frames_between: int


def sample_clip(model, seeds: list[int], sampler: SamplerSettings, positive, negative, latents: list[dict],
                callback=None, backward: BackwardPass | None = None):
    """Sample one or more same-length clips in one run; clip i's noise comes from seeds[i]."""
    import comfy.sample
    import comfy.utils

    samples = [comfy.sample.fix_empty_latent_channels(model, latent["samples"]) for latent in latents]
    noise = torch.cat([comfy.sample.prepare_noise(s, seed) for s, seed in zip(samples, seeds)])
    masks = [latent.get("noise_mask") for latent in latents]
    noise_mask = None if masks[0] is None else torch.cat(masks)
    if len(latents) > 1:
        model = as_batch_of_clips(model, ClipBatch(samples[0].shape[0], tuple(seeds)), sampler.sampler_name)
    if backward is not None:
        clip = samples[0].shape[0]
        positive, negative = (with_backward_pass(model, conditioning, clip, backward.frames_between, backward.settings,
                                                 name) for conditioning, name in ((positive, "positive"), (negative, "negative")))
        model = bidirectional_model(model)
    return comfy.sample.sample(model, noise, sampler.steps, sampler.cfg, sampler.sampler_name, sampler.scheduler,
                               positive, negative, torch.cat(samples), noise_mask=noise_mask, callback=callback,
                               disable_pbar=not comfy.utils.PROGRESS_BAR_ENABLED, seed=seeds[0])


def sample_whole(model, positive, negative, latent: dict, sampler: SamplerSettings,
                 backward: Bidirectional | None = None) -> dict:
    """All frames in one run, as KSampler samples them (noise from the seed, the LATENT's pin mask)."""
    out = dict(latent)
    both = None if backward is None else BackwardPass(backward, frames_between_of(latent))
    out["samples"] = sample_clip(model, [sampler.seed], sampler, positive, negative, [latent],
                                 callback=_progress_callback(model, sampler.steps), backward=both)
    return out


def _progress_callback(model, steps):
    import latent_preview

    return latent_preview.prepare_callback(model, steps)


def sample_segments(model, positive, negative, latent: dict, sampler: SamplerSettings, segments_per_batch: int = 1,
                    backward: Bidirectional | None = None):
    """The whole (K-1)*k+1-frame latent, sampled gap by gap; shows progress, stops on interrupt."""
    import comfy.model_management
    import comfy.utils

    require_batchable(sampler.sampler_name, segments_per_batch)
    frames_between = frames_between_of(latent)
    both = None if backward is None else BackwardPass(backward, frames_between)
    ranges = segment_ranges(latent["samples"].shape[0], frames_between)
    steps = sampler.steps
    progress = comfy.utils.ProgressBar(len(ranges) * steps)
    segments = []
    for first in range(0, len(ranges), segments_per_batch):
        comfy.model_management.throw_exception_if_processing_interrupted()
        batch = ranges[first:first + segments_per_batch]
        parts = [segment_inputs(positive, negative, latent, start, end) for start, end in batch]
        done = first * steps
        clip = batch[0][1] - batch[0][0]

        def callback(step, x0, x, total_steps, done=done):
            progress.update_absolute(done + (step + 1) * len(batch), len(ranges) * steps)

        result = sample_clip(model, [sampler.seed + first + i for i in range(len(batch))], sampler,
                             concat_conditioning([p[0] for p in parts], clip), concat_conditioning([p[1] for p in parts], clip),
                             [p[2] for p in parts], callback=callback, backward=both)
        segments.extend(result.chunk(len(batch)))
    out = {key: value for key, value in latent.items() if key != "noise_mask"}
    out["samples"] = stitch_segments(segments, frames_between)
    return out
