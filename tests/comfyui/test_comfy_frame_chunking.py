"""Module tier: frame chunking on a tiny ComfyUI SVD model (fp32): stock results, chunked work,
composition with the pack's other patches and ComfyUI's context windows, the memory estimate."""
import math

import pytest
import torch
from comfy_models import build_image_model, build_svd_model, model_patcher, run_patched, svd_inputs, tiny_unet_config
from comfy_sampling import (
    STEPS, clip_embeds, conditioning, context_windows, keyframe_latents, ksample, run_sampler_node, sample_one_step,
)


from longer_video.nodes.comfy_patches.frame_chunking import FrameChunkedMemory, apply_frame_chunking
from longer_video.nodes.comfy_patches.freenoise import apply_freenoise
from longer_video.nodes.comfy_patches.temporal_positions import apply_temporal_positions
from longer_video.nodes.comfy_patches.windowed_attention import apply_windowed_attention
from longer_video.nodes.frame_chunking import LongerVideoFrameChunking
from longer_video.nodes.techniques.errors import InputError
from longer_video.nodes.techniques.frame_chunking import FrameChunkingSettings
from longer_video.nodes.techniques.freenoise import FreeNoiseSettings
from longer_video.nodes.techniques.temporal_positions import PositionSettings
from longer_video.nodes.techniques.windowed_attention import WindowSettings

CONFIG = tiny_unet_config()
TOLERANCE = 1e-5  # one model call, fp32 (ComfyUI's own split of a batch into two calls moves it ~3e-6)
# Whole sampling runs compare in fp64: the tiny random model (one channel per GroupNorm group) turns
# fp32 rounding into ~1e-4 over a few steps, for ComfyUI's own batched-vs-sequential choice too.
SAMPLING_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def stock():
    return model_patcher(build_svd_model(CONFIG))


@pytest.fixture(scope="module")
def stock64():
    return model_patcher(build_svd_model(CONFIG, dtype=torch.float64))


def chunked(model, frames_per_chunk):
    return apply_frame_chunking(model, FrameChunkingSettings(frames_per_chunk))


def max_difference(a, b):
    return (a - b).abs().max().item()




@pytest.mark.parametrize("frames, frames_per_chunk", [(9, 4), (25, 3), (25, 1), (65, 7)])
def test_chunked_model_equals_stock(stock, frames, frames_per_chunk):
    inputs = svd_inputs(CONFIG, frames)  # cond + uncond: 2T rows
    assert max_difference(run_patched(chunked(stock, frames_per_chunk), inputs), run_patched(stock, inputs)) <= TOLERANCE


def output_and_input_gradient(patcher, inputs):
    """The model's output and the gradient of a fixed projection of it w.r.t. the noisy latent."""
    import comfy.model_management

    comfy.model_management.load_models_gpu([patcher])
    x = inputs["x"].clone().requires_grad_(True)
    options = dict(patcher.model_options.get("transformer_options", {}))
    out = patcher.model.apply_model(**dict(inputs, x=x), transformer_options=options)
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(5))).sum().backward()
    return out.detach(), x.grad


@pytest.mark.parametrize("frames, frames_per_chunk", [(9, 4), (25, 3)])
def test_backward_through_the_chunked_model_equals_the_stock_gradient(stock, frames, frames_per_chunk):
    inputs = svd_inputs(CONFIG, frames)
    expected, expected_gradient = output_and_input_gradient(stock, inputs)
    out, gradient = output_and_input_gradient(chunked(stock, frames_per_chunk), inputs)
    assert max_difference(out, expected) <= TOLERANCE
    assert max_difference(gradient, expected_gradient) <= 1e-4 * expected_gradient.abs().max().item()


def test_calls_of_at_most_one_chunk_run_the_stock_model(stock):
    inputs = svd_inputs(CONFIG, 6)
    assert torch.equal(run_patched(chunked(stock, 12), inputs), run_patched(stock, inputs))


