"""Widen an interpolation LoRA trained on the toy into ComfyUI's SVD layout, by to_comfy.py's rules.

A LoRA delta `up @ down` widens like the weight it is added to, and each rule acts on one side:
rows (output channels: repeated, or moved into 64-channel heads) on `up`, columns (inputs: repeated
and divided by 5, or moved into heads) on `down`. The temporal cross-attention's keys and values
read no CLIP channels in the wide model (the toy's context is zero), so their LoRA is left out, as
to_comfy leaves those weights zero. Pure torch (runs in ComfyUI's environment).
"""
from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quality"))
import to_comfy

_TEMPORAL = re.compile(r"^(?P<block>.+)\.temporal_transformer_blocks\.0\.(?P<target>.+)$")


def toy_transformer_names(toy_config: dict) -> dict[str, str]:
    """Toy transformer prefix -> wide ComfyUI transformer prefix (to_comfy.convert's block numbering)."""
    levels = len(toy_config["block_out_channels"])
    down_types, up_types = toy_config["down_block_types"], toy_config["up_block_types"]
    names, block = {"mid_block.attentions.0": "middle_block.1"}, 1
    for level in range(levels):
        if down_types[level].startswith("CrossAttn"):
            names[f"down_blocks.{level}.attentions.0"] = f"input_blocks.{block}.1"
        block += 2 + (1 if level < levels - 1 else 0)
    for up in range(levels):
        if up_types[up].startswith("CrossAttn"):
            for toy_index, wide_offset in ((0, 0), (1, 2)):
                names[f"up_blocks.{up}.attentions.{toy_index}"] = f"output_blocks.{3 * up + wide_offset}.1"
    return names


def widen_lora(lora: dict[str, tuple[torch.Tensor, torch.Tensor, float]], toy: dict[str, torch.Tensor],
               toy_config: dict) -> dict[str, torch.Tensor]:
    """{toy module name: (down, up, alpha)} -> the wide LoRA file's tensors (ComfyUI keys)."""
    names, heads_of = toy_transformer_names(toy_config), to_comfy.toy_heads(toy_config)
    R = to_comfy.R
    out = {}
    for name, (down, up, alpha) in lora.items():
        match = _TEMPORAL.match(name)
        block, target = match["block"], match["target"]
        heads, width = heads_of[block], toy[block + ".proj_in.weight"].shape[0] * R
        attention, _, projection = target.partition(".")
        if attention == "attn2" and projection in ("to_k", "to_v"):
            continue
        if projection in ("to_q", "to_k", "to_v"):
            scale = math.sqrt(to_comfy.WIDE_HEAD / (toy[f"{block}.temporal_transformer_blocks.0.{attention}.to_q.weight"]
                                                    .shape[0] // heads)) if projection == "to_q" else 1.0
            wide_up, wide_down = to_comfy.head_rows(up, heads, width, scale), down.repeat_interleave(R, 1) / R
        elif projection == "to_out.0":
            wide_up, wide_down = up.repeat_interleave(R, 0), to_comfy.head_columns(down, heads, width)
        else:  # feed-forward layers: plain widening
            wide_up, wide_down = up.repeat_interleave(R, 0), down.repeat_interleave(R, 1) / R
        key = f"diffusion_model.{names[block]}.time_stack.0.{target}"
        out[key + ".lora_up.weight"], out[key + ".lora_down.weight"] = wide_up, wide_down
        out[key + ".alpha"] = torch.tensor(float(alpha))
    return out
