"""Bidirectional keyframe sampling and loops in the diffusers API (`lv.interpolate_keyframes`)."""
import pytest
import torch
from diffusers import EulerAncestralDiscreteScheduler, HeunDiscreteScheduler
from diffusers_keyframes import SIZE, interpolate, scaled_keyframes
from diffusers_models import tiny_pipeline, unet_inputs

import longer_video as lv
from longer_video.nodes.diffusers_patches.bidirectional import BackwardClips, bidirectional_unet
from longer_video.nodes.techniques.bidirectional import Bidirectional

STEPS = 2
K = 3  # frames_between: 3 keyframes -> 7 frames
BOTH = lv.KeyframeSamplingSettings(mode="segment", direction="bidirectional")


def run(pipe, keyframes, sampling=BOTH, settings=None, seed=5, **kwargs):
    return interpolate(pipe, keyframes, settings or lv.KeyframeSettings(K), sampling, seed, STEPS, **kwargs)


@pytest.mark.parametrize("mode", ["segment", "whole"])
def test_pins_are_exact_and_the_backward_pass_acts(pipe, keyframes, mode):
    video = run(pipe, keyframes, lv.KeyframeSamplingSettings(mode=mode, direction="bidirectional"))
    assert video.shape[:2] == (1, 2 * K + 1)
    assert (video[0, ::K] - scaled_keyframes(pipe, keyframes)).abs().max() <= 1e-5
    forward = run(pipe, keyframes, lv.KeyframeSamplingSettings(mode=mode))
    assert (video - forward).abs().max() > 1e-2


@pytest.mark.parametrize("scheduler", [EulerAncestralDiscreteScheduler, HeunDiscreteScheduler])
def test_pins_are_exact_with_other_schedulers(keyframes, scheduler):
    pipe = tiny_pipeline()
    pipe.scheduler = scheduler.from_config(pipe.scheduler.config)
    video = run(pipe, keyframes)
    assert (video[0, ::K] - scaled_keyframes(pipe, keyframes)).abs().max() <= 1e-5


def test_batched_gaps_equal_one_at_a_time(pipe, keyframes):
    one = run(pipe, keyframes)
    two = run(pipe, keyframes, lv.KeyframeSamplingSettings(mode="segment", segments_per_batch=2,
                                                           direction="bidirectional", reverse_motion_bucket_id=30))
    alone = run(pipe, keyframes, lv.KeyframeSamplingSettings(mode="segment", direction="bidirectional",
                                                             reverse_motion_bucket_id=30))
    assert (alone - two).abs().max() <= 1e-3  # batched matmuls (test_diffusers_keyframe_segments.py)
    assert (alone - one).abs().max() > 1e-3  # the reverse bucket reached the backward pass


def test_the_call_leaves_the_unet_as_it_was(pipe, keyframes):
    before = pipe.unet.__dict__.get("forward"), pipe.unet.__dict__.get("_old_forward")
    run(pipe, keyframes)
    assert (pipe.unet.__dict__.get("forward"), pipe.unet.__dict__.get("_old_forward")) == before


def unet_pair(pipe, share, hints, frames=4):
    inputs = unet_inputs(pipe.unet, frames, batch=2)
    image = pipe.video_processor.numpy_to_pil(pipe.video_processor.pt_to_numpy(torch.rand(1, 3, SIZE, SIZE)))
    clips = BackwardClips(Bidirectional(backward_share=share), hints, image, frames - 1)
    return inputs, clips


def test_no_backward_weight_is_the_forward_unet_exactly(pipe):
    inputs, clips = unet_pair(pipe, 0.0, torch.randn(1, 4, 4, 4, 4))
    with torch.no_grad():
        plain = pipe.unet(**inputs).sample
        with bidirectional_unet(pipe, clips):
            silent = pipe.unet(**inputs).sample
        with bidirectional_unet(pipe, BackwardClips(Bidirectional(), clips.hints, clips.images, 3)):
            heard = pipe.unet(**inputs).sample
    assert torch.equal(silent, plain)
    assert (heard - plain).abs().max() > 1e-4


def test_a_palindrome_with_the_same_keyframe_at_both_ends_stays_a_palindrome(pipe):
    """A == B: backward hint and embedding equal the forward ones, so the backward pass of a palindrome is
    the forward pass and the mirrored ramps give a palindromic fused output; forward alone is not one."""
    inputs, clips = unet_pair(pipe, 1.0, None, frames=5)
    sample = inputs["sample"]
    sample = torch.cat([sample[:, :3], sample[:, :2].flip(1)], dim=1)
    sample[:, :, 4:] = sample[:1, :1, 4:]  # every frame hinted with A (the uncond half too)
    inputs = dict(inputs, sample=sample)
    inputs["encoder_hidden_states"][:] = pipe._encode_image(clips.images, "cpu", 1, False)
    clips = BackwardClips(clips.settings, sample[1:, :, 4:].clone(), clips.images, 4)
    with torch.no_grad(), bidirectional_unet(pipe, clips):
        both = pipe.unet(**inputs).sample
    forward = pipe.unet(**inputs).sample
    assert (both - both.flip(1)).abs().max() <= 1e-5
    assert (forward - forward.flip(1)).abs().max() > 1e-3


def test_a_loop_ends_on_its_first_keyframe(pipe, keyframes):
    looped = lv.KeyframeSettings(K, loop=True)
    video = run(pipe, keyframes[:2], settings=looped)
    assert video.shape[1] == 2 * K + 1
    pins = scaled_keyframes(pipe, keyframes[:2])
    assert (video[0, -1] - pins[0]).abs().max() <= 1e-5 and (video[0, K] - pins[1]).abs().max() <= 1e-5
    one = run(pipe, keyframes[:1], settings=looped, sampling=lv.KeyframeSamplingSettings(mode="whole"))
    assert one.shape[1] == K + 1 and (one[0, -1] - pins[0]).abs().max() <= 1e-5
    with pytest.raises(ValueError, match="loop is on but the keyframes already end on the first keyframe"):
        run(pipe, torch.cat([keyframes[:2], keyframes[:1]]), settings=looped)


@pytest.mark.parametrize("sampling, word", [
    (lambda: lv.KeyframeSamplingSettings(direction="backward"), "direction must be one of forward, bidirectional"),
    (lambda: lv.KeyframeSamplingSettings(reverse_motion_bucket_id=200), "needs direction bidirectional"),
])
def test_bad_direction_settings_are_named(sampling, word):
    with pytest.raises(ValueError, match=word):
        sampling()
