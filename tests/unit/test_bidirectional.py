import pytest
import torch

from longer_video.nodes.techniques.bidirectional import (
    Bidirectional, backward_weights, check_direction, flip_clips, fuse, mirrored_sources,
)
from longer_video.nodes.techniques.errors import InputError
from longer_video.nodes.techniques.keyframe_interpolation import (
    KeyframeSamplingSettings, KeyframeSettings, hint_sources,
)


def test_the_backward_hint_of_a_gap_is_its_end_keyframe():
    assert mirrored_sources(hint_sources(3, 4, "hold"), 3).tolist() == [0, 1, 1, 1, 1, 2, 2, 2, 2]
    assert mirrored_sources(hint_sources(3, 4, "nearest"), 3).tolist() == [0, 0, 1, 1, 1, 1, 2, 2, 2]  # ties later
    assert mirrored_sources(hint_sources(3, 4, "first"), 3).tolist() == [2] * 9


@pytest.mark.parametrize("hint", ["hold", "nearest", "first"])
def test_mirroring_twice_is_the_forward_map(hint):
    sources = hint_sources(5, 3, hint)
    assert torch.equal(mirrored_sources(mirrored_sources(sources, 5), 5), sources)


def test_weights_ramp_from_the_start_to_the_end_keyframe_of_each_gap():
    assert backward_weights(5, 4).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert backward_weights(7, 3).tolist() == pytest.approx([0, 1 / 3, 2 / 3, 0.5, 1 / 3, 2 / 3, 1])
    assert backward_weights(5, 4, backward_share=0.0).tolist() == [0.0] * 5


@pytest.mark.parametrize("frames, between", [(5, 4), (9, 4), (13, 3), (2, 1)])
def test_weights_are_symmetric_under_time_reversal(frames, between):
    weights = backward_weights(frames, between)
    assert torch.allclose(weights.flip(0), 1 - weights)


def test_weights_refuse_a_clip_that_is_not_whole_gaps():
    with pytest.raises(InputError, match="not \\(keyframes-1\\)\\*4\\+1"):
        backward_weights(6, 4)


def test_flip_clips_reverses_within_each_clip_only():
    batch = torch.arange(6)
    assert flip_clips(batch, 3).tolist() == [2, 1, 0, 5, 4, 3]
    with pytest.raises(InputError, match="whole clips of 4"):
        flip_clips(batch, 4)


def test_fuse_blends_the_reversed_backward_estimate_back_in_order():
    forward = torch.zeros(3, 2)
    backward_reversed = torch.tensor([[3.0, 3], [2, 2], [1, 1]])  # frames 2, 1, 0 as the backward pass saw them
    out = fuse(forward, backward_reversed, torch.tensor([0.0, 0.5, 1.0]), 3)
    assert out.tolist() == [[0, 0], [1, 1], [3, 3]]


def test_fuse_with_no_backward_weight_is_the_forward_estimate_exactly():
    forward, backward = torch.randn(10, 4, 2, 2), torch.randn(10, 4, 2, 2)
    assert torch.equal(fuse(forward, backward, backward_weights(5, 4, 0.0).repeat(2), 5), forward)


def test_direction_settings_are_checked_where_they_are_made():
    assert KeyframeSamplingSettings().bidirectional is None
    assert KeyframeSamplingSettings(direction="bidirectional", reverse_motion_bucket_id=255).bidirectional == \
        Bidirectional(255)
    with pytest.raises(InputError, match="direction must be one of forward, bidirectional; got 'backward'"):
        KeyframeSamplingSettings(direction="backward")
    with pytest.raises(InputError, match="reverse_motion_bucket_id \\(3\\) needs direction bidirectional"):
        KeyframeSamplingSettings(reverse_motion_bucket_id=3)
    for bad in (-2, 1.5, True):
        with pytest.raises(InputError, match="reverse_motion_bucket_id must be None"):
            check_direction("bidirectional", bad)
    with pytest.raises(InputError, match="backward_share"):
        Bidirectional(backward_share=1.5)


def test_loop_adds_the_first_keyframe_after_the_last():
    assert KeyframeSettings(loop=True).stage_keyframes(4) == 5
    assert KeyframeSettings().stage_keyframes(4) == 4
