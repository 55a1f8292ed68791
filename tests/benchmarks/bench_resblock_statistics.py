"""How far SVD's temporal resblocks see past a window: all-frame vs per-window GroupNorm statistics.

Windowed temporal attention (`block`) bounds what the temporal transformers mix, but every
VideoResBlock's temporal step normalises with GroupNorm over (channels, all T frames, h, w). This
measures, inside one model call at T frames, how much each temporal GroupNorm's output would change
if its statistics came from the 25-frame windows (fused with the same pyramid weights) instead of
the whole video: relative L2 difference of the normalised activations, per layer.

Two inputs: stationary noise (every frame alike) and a drifting video (a per-channel offset and
scale that change linearly over the frames, as a long shot's lighting and content do).
Run with the ComfyUI tier's virtualenv: COMFYUI_DIR=~/ComfyUI <venv>/bin/python tests/benchmarks/bench_resblock_statistics.py
"""
from __future__ import annotations

import argparse

from bench_common import setup_comfy


def windowed_group_norm(x, norm, windows, fusion):
    """GroupNorm of (B, C, T, H, W) with statistics per window, fused per frame like block mode fuses."""
    import torch

    from longer_video.nodes.techniques.windowed_attention import fuse_windows

    def run_window(frames, start, end):
        return torch.nn.functional.group_norm(frames, norm.num_groups, norm.weight, norm.bias, norm.eps)

    return fuse_windows(x, run_window, windows, fusion, dim=2)


def measure(frames: int, drift: float, size: int, window: int, stride: int) -> list[float]:
    import torch
    from comfy_models import build_svd_model, svd_inputs, tiny_unet_config

    from longer_video.nodes.techniques.windowed_attention import plan_windows

    config = tiny_unet_config()
    model = build_svd_model(config)
    windows = plan_windows(frames, window, stride)
    differences = []

    def hook(norm):
        def pre(module, args):
            x = args[0]
            full = torch.nn.functional.group_norm(x, norm.num_groups, norm.weight, norm.bias, norm.eps)
            local = windowed_group_norm(x, norm, windows, "pyramid")
            differences.append(float((full - local).norm() / full.norm()))
        return pre

    handles = []
    for name, module in model.diffusion_model.named_modules():
        if name.endswith("time_stack") and hasattr(module, "in_layers"):
            for norm in (module.in_layers[0], module.out_layers[0]):
                handles.append(norm.register_forward_pre_hook(hook(norm)))
    inputs = svd_inputs(config, frames, batch=1, size=size)
    t = torch.linspace(0, 1, frames).view(frames, 1, 1, 1)
    inputs["x"] = inputs["x"] * (1 + drift * t) + drift * 2 * t * torch.tensor([1.0, -0.5, 0.25, 0.0]).view(1, 4, 1, 1)
    with torch.no_grad():
        model.apply_model(**inputs)
    for handle in handles:
        handle.remove()
    return differences


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, nargs="+", default=[65, 129])
    p.add_argument("--size", type=int, default=8, help="latent height = width")
    args = p.parse_args()
    setup_comfy()
    print("temporal GroupNorm, all-frame vs 25-frame windows (stride 4, pyramid): relative L2 difference of "
          "the normalised activations over the tiny SVD UNet's temporal resblock norms (random weights)")
    print(f"{'T':>4} {'input':<12} {'mean':>8} {'max':>8} {'layers':>7}")
    for frames in args.frames:
        for label, drift in (("stationary", 0.0), ("drifting", 1.0)):
            diffs = measure(frames, drift, args.size, 25, 4)
            print(f"{frames:>4} {label:<12} {sum(diffs) / len(diffs):>8.4f} {max(diffs):>8.4f} {len(diffs):>7}")


if __name__ == "__main__":
    main()
