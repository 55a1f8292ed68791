"""diffusers: video continuation on a tiny StableVideoDiffusionPipeline (injection, history_cfg, reconstruction)."""
import copy

import pytest
import torch
from diffusers_models import tiny_pipeline

import longer_video as lv
from longer_video.nodes.diffusers_patches.keyframe_interpolation import encode_keyframes, hint_pre_hook
from longer_video.nodes.techniques.continuation import hold_hints

SIZE = 32
STEPS = 3
M, N = 2, 3


@pytest.fixture(scope="module")
def pipe():
    return tiny_pipeline()


@pytest.fixture(scope="module")
def frames():
    # 8-bit values: the pipeline's CLIP image goes through PIL, which keeps exactly these
    return torch.randint(0, 256, (5, 3, SIZE, SIZE), generator=torch.Generator().manual_seed(0)) / 255


def run(pipe, frames=None, method="injection", seed=0, history_scale=1.0, guidance_weight=1.0, hints="hold", **kwargs):
    settings = lv.ContinuationSettings(M, N, method, history_scale, guidance_weight, hints)
    kwargs = dict(dict(num_inference_steps=STEPS, output_type="latent", generator=torch.Generator().manual_seed(seed)),
                  **kwargs)
    with torch.no_grad():
        return lv.continue_video(pipe, frames, settings, **kwargs).frames


def known_latents(pipe, frames):
    clean, _ = encode_keyframes(pipe, frames[-M:], lv.FrameSize(SIZE, SIZE))  # what the pipeline sees
    return clean * pipe.vae.config.scaling_factor


