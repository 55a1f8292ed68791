"""Frame chunking on a ComfyUI SVD MODEL (clone-scoped), and the memory estimate that follows it.

Patches on the clone: the temporal transformers' shared forward (reads `frame_chunking` from
transformer_options, like positions and windows), an object patch of every VideoResBlock's and
Upsample's forward (settings bound in), and ComfyUI's memory estimate:

* `BaseModel.memory_required` is object-patched with `FrameChunkedMemory`: while the clone is
  loaded, ComfyUI asks it whether cond and uncond fit in one batch (`samplers._calc_cond_batch`).
* Before loading, `sampler_helpers.estimate_memory` calls the model's *unpatched* method to decide
  how much to free and whether weights must be offloaded. A keyed PREPARE_SAMPLING wrapper hands it
  the frame count whose stock estimate equals the chunked one, the way ComfyUI's own context
  windows shrink that estimate to a window.
"""
from __future__ import annotations

import functools
import math

import torch

from ..techniques.frame_chunking import FrameChunkingSettings, FrameFloor, unet_frame_floor
from ..upstream import COMFYUI_RESBLOCK_FORWARD, COMFYUI_VIDEO_RESBLOCK_FORWARD, warn_once_if_changed
from . import video_resblock
from .options import set_model_option
from .video_transformer import install_temporal_forward

PREPARE_WRAPPER_KEY = "longer_video_frame_chunking"


def apply_frame_chunking(model, settings: FrameChunkingSettings):
    """A clone of `model` whose UNet runs per-frame work in chunks of `settings.frames_per_chunk`."""
    import comfy.patcher_extension
    from comfy.ldm.modules.diffusionmodules.openaimodel import ResBlock, Upsample, VideoResBlock

    patched = model.clone()
    install_temporal_forward(patched)  # also checks that this is an SVD model
    set_model_option(patched, "frame_chunking", settings)
    warn_once_if_changed(COMFYUI_VIDEO_RESBLOCK_FORWARD, VideoResBlock.forward)
    warn_once_if_changed(COMFYUI_RESBLOCK_FORWARD, ResBlock._forward)
    diffusion_model = patched.model.diffusion_model
    for name, module in diffusion_model.named_modules():
        if isinstance(module, VideoResBlock):
            forward = functools.partial(video_resblock.patched_forward, module, settings)
        elif isinstance(module, Upsample):
            forward = functools.partial(video_resblock.chunked_upsample_forward, module, settings)
        else:
            continue
        patched.add_object_patch(f"diffusion_model.{name}.forward", forward)

    estimate = FrameChunkedMemory(patched.model, stock_memory_required(patched), settings, unet_floor(diffusion_model))
    patched.add_object_patch("memory_required", estimate)
    kind = comfy.patcher_extension.WrappersMP.PREPARE_SAMPLING
    patched.remove_wrappers_with_key(kind, PREPARE_WRAPPER_KEY)
    patched.add_wrapper_with_key(kind, PREPARE_WRAPPER_KEY, prepare_sampling_wrapper)
    return patched


def stock_memory_required(patcher):
    """The estimate this clone had before: an earlier object patch, else the model class's own."""
    earlier = patcher.object_patches.get("memory_required")
    if isinstance(earlier, FrameChunkedMemory):
        return earlier.original
    if earlier is not None:
        return earlier
    return type(patcher.model).memory_required.__get__(patcher.model)


class FrameChunkedMemory:
    """`memory_required(input_shape, cond_shapes)` of the frame-chunked model, in bytes.

    ComfyUI's own estimate for `frames_per_chunk` rows (the working set of one chunk, whatever
    the call's size) plus the per-frame floor for every row: the skip connections and residual
    stream that stay full size (`techniques.frame_chunking.unet_frame_floor`). Calls of at most
    `frames_per_chunk` rows run the stock model and get the stock estimate.
    """

    def __init__(self, model, original, settings: FrameChunkingSettings, floor: FrameFloor):
        self.model, self.original, self.settings, self.floor = model, original, settings, floor

    def __call__(self, input_shape, cond_shapes={}):
        rows = int(input_shape[0])
        if not self.settings.applies_to(rows):
            return self.original(input_shape, cond_shapes=cond_shapes)
        chunk = self.original([self.settings.frames_per_chunk] + list(input_shape[1:]), cond_shapes=cond_shapes)
        return chunk + self.floor_bytes(rows, input_shape)

    def floor_bytes(self, rows: int, input_shape) -> float:
        import comfy.model_management

        dtype = self.model.get_dtype()
        if getattr(self.model, "manual_cast_dtype", None) is not None:
            dtype = self.model.manual_cast_dtype
        pixels = math.prod(input_shape[2:])
        return rows * self.floor.total * pixels * comfy.model_management.dtype_size(dtype)

    def equivalent_frames(self, frames: int, input_shape) -> int:
        """The frame count whose stock estimate is this model's estimate for `frames`."""
        per_row = self.original([1] + list(input_shape[1:]))
        return max(1, min(frames, math.ceil(self([frames] + list(input_shape[1:])) / per_row)))


def prepare_sampling_wrapper(executor, model, noise_shape, *args, **kwargs):
    """Give ComfyUI's pre-load estimate the chunked model's need (see the module docstring).

    Skipped when the model already carries a chunked estimate (the clone is still loaded from an
    earlier run): estimate_memory then calls that estimate itself.
    """
    estimate = model.object_patches.get("memory_required")
    if isinstance(estimate, FrameChunkedMemory) and not isinstance(model.model.memory_required, FrameChunkedMemory):
        noise_shape = list(noise_shape)
        frames = noise_shape[0]
        handler = (kwargs.get("model_options") or {}).get("context_handler")
        if handler is not None and getattr(handler, "dim", None) == 0:  # ComfyUI's context windows: one window
            frames = min(frames, handler.context_length)
        noise_shape[0] = estimate.equivalent_frames(frames, noise_shape)
    return executor(model, noise_shape, *args, **kwargs)


def unet_floor(diffusion_model) -> FrameFloor:
    """The per-frame floor of a ComfyUI UNetModel, read from its blocks' channels and resolutions."""
    from comfy.ldm.modules.diffusionmodules.openaimodel import Downsample, ResBlock

    skips, channels, scale = [], None, 1
    for block in diffusion_model.input_blocks:
        for layer in block:
            if isinstance(layer, Downsample):
                channels, scale = layer.out_channels, scale * 2
            elif isinstance(layer, ResBlock):
                channels = layer.out_channels
            elif isinstance(layer, torch.nn.Conv2d):
                channels = layer.out_channels
        skips.append((channels, scale))
    bottom = channels
    for layer in diffusion_model.middle_block or []:
        if isinstance(layer, ResBlock):
            bottom = layer.out_channels
    decoder = []
    for block in diffusion_model.output_blocks:
        out = [layer.out_channels for layer in block if isinstance(layer, ResBlock)]
        decoder.append(out[-1])
    return unet_frame_floor(skips, bottom, decoder)
