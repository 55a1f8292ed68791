"""Random-weight SVD-layout ComfyUI models for the ComfyUI tier (built from ComfyUI's own classes).

`svd_unet_config` mirrors what `comfy.model_detection.detect_unet_config` derives from an SVD
checkpoint; the tiny variant only shrinks the free parts (channels, depth per level).
"""
from __future__ import annotations

import math

import torch

SVD_VAE_ENCODER = {'double_z': True, 'z_channels': 4, 'resolution': 256, 'in_channels': 3, 'out_ch': 3, 'ch': 128,
                   'ch_mult': [1, 2, 4, 4], 'num_res_blocks': 2, 'attn_resolutions': [], 'dropout': 0.0}


def svd_unet_config(model_channels=320, channel_mult=(1, 1, 1, 1), num_res_blocks=2, context_dim=1024,
                    adm_in_channels=768, num_head_channels=64) -> dict:
    levels = len(channel_mult)
    # SVD: transformers in every level but the deepest, on the way down and up. Both lists run from the top
    # level down, as ComfyUI's detection writes them (UNetModel pops transformer_depth_output from the end
    # while it builds the output blocks deepest first).
    transformer_depth = [1 if level < levels - 1 or levels == 1 else 0 for level in range(levels) for _ in range(num_res_blocks)]
    transformer_depth_output = [1 if level < levels - 1 or levels == 1 else 0 for level in range(levels)
                                for _ in range(num_res_blocks + 1)]
    return {
        "use_checkpoint": False, "image_size": 32, "use_spatial_transformer": True, "legacy": False,
        "num_classes": "sequential", "adm_in_channels": adm_in_channels, "in_channels": 8, "out_channels": 4,
        "model_channels": model_channels, "num_res_blocks": [num_res_blocks] * levels,
        "transformer_depth": transformer_depth, "transformer_depth_output": transformer_depth_output,
        "channel_mult": list(channel_mult), "transformer_depth_middle": 1, "use_linear_in_transformer": True,
        "context_dim": context_dim, "extra_ff_mix_layer": True, "use_spatial_context": True,
        "merge_strategy": "learned_with_images", "merge_factor": 0.0, "video_kernel_size": [3, 1, 1],
        "use_temporal_resblock": True, "use_temporal_attention": True, "disable_temporal_crossattention": False,
        "num_heads": -1, "num_head_channels": num_head_channels,
    }


def svd_xt_unet_config() -> dict:
    """SVD / SVD-XT's own UNet as ComfyUI detects it from the checkpoint (1,524,623,082 parameters)."""
    return svd_unet_config(channel_mult=(1, 2, 4, 4))


def tiny_unet_config() -> dict:
    return svd_unet_config(model_channels=32, channel_mult=(1, 2), num_res_blocks=1, context_dim=32,
                           adm_in_channels=768, num_head_channels=16)


