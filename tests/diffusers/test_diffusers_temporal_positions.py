import copy

import pytest
import torch
from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel
from diffusers_models import run_unet, tiny_pipeline, unet_inputs

from longer_video import PositionSettings, apply_temporal_positions, remove_temporal_positions

TRAINED = 8


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return tiny_pipeline().unet.eval()


@pytest.mark.parametrize("mode", ["none", "linear", "ntk", "yarn"])
@pytest.mark.parametrize("frames", [1, 5, TRAINED])
def test_patched_at_or_below_trained_length_equals_stock(unet, mode, frames):
    inputs = unet_inputs(unet, frames)
    stock = run_unet(unet, inputs)
    patched = copy.deepcopy(unet)
    apply_temporal_positions(patched, PositionSettings(mode, TRAINED))
    assert torch.equal(run_unet(patched, inputs), stock)  # bitwise


def test_linear_equals_stock_evaluated_at_scaled_positions(unet):
    frames = 3 * TRAINED + 1
    inputs = unet_inputs(unet, frames)
    reference = copy.deepcopy(unet)
    for module in reference.modules():  # diffusers' own knob: Timesteps(scale=) multiplies positions
        if isinstance(module, TransformerSpatioTemporalModel):
            module.time_proj.scale = TRAINED / frames
    patched = copy.deepcopy(unet)
    apply_temporal_positions(patched, PositionSettings("linear", TRAINED))
    stock = run_unet(unet, inputs)
    ours = run_unet(patched, inputs)
    assert (ours - stock).abs().max() > 1e-4  # interpolation changes a longer video ...
    assert (ours - run_unet(reference, inputs)).abs().max() <= 1e-5  # ... exactly as position scaling would


@pytest.mark.parametrize("mode", ["ntk", "yarn"])
def test_other_modes_change_long_videos_and_remove_restores_stock(unet, mode):
    inputs = unet_inputs(unet, 2 * TRAINED)
    stock = run_unet(unet, inputs)
    patched = copy.deepcopy(unet)
    keys = set(patched.state_dict())
    count = apply_temporal_positions(patched, PositionSettings(mode, TRAINED))
    assert set(patched.state_dict()) == keys  # weightless swap: checkpoints load the same
    assert (run_unet(patched, inputs) - stock).abs().max() > 1e-4
    assert remove_temporal_positions(patched) == count
    assert torch.equal(run_unet(patched, inputs), stock)


def test_only_temporal_transformers_are_touched(unet):
    patched = copy.deepcopy(unet)
    n = apply_temporal_positions(patched, PositionSettings("yarn", TRAINED))
    swapped = [m for m in patched.modules() if "forward" in m.__dict__]
    assert len(swapped) == n == 4 and all(isinstance(m, TransformerSpatioTemporalModel) for m in swapped)
    assert patched.time_proj is unet_time_proj(patched) and "forward" not in patched.add_time_proj.__dict__
    # applying twice replaces the settings instead of stacking
    apply_temporal_positions(patched, PositionSettings("linear", TRAINED))
    assert remove_temporal_positions(patched) == n
    assert not any("forward" in m.__dict__ for m in patched.modules())


def unet_time_proj(unet):
    return unet._modules["time_proj"]


def test_bad_input_is_rejected_early(unet):
    with pytest.raises(ValueError, match="mode"):
        apply_temporal_positions(copy.deepcopy(unet), PositionSettings(mode="cubic"))
    with pytest.raises(ValueError, match="TransformerSpatioTemporalModel"):
        apply_temporal_positions(torch.nn.Linear(2, 2))
