"""Keyframe conditioning for ComfyUI's SVD: per-frame hints, CLIP embeds, exact pins, pin release.

Pins use ComfyUI's own inpaint path: the LATENT carries the keyframe latents at their frames and a
`noise_mask` with exactly T per-frame masks, so any sampler (KSampler, SamplerCustomAdvanced, our
segment sampler) keeps them while it samples. Two things need a per-run hook that this node can
add without a MODEL input: samplers that stop at a nonzero sigma (dpm_fast, dpm_adaptive, uni_pc,
ddpm) leave the kept frames at `z + sigma_last * eps`, so the kept frames are pasted back after
the run; and releasing the pins part-way samples the pinned steps with the mask and the rest
without it. Both are one keyed SAMPLER_SAMPLE wrapper carried by a ComfyUI conditioning hook
(`TransformerOptionsHook`), registered for the sampling runs that use this conditioning only.
"""
from __future__ import annotations

import torch

from ..techniques.bidirectional import mirrored_sources
from ..techniques.errors import InputError
from ..techniques.keyframe_interpolation import (
    KeyframeSettings, hint_sources, pin_mask, pinned_latent, pinned_steps, require_keyframes, require_open_loop,
)
from ..techniques.svd import LATENT_CHANNELS, FrameSize, MicroConditioning

PINS_WRAPPER_KEY = "longer_video_pins"
REVERSE_HINTS_KEY = "longer_video_reverse_hints"  # per frame: the backward pass's hints (bidirectional.py)
REVERSE_CROSS_ATTN_KEY = "longer_video_reverse_cross_attn"
FRAMES_BETWEEN_KEY = "longer_video_frames_between"


def check_latent_batch(latents: torch.Tensor, input_name: str) -> None:
    if latents.ndim != 4 or latents.shape[1] != LATENT_CHANNELS:
        raise InputError(f"{input_name} must be an SVD latent batch (frames, {LATENT_CHANNELS}, h, w); "
                         f"got shape {tuple(latents.shape)}")


def check_latent_size(latents: torch.Tensor, size: FrameSize, input_name: str) -> None:
    if tuple(latents.shape[-2:]) != size.latent_size:
        raise InputError(f"{input_name} are {latents.shape[-1] * 8}x{latents.shape[-2] * 8} px but width x height is "
                         f"{size.width}x{size.height}; set width/height to the {input_name}' size")


def encode_keyframe_images(vae, images: torch.Tensor, size: FrameSize, augmentation_level: float = 0.0):
    """(clean, hint) unscaled VAE latents of the keyframes, resized like SVD_img2vid_Conditioning.

    Pins must equal the clean keyframes; hints get the augmentation noise that stock SVD adds to
    its init image.
    """
    import comfy.utils

    pixels = comfy.utils.common_upscale(images.movedim(-1, 1), size.width, size.height, "bilinear", "center")
    pixels = pixels.movedim(1, -1)[:, :, :, :3]
    clean = vae.encode(pixels)
    if augmentation_level <= 0:
        return clean, clean
    return clean, vae.encode(pixels + torch.randn_like(pixels) * augmentation_level)


def paste_kept_frames(samples: torch.Tensor, latent_image: torch.Tensor, denoise_mask: torch.Tensor) -> torch.Tensor:
    """The sampled latent with every fully kept element (mask 0) exactly the given latent."""
    return torch.where(denoise_mask.to(samples.device) <= 0, latent_image.to(samples), samples)


def pins_wrapper(pin_release: float):
    """A SAMPLER_SAMPLE wrapper: the first `pin_release` of the steps pinned, the rest free; pins held
    to the end are pasted back exactly (whatever sigma the sampler stops at).

    After a release the second part starts from the first part's result at the release sigma (zero
    extra noise), and the callback keeps counting steps, so previews and progress run on.
    """
    def sampler_sample(executor, guider, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
                       disable_pbar=False, *args, **kwargs):
        steps = len(sigmas) - 1
        keep = pinned_steps(steps, pin_release)
        if denoise_mask is None or latent_image is None:
            return executor(guider, sigmas, extra_args, callback, noise, latent_image, denoise_mask, disable_pbar,
                            *args, **kwargs)
        if keep >= steps:
            samples = executor(guider, sigmas, extra_args, callback, noise, latent_image, denoise_mask, disable_pbar,
                               *args, **kwargs)
            return paste_kept_frames(samples, latent_image, denoise_mask)
        if keep == 0:
            return executor(guider, sigmas, extra_args, callback, noise, latent_image, None, disable_pbar,
                            *args, **kwargs)
        pinned = executor(guider, sigmas[:keep + 1], extra_args, counting_from(callback, 0, steps), noise,
                          latent_image, denoise_mask, disable_pbar, *args, **kwargs)
        return executor(guider, sigmas[keep:], extra_args, counting_from(callback, keep, steps),
                        torch.zeros_like(noise), pinned, None, disable_pbar, *args, **kwargs)

    return sampler_sample


