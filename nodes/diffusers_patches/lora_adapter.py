"""peft LoRA layers on an SVD UNet's temporal blocks, for training, and taking them off again.

The base weights are frozen (and cast to the training precision); the LoRA factors are kept in fp32
(peft makes them in the base layer's dtype), so small updates are not lost to half-precision rounding.
"""
from __future__ import annotations

import torch

from ..techniques.errors import InputError
from ..techniques.interpolation_training import LoraTrainingSettings
from ..techniques.lora_keys import target_of

ADAPTER = "default"


def target_modules(unet, targets) -> list[str]:
    """Full names of the linear layers the LoRA trains."""
    names = [name for name, module in unet.named_modules()
             if isinstance(module, torch.nn.Linear) and target_of(name) in targets]
    if not names:
        raise InputError("the UNet has no temporal transformer layers to put a LoRA on (is it an SVD UNet?)")
    return names


def add_lora(unet, settings: LoraTrainingSettings) -> list[torch.nn.Parameter]:
    """Freeze the UNet and put fresh LoRA layers on the targets; returns the trainable parameters."""
    from peft import LoraConfig, inject_adapter_in_model

    unet.requires_grad_(False)
    names = target_modules(unet, settings.targets)
    config = LoraConfig(r=settings.rank, lora_alpha=settings.lora_alpha, target_modules=names,
                        init_lora_weights=True, lora_dropout=0.0)
    inject_adapter_in_model(config, unet, adapter_name=ADAPTER)
    params = []
    for name, param in unet.named_parameters():
        if ".lora_A." in name or ".lora_B." in name:
            param.data = param.data.float()
            param.requires_grad_(True)
            params.append(param)
    return params


def lora_parameters(unet) -> dict[str, torch.nn.Parameter]:
    return {name: p for name, p in unet.named_parameters() if ".lora_A." in name or ".lora_B." in name}


def remove_lora(unet) -> int:
    """Replace every peft LoRA layer by the layer it wraps (the UNet is as before the LoRA)."""
    count = 0
    for name, module in list(unet.named_modules()):
        base = getattr(module, "base_layer", None)
        if base is None or not hasattr(module, "lora_A"):
            continue
        parent_name, _, child = name.rpartition(".")
        setattr(unet.get_submodule(parent_name) if parent_name else unet, child, base)
        count += 1
    return count
