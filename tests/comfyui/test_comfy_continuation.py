"""Module tier: video continuation (injection, history_cfg, reconstruction) and the join, on a tiny SVD model.

References are built by hand the way stock ComfyUI would sample them (SVD_img2vid_Conditioning's
conditioning from one init latent, or the same tensors without the pack's hooks).
"""
import comfy.samplers
import pytest
import torch
from comfy_models import build_svd_model, model_patcher
from comfy_sampling import CONFIG, ksample, run_sampler_node

from longer_video.nodes.comfy_patches.continuation import OVERLAP_KEY, PINNED_KEY, continuation_conditioning
from longer_video.nodes.comfy_patches.frame_chunking import apply_frame_chunking
from longer_video.nodes.continuation import LongerVideoContinue, LongerVideoJoinClips
from longer_video.nodes.techniques.continuation import ContinuationSettings
from longer_video.nodes.techniques.frame_chunking import FrameChunkingSettings

SAMPLERS = list(comfy.samplers.KSampler.SAMPLERS)
M, N = 2, 3  # overlap and new frames of the tiny clips
STEPS = 4
CFG = 2.5


@pytest.fixture(scope="module")
def stock():
    return model_patcher(build_svd_model(CONFIG))


def previous_clip(frames=6, seed=3):
    return torch.randn(frames, 4, 4, 4, generator=torch.Generator().manual_seed(seed))


def clip_embeds(seed=4):
    return torch.randn(1, CONFIG["context_dim"], generator=torch.Generator().manual_seed(seed))


def conditioning(method="injection", previous=None, history_scale=1.0, guidance_weight=1.0, m=M, n=N):
    previous = previous_clip() if previous is None else previous
    settings = ContinuationSettings(m, n, method, history_scale, guidance_weight, hints="hold")
    return continuation_conditioning(clip_embeds(), previous[-m:], settings)


def plain(conds):
    """The same conditioning tensors without the pack's hooks (what stock ComfyUI samples)."""
    return [[tensor, {k: v for k, v in values.items() if k != "hooks"}] for tensor, values in conds]


def stock_svd_conditioning(init_latent, values=None):
    """SVD_img2vid_Conditioning's output for one init latent: one embed and one concat latent for every frame."""
    values = values or {"motion_bucket_id": 127, "fps": 6, "augmentation_level": 0.0}
    embeds = clip_embeds().unsqueeze(0)
    positive = [[embeds, dict(values, concat_latent_image=init_latent)]]
    negative = [[torch.zeros_like(embeds), dict(values, concat_latent_image=torch.zeros_like(init_latent))]]
    return positive, negative


def overlap_error(samples, known):
    return float((samples[:known.shape[0]] - known).pow(2).mean())


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_injection_holds_the_overlap_exactly_with_every_sampler(stock, sampler):
    previous = previous_clip()
    positive, negative, latent = conditioning("injection", previous)
    assert latent["noise_mask"].shape[0] == M + N  # exactly one mask per frame
    runs = {"KSampler": ksample(stock, positive, negative, latent, sampler=sampler, steps=STEPS)["samples"],
            "Keyframe Sampler (whole)": run_sampler_node(stock, positive, negative, latent, 7, STEPS, "whole",
                                                         sampler=sampler)}
    for path, out in runs.items():
        assert (out[:M] - previous[-M:]).abs().max() <= 1e-5, (path, float((out[:M] - previous[-M:]).abs().max()))
        assert (out[M:] - previous[-1]).abs().max() > 1e-3, path  # the new frames were sampled


def test_history_scale_zero_is_plain_last_frame_chaining(stock):
    previous = previous_clip()
    ours = ksample(stock, *conditioning("history_cfg", previous, history_scale=0.0))["samples"]
    latent = {"samples": torch.zeros(M + N, 4, 4, 4)}
    chained = ksample(stock, *stock_svd_conditioning(previous[-1:]), latent)["samples"]
    assert torch.allclose(ours, chained, atol=1e-5)
    guided = ksample(stock, *conditioning("history_cfg", previous, history_scale=1.0))["samples"]
    assert (guided - chained).abs().max() > 1e-3  # the history term acts


