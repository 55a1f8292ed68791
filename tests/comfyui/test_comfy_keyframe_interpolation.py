"""Module tier: keyframe conditioning, exact pins, pin release and segment mode on a tiny SVD model."""
import pytest
import torch
from comfy_models import build_svd_model, model_patcher
from comfy_sampling import CONFIG, STEPS, clip_embeds, conditioning, keyframe_latents, ksample, run_sampler_node

from longer_video.nodes.comfy_patches.keyframe_interpolation import FRAMES_BETWEEN_KEY
from longer_video.nodes.comfy_patches.keyframe_interpolation_sampling import SamplerSettings, sample_segments, segment_inputs
from longer_video.nodes.keyframe_interpolation import LongerVideoKeyframeConditioning
from longer_video.nodes.techniques.keyframe_interpolation import KeyframeSettings, segment_ranges

@pytest.fixture(scope="module")
def stock():
    return model_patcher(build_svd_model(CONFIG))


def test_hint_first_without_pins_is_stock_svd_conditioning(stock):
    # SVD_img2vid_Conditioning: one (1,1,D) embed and one (1,4,h,w) init latent for every frame
    latents, embeds = keyframe_latents(3), clip_embeds(3)
    values = {"motion_bucket_id": 100, "fps": 7, "augmentation_level": 0.0}
    stock_positive = [[embeds[:1].unsqueeze(0), dict(values, concat_latent_image=latents[:1])]]
    stock_negative = [[torch.zeros(1, 1, CONFIG["context_dim"]), dict(values, concat_latent_image=torch.zeros_like(latents[:1]))]]
    positive, negative, latent = conditioning(embeds, latents, 4, "first", False, 1.0, 100, 7, 0.0)
    assert latent["samples"].shape == (9, 4, 4, 4) and "noise_mask" not in latent
    ours = ksample(stock, positive, negative, latent)["samples"]
    reference = ksample(stock, stock_positive, stock_negative, {"samples": torch.zeros(9, 4, 4, 4)})["samples"]
    assert torch.allclose(ours, reference, atol=1e-5)


def test_hold_hints_change_the_video(stock):
    latents, embeds = keyframe_latents(3), clip_embeds(3)
    first = ksample(stock, *conditioning(embeds, latents, 4, "first", False))["samples"]
    hold = ksample(stock, *conditioning(embeds, latents, 4, "hold", False))["samples"]
    assert (hold - first)[4:].abs().max() > 1e-3


@pytest.mark.parametrize("sampler", ["euler", "euler_ancestral", "dpmpp_2m"])
def test_pinned_keyframes_come_out_exactly(stock, sampler):
    latents = keyframe_latents(3)
    positive, negative, latent = conditioning(clip_embeds(3), latents, 4, "hold", True, 1.0)
    assert latent["noise_mask"].shape[0] == 9  # exactly T per-frame masks
    out = ksample(stock, positive, negative, latent, sampler=sampler)["samples"]
    assert (out[[0, 4, 8]] - latents).abs().max() <= 1e-5
    assert (out[[1, 2, 3]] - latents[0]).abs().max() > 1e-2  # in-betweens are generated


def test_pin_release_frees_the_keyframes_after_the_fraction(stock):
    latents = keyframe_latents(3)
    embeds = clip_embeds(3)
    pinned = ksample(stock, *conditioning(embeds, latents, 4, "hold", True, 1.0))["samples"]
    released = ksample(stock, *conditioning(embeds, latents, 4, "hold", True, 0.34))["samples"]
    never = ksample(stock, *conditioning(embeds, latents, 4, "hold", True, 0.0))["samples"]
    assert (released[[0, 4, 8]] - latents).abs().max() > 1e-3
    assert (released - pinned).abs().max() > 1e-3 and (released - never).abs().max() > 1e-3
    assert (pinned[[0, 4, 8]] - latents).abs().max() <= 1e-5


