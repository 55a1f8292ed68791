"""Benchmark: a subset of the quality table through a real ComfyUI server (tests/quality toy SVD).

The toy is widened exactly into ComfyUI's SVD layout (tests/quality/to_comfy.py) and loaded by
ComfyUI's own ImageOnlyCheckpointLoader. Per clip: LoadLatent (the init latent twice) -> the pack's
Keyframe Conditioning (hint first, no pins, frames_between T-1: stock SVD conditioning with a
latent init; CLIP from an EmptyImage through the random CLIP tower, which the toy ignores) ->
model patches -> KSampler (euler, karras, cfg 1, seed = the clip's seed) -> SaveLatent, scored
like bench_quality.py. ComfyUI's KSampler draws the same initial noise from the seed as the
diffusers run, so the rows both paths have are compared clip by clip with
`out/quality/results.json` (run bench_quality.py first). Clips with motion_bucket_id 0 are
skipped: ComfyUI's widgets start at 1.

    COMFYUI_DIR=~/ComfyUI <comfyui venv>/bin/python tests/benchmarks/bench_quality_comfy.py [--clips 4] [--frames 32]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from bench_common import HERE, setup_comfy

sys.path.insert(0, str(HERE.parent / "quality"))
import metrics
import toy_model
import toy_motion

WINDOW, STRIDE, STEPS = toy_model.TRAINED_FRAMES, 4, 25
ROWS = {
    "naive": "naive extension",
    "linear": "positions: linear",
    "block+freenoise": "windows: block + FreeNoise",
    "context-windows": "ComfyUI Context Windows (Manual), length 8, overlap 4, pyramid",
    "context-windows+freenoise": "ComfyUI Context Windows (Manual) with its FreeNoise",
}
COLUMNS = ("trajectory_error", "detection_rate", "identity_drift", "flicker")


def model_chain(prompt: dict, row: str) -> list:
    model = ["1", 0]
    if row == "linear":
        prompt["10"] = {"class_type": "LongerVideoTemporalPositions",
                        "inputs": {"model": model, "mode": "linear", "trained_frames": toy_model.TRAINED_FRAMES,
                                   "yarn_alpha": 1.0, "yarn_beta": 4.0}}
        model = ["10", 0]
    if row.startswith("block"):
        prompt["11"] = {"class_type": "LongerVideoWindowedAttention",
                        "inputs": {"model": model, "window_frames": WINDOW, "stride_frames": STRIDE,
                                   "fusion": "pyramid", "mode": "block"}}
        prompt["12"] = {"class_type": "LongerVideoFreeNoise",
                        "inputs": {"model": ["11", 0], "window_frames": WINDOW, "stride_frames": STRIDE,
                                   "mode": "shuffle"}}
        model = ["12", 0]
    if row.startswith("context-windows"):
        prompt["13"] = {"class_type": "ContextWindowsManual",
                        "inputs": {"model": model, "context_length": WINDOW, "context_overlap": WINDOW - STRIDE,
                                   "context_schedule": "standard_static", "context_stride": 1, "closed_loop": False,
                                   "fuse_method": "pyramid", "dim": 0, "freenoise": row.endswith("freenoise")}}
        model = ["13", 0]
    return model


def clip_prompt(ckpt: str, latent_file: str, spec, seed: int, frames: int, row: str, prefix: str,
                steps: int = STEPS) -> dict:
    size = toy_motion.SIZE * 8
    prompt = {
        "1": {"class_type": "ImageOnlyCheckpointLoader", "inputs": {"ckpt_name": ckpt}},
        "2": {"class_type": "LoadLatent", "inputs": {"latent": latent_file}},
        "3": {"class_type": "EmptyImage", "inputs": {"width": 224, "height": 224, "batch_size": 1, "color": 0}},
        "4": {"class_type": "LongerVideoKeyframeConditioning",
              "inputs": {"clip_vision": ["1", 1], "vae": ["1", 2], "keyframe_latents": ["2", 0], "clip_images": ["3", 0],
                         "frames_between": frames - 1, "width": size, "height": size,
                         "motion_bucket_id": spec.motion_bucket_id, "fps": spec.fps, "augmentation_level": 0.0,
                         "hint": "first", "pin_keyframes": False, "pin_release": 1.0}},
    }
    prompt["6"] = {"class_type": "KSampler",
                   "inputs": {"model": model_chain(prompt, row), "seed": seed, "steps": steps, "cfg": 1.0,
                              "sampler_name": "euler", "scheduler": "karras", "positive": ["4", 0],
                              "negative": ["4", 1], "latent_image": ["4", 2], "denoise": 1.0}}
    prompt["7"] = {"class_type": "SaveLatent", "inputs": {"samples": ["6", 0], "filename_prefix": prefix}}
    return prompt


def write_init_latent(path: Path, spec) -> None:
    """LoadLatent's format: unscaled latents (the init twice: first and last keyframe)."""
    from safetensors.torch import save_file

    init = toy_motion.concat_latent(toy_motion.render(spec, 1))
    save_file({"latent_tensor": torch.stack([init, init]).contiguous(),
               "latent_format_version_0": torch.tensor([])}, str(path))