def counting_from(callback, first_step: int, total_steps: int):
    """A sampler callback for part of a run that reports steps of the whole run (1/4..4/4, not 1/2, 2/2, 3/4)."""
    if callback is None:
        return None
    return lambda step, x0, x, _part_steps: callback(first_step + step, x0, x, total_steps)


def pin_hooks(pin_release: float = 1.0):
    """A HookGroup carrying the pins wrapper; ComfyUI registers it for one sampling run."""
    import comfy.hooks
    import comfy.patcher_extension

    wrappers = {comfy.patcher_extension.WrappersMP.SAMPLER_SAMPLE: {PINS_WRAPPER_KEY: [pins_wrapper(pin_release)]}}
    group = comfy.hooks.HookGroup()
    group.add(comfy.hooks.TransformerOptionsHook(transformers_dict={"wrappers": wrappers}))
    return group


def svd_conditioning(cross_attn: torch.Tensor, hints: torch.Tensor, micro: MicroConditioning, hooks=None,
                     reverse: tuple[torch.Tensor, torch.Tensor] | None = None):
    """(positive, negative) as SVD_img2vid_Conditioning builds them, with per-frame (or shared) tensors.

    reverse: (cross_attn, hints) of the backward pass, per frame, for bidirectional sampling
    (`bidirectional.py`); stock samplers ignore them.
    """
    values = {"motion_bucket_id": micro.motion_bucket_id, "fps": micro.fps,
              "augmentation_level": micro.augmentation_level}
    if hooks is not None:
        values["hooks"] = hooks
    positive = dict(values, concat_latent_image=hints)
    negative = dict(values, concat_latent_image=torch.zeros_like(hints))
    if reverse is not None:
        positive.update({REVERSE_CROSS_ATTN_KEY: reverse[0], REVERSE_HINTS_KEY: reverse[1]})
        negative.update({REVERSE_CROSS_ATTN_KEY: torch.zeros_like(reverse[0]),
                         REVERSE_HINTS_KEY: torch.zeros_like(reverse[1])})
    return [[cross_attn, positive]], [[torch.zeros_like(cross_attn), negative]]


def keyframe_conditioning(clip_embeds: torch.Tensor, hint_latents: torch.Tensor,
                          settings: KeyframeSettings = KeyframeSettings(),
                          micro: MicroConditioning = MicroConditioning(), pin_latents: torch.Tensor | None = None):
    """(positive, negative, latent) for sampling T = (K-1)*frames_between+1 frames.

    clip_embeds: (K, D) one per keyframe, or (1, D) for every frame; they follow the hint map,
    so hint="first" with one init image reproduces SVD_img2vid_Conditioning exactly.
    hint_latents / pin_latents: (K, 4, h, w) unscaled VAE latents (pin_latents default to the hints).
    settings.loop adds the first keyframe after the last (T = K*k+1: the video ends where it starts).
    The conditioning also carries each frame's backward-pass hint and embedding (bidirectional sampling).
    """
    check_latent_batch(hint_latents, "keyframe_latents")
    count = hint_latents.shape[0]
    require_keyframes(settings.stage_keyframes(count))
    if clip_embeds.shape[0] not in (1, count):
        raise InputError(f"clip images must be 1 or one per keyframe ({count}); got {clip_embeds.shape[0]}")
    if clip_embeds.shape[0] == 1:
        clip_embeds = clip_embeds.expand(count, *clip_embeds.shape[1:])
    pins = hint_latents if pin_latents is None else pin_latents
    if settings.loop:
        require_open_loop(pins)
        hint_latents, pins, clip_embeds = (torch.cat([values, values[:1]]) for values in (hint_latents, pins, clip_embeds))
        count += 1
    k = settings.frames_between
    sources = hint_sources(count, k, settings.hint)
    backward = mirrored_sources(sources, count)
    cross_attn, reverse_cross_attn = (clip_embeds.index_select(0, s.to(clip_embeds.device)).unsqueeze(1)
                                      for s in (sources, backward))
    hints, reverse_hints = (hint_latents.index_select(0, s.to(hint_latents.device)) for s in (sources, backward))
    reverse = (reverse_cross_attn, reverse_hints)
    _, _, height, width = hints.shape
    if settings.pin_keyframes:
        latent = {"samples": pinned_latent(pins, k), "noise_mask": pin_mask(count, k, height, width)}
        positive, negative = svd_conditioning(cross_attn, hints, micro, pin_hooks(settings.pin_release), reverse)
    else:
        latent = {"samples": torch.zeros(hints.shape[0], LATENT_CHANNELS, height, width)}
        positive, negative = svd_conditioning(cross_attn, hints, micro, reverse=reverse)
    latent[FRAMES_BETWEEN_KEY] = settings.frames_between
    return positive, negative, latent
