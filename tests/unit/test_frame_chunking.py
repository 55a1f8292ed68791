"""Frame chunking's pure-torch parts: settings, chunk plans, exact chunked GroupNorm, the temporal
resblock in chunks, and the per-frame floor of a UNet."""
import pytest
import torch
import torch.nn.functional as F

from longer_video.nodes.techniques.errors import InputError
from longer_video.nodes.techniques.frame_chunking import (
    FrameChunkingSettings, TemporalResBlockSteps, chunk_ranges, group_normalize, group_statistics, map_chunks,
    map_rows, positions_per_chunk, temporal_resblock_in_chunks, unet_frame_floor,
)


@pytest.mark.parametrize("value", [0, -3, 2.5, True])
def test_settings_name_the_input(value):
    with pytest.raises(InputError, match="frames_per_chunk must be a whole number >= 1"):
        FrameChunkingSettings(value)


def test_settings_apply_beyond_one_chunk():
    assert not FrameChunkingSettings(8).applies_to(8) and FrameChunkingSettings(8).applies_to(9)


@pytest.mark.parametrize("total, size", [(10, 3), (10, 10), (10, 20), (1, 1)])
def test_chunk_ranges_cover_every_index_once(total, size):
    covered = [i for start, end in chunk_ranges(total, size) for i in range(start, end)]
    assert covered == list(range(total)) and all(end - start <= size for start, end in chunk_ranges(total, size))


def test_positions_per_chunk_holds_about_a_chunk_of_frames():
    assert positions_per_chunk(rows=258, positions=9216, frames_per_chunk=8) == 285  # 258 * 285 ~ 8 * 9216
    assert positions_per_chunk(rows=4, positions=16, frames_per_chunk=8) == 16
    assert positions_per_chunk(rows=1000, positions=16, frames_per_chunk=1) == 1


def test_map_rows_equals_one_call_and_slices_per_row_arguments():
    x, scale = torch.randn(11, 3), torch.randn(11, 1)
    bias = torch.randn(3)  # not per row: passed whole
    out = map_rows(lambda rows, s, b: rows * s + b, x, 4, scale, bias)
    assert torch.equal(out, x * scale + bias)


def test_map_rows_in_place_reuses_the_input_storage_when_the_output_fits():
    x = torch.randn(10, 6, 4)
    expected = (x * 2).reshape(10, 4, 6)
    with torch.no_grad():  # inference; with gradients on the chunks are concatenated (backward test below)
        out = map_rows(lambda rows: (rows * 2).reshape(rows.shape[0], 4, 6), x, 3, in_place=True)
        wider = map_rows(lambda rows: torch.cat([rows, rows], 1), torch.randn(10, 6, 4), 3, in_place=True)
    assert torch.equal(out, expected) and out.data_ptr() == x.data_ptr()
    assert wider.shape == (10, 12, 4)


def test_map_rows_and_map_chunks_backward_equals_one_call():
    # the chunks save their inputs (sin); writing outputs over x or its chunks would break backward
    leaf = torch.randn(10, 6, dtype=torch.float64, requires_grad=True)
    (expected,) = torch.autograd.grad(((leaf * 2).sin() * 3).sin().sum(), leaf)
    x = leaf * 2
    x = map_chunks(lambda chunk, start, end: chunk.sin() * 3, x, 1, 4)
    out = map_rows(lambda rows: rows.sin(), x, 3, in_place=True)
    (gradient,) = torch.autograd.grad(out.sum(), leaf)
    assert torch.allclose(gradient, expected, atol=1e-12)


def test_map_chunks_without_gradients_writes_into_the_input():
    x = torch.randn(4, 7)
    expected = x * 2
    with torch.no_grad():
        out = map_chunks(lambda chunk, start, end: chunk * 2, x, 1, 3)
    assert out is x and torch.equal(out, expected)


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
@pytest.mark.parametrize("rows_per_chunk", [1, 3, 7])
def test_chunked_group_norm_equals_one_call(dtype, tolerance, rows_per_chunk):
    g = torch.Generator().manual_seed(0)
    # a (b, c, t, h, w) view of a (b t) c h w tensor, as the temporal resblock sees it
    flat = torch.randn(2 * 5, 8, 7, 3, generator=g, dtype=dtype) * 3 + 1
    x = flat.reshape(2, 5, 8, 7, 3).permute(0, 2, 1, 3, 4)
    weight, bias = torch.randn(8, generator=g, dtype=dtype), torch.randn(8, generator=g, dtype=dtype)
    expected = F.group_norm(x, 4, weight, bias, 1e-6)
    stats = group_statistics(x, 4, 1e-6, rows_per_chunk)
    chunks = [group_normalize(x[:, :, :, a:b], stats, weight, bias, 4) for a, b in chunk_ranges(7, rows_per_chunk)]
    assert (torch.cat(chunks, dim=3) - expected).abs().max() <= tolerance


