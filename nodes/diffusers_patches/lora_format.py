"""An interpolation LoRA on disk: one safetensors file in ComfyUI's own LoRA key format.

Keys: `diffusion_model.<ComfyUI module>.lora_up.weight` (out x rank), `.lora_down.weight` (rank x in)
and `.alpha`, which ComfyUI's stock LoraLoaderModelOnly maps weight by weight with no converter
(`nodes/techniques/lora_keys.py`). ComfyUI merges `W + strength * alpha / rank * up @ down` into the
weights; `load_interpolation_lora` does exactly that on a diffusers UNet, so the two hosts run the
same weights. Loading needs neither peft nor ComfyUI; saving reads peft's LoRA layers.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..techniques.errors import InputError
from ..techniques.lora_keys import comfy_key, diffusers_name, target_of
from .video_transformer import require_svd_unet, unet_of

UP, DOWN, ALPHA = ".lora_up.weight", ".lora_down.weight", ".alpha"
MERGED_ATTR = "_longer_video_lora_delta"
FORMAT = "longer-video-interpolation-lora"


def layers_per_block(unet) -> int:
    value = unet.config.layers_per_block
    values = set(value) if isinstance(value, (list, tuple)) else {value}
    if len(values) != 1:
        raise InputError(f"layers_per_block {value!r}: an SVD UNet has the same count at every level")
    return int(values.pop())


def lora_state_dict(unet, adapter: str = "default") -> dict[str, torch.Tensor]:
    """The peft LoRA layers of `unet`'s temporal blocks in ComfyUI's key format (fp16, CPU)."""
    per_block = layers_per_block(unet)
    out = {}
    for name, module in unet.named_modules():
        if not hasattr(module, "lora_A") or adapter not in getattr(module, "lora_A", {}) or target_of(name) is None:
            continue
        key = comfy_key(name, per_block)
        out[key + DOWN] = module.lora_A[adapter].weight.detach().to("cpu", torch.float16).contiguous()
        out[key + UP] = module.lora_B[adapter].weight.detach().to("cpu", torch.float16).contiguous()
        out[key + ALPHA] = torch.tensor(float(module.lora_alpha[adapter]), dtype=torch.float16)
    if not out:
        raise InputError("the UNet has no LoRA layers on its temporal blocks to save")
    return out


def save_lora(unet, path, metadata: dict | None = None) -> Path:
    """Write the LoRA (atomically: a partial file never replaces a good one)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, **{k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}}
    partial = path.with_name(path.name + ".partial")
    save_file(lora_state_dict(unet), str(partial), metadata=meta)
    partial.replace(path)
    return path


def read_lora(path) -> dict[str, tuple[torch.Tensor, torch.Tensor, float]]:
    """{ComfyUI module key: (down, up, alpha)} of a LoRA file; an InputError naming what is wrong."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise InputError(f"LoRA file not found: {path}")
    tensors = load_file(str(path))
    keys = {k[:-len(UP)] for k in tensors if k.endswith(UP)}
    stray = [k for k in tensors if not any(k == base + suffix for base in keys for suffix in (UP, DOWN, ALPHA))]
    if not keys or stray:
        raise InputError(f"{path} is not an interpolation LoRA (keys {sorted(stray)[:3] or 'none'} are not "
                         f"'<module>{UP}', '<module>{DOWN}', '<module>{ALPHA}')")
    out = {}
    for key in sorted(keys):
        if key + DOWN not in tensors:
            raise InputError(f"{path}: {key}{UP} has no {key}{DOWN}")
        down, up = tensors[key + DOWN], tensors[key + UP]
        alpha = float(tensors[key + ALPHA]) if key + ALPHA in tensors else float(down.shape[0])
        out[key] = (down, up, alpha)
    return out


def load_interpolation_lora(pipe_or_unet, path, strength: float = 1.0) -> int:
    """Merge a LoRA file into the UNet's weights, as ComfyUI's LoraLoaderModelOnly does (strength
    scales it; `remove_interpolation_lora` takes it out again). Returns how many layers changed."""
    unet = unet_of(pipe_or_unet)
    require_svd_unet(unet)
    per_block = layers_per_block(unet)
    modules = dict(unet.named_modules())
    plan = []
    for key, (down, up, alpha) in read_lora(path).items():
        name = diffusers_name(key, per_block)
        module = modules.get(name)
        if not isinstance(module, torch.nn.Linear):
            raise InputError(f"{path}: {key} names {name}, which this UNet does not have as a linear layer "
                             f"(a LoRA for another layout, layers_per_block={per_block} here)")
        if (up.shape[0], down.shape[1]) != tuple(module.weight.shape) or up.shape[1] != down.shape[0]:
            raise InputError(f"{path}: {key} is {up.shape[0]}x{down.shape[1]} (rank {down.shape[0]}), "
                             f"the UNet's {name} is {tuple(module.weight.shape)}: a LoRA for another model size")
        plan.append((module, down, up, alpha))
    for module, down, up, alpha in plan:
        scale = strength * alpha / down.shape[0]
        with torch.no_grad():
            module.weight += _delta(down, up, scale).to(module.weight.device, module.weight.dtype)
        module.__dict__.setdefault(MERGED_ATTR, []).append((down, up, scale))  # the factors: a few MB
    return len(plan)


def _delta(down: torch.Tensor, up: torch.Tensor, scale: float) -> torch.Tensor:
    return scale * (up.float() @ down.float())


def remove_interpolation_lora(pipe_or_unet) -> int:
    """Subtract every merged LoRA again (exact in fp32; within rounding in half precision)."""
    count = 0
    for module in unet_of(pipe_or_unet).modules():
        deltas = module.__dict__.pop(MERGED_ATTR, None)
        if deltas:
            with torch.no_grad():
                for down, up, scale in reversed(deltas):
                    module.weight -= _delta(down, up, scale).to(module.weight.device, module.weight.dtype)
            count += 1
    return count
