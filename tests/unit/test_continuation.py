"""Continuation math (pure torch): hints, masks, joins, guidance terms, gradients with respect to the input only."""
import pytest
import torch

from longer_video.nodes.techniques.continuation import (
    ContinuationSettings, continuation_hints, crossfade_weights, hold_hints, join_clips, last_frame_hints, overlap_latent, overlap_mask,
    reconstruction_guided, require_history, with_history_guidance,
)
from longer_video.nodes.techniques.errors import InputError
from longer_video.nodes.techniques.input_gradients import input_gradients_only


def frames(count, seed=0, size=2):
    return torch.randn(count, 4, size, size, generator=torch.Generator().manual_seed(seed))


def test_hints_hold_the_history_then_the_last_frame():
    known = frames(3)
    held = hold_hints(known, 4)
    assert held.shape[0] == 7
    assert torch.equal(held[:3], known) and all(torch.equal(f, known[2]) for f in held[3:])
    plain = last_frame_hints(known, 4)
    assert plain.shape[0] == 7 and all(torch.equal(f, known[2]) for f in plain)
    video_layout = hold_hints(known.unsqueeze(0), 4, frame_dim=1)  # diffusers: (B, T, C, h, w)
    assert torch.equal(video_layout[0], held)


def test_hints_choice_first_and_last_give_one_image_for_every_frame():
    known = frames(3)
    assert torch.equal(continuation_hints(known, 4, "hold"), hold_hints(known, 4))
    first, last = continuation_hints(known, 4, "first"), continuation_hints(known, 4, "last")
    assert first.shape[0] == last.shape[0] == 7
    assert all(torch.equal(f, known[0]) for f in first) and all(torch.equal(f, known[2]) for f in last)
    video_layout = continuation_hints(known.unsqueeze(0), 4, "first", frame_dim=1)
    assert torch.equal(video_layout[0], first)
    with pytest.raises(InputError, match="hold, first, last"):
        continuation_hints(known, 4, "middle")
    with pytest.raises(InputError, match="hints must be one of hold, first, last"):
        ContinuationSettings(hints="middle")


def test_latent_and_mask_keep_exactly_the_overlap():
    known = frames(2)
    latent = overlap_latent(known, 3)
    mask = overlap_mask(2, 3, 2, 2)
    assert latent.shape == (5, 4, 2, 2) and mask.shape == (5, 1, 2, 2)
    assert torch.equal(latent[:2], known) and not latent[2:].any()
    assert not mask[:2].any() and bool((mask[2:] == 1).all())


def test_settings_count_frames_and_refuse_bad_values():
    settings = ContinuationSettings(overlap_frames=4, new_frames=24)
    assert settings.clip_frames == 28 and settings.pins_overlap
    assert not ContinuationSettings(method="history_cfg").pins_overlap
    for kwargs, word in (({"overlap_frames": 0}, "overlap_frames"), ({"new_frames": 0}, "new_frames"),
                         ({"method": "x"}, "injection, history_cfg, reconstruction"),
                         ({"history_scale": -0.5}, "history_scale"), ({"guidance_weight": -1}, "guidance_weight")):
        with pytest.raises(InputError, match=word):
            ContinuationSettings(**kwargs)
    with pytest.raises(InputError, match="overlap_frames \\(4\\) must be smaller than the previous_latent's frame count \\(4\\)"):
        require_history(4, 4, "previous_latent")
    require_history(5, 4)


def test_join_appends_new_frames_once():
    video, clip = frames(6, 1), frames(5, 2)
    joined = join_clips(video, clip, 2)
    assert joined.shape[0] == 6 + 3
    assert torch.equal(joined[:6], video) and torch.equal(joined[6:], clip[2:])
    grown = video
    for k in range(3):
        grown = join_clips(grown, frames(5, 10 + k), 2)
    assert grown.shape[0] == 6 + 3 * 3  # first clip + clips * new


def test_crossfade_blends_the_overlap_from_old_to_new():
    video, clip = torch.zeros(5, 1), torch.ones(6, 1)
    joined = join_clips(video, clip, 3, crossfade=True)
    assert torch.allclose(joined[:, 0], torch.tensor([0, 0, 0.25, 0.5, 0.75, 1, 1, 1]))
    assert torch.allclose(crossfade_weights(3), torch.tensor([0.25, 0.5, 0.75]))
    diffusers_layout = join_clips(video.view(1, 5, 1), clip.view(1, 6, 1), 3, crossfade=True, frame_dim=1)
    assert torch.equal(diffusers_layout.view(-1), joined.view(-1))


