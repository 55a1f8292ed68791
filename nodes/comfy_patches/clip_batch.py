"""Sampling several same-length clips as one batch, equal to sampling them one at a time.

A batch of clips differs from separate runs in four places; a clone of the model handles each:
- the UNet must see clips, not one long video: a keyed DIFFUSION_MODEL wrapper sets
  `num_video_frames` to the clip length (the temporal layers then mix frames within a clip);
- step noise: ancestral and SDE samplers draw their step noise for the whole batch from one seed.
  A keyed SAMPLER_SAMPLE wrapper hands the sampler function a noise sampler that draws every
  clip's noise as that clip's own run would (its seed, its shape; a Brownian tree for the samplers
  that use one), and for `ddim`, whose inpainting draws its own noise from seed+1, that noise per clip;
- frame-indexed CFG functions (VideoLinearCFGGuidance's ramp over the batch) are called per clip;
- the pack's FreeNoise reschedules each clip's noise with its own seed (it reads `clips_of`).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch

from ..techniques.errors import InputError
from .options import get_option, set_model_option

CLIP_LENGTH_WRAPPER_KEY = "longer_video_clip_length"
CLIP_NOISE_WRAPPER_KEY = "longer_video_clip_noise"
# samplers whose step noise comes from a Brownian tree (name -> the tree lives on the CPU); every other
# sampler that takes a `noise_sampler` draws from ComfyUI's default one
# samplers that decide something from the whole batch at once: batched clips cannot equal separate runs
BATCH_COUPLED_SAMPLERS = {
    "dpm_adaptive": "chooses its step sizes from the error over the whole batch",
}
BROWNIAN_SAMPLERS = {
    "dpmpp_sde": True, "dpmpp_2m_sde": True, "dpmpp_2m_sde_heun": True, "dpmpp_3m_sde": True,
    "dpmpp_sde_gpu": False, "dpmpp_2m_sde_gpu": False, "dpmpp_2m_sde_heun_gpu": False, "dpmpp_3m_sde_gpu": False,
}


def require_batchable(sampler_name: str, clips_per_batch: int) -> None:
    if clips_per_batch > 1 and sampler_name in BATCH_COUPLED_SAMPLERS:
        raise InputError(f"segments_per_batch must be 1 with sampler_name {sampler_name}: it "
                         f"{BATCH_COUPLED_SAMPLERS[sampler_name]}, so gaps sampled together would not equal "
                         f"gaps sampled one at a time")


@dataclass(frozen=True)
class ClipBatch:
    """The batch is len(seeds) clips of `frames` frames; clip i's own run would use seeds[i]."""

    frames: int
    seeds: tuple[int, ...]

    def slices(self):
        return [slice(i * self.frames, (i + 1) * self.frames) for i in range(len(self.seeds))]

    def split(self, batch: torch.Tensor) -> list[torch.Tensor]:
        return [batch[part] for part in self.slices()]


def clips_of(transformer_options: dict) -> ClipBatch | None:
    return get_option(transformer_options, "clips")


def as_batch_of_clips(model, clips: ClipBatch, sampler_name: str):
    """A clone of `model` that samples a batch of `clips` as if each were sampled on its own."""
    import comfy.patcher_extension

    def diffusion_model(executor, *args, **kwargs):
        kwargs["num_video_frames"] = clips.frames
        return executor(*args, **kwargs)

    def sampler_sample(executor, guider, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
                       *args, **kwargs):
        sampler = executor.class_obj
        if not callable(getattr(sampler, "sampler_function", None)):
            raise InputError(f"segments_per_batch > 1 needs one of KSampler's samplers; got {type(sampler).__name__}")
        saved = sampler.sampler_function, sampler.inpaint_options
        sampler.sampler_function = per_clip_sampler_function(saved[0], clips, sampler_name,
                                                             random_inpaint=saved[1].get("random", False))
        sampler.inpaint_options = {k: v for k, v in saved[1].items() if k != "random"}
        try:
            return executor(guider, sigmas, extra_args, callback, noise, latent_image, denoise_mask, *args, **kwargs)
        finally:
            sampler.sampler_function, sampler.inpaint_options = saved

    patched = model.clone()
    wrappers = comfy.patcher_extension.WrappersMP
    for kind, key, wrapper in ((wrappers.DIFFUSION_MODEL, CLIP_LENGTH_WRAPPER_KEY, diffusion_model),
                               (wrappers.SAMPLER_SAMPLE, CLIP_NOISE_WRAPPER_KEY, sampler_sample)):
        patched.remove_wrappers_with_key(kind, key)
        patched.add_wrapper_with_key(kind, key, wrapper)
    options = patched.model_options
    if "sampler_cfg_function" in options:
        options["sampler_cfg_function"] = per_clip(options["sampler_cfg_function"], clips)
    for name in ("sampler_pre_cfg_function", "sampler_post_cfg_function"):
        if options.get(name):
            options[name] = [per_clip(fn, clips) for fn in options[name]]
    set_model_option(patched, "clips", clips)
    return patched


def per_clip(function, clips: ClipBatch):
    """A CFG-stage function called once per clip: tensors with the batch's length are sliced, results joined."""
    def call(args: dict):
        total = len(clips.seeds) * clips.frames
        results = [function({key: _slice(value, part, total) for key, value in args.items()}) for part in clips.slices()]
        if isinstance(results[0], (list, tuple)):
            return [torch.cat(parts) if isinstance(parts[0], torch.Tensor) else parts[0] for parts in zip(*results)]
        return torch.cat(results)

    return call


def _slice(value, part: slice, total: int):
    if isinstance(value, torch.Tensor) and value.ndim >= 1 and value.shape[0] == total:
        return value[part]
    if isinstance(value, list):
        return [_slice(item, part, total) for item in value]
    return value


def per_clip_sampler_function(function, clips: ClipBatch, sampler_name: str, random_inpaint: bool):
    """`function` (a k-diffusion sampler) with each clip's step noise (and ddim's inpaint noise) its own."""
    takes_noise_sampler = "noise_sampler" in inspect.signature(function).parameters

    def run(model, x, sigmas, *args, **kwargs):
        if random_inpaint:
            model.noise = torch.cat([torch.randn(part.shape, generator=torch.Generator().manual_seed(seed + 1))
                                     for part, seed in zip(clips.split(x), clips.seeds)]).to(x.dtype).to(x.device)
        if takes_noise_sampler and kwargs.get("noise_sampler") is None:
            kwargs["noise_sampler"] = clip_noise_sampler(x, sigmas, clips, sampler_name)
        return function(model, x, sigmas, *args, **kwargs)

    return run


def clip_noise_sampler(x: torch.Tensor, sigmas: torch.Tensor, clips: ClipBatch, sampler_name: str):
    from comfy.k_diffusion.sampling import BrownianTreeNoiseSampler, default_noise_sampler

    parts = clips.split(x)
    if sampler_name in BROWNIAN_SAMPLERS:
        sigma_min, sigma_max = sigmas[sigmas > 0].min(), sigmas.max()
        cpu = BROWNIAN_SAMPLERS[sampler_name]
        samplers = [BrownianTreeNoiseSampler(part, sigma_min, sigma_max, seed=seed, cpu=cpu)
                    for part, seed in zip(parts, clips.seeds)]
    else:
        samplers = [default_noise_sampler(part, seed=seed) for part, seed in zip(parts, clips.seeds)]
    return lambda sigma, sigma_next: torch.cat([sample(sigma, sigma_next) for sample in samplers])
