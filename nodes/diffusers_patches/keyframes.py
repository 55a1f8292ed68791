"""Keyframe-hint interpolation on a diffusers `StableVideoDiffusionPipeline`.

`generate_between_keyframes` runs the stock pipeline for T = (K-1)*k+1 frames with two scoped
changes, both undone when it returns:
- hints: an instance `forward` on the UNet replaces the conditional half of the concatenated
  image-latent channels with per-frame keyframe latents (hold / nearest / first);
- pins: the initial latents put the keyframe frames at `z + sigma_0 * eps`, and a
  `callback_on_step_end` resets them to `z + sigma_{i+1} * eps` after each pinned step, ending at
  exactly `z` (the scaled keyframe latents). For Euler this is the same update as ComfyUI's
  inpaint path. Pins hold for the first `pin_release` fraction of the steps.
CLIP conditioning comes from `clip_image` (default: the first keyframe): diffusers' UNet repeats
one image embedding for every frame, so per-frame CLIP embeddings are a ComfyUI-only feature.
"""
from __future__ import annotations

import functools

import torch

from ..techniques.keyframes import keyframe_indices, output_frame_count, per_frame, pinned_steps, validate_keyframe_settings


@torch.no_grad()
def encode_keyframes(pipe, keyframes, height: int, width: int, noise_aug_strength: float = 0.0,
                     generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(clean, hint) unscaled VAE latents (K, 4, h, w); hints get the pipeline's augmentation noise."""
    pixels = pipe.video_processor.preprocess(keyframes, height=height, width=width).to(pipe.vae.device, pipe.vae.dtype)
    clean = pipe.vae.encode(pixels).latent_dist.mode()
    if noise_aug_strength <= 0:
        return clean, clean
    noise = torch.randn(pixels.shape, generator=generator, dtype=pixels.dtype).to(pixels.device)
    return clean, pipe.vae.encode(pixels + noise_aug_strength * noise).latent_dist.mode()


def _hinted_forward(original, hints: torch.Tensor, sample, *args, **kwargs):
    """Put the per-frame hints into the conditional batch's image-latent channels (the last 4)."""
    channels = hints.shape[-3]
    cond = slice(sample.shape[0] // 2, None) if sample.shape[0] == 2 else slice(None)
    sample = sample.clone()
    sample[cond, :, -channels:] = hints.to(sample.dtype)
    return original(sample, *args, **kwargs)


def generate_between_keyframes(pipe, keyframes, frames_between: int, hint: str = "hold", pin_keyframes: bool = True,
                               pin_release: float = 1.0, clip_image=None, height: int = 576, width: int = 1024,
                               num_inference_steps: int = 25, noise_aug_strength: float = 0.02,
                               generator: torch.Generator | None = None, **pipe_kwargs):
    """Pipeline output for the frames through `keyframes` (a list of PIL images or a (K,3,H,W) tensor in [0,1]).

    Extra keyword arguments go to the pipeline (fps, motion_bucket_id, output_type, ...).
    """
    if isinstance(keyframes, torch.Tensor):  # the pipeline's CLIP path resizes PIL images only
        keyframes = pipe.video_processor.numpy_to_pil(pipe.video_processor.pt_to_numpy(keyframes.float().cpu()))
    count = len(keyframes)
    validate_keyframe_settings(count, frames_between, hint, pin_release)
    if "num_frames" in pipe_kwargs or "latents" in pipe_kwargs or "callback_on_step_end" in pipe_kwargs:
        raise ValueError("generate_between_keyframes sets num_frames, latents and callback_on_step_end itself")
    frames = output_frame_count(count, frames_between)
    generator = generator or torch.Generator().manual_seed(0)
    clean, hint_latents = encode_keyframes(pipe, keyframes, height, width, noise_aug_strength, generator)
    hints = per_frame(hint_latents, frames_between, hint).unsqueeze(0)
    pins = clean * pipe.vae.config.scaling_factor
    indices = keyframe_indices(count, frames_between)

    pipe.scheduler.set_timesteps(num_inference_steps)  # the pipeline sets the same schedule again
    sigmas = pipe.scheduler.sigmas.clone()
    init_sigma = float(pipe.scheduler.init_noise_sigma)
    dtype = pipe.unet.dtype
    shape = (1, frames, pipe.unet.config.out_channels, height // pipe.vae_scale_factor, width // pipe.vae_scale_factor)
    noise = torch.randn(shape, generator=generator, dtype=torch.float32).to(dtype)
    latents = noise.clone()
    keep = pinned_steps(num_inference_steps, pin_release) if pin_keyframes else 0
    if keep:
        latents[0, indices] = (pins.to(dtype) + float(sigmas[0]) * noise[0, indices]) / init_sigma

    def pin(pipeline, step, timestep, callback_kwargs):
        current = callback_kwargs["latents"]
        if step < keep:
            current = current.clone()
            sigma = float(sigmas[step + 1])
            current[0, indices] = (pins + sigma * noise[0, indices].to(pins.dtype)).to(current.dtype)
        return {"latents": current}

    unet = pipe.unet
    unet.forward = functools.partial(_hinted_forward, type(unet).forward.__get__(unet), hints.to(unet.device))
    try:
        return pipe(clip_image if clip_image is not None else keyframes[0], height=height, width=width,
                    num_frames=frames, num_inference_steps=num_inference_steps, noise_aug_strength=noise_aug_strength,
                    generator=generator, latents=latents, callback_on_step_end=pin, **pipe_kwargs)
    finally:
        unet.__dict__.pop("forward", None)
