"""A latent cache of toy clips (tests/quality/toy_motion.py) for training an interpolation LoRA on the toy.

The toy has no VAE or CLIP tower: its clips already are scaled latents, so the cache holds them
unscaled (/ 0.18215, as `cache_training_latents` stores VAE latents), keyframes every k frames as the
hint latents, a zero CLIP embedding (the toy was trained with a zero context) and each clip's own
[fps - 1, motion_bucket_id, 0]. Then train with scripts/train_interpolation_lora.py --unet tests/quality/toy_svd:

    .venv/bin/python tests/benchmarks/toy_lora_latents.py --out out/toy_lora_latents --clips 512 --keyframes 8 \
        --frames-between 5
    .venv/bin/python scripts/train_interpolation_lora.py --unet tests/quality/toy_svd --latents out/toy_lora_latents \
        --out out/toy_lora/toy_interpolation_lora.safetensors --precision fp32 --rank 8 --lr 1e-3 --batch-size 2 \
        --steps 600 --p-mean -0.4 --p-std 1.4 --windows none --checkpointing none --save-every 100

That is the shipped tests/quality/toy_interpolation_lora.safetensors: 36-frame clips (8 keyframes, 5
apart: the T = 32 keyframe stage of bench_quality), full temporal attention (the toy's whole-mode
rows run without windows), 600 steps of 2 clips, 21 min on one shared CPU core (2.1 s/step).
tests/quality/toy_interpolation_lora_64.safetensors is the same recipe at the T = 64 keyframe stage
(`--keyframes 8 --frames-between 9`: 64-frame clips, keyframes 9 apart; 2 threads on 2 cores).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1] / "scripts"), str(HERE.parent / "quality")]


def main(argv=None):
    from pack_import import import_pack

    import_pack()
    import toy_model
    import toy_motion

    from longer_video.nodes.diffusers_patches.lora_cache import write_cached_clip

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="the latent cache folder to fill")
    p.add_argument("--clips", type=int, default=512, help="how many random training clips (default 512)")
    p.add_argument("--keyframes", type=int, default=9, help="K keyframes per clip (default 9: 33 frames with k=4)")
    p.add_argument("--frames-between", type=int, default=4, help="k, frames between keyframes (default 4)")
    p.add_argument("--seed", type=int, default=0, help="seed of the clips (default 0)")
    args = p.parse_args(argv)
    frames = (args.keyframes - 1) * args.frames_between + 1
    g = torch.Generator().manual_seed(args.seed)
    for i in range(args.clips):
        spec = toy_motion.random_training_spec(g)
        latents = toy_motion.render(spec, frames) / toy_motion.SCALING_FACTOR
        write_cached_clip(args.out / f"toy-{i:05d}.safetensors", latents, latents[::args.frames_between],
                          torch.zeros(1, toy_model.CONTEXT_DIM), toy_motion.added_time_ids(spec), args.frames_between,
                          {"source": "toy_motion", "fps": spec.fps})
    print(f"{args.clips} toy clips of {frames} frames in {args.out}")


if __name__ == "__main__":
    main()
