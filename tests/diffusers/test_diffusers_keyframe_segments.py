"""Segment mode of the diffusers `interpolate_keyframes`: gap by gap, as the Keyframe Sampler node."""
import pytest
import torch
from diffusers import EulerAncestralDiscreteScheduler, HeunDiscreteScheduler
from diffusers_keyframes import SIZE, interpolate, scaled_keyframes
from diffusers_models import tiny_pipeline

import longer_video as lv

STEPS = 2
K = 3  # frames_between: 3 keyframes -> 7 frames, gaps [0, 3] and [3, 6]


def run(pipe, keyframes, seed=5, sampling=lv.KeyframeSamplingSettings(mode="segment"), settings=None, **kwargs):
    return interpolate(pipe, keyframes, settings or lv.KeyframeSettings(K), sampling, seed, STEPS, **kwargs)


def test_each_gap_is_a_whole_mode_run_on_its_two_keyframes_with_seed_plus_gap(pipe, keyframes):
    video = run(pipe, keyframes, seed=5)
    assert video.shape[:2] == (1, 2 * K + 1)
    for gap in range(2):
        alone = run(pipe, keyframes[gap:gap + 2], seed=5 + gap, sampling=lv.KeyframeSamplingSettings(mode="whole"))
        # 1e-3: the keyframes are VAE-encoded as a batch of 3 here and of 2 alone (1e-6 apart), which
        # 2 steps from sigma 700 on a random model grow to ~2e-4; another seed or whole mode differ by ~2
        assert (video[0, gap * K:gap * K + K + 1] - alone[0]).abs().max() <= 1e-3, gap
    whole = run(pipe, keyframes, seed=5, sampling=lv.KeyframeSamplingSettings(mode="whole"))
    assert (video - whole).abs().max() > 0.1


def test_whole_mode_stays_the_default(pipe, keyframes):
    default = run(pipe, keyframes, sampling=lv.KeyframeSamplingSettings(mode="whole"))
    with torch.no_grad():
        plain = lv.interpolate_keyframes(pipe, keyframes, lv.KeyframeSettings(K), size=lv.FrameSize(SIZE, SIZE),
                                         num_inference_steps=STEPS, noise_aug_strength=0.0, output_type="latent",
                                         generator=torch.Generator().manual_seed(5)).frames
    assert torch.equal(default, plain)


@pytest.mark.parametrize("scheduler", [EulerAncestralDiscreteScheduler, HeunDiscreteScheduler])
def test_pins_are_exact_with_other_schedulers(keyframes, scheduler):
    pipe = tiny_pipeline()
    pipe.scheduler = scheduler.from_config(pipe.scheduler.config)
    video = run(pipe, keyframes)
    assert (video[0, ::K] - scaled_keyframes(pipe, keyframes)).abs().max() <= 1e-5
    again = run(pipe, keyframes)
    assert torch.equal(video, again)  # ancestral step noise comes from the gap's own generator
    assert "step" not in vars(pipe.scheduler)  # the step's generator was scoped to the call


def test_batched_gaps_equal_one_at_a_time(pipe, keyframes):
    one = run(pipe, keyframes)
    two = run(pipe, keyframes, sampling=lv.KeyframeSamplingSettings(mode="segment", segments_per_batch=2))
    assert (one - two).abs().max() <= 1e-3  # batched matmuls; see the first test for the scale


def test_decoded_output_has_every_frame(pipe, keyframes):
    frames = run(pipe, keyframes, output_type="pt")
    assert frames.shape[:2] == (1, 2 * K + 1) and frames.shape[-2:] == (SIZE, SIZE)


@pytest.mark.parametrize("sampling, word", [
    ("segment", "sampling must be a KeyframeSamplingSettings"),
    (lambda: lv.KeyframeSamplingSettings(mode="gaps"), "mode must be one of segment, whole"),
    (lambda: lv.KeyframeSamplingSettings(segments_per_batch=0), "segments_per_batch"),
])
def test_bad_sampling_is_named(pipe, keyframes, sampling, word):
    with pytest.raises(ValueError, match=word):
        run(pipe, keyframes, sampling=sampling() if callable(sampling) else sampling)
