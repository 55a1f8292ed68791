"""Module tier: bidirectional keyframe sampling and loops on ComfyUI's own SVD classes.

Exact pins with every sampler (fp32 and bf16), batched gaps equal to one at a time, whole == segment
for one gap, the fusion's limits (no backward weight = forward; A == B on a palindrome stays a
palindrome), loops, composition with the pack's patches, and refused combinations.
"""
import comfy.samplers
import pytest
import torch
from comfy_models import build_svd_model, model_patcher
from comfy_sampling import CONFIG, clip_embeds, conditioning, keyframe_latents, ksample, run_sampler_node

from longer_video.nodes.comfy_patches.bidirectional import bidirectional_model, with_backward_pass
from longer_video.nodes.comfy_patches.keyframe_interpolation_sampling import SamplerSettings, sample_segments
from longer_video.nodes.keyframe_interpolation import LongerVideoKeyframeSampler
from longer_video.nodes.techniques.bidirectional import Bidirectional

SAMPLERS = list(comfy.samplers.KSampler.SAMPLERS)
STEPS = 3
BOTH = {"direction": "bidirectional"}


@pytest.fixture(scope="module")
def stock():
    return model_patcher(build_svd_model(CONFIG))


@pytest.fixture(scope="module")
def bf16():
    return model_patcher(build_svd_model(CONFIG, dtype=torch.bfloat16))


def assert_pinned(out, latents, k):
    assert (out[::k] - latents).abs().max() <= 1e-5, float((out[::k] - latents).abs().max())
    assert (out[1:k] - latents[0]).abs().max() > 1e-3  # the in-betweens were sampled


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_pins_are_exact_with_every_sampler(stock, sampler):
    """One gap (whole mode: one gap is segment mode exactly, tested below); several gaps: bf16 and batched tests."""
    latents = keyframe_latents(2)
    positive, negative, latent = conditioning(clip_embeds(2), latents, 3)
    out = run_sampler_node(stock, positive, negative, latent, 7, 2, "whole", sampler=sampler, **BOTH)
    assert_pinned(out, latents, 3)


@pytest.mark.parametrize("sampler", ["euler", "euler_ancestral", "dpmpp_2m", "uni_pc"])
def test_pins_are_exact_in_bf16(bf16, sampler):
    latents = keyframe_latents(3)
    positive, negative, latent = conditioning(clip_embeds(3), latents, 4)
    for mode, batch in (("segment", 2), ("whole", 1)):
        out = run_sampler_node(bf16, positive, negative, latent, 7, STEPS, mode, batch, sampler=sampler, **BOTH)
        assert torch.isfinite(out).all()
        assert_pinned(out, latents, 4)


@pytest.mark.parametrize("sampler", ["euler_ancestral", "dpmpp_2m_sde", "ddim", "uni_pc"])
def test_batched_gaps_equal_one_gap_at_a_time(stock, sampler):
    positive, negative, latent = conditioning(clip_embeds(4), keyframe_latents(4), 3)
    one = run_sampler_node(stock, positive, negative, latent, 5, STEPS, "segment", 1, sampler=sampler, **BOTH)
    three = run_sampler_node(stock, positive, negative, latent, 5, STEPS, "segment", 3, sampler=sampler, **BOTH)
    # float rounding of batched vs single UNet calls only (uni_pc amplifies it: 2e-4 forward on outputs of ~20)
    assert (three - one).abs().max() <= 1e-4 * max(1.0, float(one.abs().max()))


def test_one_gap_in_whole_mode_is_that_gap_in_segment_mode(stock):
    positive, negative, latent = conditioning(clip_embeds(2), keyframe_latents(2), 4)
    whole = run_sampler_node(stock, positive, negative, latent, 3, STEPS, "whole", **BOTH)
    segment = run_sampler_node(stock, positive, negative, latent, 3, STEPS, "segment", **BOTH)
    assert torch.equal(whole, segment)