def largest_batches(patcher, inputs):
    """Rows seen by a per-frame layer (a spatial resblock's conv, a spatial transformer block) and the
    (rows, frames) of the temporal self-attention's input, over one call."""
    import comfy.ldm.modules.attention as attention
    from comfy.ldm.modules.diffusionmodules.openaimodel import VideoResBlock

    seen = {"spatial conv": 0, "spatial block": 0, "temporal rows": 0, "temporal frames": 0}
    model = patcher.model.diffusion_model
    resblock = next(m for m in model.modules() if isinstance(m, VideoResBlock))
    transformer = next(m for m in model.modules() if isinstance(m, attention.SpatialVideoTransformer))

    def record(key):
        def hook(module, args):
            seen[key] = max(seen[key], args[0].shape[0])
        return hook

    def record_temporal(module, args):
        seen["temporal rows"] = max(seen["temporal rows"], args[0].shape[0])
        seen["temporal frames"] = max(seen["temporal frames"], args[0].shape[1])

    handles = [resblock.in_layers[2].register_forward_pre_hook(record("spatial conv")),
               transformer.transformer_blocks[0].register_forward_pre_hook(record("spatial block")),
               transformer.time_stack[0].attn1.register_forward_pre_hook(record_temporal)]
    try:
        run_patched(patcher, inputs)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def test_per_frame_layers_see_chunks_and_temporal_attention_sees_every_frame(stock):
    frames, per_chunk = 20, 4
    inputs = svd_inputs(CONFIG, frames)
    stock_seen = largest_batches(stock, inputs)
    seen = largest_batches(chunked(stock, per_chunk), inputs)
    assert stock_seen["spatial conv"] == stock_seen["spatial block"] == 2 * frames
    assert seen["spatial conv"] == seen["spatial block"] == per_chunk
    assert seen["temporal frames"] == stock_seen["temporal frames"] == frames
    assert seen["temporal rows"] < stock_seen["temporal rows"]  # all frames of a few positions at a time


def test_input_model_is_untouched(stock):
    inputs = svd_inputs(CONFIG, 12)
    before = run_patched(stock, inputs)
    patched = chunked(stock, 3)
    run_patched(patched, inputs)
    assert not stock.object_patches and "longer_video" not in stock.model_options.get("transformer_options", {})
    assert torch.equal(run_patched(stock, inputs), before)
    assert patched.model is stock.model


@pytest.mark.parametrize("mode", ["block", "banded"])
def test_composes_with_positions_and_windows_in_any_order(stock, mode):
    frames = 65
    inputs = svd_inputs(CONFIG, frames)
    positions, windows = PositionSettings("yarn", 8), WindowSettings(16, 4, "pyramid", mode)
    reference = run_patched(apply_windowed_attention(apply_temporal_positions(stock, positions), windows), inputs)
    first = chunked(apply_windowed_attention(apply_temporal_positions(stock, positions), windows), 8)
    middle = apply_windowed_attention(chunked(apply_temporal_positions(stock, positions), 8), windows)
    last = apply_temporal_positions(apply_windowed_attention(chunked(stock, 8), windows), positions)
    for patched in (first, middle, last):
        assert max_difference(run_patched(patched, inputs), reference) <= TOLERANCE
    assert max_difference(reference, run_patched(stock, inputs)) > 1e-3  # the patches on top do change the video


def test_batches_of_clips_equal_stock(stock64):
    # what segment mode sends the model: 2 clips of 9 frames per call, cond + uncond; in fp64, because a
    # batch of 4 clips against one of 1 takes other fp32 kernels on one thread (1.7e-5 seen in CI)
    inputs = svd_inputs(CONFIG, 9, batch=4)
    assert max_difference(run_patched(chunked(stock64, 5), inputs), run_patched(stock64, inputs)) <= SAMPLING_TOLERANCE


