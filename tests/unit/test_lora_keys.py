"""An interpolation LoRA's names: diffusers temporal layers <-> ComfyUI's LoRA keys (pure strings)."""
import pytest

from longer_video.nodes.techniques.errors import InputError
from longer_video.nodes.techniques.lora_keys import (
    TARGETS, check_targets, comfy_key, comfy_transformer, diffusers_name, target_of,
)

# SVD / SVD-XT (layers_per_block 2): the 16 spatio-temporal transformers in both layouts (DESIGN section 2).
SVD_TRANSFORMERS = {
    "down_blocks.0.attentions.0": "input_blocks.1.1", "down_blocks.0.attentions.1": "input_blocks.2.1",
    "down_blocks.1.attentions.0": "input_blocks.4.1", "down_blocks.1.attentions.1": "input_blocks.5.1",
    "down_blocks.2.attentions.0": "input_blocks.7.1", "down_blocks.2.attentions.1": "input_blocks.8.1",
    "mid_block.attentions.0": "middle_block.1",
    **{f"up_blocks.{level}.attentions.{j}": f"output_blocks.{3 * level + j}.1" for level in (1, 2, 3) for j in range(3)},
}


def test_svd_transformers_map_to_comfyui_names():
    assert len(SVD_TRANSFORMERS) == 16
    for diffusers, comfy in SVD_TRANSFORMERS.items():
        assert comfy_transformer(diffusers, 2) == comfy


def test_every_target_round_trips_through_comfyui_keys():
    for diffusers in SVD_TRANSFORMERS:
        for target in TARGETS:
            name = f"{diffusers}.temporal_transformer_blocks.0.{target}"
            key = comfy_key(name, 2)
            assert key == f"diffusion_model.{SVD_TRANSFORMERS[diffusers]}.time_stack.0.{target}"
            assert diffusers_name(key, 2) == name


def test_one_layer_per_block_layout():
    # the tiny layouts (and the toy before widening): 2 input / output blocks per level
    assert comfy_transformer("down_blocks.1.attentions.0", 1) == "input_blocks.3.1"
    assert comfy_transformer("up_blocks.1.attentions.1", 1) == "output_blocks.3.1"
    assert diffusers_name("diffusion_model.output_blocks.3.1.time_stack.0.ff.net.2", 1) == \
        "up_blocks.1.attentions.1.temporal_transformer_blocks.0.ff.net.2"


def test_only_temporal_layers_are_targets():
    assert target_of("down_blocks.0.attentions.0.temporal_transformer_blocks.0.attn1.to_q") == "attn1.to_q"
    assert target_of("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q") is None  # spatial
    assert target_of("down_blocks.0.attentions.0.temporal_transformer_blocks.0.norm1") is None
    with pytest.raises(InputError, match="not a temporal transformer target"):
        comfy_key("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q", 2)
    with pytest.raises(InputError, match="interpolation LoRA"):
        diffusers_name("diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q", 2)


def test_targets_are_checked_by_name():
    assert check_targets(["attn1.to_q", "ff.net.2"]) == ("attn1.to_q", "ff.net.2")
    with pytest.raises(InputError, match="attn1.to_qq"):
        check_targets(["attn1.to_qq"])
    with pytest.raises(InputError, match="non-empty"):
        check_targets([])
