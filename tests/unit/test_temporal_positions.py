import math

import pytest
import torch

from longer_video.nodes.techniques.temporal_positions import (
    MODES, PositionSettings, frame_position_embedding, interpolated_frequencies, position_scale, sinusoid,
    stock_frequencies,
)

DIMS = (320, 640, 1280, 33)


def stock_embedding(num_frames, dim, max_period=10000):
    """The reference formula as ComfyUI writes it (comfy.ldm.modules.diffusionmodules.util.timestep_embedding)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32) / half)
    args = torch.arange(num_frames)[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def test_scale_is_one_up_to_trained_length_and_ratio_beyond():
    assert position_scale(14, 14) == 1.0
    assert position_scale(7, 14) == 1.0
    assert position_scale(50, 25) == 2.0
    assert PositionSettings("none", 25).scale_for(100) == 1.0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dim", DIMS)
def test_identity_at_or_below_trained_length_is_bitwise_stock(mode, dim):
    settings = PositionSettings(mode=mode, trained_frames=25)
    for frames in (1, 14, 25):
        assert torch.equal(frame_position_embedding(frames, dim, 10000, settings), stock_embedding(frames, dim))
    assert torch.equal(frame_position_embedding(25, dim, 10000, None), stock_embedding(25, dim))


@pytest.mark.parametrize("dim", DIMS)
def test_linear_divides_every_frequency_by_the_scale(dim):
    s = 3.0
    omega = interpolated_frequencies(dim, 10000, PositionSettings("none"), 1.0)
    linear = interpolated_frequencies(dim, 10000, PositionSettings("linear", 14), s)
    assert torch.allclose(linear, omega / s, rtol=1e-12)
    # equivalently: the stock embedding evaluated at positions p / s
    emb = frame_position_embedding(42, dim, 10000, PositionSettings("linear", 14))
    ref = sinusoid(torch.arange(42).float() / s, stock_frequencies(dim, 10000), dim)
    assert torch.allclose(emb, ref, atol=1e-6)


@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("s", (1.5, 2.0, 4.6))
def test_ntk_keeps_highest_frequency_and_divides_lowest_by_scale(dim, s):
    omega = interpolated_frequencies(dim, 10000, PositionSettings("none"), 1.0)
    ntk = interpolated_frequencies(dim, 10000, PositionSettings("ntk", 14), s)
    assert ntk[0] == omega[0] == 1.0
    assert torch.isclose(ntk[-1], omega[-1] / s, rtol=1e-10)
    # in between, frequencies are scaled by a factor between 1 and 1/s, monotonically
    ratio = ntk / omega
    assert torch.all(ratio <= 1 + 1e-12) and torch.all(ratio >= 1 / s - 1e-12)
    assert torch.all(ratio[1:] <= ratio[:-1] + 1e-12)


@pytest.mark.parametrize("dim", DIMS)
def test_yarn_lies_between_pi_and_identity_and_reaches_both(dim):
    s, trained = 2.5, 14
    settings = PositionSettings("yarn", trained, yarn_alpha=0.5, yarn_beta=2.0)
    omega = interpolated_frequencies(dim, 10000, PositionSettings("none"), 1.0)
    yarn = interpolated_frequencies(dim, 10000, settings, s)
    assert torch.all(yarn <= omega + 1e-15) and torch.all(yarn >= omega / s - 1e-15)
    periods = trained * omega / (2 * math.pi)
    assert torch.allclose(yarn[periods >= 2.0], omega[periods >= 2.0])  # fast: exact
    assert torch.allclose(yarn[periods <= 0.5], omega[periods <= 0.5] / s)  # slow: PI
    assert (periods >= 2.0).any() and (periods <= 0.5).any()


def test_yarn_with_llm_defaults_collapses_to_pi_on_svd_lengths():
    # documents why the SVD-sized defaults exist: alpha=1, beta=32 interpolate every frequency
    llm = interpolated_frequencies(320, 10000, PositionSettings("yarn", 14, yarn_alpha=1.0, yarn_beta=32.0), 2.0)
    pi = interpolated_frequencies(320, 10000, PositionSettings("linear", 14), 2.0)
    assert torch.max((llm - pi).abs() / pi) < 0.07


def test_interpolated_positions_stay_inside_trained_phase_range():
    # linear: positions p/s stay inside [0, trained) (PI, not endpoint-exact: the last lands at L - L/T)
    trained, frames, dim = 14, 56, 320
    emb_freqs = interpolated_frequencies(dim, 10000, PositionSettings("linear", trained), frames / trained)
    stock = interpolated_frequencies(dim, 10000, PositionSettings("none"), 1.0)
    assert (frames - 1) * emb_freqs[-1] < trained * stock[-1]


@pytest.mark.parametrize("kwargs, word", [
    ({"mode": "cubic"}, "mode"), ({"trained_frames": 0}, "trained_frames"),
    ({"yarn_alpha": 3.0, "yarn_beta": 2.0}, "yarn_alpha"),
])
def test_bad_settings_name_the_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        PositionSettings(**kwargs)


def test_interpolated_tables_use_no_float64_on_the_device_and_are_cached():
    """Apple's MPS has no float64: the float64 math stays on the CPU ('meta' stands in for the device)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Float64OffCpu(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.found = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in (out if isinstance(out, (tuple, list)) else [out]):
                if isinstance(t, torch.Tensor) and t.dtype == torch.float64 and t.device.type != "cpu":
                    self.found.append(str(func))
            return out

    frame_position_embedding.cache_clear()
    settings = PositionSettings("yarn", 25)
    with Float64OffCpu() as mode:
        table = frame_position_embedding(129, 320, 10000, settings, device=torch.device("meta"))
    assert table.device.type == "meta" and table.dtype == torch.float32 and not mode.found, mode.found
    assert frame_position_embedding(129, 320, 10000, settings, device=torch.device("meta")) is table
