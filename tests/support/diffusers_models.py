"""Tiny diffusers SVD modules for the module tier (random weights, fp32 by default)."""
from __future__ import annotations

import torch

from tiny_svd_pipeline import build_tiny_svd_pipeline  # scripts/ is on sys.path (tests/conftest.py)


def tiny_pipeline(dtype=torch.float32):
    return build_tiny_svd_pipeline(seed=0, dtype=dtype)


def unet_inputs(unet, frames: int, batch: int = 2, size: int = 4, seed: int = 1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    cfg = unet.config
    sample = torch.randn(batch, frames, cfg.in_channels, size, size, generator=g, dtype=dtype)
    hidden = torch.randn(batch, 1, cfg.cross_attention_dim, generator=g, dtype=dtype)
    added = torch.tensor([[6.0, 127.0, 0.02]] * batch, dtype=dtype)
    return dict(sample=sample, timestep=torch.tensor(10.0), encoder_hidden_states=hidden, added_time_ids=added)


@torch.no_grad()
def run_unet(unet, inputs) -> torch.Tensor:
    return unet(**inputs).sample
