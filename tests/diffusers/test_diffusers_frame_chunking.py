"""Frame chunking on the tiny diffusers SVD UNet (fp32): stock results, chunked work, composition with
positions / windows / keyframes, removal, and accelerate's offload hooks."""
import copy

import pytest
import torch
from accelerate.hooks import add_hook_to_module, remove_hook_from_module
from accelerate_hooks import CountingHook
from diffusers.models.resnet import SpatioTemporalResBlock
from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel
from diffusers_models import run_unet, tiny_pipeline, unet_inputs

import longer_video as lv

TOLERANCE = 1e-5  # one UNet call in fp32
SIZE = 32


@pytest.fixture(scope="module")
def pipe():
    return tiny_pipeline()


def max_difference(a, b):
    return (a - b).abs().max().item()


@pytest.mark.parametrize("frames, frames_per_chunk", [(9, 4), (25, 3), (65, 7)])
def test_chunked_unet_equals_stock_and_removal_restores_it(pipe, frames, frames_per_chunk):
    unet = copy.deepcopy(pipe.unet)
    inputs = unet_inputs(unet, frames)  # batch 2 (cond + uncond)
    stock = run_unet(unet, inputs)
    patched = lv.apply_frame_chunking(unet, lv.FrameChunkingSettings(frames_per_chunk))
    assert max_difference(run_unet(unet, inputs), stock) <= TOLERANCE
    assert lv.remove_frame_chunking(unet) == patched
    assert torch.equal(run_unet(unet, inputs), stock)
    assert not any("forward" in m.__dict__ for m in unet.modules())  # every instance forward is gone


def test_calls_of_at_most_one_chunk_run_the_stock_unet(pipe):
    unet = copy.deepcopy(pipe.unet)
    inputs = unet_inputs(unet, 5)
    stock = run_unet(unet, inputs)
    lv.apply_frame_chunking(unet, lv.FrameChunkingSettings(10))
    assert torch.equal(run_unet(unet, inputs), stock)


def largest_batches(unet, inputs):
    seen = {"spatial": 0, "temporal rows": 0, "temporal frames": 0}
    resblock = next(m for m in unet.modules() if isinstance(m, SpatioTemporalResBlock))
    transformer = next(m for m in unet.modules() if isinstance(m, TransformerSpatioTemporalModel))

    def spatial(module, args):
        seen["spatial"] = max(seen["spatial"], args[0].shape[0])

    def temporal(module, args, kwargs):
        hidden = args[0] if args else kwargs["hidden_states"]
        seen["temporal rows"] = max(seen["temporal rows"], hidden.shape[0])
        seen["temporal frames"] = max(seen["temporal frames"], hidden.shape[1])

    handles = [resblock.spatial_res_block.register_forward_pre_hook(spatial),
               transformer.temporal_transformer_blocks[0].attn1.register_forward_pre_hook(temporal, with_kwargs=True)]
    try:
        run_unet(unet, inputs)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def test_per_frame_layers_see_chunks_and_temporal_attention_every_frame(pipe):
    unet = copy.deepcopy(pipe.unet)
    inputs = unet_inputs(unet, 20)
    stock = largest_batches(unet, inputs)
    lv.apply_frame_chunking(unet, lv.FrameChunkingSettings(4))
    chunked = largest_batches(unet, inputs)
    assert stock["spatial"] == 40 and chunked["spatial"] == 4
    assert chunked["temporal frames"] == stock["temporal frames"] == 20
    assert chunked["temporal rows"] < stock["temporal rows"]


@pytest.mark.parametrize("mode", ["block", "banded"])
def test_composes_with_positions_and_windows(pipe, mode):
    unet = copy.deepcopy(pipe.unet)
    inputs = unet_inputs(unet, 65)
    stock = run_unet(unet, inputs)
    lv.apply_temporal_positions(unet, lv.PositionSettings("yarn", 8))
    lv.apply_windowed_attention(unet, lv.WindowSettings(16, 4, "pyramid", mode))
    reference = run_unet(unet, inputs)
    assert max_difference(reference, stock) > 1e-3
    lv.apply_frame_chunking(unet, lv.FrameChunkingSettings(8))
    assert max_difference(run_unet(unet, inputs), reference) <= TOLERANCE
    lv.remove_frame_chunking(unet)
    assert torch.equal(run_unet(unet, inputs), reference)  # the other patches stay