def test_pin_release_hook_is_scoped_to_the_run(stock):
    latents = keyframe_latents(3)
    ksample(stock, *conditioning(clip_embeds(3), latents, 4, "hold", True, 0.5))
    assert not stock.wrappers.get("sampler_sample")
    positive, negative, latent = conditioning(clip_embeds(3), latents, 4, "hold", True, 1.0)
    out = ksample(stock, positive, negative, latent)["samples"]
    assert (out[[0, 4, 8]] - latents).abs().max() <= 1e-5


def test_segment_mode_equals_sampling_each_gap_by_hand(stock):
    latents = keyframe_latents(4)
    positive, negative, latent = conditioning(clip_embeds(4), latents, 3, "hold", True, 1.0)
    seed = 11
    ours = sample_segments(stock, positive, negative, latent, SamplerSettings(seed, STEPS, 2.5, "euler", "karras"))["samples"]
    by_hand = []
    for g, (start, end) in enumerate(segment_ranges(10, 3)):
        pos, neg, sub = segment_inputs(positive, negative, latent, start, end)
        assert sub["noise_mask"].shape[0] == 4 and pos[0][0].shape[0] == 4
        by_hand.append(ksample(stock, pos, neg, sub, seed=seed + g)["samples"])
    expected = torch.cat([by_hand[0]] + [s[1:] for s in by_hand[1:]])
    assert ours.shape == (10, 4, 4, 4)
    assert torch.allclose(ours, expected, atol=1e-5)
    assert (ours[[0, 3, 6, 9]] - latents).abs().max() <= 1e-5


def test_batched_segments_match_sequential_ones(stock):
    latents = keyframe_latents(4)
    positive, negative, latent = conditioning(clip_embeds(4), latents, 3, "hold", True, 1.0)
    one = sample_segments(stock, positive, negative, latent, SamplerSettings(5, STEPS, 2.5, "euler", "karras"), 1)["samples"]
    two = sample_segments(stock, positive, negative, latent, SamplerSettings(5, STEPS, 2.5, "euler", "karras"), 2)["samples"]
    assert torch.allclose(one, two, atol=1e-4)
    whole = run_sampler_node(stock, positive, negative, latent, 5, STEPS, "whole")
    assert torch.allclose(whole, ksample(stock, positive, negative, latent, seed=5)["samples"], atol=1e-6)
    assert (whole - one).abs().max() > 1e-3  # whole mode is one clip: a different video


def test_segment_mode_refuses_a_plain_latent(stock):
    positive, negative, latent = conditioning(clip_embeds(2), keyframe_latents(2), 3)
    del latent[FRAMES_BETWEEN_KEY]
    with pytest.raises(ValueError, match="LongerVideoKeyframeSampler: latent_image must come from"):
        run_sampler_node(stock, positive, negative, latent, 0, 1, "segment")


def node_kwargs(**overrides):
    kwargs = dict(frames_between=4, width=32, height=32, motion_bucket_id=127, fps=6, augmentation_level=0.0,
                  hint="hold", pin_keyframes=True, pin_release=1.0)
    kwargs.update(overrides)
    return kwargs


def test_conditioning_node_encodes_images_and_pins_their_latents(clip_vision, vae, stock):
    images = torch.rand(3, 32, 32, 3, generator=torch.Generator().manual_seed(0))
    positive, negative, latent = LongerVideoKeyframeConditioning.execute(clip_vision, vae, keyframes=images,
                                                                         **node_kwargs()).result
    expected = vae.encode(images)
    assert latent["samples"].shape == (9, 4, 4, 4)
    assert torch.allclose(latent["samples"][[0, 4, 8]], expected)
    assert positive[0][0].shape == (9, 1, CONFIG["context_dim"])
    assert torch.allclose(positive[0][0][5, 0], clip_vision.encode_image(images[1:2]).image_embeds[0], atol=1e-5)
    out = ksample(stock, positive, negative, latent)["samples"]
    assert (out[[0, 4, 8]] - expected).abs().max() <= 1e-5
    # a stage's LATENT chains into the next stage without a VAE round trip
    _, _, stage2 = LongerVideoKeyframeConditioning.execute(clip_vision, vae, keyframe_latents={"samples": out},
                                                           clip_images=images[:1], **node_kwargs()).result
    assert stage2["samples"].shape[0] == 33 and torch.equal(stage2["samples"][::4], out)


