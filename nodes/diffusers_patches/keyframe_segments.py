"""Segment-mode keyframe sampling on a diffusers SVD pipeline: each gap is its own clip.

The diffusers twin of the Keyframe Sampler node's segment mode (`comfy_patches/
keyframe_interpolation_sampling.py`): gap g covers frames [g*k, g*k+k], its hints are that slice of
the whole video's hint map, both its ends are pinned, and its noise comes from `seed + g` (a CPU
generator, the same numbers ComfyUI's `prepare_noise` draws for a (k+1)-frame latent). The gap's
generator also feeds the pipeline (augmentation noise, ancestral step noise), so a gap's result
does not depend on which gaps ran before it or where: that is what lets `ranks.map_over_ranks`
split the gaps over torch.distributed processes and still return the single-process video.
`segments_per_batch` gaps run as one pipeline call (a batch of videos, one generator each);
distributed runs split whole batches, so batching is the same with 1 or N processes.
"""
from __future__ import annotations

import torch

from ..techniques.keyframe_interpolation import hint_sources, segment_ranges, stitch_segments
from .keyframe_interpolation import as_images, sample_clips
from .ranks import map_over_ranks

DECODE_ARGS = ("output_type", "return_dict", "decode_chunk_size")


def gap_names(gaps: list[int], ranges: list[tuple[int, int]]) -> str:
    first, last = gaps[0], gaps[-1]
    frames = f"frames {ranges[first][0]}-{ranges[last][1] - 1}"
    return f"gap {first} ({frames})" if first == last else f"gaps {first}-{last} ({frames})"


def one_image(pipe, image):
    """A PIL image from a PIL image or a (3,H,W) / (1,3,H,W) tensor, so gaps can be batched as a list."""
    if isinstance(image, torch.Tensor):
        return as_images(pipe, image if image.ndim == 4 else image.unsqueeze(0))[0]
    return image


def sample_segments(pipe, keyframes: list, clip_image, hints: torch.Tensor, pins: torch.Tensor, seed: int,
                    segments_per_batch: int, run: dict, pipe_kwargs: dict):
    """The pipeline's output for the whole stage, sampled gap by gap (split over ranks when distributed)."""
    run = dict(run)
    plan = run.pop("backward", None)  # bidirectional: cut into each batch's gaps below
    settings = run["settings"]
    k = settings.frames_between
    pipe_kwargs = dict(pipe_kwargs)
    output_type, return_dict, decode_chunk_size = (pipe_kwargs.pop(name, default)
                                                   for name, default in zip(DECODE_ARGS, ("pil", True, None)))
    ranges = segment_ranges(hints.shape[0], k)
    sources = hint_sources(len(keyframes), k, settings.hint)
    fixed_clip = None if clip_image is None else one_image(pipe, clip_image)
    batches = [list(range(g, min(g + segments_per_batch, len(ranges)))) for g in range(0, len(ranges), segments_per_batch)]
    device = pipe._execution_device
    latent_shape = (1, k + 1, *hints.shape[1:])

    def sample_batch(index: int) -> torch.Tensor:
        gaps = batches[index]
        generators = [torch.Generator().manual_seed(seed + g) for g in gaps]
        noise = torch.cat([torch.randn(latent_shape, generator=gen, dtype=torch.float32) for gen in generators])
        # CLIP image: the keyframe that hints the gap's first frame (the node's per-frame embedding there)
        images = [fixed_clip if fixed_clip is not None else keyframes[int(sources[ranges[g][0]])] for g in gaps]
        out = sample_clips(pipe, images if len(gaps) > 1 else images[0],
                           torch.stack([hints[ranges[g][0]:ranges[g][1]] for g in gaps]),
                           torch.stack([pins[g:g + 2] for g in gaps]), [0, k], noise.to(device),
                           generators if len(gaps) > 1 else generators[0], output_type="latent",
                           backward=plan and plan.clips([ranges[g] for g in gaps]), **run, **pipe_kwargs)
        return out.frames

    results = map_over_ranks(len(batches), sample_batch, lambda index: gap_names(batches[index], ranges))
    segments = [clip for batch in results for clip in batch.to(device)]
    latents = stitch_segments(segments, k).unsqueeze(0)
    if output_type == "latent":
        frames = latents
    else:
        frames = pipe.decode_latents(latents, latents.shape[1], decode_chunk_size or latents.shape[1])
        frames = pipe.video_processor.postprocess_video(video=frames, output_type=output_type)
    pipe.maybe_free_model_hooks()
    if not return_dict:
        return frames  # as the pipeline itself does
    from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import (
        StableVideoDiffusionPipelineOutput,
    )

    return StableVideoDiffusionPipelineOutput(frames=frames)