@pytest.mark.parametrize("sampler", ["euler", "dpmpp_2m", "euler_ancestral"])
def test_history_scale_equal_to_cfg_is_plain_cfg_on_the_history_hints(stock, sampler):
    # uncond + cfg (cond - uncond) + cfg (history - cond) = uncond + cfg (history - uncond)
    previous = previous_clip()
    positive, negative, latent = conditioning("history_cfg", previous, history_scale=CFG)
    ours = ksample(stock, positive, negative, latent, sampler=sampler, cfg=CFG)["samples"]
    hold_positive, hold_negative, _ = conditioning("injection", previous)
    reference = ksample(stock, plain(hold_positive), plain(hold_negative), latent, sampler=sampler, cfg=CFG)["samples"]
    assert torch.allclose(ours, reference, atol=1e-4), float((ours - reference).abs().max())
    whole = run_sampler_node(stock, positive, negative, latent, 7, STEPS - 1, "whole", cfg=CFG, sampler=sampler)
    assert torch.allclose(whole, ksample(stock, plain(hold_positive), plain(hold_negative), latent, sampler=sampler,
                                         cfg=CFG, steps=STEPS - 1)["samples"], atol=1e-4)


def replacing_the_overlap(model, known):
    """A clone whose post-CFG function replaces the overlap's estimate by the known frames (the paper's replacement)."""
    patched = model.clone()

    def replace(args):
        denoised = args["denoised"].clone()
        denoised[:known.shape[0]] = model.model.process_latent_in(known.to(denoised))
        return denoised

    patched.set_model_sampler_post_cfg_function(replace)
    return patched


def test_reconstruction_weight_zero_is_replacement_of_the_overlap(stock):
    previous = previous_clip()
    positive, negative, latent = conditioning("reconstruction", previous, guidance_weight=0.0)
    assert "noise_mask" not in latent and not latent["samples"].any()
    ours = ksample(stock, positive, negative, latent)["samples"]
    hold_positive, hold_negative, _ = conditioning("injection", previous)  # same hints, no pins
    replaced = ksample(replacing_the_overlap(stock, previous[-M:]), plain(hold_positive), plain(hold_negative),
                       latent)["samples"]
    assert torch.allclose(ours, replaced, atol=1e-5), float((ours - replaced).abs().max())


@pytest.mark.parametrize("sampler", ["euler", "euler_ancestral", "dpmpp_2m"])
def test_reconstruction_corrects_the_new_frames_and_keeps_the_overlap_on_the_known_frames(stock, sampler):
    # Ho et al. correct only the new frames; the overlap's estimate is the known frames at every call, so
    # samplers whose last step lands on the estimate end there for every weight. Correcting the overlap
    # too would end it at known + (1 - w)(D - known) where D is near the identity: past it for w > 1.
    previous = previous_clip()
    known = previous[-M:]
    runs = {w: ksample(stock, *conditioning("reconstruction", previous, guidance_weight=w), sampler=sampler)["samples"]
            for w in (0.0, 1.0, 1.7)}
    for w, out in runs.items():
        assert (out[:M] - known).abs().max() <= 1e-5, (w, float((out[:M] - known).abs().max()))
    assert (runs[1.0][M:] - runs[0.0][M:]).abs().max() > 1e-4  # the gradient moves the new frames
    assert (runs[1.7][M:] - runs[1.0][M:]).abs().max() > 1e-4


def test_reconstruction_runs_on_a_frame_chunked_model(stock):
    # the README suggests frame chunking for continuation; reconstruction backpropagates through it
    positive, negative, latent = conditioning("reconstruction", guidance_weight=1.0)
    chunked = apply_frame_chunking(stock, FrameChunkingSettings(2))  # M + N = 5 frames, cond + uncond: 10 rows
    out = ksample(chunked, positive, negative, latent)["samples"]
    expected = ksample(stock, positive, negative, latent)["samples"]
    assert torch.allclose(out, expected, atol=1e-4), float((out - expected).abs().max())


def test_reconstruction_runs_on_a_model_loaded_in_inference_mode(stock):
    # ComfyUI loads checkpoints and runs prompts under torch.inference_mode(): its weights are inference tensors
    with torch.inference_mode():
        loaded = model_patcher(build_svd_model(CONFIG))
        assert next(loaded.model.parameters()).is_inference()
        out = ksample(loaded, *conditioning("reconstruction", guidance_weight=1.0))["samples"]
    expected = ksample(stock, *conditioning("reconstruction", guidance_weight=1.0))["samples"]
    assert torch.allclose(out, expected, atol=1e-5)
    assert all(p.is_inference() for p in loaded.model.parameters())  # the model's own weights are back


@pytest.mark.parametrize("method", ["history_cfg", "reconstruction", "injection"])
def test_the_hooks_last_one_run(stock, method):
    previous = previous_clip()
    before = ksample(stock, *stock_svd_conditioning(previous[-1:]), {"samples": torch.zeros(M + N, 4, 4, 4)})["samples"]
    ksample(stock, *conditioning(method, previous))
    assert not stock.wrappers and not stock.model_options.get("sampler_post_cfg_function")
    after = ksample(stock, *stock_svd_conditioning(previous[-1:]), {"samples": torch.zeros(M + N, 4, 4, 4)})["samples"]
    assert torch.equal(before, after)


