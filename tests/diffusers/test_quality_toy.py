"""The shipped toy SVD (tests/quality/toy_svd) is one that has learned the motion, and its files agree.

The quality table (tests/benchmarks/bench_quality.py) is only meaningful on a toy that passes the
gate; this re-runs the gate on part of its clips, through the stock diffusers pipeline loop.
"""
import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quality"))
import gate
import toy_model


def test_shipped_config_is_the_one_the_scripts_build():
    shipped = json.loads((toy_model.TOY_DIR / "config.json").read_text())
    for key, value in toy_model.CONFIG.items():
        assert shipped[key] == (list(value) if isinstance(value, tuple) else value), key


def test_shipped_weights_are_small_enough_to_ship():
    assert toy_model.WEIGHTS.stat().st_size < 10 * 2**20


def test_shipped_toy_places_the_disk_better_than_copying_the_first_frame():
    torch.set_num_threads(2)
    result = gate.run_gate(toy_model.load_toy_unet(), clips=16)
    model, baseline = result["model"], result["copy_first_frame"]
    assert model["detection_rate"] >= 0.95, result
    assert model["trajectory_error"] < 0.5 * baseline["trajectory_error"], result


@pytest.mark.parametrize("name", ["toy_interpolation_lora.safetensors", "toy_interpolation_lora_64.safetensors"])
def test_shipped_toy_interpolation_lora_adapts_every_temporal_layer_of_the_toy(name):
    """The quality table's LoRA rows (-lora: trained at 36 frames, -lora64: at 64) load these onto this toy."""
    import longer_video as lv
    from longer_video.nodes.techniques.lora_keys import TARGETS

    lora = toy_model.TOY_DIR.parent / name
    assert lora.stat().st_size < 2 * 2**20
    unet = toy_model.load_toy_unet()
    stock = {k: v.clone() for k, v in unet.state_dict().items()}
    assert lv.load_interpolation_lora(unet, lora) == 4 * len(TARGETS)  # the toy's 4 temporal blocks, every layer
    changed = {k for k, v in unet.state_dict().items() if not torch.equal(v, stock[k])}
    assert changed and all(".temporal_transformer_blocks." in k for k in changed)
