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


def test_disk_bounces_off_the_walls():
    spec = dataclasses.replace(SPEC, start=(12.0, 8.0), fps=8)  # 1 px/frame towards the wall at 13.5
    x = tm.trajectory(spec, 6)[:, 0]
    assert x.tolist() == pytest.approx([12.0, 13.0, 13.0, 12.0, 11.0, 10.0])  # 13.5 reached at t=1.5, reflected
    long = tm.trajectory(dataclasses.replace(SPEC, fps=12, motion_bucket_id=37), 200)
    assert long.min() >= tm.RADIUS - 1e-5 and long.max() <= tm.SIZE - tm.RADIUS + 1e-5


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
