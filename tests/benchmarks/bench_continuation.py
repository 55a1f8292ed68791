"""Benchmark: one continued segment (the next clip of a video) per method

* last frame:      plain chaining: stock SVD conditioning from the previous clip's last frame;
* injection:       the last 4 frames held through sampling (noise mask), hold hints;
* history_cfg:     the history through the concat latent with its own guidance term (history_scale 1);
* reconstruction:  reconstruction guidance (guidance_weight 1): a backward pass through the model per step.

Every method samples one clip of --frames frames (25: SVD-XT's trained length) from a 25-frame
previous clip; plain chaining keeps frames - 1 new frames, the others frames - 4. Each runs in a
fresh process with the model loaded under torch.inference_mode() as ComfyUI loads it: total
sampling time (euler, CFG 2.5, --steps), peak memory, and how far the overlap frames of the new
clip are from the frames they continue (mean squared error in latent space; for plain chaining,
frame 0 against the last frame). Random weights; SVD-layout UNet with channel_mult [1,1,1,1]
(212M parameters) unless --full-size.

    COMFYUI_DIR=~/ComfyUI <comfyui venv>/bin/python tests/benchmarks/bench_continuation.py
"""
from __future__ import annotations

import argparse
import time

from bench_common import PeakMemory, run_isolated, setup_comfy

OVERLAP = 4
METHODS = ("last frame", "injection", "history_cfg", "reconstruction")


def measure_one(method: str, frames: int, latent_size: int, steps: int, full_size: bool) -> dict:
    setup_comfy()
    import comfy.model_management as mm
    import comfy.sample
    import torch
    from comfy_models import build_svd_model, model_patcher, svd_unet_config

    from longer_video.nodes.comfy_patches.continuation import continuation_conditioning
    from longer_video.nodes.comfy_patches.keyframe_interpolation import svd_conditioning
    from longer_video.nodes.techniques.continuation import ContinuationSettings
    from longer_video.nodes.techniques.svd import MicroConditioning

    config = svd_unet_config(channel_mult=(1, 2, 4, 4) if full_size else (1, 1, 1, 1))
    dtype = torch.float16 if torch.cuda.is_available() else torch.float32
    with torch.inference_mode():  # as ComfyUI runs prompts: the weights are inference tensors
        model = model_patcher(build_svd_model(config, dtype=dtype))
        model.load_device = mm.get_torch_device()
        g = torch.Generator().manual_seed(0)
        previous = torch.randn(25, 4, latent_size, latent_size, generator=g)
        embeds = torch.randn(1, config["context_dim"], generator=g)
        if method == "last frame":
            positive, negative = svd_conditioning(embeds.unsqueeze(0), previous[-1:], MicroConditioning())
            latent = {"samples": torch.zeros(frames, 4, latent_size, latent_size)}
            known, new = previous[-1:], frames - 1
        else:
            settings = ContinuationSettings(OVERLAP, frames - OVERLAP, method, history_scale=1.0, guidance_weight=1.0)
            positive, negative, latent = continuation_conditioning(embeds, previous[-OVERLAP:], settings)
            known, new = previous[-OVERLAP:], settings.new_frames
        noise = comfy.sample.prepare_noise(latent["samples"], 0)
        with PeakMemory() as mem:
            start = time.perf_counter()
            out = comfy.sample.sample(model, noise, steps, 2.5, "euler", "karras", positive, negative,
                                      latent["samples"], noise_mask=latent.get("noise_mask"), seed=0)
            seconds = time.perf_counter() - start
    error = float((out[:known.shape[0]].float() - known).pow(2).mean())
    return {"seconds": seconds, "peak_bytes": mem.peak_bytes, "device": mem.device, "overlap_mse": error,
            "frames": out.shape[0], "new": new}


def main():
    p = argparse.ArgumentParser(description="video continuation: one continued segment per method")
    p.add_argument("--frames", type=int, default=25, help="frames each method samples per segment")
    p.add_argument("--latent-size", type=int, default=8)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--full-size", action="store_true")
    p.add_argument("--one", metavar="METHOD", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        import json

        print(json.dumps(measure_one(args.one, args.frames, args.latent_size, args.steps, args.full_size)))
        return
    print(f"one continued segment: {args.frames} frames sampled from a 25-frame clip (overlap {OVERLAP}); SVD-layout "
          f"UNet ({'SVD-XT size' if args.full_size else 'channel_mult 1,1,1,1'}), latent {args.latent_size}x"
          f"{args.latent_size}, euler {args.steps} steps, CFG")
    header = (f"{'method':<15} {'new frames':>10} {'time s':>8} {'s / new frame':>13} {'peak MB':>9} "
              f"{'time x last':>11} {'mem x last':>10} {'overlap MSE':>11}")
    print(header)
    print("-" * len(header))
    extra = ["--frames", str(args.frames), "--latent-size", str(args.latent_size), "--steps", str(args.steps)]
    extra += ["--full-size"] if args.full_size else []
    results = {m: run_isolated(__file__, extra + ["--one", m]) for m in METHODS}
    base = results["last frame"]
    for method, r in results.items():
        assert r["frames"] == args.frames
        print(f"{method:<15} {r['new']:>10} {r['seconds']:>8.2f} {r['seconds'] / r['new']:>13.3f} "
              f"{r['peak_bytes'] / 2**20:>9.0f} {r['seconds'] / base['seconds']:>11.2f} "
              f"{r['peak_bytes'] / max(base['peak_bytes'], 1):>10.2f} {r['overlap_mse']:>11.2e}")
    recon, injection = results["reconstruction"], results["injection"]
    print(f"reconstruction's extra cost over injection: {recon['seconds'] / injection['seconds']:.2f}x time, "
          f"{recon['peak_bytes'] / max(injection['peak_bytes'], 1):.2f}x peak memory")
    print(f"device: {base['device']}")


if __name__ == "__main__":
    main()
