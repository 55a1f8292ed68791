"""Module tier in bfloat16 (what CPUs run of half precision): identity, window and keyframe equivalences hold."""
import pytest
import torch
from comfy_models import build_svd_model, model_patcher, run_patched, svd_inputs
from comfy_sampling import CONFIG, clip_embeds, conditioning, keyframe_latents, ksample, run_sampler_node

from longer_video.nodes.comfy_patches.temporal_positions import apply_temporal_positions
from longer_video.nodes.comfy_patches.windowed_attention import apply_windowed_attention
from longer_video.nodes.techniques.temporal_positions import PositionSettings
from longer_video.nodes.techniques.windowed_attention import WindowSettings

TRAINED = 8


@pytest.fixture(scope="module")
def bf16_model():
    return model_patcher(build_svd_model(CONFIG, dtype=torch.bfloat16))


def bf16_inputs(frames):
    return {k: v.to(torch.bfloat16) if isinstance(v, torch.Tensor) and v.is_floating_point() else v
            for k, v in svd_inputs(CONFIG, frames).items()}


@pytest.mark.parametrize("mode", ["linear", "ntk", "yarn"])
def test_positions_at_the_trained_length_are_the_stock_model_in_bf16(bf16_model, mode):
    inputs = bf16_inputs(TRAINED)
    patched = apply_temporal_positions(bf16_model, PositionSettings(mode, TRAINED))
    out = run_patched(patched, inputs)
    assert torch.equal(out, run_patched(bf16_model, inputs))  # the UNet ran in bf16; apply_model returns fp32


@pytest.mark.parametrize("mode", ["block", "banded"])
def test_windows_up_to_one_window_are_the_stock_model_and_longer_videos_stay_finite_in_bf16(bf16_model, mode):
    patched = apply_windowed_attention(bf16_model, WindowSettings(TRAINED, 3, "pyramid", mode))
    short = bf16_inputs(TRAINED)
    assert torch.equal(run_patched(patched, short), run_patched(bf16_model, short))
    long = run_patched(patched, bf16_inputs(3 * TRAINED))
    assert torch.isfinite(long.float()).all()


@pytest.mark.parametrize("sampler", ["euler", "euler_ancestral", "dpmpp_2m", "uni_pc"])
def test_keyframes_are_exact_in_bf16(bf16_model, sampler):
    latents = keyframe_latents(3)
    positive, negative, latent = conditioning(clip_embeds(3), latents, 4)
    for out in (ksample(bf16_model, positive, negative, latent, sampler=sampler)["samples"],
                run_sampler_node(bf16_model, positive, negative, latent, 7, 3, "segment", 2, sampler=sampler)):
        assert (out[::4] - latents).abs().max() <= 1e-5
