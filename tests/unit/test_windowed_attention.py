import pytest
import torch

from longer_video.nodes.techniques.windowed_attention import (
    FUSIONS, WindowSettings, band_mask, fuse_windows, fusion_weights, plan_windows,
)

GRID = [(t, w, s) for t in (1, 5, 16, 17, 25, 26, 27, 37, 65, 129) for w in (1, 4, 7, 16, 25) for s in (1, 3, 4, 7)
        if s <= w]


@pytest.mark.parametrize("frames, window, stride", GRID)
def test_windows_cover_every_frame_with_full_length_windows(frames, window, stride):
    windows = plan_windows(frames, window, stride)
    covered = set()
    for a, b in windows:
        assert 0 <= a < b <= frames and b - a == min(window, frames)
        covered.update(range(a, b))
    assert covered == set(range(frames))
    assert windows[-1][1] == frames and windows[0][0] == 0
    starts = [a for a, _ in windows]
    assert all(0 < b - a <= stride for a, b in zip(starts, starts[1:]))


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("length", range(1, 30))
def test_fusion_weights_have_the_window_length_and_are_positive(fusion, length):
    w = fusion_weights(length, fusion)
    assert w.shape == (length,) and torch.all(w > 0)


def test_fusion_weight_shapes():
    assert fusion_weights(4, "pyramid").tolist() == [1, 2, 2, 1]
    assert fusion_weights(5, "pyramid").tolist() == [1, 2, 3, 2, 1]
    assert fusion_weights(4, "delayed_reverse_sawtooth").tolist() == [0.01, 2, 2, 1]  # diffusers' even case
    assert fusion_weights(5, "delayed_reverse_sawtooth").tolist() == [0.01, 0.01, 3, 2, 1]  # odd: diffusers crashes
    assert fusion_weights(3, "flat").tolist() == [1, 1, 1]


@pytest.mark.parametrize("frames, window, stride", [(26, 16, 4), (27, 16, 4), (37, 16, 4)] + GRID[::7])
@pytest.mark.parametrize("fusion", FUSIONS)
def test_fusing_an_identity_window_function_returns_the_input(frames, window, stride, fusion):
    # the grid T=26, 27, 37 with L=16, S=4 has a tail window: it must be weighted and normalised right
    x = torch.randn(2, frames, 3, dtype=torch.float64)
    out = fuse_windows(x, lambda xw, a, b: xw, plan_windows(frames, window, stride), fusion, dim=1)
    assert torch.allclose(out, x, atol=1e-12)


def test_fusion_is_the_normalised_weighted_mean_of_window_outputs():
    frames, window, stride = 10, 4, 3
    windows = plan_windows(frames, window, stride)  # (0,4) (3,7) (6,10)
    out = fuse_windows(torch.zeros(frames), lambda xw, a, b: xw + a, windows, "pyramid", dim=0)
    # frame 3: window (0,4) at position 3 (w=1, value 0) and window (3,7) at position 0 (w=1, value 3)
    assert out[3] == pytest.approx(1.5)
    # frame 6: windows (3,7) pos 3 (w=1, value 3) and (6,10) pos 0 (w=1, value 6)
    assert out[6] == pytest.approx(4.5)
    assert out[4] == 3 and out[0] == 0 and out[9] == 6


def test_band_mask():
    m = band_mask(6, 2)
    assert m[0].tolist() == [True, True, True, False, False, False]
    assert torch.equal(m, m.T)


@pytest.mark.parametrize("kwargs, word", [
    ({"window_frames": 0}, "window_frames"), ({"stride_frames": 0}, "stride_frames"),
    ({"window_frames": 8, "stride_frames": 9}, "stride_frames"), ({"fusion": "cosine"}, "fusion"),
    ({"mode": "global"}, "mode"),
])
def test_bad_window_settings_name_the_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        WindowSettings(**kwargs)


def test_windows_apply_only_past_one_window():
    s = WindowSettings(window_frames=16)
    assert not s.applies_to(16) and s.applies_to(17) and s.band_radius == 8


def test_fusion_accumulates_in_float32_so_half_precision_does_not_overflow():
    # T=65, L=25, S=4: up to 7 windows per frame with pyramid weights up to 13 (sum 43 at the busiest frame)
    frames, plan = 65, plan_windows(65, 25, 4)
    x = torch.full((2, frames, 3), 6000.0, dtype=torch.float16)  # large activations, as deep UNet layers have
    out = fuse_windows(x, lambda window, start, end: window, plan, "pyramid", dim=1)
    assert out.dtype == torch.float16 and torch.isfinite(out).all()
    assert torch.equal(out, x)  # identity windows fuse back to the input


def test_fusion_weights_are_built_once_per_plan_and_device(monkeypatch):
    import longer_video.nodes.techniques.windowed_attention as windows

    built = []
    original = windows.fusion_weights
    monkeypatch.setattr(windows, "fusion_weights", lambda length, fusion: built.append(length) or original(length, fusion))
    windows.fusion_plan.cache_clear()
    plan = plan_windows(37, 16, 4)
    x = torch.randn(1, 37, 2)
    for _ in range(3):  # three sampling steps
        fuse_windows(x, lambda window, start, end: window * 2, plan, "flat", dim=1)
    assert len(built) == len(plan)


def test_windowed_group_norm_normalises_each_window_and_is_stock_within_one_window():
    from longer_video.nodes.techniques.windowed_attention import WindowSettings, windowed_group_norm

    norm = torch.nn.GroupNorm(2, 4)
    x = torch.randn(1, 4, 12, 3, 3) + torch.linspace(0, 5, 12).view(1, 1, 12, 1, 1)  # drifting over the frames
    settings = WindowSettings(4, 4, "flat", "block", "window")  # disjoint windows: plain per-window statistics
    out = windowed_group_norm(x, norm, settings)
    expected = torch.cat([norm(x[:, :, s:s + 4]) for s in range(0, 12, 4)], dim=2)
    assert torch.allclose(out, expected, atol=1e-6) and not torch.allclose(out, norm(x), atol=1e-2)
    assert torch.equal(windowed_group_norm(x[:, :, :4], norm, settings), norm(x[:, :, :4]))
    with pytest.raises(ValueError, match="resblock_norm"):
        WindowSettings(8, 2, "pyramid", "banded", "window")
