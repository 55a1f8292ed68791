"""Keyframe-hint interpolation on a diffusers `StableVideoDiffusionPipeline`.

`interpolate_keyframes` runs the stock pipeline for T = (K-1)*k+1 frames with two scoped changes,
both gone when it returns:
- hints: a forward pre-hook on the UNet replaces the conditional half of the concatenated
  image-latent channels with per-frame keyframe latents (hold / nearest / first). A pre-hook
  (not a replaced `forward`) leaves accelerate's offload hooks and forward chunking in place;
- pins: the initial latents put the keyframe frames at `z + sigma_0 * eps`, and a
  `callback_on_step_end` resets them to `z + sigma_{i+1} * eps` after each pinned step, ending at
  exactly `z` (the scaled keyframe latents). For Euler this is the same update as ComfyUI's
  inpaint path. Pins hold for the first `pin_release` fraction of the steps; the last pinned step
  ends exactly at `z` whatever sigma the scheduler stops at. Any scheduler with `sigmas` and
  `step_index` works (Euler, Euler ancestral, Heun, DPM++ ...).
CLIP conditioning comes from `clip_image` (default: the first keyframe): diffusers' UNet repeats
one image embedding for every frame, so per-frame CLIP embeddings are a ComfyUI-only feature.
Scheduler step noise (ancestral samplers) comes from `generator` too, not torch's global RNG.
`sampling=KeyframeSamplingSettings(mode="segment")` samples gap by gap (`keyframe_segments.py`);
the default, whole, samples every frame in one pipeline call. `direction="bidirectional"` adds a
backward pass to every UNet call (`bidirectional.py`); `settings.loop` adds the first keyframe after
the last.
"""
from __future__ import annotations

import contextlib
import functools
import inspect

import torch

from ..techniques.errors import InputError
from ..techniques.keyframe_interpolation import (
    KeyframeSamplingSettings, KeyframeSettings, keyframe_indices, output_frame_count, per_frame, pinned_steps,
    require_keyframes, require_open_loop,
)
from ..techniques.svd import FrameSize
from .bidirectional import BackwardClips, backward_plan, bidirectional_unet

SET_BY_US = ("num_frames", "latents", "callback_on_step_end", "height", "width")
WHOLE = KeyframeSamplingSettings(mode="whole")


