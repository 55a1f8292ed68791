"""The keyframe hierarchy on the toy, through the pack's diffusers `interpolate_keyframes`.

Stage 1 samples K = 8 (the trained length) keyframes k frames apart: for the toy that is the same
clip at k times the speed, i.e. fps * k (SVD users pick a lower fps / stronger motion for keyframes
the same way; toy v2 is trained on those speeds). Stage 2 interpolates (K-1)*k+1 >= T frames with
the keyframes pinned, and the first T frames are kept. As designed, stage 2 runs in `segment` mode:
each gap (k+1 frames, both ends pinned) is its own short clip near the trained length; `whole` mode
samples all frames in one pass (as the v1 table did). `hint` is the per-frame concat hint (hold: the
gap's left keyframe; first: the video's first keyframe). `oracle=True` pins the true keyframes
instead: the interpolation stage alone, a reference, not a technique.
The stand-in VAE's `encode` is replaced on the instance for the call so the keyframe latents reach
the pack's code unchanged (there are no pixels in the toy).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import types

import torch
from PIL import Image

import toy_model
import toy_motion
import toy_pipeline
from pack_api import lv


def spacing(frames: int, keyframes: int = toy_model.TRAINED_FRAMES) -> int:
    return max(1, math.ceil((frames - 1) / (keyframes - 1)))


@contextlib.contextmanager
def latent_encoder(pipe, latents_unscaled: torch.Tensor):
    result = types.SimpleNamespace(latent_dist=types.SimpleNamespace(mode=lambda: latents_unscaled))
    pipe.vae.encode = lambda pixels, *a, **k: result
    try:
        yield
    finally:
        pipe.vae.__dict__.pop("encode", None)


@torch.no_grad()
def keyframe_hierarchy(pipe, spec, seed: int, frames: int, oracle: bool = False,
                       steps: int = toy_pipeline.STEPS, mode: str = "segment", hint: str = "hold") -> torch.Tensor:
    count, k = toy_model.TRAINED_FRAMES, spacing(frames)
    total = (count - 1) * k + 1
    if oracle:
        keys = toy_motion.render(spec, total)[::k]
    else:
        fast = dataclasses.replace(spec, fps=spec.fps * k)
        keys = toy_pipeline.sample(pipe, [fast], count, toy_pipeline.initial_noise([seed], count), steps)[0]
    concat, time_ids = toy_pipeline.clip_inputs([spec])
    size = toy_motion.SIZE * toy_pipeline.PIXELS_PER_LATENT
    images = [Image.new("RGB", (size, size), (128, 128, 128))] * count
    with toy_pipeline.toy_conditioning(pipe, concat, toy_pipeline.eval_context([spec]), time_ids), \
            latent_encoder(pipe, keys / toy_motion.SCALING_FACTOR):
        out = lv.interpolate_keyframes(
            pipe, images, lv.KeyframeSettings(frames_between=k, hint=hint, pin_keyframes=True),
            sampling=lv.KeyframeSamplingSettings(mode=mode, segments_per_batch=1), size=lv.FrameSize(size, size), num_inference_steps=steps, noise_aug_strength=0.0,
            generator=torch.Generator().manual_seed(seed), output_type="latent", min_guidance_scale=1.0,
            max_guidance_scale=1.0, decode_chunk_size=total)
    return out.frames[0, :frames]
