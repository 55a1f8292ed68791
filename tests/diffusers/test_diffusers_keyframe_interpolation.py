import pytest
import torch
from diffusers_keyframes import SIZE, as_pil, interpolate, scaled_keyframes

from longer_video import FrameSize, KeyframeSettings
from longer_video.nodes.diffusers_patches.keyframe_interpolation import encode_keyframes

STEPS = 3


def run(pipe, keyframes, seed=0, frames_between=4, hint="hold", pin_keyframes=True, pin_release=1.0, **kwargs):
    settings = KeyframeSettings(frames_between, hint, pin_keyframes, pin_release)
    return interpolate(pipe, keyframes, settings, None, seed, STEPS, **kwargs)


def test_pinned_keyframes_come_out_exactly(pipe, keyframes):
    latents = run(pipe, keyframes, frames_between=4)
    assert latents.shape[:2] == (1, 9)
    assert (latents[0, [0, 4, 8]] - scaled_keyframes(pipe, keyframes)).abs().max() <= 1e-5
    assert "forward" not in pipe.unet.__dict__ and not pipe.unet._forward_pre_hooks  # the hint hook is gone


def test_pin_release_frees_the_keyframes(pipe, keyframes):
    released = run(pipe, keyframes, frames_between=4, pin_release=0.34)
    assert (released[0, [0, 4, 8]] - scaled_keyframes(pipe, keyframes)).abs().max() > 1e-3
    pinned = run(pipe, keyframes, frames_between=4)
    assert (released - pinned).abs().max() > 1e-3


def test_hint_first_without_pins_is_the_stock_pipeline(pipe, keyframes):
    ours = run(pipe, keyframes, frames_between=4, hint="first", pin_keyframes=False)
    generator = torch.Generator().manual_seed(0)
    encode_keyframes(pipe, keyframes, FrameSize(SIZE, SIZE))  # no randomness drawn at strength 0
    noise = torch.randn(ours.shape, generator=generator)
    with torch.no_grad():
        first = as_pil(pipe, keyframes[:1])[0]
        stock = pipe(first, height=SIZE, width=SIZE, num_frames=9, num_inference_steps=STEPS,
                     noise_aug_strength=0.0, latents=noise, output_type="latent", generator=generator).frames
    assert torch.allclose(ours, stock, atol=1e-5)
    hold = run(pipe, keyframes, frames_between=4, hint="hold", pin_keyframes=False)
    assert (hold - stock).abs().max() > 1e-3  # the hints reach the UNet


@pytest.mark.parametrize("kwargs, word", [
    ({"frames_between": 0}, "frames_between"), ({"frames_between": 4, "hint": "cubic"}, "hint"),
    ({"frames_between": 4, "num_frames": 9}, "num_frames"),
])
def test_bad_input_names_the_argument(pipe, keyframes, kwargs, word):
    with pytest.raises(ValueError, match=word):
        run(pipe, keyframes, **kwargs)


def test_one_keyframe_is_refused(pipe, keyframes):
    with pytest.raises(ValueError, match="at least 2"):
        run(pipe, keyframes[:1], frames_between=4)
