"""Continuation on the toy, through the pack's diffusers `continue_video` and `join_clips`.

The first clip is the trained length (8 frames), sampled as the naive row samples it. Each
continuation then samples one more trained-length clip from the last OVERLAP frames with the same
micro-conditioning (`fps`, `motion_bucket_id`) and method `injection` (the overlap is pinned, so
the join has no seam), and its new frames are appended until the video has T frames. Every clip
the toy samples is the length it was trained on: the technique trades a longer context for many
short ones.
"""
from __future__ import annotations

import torch
from PIL import Image

import toy_model
import toy_motion
import toy_pipeline
from pack_api import lv

OVERLAP = 4


@torch.no_grad()
def continued_video(pipe, spec, seed: int, frames: int, steps: int = toy_pipeline.STEPS,
                    hints: str = "hold") -> torch.Tensor:
    count = toy_model.TRAINED_FRAMES
    video = toy_pipeline.sample(pipe, [spec], count, toy_pipeline.initial_noise([seed], count), steps)[0]
    settings = lv.ContinuationSettings(overlap_frames=OVERLAP, new_frames=count - OVERLAP, method="injection",
                                       hints=hints)
    concat, time_ids = toy_pipeline.clip_inputs([spec])
    size = toy_motion.SIZE * toy_pipeline.PIXELS_PER_LATENT
    image = Image.new("RGB", (size, size), (128, 128, 128))  # the CLIP image; the toy ignores its embedding
    call = 0
    while video.shape[0] < frames:
        call += 1
        with toy_pipeline.toy_conditioning(pipe, concat, toy_pipeline.eval_context([spec]), time_ids):
            clip = lv.continue_video(pipe, previous_latents=video[None], settings=settings, clip_image=image,
                                     num_inference_steps=steps, generator=torch.Generator().manual_seed(1000 * seed + call),
                                     output_type="latent", min_guidance_scale=1.0, max_guidance_scale=1.0,
                                     decode_chunk_size=count).frames[0]
        video = lv.join_clips(video, clip.to(video.dtype), OVERLAP)
    return video[:frames]
