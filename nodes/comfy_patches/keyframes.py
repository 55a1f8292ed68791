"""Keyframe conditioning for ComfyUI's SVD: per-frame hints, CLIP embeds, exact pins, pin release.

Pins use ComfyUI's own inpaint path: the LATENT carries the keyframe latents at their frames and a
`noise_mask` with exactly T per-frame masks, so any sampler (KSampler, SamplerCustomAdvanced, our
segment sampler) keeps them. Releasing the pins part-way needs a per-run hook that this node can
add without a MODEL input: a ComfyUI conditioning hook (`TransformerOptionsHook`) that installs a
keyed SAMPLER_SAMPLE wrapper for the sampling run that uses this conditioning only. The wrapper
samples the pinned steps with the mask and the remaining steps without it.
"""
from __future__ import annotations

import torch

from ..techniques.keyframes import (
    per_frame, pin_mask, pinned_latent, pinned_steps, validate_keyframe_settings,
)

PIN_RELEASE_WRAPPER_KEY = "longer_video_pin_release"
FRAMES_BETWEEN_KEY = "longer_video_frames_between"
LATENT_CHANNELS = 4


class KeyframeInputError(ValueError):
    """Bad keyframe input; the message names the node and the input."""


def check_keyframe_latents(latents: torch.Tensor, node_name: str, input_name: str = "keyframe_latents") -> None:
    if latents.ndim != 4 or latents.shape[1] != LATENT_CHANNELS:
        raise KeyframeInputError(
            f"{node_name}: {input_name} must be an SVD latent batch (keyframes, {LATENT_CHANNELS}, h, w); "
            f"got shape {tuple(latents.shape)}")


def encode_keyframe_images(vae, images: torch.Tensor, width: int, height: int, augmentation_level: float = 0.0):
    """(clean, hint) unscaled VAE latents of the keyframes, resized like SVD_img2vid_Conditioning.

    Pins must equal the clean keyframes; hints get the augmentation noise that stock SVD adds to
    its init image. width/height were checked by the node (validate_frame_size) before this runs.
    """
    import comfy.utils

    pixels = comfy.utils.common_upscale(images.movedim(-1, 1), width, height, "bilinear", "center").movedim(1, -1)
    pixels = pixels[:, :, :, :3]
    clean = vae.encode(pixels)
    if augmentation_level <= 0:
        return clean, clean
    return clean, vae.encode(pixels + torch.randn_like(pixels) * augmentation_level)


def release_pins_wrapper(pin_release: float):
    """A SAMPLER_SAMPLE wrapper: the first `pin_release` of the steps pinned, the rest free.

    The second part starts from the first part's result at the release sigma (zero extra noise),
    and the callback keeps counting steps, so previews and progress run on.
    """
    def sampler_sample(executor, guider, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
                       disable_pbar=False, *args, **kwargs):
        steps = len(sigmas) - 1
        keep = pinned_steps(steps, pin_release)
        if denoise_mask is None or keep >= steps:
            return executor(guider, sigmas, extra_args, callback, noise, latent_image, denoise_mask, disable_pbar,
                            *args, **kwargs)
        if keep == 0:
            return executor(guider, sigmas, extra_args, callback, noise, latent_image, None, disable_pbar,
                            *args, **kwargs)
        pinned = executor(guider, sigmas[:keep + 1], extra_args, callback, noise, latent_image, denoise_mask,
                          disable_pbar, *args, **kwargs)

        def continued(step, x0, x, total_steps):
            return callback(step + keep, x0, x, steps)

        return executor(guider, sigmas[keep:], extra_args, continued if callback else None, torch.zeros_like(noise),
                        pinned, None, disable_pbar, *args, **kwargs)

    return sampler_sample


def pin_release_hooks(pin_release: float):
    """A HookGroup carrying the release wrapper; ComfyUI registers it for one sampling run."""
    import comfy.hooks
    import comfy.patcher_extension

    wrappers = {comfy.patcher_extension.WrappersMP.SAMPLER_SAMPLE: {
        PIN_RELEASE_WRAPPER_KEY: [release_pins_wrapper(pin_release)]}}
    group = comfy.hooks.HookGroup()
    group.add(comfy.hooks.TransformerOptionsHook(transformers_dict={"wrappers": wrappers}))
    return group


def keyframe_conditioning(clip_embeds: torch.Tensor, hint_latents: torch.Tensor, frames_between: int,
                          hint: str = "hold", pin_keyframes: bool = True, pin_release: float = 1.0,
                          motion_bucket_id: int = 127, fps: int = 6, augmentation_level: float = 0.0,
                          pin_latents: torch.Tensor | None = None, node_name: str = "LongerVideoKeyframeConditioning"):
    """(positive, negative, latent) for sampling T = (K-1)*frames_between+1 frames.

    clip_embeds: (K, D) one per keyframe, or (1, D) for every frame; they follow the hint map,
    so hint="first" with one init image reproduces SVD_img2vid_Conditioning exactly.
    hint_latents / pin_latents: (K, 4, h, w) unscaled VAE latents (pin_latents default to the hints).
    """
    check_keyframe_latents(hint_latents, node_name)
    count = hint_latents.shape[0]
    validate_keyframe_settings(count, frames_between, hint, pin_release)
    if clip_embeds.shape[0] not in (1, count):
        raise KeyframeInputError(f"{node_name}: clip images must be 1 or one per keyframe ({count}); "
                                 f"got {clip_embeds.shape[0]}")
    if clip_embeds.shape[0] == 1:
        clip_embeds = clip_embeds.expand(count, *clip_embeds.shape[1:])
    cross_attn = per_frame(clip_embeds, frames_between, hint).unsqueeze(1)
    hints = per_frame(hint_latents, frames_between, hint)
    values = {"motion_bucket_id": motion_bucket_id, "fps": fps, "augmentation_level": augmentation_level}
    positive_values = dict(values, concat_latent_image=hints)
    negative_values = dict(values, concat_latent_image=torch.zeros_like(hints))

    pins = hint_latents if pin_latents is None else pin_latents
    _, _, height, width = hints.shape
    if pin_keyframes:
        latent = {"samples": pinned_latent(pins, frames_between),
                  "noise_mask": pin_mask(count, frames_between, height, width)}
        if pin_release < 1.0:
            hooks = pin_release_hooks(pin_release)
            positive_values["hooks"] = hooks
            negative_values["hooks"] = hooks
    else:
        latent = {"samples": torch.zeros(hints.shape[0], LATENT_CHANNELS, height, width)}
    latent[FRAMES_BETWEEN_KEY] = frames_between
    positive = [[cross_attn, positive_values]]
    negative = [[torch.zeros_like(cross_attn), negative_values]]
    return positive, negative, latent