def randomize_(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Fill every parameter: fan-in scaled weights, norm scales near one, small biases.

    ComfyUI's ops skip weight init, and zero output layers would hide temporal effects.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            values = random_like(name, tuple(p.shape), g)
            p.copy_(values.to(p.dtype))
    return module


def random_like(name: str, shape: tuple, g: torch.Generator) -> torch.Tensor:
    if len(shape) >= 2:
        fan_in = math.prod(shape[1:])
        return torch.randn(shape, generator=g) / math.sqrt(fan_in)
    if name.endswith("bias") or len(shape) == 0:
        return 0.1 * torch.randn(shape, generator=g)
    return 1.0 + 0.1 * torch.randn(shape, generator=g)


def build_svd_model(unet_config: dict, seed: int = 0, device="cpu", dtype=torch.float32):
    """A comfy.model_base.SVD_img2vid (as ImageOnlyCheckpointLoader would make) with random weights."""
    import comfy.supported_models

    model_config = comfy.supported_models.SVD_img2vid(unet_config)
    model_config.unet_config.update({k: unet_config[k] for k in ("num_head_channels", "num_heads")})
    model_config.set_inference_dtype(dtype, None)
    model = model_config.get_model({}, device=device)
    if str(device) != "meta":
        randomize_(model.diffusion_model, seed)
    return model.eval()


def model_patcher(model):
    import comfy.model_patcher

    return comfy.model_patcher.ModelPatcher(model, load_device=torch.device("cpu"), offload_device=torch.device("cpu"))


def svd_vae_state_dict(seed: int = 0, dtype=torch.float32) -> dict:
    """A random SVD VAE state dict, keyed as comfy.sd.VAE expects (it picks the video decoder by key)."""
    from comfy.ldm.models.autoencoder import AutoencodingEngine

    decoder = dict(SVD_VAE_ENCODER, video_kernel_size=[3, 1, 1], alpha=0.0)
    with torch.device("meta"):
        engine = AutoencodingEngine(
            regularizer_config={'target': "comfy.ldm.models.autoencoder.DiagonalGaussianRegularizer"},
            encoder_config={'target': "comfy.ldm.modules.diffusionmodules.model.Encoder", 'params': SVD_VAE_ENCODER},
            decoder_config={'target': "comfy.ldm.modules.temporal_ae.VideoDecoder", 'params': decoder},
        )
    g = torch.Generator().manual_seed(seed)
    sd = {k: random_like(k, tuple(v.shape), g).to(dtype) for k, v in engine.state_dict().items()}
    assert "decoder.mid.block_1.mix_factor" in sd
    return sd


def build_svd_vae(seed: int = 0):
    import comfy.sd

    return comfy.sd.VAE(sd=svd_vae_state_dict(seed))


def sd_image_vae_state_dict(seed: int = 0) -> dict:
    """A random SD1.x image VAE state dict (no temporal decoder) for the wrong-VAE checks."""
    from comfy.ldm.models.autoencoder import AutoencoderKL

    ddconfig = {'double_z': True, 'z_channels': 4, 'resolution': 256, 'in_channels': 3, 'out_ch': 3, 'ch': 128,
                'ch_mult': [1, 2, 4, 4], 'num_res_blocks': 2, 'attn_resolutions': [], 'dropout': 0.0}
    with torch.device("meta"):
        engine = AutoencoderKL(ddconfig=ddconfig, embed_dim=4)
    g = torch.Generator().manual_seed(seed)
    return {k: random_like(k, tuple(v.shape), g) for k, v in engine.state_dict().items()}


def svd_inputs(unet_config: dict, frames: int, batch: int = 2, size: int = 4, seed: int = 1) -> dict:
    """Keyword arguments for BaseModel.apply_model, shaped as KSampler passes them with CFG (2T frames)."""
    g = torch.Generator().manual_seed(seed)
    n = batch * frames
    return dict(
        x=torch.randn(n, 4, size, size, generator=g),
        t=torch.full((n,), 2.5),
        c_concat=torch.randn(n, 4, size, size, generator=g),
        c_crossattn=torch.randn(n, 1, unet_config["context_dim"], generator=g),
        y=torch.randn(n, unet_config["adm_in_channels"], generator=g),
        num_video_frames=frames,
    )


@torch.no_grad()
def run_patched(patcher, inputs: dict) -> torch.Tensor:
    """Load the patcher as ComfyUI does before sampling (object patches applied, others unpatched)."""
    import comfy.model_management

    comfy.model_management.load_models_gpu([patcher])
    transformer_options = dict(patcher.model_options.get("transformer_options", {}))
    return patcher.model.apply_model(**inputs, transformer_options=transformer_options).clone()


def build_image_model(unet_config: dict):
    """An SD1.x-style model (no temporal layers) with the same small widths, on the meta device."""
    import comfy.supported_models

    config = dict(unet_config, use_temporal_attention=False, use_temporal_resblock=False, extra_ff_mix_layer=False,
                  use_spatial_context=False, merge_strategy=None, video_kernel_size=None, num_classes=None,
                  adm_in_channels=None, in_channels=4)
    model_config = comfy.supported_models.SD15(config)
    model_config.unet_config.update(num_head_channels=unet_config["num_head_channels"], num_heads=-1)
    return model_patcher(model_config.get_model({}, device="meta"))


def build_clip_vision(projection_dim: int, tmp_dir, seed: int = 0):
    """A tiny random CLIP vision model (ComfyUI's own class) whose image embeds have projection_dim."""
    import json

    import comfy.clip_vision

    config = {"attention_dropout": 0.0, "dropout": 0.0, "hidden_act": "gelu", "hidden_size": 32, "image_size": 28,
              "initializer_factor": 1.0, "initializer_range": 0.02, "intermediate_size": 64, "layer_norm_eps": 1e-5,
              "model_type": "clip_vision_model", "num_attention_heads": 2, "num_channels": 3, "num_hidden_layers": 2,
              "patch_size": 14, "projection_dim": projection_dim, "torch_dtype": "float32"}
    path = tmp_dir / "tiny_clip_vision.json"
    path.write_text(json.dumps(config))
    clip_vision = comfy.clip_vision.ClipVisionModel(str(path))
    randomize_(clip_vision.model, seed)
    return clip_vision


def sd15_unet_state_dict(seed: int = 0, dtype=torch.float16) -> dict:
    """A small random SD1.5 UNet (no temporal layers) that ComfyUI's UNETLoader detects as SD1.5.

    Detection keys SD1.5 on model_channels 320, context_dim 768 and no linear projections; the
    depth is free, so two levels of one block each keep it near 20 MB.
    """
    config = dict(svd_unet_config(model_channels=320, channel_mult=(1, 1), num_res_blocks=1, context_dim=768),
                  use_linear_in_transformer=False)
    unet = build_image_model(config).model.diffusion_model
    g = torch.Generator().manual_seed(seed)
    return {k: random_like(k, tuple(v.shape), g).to(dtype) for k, v in unet.state_dict().items()}
