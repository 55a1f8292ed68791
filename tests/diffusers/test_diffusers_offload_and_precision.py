"""diffusers as users run it: accelerate's offload hooks and forward chunking kept, bf16 / fp16 pipelines.

Offload hooks live on module instances (`module.forward` wraps `module._old_forward`); a patch
that replaced and then popped `forward` would skip them during the call and delete them after.
"""
import copy

import pytest
import torch
from accelerate.hooks import add_hook_to_module, remove_hook_from_module
from accelerate_hooks import CountingHook
from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel
from diffusers_models import run_unet, tiny_pipeline, unet_inputs

import longer_video as lv

TRAINED = 8
SIZE = 32


def patch_all(unet):
    lv.apply_temporal_positions(unet, lv.PositionSettings("yarn", TRAINED))
    lv.apply_windowed_attention(unet, lv.WindowSettings(TRAINED, 3))


def unpatch_all(unet):
    lv.remove_temporal_positions(unet), lv.remove_windowed_attention(unet)


@pytest.fixture(scope="module")
def pipe():
    return tiny_pipeline()


@pytest.mark.parametrize("hooks_first", [True, False])
def test_patches_keep_accelerate_hooks_during_and_after(pipe, hooks_first):
    unet = copy.deepcopy(pipe.unet)
    inputs = unet_inputs(unet, 20)
    expected = run_unet(unet, inputs)
    patch_all(expected_unet := copy.deepcopy(unet))
    expected_patched = run_unet(expected_unet, inputs)
    temporal = next(m for m in unet.modules() if isinstance(m, TransformerSpatioTemporalModel))
    unet_hook, temporal_hook = CountingHook(), CountingHook()
    if not hooks_first:
        patch_all(unet)
    add_hook_to_module(unet, unet_hook)
    add_hook_to_module(temporal, temporal_hook)
    if hooks_first:
        patch_all(unet)
    assert torch.equal(run_unet(unet, inputs), expected_patched)
    assert unet_hook.calls == 1 and temporal_hook.calls == 1  # hooks ran while the patch was on
    unpatch_all(unet)
    assert torch.equal(run_unet(unet, inputs), expected)
    assert unet_hook.calls == 2 and temporal_hook.calls == 2  # ... and are still there after it
    remove_hook_from_module(temporal), remove_hook_from_module(unet)
    assert temporal.forward.__func__ is TransformerSpatioTemporalModel.forward  # what accelerate restores: the stock one
    assert torch.equal(run_unet(unet, inputs), expected)


def test_patched_unet_runs_under_sequential_cpu_offload(pipe):
    from accelerate import cpu_offload

    unet = copy.deepcopy(pipe.unet)
    inputs = unet_inputs(unet, 20)
    reference = copy.deepcopy(unet)
    patch_all(reference)
    expected = run_unet(reference, inputs)
    cpu_offload(unet, execution_device=torch.device("cpu"))  # weights leave the modules until each forward
    assert all(p.device.type == "meta" for p in unet.parameters())
    patch_all(unet)
    assert torch.allclose(run_unet(unet, inputs), expected, atol=1e-6)
    unpatch_all(unet)
    assert torch.allclose(run_unet(unet, inputs), run_unet(pipe.unet, inputs), atol=1e-6)


def test_forward_chunking_stays_on_with_the_patches(pipe):
    unet = copy.deepcopy(pipe.unet)
    inputs = unet_inputs(unet, 20)
    patch_all(unet)
    plain = run_unet(unet, inputs)
    unet.enable_forward_chunking(chunk_size=1, dim=1)
    chunked_blocks = [m for m in unet.modules() if getattr(m, "_chunk_size", None) == 1]
    assert chunked_blocks
    assert torch.allclose(run_unet(unet, inputs), plain, atol=1e-5)
    unpatch_all(unet)
    assert all(m._chunk_size == 1 for m in chunked_blocks)


def keyframes():
    return torch.rand(3, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))


def interpolate(pipe, **kwargs):
    with torch.no_grad():
        return lv.interpolate_keyframes(pipe, keyframes(), lv.KeyframeSettings(4), size=lv.FrameSize(SIZE, SIZE),
                                        num_inference_steps=3, noise_aug_strength=0.0, output_type="latent",
                                        generator=torch.Generator().manual_seed(0), **kwargs).frames


def test_keyframe_interpolation_keeps_model_offload_hooks(pipe):
    from accelerate import cpu_offload_with_hook

    expected = interpolate(pipe)
    offloaded = copy.deepcopy(pipe)
    offloaded.unet, hook = cpu_offload_with_hook(offloaded.unet, execution_device=torch.device("cpu"))
    counting = CountingHook()
    add_hook_to_module(offloaded.unet, counting, append=True)
    assert torch.allclose(interpolate(offloaded), expected, atol=1e-6)
    steps_with_cfg = counting.calls
    assert steps_with_cfg == 3  # one UNet call per step went through the hooks
    assert "_hf_hook" in offloaded.unet.__dict__ and not offloaded.unet._forward_pre_hooks  # hook kept, ours gone
    interpolate(offloaded)
    assert counting.calls == 2 * steps_with_cfg
    hook.remove()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_identity_and_window_equivalences_hold_in_half_precision(pipe, dtype):
    unet = copy.deepcopy(pipe.unet).to(dtype)
    short = unet_inputs(unet, TRAINED, dtype=dtype)
    stock = run_unet(unet, short)
    patch_all(unet)
    assert torch.equal(run_unet(unet, short), stock)  # at the trained length every patch is the stock model
    long = unet_inputs(unet, 3 * TRAINED, dtype=dtype)
    out = run_unet(unet, long)
    assert out.dtype == dtype and torch.isfinite(out).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_keyframes_pinned_and_freenoise_latents_in_half_precision(dtype):
    half = tiny_pipeline(dtype)
    latents = interpolate(half)
    assert latents.dtype == dtype
    from longer_video.nodes.diffusers_patches.keyframe_interpolation import encode_keyframes

    clean, _ = encode_keyframes(half, half.video_processor.numpy_to_pil(half.video_processor.pt_to_numpy(keyframes())),
                                lv.FrameSize(SIZE, SIZE))
    pins = (clean.float() * half.vae.config.scaling_factor).to(dtype)
    assert torch.equal(latents[0, ::4], pins)  # exact in the pipeline's dtype
    noise = lv.freenoise_latents(half, 12, SIZE, SIZE, lv.FreeNoiseSettings(8, 2))
    assert noise.dtype == dtype  # the pipeline does not cast given latents
    with torch.no_grad():
        frames = half(half.video_processor.numpy_to_pil(half.video_processor.pt_to_numpy(keyframes()[:1]))[0],
                      height=SIZE, width=SIZE, num_frames=12, num_inference_steps=2, latents=noise,
                      output_type="latent").frames
    assert frames.dtype == dtype and torch.isfinite(frames.float()).all()
