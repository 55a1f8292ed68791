"""Module tier: the V3 node classes themselves (schema, validation, execute) inside ComfyUI."""
import pytest
import torch
from comfy_models import build_svd_model, build_svd_vae, model_patcher, run_patched, svd_inputs, tiny_unet_config

from longer_video.nodes.chunked_decode import LongerVideoChunkedDecode
from longer_video.nodes.continuation import LongerVideoContinue, LongerVideoJoinClips
from longer_video.nodes.extension import LongerVideoExtension
from longer_video.nodes.frame_chunking import LongerVideoFrameChunking
from longer_video.nodes.freenoise import LongerVideoFreeNoise
from longer_video.nodes.keyframe_interpolation import LongerVideoKeyframeConditioning, LongerVideoKeyframeSampler
from longer_video.nodes.temporal_positions import LongerVideoTemporalPositions
from longer_video.nodes.techniques.temporal_positions import PositionSettings
from longer_video.nodes.windowed_attention import LongerVideoWindowedAttention

ALL_NODES = (LongerVideoTemporalPositions, LongerVideoWindowedAttention, LongerVideoFreeNoise, LongerVideoFrameChunking,
             LongerVideoKeyframeConditioning, LongerVideoKeyframeSampler, LongerVideoContinue, LongerVideoJoinClips,
             LongerVideoChunkedDecode)


def test_extension_lists_every_node():
    import asyncio

    nodes = asyncio.run(LongerVideoExtension().get_node_list())
    assert {n.define_schema().node_id for n in nodes} == {n.__name__ for n in ALL_NODES}


def test_every_input_has_a_tooltip():
    for node in ALL_NODES:
        schema = node.define_schema()
        assert schema.node_id.startswith("LongerVideo") and schema.category == "longer video"
        assert all(i.tooltip for i in schema.inputs), node


def test_positions_node_returns_a_patched_clone():
    config = tiny_unet_config()
    stock = model_patcher(build_svd_model(config))
    (patched,) = LongerVideoTemporalPositions.execute(stock, mode="yarn", trained_frames=4, yarn_alpha=0.5, yarn_beta=2.0).result
    assert patched is not stock and patched.model is stock.model
    inputs = svd_inputs(config, 12)
    assert (run_patched(patched, inputs) - run_patched(stock, inputs)).abs().max() > 1e-4


def test_positions_validation_messages_name_the_input():
    # mode is a combo: ComfyUI checks it against the options; the node checks what spans two inputs
    with pytest.raises(ValueError, match="mode"):
        PositionSettings(mode="cubic")
    message = LongerVideoTemporalPositions.validate_inputs(yarn_alpha=2.0, yarn_beta=2.0)
    assert isinstance(message, str) and "yarn_alpha" in message
    assert LongerVideoTemporalPositions.validate_inputs(yarn_alpha=2.0) is True  # linked inputs: checked at execution


def test_decode_node_validates_and_decodes():
    assert "overlap_frames" in LongerVideoChunkedDecode.validate_inputs(chunk_frames=8, overlap_frames=4, crossfade_frames=0)
    assert LongerVideoChunkedDecode.validate_inputs(chunk_frames=8, overlap_frames=2, crossfade_frames=2) is True
    vae = build_svd_vae()
    latent = {"samples": torch.randn(10, 4, 4, 4)}
    (images,) = LongerVideoChunkedDecode.execute(vae, latent, chunk_frames=6, overlap_frames=1, crossfade_frames=2).result
    assert images.shape == (10, 32, 32, 3) and 0 <= images.min() and images.max() <= 1


def test_window_nodes_validate_and_return_clones():
    assert "stride_frames" in LongerVideoWindowedAttention.validate_inputs(window_frames=8, stride_frames=9)
    assert "stride_frames" in LongerVideoFreeNoise.validate_inputs(window_frames=8, stride_frames=0)
    assert LongerVideoFreeNoise.validate_inputs(window_frames=8, stride_frames=4) is True
    stock = model_patcher(build_svd_model(tiny_unet_config()))
    (windowed,) = LongerVideoWindowedAttention.execute(stock, window_frames=8, stride_frames=4, fusion="pyramid",
                                                       mode="block").result
    (noisy,) = LongerVideoFreeNoise.execute(windowed, window_frames=8, stride_frames=4, mode="shuffle").result
    assert windowed is not stock and noisy is not windowed and not stock.object_patches
    assert noisy.object_patches == windowed.object_patches and "sampler_sample" in noisy.wrappers


def test_size_widgets_use_comfyuis_own_limit():
    import nodes as comfyui_nodes

    inputs = {i.id: i for i in LongerVideoKeyframeConditioning.define_schema().inputs}
    assert inputs["width"].max == inputs["height"].max == comfyui_nodes.MAX_RESOLUTION