def reference(pipe, frames, shape, hints=None, seed=0, **kwargs):
    """The stock pipeline from the last frame, on the same noise; `hints` replace its conditional concat latent."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(shape, generator=generator)
    handle = pipe.unet.register_forward_pre_hook(hint_pre_hook(hints), with_kwargs=True) if hints is not None else None
    try:
        with torch.no_grad():
            return pipe(as_pil(pipe, frames[-1:]), height=SIZE, width=SIZE, num_frames=M + N, num_inference_steps=STEPS,
                        noise_aug_strength=0.0, latents=noise, output_type="latent", generator=generator,
                        **kwargs).frames
    finally:
        if handle is not None:
            handle.remove()


def as_pil(pipe, images):
    return pipe.video_processor.numpy_to_pil(pipe.video_processor.pt_to_numpy(images))[0]


def held_hints(pipe, frames):
    clean, _ = encode_keyframes(pipe, frames[-M:], lv.FrameSize(SIZE, SIZE))
    return hold_hints(clean, N).unsqueeze(0)


def assert_unpatched(pipe):
    assert "forward" not in pipe.unet.__dict__ and not pipe.unet._forward_pre_hooks


def test_injection_holds_the_overlap_exactly(pipe, frames):
    latents = run(pipe, frames)
    assert latents.shape[:2] == (1, M + N)
    assert (latents[0, :M] - known_latents(pipe, frames)).abs().max() <= 1e-5
    assert (latents[0, M:] - latents[0, M - 1]).abs().max() > 1e-3  # new frames were sampled
    assert_unpatched(pipe)


def test_history_scale_zero_is_plain_last_frame_chaining(pipe, frames):
    ours = run(pipe, frames, "history_cfg", history_scale=0.0)
    stock = reference(pipe, frames, ours.shape)
    assert torch.allclose(ours, stock, atol=1e-5), float((ours - stock).abs().max())
    assert (run(pipe, frames, "history_cfg", history_scale=1.0) - stock).abs().max() > 1e-3
    assert_unpatched(pipe)


@pytest.mark.parametrize("guidance", [1.0, 2.5])  # 1.0: no CFG batch at all
def test_history_scale_equal_to_guidance_is_plain_guidance_on_the_history_hints(pipe, frames, guidance):
    kwargs = dict(min_guidance_scale=guidance, max_guidance_scale=guidance)
    ours = run(pipe, frames, "history_cfg", history_scale=guidance, **kwargs)
    expected = reference(pipe, frames, ours.shape, hints=held_hints(pipe, frames), **kwargs)
    assert torch.allclose(ours, expected, atol=1e-4), float((ours - expected).abs().max())


@pytest.mark.parametrize("hints", ["first", "last"])
def test_hints_choice_is_the_concat_latent_the_model_sees(pipe, frames, hints):
    # with history_scale = guidance, history_cfg is plain guidance on the chosen hints (test above): so the
    # run equals the stock pipeline whose concat latent is that one frame for every frame
    kwargs = dict(min_guidance_scale=2.0, max_guidance_scale=2.0)
    ours = run(pipe, frames, "history_cfg", history_scale=2.0, hints=hints, **kwargs)
    clean, _ = encode_keyframes(pipe, frames[-M:], lv.FrameSize(SIZE, SIZE))
    one = clean[0 if hints == "first" else -1]
    expected = reference(pipe, frames, ours.shape, hints=one.expand(M + N, -1, -1, -1).unsqueeze(0), **kwargs)
    assert torch.allclose(ours, expected, atol=1e-4), float((ours - expected).abs().max())
    held = run(pipe, frames, "history_cfg", history_scale=2.0, **kwargs)
    assert (ours - held).abs().max() > 1e-3


def test_history_term_with_a_per_frame_guidance_ramp_from_zero(pipe, frames):
    # min_guidance_scale 0: frame 0 has g = 0, where the term must go into the unconditional prediction
    ramp = dict(min_guidance_scale=0.0, max_guidance_scale=2.0)
    zero = run(pipe, frames, "history_cfg", history_scale=0.0, **ramp)
    assert torch.allclose(zero, reference(pipe, frames, zero.shape, **ramp), atol=1e-5)
    guided = run(pipe, frames, "history_cfg", history_scale=1.0, **ramp)
    assert torch.isfinite(guided).all() and (guided - zero)[0, 0].abs().max() > 1e-4


def test_reconstruction_corrects_the_new_frames_and_keeps_the_overlap_on_the_known_frames(pipe, frames):
    # Euler's last step lands on the x0 estimate, whose overlap is the known frames for every weight;
    # correcting the overlap too would end it at known + (1 - w)(x0 - known): past it for w > 1
    known = known_latents(pipe, frames)
    runs = {w: run(pipe, frames, "reconstruction", guidance_weight=w) for w in (0.0, 1.0, 1.7)}
    for w, latents in runs.items():
        assert (latents[0, :M] - known).abs().max() <= 1e-4, (w, float((latents[0, :M] - known).abs().max()))
    assert (runs[1.0][0, M:] - runs[0.0][0, M:]).abs().max() > 1e-4  # the gradient moves the new frames
    assert (runs[1.7][0, M:] - runs[1.0][0, M:]).abs().max() > 1e-4
    free = reference(pipe, frames, runs[0.0].shape, hints=held_hints(pipe, frames))
    assert (runs[0.0][0, :M] - free[0, :M]).abs().max() > 1e-3  # without the replacement the overlap drifts
    assert_unpatched(pipe)


def test_latents_chain_without_a_vae_round_trip(pipe, frames):
    first = run(pipe, frames, "injection")
    clip_image = frames[:1]
    video = first[0]
    for k in range(3):
        clip = run(pipe, previous_latents=video.unsqueeze(0), clip_image=clip_image, seed=k + 1)[0]
        assert (clip[:M] - video[-M:]).abs().max() <= 1e-5  # the pinned overlap is the video's own latents
        video = lv.join_clips(video, clip, M)
    assert video.shape[0] == (M + N) + 3 * N  # first clip + clips * new
    distances = (video[1:] - video[:-1]).flatten(1).abs().amax(dim=1)
    assert distances.min() > 1e-4  # no repeated frame


@pytest.mark.parametrize("method", ["history_cfg", "reconstruction", "injection"])
def test_offload_hooks_are_kept(pipe, frames, method):
    from accelerate import cpu_offload_with_hook

    expected = run(pipe, frames, method)
    offloaded = copy.deepcopy(pipe)
    offloaded.unet, hook = cpu_offload_with_hook(offloaded.unet, execution_device=torch.device("cpu"))
    hooked_forward, real_forward = offloaded.unet.forward, offloaded.unet._old_forward
    assert torch.allclose(run(offloaded, frames, method), expected, atol=1e-5)
    assert offloaded.unet.forward is hooked_forward and offloaded.unet._old_forward is real_forward
    assert not offloaded.unet._forward_pre_hooks
    hook.remove()


def test_model_offload_that_rehooks_inside_the_call_is_restored(pipe, frames):
    # enable_model_cpu_offload: the pipeline re-applies its hooks at the end of every call
    offloaded = copy.deepcopy(pipe)
    offloaded.enable_model_cpu_offload(device="cpu")
    expected = run(pipe, frames, "reconstruction")
    assert torch.allclose(run(offloaded, frames, "reconstruction"), expected, atol=1e-5)
    real = offloaded.unet._old_forward
    assert getattr(real, "__func__", None) is type(offloaded.unet).forward  # the class forward, not our wrapper
    assert torch.allclose(run(offloaded, frames, "history_cfg"), run(pipe, frames, "history_cfg"), atol=1e-5)


@pytest.mark.parametrize("kwargs, word", [
    ({"frames": "five"}, "previous_frames"),
    ({"settings": lv.ContinuationSettings(5, N)}, "overlap_frames"),
    ({"frames": None, "previous_latents": torch.randn(1, 5, 4, 4)}, "previous_latents"),
    ({"frames": None, "previous_latents": torch.randn(1, 5, 4, 4, 4)}, "clip_image"),
    ({"frames": None, "previous_latents": torch.randn(1, 2, 4, 4, 4), "clip_image": "image"}, "overlap_frames"),
    ({"frames": None}, "previous_frames"),
    ({"frames": "odd"}, "multiples of 8"),
    ({"num_frames": 9}, "num_frames"),
    ({"frames": None, "previous_latents": torch.randn(1, 5, 4, 4, 4), "clip_image": "image",
      "noise_aug_strength": 0.02}, "noise_aug_strength"),
])
def test_bad_input_names_the_argument(pipe, frames, kwargs, word):
    kwargs = dict(kwargs)
    given = kwargs.pop("frames", frames)
    given = {"five": frames[:0], "odd": torch.rand(5, 3, 36, 32)}.get(given, given) if isinstance(given, str) else given
    if kwargs.get("clip_image") == "image":
        kwargs["clip_image"] = frames[:1]
    settings = kwargs.pop("settings", lv.ContinuationSettings(M, N))
    with pytest.raises(ValueError, match=word):
        lv.continue_video(pipe, given, settings, num_inference_steps=1, output_type="latent", **kwargs)
    assert_unpatched(pipe)


def test_reconstruction_refuses_a_scheduler_it_cannot_read(pipe, frames):
    from diffusers import EulerDiscreteScheduler

    other = copy.copy(pipe)
    other.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config, prediction_type="epsilon")
    with pytest.raises(lv.InputError, match="reconstruction"):
        lv.continue_video(other, frames, lv.ContinuationSettings(M, N, "reconstruction"), num_inference_steps=1)


@pytest.mark.parametrize("kwargs, word", [
    ({"overlap_frames": 0}, "overlap_frames"), ({"new_frames": 0}, "new_frames"), ({"method": "inpaint"}, "method"),
    ({"history_scale": -1.0}, "history_scale"), ({"guidance_weight": -1.0}, "guidance_weight"),
])
def test_settings_name_the_field(kwargs, word):
    with pytest.raises(lv.InputError, match=word):
        lv.ContinuationSettings(**kwargs)