def widgets(**overrides):
    values = dict(method="injection", overlap_frames=M, new_frames=N, motion_bucket_id=127, fps=6,
                  augmentation_level=0.0, history_scale=1.0, guidance_weight=1.0, hints="hold")
    values.update(overrides)
    return values


def continue_node(clip_vision, previous, method):
    clip_image = torch.rand(1, 32, 32, 3, generator=torch.Generator().manual_seed(5))
    return LongerVideoContinue.execute(clip_vision, previous_latent={"samples": previous}, clip_image=clip_image,
                                       **widgets(method=method)).result


@pytest.mark.parametrize("method", ["injection", "history_cfg"])
def test_chained_continuations_grow_by_new_frames_without_duplicates(stock, clip_vision, method):
    first = ksample(stock, *stock_svd_conditioning(previous_clip(1)), {"samples": torch.zeros(6, 4, 4, 4)})["samples"]
    video, clips = {"samples": first}, []
    for k in range(3):
        positive, negative, latent = continue_node(clip_vision, video["samples"], method)
        clip = ksample(stock, positive, negative, latent, seed=10 + k)
        assert clip[OVERLAP_KEY] == M and clip[PINNED_KEY] == (method == "injection")
        (video,) = LongerVideoJoinClips.execute(video, clip, crossfade=False).result
        clips.append(clip["samples"])
    samples = video["samples"]
    assert samples.shape[0] == 3 * N + 6  # (clips * new) + first-clip frames
    assert torch.equal(samples[:6], first)
    for k, clip in enumerate(clips):
        assert torch.equal(samples[6 + k * N:6 + (k + 1) * N], clip[M:])  # each clip's new frames, once
    distances = (samples[1:] - samples[:-1]).flatten(1).abs().amax(dim=1)
    assert distances.min() > 1e-3, distances  # no frame repeats its predecessor: the overlap is not duplicated
    if method == "injection":
        for k, clip in enumerate(clips):  # the pinned overlap is exactly the frames it continues
            end = 6 + k * N
            assert (clip[:M] - samples[end - M:end]).abs().max() <= 1e-5


def test_join_crossfades_the_overlap_for_unpinned_methods():
    video = {"samples": previous_clip(6)}
    clip = {"samples": previous_clip(5, seed=9), OVERLAP_KEY: 2, PINNED_KEY: False}
    (hard,) = LongerVideoJoinClips.execute(video, clip, crossfade=False).result
    (faded,) = LongerVideoJoinClips.execute(video, clip, crossfade=True).result
    assert hard["samples"].shape[0] == faded["samples"].shape[0] == 9
    assert torch.equal(hard["samples"][:6], video["samples"])
    assert torch.allclose(faded["samples"][4], video["samples"][4] * 2 / 3 + clip["samples"][0] / 3)
    assert torch.allclose(faded["samples"][5], video["samples"][5] / 3 + clip["samples"][1] * 2 / 3)
    assert torch.equal(faded["samples"][6:], clip["samples"][2:])
    (pinned,) = LongerVideoJoinClips.execute(video, dict(clip, **{PINNED_KEY: True}), crossfade=True).result
    assert torch.equal(pinned["samples"], hard["samples"])  # injection: the overlap is kept as it is


def test_continue_node_encodes_previous_frames_with_the_vae(clip_vision, vae):
    frames = torch.rand(5, 32, 32, 3, generator=torch.Generator().manual_seed(0))
    positive, negative, latent = LongerVideoContinue.execute(clip_vision, previous_frames=frames, vae=vae,
                                                             **widgets()).result
    known = vae.encode(frames[-M:])
    assert latent["samples"].shape == (M + N, 4, 4, 4)
    assert torch.allclose(latent["samples"][:M], known) and not latent["samples"][M:].any()
    hints = positive[0][1]["concat_latent_image"]
    assert torch.allclose(hints[:M], known) and torch.allclose(hints[M:], known[-1:].expand(N, -1, -1, -1))
    expected_clip = clip_vision.encode_image(frames[-1:]).image_embeds.unsqueeze(0)  # default: the last frame
    assert torch.allclose(positive[0][0], expected_clip, atol=1e-6)
    assert not negative[0][0].any() and not negative[0][1]["concat_latent_image"].any()


