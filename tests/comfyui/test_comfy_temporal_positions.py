"""Module tier: temporal positions on a tiny ComfyUI SVD model (SVD flags, small channels)."""
import pytest
import torch
from comfy_models import build_image_model, build_svd_model, model_patcher, run_patched, svd_inputs, tiny_unet_config

from longer_video.nodes.comfy_patches.temporal_positions import apply_temporal_positions
from longer_video.nodes.comfy_patches.video_transformer import find_temporal_transformers
from longer_video.nodes.techniques.errors import InputError
from longer_video.nodes.temporal_positions import LongerVideoTemporalPositions
from longer_video.nodes.techniques.temporal_positions import PositionSettings

TRAINED = 6
CONFIG = tiny_unet_config()


@pytest.fixture(scope="module")
def stock():
    return model_patcher(build_svd_model(CONFIG))


@pytest.mark.parametrize("mode", ["none", "linear", "ntk", "yarn"])
@pytest.mark.parametrize("frames", [1, 4, TRAINED])
def test_identity_settings_equal_the_stock_model(stock, mode, frames):
    inputs = svd_inputs(CONFIG, frames)
    expected = run_patched(stock, inputs)
    patched = apply_temporal_positions(stock, PositionSettings(mode, TRAINED))
    assert torch.equal(run_patched(patched, inputs), expected)  # bitwise, as the README says


def test_none_mode_equals_stock_at_any_length(stock):
    inputs = svd_inputs(CONFIG, 3 * TRAINED)
    patched = apply_temporal_positions(stock, PositionSettings("none", TRAINED))
    assert torch.equal(run_patched(patched, inputs), run_patched(stock, inputs))


def test_linear_equals_stock_evaluated_at_scaled_positions(stock, monkeypatch):
    import comfy.ldm.modules.attention as attention

    frames = 2 * TRAINED + 3
    inputs = svd_inputs(CONFIG, frames)
    ours = run_patched(apply_temporal_positions(stock, PositionSettings("linear", TRAINED)), inputs)
    plain = run_patched(stock, inputs)
    original = attention.timestep_embedding
    # the reference: upstream's own forward, with its frame positions divided by s = T / trained
    monkeypatch.setattr(attention, "timestep_embedding",
                        lambda t, dim, **kw: original(t.float() * (TRAINED / frames), dim, **kw))
    reference = run_patched(stock, inputs)
    assert (ours - plain).abs().max() > 1e-4
    assert (ours - reference).abs().max() <= 1e-5


@pytest.mark.parametrize("mode", ["linear", "ntk", "yarn"])
def test_input_model_is_never_mutated(stock, mode):
    inputs = svd_inputs(CONFIG, 2 * TRAINED)
    before = run_patched(stock, inputs)
    options_before = repr(stock.model_options)
    patched = apply_temporal_positions(stock, PositionSettings(mode, TRAINED))
    changed = run_patched(patched, inputs)
    assert (changed - before).abs().max() > 1e-4
    assert torch.equal(run_patched(stock, inputs), before)
    assert repr(stock.model_options) == options_before and not stock.object_patches
    for module in find_temporal_transformers(stock).values():  # the object patch is gone after unpatching
        assert getattr(module.forward, "func", None) is None


def test_one_patched_model_serves_any_length(stock):
    patched = apply_temporal_positions(stock, PositionSettings("yarn", TRAINED))
    short = svd_inputs(CONFIG, TRAINED - 2)
    long = svd_inputs(CONFIG, 3 * TRAINED)
    assert (run_patched(patched, long) - run_patched(stock, long)).abs().max() > 1e-4
    assert torch.equal(run_patched(patched, short), run_patched(stock, short))


def test_clones_compose_and_keep_their_own_settings(stock):
    inputs = svd_inputs(CONFIG, 2 * TRAINED)
    linear = apply_temporal_positions(stock, PositionSettings("linear", TRAINED))
    yarn_on_top = apply_temporal_positions(linear, PositionSettings("yarn", TRAINED))
    expected_yarn = run_patched(apply_temporal_positions(stock, PositionSettings("yarn", TRAINED)), inputs)
    expected_linear = run_patched(apply_temporal_positions(stock, PositionSettings("linear", TRAINED)), inputs)
    assert torch.equal(run_patched(yarn_on_top, inputs), expected_yarn)
    assert torch.equal(run_patched(linear, inputs), expected_linear)


def test_model_without_temporal_transformers_gets_a_clear_error():
    image_model = build_image_model(CONFIG)
    with pytest.raises(InputError, match="LongerVideoTemporalPositions: model is not a Stable Video Diffusion model"):
        LongerVideoTemporalPositions.execute(image_model, mode="yarn", trained_frames=14, yarn_alpha=0.5, yarn_beta=2.0)
    assert isinstance(InputError("x"), ValueError)
