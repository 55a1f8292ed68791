"""The keyframe hierarchy on the toy, through the pack's diffusers `interpolate_keyframes`.

Stage 1 samples K = 8 (the trained length) keyframes k frames apart: for the toy that is the same
clip at k times the speed, i.e. fps * k (SVD users pick a lower fps / stronger motion for keyframes
the same way; toy v2 is trained on those speeds). Stage 2 interpolates (K-1)*k+1 >= T frames with
the keyframes pinned, and the first T frames are kept. As designed, stage 2 runs in `segment` mode:
each gap (k+1 frames, both ends pinned) is its own short clip near the trained length; `whole` mode
samples all frames in one pass (as the v1 table did). `hint` is the per-frame concat hint (hold: the
gap's left keyframe; first: the video's first keyframe). `oracle=True` pins the true keyframes
instead: the interpolation stage alone, a reference, not a technique.
`direction="bidirectional"` adds the time-reversed pass (issue 21); the toy's motion_bucket_id is a
direction, so the backward pass gets the opposite one (bucket + 128), except for a clip whose
direction is hidden (255: "some direction"), where both passes get 255. `loop` appends the first
keyframe after the last (the video ends where it starts); the loop rows use clips whose disk goes
once round the torus in the looped length, so the looped video has a ground truth too.
`lora` merges an interpolation LoRA (issue 22) into the toy UNet for the interpolation stage only
(as a ComfyUI user loads it onto the Keyframe Sampler's MODEL): stage 1's keyframes come from the
stock toy, which the LoRA was not trained for.
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


@contextlib.contextmanager
def interpolation_lora(pipe, path):
    """Within: the LoRA at `path` merged into the UNet (nothing when path is None)."""
    if path is None:
        yield
        return
    lv.load_interpolation_lora(pipe, path)
    try:
        yield
    finally:
        lv.remove_interpolation_lora(pipe)


@dataclasses.dataclass(frozen=True)
class KeyframeRow:
    """What a keyframe row name says: [keyframes|loop](-oracle)-(segment|whole)(-first)(-hidden)(-bidirectional)
    (-lora|-lora64). `lora`: "" (none), "lora" (the shipped toy LoRA, trained at 36 frames, keyframes 5
    apart) or "lora64" (trained at 64 frames, keyframes 9 apart: the T = 64 keyframe stage)."""

    oracle: bool = False
    mode: str = "segment"
    hint: str = "hold"
    hidden: bool = False
    direction: str = "forward"
    loop: bool = False
    lora: str = ""

    @classmethod
    def parse(cls, row: str) -> "KeyframeRow":
        kind, *words = row.split("-")
        if kind not in ("keyframes", "loop"):
            raise ValueError(f"not a keyframe row: {row}")
        unknown = set(words) - {"oracle", "segment", "whole", "first", "hidden", "bidirectional", "lora", "lora64"}
        if unknown:
            raise ValueError(f"unknown words {sorted(unknown)} in row {row}")
        return cls(oracle="oracle" in words, mode="whole" if "whole" in words else "segment",
                   hint="first" if "first" in words else "hold", hidden="hidden" in words,
                   direction="bidirectional" if "bidirectional" in words else "forward", loop=kind == "loop",
                   lora=next((w for w in words if w.startswith("lora")), ""))


def row_spec(spec, row: KeyframeRow, frames: int):
    """The clip a row is measured on: its direction hidden, or (loop) slowed to go once round the torus in `frames`."""
    if row.hidden:
        spec = dataclasses.replace(spec, motion_bucket_id=toy_motion.UNKNOWN_DIRECTION, direction_bucket=spec.true_bucket)
    if row.loop:
        fps = toy_motion.SIZE / frames / toy_motion.SPEED_PER_FPS
        if fps != int(fps):
            raise ValueError(f"a loop of {frames} frames needs fps {fps}: not a whole number")
        spec = dataclasses.replace(spec, fps=int(fps))
    return spec


def reverse_bucket(spec, row: KeyframeRow) -> int | None:
    """The backward pass's motion_bucket_id: the opposite direction; None (the same 255) when hidden."""
    if row.direction == "forward" or row.hidden:
        return None
    return (spec.motion_bucket_id + 128) % 256


@torch.no_grad()
def keyframe_hierarchy(pipe, spec, seed: int, frames: int, row: KeyframeRow = KeyframeRow(),
                       steps: int = toy_pipeline.STEPS, lora=None) -> torch.Tensor:
    """The first `frames` frames of the row's keyframe video for one clip (`spec` as row_spec made it)."""
    count, k = toy_model.TRAINED_FRAMES, spacing(frames + 1 if row.loop else frames, toy_model.TRAINED_FRAMES + row.loop)
    total = (count - 1 + row.loop) * k + 1
    if row.oracle:
        keys = toy_motion.render(spec, total)[::k][:count]
    else:
        fast = dataclasses.replace(spec, fps=spec.fps * k)
        keys = toy_pipeline.sample(pipe, [fast], count, toy_pipeline.initial_noise([seed], count), steps)[0]
    encoded = torch.cat([keys, keys[:1]]) if row.loop else keys  # loop: the pipeline encodes the first again
    concat, time_ids = toy_pipeline.clip_inputs([spec])
    size = toy_motion.SIZE * toy_pipeline.PIXELS_PER_LATENT
    images = [Image.new("RGB", (size, size), (128, 128, 128))] * count
    sampling = lv.KeyframeSamplingSettings(mode=row.mode, segments_per_batch=1, direction=row.direction,
                                           reverse_motion_bucket_id=reverse_bucket(spec, row))
    with toy_pipeline.toy_conditioning(pipe, concat, toy_pipeline.eval_context([spec]), time_ids), \
            latent_encoder(pipe, encoded / toy_motion.SCALING_FACTOR), interpolation_lora(pipe, lora):
        out = lv.interpolate_keyframes(
            pipe, images, lv.KeyframeSettings(frames_between=k, hint=row.hint, pin_keyframes=True, loop=row.loop),
            sampling=sampling, size=lv.FrameSize(size, size), num_inference_steps=steps, noise_aug_strength=0.0,
            generator=torch.Generator().manual_seed(seed), output_type="latent", min_guidance_scale=1.0,
            max_guidance_scale=1.0, decode_chunk_size=total)
    return out.frames[0, :frames]