def test_no_backward_weight_is_forward_sampling_exactly(stock):
    """The backward pass runs but weighs 0: the forward pass's inputs and result are untouched by it."""
    positive, negative, latent = conditioning(clip_embeds(3), keyframe_latents(3), 4)
    settings = SamplerSettings(seed=2, steps=STEPS, sampler_name="dpmpp_2m")
    forward = sample_segments(stock, positive, negative, latent, settings, 2)["samples"]
    silent = sample_segments(stock, positive, negative, latent, settings, 2, Bidirectional(backward_share=0.0))
    assert torch.equal(silent["samples"], forward)
    heard = sample_segments(stock, positive, negative, latent, settings, 2, Bidirectional())
    assert (heard["samples"] - forward).abs().max() > 1e-3


def test_a_loop_of_one_keyframe_from_a_palindrome_stays_a_palindrome(stock):
    """A == B (loop of one keyframe): the backward pass of a palindromic latent is the forward pass, and
    the ramps mirror each other (w(T-1-t) = 1 - w(t)), so the fused estimate and every Euler step are
    palindromes too. Forward sampling (ramp 0 everywhere) is not symmetric."""
    import comfy.sample

    k = 4
    positive, negative, latent = conditioning(clip_embeds(1), keyframe_latents(1), k, loop=True)
    noise = torch.randn(k + 1, 4, 4, 4, generator=torch.Generator().manual_seed(0))
    noise = torch.cat([noise[:3], noise[:2].flip(0)])
    assert torch.equal(noise, noise.flip(0))
    sigmas = torch.tensor([14.6, 3.0, 0.6, 0.0])

    def sample(share):
        conds = [with_backward_pass(stock, c, k + 1, k, Bidirectional(backward_share=share), name)
                 for c, name in ((positive, "positive"), (negative, "negative"))]
        return comfy.sample.sample_custom(bidirectional_model(stock), noise, 2.5, comfy.samplers.sampler_object("euler"),
                                          sigmas, *conds, latent["samples"], noise_mask=latent["noise_mask"], seed=0)

    both = sample(1.0)
    assert (both - both.flip(0)).abs().max() <= 1e-4
    forward = sample(0.0)
    assert (forward - forward.flip(0)).abs().max() > 1e-2


@pytest.mark.parametrize("mode", ["segment", "whole"])
def test_a_loop_ends_on_its_first_keyframe(stock, mode):
    latents = keyframe_latents(3)
    positive, negative, latent = conditioning(clip_embeds(3), latents, 4, loop=True)
    assert latent["samples"].shape[0] == 3 * 4 + 1
    out = run_sampler_node(stock, positive, negative, latent, 7, STEPS, mode, 2, **BOTH)
    assert_pinned(out, torch.cat([latents, latents[:1]]), 4)  # exact up to ComfyUI's latent scaling round trip
    assert (out[-1] - out[0]).abs().max() <= 1e-6
    assert (ksample(stock, positive, negative, latent)["samples"][-1] - latents[0]).abs().max() <= 1e-5  # KSampler too


def test_a_loop_is_refused_when_the_keyframes_already_end_on_the_first(stock):
    latents = keyframe_latents(3)
    looped = torch.cat([latents, latents[:1]])
    with pytest.raises(ValueError, match="loop is on but the keyframes already end on the first keyframe"):
        conditioning(clip_embeds(4), looped, 4, loop=True)


