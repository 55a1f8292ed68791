"""Keyframe-hint interpolation on a diffusers `StableVideoDiffusionPipeline`.

`interpolate_keyframes` runs the stock pipeline for T = (K-1)*k+1 frames with two scoped changes,
both gone when it returns:
- hints: a forward pre-hook on the UNet replaces the conditional half of the concatenated
  image-latent channels with per-frame keyframe latents (hold / nearest / first). A pre-hook
  (not a replaced `forward`) leaves accelerate's offload hooks and forward chunking in place;
- pins: the initial latents put the keyframe frames at `z + sigma_0 * eps`, and a
  `callback_on_step_end` resets them to `z + sigma_{i+1} * eps` after each pinned step, ending at
  exactly `z` (the scaled keyframe latents). For Euler this is the same update as ComfyUI's
  inpaint path. Pins hold for the first `pin_release` fraction of the steps.
CLIP conditioning comes from `clip_image` (default: the first keyframe): diffusers' UNet repeats
one image embedding for every frame, so per-frame CLIP embeddings are a ComfyUI-only feature.
"""
from __future__ import annotations

import torch

from ..techniques.errors import InputError
from ..techniques.keyframe_interpolation import (
    KeyframeSettings, keyframe_indices, output_frame_count, per_frame, pinned_steps, require_keyframes,
)
from ..techniques.svd import FrameSize

SET_BY_US = ("num_frames", "latents", "callback_on_step_end", "height", "width")


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
    """A UNet forward pre-hook that puts the per-frame hints into the conditional batch's image-latent
    channels (the last 4 of `sample`); with CFG the batch is [uncond, cond]."""
    def hook(module, args, kwargs):
        sample = args[0] if args else kwargs["sample"]
        channels = hints.shape[-3]
        cond = slice(sample.shape[0] // 2, None) if sample.shape[0] == 2 else slice(None)
        sample = sample.clone()
        sample[cond, :, -channels:] = hints.to(device=sample.device, dtype=sample.dtype)
        if args:
            return (sample, *args[1:]), kwargs
        return args, {**kwargs, "sample": sample}

    return hook


def interpolate_keyframes(pipe, keyframes, settings: KeyframeSettings = KeyframeSettings(), clip_image=None,
                          size: FrameSize = FrameSize(), num_inference_steps: int = 25,
                          noise_aug_strength: float = 0.02, generator: torch.Generator | None = None, **pipe_kwargs):
    """Pipeline output for the frames through `keyframes` (a list of PIL images or a (K,3,H,W) tensor in [0,1]).

    Extra keyword arguments go to the pipeline (fps, motion_bucket_id, output_type, ...).
    """
    if isinstance(keyframes, torch.Tensor):  # the pipeline's CLIP path resizes PIL images only
        keyframes = pipe.video_processor.numpy_to_pil(pipe.video_processor.pt_to_numpy(keyframes.float().cpu()))
    count = len(keyframes)
    require_keyframes(count)
    taken = sorted(set(SET_BY_US) & set(pipe_kwargs))
    if taken:
        raise InputError(f"interpolate_keyframes sets {', '.join(taken)} itself (use settings and size)")
    frames = output_frame_count(count, settings.frames_between)
    generator = generator or torch.Generator().manual_seed(0)
    clean, hint_latents = encode_keyframes(pipe, keyframes, size, noise_aug_strength, generator)
    hints = per_frame(hint_latents, settings.frames_between, settings.hint).unsqueeze(0)
    pins = clean * pipe.vae.config.scaling_factor
    indices = keyframe_indices(count, settings.frames_between)

    pipe.scheduler.set_timesteps(num_inference_steps)  # the pipeline sets the same schedule again
    sigmas = pipe.scheduler.sigmas.clone()
    init_sigma = float(pipe.scheduler.init_noise_sigma)
    dtype = pipe.unet.dtype
    factor = pipe.vae_scale_factor
    shape = (1, frames, pipe.unet.config.out_channels, size.height // factor, size.width // factor)
    noise = torch.randn(shape, generator=generator, dtype=torch.float32).to(pipe._execution_device)
    latents = noise.clone()
    keep = pinned_steps(num_inference_steps, settings.pin_release) if settings.pin_keyframes else 0
    if keep:
        latents[0, indices] = (pins.float() + float(sigmas[0]) * noise[0, indices]) / init_sigma

    def pin(pipeline, step, timestep, callback_kwargs):
        current = callback_kwargs["latents"]
        if step < keep:
            current = current.clone()
            sigma = float(sigmas[step + 1])
            current[0, indices] = (pins.float() + sigma * noise[0, indices]).to(current.dtype)
        return {"latents": current}

    handle = pipe.unet.register_forward_pre_hook(hint_pre_hook(hints), with_kwargs=True)
    try:
        return pipe(clip_image if clip_image is not None else keyframes[0], height=size.height, width=size.width,
                    num_frames=frames, num_inference_steps=num_inference_steps, noise_aug_strength=noise_aug_strength,
                    generator=generator, latents=latents.to(dtype), callback_on_step_end=pin, **pipe_kwargs)
    finally:
        handle.remove()
