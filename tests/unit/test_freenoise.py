import pytest
import torch

from longer_video.nodes.techniques.freenoise import FreeNoiseSettings, reschedule_noise


def frame_ids(frames):
    """Noise whose frame t is the constant t, so copies can be traced back."""
    return torch.arange(frames, dtype=torch.float32).view(frames, 1, 1, 1).expand(frames, 4, 2, 2).clone()


@pytest.mark.parametrize("frames, window, stride", [(26, 16, 4), (27, 16, 4), (37, 16, 4), (65, 25, 4), (30, 7, 3), (5, 16, 4)])
def test_shuffle_copies_first_window_frames_and_permutes_each_block(frames, window, stride):
    out = reschedule_noise(frame_ids(frames), FreeNoiseSettings(window, stride, "shuffle"), seed=3)
    ids = out[:, 0, 0, 0].long()
    assert torch.equal(ids[:window], torch.arange(min(window, frames)))  # first window untouched
    assert all(0 <= i < window for i in ids.tolist())  # everything else is a copy of a first-window frame
    for start in range(window, frames, stride):
        count = min(stride, frames - start)
        block = ids[start:start + count]
        source = ids[start - window:start - window + count]
        assert sorted(block.tolist()) == sorted(source.tolist())  # a permutation of the block L earlier
    assert torch.equal(out, out[ids])  # whole frames are copied (all channels and pixels)


def test_shuffle_permutes_and_repeat_copies_in_order():
    frames, window, stride = 65, 25, 8
    shuffled = reschedule_noise(frame_ids(frames), FreeNoiseSettings(window, stride, "shuffle"), seed=0)[:, 0, 0, 0].long()
    repeated = reschedule_noise(frame_ids(frames), FreeNoiseSettings(window, stride, "repeat"), seed=0)[:, 0, 0, 0].long()
    assert torch.equal(repeated, torch.arange(frames) % window)
    assert not torch.equal(shuffled, repeated)


def test_same_seed_same_noise_other_seed_other_order():
    noise = torch.randn(65, 4, 3, 3, generator=torch.Generator().manual_seed(0))
    a = reschedule_noise(noise, FreeNoiseSettings(25, 4, "shuffle"), seed=7)
    assert torch.equal(a, reschedule_noise(noise, FreeNoiseSettings(25, 4, "shuffle"), seed=7))
    assert not torch.equal(a, reschedule_noise(noise, FreeNoiseSettings(25, 4, "shuffle"), seed=8))
    assert torch.equal(noise, torch.randn(65, 4, 3, 3, generator=torch.Generator().manual_seed(0)))  # input kept


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="stride_frames"):
        reschedule_noise(torch.zeros(10, 4, 2, 2), FreeNoiseSettings(4, 5))
    with pytest.raises(ValueError, match="mode"):
        reschedule_noise(torch.zeros(10, 4, 2, 2), FreeNoiseSettings(4, 2, "random"))