@pytest.mark.parametrize("mode", ["whole", "segment"])
def test_keyframe_sampling_is_unchanged(stock64, mode):
    latents = keyframe_latents(9)  # 9 keyframes, 8 gaps of 8 frames: 65 frames
    positive, negative, latent = conditioning(clip_embeds(9), latents, 8, "hold", True, 1.0)
    assert latent["samples"].shape[0] == 65
    patched = apply_temporal_positions(chunked(stock64, 5), PositionSettings("yarn", 8))
    reference_model = apply_temporal_positions(stock64, PositionSettings("yarn", 8))
    ours = run_sampler_node(patched, positive, negative, latent, 3, STEPS, mode, segments_per_batch=2)
    reference = run_sampler_node(reference_model, positive, negative, latent, 3, STEPS, mode, segments_per_batch=2)
    assert max_difference(ours, reference) <= SAMPLING_TOLERANCE
    assert max_difference(ours[::8], latents) <= 1e-5  # keyframes still pinned


def test_composes_with_comfy_context_windows(stock64):
    frames = 20
    try:
        reference = sample_one_step(context_windows(stock64, 8, 4), frames)
    except RuntimeError as e:  # ComfyUI 0.3.64: IndexListContextHandler.set_step compares sigmas with per-frame timesteps
        if "must match the size" not in str(e):
            raise
        pytest.skip(f"this ComfyUI's own ContextWindowsManual fails on SVD latents without our nodes: {e}")
    a = sample_one_step(context_windows(chunked(stock64, 3), 8, 4), frames)
    b = sample_one_step(chunked(context_windows(stock64, 8, 4), 3), frames)
    assert max_difference(a, reference) <= SAMPLING_TOLERANCE and max_difference(b, reference) <= SAMPLING_TOLERANCE


def test_ksampler_output_with_freenoise_and_linear_cfg_is_unchanged(stock64):
    from comfy_extras.nodes_video_model import VideoLinearCFGGuidance

    def linear_cfg(model):  # ComfyUI's own model patch (a sampler CFG function)
        return VideoLinearCFGGuidance().patch(model, 1.0)[0]

    positive, negative, latent = conditioning(clip_embeds(5), keyframe_latents(5), 4, "hold", False)
    noise = FreeNoiseSettings(8, 3, "shuffle")
    reference = ksample(linear_cfg(apply_freenoise(stock64, noise)), positive, negative, latent)["samples"]
    for patched in (linear_cfg(apply_freenoise(chunked(stock64, 3), noise)),
                    chunked(apply_freenoise(linear_cfg(stock64), noise), 3)):
        assert max_difference(ksample(patched, positive, negative, latent)["samples"], reference) <= SAMPLING_TOLERANCE


def test_node_returns_a_clone_and_names_itself_on_bad_models(stock):
    (patched,) = LongerVideoFrameChunking.execute(stock, frames_per_chunk=4).result
    assert patched is not stock and not stock.object_patches and patched.object_patches
    with pytest.raises(InputError, match="LongerVideoFrameChunking: model is not a Stable Video Diffusion model"):
        LongerVideoFrameChunking.execute(build_image_model(CONFIG), frames_per_chunk=4)
    with pytest.raises(InputError, match="LongerVideoFrameChunking: frames_per_chunk must be a whole number >= 1"):
        LongerVideoFrameChunking.execute(stock, frames_per_chunk=0)


# --- ComfyUI's memory estimate ---------------------------------------------------------------------

def stock_estimate(patcher, shape):
    return type(patcher.model).memory_required(patcher.model, shape)


def test_estimate_follows_the_chunk_not_the_frame_count(stock):
    estimate = chunked(stock, 4).object_patches["memory_required"]
    assert isinstance(estimate, FrameChunkedMemory)
    shape = [4, 4, 64, 64]
    assert estimate(shape) == stock_estimate(stock, shape)  # one chunk: the stock model runs
    long, longer = [130, 4, 64, 64], [258, 4, 64, 64]
    assert estimate(long) < stock_estimate(stock, long) / 2
    # beyond one chunk it grows by the per-frame floor only, far slower than the stock estimate
    growth = estimate(longer) - estimate(long)
    assert growth == pytest.approx(128 * estimate.floor_bytes(1, long))
    assert growth < (stock_estimate(stock, longer) - stock_estimate(stock, long)) / 4
    assert chunked(stock, 16).object_patches["memory_required"](long) > estimate(long)  # bigger chunk, more


