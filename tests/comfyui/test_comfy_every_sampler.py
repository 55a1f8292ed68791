"""Module tier, over every sampler ComfyUI offers: exact pins, and batched segments equal to one gap at a time.

Samplers that stop at a nonzero sigma (dpm_fast, dpm_adaptive, uni_pc, ddpm) leave noise-masked
frames slightly off; ancestral and SDE samplers draw step noise for a whole batch from one seed.
"""
import comfy.samplers
import pytest
import torch
from comfy_models import build_svd_model, model_patcher
from comfy_sampling import CONFIG, clip_embeds, conditioning, keyframe_latents, ksample, run_sampler_node

from longer_video.nodes.comfy_patches.clip_batch import BATCH_COUPLED_SAMPLERS
from longer_video.nodes.comfy_patches.freenoise import apply_freenoise
from longer_video.nodes.keyframe_interpolation import LongerVideoKeyframeSampler
from longer_video.nodes.techniques.freenoise import FreeNoiseSettings

SAMPLERS = list(comfy.samplers.KSampler.SAMPLERS)
STEPS = 6


@pytest.fixture(scope="module")
def stock():
    return model_patcher(build_svd_model(CONFIG))


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_pinned_keyframes_are_exact_with_every_sampler(stock, sampler):
    latents = keyframe_latents(3)
    embeds = clip_embeds(3)
    positive, negative, latent = conditioning(embeds, latents, 4)
    runs = {
        "KSampler": ksample(stock, positive, negative, latent, sampler=sampler, steps=STEPS)["samples"],
        "whole": run_sampler_node(stock, positive, negative, latent, 7, STEPS, "whole", sampler=sampler),
        "segment": run_sampler_node(stock, positive, negative, latent, 7, STEPS, "segment", sampler=sampler),
        # pin_release below 1 that still rounds to every step: the release path keeps them too
        "release": ksample(stock, *conditioning(embeds, latents, 4, release=0.99), sampler=sampler, steps=STEPS)["samples"],
    }
    for path, out in runs.items():
        assert (out[::4] - latents).abs().max() <= 1e-5, (path, float((out[::4] - latents).abs().max()))
        assert (out[1:4] - latents[0]).abs().max() > 1e-3, path  # the in-betweens were sampled


@pytest.fixture(scope="module")
def stock64():
    # batched-vs-one-at-a-time compares in fp64: on one thread a batch of 4 clips takes other fp32 kernels
    # than a batch of 1, and the tiny random model (outputs ~20-200) grows that rounding to ~5e-3 in 3 steps
    return model_patcher(build_svd_model(CONFIG, dtype=torch.float64))


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_batched_segments_equal_one_gap_at_a_time_with_every_sampler(stock64, sampler):
    positive, negative, latent = conditioning(clip_embeds(5), keyframe_latents(5), 3)
    if sampler in BATCH_COUPLED_SAMPLERS:  # cannot be made equal: refused, before and while running
        message = LongerVideoKeyframeSampler.validate_inputs(sampler_name=sampler, segments_per_batch=4, mode="segment")
        assert "segments_per_batch" in message and sampler in message
        with pytest.raises(ValueError, match="LongerVideoKeyframeSampler: segments_per_batch must be 1"):
            run_sampler_node(stock64, positive, negative, latent, 5, 3, "segment", 4, sampler=sampler)
        return
    one = run_sampler_node(stock64, positive, negative, latent, 5, 3, "segment", 1, sampler=sampler)
    four = run_sampler_node(stock64, positive, negative, latent, 5, 3, "segment", 4, sampler=sampler)
    assert (four - one).abs().max() <= 1e-8


def test_batched_segments_keep_frame_indexed_guidance_and_freenoise_per_gap(stock):
    from comfy_extras.nodes_video_model import VideoLinearCFGGuidance

    model = apply_freenoise(VideoLinearCFGGuidance().patch(stock, 1.0)[0], FreeNoiseSettings(3, 1, "shuffle"))
    positive, negative, latent = conditioning(clip_embeds(5), keyframe_latents(5), 4)  # 5-frame gaps: FreeNoise acts
    one = run_sampler_node(model, positive, negative, latent, 5, 3, "segment", 1, sampler="euler_ancestral")
    four = run_sampler_node(model, positive, negative, latent, 5, 3, "segment", 4, sampler="euler_ancestral")
    assert (four - one).abs().max() <= 1e-4
    plain = run_sampler_node(stock, positive, negative, latent, 5, 3, "segment", 1, sampler="euler_ancestral")
    assert (one - plain).abs().max() > 1e-3  # the guidance ramp and FreeNoise did act on every gap