def reference_temporal_resblock(x, norm1, conv1, emb, norm2, conv2, alpha):
    h = conv1(F.silu(norm1(x))) + emb
    h = conv2(F.silu(norm2(h)))
    return alpha * x + (1 - alpha) * (x + h)


def resblock_steps(norm1, conv1, emb, norm2, conv2, alpha) -> TemporalResBlockSteps:
    """The steps of reference_temporal_resblock (groups of 4), as temporal_resblock_in_chunks takes them."""
    return TemporalResBlockSteps(
        first_norm=lambda chunk, s: group_normalize(chunk, s, norm1.weight, norm1.bias, 4), first_groups=4,
        first_eps=norm1.eps, first=lambda n: conv1(F.silu(n)) + emb,
        second_norm=lambda chunk, s: group_normalize(chunk, s, norm2.weight, norm2.bias, 4), second_groups=4,
        second_eps=norm2.eps, second=lambda n: conv2(F.silu(n)),
        finish=lambda xc, hc: alpha * xc + (1 - alpha) * (xc + hc),
    )


@pytest.mark.parametrize("rows_per_chunk", [1, 2, 5])
def test_temporal_resblock_in_chunks_equals_the_one_call_block(rows_per_chunk):
    torch.manual_seed(0)
    b, c, t, h, w = 2, 8, 6, 5, 3
    x = torch.randn(b, t, c, h, w, dtype=torch.float64).permute(0, 2, 1, 3, 4)
    norm1, norm2 = torch.nn.GroupNorm(4, c).double(), torch.nn.GroupNorm(4, c).double()
    conv1 = torch.nn.Conv3d(c, c, (3, 1, 1), padding=(1, 0, 0)).double()
    conv2 = torch.nn.Conv3d(c, c, (3, 1, 1), padding=(1, 0, 0)).double()
    for norm in (norm1, norm2):
        torch.nn.init.normal_(norm.weight), torch.nn.init.normal_(norm.bias)
    emb, alpha = torch.randn(b, c, t, 1, 1, dtype=torch.float64), 0.3
    with torch.no_grad():
        expected = reference_temporal_resblock(x, norm1, conv1, emb, norm2, conv2, alpha)
        steps = resblock_steps(norm1, conv1, emb, norm2, conv2, alpha)
        out = temporal_resblock_in_chunks(x, steps, rows_per_chunk)
    assert (out - expected).abs().max() <= 1e-12
    assert out.permute(0, 2, 1, 3, 4).is_contiguous()  # (b t) c h w without a copy


@pytest.mark.parametrize("rows_per_chunk", [1, 2])
def test_temporal_resblock_in_chunks_backward_equals_the_one_call_block(rows_per_chunk):
    torch.manual_seed(0)
    b, c, t, h, w = 2, 8, 6, 5, 3
    x = torch.randn(b, c, t, h, w, dtype=torch.float64, requires_grad=True)
    norm1, norm2 = torch.nn.GroupNorm(4, c).double(), torch.nn.GroupNorm(4, c).double()
    conv1 = torch.nn.Conv3d(c, c, (3, 1, 1), padding=(1, 0, 0)).double()
    conv2 = torch.nn.Conv3d(c, c, (3, 1, 1), padding=(1, 0, 0)).double()
    emb, alpha = torch.randn(b, c, t, 1, 1, dtype=torch.float64), 0.3
    projection = torch.randn(b, c, t, h, w, dtype=torch.float64)
    weights = [x, *conv1.parameters(), *conv2.parameters(), *norm1.parameters(), *norm2.parameters()]
    expected = torch.autograd.grad(
        (reference_temporal_resblock(x, norm1, conv1, emb, norm2, conv2, alpha) * projection).sum(), weights)
    steps = resblock_steps(norm1, conv1, emb, norm2, conv2, alpha)
    out = temporal_resblock_in_chunks(x, steps, rows_per_chunk)
    gradients = torch.autograd.grad((out * projection).sum(), weights)
    for gradient, reference in zip(gradients, expected):
        assert (gradient - reference).abs().max() <= 1e-10


def test_unet_floor_is_the_widest_decoder_moment():
    # encoder: skips of 4 ch at scale 1, 4 ch at 1, 8 ch at 2 (elements per latent pixel: 4, 4, 2)
    # decoder pops 8@2 (h 8 -> 8), then 4@1 (h 8 -> 4), then 4@1 (h 4 -> 4)
    floor = unet_frame_floor([(4, 1), (4, 1), (8, 2)], bottom_channels=8, decoder_channels=[8, 4, 4])
    # widest: before popping the second skip: alive 4 + 4, stream h (8) + cat (8 + 4) = 20
    assert (floor.skips, floor.stream, floor.all_skips) == (8, 20, 10)
    assert floor.total == 28
    with pytest.raises(ValueError, match="consumes 2 skips"):
        unet_frame_floor([(4, 1), (4, 1), (8, 2)], 8, [8, 4])
