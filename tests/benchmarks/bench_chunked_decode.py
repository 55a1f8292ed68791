"""Benchmark: stock `vae.decode` of all frames vs the chunked decoder, on SVD's VAE.

Prints a table per frame count: time, peak memory (CUDA: max allocated; CPU: peak RSS above the
loaded model, each measurement in a fresh process with a fixed mmap threshold so freed tensors
leave RSS), ratios to the stock decode measured in the
same run, and the error against the full decode (mean over all frames, and the worst seam).
Random weights (no SVD weights here); the VAE's size and layers are the real ones.

Run with a ComfyUI on the path, e.g.:
    COMFYUI_DIR=~/ComfyUI <comfyui venv>/bin/python tests/benchmarks/bench_chunked_decode.py
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from bench_common import PeakMemory, run_isolated, setup_comfy

METHODS = {
    "stock": None,                       # comfy.sd.VAE.decode: all frames in one call here
    "hard-cut 8/0/0": (8, 0, 0),          # chunks without overlap, like ComfyUI's own memory split
    "chunked 16/4/4": (16, 4, 4),         # 8 new frames per call + 4 frames of context on each side
    "chunked 8/2/2": (8, 2, 2),
}


def measure_one(frames: int, method: str, size: int, out_path: str) -> dict:
    setup_comfy()
    import numpy as np
    import torch
    from comfy_models import build_svd_vae

    from longer_video.nodes.comfy_patches.chunked_decode import decode_chunked
    from longer_video.nodes.techniques.chunked_decode import ChunkSettings

    torch.set_grad_enabled(False)
    vae = build_svd_vae(seed=0)
    latent = torch.randn(frames, 4, size, size, generator=torch.Generator().manual_seed(1))
    settings = METHODS[method]

    def run():
        return vae.decode(latent) if settings is None else decode_chunked(vae, latent, ChunkSettings(*settings))

    start = time.perf_counter()
    with PeakMemory() as mem:
        images = run()
    seconds = time.perf_counter() - start
    np.save(out_path, images.float().cpu().numpy())
    return {"seconds": seconds, "peak_bytes": mem.peak_bytes, "device": mem.device}


def seam_frames(frames: int, method: str) -> list[int]:
    from longer_video.nodes.techniques.chunked_decode import ChunkSettings, plan_chunks

    settings = METHODS[method]
    if settings is None:
        return []
    return [chunk.keep_start for chunk in plan_chunks(frames, ChunkSettings(*settings))[1:]]


def seam_jump(video, seams) -> float:
    """Mean frame-to-frame change across the seams."""
    import numpy as np

    return float(np.mean([np.abs(video[b] - video[b - 1]).mean() for b in seams]))


def main():
    p = argparse.ArgumentParser(description="chunked decode benchmark")
    p.add_argument("--frames", type=int, nargs="+", default=[14, 25, 65, 129])
    p.add_argument("--latent-size", type=int, default=8, help="latent height = width (pixels = 8x)")
    p.add_argument("--one", nargs=3, metavar=("FRAMES", "METHOD", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(measure_one(int(args.one[0]), args.one[1], args.latent_size, args.one[2])))
        return
    setup_comfy()
    import numpy as np

    print(f"SVD VAE (random weights), latent {args.latent_size}x{args.latent_size} -> "
          f"{8 * args.latent_size}x{8 * args.latent_size} px; chunk/overlap/crossfade in latent frames")
    header = (f"{'T':>4} {'method':<16} {'time s':>8} {'peak MB':>9} {'time x':>7} {'mem x':>6} "
              f"{'mean err':>9} {'worst seam err':>15} {'seam jump x':>12}")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for frames in args.frames:
            results, images = {}, {}
            for method in METHODS:
                out = os.path.join(tmp, f"{frames}_{len(results)}.npy")
                results[method] = run_isolated(__file__, ["--latent-size", str(args.latent_size), "--one", str(frames), method, out])
                images[method] = np.load(out, allow_pickle=False)
            full, stock = images["stock"], results["stock"]
            for method, r in results.items():
                seams = seam_frames(frames, method)
                err = np.abs(images[method] - full)
                seam_err = max((err[b - 1:b + 1].mean() for b in seams), default=0.0)
                jump_ratio = (seam_jump(images[method], seams) / seam_jump(full, seams)) if seams else 1.0
                print(f"{frames:>4} {method:<16} {r['seconds']:>8.2f} {r['peak_bytes'] / 2**20:>9.0f} "
                      f"{r['seconds'] / stock['seconds']:>7.2f} {r['peak_bytes'] / max(stock['peak_bytes'], 1):>6.2f} "
                      f"{err.mean():>9.4f} {seam_err:>15.4f} {jump_ratio:>12.2f}")
            print()
    print(f"device: {results['stock']['device']}; 'seam jump x' = mean frame-to-frame change across seams / the full "
          "decode's at the same frames (1.00 = no visible seam)")


if __name__ == "__main__":
    main()
