"""Gradient checkpointing deep enough for long clips: what makes a 65-frame clip fit a 24 GB card.

diffusers' own checkpointing (`enable_gradient_checkpointing`) recomputes the resblocks and the
spatial transformer blocks but keeps every temporal block's activations and every tensor between
blocks inside a spatio-temporal transformer (norm, projections, the time mixer), each as big as the
residual stream. `full` also checkpoints each temporal block and, around them, each whole
spatio-temporal transformer (nested: the backward pass recomputes one transformer at a time, and
inside it one block at a time). The pack's windowed attention swaps the temporal attention's
processor for the length of a call (banded mode); the recomputation runs later, in backward, so the
wrapper puts the processor seen in the forward pass back for it.
"""
from __future__ import annotations

import functools

import torch
from torch.utils.checkpoint import checkpoint

from ..techniques.errors import InputError
from ..techniques.interpolation_training import CHECKPOINTING

WRAPPED_ATTR = "_longer_video_checkpointed"


def _checkpointed_forward(module, inner, *args, **kwargs):
    if not torch.is_grad_enabled():
        return inner(*args, **kwargs)
    attention = getattr(module, "attn1", None)
    processor = attention.processor if attention is not None else None

    def run(*run_args, **run_kwargs):
        if attention is None:
            return inner(*run_args, **run_kwargs)
        current = attention.processor
        attention.processor = processor
        try:
            return inner(*run_args, **run_kwargs)
        finally:
            attention.processor = current

    return checkpoint(run, *args, use_reentrant=False, **kwargs)


def _wrap(module) -> None:
    saved = module.__dict__.get("forward")
    inner = saved if saved is not None else type(module).forward.__get__(module)
    module.__dict__[WRAPPED_ATTR] = saved
    module.__dict__["forward"] = functools.partial(_checkpointed_forward, module, inner)


def _unwrap(module) -> None:
    if WRAPPED_ATTR not in module.__dict__:
        return
    saved = module.__dict__.pop(WRAPPED_ATTR)
    if saved is None:
        module.__dict__.pop("forward", None)
    else:
        module.__dict__["forward"] = saved


def _deep_modules(unet) -> list[torch.nn.Module]:
    from diffusers.models.attention import TemporalBasicTransformerBlock
    from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel

    return [m for m in unet.modules() if isinstance(m, (TemporalBasicTransformerBlock, TransformerSpatioTemporalModel))]


def enable_training_checkpointing(unet, mode: str = "full") -> int:
    """Turn on `mode` (none, diffusers, full); returns how many modules the `full` wrappers cover.

    Apply after the pack's forward patches (windows, frame chunking): the wrappers wrap what is there.
    """
    if mode not in CHECKPOINTING:
        raise InputError(f"checkpointing must be one of {', '.join(CHECKPOINTING)}; got {mode!r}")
    if mode == "none":
        return 0
    unet.enable_gradient_checkpointing()
    if mode == "diffusers":
        return 0
    modules = _deep_modules(unet)
    for module in modules:
        _wrap(module)
    return len(modules)


def disable_training_checkpointing(unet) -> None:
    """Undo `enable_training_checkpointing` (before removing the forward patches it wrapped)."""
    for module in unet.modules():
        _unwrap(module)
    if getattr(unet, "is_gradient_checkpointing", False):
        unet.disable_gradient_checkpointing()
