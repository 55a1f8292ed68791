import copy

import pytest
import torch
from diffusers_models import run_unet, tiny_pipeline, unet_inputs

from longer_video import (
    FreeNoiseSettings, PositionSettings, WindowSettings, apply_temporal_positions, apply_windowed_attention,
    freenoise_latents, remove_windowed_attention,
)
from longer_video.nodes.techniques.freenoise import reschedule_noise
from longer_video.nodes.techniques.windowed_attention import FUSIONS


@pytest.fixture(scope="module")
def pipe():
    return tiny_pipeline()


@pytest.fixture(scope="module")
def unet(pipe):
    return pipe.unet.eval()


@pytest.mark.parametrize("mode", ["block", "banded"])
def test_up_to_one_window_is_the_stock_model(unet, mode):
    inputs = unet_inputs(unet, 8)
    patched = copy.deepcopy(unet)
    apply_windowed_attention(patched, WindowSettings(8, 2, mode=mode))
    assert torch.equal(run_unet(patched, inputs), run_unet(unet, inputs))


@pytest.fixture(scope="module")
def identity_unet(unet):
    """fp64 copy with every temporal residual branch and the frame embedding zeroed."""
    from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel

    model = copy.deepcopy(unet).double()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, TransformerSpatioTemporalModel):
                module.time_pos_embed.linear_2.weight.zero_()
                module.time_pos_embed.linear_2.bias.zero_()
                for block in module.temporal_transformer_blocks:
                    for out in (block.ff_in.net[2], block.attn1.to_out[0], block.attn2.to_out[0], block.ff.net[2]):
                        out.weight.zero_()
                        out.bias.zero_()
    return model


@pytest.mark.parametrize("frames", [26, 27, 37])
@pytest.mark.parametrize("fusion", FUSIONS)
def test_identity_temporal_blocks_fuse_back_to_the_input(identity_unet, frames, fusion):
    inputs = {k: v.double() if v.is_floating_point() else v for k, v in unet_inputs(identity_unet, frames, batch=1).items()}
    patched = copy.deepcopy(identity_unet)
    apply_windowed_attention(patched, WindowSettings(16, 4, fusion=fusion, mode="block"))
    assert (run_unet(patched, inputs) - run_unet(identity_unet, inputs)).abs().max() <= 1e-9


@pytest.mark.parametrize("mode", ["block", "banded"])
def test_windows_change_long_videos_and_remove_restores(unet, mode):
    inputs = unet_inputs(unet, 20)
    stock = run_unet(unet, inputs)
    patched = copy.deepcopy(unet)
    n = apply_windowed_attention(patched, WindowSettings(8, 3, mode=mode))
    keys = set(patched.state_dict())
    assert (run_unet(patched, inputs) - stock).abs().max() > 1e-4
    assert set(patched.state_dict()) == keys
    assert remove_windowed_attention(patched) == n
    assert torch.equal(run_unet(patched, inputs), stock)


def test_banded_processor_matches_stock_attention_when_the_band_covers_the_video(unet):
    from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel

    from longer_video.nodes.diffusers_patches.video_transformer import _banded_self_attention

    module = next(m for m in unet.modules() if isinstance(m, TransformerSpatioTemporalModel))
    block = module.temporal_transformer_blocks[0]
    frames, tokens, channels = 12, 3, block.norm_in.normalized_shape[0]
    x = torch.randn(2 * frames, tokens, channels)
    context = torch.randn(2 * tokens, 1, unet.config.cross_attention_dim)
    with torch.no_grad():
        stock = block(x, num_frames=frames, encoder_hidden_states=context)
        with _banded_self_attention(block.attn1, frames):
            wide = block(x, num_frames=frames, encoder_hidden_states=context)
        with _banded_self_attention(block.attn1, 2):
            narrow = block(x, num_frames=frames, encoder_hidden_states=context)
        after = block(x, num_frames=frames, encoder_hidden_states=context)
    assert (wide - stock).abs().max() <= 1e-5
    assert (narrow - stock).abs().max() > 1e-4
    assert torch.equal(after, stock)  # the processor swap lasts one call


def test_positions_apply_per_window_in_block_mode(unet):
    inputs = unet_inputs(unet, 20)
    windows_only = copy.deepcopy(unet)
    apply_windowed_attention(windows_only, WindowSettings(8, 3, mode="block"))
    both = copy.deepcopy(windows_only)
    apply_temporal_positions(both, PositionSettings("yarn", 8))  # window 8 <= trained 8: a no-op
    assert torch.equal(run_unet(both, inputs), run_unet(windows_only, inputs))


def test_freenoise_latents_are_rescheduled_along_frames(pipe):
    settings = FreeNoiseSettings(16, 4, "shuffle")
    latents = freenoise_latents(pipe, 40, 16, 16, settings, seed=3, batch_size=2)  # the tiny VAE scales by 2
    assert latents.shape == (2, 40, 4, 8, 8)
    plain = torch.randn(2, 40, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    assert torch.equal(latents, reschedule_noise(plain, settings, seed=3, dim=1))
    assert torch.equal(latents[:, :16], plain[:, :16])


def test_windowed_resblock_norms_change_only_long_videos_and_remove_cleanly(unet):
    long, short = unet_inputs(unet, 20), unet_inputs(unet, 8)
    video_norms = copy.deepcopy(unet)
    apply_windowed_attention(video_norms, WindowSettings(8, 3, mode="block"))
    window_norms = copy.deepcopy(unet)
    apply_windowed_attention(window_norms, WindowSettings(8, 3, mode="block", resblock_norm="window"))
    assert torch.equal(run_unet(window_norms, short), run_unet(unet, short))  # one window: stock
    assert (run_unet(window_norms, long) - run_unet(video_norms, long)).abs().max() > 1e-4
    apply_windowed_attention(window_norms, WindowSettings(8, 3, mode="block"))  # re-applied without: norms stock
    assert torch.equal(run_unet(window_norms, long), run_unet(video_norms, long))
    apply_windowed_attention(window_norms, WindowSettings(8, 3, mode="block", resblock_norm="window"))
    remove_windowed_attention(window_norms)
    assert not [m for m in window_norms.modules() if "forward" in m.__dict__]
    assert torch.equal(run_unet(window_norms, long), run_unet(unet, long))
