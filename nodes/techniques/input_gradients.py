"""Gradients with respect to a model's input only, also for a model loaded under `torch.inference_mode()`.

Reconstruction guidance differentiates the denoiser's output with respect to its noisy input, never
its weights. Two things stand in the way:
- ComfyUI runs every prompt inside `torch.inference_mode()`, so the weights of a model its loaders
  built are inference tensors, and autograd refuses to save them for backward ("Inference tensors
  cannot be saved for backward"), even under `inference_mode(False)` and `enable_grad`;
- weights that require grad make autograd keep every layer's input for weight gradients nobody asks for.
Within `input_gradients_only(module)` the inference-tensor weights are plain copies that do not require
grad and the other weights do not require grad; afterwards the module has exactly its own tensors
and flags back (the same objects, so ComfyUI's weight patching and accelerate's offload hooks are
unaffected). Cost: one copy of the inference-tensor weights while it is on.
"""
from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def input_gradients_only(module: torch.nn.Module):
    """Yield the number of tensors swapped for plain copies; restore tensors and requires_grad flags on exit."""
    swapped, frozen = [], []
    try:
        with torch.inference_mode(False):
            for sub in module.modules():
                for store in (sub._parameters, sub._buffers):
                    for name, tensor in list(store.items()):
                        if tensor is None:
                            continue
                        if tensor.is_inference():
                            copy = tensor.clone()
                            if isinstance(tensor, torch.nn.Parameter):
                                copy = torch.nn.Parameter(copy, requires_grad=False)
                            swapped.append((store, name, tensor))
                            store[name] = copy
                        elif tensor.requires_grad:
                            frozen.append(tensor)
                            tensor.requires_grad_(False)
        yield len(swapped)
    finally:
        for store, name, tensor in reversed(swapped):
            store[name] = tensor
        for tensor in frozen:
            tensor.requires_grad_(True)
