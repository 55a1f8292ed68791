"""Module tier: chunked decoding with ComfyUI's SVD VAE (random weights, real comfy.sd.VAE)."""
import pytest
import torch
from comfy_models import sd_image_vae_state_dict

from longer_video.nodes.chunked_decode import LongerVideoChunkedDecode
from longer_video.nodes.comfy_patches.chunked_decode import decode_chunked
from longer_video.nodes.techniques.chunked_decode import ChunkSettings, plan_chunks

FRAMES = 20


@pytest.fixture(scope="module")
def latent():
    return torch.randn(FRAMES, 4, 4, 4, generator=torch.Generator().manual_seed(5))


@pytest.fixture(scope="module")
def full(vae, latent):
    return vae.decode(latent)  # the stock path: one call over all frames on this machine


def test_chunk_covering_the_video_equals_the_stock_decode(vae, latent, full):
    ours = decode_chunked(vae, latent, ChunkSettings(FRAMES + 4, 2, 2))
    assert ours.shape == full.shape == (FRAMES, 32, 32, 3)
    assert (ours - full).abs().max() <= 1e-6


def seam_jump(video, seams):
    """Mean absolute frame-to-frame change across the seams."""
    return torch.stack([(video[b] - video[b - 1]).abs().mean() for b in seams]).mean()


def test_overlap_reduces_seam_error_against_a_full_decode(vae, latent, full):
    hard = decode_chunked(vae, latent, ChunkSettings(8, 0, 0))
    soft = decode_chunked(vae, latent, ChunkSettings(8, 3, 2))
    seams_hard = [c.keep_start for c in plan_chunks(FRAMES, ChunkSettings(8, 0, 0))[1:]]
    seams_soft = [c.keep_start for c in plan_chunks(FRAMES, ChunkSettings(8, 3, 0))[1:]]
    err_hard = max((hard[b - 1:b + 1] - full[b - 1:b + 1]).abs().mean() for b in seams_hard)
    err_soft = max((soft[b - 1:b + 1] - full[b - 1:b + 1]).abs().mean() for b in seams_soft)
    assert err_soft < err_hard
    assert (soft - full).abs().mean() < (hard - full).abs().mean()
    # the jump across seams is closer to the full decode's motion with overlap
    jump_excess_hard = (seam_jump(hard, seams_hard) - seam_jump(full, seams_hard)).abs()
    jump_excess_soft = (seam_jump(soft, seams_soft) - seam_jump(full, seams_soft)).abs()
    assert jump_excess_soft < jump_excess_hard


def test_progress_bar_ticks_per_chunk_and_decoding_is_cancellable(vae, latent):
    import comfy.model_management as mm
    import comfy.utils

    ticks = []
    comfy.utils.set_progress_bar_global_hook(lambda value, total, preview=None, node_id=None: ticks.append((value, total)))
    try:
        decode_chunked(vae, latent, ChunkSettings(8, 2, 2))
    finally:
        comfy.utils.set_progress_bar_global_hook(None)
    n = len(plan_chunks(FRAMES, ChunkSettings(8, 2, 2)))
    assert ticks[-1] == (n, n) and len(ticks) >= n
    mm.interrupt_current_processing(True)
    try:
        with pytest.raises(mm.InterruptProcessingException):
            decode_chunked(vae, latent, ChunkSettings(8, 2, 2))
    finally:
        mm.interrupt_current_processing(False)


@pytest.mark.parametrize("shape, settings, word", [
    ((0, 4, 4, 4), (8, 2, 2), "no frames"),
    ((1, 4, 2, 4, 4), (8, 2, 2), "samples must be an SVD latent"),
    ((6, 16, 4, 4), (8, 2, 2), "samples must be an SVD latent"),
    ((6, 4, 4, 4), (8, 4, 0), "overlap_frames\\*2 must be < chunk_frames"),
    ((6, 4, 4, 4), (8, 1, 3), "crossfade_frames"),
])
def test_bad_input_names_node_and_input(vae, shape, settings, word):
    with pytest.raises(ValueError, match=f"LongerVideoChunkedDecode: .*{word}"):
        decode_node(vae, torch.zeros(shape), *settings)


def test_image_vae_is_rejected():
    import comfy.sd

    image_vae = comfy.sd.VAE(sd=sd_image_vae_state_dict())
    with pytest.raises(ValueError, match="LongerVideoChunkedDecode: vae is not a video VAE"):
        decode_node(image_vae, torch.zeros(6, 4, 4, 4), 8, 2, 2)


def decode_node(vae, latent, chunk_frames, overlap_frames, crossfade_frames):
    """What ComfyUI runs for the node (errors carry its name)."""
    return LongerVideoChunkedDecode.execute(vae, {"samples": latent}, chunk_frames=chunk_frames,
                                            overlap_frames=overlap_frames, crossfade_frames=crossfade_frames)


def failing_above(vae, monkeypatch, frames: int, calls: list):
    """Make the VAE's decoder raise ComfyUI's out-of-memory exception for calls of more than `frames` frames."""
    import comfy.model_management as mm

    real = vae.first_stage_model.decode

    def decode(samples, **kwargs):
        calls.append(samples.shape[0])
        if samples.shape[0] > frames:
            raise mm.OOM_EXCEPTION(f"out of memory decoding {samples.shape[0]} frames (test)")
        return real(samples, **kwargs)

    monkeypatch.setattr(vae.first_stage_model, "decode", decode)


def test_out_of_memory_halves_the_chunk_until_it_fits(vae, latent, monkeypatch):
    expected = decode_chunked(vae, latent, ChunkSettings(5, 2, 2))
    calls = []
    failing_above(vae, monkeypatch, 6, calls)
    out = decode_chunked(vae, latent, ChunkSettings(16, 2, 2))  # 16 -> 8 -> 5 (the floor for overlap 2)
    assert calls[0] == 16 and 8 in calls and max(calls[calls.index(8) + 1:]) == 5
    assert torch.equal(out, expected)


def test_out_of_memory_at_the_smallest_chunk_names_chunk_frames(vae, latent, monkeypatch):
    failing_above(vae, monkeypatch, 3, [])
    with pytest.raises(ValueError, match="LongerVideoChunkedDecode: ran out of memory .*chunk_frames"):
        decode_node(vae, latent, 16, 2, 2)


def test_memory_is_reserved_for_a_whole_chunk(vae, latent, monkeypatch):
    import comfy.model_management as mm

    reserved = []
    real = mm.load_models_gpu
    monkeypatch.setattr(mm, "load_models_gpu", lambda models, memory_required=0, **kw: reserved.append(memory_required)
                        or real(models, memory_required=memory_required, **kw))
    decode_chunked(vae, latent, ChunkSettings(12, 2, 2))
    per_frame = vae.memory_used_decode(latent.shape, vae.vae_dtype)  # ComfyUI's estimate is per frame
    assert reserved == [per_frame * 12]
