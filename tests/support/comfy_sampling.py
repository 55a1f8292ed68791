"""Sampling helpers the ComfyUI module tests share: tiny inputs, KSampler as ComfyUI runs it, the sampler node,
one Euler step, ComfyUI's context windows."""
from __future__ import annotations

import copy

import torch
from comfy_models import tiny_unet_config

from longer_video.nodes.comfy_patches.keyframe_interpolation import keyframe_conditioning
from longer_video.nodes.keyframe_interpolation import LongerVideoKeyframeSampler
from longer_video.nodes.techniques.keyframe_interpolation import KeyframeSettings
from longer_video.nodes.techniques.svd import MicroConditioning

CONFIG = tiny_unet_config()
STEPS = 3


def keyframe_latents(count, seed=3, size=4):
    return torch.randn(count, 4, size, size, generator=torch.Generator().manual_seed(seed))


def clip_embeds(count, seed=4):
    return torch.randn(count, CONFIG["context_dim"], generator=torch.Generator().manual_seed(seed))


def conditioning(embeds, latents, frames_between, hint="hold", pin=True, release=1.0, motion_bucket_id=127, fps=6,
                 augmentation_level=0.0, loop=False):
    return keyframe_conditioning(embeds, latents, KeyframeSettings(frames_between, hint, pin, release, loop),
                                 MicroConditioning(motion_bucket_id, fps, augmentation_level))


def ksample(model, positive, negative, latent, seed=7, sampler="euler", steps=STEPS, cfg=2.5):
    """What KSampler does (ComfyUI's common_ksampler), without the preview callback."""
    import comfy.sample

    noise = comfy.sample.prepare_noise(latent["samples"], seed)
    samples = comfy.sample.sample(model, noise, steps, cfg, sampler, "karras", positive, negative, latent["samples"],
                                  noise_mask=latent.get("noise_mask"), seed=seed)
    return dict(latent, samples=samples)


def run_sampler_node(model, positive, negative, latent, seed, steps, mode, segments_per_batch=1, cfg=2.5,
                     sampler="euler", **optional):
    """The Keyframe Sampler node; `optional`: its optional inputs (direction, reverse_motion_bucket_id)."""
    return LongerVideoKeyframeSampler.execute(model, positive, negative, latent, seed=seed, steps=steps, cfg=cfg,
                                              sampler_name=sampler, scheduler="karras", mode=mode,
                                              segments_per_batch=segments_per_batch, **optional).result[0]["samples"]


def sample_one_step(patcher, frames, seed=0):
    import comfy.sample
    import comfy.samplers

    latent = torch.zeros(frames, 4, 4, 4)
    noise = comfy.sample.prepare_noise(latent, seed)
    cond = {"concat_latent_image": torch.randn(1, 4, 4, 4, generator=torch.Generator().manual_seed(1)), "fps": 6,
            "motion_bucket_id": 127, "augmentation_level": 0}
    positive = [[torch.randn(1, 1, CONFIG["context_dim"], generator=torch.Generator().manual_seed(2)), cond]]
    negative = [[torch.zeros(1, 1, CONFIG["context_dim"]), copy.deepcopy(cond)]]
    return comfy.sample.sample_custom(patcher, noise, 2.5, comfy.samplers.sampler_object("euler"),
                                      torch.tensor([10.0, 0.0]), positive, negative, latent, seed=seed)


def context_windows(patcher, length, overlap):
    from comfy_extras.nodes_context_windows import ContextWindowsManualNode

    names = {i.id for i in ContextWindowsManualNode.define_schema().inputs}
    kwargs = dict(context_length=length, context_overlap=overlap, context_schedule="standard_static", context_stride=1,
                  closed_loop=False, fuse_method="pyramid", dim=0, freenoise=False)
    return ContextWindowsManualNode.execute(patcher, **{k: v for k, v in kwargs.items() if k in names}).result[0]
