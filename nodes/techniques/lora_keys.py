"""Names of an interpolation LoRA: which layers it trains, and their keys in ComfyUI's LoRA format.

The LoRA sits on the temporal transformer blocks only (what mixes frames, and what the keyframe
regime changes): their attention projections and feed-forward layers. A diffusers module name such as
`down_blocks.0.attentions.1.temporal_transformer_blocks.0.attn1.to_q` is ComfyUI's
`input_blocks.2.1.time_stack.0.attn1.to_q`, and the LoRA keys ComfyUI's `comfy.lora` maps for that
weight without any converter are `diffusion_model.<that>.lora_up.weight / .lora_down.weight / .alpha`
(its "generic" format: `model_lora_keys_unet` lists every `diffusion_model.*` weight by its own name).
Pure string work: no diffusers, no ComfyUI import.
"""
from __future__ import annotations

import re

from .errors import InputError

# Inside one temporal block (diffusers' TemporalBasicTransformerBlock = ComfyUI's BasicTransformerBlock
# in `time_stack`): the same sub-module names in both.
TARGETS = (
    "attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0",
    "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0",
    "ff_in.net.0.proj", "ff_in.net.2", "ff.net.0.proj", "ff.net.2",
)
DEFAULT_TARGETS = TARGETS
COMFY_PREFIX = "diffusion_model."
_TEMPORAL = re.compile(r"^(?P<block>.+)\.temporal_transformer_blocks\.(?P<index>\d+)\.(?P<target>.+)$")
_DOWN = re.compile(r"^down_blocks\.(\d+)\.attentions\.(\d+)$")
_UP = re.compile(r"^up_blocks\.(\d+)\.attentions\.(\d+)$")


def check_targets(targets) -> tuple[str, ...]:
    """The targets as a tuple; an InputError naming the unknown ones."""
    targets = tuple(targets)
    unknown = [t for t in targets if t not in TARGETS]
    if not targets or unknown:
        raise InputError(f"targets must be a non-empty subset of {', '.join(TARGETS)}; got unknown {unknown or 'none'}")
    return targets


def target_of(module_name: str) -> str | None:
    """The temporal-block target a diffusers module name ends in, or None for any other module."""
    match = _TEMPORAL.match(module_name)
    return match["target"] if match and match["target"] in TARGETS else None


def comfy_transformer(diffusers_prefix: str, layers_per_block: int) -> str:
    """ComfyUI's name of the spatio-temporal transformer that diffusers calls `diffusers_prefix`.

    ComfyUI's `input_blocks` start with the input conv, then per level `layers_per_block` (resblock,
    transformer) pairs and a downsampler; `output_blocks` hold `layers_per_block + 1` per level.
    """
    if diffusers_prefix == "mid_block.attentions.0":
        return "middle_block.1"
    down = _DOWN.match(diffusers_prefix)
    if down:
        level, j = int(down[1]), int(down[2])
        return f"input_blocks.{1 + level * (layers_per_block + 1) + j}.1"
    up = _UP.match(diffusers_prefix)
    if up:
        level, j = int(up[1]), int(up[2])
        return f"output_blocks.{level * (layers_per_block + 1) + j}.1"
    raise InputError(f"not an SVD UNet transformer name: {diffusers_prefix!r}")


def diffusers_transformer(comfy_prefix: str, layers_per_block: int) -> str:
    """The inverse of `comfy_transformer`."""
    if comfy_prefix == "middle_block.1":
        return "mid_block.attentions.0"
    kind, index = comfy_prefix.split(".")[:2]
    per = layers_per_block + 1
    if kind == "input_blocks":
        level, j = divmod(int(index) - 1, per)
        return f"down_blocks.{level}.attentions.{j}"
    if kind == "output_blocks":
        level, j = divmod(int(index), per)
        return f"up_blocks.{level}.attentions.{j}"
    raise InputError(f"not an SVD UNet transformer name in ComfyUI's layout: {comfy_prefix!r}")


def comfy_key(module_name: str, layers_per_block: int) -> str:
    """`diffusion_model.<ComfyUI module name>` for a diffusers temporal-block module name."""
    match = _TEMPORAL.match(module_name)
    if not match or match["target"] not in TARGETS:
        raise InputError(f"not a temporal transformer target ({', '.join(TARGETS)}): {module_name!r}")
    transformer = comfy_transformer(match["block"], layers_per_block)
    return f"{COMFY_PREFIX}{transformer}.time_stack.{match['index']}.{match['target']}"


_COMFY = re.compile(r"^diffusion_model\.(?P<block>(?:input_blocks|output_blocks)\.\d+\.1|middle_block\.1)"
                    r"\.time_stack\.(?P<index>\d+)\.(?P<target>.+)$")


def diffusers_name(key: str, layers_per_block: int) -> str:
    """The diffusers module name of a `diffusion_model.*.time_stack.*` LoRA key (without its suffix)."""
    match = _COMFY.match(key)
    if not match or match["target"] not in TARGETS:
        raise InputError(f"not a temporal-layer key of an interpolation LoRA: {key!r}")
    block = diffusers_transformer(match["block"], layers_per_block)
    return f"{block}.temporal_transformer_blocks.{match['index']}.{match['target']}"
