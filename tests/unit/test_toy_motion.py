"""The quality benchmark's synthetic clips (tests/quality/toy_motion.py): known, exact ground truth."""
import dataclasses
import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quality"))
import toy_motion as tm

SPEC = tm.ClipSpec(start=(8.0, 8.0), fps=8, motion_bucket_id=0, colour=2, background_seed=5)


def test_fps_sets_speed_and_motion_bucket_sets_direction():
    east = tm.trajectory(SPEC, 3)
    assert torch.allclose(east[1] - east[0], torch.tensor([1.0, 0.0]), atol=1e-6)  # fps 8 -> 1 px/frame
    north = tm.trajectory(dataclasses.replace(SPEC, fps=4, motion_bucket_id=64), 3)  # a quarter turn
    assert torch.allclose(north[2] - north[0], torch.tensor([0.0, 1.0]), atol=1e-6)
    diagonal = tm.trajectory(dataclasses.replace(SPEC, fps=12, motion_bucket_id=160), 2)  # 225 degrees
    step = 1.5 / math.sqrt(2)
    assert torch.allclose(diagonal[1] - diagonal[0], torch.tensor([-step, -step]), atol=1e-6)


def test_disk_wraps_around_and_keeps_its_direction():
    spec = dataclasses.replace(SPEC, start=(13.0, 8.0), fps=16)  # 2 px/frame towards the right edge at 16
    x = tm.trajectory(spec, 5)[:, 0]
    assert x.tolist() == pytest.approx([13.0, 15.0, 1.0, 3.0, 5.0])  # re-enters on the left, same velocity
    masks = tm.disk_mask(tm.trajectory(spec, 5))
    assert torch.allclose(masks.sum((1, 2)), masks[0].sum().expand(5))  # the disk is whole across the seam
    long = tm.trajectory(dataclasses.replace(SPEC, fps=12, motion_bucket_id=37), 200)
    assert long.min() >= 0 and long.max() < tm.SIZE


def test_background_is_periodic_so_the_seam_is_invisible():
    bg = tm.background(7)
    rolled = torch.roll(bg, shifts=(5, 9), dims=(1, 2))
    # whole waves per side: the field continues smoothly across the edge (neighbour differences stay small)
    assert (bg[:, :, 0] - bg[:, :, -1]).abs().max() < 4 * (bg[:, :, 1:] - bg[:, :, :-1]).abs().max()
    assert (rolled[:, 0] - rolled[:, -1]).abs().max() < 4 * (bg[:, 1:] - bg[:, :-1]).abs().max()


def test_training_clips_cover_the_keyframe_speeds_and_hide_some_directions():
    g = torch.Generator().manual_seed(0)
    specs = [tm.random_training_spec(g) for _ in range(400)]
    assert {s.fps for s in specs} >= set(tm.EVAL_FPS)
    assert max(s.fps for s in specs) >= 50 and min(s.fps for s in specs) == tm.TRAIN_FPS_RANGE[0]
    hidden = [s for s in specs if s.motion_bucket_id == tm.UNKNOWN_DIRECTION]
    assert 0.05 < len(hidden) / len(specs) < 0.15
    assert all(s.direction_bucket in tm.TRAIN_MOTION_BUCKETS for s in hidden)
    assert hidden[0].velocity != (0.0, 0.0)


def test_clip_is_still_background_plus_the_moving_disk():
    clip = tm.render(SPEC, 8)
    assert clip.shape == (8, tm.CHANNELS, tm.SIZE, tm.SIZE)
    bg = tm.background(SPEC.background_seed)
    masks = tm.disk_mask(tm.trajectory(SPEC, 8))
    away = masks.sum(0) == 0
    assert torch.equal(clip[:, :, away], bg[None].expand(8, -1, -1, -1)[:, :, away])
    inside = masks[5] == 1
    assert torch.allclose((clip[5] - bg)[:, inside], tm.PALETTE[SPEC.colour][:, None].expand(-1, int(inside.sum())))
    assert masks[0].sum() == pytest.approx(math.pi * tm.RADIUS ** 2, rel=0.05)


def test_concat_latent_is_the_unscaled_first_frame_and_ids_are_svds():
    clip = tm.render(SPEC, 4)
    assert torch.allclose(tm.concat_latent(clip) * tm.SCALING_FACTOR, clip[0])
    assert tm.added_time_ids(SPEC) == [7.0, 0.0, 0.0]  # fps - 1, as diffusers and ComfyUI pass it


def test_generation_is_deterministic_and_varied():
    a, b = tm.eval_specs(8), tm.eval_specs(8)
    assert a == b
    assert len({(s.fps, s.motion_bucket_id, s.colour) for s in a}) > 3
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(tm.training_batch(2, 8, g1)[0], tm.training_batch(2, 8, g2)[0])
    assert not torch.equal(tm.background(1), tm.background(2))