def paired(comfy: list[float], diffusers: list[float]) -> str:
    diff = [a - b for a, b in zip(comfy, diffusers)]
    mean, se = metrics.mean_and_standard_error(diff)
    return f"{mean:+.3f} ± {se:.3f}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=4)
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--steps", type=int, default=STEPS, help="Euler steps; compare with a diffusers run at the same steps")
    p.add_argument("--weights", type=Path, default=toy_model.WEIGHTS)
    p.add_argument("--out", type=Path, default=HERE.parents[1] / "out" / "quality")
    args = p.parse_args(argv)

    setup_comfy()
    import comfy_checkpoint
    from comfy_server import ComfyServer
    from find_comfyui import find_comfyui
    from safetensors.torch import load_file

    from server_prompts import ROOT

    specs = toy_motion.eval_specs(64)
    chosen = [i for i, s in enumerate(specs) if s.motion_bucket_id > 0][:args.clips]
    reference = {}
    results_path = args.out / "results.json"
    if results_path.exists():
        reference = {(r["row"], r["frames"]): r for r in json.loads(results_path.read_text())}
    ckpt = comfy_checkpoint.toy_checkpoint(args.weights)
    rows_out = []
    with tempfile.TemporaryDirectory(prefix="lv_quality_") as tmp:
        server = ComfyServer(find_comfyui(), Path(tmp), ROOT, {ckpt.name: ckpt}).start()
        try:
            for row in args.rows:
                scores, seconds = [], []
                for i in chosen:
                    latent_name = f"toy_init_{i}.latent"
                    write_init_latent(server.base / "input" / latent_name, specs[i])
                    prompt = clip_prompt(ckpt.name, latent_name, specs[i], i, args.frames, row, f"lv_quality/{row}_{i}",
                                         args.steps)
                    start = time.perf_counter()
                    entry = server.run(prompt, timeout=3600)
                    seconds.append(time.perf_counter() - start)
                    item = entry["outputs"]["7"]["latents"][0]
                    saved = load_file(str(server.base / "output" / item["subfolder"] / item["filename"]))
                    video = saved["latent_tensor"].float() * toy_motion.SCALING_FACTOR
                    scores.append(metrics.score_clip(video, specs[i]))
                    print(f"{row} clip {i}: error {scores[-1].trajectory_error:.2f} px, {seconds[-1]:.0f} s", flush=True)
                result = {"row": row, "frames": args.frames, "clips": chosen, "seconds_per_clip": sum(seconds) / len(seconds),
                          "per_clip": {c: [getattr(s, c) for s in scores] for c in COLUMNS}}
                rows_out.append(result)
                (args.out / "comfy_results.json").write_text(json.dumps(rows_out, indent=1))
        finally:
            server.stop()
    print(f"\nComfyUI server, toy SVD, T={args.frames}, clips {chosen}, {args.steps} euler steps, mean ± standard error; "
          "diffusers columns: the same clips from results.json (paired difference ComfyUI - diffusers):\n")
    print("| technique | trajectory error (px) ComfyUI | diffusers | paired diff | flicker ComfyUI | diffusers | "
          "paired diff | s/clip ComfyUI |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows_out:
        ref = reference.get((r["row"], r["frames"]))
        if ref and (ref.get("steps") != args.steps or max(r["clips"]) >= ref["clips"]):
            ref = None  # not the same sampling run: no clip-by-clip comparison
        cells = []
        for column in ("trajectory_error", "flicker"):
            mean, se = metrics.mean_and_standard_error(r["per_clip"][column])
            cells.append(f"{mean:.3f} ± {se:.3f}")
            if ref:
                theirs = [ref["per_clip"][column][i] for i in r["clips"]]
                m2, s2 = metrics.mean_and_standard_error(theirs)
                cells += [f"{m2:.3f} ± {s2:.3f}", paired(r["per_clip"][column], theirs)]
            else:
                cells += ["—", "—"]
        print(f"| {ROWS[r['row']]} | " + " | ".join(cells) + f" | {r['seconds_per_clip']:.0f} |")


if __name__ == "__main__":
    main()
