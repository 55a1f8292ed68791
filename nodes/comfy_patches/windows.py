"""Windowed temporal attention and FreeNoise rescheduling on a ComfyUI SVD MODEL (clone-scoped)."""
from __future__ import annotations

from ..techniques.freenoise import reschedule_noise, validate_noise_settings
from ..techniques.windows import WindowSettings
from .options import set_model_option
from .video_transformer import install_temporal_forward, require_video_model

FREENOISE_WRAPPER_KEY = "longer_video_freenoise"


def apply_windowed_attention(model, settings: WindowSettings, node_name: str = "LongerVideoWindowedAttention"):
    """A clone whose temporal layers work per window (`block`) or within a band (`banded`).

    Videos of at most `window_frames` frames (also each ComfyUI context window of that size) run
    the stock model.
    """
    patched = model.clone()
    install_temporal_forward(patched, node_name)
    set_model_option(patched, "windows", settings)
    return patched


def apply_freenoise(model, window_frames: int, stride_frames: int, mode: str = "shuffle",
                    node_name: str = "LongerVideoFreeNoise"):
    """A clone that reschedules the initial noise of every sampling run (KSampler and custom samplers).

    A keyed SAMPLER_SAMPLE wrapper sees the sampler's raw noise (frames on dim 0 for SVD) and the
    run's seed, so the result is deterministic per seed. Applying it again replaces the settings.
    """
    import comfy.patcher_extension

    validate_noise_settings(window_frames, stride_frames, mode)
    require_video_model(model, node_name)  # SVD-style: frames on the batch axis of the noise

    def sampler_sample(executor, guider, sigmas, extra_args, callback, noise, *args, **kwargs):
        seed = extra_args.get("seed") or 0
        noise = reschedule_noise(noise, window_frames, stride_frames, mode, seed=seed, dim=0)
        return executor(guider, sigmas, extra_args, callback, noise, *args, **kwargs)

    patched = model.clone()
    sample_type = comfy.patcher_extension.WrappersMP.SAMPLER_SAMPLE
    patched.remove_wrappers_with_key(sample_type, FREENOISE_WRAPPER_KEY)
    patched.add_wrapper_with_key(sample_type, FREENOISE_WRAPPER_KEY, sampler_sample)
    return patched
