"""The interpolation LoRA's objective and clip arithmetic (pure torch)."""
import pytest
import torch

from longer_video.nodes.techniques.errors import InputError
from longer_video.nodes.techniques.interpolation_training import (
    LoraTrainingSettings, dropout_masks, pinned_frames, training_batch, v_loss,
)
from longer_video.nodes.techniques.training_clips import TrainingClipSettings, clip_starts, cover_crop, kept_source_frames

FRAMES_BETWEEN = 4


def clips(batch=2, keyframes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    frames = (keyframes - 1) * FRAMES_BETWEEN + 1
    latents = torch.randn(batch, frames, 4, 8, 8, generator=g)
    return latents, latents[:, ::FRAMES_BETWEEN].clone(), torch.randn(batch, 1, 16, generator=g), torch.tensor(
        [[7.0, 127.0, 0.02]] * batch)


def test_pinned_frames_carry_no_loss():
    latents, keys, embeds, ids = clips()
    batch = training_batch(latents, keys, embeds, ids, FRAMES_BETWEEN, LoraTrainingSettings(), torch.Generator())
    pinned = pinned_frames(latents.shape[1], FRAMES_BETWEEN)
    assert pinned.nonzero().flatten().tolist() == [0, 4, 8]
    assert (batch.frame_weights[:, pinned] == 0).all() and (batch.frame_weights[:, ~pinned] == 1).all()
    prediction = batch.target + 0.1
    base = v_loss(prediction, batch.target, batch.frame_weights)
    wrong_keyframes = prediction.clone()
    wrong_keyframes[:, pinned] += 100.0
    assert v_loss(wrong_keyframes, batch.target, batch.frame_weights) == base
    wrong_between = prediction.clone()
    wrong_between[:, 1] += 1.0
    assert v_loss(wrong_between, batch.target, batch.frame_weights) > base


def test_the_batch_is_svds_edm_v_parameterisation_with_hints():
    latents, keys, embeds, ids = clips(batch=1)
    settings = LoraTrainingSettings(conditioning_dropout=0.0, hint="hold")
    sigma, noise = torch.tensor([2.0]), torch.randn(latents.shape)
    batch = training_batch(latents, keys, embeds, ids, FRAMES_BETWEEN, settings, sigmas=sigma, noise=noise)
    x = latents * settings.scaling_factor
    noisy = x + 2.0 * noise
    torch.testing.assert_close(batch.sample[:, :, :4], noisy / 5 ** 0.5)
    torch.testing.assert_close(batch.timestep, 0.25 * torch.log(sigma))
    # a perfect prediction F denoises exactly: x = noisy / (s^2+1) + F * (-s / sqrt(s^2+1))
    denoised = noisy / 5 + batch.target * (-2.0 / 5 ** 0.5)
    torch.testing.assert_close(denoised, x)
    # hold hints: frames 0-3 get keyframe 0, 4-7 keyframe 1, 8 keyframe 2 (unscaled, as SVD's concat)
    hints = batch.sample[0, :, 4:]
    for frame, key in ((0, 0), (3, 0), (4, 1), (7, 1), (8, 2)):
        torch.testing.assert_close(hints[frame], keys[0, key])


def test_pinned_input_modes():
    latents, keys, embeds, ids = clips(batch=1)
    sigma, noise = torch.tensor([3.0]), torch.randn(latents.shape)
    noised = training_batch(latents, keys, embeds, ids, FRAMES_BETWEEN, LoraTrainingSettings(conditioning_dropout=0.0),
                            sigmas=sigma, noise=noise)
    clean = training_batch(latents, keys, embeds, ids, FRAMES_BETWEEN,
                           LoraTrainingSettings(pinned_input="clean", conditioning_dropout=0.0), sigmas=sigma, noise=noise)
    x = latents * LoraTrainingSettings().scaling_factor
    c_in = 1 / 10 ** 0.5
    torch.testing.assert_close(clean.sample[0, 4, :4], x[0, 4] * c_in)  # a keyframe enters clean
    torch.testing.assert_close(noised.sample[0, 4, :4], (x[0, 4] + 3.0 * noise[0, 4]) * c_in)  # as the sampler pins it
    torch.testing.assert_close(clean.sample[0, 1], noised.sample[0, 1])  # frames between: the same


def test_conditioning_dropout_follows_svds_recipe():
    keep_embeds, keep_hints = dropout_masks(200_000, 0.1, torch.Generator().manual_seed(0))
    only_embeds = ((keep_embeds == 0) & (keep_hints == 1)).float().mean()
    both = ((keep_embeds == 0) & (keep_hints == 0)).float().mean()
    only_hints = ((keep_embeds == 1) & (keep_hints == 0)).float().mean()
    for share in (only_embeds, both, only_hints):
        assert abs(share - 0.1) < 0.005


@pytest.mark.parametrize("kwargs, name", [
    (dict(rank=0), "rank"), (dict(hint="first"), "hint"), (dict(pinned_input="noisy"), "pinned_input"),
    (dict(conditioning_dropout=0.5), "conditioning_dropout"), (dict(precision="fp8"), "precision"),
    (dict(checkpointing="some"), "checkpointing"), (dict(targets=("attn3.to_q",)), "targets"),
])
def test_bad_settings_name_the_input(kwargs, name):
    with pytest.raises(InputError, match=name):
        LoraTrainingSettings(**kwargs)


def test_clip_arithmetic():
    settings = TrainingClipSettings(keyframes=3, frames_between=4, stride=6)
    assert settings.clip_frames == 9
    assert clip_starts(20, settings) == [0, 6]
    assert clip_starts(8, settings) == []
    # 30 fps -> 8 fps keeps frames at n * 30 / 8; 4 fps -> 8 fps repeats each frame twice
    assert list(kept_source_frames(30, 8, 16)) == [0, 3, 7, 11, 15]
    assert list(kept_source_frames(4, 8, 3)) == [0, 0, 1, 1, 2, 2]
    assert list(kept_source_frames(4, None, 3)) == [0, 1, 2]
    width, height, box = cover_crop(1920, 1080, 1024, 576)
    assert (width, height, box) == (1024, 576, (0, 0, 1024, 576))
    width, height, box = cover_crop(480, 480, 1024, 576)  # square: scaled to 1024 wide, centre rows kept
    assert (width, height) == (1024, 1024) and box == (0, 224, 1024, 800)
    with pytest.raises(InputError, match="width"):
        TrainingClipSettings(width=1001)
