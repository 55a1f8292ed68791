import pytest
import torch

from longer_video.nodes.techniques.keyframe_interpolation import (
    hint_sources, keyframe_indices, output_frame_count, per_frame, pin_mask, pinned_latent, pinned_steps,
    segment_ranges, stitch_segments, validate_keyframe_settings,
)
from longer_video.nodes.techniques.svd import FrameSize


@pytest.mark.parametrize("keyframes, between, frames", [(5, 4, 17), (17, 4, 65), (2, 1, 2), (2, 24, 25), (3, 7, 15)])
def test_output_frame_count_is_the_stage_arithmetic(keyframes, between, frames):
    assert output_frame_count(keyframes, between) == frames
    assert keyframe_indices(keyframes, between)[-1] == frames - 1


def test_hierarchy_5_17_65():
    assert output_frame_count(output_frame_count(5, 4), 4) == 65


def test_hold_is_the_original_repeat_interleave():
    keyframes = torch.arange(5)
    expected = keyframes.repeat_interleave(4)[:17]
    expected = torch.cat([expected, keyframes[-1:]])[:17]
    assert torch.equal(hint_sources(5, 4, "hold"), expected)
    assert hint_sources(5, 4, "hold").tolist()[:9] == [0, 0, 0, 0, 1, 1, 1, 1, 2]


def test_nearest_splits_each_gap_and_ties_go_to_the_earlier_keyframe():
    assert hint_sources(3, 4, "nearest").tolist() == [0, 0, 0, 1, 1, 1, 1, 2, 2]
    assert hint_sources(2, 5, "nearest").tolist() == [0, 0, 0, 1, 1, 1]


def test_first_is_stock_behaviour():
    assert hint_sources(4, 3, "first").tolist() == [0] * 10


@pytest.mark.parametrize("hint", ["hold", "nearest", "first"])
def test_every_keyframe_frame_is_hinted_with_its_own_keyframe_unless_first(hint):
    sources = hint_sources(6, 3, hint)
    indices = keyframe_indices(6, 3)
    assert sources[indices].tolist() == ([0] * 6 if hint == "first" else list(range(6)))


def test_per_frame_and_pinned_latent_place_keyframes():
    latents = torch.randn(3, 4, 2, 2)
    hints = per_frame(latents, 4, "hold")
    assert hints.shape == (9, 4, 2, 2) and torch.equal(hints[5], latents[1])
    pinned = pinned_latent(latents, 4)
    assert torch.equal(pinned[[0, 4, 8]], latents)
    assert pinned[[1, 2, 3, 5, 6, 7]].abs().sum() == 0


def test_pin_mask_has_exactly_one_mask_per_frame():
    mask = pin_mask(5, 4, 3, 2)
    assert mask.shape == (17, 1, 3, 2)
    assert mask[:, 0, 0, 0].tolist() == [0.0 if t % 4 == 0 else 1.0 for t in range(17)]


@pytest.mark.parametrize("steps, release, pinned", [(20, 1.0, 20), (20, 0.0, 0), (20, 0.5, 10), (3, 0.5, 2), (10, 0.74, 7)])
def test_pinned_steps(steps, release, pinned):
    assert pinned_steps(steps, release) == pinned


def test_segments_cover_every_frame_and_share_end_keyframes():
    ranges = segment_ranges(17, 4)
    assert ranges == [(0, 5), (4, 9), (8, 13), (12, 17)]
    with pytest.raises(ValueError, match="LongerVideoKeyframeConditioning"):
        segment_ranges(16, 4)


def test_stitch_keeps_one_copy_of_each_shared_keyframe_and_round_trips():
    video = torch.randn(17, 4, 2, 2)
    segments = [video[s:e].clone() for s, e in segment_ranges(17, 4)]
    assert torch.equal(stitch_segments(segments, 4), video)
    segments[1][0] += 2.0  # released pins: the two clips disagree on the shared keyframe (frame 4)
    stitched = stitch_segments(segments, 4)
    assert torch.equal(stitched[4], segments[0][-1])  # one sample, not a blend of two
    assert not torch.allclose(stitched[4], (segments[0][-1] + segments[1][0]) / 2)


@pytest.mark.parametrize("args, word", [
    ((1, 4), "keyframes"), ((5, 0), "frames_between"), ((5, 4, "linear"), "hint"), ((5, 4, "hold", 1.5), "pin_release"),
])
def test_bad_settings_name_the_input(args, word):
    with pytest.raises(ValueError, match=word):
        validate_keyframe_settings(*args)


@pytest.mark.parametrize("width, height, word", [(100, 64, "width"), (64, 60, "height"), (0, 64, "width")])
def test_frame_size_must_be_multiples_of_8(width, height, word):
    with pytest.raises(ValueError, match=word):
        FrameSize(width, height)
