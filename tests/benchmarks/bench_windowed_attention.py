"""Benchmark: one sampling step of an SVD-layout UNet at T frames, for

* stock full temporal attention,
* `block` (FreeNoise windows inside the temporal layers, window 25 / stride 4),
* `banded` (one pass, attention limited to +-12 frames),
* ComfyUI's ContextWindowsManual (the whole UNet per window: length 25, overlap 21 = stride 4).

Each measurement runs in a fresh process (time of the second of two Euler steps with CFG, and
peak memory of both). Random weights; the UNet has SVD's detection layout and channel widths with
channel_mult [1,1,1,1] (212M parameters) unless --full-size (SVD-XT's [1,2,4,4], GPU advised).

    COMFYUI_DIR=~/ComfyUI <comfyui venv>/bin/python tests/benchmarks/bench_windowed_attention.py
"""
from __future__ import annotations

import argparse
import time

from bench_common import PeakMemory, run_isolated, setup_comfy

WINDOW, STRIDE = 25, 4
METHODS = ("stock", "block", "banded", "context-windows")


def patched_model(method: str, base):
    from longer_video.nodes.comfy_patches.windowed_attention import apply_windowed_attention
    from longer_video.nodes.techniques.windowed_attention import WindowSettings

    if method == "stock":
        return base
    if method in ("block", "banded"):
        return apply_windowed_attention(base, WindowSettings(WINDOW, STRIDE, "pyramid", method))
    from comfy_extras.nodes_context_windows import ContextWindowsManualNode

    names = {i.id for i in ContextWindowsManualNode.define_schema().inputs}
    kwargs = dict(context_length=WINDOW, context_overlap=WINDOW - STRIDE, context_schedule="standard_static",
                  context_stride=1, closed_loop=False, fuse_method="pyramid", dim=0, freenoise=False)
    return ContextWindowsManualNode.execute(base, **{k: v for k, v in kwargs.items() if k in names}).result[0]


def measure_one(frames: int, method: str, latent_size: int, full_size: bool) -> dict:
    setup_comfy()
    import comfy.model_management as mm
    import comfy.sample
    import comfy.samplers
    import torch
    from comfy_models import build_svd_model, model_patcher, svd_unet_config

    torch.set_grad_enabled(False)
    config = svd_unet_config(channel_mult=(1, 2, 4, 4) if full_size else (1, 1, 1, 1))
    dtype = torch.float16 if torch.cuda.is_available() else torch.float32
    device = mm.get_torch_device()
    base = model_patcher(build_svd_model(config, dtype=dtype))
    base.load_device = device
    model = patched_model(method, base)

    latent = torch.zeros(frames, 4, latent_size, latent_size)
    noise = torch.randn(frames, 4, latent_size, latent_size, generator=torch.Generator().manual_seed(0))
    cond = {"concat_latent_image": torch.randn(1, 4, latent_size, latent_size), "fps": 6, "motion_bucket_id": 127,
            "augmentation_level": 0.0}
    positive = [[torch.randn(1, 1, config["context_dim"]), cond]]
    negative = [[torch.zeros(1, 1, config["context_dim"]), dict(cond)]]
    sampler = comfy.samplers.sampler_object("euler")
    sigmas = torch.tensor([20.0, 10.0, 5.0])
    stamps = []
    with PeakMemory() as mem:
        comfy.sample.sample_custom(model, noise, 2.5, sampler, sigmas, positive, negative, latent, seed=0,
                                   callback=lambda *a: stamps.append(time.perf_counter()), disable_pbar=True)
    return {"step_seconds": stamps[1] - stamps[0], "peak_bytes": mem.peak_bytes, "device": mem.device}


def main():
    p = argparse.ArgumentParser(description="windowed temporal attention benchmark")
    p.add_argument("--frames", type=int, nargs="+", default=[25, 65, 129])
    p.add_argument("--latent-size", type=int, default=8)
    p.add_argument("--full-size", action="store_true")
    p.add_argument("--one", nargs=2, metavar=("FRAMES", "METHOD"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        import json

        print(json.dumps(measure_one(int(args.one[0]), args.one[1], args.latent_size, args.full_size)))
        return
    print(f"SVD-layout UNet ({'SVD-XT size' if args.full_size else 'channel_mult 1,1,1,1'}), latent "
          f"{args.latent_size}x{args.latent_size}, CFG (2T frames per call), window {WINDOW} / stride {STRIDE}")
    header = f"{'T':>4} {'method':<16} {'s/step':>8} {'peak MB':>9} {'time x stock':>13} {'mem x stock':>12} {'ctx-win / this':>15}"
    print(header)
    print("-" * len(header))
    for frames in args.frames:
        extra = ["--latent-size", str(args.latent_size)] + (["--full-size"] if args.full_size else [])
        results = {m: run_isolated(__file__, extra + ["--one", str(frames), m]) for m in METHODS}
        stock, ctx = results["stock"], results["context-windows"]
        for method, r in results.items():
            print(f"{frames:>4} {method:<16} {r['step_seconds']:>8.2f} {r['peak_bytes'] / 2**20:>9.0f} "
                  f"{r['step_seconds'] / stock['step_seconds']:>13.2f} {r['peak_bytes'] / max(stock['peak_bytes'], 1):>12.2f} "
                  f"{ctx['step_seconds'] / r['step_seconds']:>15.2f}")
        print()
    print(f"device: {stock['device']}")


if __name__ == "__main__":
    main()