@pytest.mark.parametrize("video, clip, word", [
    (frames(1), frames(5), "video has 1 frames"), (frames(6), frames(2), "clip has 2 frames"),
    (frames(6), frames(5, size=3), "same size"),
])
def test_join_refuses_clips_that_do_not_fit(video, clip, word):
    with pytest.raises(InputError, match=word):
        join_clips(video, clip, 2)


def test_history_term_is_the_difference_of_the_conditionals():
    denoised, cond, history = torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([5.0])
    assert float(with_history_guidance(denoised, cond, history, 0.5)) == 2.5
    assert torch.equal(with_history_guidance(denoised, cond, history, 0.0), denoised)


@pytest.mark.parametrize("weight", [0.0, 0.5, 1.0, 1.7, 3.0])
def test_reconstruction_keeps_the_overlap_at_the_known_frames_for_every_weight(weight):
    # a denoiser near the identity (late steps): correcting the overlap's own estimate would put it at
    # known + (1 - w)(x - known), 70 % past the known frames for w = 1.7
    x = frames(5, 3).requires_grad_(True)
    known = frames(2, 4)
    guided = reconstruction_guided(x * 1.0, x, known, weight)
    assert torch.equal(guided[:2], known)
    assert torch.equal(guided[2:], x[2:].detach())  # the identity gives the new frames no gradient


def test_reconstruction_corrects_the_new_frames_by_the_gradient_through_the_denoiser():
    # D(x) = A x mixes frames: the gradient A^T (D[overlap] - known) reaches the new frames
    a = torch.randn(4, 4, generator=torch.Generator().manual_seed(0))
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    known = torch.randn(1, 3)
    guided = reconstruction_guided(a @ x, x, known, 0.3)
    residual = torch.zeros(4, 3)
    residual[:1] = (a @ x)[:1].detach() - known
    expected = (a @ x).detach() - 0.3 * a.T @ residual
    assert torch.allclose(guided[1:], expected[1:], atol=1e-6)
    assert torch.equal(guided[:1], known)
    unguided = reconstruction_guided(a @ x, x, known, 0.0)
    assert torch.equal(unguided[1:], (a @ x)[1:].detach()) and torch.equal(unguided[:1], known)


def test_reconstruction_along_another_frame_dim():
    # diffusers' (batch, frames, ...) layout
    x = torch.randn(1, 5, 2, generator=torch.Generator().manual_seed(2)).requires_grad_(True)
    known = torch.randn(1, 3, 2, generator=torch.Generator().manual_seed(3))
    denoised = x.flip(1) * 0.5  # the new frames depend on the overlap frames' inputs and vice versa
    guided = reconstruction_guided(denoised, x, known, 2.0, frame_dim=1)
    assert torch.equal(guided[:, :3], known)
    gradient = torch.zeros(1, 5, 2)
    gradient[:, 2:] = (2 * (denoised[:, :3].detach() - known) * 0.5).flip(1)  # d/dx of the flip's first 3 frames
    assert torch.allclose(guided[:, 3:], denoised[:, 3:].detach() - gradient[:, 3:], atol=1e-6)


def test_input_gradients_only_puts_back_the_same_weights():
    with torch.inference_mode():
        loaded = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    trained = torch.nn.Linear(3, 3)
    before = {name: t for name, t in [*loaded.named_parameters(), *loaded.named_buffers()]}
    x = torch.randn(4, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        loaded(x).sum().backward()
    with input_gradients_only(loaded) as swapped, input_gradients_only(trained):
        assert swapped == len(before)
        assert not any(p.requires_grad for p in [*loaded.parameters(), *trained.parameters()])
        (grad,) = torch.autograd.grad(trained(loaded(x)).sum(), x)
        assert grad.abs().sum() > 0
    after = {name: t for name, t in [*loaded.named_parameters(), *loaded.named_buffers()]}
    assert all(after[name] is tensor for name, tensor in before.items())
    assert all(p.requires_grad for p in trained.parameters())