@torch.no_grad()
def encode_keyframes(pipe, keyframes, size: FrameSize, noise_aug_strength: float = 0.0,
                     generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(clean, hint) unscaled VAE latents (K, 4, h, w); hints get the pipeline's augmentation noise."""
    pixels = pipe.video_processor.preprocess(keyframes, height=size.height, width=size.width)
    pixels = pixels.to(pipe._execution_device, pipe.vae.dtype)
    clean = pipe.vae.encode(pixels).latent_dist.mode()
    if noise_aug_strength <= 0:
        return clean, clean
    noise = torch.randn(pixels.shape, generator=generator, dtype=pixels.dtype).to(pixels.device)
    return clean, pipe.vae.encode(pixels + noise_aug_strength * noise).latent_dist.mode()


def hint_pre_hook(hints: torch.Tensor):
    """A UNet forward pre-hook that puts the per-frame hints (B, T, C, h, w) into the conditional
    batch's image-latent channels (the last C of `sample`); with CFG the batch is [uncond, cond]."""
    def hook(module, args, kwargs):
        sample = args[0] if args else kwargs["sample"]
        channels = hints.shape[-3]
        videos = hints.shape[0]
        cond = slice(videos, None) if sample.shape[0] == 2 * videos else slice(None)
        sample = sample.clone()
        sample[cond, :, -channels:] = hints.to(device=sample.device, dtype=sample.dtype)
        if args:
            return (sample, *args[1:]), kwargs
        return args, {**kwargs, "sample": sample}

    return hook


def as_images(pipe, keyframes):
    """PIL images from a (K,3,H,W) tensor in [0,1] (the pipeline's CLIP path resizes PIL images only)."""
    if isinstance(keyframes, torch.Tensor):
        return pipe.video_processor.numpy_to_pil(pipe.video_processor.pt_to_numpy(keyframes.float().cpu()))
    return list(keyframes)


def pinning_sigmas(scheduler) -> torch.Tensor:
    sigmas = getattr(scheduler, "sigmas", None)
    if sigmas is None or not hasattr(scheduler, "step_index"):
        raise InputError(f"pipe.scheduler must be a sigma scheduler (Euler, Euler ancestral, Heun, DPM++ ...) to pin "
                         f"keyframes; {type(scheduler).__name__} has no sigmas/step_index (or set pin_keyframes=False)")
    return sigmas.clone()


def sample_clips(pipe, image, hints: torch.Tensor, pins: torch.Tensor, indices: list[int], noise: torch.Tensor,
                 generator, settings: KeyframeSettings, size: FrameSize, num_inference_steps: int,
                 noise_aug_strength: float, backward: BackwardClips | None = None, **pipe_kwargs):
    """One pipeline call for B same-length clips: hints (B,F,C,h,w), pins (B,P,C,h,w) scaled latents
    at frames `indices`, noise (B,F,C,h,w). `image` is the CLIP image (a list of B with B > 1).
    `backward`: these clips' backward pass (bidirectional sampling, `bidirectional.py`)."""
    scheduler = pipe.scheduler
    keep = 0
    if settings.pin_keyframes:
        scheduler.set_timesteps(num_inference_steps)  # the pipeline sets the same schedule again
        sigmas = pinning_sigmas(scheduler)
        calls = len(scheduler.timesteps)  # more than the steps for second-order schedulers (Heun)
        keep = pinned_steps(calls, settings.pin_release)
    pins = pins.float().to(noise.device)
    latents = noise.clone()
    if keep:  # the pipeline multiplies given latents by init_noise_sigma
        latents[:, indices] = (pins + float(sigmas[0]) * noise[:, indices]) / float(scheduler.init_noise_sigma)

    def pin(pipeline, step, timestep, callback_kwargs):
        current = callback_kwargs["latents"]
        if step < keep:
            current = current.clone()
            index = pipeline.scheduler.step_index
            sigma = 0.0 if step == calls - 1 else float(sigmas[step + 1 if index is None else index])
            current[:, indices] = (pins + sigma * noise[:, indices]).to(current.dtype)
        return {"latents": current}

    handle = pipe.unet.register_forward_pre_hook(hint_pre_hook(hints), with_kwargs=True)
    try:
        with step_noise_from(scheduler, generator), bidirectional_unet(pipe, backward):
            return pipe(image, height=size.height, width=size.width, num_frames=noise.shape[1],
                        num_inference_steps=num_inference_steps, noise_aug_strength=noise_aug_strength,
                        generator=generator, latents=latents.to(pipe.unet.dtype), callback_on_step_end=pin,
                        **pipe_kwargs)
    finally:
        handle.remove()


@contextlib.contextmanager
def step_noise_from(scheduler, generator):
    """Scheduler steps draw their noise (ancestral, s_churn) from `generator` during the block.

    The SVD pipeline calls `scheduler.step` without its generator, so ancestral samplers would
    draw from torch's global RNG: a gap's result would depend on what ran before it, in which
    process. The instance attribute set here is removed (or the previous one restored) after.
    """
    step = scheduler.step
    if "generator" not in inspect.signature(step).parameters:
        yield
        return
    had_own = "step" in vars(scheduler)
    scheduler.step = functools.partial(step, generator=generator)
    try:
        yield
    finally:
        if had_own:
            scheduler.step = step
        else:
            del scheduler.step


def interpolate_keyframes(pipe, keyframes, settings: KeyframeSettings = KeyframeSettings(), clip_image=None,
                          size: FrameSize = FrameSize(), num_inference_steps: int = 25,
                          noise_aug_strength: float = 0.02, generator: torch.Generator | None = None,
                          sampling: KeyframeSamplingSettings = WHOLE, **pipe_kwargs):
    """Pipeline output for the frames through `keyframes` (a list of PIL images or a (K,3,H,W) tensor in [0,1]).

    `sampling`: whole (default) or segment, forward or bidirectional, as the Keyframe Sampler node; in segment mode gap g
    draws its noise from `generator.initial_seed() + g` (the node's seed + g) and, under
    torch.distributed, the gaps are split over the ranks. Extra keyword arguments go to the
    pipeline (fps, motion_bucket_id, output_type, ...).
    """
    if not isinstance(sampling, KeyframeSamplingSettings):
        raise InputError(f"sampling must be a KeyframeSamplingSettings (mode: segment or whole); got {sampling!r}")
    keyframes = as_images(pipe, keyframes)
    keyframes = keyframes + keyframes[:1] if settings.loop else keyframes  # the video ends where it starts
    count = len(keyframes)
    require_keyframes(count)
    taken = sorted(set(SET_BY_US) & set(pipe_kwargs))
    if taken:
        raise InputError(f"interpolate_keyframes sets {', '.join(taken)} itself (use settings and size)")
    frames = output_frame_count(count, settings.frames_between)
    generator = generator or torch.Generator().manual_seed(0)
    clean, hint_latents = encode_keyframes(pipe, keyframes, size, noise_aug_strength, generator)
    if settings.loop:
        require_open_loop(clean[:-1])
    hints = per_frame(hint_latents, settings.frames_between, settings.hint)
    pins = clean * pipe.vae.config.scaling_factor
    run = dict(settings=settings, size=size, num_inference_steps=num_inference_steps,
               noise_aug_strength=noise_aug_strength)
    plan = backward_plan(sampling, keyframes, hint_latents, settings, clip_image)
    if sampling.mode == "segment":
        from .keyframe_segments import sample_segments

        return sample_segments(pipe, keyframes, clip_image, hints, pins, generator.initial_seed(),
                               sampling.segments_per_batch, dict(run, backward=plan), pipe_kwargs)
    factor = pipe.vae_scale_factor
    shape = (1, frames, pipe.unet.config.out_channels, size.height // factor, size.width // factor)
    noise = torch.randn(shape, generator=generator, dtype=torch.float32).to(pipe._execution_device)
    return sample_clips(pipe, clip_image if clip_image is not None else keyframes[0], hints.unsqueeze(0),
                        pins.unsqueeze(0), keyframe_indices(count, settings.frames_between), noise, generator,
                        backward=plan and plan.clips([(0, frames)]), **run, **pipe_kwargs)
