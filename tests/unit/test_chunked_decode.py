import pytest
import torch

from longer_video.nodes.techniques.chunked_decode import (
    ChunkSettings, chunk_weights, decode_in_chunks, plan_chunks, require_frames,
)


def plan(frames, chunk, overlap):
    return plan_chunks(frames, ChunkSettings(chunk, overlap, 0))


def decode_chunks(latents, fn, chunk, overlap, fade, **hooks):
    return decode_in_chunks(latents, fn, ChunkSettings(chunk, overlap, fade), **hooks)


def validate_chunking(frames, chunk, overlap, fade):
    require_frames(frames)
    ChunkSettings(chunk, overlap, fade)

GRID = [(t, c, m) for t in (1, 2, 7, 14, 25, 26, 65, 129) for c in (1, 3, 8, 16, 40) for m in (0, 1, 3, 4)
        if 2 * m < c]


@pytest.mark.parametrize("frames, chunk, overlap", GRID)
def test_plan_keeps_every_frame_exactly_once_within_chunk_size(frames, chunk, overlap):
    chunks = plan(frames, chunk, overlap)
    kept = [t for c in chunks for t in range(c.keep_start, c.keep_end)]
    assert kept == list(range(frames))
    for c in chunks:
        assert 0 <= c.start <= c.keep_start < c.keep_end <= c.end <= frames
        assert c.end - c.start <= chunk
    for a, b in zip(chunks, chunks[1:]):  # inner seams see `overlap` frames of context on both sides
        assert b.keep_start - b.start >= overlap and a.end - a.keep_end >= overlap


@pytest.mark.parametrize("frames, chunk, overlap, fade",
                         [g + (f,) for g in GRID for f in (1, 2, 3, 8) if 0 < f <= 2 * g[2]])
def test_weights_are_positive_bounded_and_one_away_from_seams(frames, chunk, overlap, fade):
    chunks = plan(frames, chunk, overlap)
    total = torch.zeros(frames, dtype=torch.float64)
    for c in chunks:
        w = chunk_weights(c, frames, fade)
        assert torch.all(w >= 0) and torch.all(w <= 1)
        total[c.start:c.end] += w
    assert torch.all(total > 0)
    # each chunk's own kept frames away from seams have weight one
    for c in chunks:
        w = chunk_weights(c, frames, fade)
        inner = [t for t in range(c.keep_start, c.keep_end)
                 if all(abs(t - b) > fade for b in [c.keep_start for c in chunks[1:]])]
        assert all(w[t - c.start] == 1 for t in inner)


def test_hard_cut_without_fade_uses_each_kept_frame_once():
    frames = 20
    latents = torch.arange(frames, dtype=torch.float32).view(frames, 1)
    calls = []

    def decode(chunk):
        calls.append(chunk.shape[0])
        return chunk * 2 + 100 * len(calls)  # tag by chunk so blending would show

    out = decode_chunks(latents, decode, 8, 2, 0)
    chunks = plan(frames, 8, 2)
    for i, c in enumerate(chunks):
        assert torch.equal(out[c.keep_start:c.keep_end, 0], latents[c.keep_start:c.keep_end, 0] * 2 + 100 * (i + 1))
    assert calls == [c.end - c.start for c in chunks] and max(calls) <= 8


def test_crossfade_blends_linearly_across_the_seam():
    frames, fade = 20, 4
    latents = torch.zeros(frames, 1)
    tags = iter([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    out = decode_chunks(latents, lambda c: c + next(tags), 12, 2, fade)[:, 0]
    b = plan(frames, 12, 2)[1].keep_start
    expected = torch.tensor([0.125, 0.375, 0.625, 0.875])  # from chunk 0 (tag 0) to chunk 1 (tag 1)
    assert torch.allclose(out[b - fade // 2: b - fade // 2 + fade], expected)
    assert out[b - fade // 2 - 1] == 0 and out[b + fade // 2] == 1


def test_single_chunk_is_exactly_the_decoder_output():
    latents = torch.randn(10, 3)
    out = decode_chunks(latents, lambda c: c.sin(), 16, 4, 4)
    assert torch.equal(out, latents.sin())


def test_progress_and_cancellation_hooks_run_per_chunk():
    done, checked = [], []
    decode_chunks(torch.zeros(30, 1), lambda c: c, 8, 2, 2, on_chunk_done=lambda i, n: done.append((i, n)),
                  before_chunk=lambda: checked.append(1))
    n = len(plan(30, 8, 2))
    assert done == [(i, n) for i in range(n)] and len(checked) == n

    class Interrupted(Exception):
        pass

    def interrupt():
        raise Interrupted

    with pytest.raises(Interrupted):
        decode_chunks(torch.zeros(30, 1), lambda c: c, 8, 2, 2, before_chunk=interrupt)


@pytest.mark.parametrize("args, word", [
    ((0, 8, 2, 2), "no frames"), ((10, 0, 0, 0), "chunk_frames"), ((10, 8, 4, 0), "overlap_frames\\*2"),
    ((10, 8, -1, 0), "overlap_frames"), ((10, 8, 2, 5), "crossfade_frames"),
])
def test_bad_chunking_names_the_input(args, word):
    with pytest.raises(ValueError, match=word):
        validate_chunking(*args)