@pytest.mark.parametrize("inputs, overrides, words", [
    ({"keyframes": torch.rand(1, 32, 32, 3)}, {}, ["keyframes", "at least 2"]),
    ({"keyframe_latents": {"samples": torch.randn(3, 8, 4, 4)}, "clip_images": torch.rand(1, 32, 32, 3)}, {},
     ["keyframe_latents", "4"]),
    ({"keyframe_latents": {"samples": torch.randn(3, 4, 5, 4)}, "clip_images": torch.rand(1, 32, 32, 3)}, {},
     ["keyframe_latents", "width"]),
    ({"keyframe_latents": {"samples": torch.randn(3, 4, 4, 4)}}, {}, ["clip_images"]),
    ({"keyframes": torch.rand(3, 32, 32, 3), "clip_images": torch.rand(2, 32, 32, 3)}, {}, ["clip images", "3"]),
    ({}, {}, ["keyframes", "keyframe_latents"]),
    ({"keyframes": torch.rand(3, 32, 32, 3)}, {"width": 36}, ["width", "multiple of 8"]),
])
def test_conditioning_node_errors_name_the_input(clip_vision, vae, inputs, overrides, words):
    with pytest.raises(ValueError) as info:
        LongerVideoKeyframeConditioning.execute(clip_vision, vae, **inputs, **node_kwargs(**overrides))
    assert str(info.value).startswith("LongerVideoKeyframeConditioning")
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("overrides, word", [({"width": 100}, "width"), ({"height": 30}, "height")])
def test_conditioning_validation_names_the_input(overrides, word):
    # the rest (frames_between, hint, pin_release) are single-input ranges and combos that ComfyUI checks itself
    size = {key: node_kwargs(**overrides)[key] for key in ("width", "height")}
    message = LongerVideoKeyframeConditioning.validate_inputs(**size)
    assert isinstance(message, str) and word in message
    assert LongerVideoKeyframeConditioning.validate_inputs(width=32, height=32) is True


@pytest.mark.parametrize("overrides, word", [
    ({"frames_between": 0}, "frames_between"), ({"hint": "cubic"}, "hint"), ({"pin_release": 2.0}, "pin_release"),
])
def test_keyframe_settings_name_the_input(overrides, word):
    with pytest.raises(ValueError, match=word):
        KeyframeSettings(**{k: v for k, v in node_kwargs(**overrides).items() if k in KeyframeSettings.__dataclass_fields__})


def test_augmentation_with_keyframe_latents_is_refused(clip_vision, vae):
    # the hints would be clean latents while SVD is told they were noised
    with pytest.raises(ValueError) as info:
        LongerVideoKeyframeConditioning.execute(clip_vision, vae, keyframe_latents={"samples": keyframe_latents(3)},
                                                clip_images=torch.rand(1, 32, 32, 3),
                                                **node_kwargs(augmentation_level=0.1))
    assert str(info.value).startswith("LongerVideoKeyframeConditioning") and "augmentation_level" in str(info.value)


def test_pin_release_reports_every_step_of_the_whole_run(stock):
    import comfy.sample

    positive, negative, latent = conditioning(clip_embeds(3), keyframe_latents(3), 4, release=0.5)
    seen = []
    noise = comfy.sample.prepare_noise(latent["samples"], 0)
    comfy.sample.sample(stock, noise, 4, 2.5, "euler", "karras", positive, negative, latent["samples"],
                        noise_mask=latent["noise_mask"], seed=0,
                        callback=lambda step, x0, x, total: seen.append((step + 1, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