def test_bidirectional_composes_with_windows_freenoise_positions_and_chunking(stock):
    from longer_video.nodes.comfy_patches.frame_chunking import apply_frame_chunking
    from longer_video.nodes.comfy_patches.freenoise import apply_freenoise
    from longer_video.nodes.comfy_patches.temporal_positions import apply_temporal_positions
    from longer_video.nodes.comfy_patches.windowed_attention import apply_windowed_attention
    from longer_video.nodes.techniques.frame_chunking import FrameChunkingSettings
    from longer_video.nodes.techniques.freenoise import FreeNoiseSettings
    from longer_video.nodes.techniques.temporal_positions import PositionSettings
    from longer_video.nodes.techniques.windowed_attention import WindowSettings

    model = apply_temporal_positions(stock, PositionSettings("linear", 4))
    model = apply_windowed_attention(model, WindowSettings(4, 2, "pyramid", "block"))
    model = apply_freenoise(model, FreeNoiseSettings(4, 2, "shuffle"))
    model = apply_frame_chunking(model, FrameChunkingSettings(3))
    latents = keyframe_latents(3)
    positive, negative, latent = conditioning(clip_embeds(3), latents, 5)
    one = run_sampler_node(model, positive, negative, latent, 5, 2, "segment", 1, sampler="euler_ancestral", **BOTH)
    two = run_sampler_node(model, positive, negative, latent, 5, 2, "segment", 2, sampler="euler_ancestral", **BOTH)
    assert (two - one).abs().max() <= 1e-4
    assert_pinned(one, latents, 5)


def test_comfyui_context_windows_cut_the_backward_inputs_per_window(stock):
    from comfy_sampling import context_windows

    latents = keyframe_latents(3)
    positive, negative, latent = conditioning(clip_embeds(3), latents, 4)
    out = run_sampler_node(context_windows(stock, 5, 2), positive, negative, latent, 5, STEPS, "whole", **BOTH)
    assert_pinned(out, latents, 4)


def test_a_reverse_motion_bucket_reaches_only_the_backward_pass(stock):
    positive, negative, latent = conditioning(clip_embeds(3), keyframe_latents(3), 4, motion_bucket_id=40)
    same = run_sampler_node(stock, positive, negative, latent, 7, STEPS, "segment", **BOTH)
    explicit = run_sampler_node(stock, positive, negative, latent, 7, STEPS, "segment", reverse_motion_bucket_id=40, **BOTH)
    assert torch.equal(same, explicit)  # -1/None means the forward bucket
    unset = run_sampler_node(stock, positive, negative, latent, 7, STEPS, "segment", reverse_motion_bucket_id=-1, **BOTH)
    assert torch.equal(same, unset)
    other = run_sampler_node(stock, positive, negative, latent, 7, STEPS, "segment", reverse_motion_bucket_id=168, **BOTH)
    assert (other - same).abs().max() > 1e-4


def test_bad_combinations_are_refused_naming_node_and_input(stock):
    message = LongerVideoKeyframeSampler.validate_inputs(sampler_name="euler", segments_per_batch=1, mode="segment",
                                                         direction="forward", reverse_motion_bucket_id=100)
    assert "reverse_motion_bucket_id (100) needs direction bidirectional" in message
    message = LongerVideoKeyframeSampler.validate_inputs(sampler_name="euler", segments_per_batch=1, mode="segment",
                                                         direction="sideways")
    assert "direction must be one of forward, bidirectional" in message
    assert LongerVideoKeyframeSampler.validate_inputs(sampler_name="euler", segments_per_batch=1, mode="whole",
                                                      direction="bidirectional", reverse_motion_bucket_id=-1) is True
    values = {"concat_latent_image": torch.zeros(1, 4, 4, 4), "motion_bucket_id": 127, "fps": 6,
              "augmentation_level": 0.0}  # what SVD_img2vid_Conditioning gives: no backward hints
    stock_positive = [[torch.zeros(1, 1, CONFIG["context_dim"]), values]]
    stock_negative = [[torch.zeros(1, 1, CONFIG["context_dim"]), dict(values)]]
    _, _, latent = conditioning(clip_embeds(2), keyframe_latents(2), 4)
    with pytest.raises(ValueError, match="LongerVideoKeyframeSampler: direction bidirectional needs positive from "
                                         "Keyframe Conditioning"):
        run_sampler_node(stock, stock_positive, stock_negative, latent, 7, STEPS, "whole", **BOTH)
