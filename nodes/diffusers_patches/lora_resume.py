"""Where a training run stands, in one safetensors file, so a stopped run resumes where it was.

Holds the fp32 LoRA factors (peft names), every optimizer state tensor (AdamW's or 8-bit AdamW's,
flattened to `optimizer.<param index>.<name>`), the data generator's state, and, as metadata, the
step and the settings the run was started with (a resume with other settings is refused: the
optimizer state would not fit them). No pickle: tensors and JSON only.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..techniques.errors import InputError
from .lora_adapter import lora_parameters


def save_state(path, unet, optimizer, step: int, generator: torch.Generator, settings_json: str) -> Path:
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {f"lora.{name}": p.detach().float().cpu().contiguous() for name, p in lora_parameters(unet).items()}
    scalars = {}
    state = optimizer.state_dict()["state"]
    for index, entries in state.items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    tensors["generator"] = generator.get_state()
    meta = {"step": str(step), "settings": settings_json, "optimizer_scalars": json.dumps(scalars)}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    save_file(tensors, str(partial), metadata=meta)
    partial.replace(path)
    return path


def load_state(path, unet, optimizer, generator: torch.Generator, settings_json: str) -> int:
    """Restore a run; returns the step it had reached."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    if json.loads(meta["settings"]) != json.loads(settings_json):
        raise InputError(f"{path} is a run with other settings; resume with the same settings, or start anew "
                         f"(another output, or resume=False / --no-resume)")
    tensors = load_file(str(path))
    params = lora_parameters(unet)
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(tensors[f"lora.{name}"])
    state = optimizer.state_dict()
    restored = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            restored.setdefault(int(index), {})[name] = value
    for key, value in json.loads(meta["optimizer_scalars"]).items():
        index, name = key.split(".", 1)
        restored.setdefault(int(index), {})[name] = value
    state["state"] = restored
    optimizer.load_state_dict(state)
    generator.set_state(tensors["generator"])
    return int(meta["step"])
