"""Benchmark: a subset of the quality table through a real ComfyUI server (tests/quality toy SVD).

The toy is converted exactly into ComfyUI's SVD layout (tests/quality/to_comfy.py). `--model narrow`
(default): the sampling MODEL is ComfyUI's own SVD classes at the toy's width, from a test-only node
(tests/quality/comfy_toy_node), because ComfyUI's loaders detect SVD only at 320 channels and the toy
widened to that costs ~15 s per model call on one CPU core (hours per row); the ComfyUI tier checks
that both give the same output. `--model checkpoint`: the widened checkpoint as ComfyUI's own
ImageOnlyCheckpointLoader loads it (what a GPU run should use). CLIP vision and VAE come from that
checkpoint either way. Per clip: LoadLatent (the init latent twice) -> the pack's
Keyframe Conditioning (hint first, no pins, frames_between T-1: stock SVD conditioning with a
latent init; CLIP from an EmptyImage through the random CLIP tower, which the toy ignores) ->
model patches -> KSampler (euler, karras, cfg 1, seed = the clip's seed) -> SaveLatent, scored
like bench_quality.py. ComfyUI's KSampler draws the same initial noise from the seed as the
diffusers run, so the rows both paths have are compared clip by clip with
`out/quality/results.json` (run bench_quality.py first): the agreement check. Every row is also
given as a paired difference against the naive row run here, on the same clips. Clips with
motion_bucket_id 0 are skipped: ComfyUI's widgets start at 1 (so the clips are the first
--clips of the 16 table clips that the server can take).

    COMFYUI_DIR=~/ComfyUI <comfyui venv>/bin/python tests/benchmarks/bench_quality_comfy.py [--clips 8] [--frames 32] [--model narrow]
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
COLUMNS = ("trajectory_error", "velocity_error", "motion_alive", "detection_rate", "identity_drift", "flicker")
COMPARED = ("trajectory_error", "velocity_error", "motion_alive")


def model_chain(prompt: dict, row: str, narrow_weights: Path | None = None) -> list:
    model = ["1", 0]
    if narrow_weights is not None:
        prompt["20"] = {"class_type": "LongerVideoTestNarrowToy", "inputs": {"weights": str(narrow_weights)}}
        model = ["20", 0]
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
                steps: int = STEPS, narrow_weights: Path | None = None) -> dict:
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
                   "inputs": {"model": model_chain(prompt, row, narrow_weights), "seed": seed, "steps": steps, "cfg": 1.0,
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


def merge_per_clip(path: Path, result: dict, model: str) -> None:
    """The committed per-clip file: one entry per row and length, the clips named by their index."""
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault(result["row"], {})[str(result["frames"])] = {
        "model": model, "clips": result["clips"], "seconds_per_clip": round(result["seconds_per_clip"], 1),
        **{c: [round(v, 5) if v == v else None for v in values] for c, values in result["per_clip"].items()}}
    path.write_text(json.dumps(data, indent=1) + "\n")


def paired(values: list[float], baseline: list[float]) -> str:
    mean, se = metrics.paired_difference(values, baseline)
    return f"{mean:+.3f} ± {se:.3f}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--steps", type=int, default=STEPS, help="Euler steps; compare with a diffusers run at the same steps")
    p.add_argument("--weights", type=Path, default=toy_model.WEIGHTS)
    p.add_argument("--model", choices=("narrow", "checkpoint"), default="narrow",
                   help="narrow: ComfyUI's SVD classes at the toy's width (minutes on CPU); checkpoint: the widened "
                        "checkpoint through ImageOnlyCheckpointLoader (~15 s per model call on one CPU core)")
    p.add_argument("--out", type=Path, default=HERE.parents[1] / "out" / "quality")
    p.add_argument("--per-clip", type=Path, default=None,
                   help="also merge the per-clip scores into this JSON file: {row: {T: {clips, metric: [per clip]}}} "
                        "(the shipped one: tests/quality/results_comfyui.json)")
    args = p.parse_args(argv)

    setup_comfy()
    import comfy_checkpoint
    from comfy_server import ComfyServer
    from find_comfyui import find_comfyui
    from safetensors.torch import load_file

    from server_prompts import ROOT

    specs = toy_motion.eval_specs(64)
    chosen = [i for i, s in enumerate(specs) if s.motion_bucket_id > 0][:args.clips]
    if "naive" in args.rows:  # the paired baseline first
        args.rows = ["naive"] + [r for r in args.rows if r != "naive"]
    reference = {}
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.json"
    if results_path.exists():
        reference = {(r["row"], r["frames"]): r for r in json.loads(results_path.read_text())}
    ckpt = comfy_checkpoint.toy_checkpoint(args.weights)
    rows_out = []
    with tempfile.TemporaryDirectory(prefix="lv_quality_") as tmp:
        extra = {"longer-video-test-toy": HERE.parent / "quality" / "comfy_toy_node"} if args.model == "narrow" else {}
        server = ComfyServer(find_comfyui(), Path(tmp), ROOT, {ckpt.name: ckpt}, extra).start()
        try:
            for row in args.rows:
                scores, seconds = [], []
                for i in chosen:
                    latent_name = f"toy_init_{i}.latent"
                    write_init_latent(server.base / "input" / latent_name, specs[i])
                    prompt = clip_prompt(ckpt.name, latent_name, specs[i], i, args.frames, row, f"lv_quality/{row}_{i}",
                                         args.steps, args.weights.resolve() if args.model == "narrow" else None)
                    start = time.perf_counter()
                    entry = server.run(prompt, timeout=3600)
                    seconds.append(time.perf_counter() - start)
                    item = entry["outputs"]["7"]["latents"][0]
                    saved = load_file(str(server.base / "output" / item["subfolder"] / item["filename"]))
                    video = saved["latent_tensor"].float() * toy_motion.SCALING_FACTOR
                    scores.append(metrics.score_clip(video, specs[i]))
                    print(f"{row} clip {i}: error {scores[-1].trajectory_error:.2f} px, {seconds[-1]:.0f} s", flush=True)
                result = {"row": row, "frames": args.frames, "model": args.model, "clips": chosen, "seconds_per_clip": sum(seconds) / len(seconds),
                          "per_clip": {c: [getattr(s, c) for s in scores] for c in COLUMNS}}
                rows_out.append(result)
                (args.out / "comfy_results.json").write_text(json.dumps(rows_out, indent=1))
                if args.per_clip:
                    merge_per_clip(args.per_clip, result, args.model)
        finally:
            server.stop()
    print(f"\nComfyUI server, toy SVD ({args.model}), T={args.frames}, clips {chosen}, {args.steps} euler steps, mean ± standard error; "
          "Δ naive: paired difference against the naive row through the server on the same clips; diffusers: the "
          "same row and clips from results.json and the paired difference ComfyUI - diffusers (the agreement check):\n")
    print("| technique | metric | ComfyUI | Δ naive (ComfyUI) | diffusers | ComfyUI - diffusers | s/clip ComfyUI |")
    print("|---|---|---:|---:|---:|---:|---:|")
    naive = next((r for r in rows_out if r["row"] == "naive"), None)
    for r in rows_out:
        ref = reference.get((r["row"], r["frames"]))
        if ref and (ref.get("steps") != args.steps or max(r["clips"]) >= ref["clips"]):
            ref = None  # not the same sampling run: no clip-by-clip comparison
        for column in COMPARED:
            mine = r["per_clip"][column]
            mean, se = metrics.mean_and_standard_error(mine)
            cells = [f"{mean:.3f} ± {se:.3f}", paired(mine, naive["per_clip"][column]) if naive and r is not naive else "—"]
            if ref:
                theirs = [ref["per_clip"][column][i] for i in r["clips"]]
                m2, s2 = metrics.mean_and_standard_error(theirs)
                cells += [f"{m2:.3f} ± {s2:.3f}", paired(mine, theirs)]
            else:
                cells += ["—", "—"]
            print(f"| {ROWS[r['row']]} | {column} | " + " | ".join(cells) + f" | {r['seconds_per_clip']:.0f} |")


if __name__ == "__main__":
    main()
