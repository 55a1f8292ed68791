"""Interpolation LoRA training on a tiny diffusers SVD UNet (8x8 latents, 9-frame clips, a few steps)."""
import argparse
import warnings

import pytest
import torch
from diffusers_models import tiny_pipeline

import longer_video as lv
from longer_video.nodes.diffusers_patches.lora_adapter import add_lora, lora_parameters, remove_lora
from longer_video.nodes.diffusers_patches.lora_cache import CachedClips, write_cached_clip
from longer_video.nodes.diffusers_patches.lora_format import lora_state_dict, read_lora, save_lora
from longer_video.nodes.diffusers_patches.lora_training import steps_dir
from longer_video.nodes.diffusers_patches.training_checkpointing import (
    disable_training_checkpointing, enable_training_checkpointing,
)
from longer_video.nodes.techniques.interpolation_training import training_batch, v_loss
from longer_video.nodes.techniques.lora_keys import TARGETS

FRAMES_BETWEEN = 4


def tiny_unet():
    """The tiny pipeline's UNet alone (building the pipeline's CLIP tower and VAE costs far more)."""
    from diffusers import UNetSpatioTemporalConditionModel

    torch.manual_seed(0)
    return UNetSpatioTemporalConditionModel(
        sample_size=8, in_channels=8, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"), addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=24, cross_attention_dim=32, transformer_layers_per_block=1,
        num_attention_heads=(2, 4), num_frames=14)


