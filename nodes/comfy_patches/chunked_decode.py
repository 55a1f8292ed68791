"""Chunked decoding of SVD latents with ComfyUI's temporal VAE (comfy.sd.VAE)."""
from __future__ import annotations

import torch

from ..techniques.chunk_plan import decode_in_chunks, plan_chunks, validate_chunking


def is_video_vae(vae) -> bool:
    from comfy.ldm.modules.temporal_ae import VideoDecoder

    decoder = getattr(getattr(vae, "first_stage_model", None), "decoder", None)
    return isinstance(decoder, VideoDecoder)


def check_decode_inputs(vae, latent: torch.Tensor, chunk_frames: int, overlap_frames: int, crossfade_frames: int,
                        node_name: str = "LongerVideoChunkedDecode") -> None:
    """Clear errors before any work: wrong VAE, wrong latent layout, impossible chunking."""
    if not is_video_vae(vae):
        raise ValueError(
            f"{node_name}: vae is not a video VAE (SVD's temporal decoder); chunked temporal decoding only helps "
            "SVD-family VAEs, use the plain VAE Decode node for image VAEs"
        )
    if latent.ndim != 4 or latent.shape[1] != 4:
        raise ValueError(
            f"{node_name}: samples must be an SVD latent of shape (frames, 4, height/8, width/8); got {tuple(latent.shape)}"
        )
    try:
        validate_chunking(latent.shape[0], chunk_frames, overlap_frames, crossfade_frames)
    except ValueError as e:
        raise ValueError(f"{node_name}: {e}") from None


def decode_chunked(vae, latent: torch.Tensor, chunk_frames: int, overlap_frames: int, crossfade_frames: int,
                   node_name: str = "LongerVideoChunkedDecode") -> torch.Tensor:
    """(T,4,h,w) latent -> (T,H,W,3) IMAGE, decoding at most `chunk_frames` frames at a time.

    Each chunk is one call of the temporal decoder (so it mixes frames inside the chunk); the VAE
    is loaded once for the largest chunk, shows a progress bar per chunk and can be interrupted
    between chunks.
    """
    import comfy.model_management as mm
    import comfy.utils

    check_decode_inputs(vae, latent, chunk_frames, overlap_frames, crossfade_frames, node_name)
    chunks = plan_chunks(latent.shape[0], chunk_frames, overlap_frames)
    largest = max(c.end - c.start for c in chunks)
    memory = vae.memory_used_decode((largest,) + tuple(latent.shape[1:]), vae.vae_dtype)
    mm.load_models_gpu([vae.patcher], memory_required=memory, force_full_load=getattr(vae, "disable_offload", False))
    progress = comfy.utils.ProgressBar(len(chunks))

    def decode(chunk: torch.Tensor) -> torch.Tensor:
        samples = chunk.to(vae.vae_dtype).to(vae.device)
        pixels = vae.first_stage_model.decode(samples)
        return vae.process_output(pixels.to(vae.output_device).float())

    pixels = decode_in_chunks(
        latent, decode, chunk_frames, overlap_frames, crossfade_frames,
        before_chunk=mm.throw_exception_if_processing_interrupted,
        on_chunk_done=lambda i, n: progress.update_absolute(i + 1, n),
    )
    return pixels.movedim(1, -1)