def test_floor_is_the_skip_connections_and_stream_of_the_decoder():
    # tiny UNet: conv_in 32, level 0 (1 resblock) 32, downsample 32 (scale 2), level 1 (1 resblock) 64;
    # the decoder's last level-0 block sees h (32 ch) concatenated with the conv_in skip (32 ch)
    floor = chunked(model_patcher(build_svd_model(CONFIG)), 2).object_patches["memory_required"].floor
    assert floor.all_skips == 32 + 32 + 32 / 4 + 64 / 4
    assert floor.total >= floor.all_skips


def sampling_calls(patcher, frames, free_memory, monkeypatch):
    """Run KSampler with `free_memory` reported by ComfyUI; returns the memory load_models_gpu was
    asked for and the rows of every diffusion-model call."""
    import comfy.model_management
    import comfy.patcher_extension

    asked, rows = [], []
    load = comfy.model_management.load_models_gpu

    def spy_load(models, memory_required=0, *args, **kwargs):
        asked.append((memory_required, kwargs.get("minimum_memory_required")))
        return load(models, memory_required, *args, **kwargs)

    def count_rows(executor, x, *args, **kwargs):
        rows.append(x.shape[0])
        return executor(x, *args, **kwargs)

    spied = patcher.clone()
    spied.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL, "test_rows", count_rows)
    monkeypatch.setattr(comfy.model_management, "load_models_gpu", spy_load)
    torch_free = comfy.model_management.get_free_memory

    def report_free(dev=None, torch_free_too=False):  # sub-quadratic attention (CPU) asks for both numbers
        return (free_memory, torch_free(dev, True)[1]) if torch_free_too else free_memory

    monkeypatch.setattr(comfy.model_management, "get_free_memory", report_free)
    positive, negative, latent = conditioning(clip_embeds(2), keyframe_latents(2), frames - 1, "hold", False)
    ksample(spied, positive, negative, latent)
    monkeypatch.undo()
    return asked[0], rows


def test_comfyui_loads_and_batches_by_the_chunked_estimate(stock, monkeypatch):
    frames = 33
    patched = chunked(stock, 4)
    estimate = patched.object_patches["memory_required"]
    shape = [frames, 4, 4, 4]
    batched_stock, batched_ours = stock_estimate(stock, [2 * frames] + shape[1:]), estimate([2 * frames] + shape[1:])
    free = 1.5 * (batched_ours + batched_stock) / 2  # room for cond+uncond in one batch only when chunked

    (stock_asked, stock_minimum), stock_rows = sampling_calls(stock, frames, free, monkeypatch)
    (asked, minimum), rows = sampling_calls(patched, frames, free, monkeypatch)
    # before loading: ComfyUI reserves what the chunked model needs (it would offload weights otherwise)
    assert stock_minimum == pytest.approx(stock_estimate(stock, shape))
    per_frame = stock_estimate(stock, [1] + shape[1:])
    assert minimum == pytest.approx(math.ceil(estimate(shape) / per_frame) * per_frame)
    assert minimum < stock_minimum / 2 and asked < stock_asked / 2
    # while sampling: cond and uncond in one call for the chunked model, one call each for the stock one
    assert set(stock_rows) == {frames} and set(rows) == {2 * frames}
    assert "memory_required" not in stock.object_patches


def test_estimate_is_undone_with_the_clone(stock):
    import comfy.model_management

    patched = chunked(stock, 4)
    run_patched(patched, svd_inputs(CONFIG, 12))
    assert isinstance(stock.model.memory_required, FrameChunkedMemory)  # while the clone is loaded
    comfy.model_management.unload_all_models()
    assert not isinstance(stock.model.memory_required, FrameChunkedMemory)
    assert stock.model.memory_required([8, 4, 4, 4]) == stock_estimate(stock, [8, 4, 4, 4])