def fill_cache(folder, clips=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    for i in range(clips):
        latents = torch.randn(9, 4, 8, 8, generator=g)
        write_cached_clip(folder / f"clip{i}.safetensors", latents, latents[::FRAMES_BETWEEN], torch.randn(1, 32, generator=g),
                          [7.0, 127.0, 0.02], FRAMES_BETWEEN)
    return folder


def settings(**kwargs):
    base = dict(steps=3, rank=4, precision="fp32", learning_rate=3e-3, save_every=100, conditioning_dropout=0.0)
    return lv.LoraTrainingSettings(**{**base, **kwargs})


def fixed_loss(unet, cache, s) -> float:
    """The training loss on the first cached clip at sigma 1, averaged over 4 fixed noise draws."""
    data = CachedClips(cache).batch([0] * 4)
    noise = torch.randn(data["latents"].shape, generator=torch.Generator().manual_seed(5))
    batch = training_batch(data["latents"], data["keyframe_latents"], data["image_embeds"], data["added_time_ids"],
                           FRAMES_BETWEEN, s, sigmas=torch.ones(4), noise=noise)
    with torch.no_grad():
        prediction = unet(batch.sample, batch.timestep, batch.encoder_hidden_states, batch.added_time_ids).sample
    return v_loss(prediction, batch.target, batch.frame_weights).item()


def test_a_few_steps_lower_the_loss_and_the_saved_lora_loads(tmp_path):
    unet = tiny_unet()
    cache = fill_cache(tmp_path / "latents", clips=1)
    # sigma ~1 (p_std 0.01): a few steps on one clip then show in the loss at sigma 1
    s = settings(steps=6, learning_rate=5e-2, p_mean=0.0, p_std=0.01, windows=lv.WindowSettings(4, 2, "pyramid", "banded"))
    before = fixed_loss(unet, cache, s)
    stock = {k: v.clone() for k, v in unet.state_dict().items()}
    result = lv.train_interpolation_lora(unet, cache, tmp_path / "lora.safetensors", s, progress=False)
    # the UNet comes back as it was: no LoRA layers, no patches, same weights
    assert unet.state_dict().keys() == stock.keys()
    assert all(torch.equal(unet.state_dict()[k], v) for k, v in stock.items())
    assert result.steps == 6 and len(result.losses) == 6
    assert lv.load_interpolation_lora(unet, result.path) == 4 * len(TARGETS)  # 4 temporal blocks, every target
    after = fixed_loss(unet, cache, s)
    assert after < 0.95 * before, (before, after)  # measured: 0.60 -> 0.52
    assert lv.remove_interpolation_lora(unet) == 4 * len(TARGETS)
    assert all(torch.allclose(unet.state_dict()[k], v, atol=1e-6) for k, v in stock.items())


def unet_with_random_lora(std: float, seed: int):
    """A tiny UNet with a LoRA of random (nonzero) factors, and inputs for one 8-frame call."""
    unet = tiny_unet()
    add_lora(unet, settings())
    with torch.no_grad():
        for p in lora_parameters(unet).values():
            p.normal_(0, std)
    g = torch.Generator().manual_seed(seed)
    inputs = (torch.randn(1, 9, 8, 8, 8, generator=g), torch.tensor(0.3), torch.randn(1, 1, 32, generator=g),
              torch.tensor([[7.0, 127.0, 0.02]]))
    return unet, inputs


def test_saved_lora_gives_the_trained_models_output(tmp_path):
    """peft's LoRA layers during training == the saved file merged into the weights (ComfyUI's way)."""
    unet, inputs = unet_with_random_lora(0.2, seed=2)
    with torch.no_grad():
        with_lora = unet(*inputs).sample
    path = tmp_path / "lora.safetensors"
    save_lora(unet, path)
    keys = set(lora_state_dict(unet))
    remove_lora(unet)
    with torch.no_grad():
        stock = unet(*inputs).sample
    assert lv.load_interpolation_lora(unet, path) == len(read_lora(path))
    with torch.no_grad():
        merged = unet(*inputs).sample
    assert (with_lora - stock).abs().max() > 1e-3  # the LoRA changes the output ...
    torch.testing.assert_close(merged, with_lora, atol=2e-3, rtol=0)  # ... and the file carries exactly that (fp16)
    assert all(k.startswith("diffusion_model.") and ".time_stack.0." in k for k in keys)
    assert {k.rsplit(".", 2)[-2] if k.endswith(".weight") else "alpha" for k in keys} == {"lora_up", "lora_down", "alpha"}


def test_resumed_run_ends_where_a_straight_run_does(tmp_path):
    cache = fill_cache(tmp_path / "latents")
    straight = lv.train_interpolation_lora(tiny_unet(), cache, tmp_path / "a.safetensors", settings(steps=4),
                                           progress=False)
    stopped = lv.train_interpolation_lora(tiny_unet(), cache, tmp_path / "b.safetensors",
                                          settings(steps=2, save_every=2), progress=False)
    assert (steps_dir(tmp_path / "b.safetensors") / "step-000002.safetensors").is_file()
    resumed = lv.train_interpolation_lora(tiny_unet(), cache, tmp_path / "b.safetensors", settings(steps=4),
                                          progress=False)
    assert [step for step, _ in resumed.losses] == [3, 4]
    assert [loss for _, loss in stopped.losses + resumed.losses] == pytest.approx([loss for _, loss in straight.losses])
    for key, (down, up, _) in read_lora(straight.path).items():
        down2, up2, _ = read_lora(resumed.path)[key]
        assert torch.equal(down2, down) and torch.equal(up2, up), key
    with pytest.raises(lv.InputError, match="other settings"):
        lv.train_interpolation_lora(tiny_unet(), cache, tmp_path / "b.safetensors", settings(steps=6, rank=8),
                                    progress=False)


@pytest.mark.parametrize("windows, chunking", [
    (None, None), (lv.WindowSettings(4, 2, "pyramid", "banded"), None), (lv.WindowSettings(4, 2, "pyramid", "block"), None),
    (lv.WindowSettings(4, 2, "pyramid", "banded"), lv.FrameChunkingSettings(2)),
], ids=["stock", "banded", "block", "banded+frame_chunking"])
def test_full_checkpointing_gives_the_same_gradients(windows, chunking):
    """Checkpointed temporal blocks recompute in backward, after the banded processor swap ended:
    the recomputation must use the processor of the forward pass. Frame chunking (differentiable
    since #24) trains to the same gradients as the unchunked UNet."""
    unet, inputs = unet_with_random_lora(0.1, seed=1)

    def grads(mode, chunking=None):
        unet.zero_grad(set_to_none=True)
        if windows is not None:
            lv.apply_windowed_attention(unet, windows)
        if chunking is not None:
            lv.apply_frame_chunking(unet, chunking)
        assert enable_training_checkpointing(unet, mode) == (8 if mode == "full" else 0)  # 4 transformers + 4 blocks
        unet(*inputs).sample.pow(2).mean().backward()
        disable_training_checkpointing(unet)
        if chunking is not None:
            lv.remove_frame_chunking(unet)
        if windows is not None:
            lv.remove_windowed_attention(unet)
        return torch.cat([p.grad.flatten() for p in lora_parameters(unet).values()])

    reference = grads("none")
    torch.testing.assert_close(grads("full", chunking), reference, atol=1e-7, rtol=1e-5)
    torch.testing.assert_close(grads("diffusers", chunking), reference, atol=1e-7, rtol=1e-5)


def write_video(path, frames=12, size=16, fps=8):
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            image = np.full((size, size, 3), (i * 20) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_caching_skips_a_corrupt_video_and_names_it(tmp_path):
    from PIL import Image

    data = tmp_path / "data"
    data.mkdir()
    write_video(data / "good.mp4", frames=12)
    (data / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    (data / "frames").mkdir()
    for i in range(9):
        Image.new("RGB", (24, 16), (i * 25, 0, 0)).save(data / "frames" / f"{i:03d}.png")
    clip_settings = lv.TrainingClipSettings(keyframes=3, frames_between=4, fps=8, stride=3, width=16, height=16)
    pipe = tiny_pipeline()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        count = lv.cache_training_latents(pipe, data, tmp_path / "latents", clip_settings, progress=False)
    messages = [str(w.message) for w in caught if "skipping" in str(w.message)]
    assert len(messages) == 1 and "broken.mp4" in messages[0], messages
    assert count == 2 + 1  # good.mp4: 12 frames, clips of 9 every 3 -> 2; frames/: 9 frames -> 1
    clips = CachedClips(tmp_path / "latents")
    data_batch = clips.batch([0])
    assert data_batch["latents"].shape == (1, 9, 4, 8, 8) and data_batch["keyframe_latents"].shape == (1, 3, 4, 8, 8)
    assert data_batch["added_time_ids"].tolist() == [[7.0, 127.0, 0.019999999552965164]]
    # a second run finds every clip cached; other clip settings are refused for the same folder
    with pytest.warns(UserWarning, match="broken.mp4"):
        assert lv.cache_training_latents(pipe, data, tmp_path / "latents", clip_settings, progress=False) == 3
    with pytest.raises(lv.InputError, match="stride"):
        lv.cache_training_latents(pipe, data, tmp_path / "latents",
                                  lv.TrainingClipSettings(keyframes=3, frames_between=4, fps=8, width=16, height=16))


def test_script_help_explains_every_option():
    from train_interpolation_lora import build_parser

    parser = build_parser()
    options = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    assert len(options) > 25
    assert all(a.help and len(a.help) > 10 for a in options), [a.dest for a in options if not a.help]


@pytest.mark.parametrize("argv, named", [
    (["--out", "x.safetensors"], "--model"),
    (["--out", "x.safetensors", "--model", "m", "--unet", "u"], "--model"),
    (["--out", "x.safetensors", "--unet", "u", "--rank", "0"], "rank"),
    (["--out", "x.safetensors", "--unet", "u", "--targets", "attn1.to_q,attn9"], "attn9"),
])
def test_script_refuses_bad_input_in_one_line(argv, named, capsys):
    from train_interpolation_lora import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and named in err and "\n" not in err, err
