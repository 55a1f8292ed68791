"""Frame chunking for diffusers' SVD UNet / pipeline (in place, undone by `remove_frame_chunking`).

The 16 temporal transformers run the pack's forward (`video_transformer.py`), which reads the
`frame_chunking` setting like positions and windows; each `SpatioTemporalResBlock` and each
`Upsample2D` of the UNet gets a chunked instance forward (`video_resblock.py`). All of them are
installed where accelerate keeps the real forward, so offload hooks keep working and removal puts
back exactly what was there.
"""
from __future__ import annotations

from ..techniques.frame_chunking import FrameChunkingSettings
from ..upstream import DIFFUSERS_RESBLOCK_FORWARD, DIFFUSERS_TEMPORAL_RESNET_FORWARD, warn_once_if_changed
from . import video_resblock
from .video_transformer import (
    require_svd_unet, set_module_option, set_option, unet_of,
)


def _chunked_modules(pipe_or_unet):
    from diffusers.models.resnet import SpatioTemporalResBlock
    from diffusers.models.upsampling import Upsample2D

    modules = list(unet_of(pipe_or_unet).modules())
    return ([m for m in modules if isinstance(m, SpatioTemporalResBlock)],
            [m for m in modules if isinstance(m, Upsample2D)])


def apply_frame_chunking(pipe_or_unet, settings: FrameChunkingSettings = FrameChunkingSettings()) -> int:
    """Chunk the UNet's per-frame work by `settings.frames_per_chunk` frames; returns how many modules
    were patched. Applying again replaces the settings."""
    from diffusers.models.resnet import SpatioTemporalResBlock, TemporalResnetBlock

    require_svd_unet(pipe_or_unet)
    warn_once_if_changed(DIFFUSERS_RESBLOCK_FORWARD, SpatioTemporalResBlock.forward)
    warn_once_if_changed(DIFFUSERS_TEMPORAL_RESNET_FORWARD, TemporalResnetBlock.forward)
    resblocks, upsamplers = _chunked_modules(pipe_or_unet)
    return (set_option(pipe_or_unet, "frame_chunking", settings)
            + _set(resblocks, settings, video_resblock.patched_forward)
            + _set(upsamplers, settings, video_resblock.chunked_upsample_forward))


def remove_frame_chunking(pipe_or_unet) -> int:
    """Back to the stock forwards; returns how many modules were restored."""
    resblocks, upsamplers = _chunked_modules(pipe_or_unet)
    return (set_option(pipe_or_unet, "frame_chunking", None)
            + _set(resblocks, None, video_resblock.patched_forward)
            + _set(upsamplers, None, video_resblock.chunked_upsample_forward))


def _set(modules, settings, forward) -> int:
    return sum(set_module_option(module, "frame_chunking", settings, forward) for module in modules)
