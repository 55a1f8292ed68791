"""Overlapping, cross-faded chunked decoding for diffusers' SVD pipeline.

The stock `decode_latents` splits frames into `decode_chunk_size` pieces with no overlap, so the
temporal decoder's frame mixing and per-call normalisation change at every piece boundary
(visible seams). We replace the pipeline's `decode_latents` on the instance (undoable) by one that
decodes overlapping chunks and blends them with the shared chunk plan. Under torch.distributed
(2+ ranks) the chunks are split over the ranks and gathered (`ranks.py`); every rank blends the
same pixels in the same order, so each returns the single-process video.
"""
from __future__ import annotations

import torch

from ..techniques.chunked_decode import ChunkSettings, decode_in_chunks
from ..techniques.errors import InputError
from .ranks import map_over_ranks, world


def decode_latents_chunked(vae, latents: torch.Tensor, settings: ChunkSettings = ChunkSettings()) -> torch.Tensor:
    """(B, T, C, h, w) scaled latents -> (B, C, T, H, W) float32 pixels in [-1, 1], like the pipeline's."""
    if latents.ndim != 5:
        raise InputError(f"latents must be (batch, frames, channels, height, width); got {tuple(latents.shape)}")
    scaled = latents / vae.config.scaling_factor

    def decode(chunk: torch.Tensor) -> torch.Tensor:
        return vae.decode(chunk.to(vae.dtype), num_frames=chunk.shape[0]).sample

    def split_over_ranks(count, decode_chunk):
        return map_over_ranks(count, decode_chunk, lambda index: f"decoder chunk {index}")

    split = split_over_ranks if world() is not None else None  # one process: one chunk in memory at a time
    videos = [decode_in_chunks(video, decode, settings, map_chunks=split) for video in scaled]
    return torch.stack(videos).permute(0, 2, 1, 3, 4).float()


def apply_chunked_decode(pipe, settings: ChunkSettings = ChunkSettings()) -> None:
    """Make `pipe` decode with overlapping chunks (its `decode_chunk_size` argument is then ignored)."""
    def decode_latents(latents, num_frames, decode_chunk_size=None):
        return decode_latents_chunked(pipe.vae, latents, settings)

    decode_latents.longer_video = True
    pipe.decode_latents = decode_latents


def remove_chunked_decode(pipe) -> bool:
    """Back to the pipeline's own decode_latents; True when a patch was removed."""
    if getattr(pipe.__dict__.get("decode_latents"), "longer_video", False):
        del pipe.__dict__["decode_latents"]
        return True
    return False
