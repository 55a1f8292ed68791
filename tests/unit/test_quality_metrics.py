"""The quality benchmark's measures (tests/quality/metrics.py) on clips whose answer is known."""
import dataclasses
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quality"))
import metrics
import toy_motion as tm

SPEC = tm.ClipSpec(start=(4.0, 6.0), fps=8, motion_bucket_id=32, colour=1, background_seed=11)


def test_true_clip_scores_perfectly():
    s = metrics.score_clip(tm.render(SPEC, 16), SPEC)
    assert s.trajectory_error < 0.05 and s.detection_rate == 1.0
    assert s.identity_drift < 0.05 and s.flicker == 0.0


def test_true_clip_moves_at_the_true_velocity_across_the_seam():
    fast = dataclasses.replace(SPEC, start=(14.0, 1.0), fps=40, motion_bucket_id=160)  # 5 px/frame, wraps often
    s = metrics.score_clip(tm.render(fast, 24), fast)
    assert s.trajectory_error < 0.05 and s.velocity_error < 0.05 and s.motion_alive == 1.0


def test_copying_the_first_frame_scores_its_displacement():
    truth = tm.trajectory(SPEC, 8)
    copy = tm.render(SPEC, 1).expand(8, -1, -1, -1)
    s = metrics.score_clip(copy, SPEC)
    expected = torch.linalg.vector_norm(truth[1:] - truth[0], dim=1).mean()
    assert s.trajectory_error == pytest.approx(float(expected), abs=0.05)
    assert s.detection_rate == 1.0 and s.identity_drift < 0.05  # the disk is intact, only in the wrong place
    assert s.velocity_error == pytest.approx(SPEC.speed, abs=0.05)  # it stands still: off by the whole velocity


def test_frozen_video_past_the_trained_length_is_not_alive():
    frames = 20
    moving = tm.render(SPEC, frames)
    frozen = torch.cat([moving[:10], moving[9:10].expand(frames - 10, -1, -1, -1)])
    assert metrics.score_clip(moving, SPEC).motion_alive == 1.0
    s = metrics.score_clip(frozen, SPEC)
    # pairs from t=7 on: (7,8) and (8,9) move, the remaining 10 do not
    assert s.motion_alive == pytest.approx(2 / 12)


def test_wrong_direction_is_a_velocity_error_but_still_alive():
    backwards = dataclasses.replace(SPEC, motion_bucket_id=SPEC.motion_bucket_id + 128)
    s = metrics.score_clip(tm.render(backwards, 16), SPEC)
    assert s.velocity_error == pytest.approx(2 * SPEC.speed, abs=0.05) and s.motion_alive == 1.0


def test_distances_are_taken_on_the_torus():
    near_seam = dataclasses.replace(SPEC, start=(15.5, 8.0), fps=0)
    other_side = dataclasses.replace(near_seam, start=(0.5, 8.0))
    s = metrics.score_clip(tm.render(other_side, 4), near_seam)
    assert s.trajectory_error == pytest.approx(1.0, abs=0.1)  # 1 px across the seam, not 15


def test_a_shifted_disk_is_found_where_it_is():
    shifted = dataclasses.replace(SPEC, start=(SPEC.start[0] + 1.5, SPEC.start[1]))
    s = metrics.score_clip(tm.render(shifted, 6), SPEC)
    assert s.trajectory_error == pytest.approx(1.5, abs=0.1)


def test_missing_disk_counts_the_worst_error():
    s = metrics.score_clip(tm.render(SPEC, 8) * 0 + tm.background(SPEC.background_seed), SPEC)
    assert s.detection_rate == 0.0 and s.trajectory_error == pytest.approx(metrics.MISS_PENALTY)
    assert s.identity_drift == 1.0


def test_identity_drift_sees_size_and_colour():
    small = tm.background(SPEC.background_seed)[None] + tm.disk_mask(tm.trajectory(SPEC, 4), radius=1.6)[:, None] * \
        tm.PALETTE[SPEC.colour][None, :, None, None]
    mixed = tm.render(dataclasses.replace(SPEC, colour=0), 4) * 0.5 + tm.render(SPEC, 4) * 0.5
    assert metrics.score_clip(small, SPEC).identity_drift > 0.3
    assert metrics.score_clip(mixed, SPEC).identity_drift > 0.3


def test_flicker_measures_background_change_only():
    clip = tm.render(SPEC, 8)
    g = torch.Generator().manual_seed(0)
    noisy = clip + 0.1 * torch.randn(clip.shape, generator=g)
    assert metrics.flicker(noisy, SPEC) == pytest.approx(0.1 * 2 / torch.pi ** 0.5, rel=0.1)  # E abs(N(0, 2 sd^2))
    assert metrics.flicker(clip, SPEC) == 0.0


def test_standard_error():
    mean, se = metrics.mean_and_standard_error([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and se == pytest.approx(1.2909944 / 2)


def test_paired_difference_removes_the_clips_own_spread():
    baseline = [1.0, 5.0, 9.0, 13.0]
    better = [b - 0.5 + d for b, d in zip(baseline, [0.1, -0.1, 0.1, -0.1])]
    mean, se = metrics.paired_difference(better, baseline)
    assert mean == pytest.approx(-0.5) and se < 0.1  # unpaired, the standard errors would be ~2.6
    with pytest.raises(ValueError, match="same clips"):
        metrics.paired_difference([1.0], baseline)


def test_loop_seam_is_zero_for_a_true_loop_and_the_jump_back_for_a_clip_that_does_not_loop():
    frames = 32  # fps 4: 0.5 px per frame, 16 px in 32 frames: once round the torus
    looping = dataclasses.replace(SPEC, fps=4, motion_bucket_id=0)
    assert metrics.score_clip(tm.render(looping, frames), looping, loop=True).seam_error < 0.05
    assert metrics.score_clip(tm.render(looping, frames), looping).seam_error != metrics.score_clip(
        tm.render(looping, frames), looping).seam_error  # nan: not a loop, not measured
    faster = dataclasses.replace(looping, fps=6)  # 0.75 px per frame: frame 31 is 23.25 px along x, i.e. 7.25
    s = metrics.score_clip(tm.render(faster, frames), faster, loop=True)  # on the torus; back to 0 is a -7.25 px step
    assert s.seam_error == pytest.approx(8.0, abs=0.1)  # against the true +0.75 px step
