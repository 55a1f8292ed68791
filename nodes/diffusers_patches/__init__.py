"""The pack's techniques on a diffusers `StableVideoDiffusionPipeline` / its SVD UNet.

    from <pack>.nodes.diffusers_patches import apply_temporal_positions, apply_chunked_decoding
    apply_temporal_positions(pipe, mode="yarn", trained_frames=25)
    apply_chunked_decoding(pipe, chunk_frames=16, overlap_frames=4, crossfade_frames=4)
    frames = pipe(image, num_frames=50, ...).frames
    remove_temporal_positions(pipe); remove_chunked_decoding(pipe)   # back to stock

    apply_windowed_attention(pipe, window_frames=25, stride_frames=4, fusion="pyramid", mode="block")
    latents = freenoise_latents(1, 65, 576, 1024, window_frames=25, stride_frames=4, seed=42)
    frames = pipe(image, num_frames=65, latents=latents, height=576, width=1024).frames

    # keyframe interpolation: 5 images -> 17 frames that pass exactly through them
    frames = generate_between_keyframes(pipe, keyframes, frames_between=4, hint="hold", height=576, width=1024).frames
"""
from .chunked_decode import apply_chunked_decoding, decode_latents_chunked, remove_chunked_decoding
from .keyframes import generate_between_keyframes
from .positions import apply_temporal_positions, remove_temporal_positions
from .windows import apply_windowed_attention, freenoise_latents, remove_windowed_attention

__all__ = [
    "apply_chunked_decoding",
    "apply_temporal_positions",
    "apply_windowed_attention",
    "freenoise_latents",
    "generate_between_keyframes",
    "decode_latents_chunked",
    "remove_chunked_decoding",
    "remove_temporal_positions",
    "remove_windowed_attention",
]