def interpolate(pipe):
    keyframes = torch.rand(3, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return lv.interpolate_keyframes(pipe, keyframes, lv.KeyframeSettings(8), size=lv.FrameSize(SIZE, SIZE),
                                        num_inference_steps=2, noise_aug_strength=0.0, output_type="latent",
                                        generator=torch.Generator().manual_seed(0)).frames


def test_keyframe_interpolation_is_unchanged():
    # fp64: the tiny random UNet turns fp32 rounding into ~1e-4 over the pipeline's steps
    pipe = tiny_pipeline(torch.float64)
    reference = interpolate(pipe)  # 3 keyframes, 8 frames between: 17 frames
    assert reference.shape[1] == 17
    lv.apply_frame_chunking(pipe, lv.FrameChunkingSettings(6))
    assert max_difference(interpolate(pipe), reference) <= 1e-9


@pytest.mark.parametrize("hooks_first", [True, False])
def test_keeps_accelerate_hooks_during_and_after(pipe, hooks_first):
    unet = copy.deepcopy(pipe.unet)
    inputs = unet_inputs(unet, 12)
    stock = run_unet(unet, inputs)
    resblock = next(m for m in unet.modules() if isinstance(m, SpatioTemporalResBlock))
    hook = CountingHook()
    settings = lv.FrameChunkingSettings(4)
    if not hooks_first:
        lv.apply_frame_chunking(unet, settings)
    add_hook_to_module(resblock, hook)
    if hooks_first:
        lv.apply_frame_chunking(unet, settings)
    assert max_difference(run_unet(unet, inputs), stock) <= TOLERANCE
    assert hook.calls == 1
    lv.remove_frame_chunking(unet)
    assert torch.equal(run_unet(unet, inputs), stock) and hook.calls == 2
    remove_hook_from_module(resblock)
    assert resblock.forward.__func__ is SpatioTemporalResBlock.forward


def test_runs_under_sequential_cpu_offload(pipe):
    from accelerate import cpu_offload

    unet = copy.deepcopy(pipe.unet)
    inputs = unet_inputs(unet, 12)
    expected = run_unet(pipe.unet, inputs)
    cpu_offload(unet, execution_device=torch.device("cpu"))  # norm weights leave the modules until each forward
    assert all(p.device.type == "meta" for p in unet.parameters())
    lv.apply_frame_chunking(unet, lv.FrameChunkingSettings(4))
    assert max_difference(run_unet(unet, inputs), expected) <= TOLERANCE
    lv.remove_frame_chunking(unet)
    assert max_difference(run_unet(unet, inputs), expected) <= 1e-6


def output_and_gradients(unet, inputs):
    """The UNet's output and the gradients of a fixed projection of it w.r.t. the sample and the weights."""
    sample = inputs["sample"].clone().requires_grad_(True)
    unet.zero_grad(set_to_none=True)
    out = unet(**dict(inputs, sample=sample)).sample
    projection = torch.randn(out.shape, generator=torch.Generator().manual_seed(5))
    (out * projection).sum().backward()
    weights = {name: p.grad.clone() for name, p in unet.named_parameters() if p.grad is not None}
    return out.detach(), sample.grad, weights


@pytest.mark.parametrize("frames, frames_per_chunk, checkpointing", [(9, 4, False), (25, 3, False), (9, 4, True)])
def test_backward_through_the_chunked_unet_equals_the_stock_gradient(pipe, frames, frames_per_chunk, checkpointing):
    unet = copy.deepcopy(pipe.unet)
    if checkpointing:
        unet.enable_gradient_checkpointing()
    inputs = unet_inputs(unet, frames)
    stock, stock_input, stock_weights = output_and_gradients(unet, inputs)
    lv.apply_frame_chunking(unet, lv.FrameChunkingSettings(frames_per_chunk))
    out, grad_input, grad_weights = output_and_gradients(unet, inputs)
    assert max_difference(out, stock) <= TOLERANCE
    assert max_difference(grad_input, stock_input) <= 1e-4 * stock_input.abs().max().item()
    assert grad_weights.keys() == stock_weights.keys()
    scale = max(grad.abs().max().item() for grad in stock_weights.values())
    for name, grad in grad_weights.items():
        assert max_difference(grad, stock_weights[name]) <= 1e-5 * scale, name


def test_continue_video_reconstruction_on_a_frame_chunked_pipeline():
    # fp64, as above; reconstruction backpropagates through every chunked layer at every step
    pipe = tiny_pipeline(torch.float64)
    frames = torch.randint(0, 256, (5, 3, SIZE, SIZE), generator=torch.Generator().manual_seed(0)) / 255
    settings = lv.ContinuationSettings(2, 3, "reconstruction")

    def run(target):
        with torch.no_grad():
            return lv.continue_video(target, frames, settings, num_inference_steps=2, output_type="latent",
                                     generator=torch.Generator().manual_seed(0)).frames

    expected = run(pipe)
    chunked = copy.deepcopy(pipe)
    lv.apply_frame_chunking(chunked, lv.FrameChunkingSettings(3))  # 5 frames, cond + uncond: 10 rows in 4 chunks
    assert max_difference(run(chunked), expected) <= 1e-9


def test_bad_settings_and_models_name_the_input():
    with pytest.raises(lv.InputError, match="frames_per_chunk"):
        lv.FrameChunkingSettings(0)
    with pytest.raises(lv.InputError, match="pipe has no temporal transformers"):
        lv.apply_frame_chunking(torch.nn.Linear(2, 2))
