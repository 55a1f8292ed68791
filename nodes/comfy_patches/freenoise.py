"""FreeNoise rescheduling on a ComfyUI SVD MODEL: a keyed SAMPLER_SAMPLE wrapper on a clone."""
from __future__ import annotations

import torch

from ..techniques.freenoise import FreeNoiseSettings, reschedule_noise
from .clip_batch import clips_of
from .video_transformer import require_video_model

FREENOISE_WRAPPER_KEY = "longer_video_freenoise"


def apply_freenoise(model, settings: FreeNoiseSettings):
    """A clone that reschedules the initial noise of every sampling run (KSampler and custom samplers).

    A keyed SAMPLER_SAMPLE wrapper sees the sampler's raw noise (frames on dim 0 for SVD) and the
    run's seed, so the result is deterministic per seed. Applying it again replaces the settings.
    """
    import comfy.patcher_extension

    require_video_model(model)  # SVD-style: frames on the batch axis of the noise

    def sampler_sample(executor, guider, sigmas, extra_args, callback, noise, *args, **kwargs):
        clips = clips_of(extra_args.get("model_options", {}).get("transformer_options", {}))
        if clips is None:
            noise = reschedule_noise(noise, settings, seed=extra_args.get("seed") or 0, dim=0)
        else:  # a batch of clips (batched keyframe segments): each clip as its own run would have it
            noise = torch.cat([reschedule_noise(part, settings, seed=seed, dim=0)
                               for part, seed in zip(clips.split(noise), clips.seeds)])
        return executor(guider, sigmas, extra_args, callback, noise, *args, **kwargs)

    patched = model.clone()
    sample_type = comfy.patcher_extension.WrappersMP.SAMPLER_SAMPLE
    patched.remove_wrappers_with_key(sample_type, FREENOISE_WRAPPER_KEY)
    patched.add_wrapper_with_key(sample_type, FREENOISE_WRAPPER_KEY, sampler_sample)
    return patched
