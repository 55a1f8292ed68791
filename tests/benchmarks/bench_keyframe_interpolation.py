"""Benchmark: stage 3 of keyframe interpolation (17 keyframes -> 65 frames, k=4), sampled

* segment:            16 gaps, each a 5-frame clip, one at a time (LongerVideoKeyframeSampler);
* segment x4:         the same gaps, 4 clips per batch;
* whole:              all 65 frames in one run (KSampler on the keyframe conditioning);
* whole + banded:     whole, with windowed temporal attention (banded, window 25);
* whole + block:      whole, with windowed temporal attention (block, window 25 / stride 4);
* ... bidir:          segment, segment x4 and whole with direction bidirectional (a forward and a
                      time-reversed pass per model call, fused: `techniques/bidirectional.py`).

Each runs in a fresh process: total sampling time (euler, CFG, --steps) and peak memory, with the
stock whole-video run as the reference. Random weights; SVD-layout UNet with channel_mult
[1,1,1,1] (212M parameters) unless --full-size. Keyframes are pinned in every method.

    COMFYUI_DIR=~/ComfyUI <comfyui venv>/bin/python tests/benchmarks/bench_keyframe_interpolation.py
"""
from __future__ import annotations

import argparse
import time

from bench_common import PeakMemory, run_isolated, setup_comfy

KEYFRAMES, FRAMES_BETWEEN = 17, 4
METHODS = ("whole", "segment", "segment x4", "whole + banded", "whole + block", "whole bidir", "segment bidir",
           "segment x4 bidir")


def measure_one(method: str, latent_size: int, steps: int, full_size: bool, keyframes_count: int = KEYFRAMES) -> dict:
    setup_comfy()
    import comfy.model_management as mm
    import torch
    from comfy_models import build_svd_model, model_patcher, svd_unet_config

    from longer_video.nodes.comfy_patches.keyframe_interpolation import keyframe_conditioning
    from longer_video.nodes.comfy_patches.keyframe_interpolation_sampling import SamplerSettings, sample_segments, sample_whole
    from longer_video.nodes.comfy_patches.windowed_attention import apply_windowed_attention
    from longer_video.nodes.techniques.bidirectional import Bidirectional
    from longer_video.nodes.techniques.keyframe_interpolation import KeyframeSettings
    from longer_video.nodes.techniques.windowed_attention import WindowSettings

    torch.set_grad_enabled(False)
    config = svd_unet_config(channel_mult=(1, 2, 4, 4) if full_size else (1, 1, 1, 1))
    dtype = torch.float16 if torch.cuda.is_available() else torch.float32
    model = model_patcher(build_svd_model(config, dtype=dtype))
    model.load_device = mm.get_torch_device()
    g = torch.Generator().manual_seed(0)
    keyframes = torch.randn(keyframes_count, 4, latent_size, latent_size, generator=g)
    embeds = torch.randn(keyframes_count, config["context_dim"], generator=g)
    positive, negative, latent = keyframe_conditioning(embeds, keyframes, KeyframeSettings(FRAMES_BETWEEN))
    sampler = SamplerSettings(0, steps, 2.5, "euler", "karras")

    backward = Bidirectional() if method.endswith(" bidir") else None
    method = method.removesuffix(" bidir")
    with PeakMemory() as mem:
        start = time.perf_counter()
        if method.startswith("segment"):
            per_batch = 4 if method.endswith("x4") else 1
            out = sample_segments(model, positive, negative, latent, sampler, per_batch, backward)
        else:
            if method != "whole":
                mode = method.split("+ ")[1]
                model = apply_windowed_attention(model, WindowSettings(25, 4, "pyramid", mode))
            out = sample_whole(model, positive, negative, latent, sampler, backward)
        seconds = time.perf_counter() - start
    pinned = float((out["samples"][::FRAMES_BETWEEN] - keyframes).abs().max())
    return {"seconds": seconds, "peak_bytes": mem.peak_bytes, "device": mem.device, "pin_error": pinned,
            "frames": out["samples"].shape[0]}


def main():
    p = argparse.ArgumentParser(description="keyframe interpolation stage benchmark (17 -> 65 frames)")
    p.add_argument("--latent-size", type=int, default=8)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--full-size", action="store_true")
    p.add_argument("--keyframes", type=int, default=KEYFRAMES, help="keyframes of the stage (17 -> 65 frames)")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS, help="the rows to measure")
    p.add_argument("--one", metavar="METHOD", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        import json

        print(json.dumps(measure_one(args.one, args.latent_size, args.steps, args.full_size, args.keyframes)))
        return
    frames = (args.keyframes - 1) * FRAMES_BETWEEN + 1
    print(f"stage: {args.keyframes} keyframes -> {frames} frames; SVD-layout UNet "
          f"({'SVD-XT size' if args.full_size else 'channel_mult 1,1,1,1'}), latent {args.latent_size}x{args.latent_size}, "
          f"euler {args.steps} steps, CFG")
    header = f"{'method':<18} {'time s':>8} {'peak MB':>9} {'time x whole':>13} {'mem x whole':>12} {'pin err':>9}"
    print(header)
    print("-" * len(header))
    extra = ["--latent-size", str(args.latent_size), "--steps", str(args.steps), "--keyframes", str(args.keyframes)] + (["--full-size"] if args.full_size else [])
    methods = ("whole",) + tuple(m for m in args.methods if m != "whole")
    whole = None
    for method in methods:  # one row at a time, as each finishes
        r = run_isolated(__file__, extra + ["--one", method])
        whole = whole or r
        assert r["frames"] == frames
        print(f"{method:<18} {r['seconds']:>8.2f} {r['peak_bytes'] / 2**20:>9.0f} {r['seconds'] / whole['seconds']:>13.2f} "
              f"{r['peak_bytes'] / max(whole['peak_bytes'], 1):>12.2f} {r['pin_error']:>9.1e}", flush=True)
    print(f"device: {whole['device']}")


if __name__ == "__main__":
    main()
