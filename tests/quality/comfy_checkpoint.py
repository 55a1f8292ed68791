"""The toy as a ComfyUI SVD checkpoint (`ImageOnlyCheckpointLoader` loads it as SVD img2vid).

UNet: the shipped toy widened exactly by to_comfy (kept in fp32 so the widened weights are the
toy's to the last bit); VAE and CLIP ViT-H: the random ones the server tier already builds (the
toy ignores the CLIP context and no pixels are decoded). Runs in ComfyUI's environment; the file
(~2.3 GB) is cached by the toy weights' hash and never committed.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "support")]
import to_comfy  # noqa: E402
import toy_model  # noqa: E402

CACHE = Path(os.environ.get("LONGER_VIDEO_CACHE", Path.home() / ".cache" / "longer-video")) / "checkpoints"


NARROW = dict(repeat=1, head=toy_model.CONFIG["block_out_channels"][0] // toy_model.CONFIG["num_attention_heads"][0])


def wide_model_config(repeat: int = to_comfy.R, head: int = to_comfy.WIDE_HEAD):
    import comfy.supported_models

    cfg = to_comfy.comfy_unet_config(toy_model.CONFIG, repeat, head)
    model_config = comfy.supported_models.SVD_img2vid(cfg)
    model_config.unet_config.update({k: cfg[k] for k in ("num_head_channels", "num_heads", "model_channels")})
    return model_config


def wide_reference(repeat: int = to_comfy.R, head: int = to_comfy.WIDE_HEAD) -> dict[str, torch.Tensor]:
    """Names and shapes of the wide UNet, from ComfyUI's own classes on the meta device."""
    config = wide_model_config(repeat, head)
    config.set_inference_dtype(torch.float32, None)
    return dict(config.get_model({}, device="meta").diffusion_model.state_dict())


def toy_comfy_model(weights: Path = toy_model.WEIGHTS, repeat: int = to_comfy.R, head: int = to_comfy.WIDE_HEAD):
    """The toy as ComfyUI's SVD model (fp32), built the way ImageOnlyCheckpointLoader builds it from
    the converted keys; the defaults give the widened checkpoint's UNet, NARROW the toy's width."""
    from safetensors.torch import load_file

    config = wide_model_config(repeat, head)
    config.set_inference_dtype(torch.float32, None)
    sd = to_comfy.convert(load_file(str(weights)), toy_model.CONFIG, wide_reference(repeat, head), repeat, head)
    model = config.get_model(sd, "model.diffusion_model.")
    model.load_model_weights(sd, "model.diffusion_model.")
    return model


def narrow_toy_model(weights: Path = toy_model.WEIGHTS):
    """The toy in ComfyUI's own SVD classes at the toy's width (64 channels, 32-channel heads), as a
    ModelPatcher: the same layout and numbers as the widened checkpoint (tests/comfyui checks one
    forward against it), 25x fewer multiply-adds. ComfyUI's loaders detect SVD only at 320 channels, so
    this is built directly; the quality bench gets it from a test-only node (comfy_toy_node/)."""
    import comfy.model_management
    import comfy.model_patcher

    model = toy_comfy_model(weights, **NARROW)
    return comfy.model_patcher.ModelPatcher(model, load_device=comfy.model_management.get_torch_device(),
                                            offload_device=comfy.model_management.unet_offload_device())


def toy_checkpoint_state_dict(weights: Path = toy_model.WEIGHTS, seed: int = 0) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file
    from svd_checkpoint import CLIP_PREFIX, clip_vision_open_clip_shapes
    from comfy_models import random_like, svd_vae_state_dict

    sd = to_comfy.convert(load_file(str(weights)), toy_model.CONFIG, wide_reference())
    for name, tensor in svd_vae_state_dict(seed + 1, torch.float16).items():
        sd["first_stage_model." + name] = tensor
    g = torch.Generator().manual_seed(seed)
    for name, shape in clip_vision_open_clip_shapes().items():
        sd[CLIP_PREFIX + name] = (random_like(name, shape, g) * (0.5 if len(shape) >= 2 else 1.0)).to(torch.float16)
    return sd


def toy_checkpoint(weights: Path = toy_model.WEIGHTS) -> Path:
    """Path of the cached checkpoint for these toy weights (built on first use, ~1 minute)."""
    from safetensors.torch import save_file

    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    path = CACHE / f"svd_toy_{digest}.safetensors"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".partial")
        save_file(toy_checkpoint_state_dict(weights), str(tmp), metadata={"longer_video_toy": digest})
        os.replace(tmp, path)
    return path