@pytest.mark.parametrize("hints, index", [("first", 0), ("last", -1)])
def test_continue_node_hints_one_overlap_frame_for_every_frame(clip_vision, hints, index):
    previous = torch.randn(6, 4, 4, 4, generator=torch.Generator().manual_seed(1))
    positive, _, latent = LongerVideoContinue.execute(clip_vision, previous_latent={"samples": previous},
                                                      clip_image=torch.rand(1, 32, 32, 3), **widgets(hints=hints)).result
    known = previous[-M:]
    assert torch.equal(latent["samples"][:M], known)  # the overlap is still held (injection)
    concat = positive[0][1]["concat_latent_image"]
    assert concat.shape[0] == M + N and torch.equal(concat, known[index:][:1].expand(M + N, -1, -1, -1))


LATENT = {"samples": torch.randn(6, 4, 4, 4)}
IMAGE = torch.rand(6, 32, 32, 3)


@pytest.mark.parametrize("inputs, overrides, words", [
    ({"previous_latent": LATENT, "clip_image": IMAGE[:1]}, {"overlap_frames": 6}, ["overlap_frames", "6"]),
    ({"previous_latent": {"samples": torch.randn(2, 4, 4, 4)}, "clip_image": IMAGE[:1]}, {"overlap_frames": 4},
     ["overlap_frames", "previous_latent"]),
    ({"previous_latent": {"samples": torch.randn(6, 16, 4, 4)}, "clip_image": IMAGE[:1]}, {}, ["previous_latent", "4"]),
    ({"previous_latent": {"samples": torch.randn(6, 4, 4)}, "clip_image": IMAGE[:1]}, {}, ["previous_latent"]),
    ({"previous_frames": torch.rand(6, 36, 32, 3), "vae": "vae"}, {}, ["previous_frames", "multiples of 8"]),
    ({"previous_frames": IMAGE, "vae": "vae"}, {"overlap_frames": 6}, ["overlap_frames", "previous_frames"]),
    ({"previous_frames": IMAGE}, {}, ["vae"]),
    ({"previous_latent": LATENT}, {}, ["clip_image"]),
    ({}, {}, ["previous_latent", "previous_frames"]),
    ({"previous_latent": LATENT, "previous_frames": IMAGE}, {}, ["previous_latent", "previous_frames"]),
    ({"previous_latent": LATENT, "clip_image": IMAGE[:1]}, {"augmentation_level": 0.1}, ["augmentation_level"]),
    ({"previous_latent": LATENT, "clip_image": IMAGE[:1]}, {"method": "inpaint"}, ["method", "injection"]),
    ({"previous_latent": LATENT, "clip_image": IMAGE[:1]}, {"hints": "middle"}, ["hints", "hold, first, last"]),
])
def test_continue_node_errors_name_the_node_and_input(clip_vision, vae, inputs, overrides, words):
    inputs = {k: (vae if isinstance(v, str) else v) for k, v in inputs.items()}
    with pytest.raises(ValueError) as info:
        LongerVideoContinue.execute(clip_vision, **inputs, **widgets(**overrides))
    assert str(info.value).startswith("LongerVideoContinue: "), str(info.value)
    for word in words:
        assert word in str(info.value), str(info.value)


@pytest.mark.parametrize("video, clip, words", [
    (LATENT, {"samples": torch.randn(5, 4, 4, 4)}, ["clip", "LongerVideoContinue"]),
    (LATENT, {"samples": torch.randn(5, 4, 8, 8), OVERLAP_KEY: 2}, ["clip", "size"]),
    ({"samples": torch.randn(1, 4, 4, 4)}, {"samples": torch.randn(5, 4, 4, 4), OVERLAP_KEY: 2}, ["video", "overlap"]),
    (LATENT, {"samples": torch.randn(2, 4, 4, 4), OVERLAP_KEY: 2}, ["clip", "overlap"]),
    ({"samples": torch.randn(6, 16, 4, 4)}, {"samples": torch.randn(5, 4, 4, 4), OVERLAP_KEY: 2}, ["video"]),
])
def test_join_errors_name_the_node_and_input(video, clip, words):
    with pytest.raises(ValueError) as info:
        LongerVideoJoinClips.execute(video, clip, crossfade=True)
    assert str(info.value).startswith("LongerVideoJoinClips: "), str(info.value)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_segment_mode_refuses_a_continuation_latent(stock):
    positive, negative, latent = conditioning("injection")
    with pytest.raises(ValueError, match="LongerVideoKeyframeSampler: latent_image"):
        run_sampler_node(stock, positive, negative, latent, 0, 1, "segment")
