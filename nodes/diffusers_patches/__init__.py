"""The pack's techniques on a diffusers `StableVideoDiffusionPipeline` / its SVD UNet.

Public through the top-level package (`import longer_video`); see the README's Python section.
Every patch is undone by its `remove_*` function (or, for `interpolate_keyframes`, when the call
returns) and keeps accelerate's offload hooks working.
"""
from .chunked_decode import apply_chunked_decode, decode_latents_chunked, remove_chunked_decode
from .continuation import continue_video
from .frame_chunking import apply_frame_chunking, remove_frame_chunking
from .freenoise import freenoise_latents
from .keyframe_interpolation import interpolate_keyframes
from .lora_cache import cache_training_latents
from .lora_format import load_interpolation_lora, remove_interpolation_lora
from .lora_training import train_interpolation_lora
from .temporal_positions import apply_temporal_positions, remove_temporal_positions
from .windowed_attention import apply_windowed_attention, remove_windowed_attention

__all__ = [
    "apply_chunked_decode",
    "apply_frame_chunking",
    "apply_temporal_positions",
    "apply_windowed_attention",
    "cache_training_latents",
    "continue_video",
    "decode_latents_chunked",
    "freenoise_latents",
    "interpolate_keyframes",
    "load_interpolation_lora",
    "remove_chunked_decode",
    "remove_frame_chunking",
    "remove_interpolation_lora",
    "remove_temporal_positions",
    "remove_windowed_attention",
    "train_interpolation_lora",
]
