"""Writes a random-weight checkpoint that ComfyUI's own loader detects as SVD (img2vid).

Layout: `model.diffusion_model.*` (UNet with SVD's fixed detection keys and a small
channel_mult), `first_stage_model.*` (the temporal VAE, fixed size) and
`conditioner.embedders.0.open_clip.model.visual.*` (CLIP ViT-H in open_clip naming: only the
32-layer ViT-H matches SVD's context_dim 1024). About 1.9 GB in fp16; never committed.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from comfy_models import build_svd_model, random_like, svd_unet_config, svd_vae_state_dict

CLIP_PREFIX = "conditioner.embedders.0.open_clip.model.visual."
GENERATOR_VERSION = "2"  # 2: output transformers at the levels real SVD has them


def clip_vision_open_clip_shapes() -> dict[str, tuple]:
    """ViT-H/14 shapes in open_clip naming, derived from ComfyUI's own ViT-H config."""
    import json

    import comfy.clip_vision

    config_path = Path(comfy.clip_vision.__file__).with_name("clip_vision_config_h.json")
    cfg = json.loads(config_path.read_text())
    width, layers, mlp = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"]
    patch, image, proj = cfg["patch_size"], cfg["image_size"], cfg["projection_dim"]
    shapes = {
        "class_embedding": (width,),
        "conv1.weight": (width, 3, patch, patch),
        "positional_embedding": ((image // patch) ** 2 + 1, width),
        "ln_pre.weight": (width,), "ln_pre.bias": (width,),
        "ln_post.weight": (width,), "ln_post.bias": (width,),
        "proj": (width, proj),
    }
    for i in range(layers):
        p = f"transformer.resblocks.{i}."
        shapes.update({
            p + "ln_1.weight": (width,), p + "ln_1.bias": (width,),
            p + "ln_2.weight": (width,), p + "ln_2.bias": (width,),
            p + "attn.in_proj_weight": (3 * width, width), p + "attn.in_proj_bias": (3 * width,),
            p + "attn.out_proj.weight": (width, width), p + "attn.out_proj.bias": (width,),
            p + "mlp.c_fc.weight": (mlp, width), p + "mlp.c_fc.bias": (mlp,),
            p + "mlp.c_proj.weight": (width, mlp), p + "mlp.c_proj.bias": (width,),
        })
    return shapes


def build_svd_checkpoint_state_dict(seed: int = 0, dtype=torch.float16) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {}
    unet = build_svd_model(svd_unet_config(), device="meta").diffusion_model
    for name, tensor in unet.state_dict().items():
        sd["model.diffusion_model." + name] = random_like(name, tuple(tensor.shape), g).to(dtype)
    for name, tensor in svd_vae_state_dict(seed + 1, dtype).items():
        sd["first_stage_model." + name] = tensor
    for name, shape in clip_vision_open_clip_shapes().items():
        # small weights keep the 32-layer tower's activations finite in fp16
        sd[CLIP_PREFIX + name] = (random_like(name, shape, g) * (0.5 if len(shape) >= 2 else 1.0)).to(dtype)
    return sd


def write_svd_checkpoint(path: Path, seed: int = 0) -> Path:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    save_file(build_svd_checkpoint_state_dict(seed), str(tmp), metadata={"longer_video_test": GENERATOR_VERSION})
    os.replace(tmp, path)
    return path
