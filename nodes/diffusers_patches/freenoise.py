"""FreeNoise initial latents for diffusers' SVD pipeline (`pipe(..., latents=...)`)."""
from __future__ import annotations

import torch

from ..techniques.freenoise import FreeNoiseSettings, reschedule_noise


def freenoise_latents(pipe, num_frames: int, height: int = 576, width: int = 1024,
                      settings: FreeNoiseSettings = FreeNoiseSettings(), seed: int = 0, batch_size: int = 1) -> torch.Tensor:
    """Initial noise (B, T, C, H/8, W/8) for `pipe`, rescheduled along frames.

    Drawn in float32 on the CPU (the same noise on every device), then returned in the UNet's
    dtype on the pipeline's execution device: the pipeline uses given latents as they come.
    """
    generator = torch.Generator().manual_seed(seed)
    shape = (batch_size, num_frames, pipe.unet.config.out_channels, height // pipe.vae_scale_factor,
             width // pipe.vae_scale_factor)
    noise = reschedule_noise(torch.randn(shape, generator=generator), settings, seed=seed, dim=1)
    return noise.to(device=pipe._execution_device, dtype=pipe.unet.dtype)
