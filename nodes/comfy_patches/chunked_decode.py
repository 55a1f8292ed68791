"""Chunked decoding of SVD latents with ComfyUI's temporal VAE (comfy.sd.VAE)."""
from __future__ import annotations

import logging

import torch

from ..techniques.chunked_decode import ChunkSettings, decode_in_chunks, plan_chunks, require_frames
from ..techniques.errors import InputError
from ..techniques.svd import LATENT_CHANNELS


def is_video_vae(vae) -> bool:
    from comfy.ldm.modules.temporal_ae import VideoDecoder

    decoder = getattr(getattr(vae, "first_stage_model", None), "decoder", None)
    return isinstance(decoder, VideoDecoder)


def check_decode_inputs(vae, latent: torch.Tensor) -> None:
    """Clear errors before any work: wrong VAE, wrong latent layout, no frames."""
    if not is_video_vae(vae):
        raise InputError(
            "vae is not a video VAE (SVD's temporal decoder); chunked temporal decoding only helps "
            "SVD-family VAEs, use the plain VAE Decode node for image VAEs"
        )
    if latent.ndim != 4 or latent.shape[1] != LATENT_CHANNELS:
        raise InputError(f"samples must be an SVD latent of shape (frames, {LATENT_CHANNELS}, height/8, width/8); "
                         f"got {tuple(latent.shape)}")
    require_frames(latent.shape[0])


def decode_chunked(vae, latent: torch.Tensor, settings: ChunkSettings) -> torch.Tensor:
    """(T,4,h,w) latent -> (T,H,W,3) IMAGE, decoding at most `chunk_frames` frames at a time.

    Each chunk is one call of the temporal decoder (so it mixes frames inside the chunk). Like
    ComfyUI's own VAE Decode, it reserves memory for what one call decodes and falls back when the
    device runs out: the chunk is halved (down to the smallest chunk the overlap allows) and the
    video decoded again, before it gives up naming chunk_frames.
    """
    import comfy.model_management as mm

    check_decode_inputs(vae, latent)
    current = settings
    while True:
        out_of_memory = False
        try:
            return _decode_once(vae, latent, current)
        except mm.OOM_EXCEPTION:
            # Leave the except block first so the failed chunk's tensors can be freed (as VAE.decode does).
            out_of_memory = True
        if out_of_memory:
            smaller = current.halved()
            if smaller is None:
                raise InputError(
                    f"ran out of memory decoding chunks of {current.chunk_frames} frames, the smallest that "
                    f"overlap_frames={current.overlap_frames} allows; lower chunk_frames and overlap_frames, or free "
                    f"memory (e.g. unload other models)")
            logging.warning("Longer Video: out of memory decoding %d-frame chunks; retrying with chunk_frames=%d",
                            current.chunk_frames, smaller.chunk_frames)
            mm.soft_empty_cache()
            current = smaller


def _decode_once(vae, latent: torch.Tensor, settings: ChunkSettings) -> torch.Tensor:
    """One pass over the video: VAE loaded with room for the largest chunk, progress per chunk,
    interruptible between chunks."""
    import comfy.model_management as mm
    import comfy.utils

    chunks = plan_chunks(latent.shape[0], settings)
    largest = max(c.end - c.start for c in chunks)
    # VAE.memory_used_decode is per frame for 4-D latents (VAE.decode multiplies it by its batch).
    memory = vae.memory_used_decode(latent.shape, vae.vae_dtype) * largest
    mm.load_models_gpu([vae.patcher], memory_required=memory, force_full_load=getattr(vae, "disable_offload", False))
    progress = comfy.utils.ProgressBar(len(chunks))

    def decode(chunk: torch.Tensor) -> torch.Tensor:
        samples = chunk.to(vae.vae_dtype).to(vae.device)
        pixels = vae.first_stage_model.decode(samples)
        return vae.process_output(pixels.to(vae.output_device).float())

    pixels = decode_in_chunks(
        latent, decode, settings,
        before_chunk=mm.throw_exception_if_processing_interrupted,
        on_chunk_done=lambda i, n: progress.update_absolute(i + 1, n),
    )
    return pixels.movedim(1, -1)
