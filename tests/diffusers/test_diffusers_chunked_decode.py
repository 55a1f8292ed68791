import pytest
import torch
from diffusers_models import tiny_pipeline

from longer_video import ChunkSettings, apply_chunked_decode, decode_latents_chunked, remove_chunked_decode

FRAMES = 24


@pytest.fixture(scope="module")
def pipe():
    return tiny_pipeline()


@pytest.fixture(scope="module")
def latents():
    return torch.randn(1, FRAMES, 4, 4, 4, generator=torch.Generator().manual_seed(3)) * 3


@torch.no_grad()
def test_chunk_covering_the_video_equals_stock_decode(pipe, latents):
    stock = pipe.decode_latents(latents, FRAMES, decode_chunk_size=FRAMES)
    ours = decode_latents_chunked(pipe.vae, latents, ChunkSettings(FRAMES + 5, 2, 2))
    assert ours.shape == stock.shape
    assert (ours - stock).abs().max() <= 1e-6


@torch.no_grad()
def test_overlap_reduces_the_error_against_a_full_decode(pipe, latents):
    full = pipe.decode_latents(latents, FRAMES, decode_chunk_size=FRAMES)
    stock_chunks = pipe.decode_latents(latents, FRAMES, decode_chunk_size=8)  # diffusers' own: no overlap
    hard = decode_latents_chunked(pipe.vae, latents, ChunkSettings(8, 0, 0))
    overlapped = decode_latents_chunked(pipe.vae, latents, ChunkSettings(8, 2, 2))
    assert torch.allclose(hard, stock_chunks, atol=1e-6)  # overlap 0 is the stock chunking
    err_hard = (hard - full).abs().mean()
    err_overlap = (overlapped - full).abs().mean()
    assert err_overlap < err_hard


@torch.no_grad()
def test_pipeline_patch_is_used_and_removable(pipe, latents):
    stock = pipe.decode_latents(latents, FRAMES, decode_chunk_size=8)
    apply_chunked_decode(pipe, ChunkSettings(8, 2, 2))
    try:
        patched = pipe.decode_latents(latents, FRAMES, 8)
        assert (patched - stock).abs().max() > 1e-4
        assert torch.equal(patched, decode_latents_chunked(pipe.vae, latents, ChunkSettings(8, 2, 2)))
    finally:
        assert remove_chunked_decode(pipe)
    assert torch.equal(pipe.decode_latents(latents, FRAMES, decode_chunk_size=8), stock)
    assert not remove_chunked_decode(pipe)


def test_bad_settings_are_rejected(pipe):
    with pytest.raises(ValueError, match="overlap_frames"):
        apply_chunked_decode(pipe, ChunkSettings(chunk_frames=8, overlap_frames=4))
    with pytest.raises(ValueError, match="latents must be"):
        decode_latents_chunked(pipe.vae, torch.zeros(4, 4, 4, 4))
