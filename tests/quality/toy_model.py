"""The toy: diffusers' own `UNetSpatioTemporalConditionModel` (SVD's architecture), small.

Width 64 at every level (GroupNorm has 32 groups: 2 channels per group; at 1 per group the time
embedding and micro-conditioning are erased by the next norm), 3.8 M parameters: 7.6 MB in fp16,
small enough to ship. (The first run used 128 below 16x16: 11.6 M parameters, 23 MB, and fewer
steps per second.) Spatio-temporal
transformers in the 4x4 encoder level, the 2x2 middle block and the 8x8 decoder level, so motion can
go through temporal attention with frame positions (what the position techniques change). The widths, head sizes and
levels are chosen so that the weights embed exactly into ComfyUI's SVD layout (model_channels 320,
attention in the upper three of four levels, 64-channel heads): see to_comfy.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

TOY_DIR = Path(__file__).resolve().parent / "toy_svd"
WEIGHTS = TOY_DIR / "diffusion_pytorch_model.safetensors"
TRAINED_FRAMES = 8
CONTEXT_DIM = 64  # cross-attention context width (SVD: a single 1024-d CLIP token); the toy is trained with zeros

CONFIG = dict(
    sample_size=16,
    in_channels=8,
    out_channels=4,
    down_block_types=("DownBlockSpatioTemporal", "DownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal",
                      "DownBlockSpatioTemporal"),
    up_block_types=("UpBlockSpatioTemporal", "UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal",
                    "UpBlockSpatioTemporal"),
    block_out_channels=(64, 64, 64, 64),
    addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=768,
    layers_per_block=1,
    cross_attention_dim=CONTEXT_DIM,
    transformer_layers_per_block=1,
    num_attention_heads=(2, 2, 2, 2),
    num_frames=TRAINED_FRAMES,
)


def build_toy_unet(seed: int = 0):
    from diffusers import UNetSpatioTemporalConditionModel

    torch.manual_seed(seed)
    return UNetSpatioTemporalConditionModel(**CONFIG)


def load_toy_unet(path: Path = WEIGHTS, dtype=torch.float32):
    """The shipped toy (fp16 on disk) as an fp32 module in eval mode."""
    from safetensors.torch import load_file

    if not Path(path).exists():
        raise FileNotFoundError(f"no toy weights at {path}: train them with tests/quality/train_toy.py "
                                f"(--out DIR, then pass DIR/final.safetensors) and check them with tests/quality/gate.py")
    unet = build_toy_unet()
    unet.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    return unet.to(dtype).eval()


def save_toy_unet(unet, path: Path = WEIGHTS, metadata: dict | None = None) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in unet.state_dict().items()}
    save_file(state, str(path), metadata={k: json.dumps(v) if not isinstance(v, str) else v
                                          for k, v in (metadata or {}).items()})
