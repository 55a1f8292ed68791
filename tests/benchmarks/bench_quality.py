"""Benchmark: measured quality of every long-video technique on the trained toy SVD (tests/quality).

The toy (diffusers' UNetSpatioTemporalConditionModel, trained at 8 frames on one disk moving with
known velocity) is sampled through the stock diffusers pipeline loop at T = 8, 32 and 64 frames for
the same SEEDS clips per cell, and every clip is scored against its ground truth (tests/quality/
metrics.py): trajectory error (px), disk found (%), identity drift, background flicker. Seconds and
peak memory are those of one cell (all its clips, batched; the keyframe rows run clip by clip), each
cell in a fresh process. Rows:
  naive extension; linear / ntk / yarn positions; block and banded windows, each + FreeNoise
  (window 8 = trained length, stride 4); the keyframe hierarchy (8 keyframes at k x speed, then
  pinned interpolation); continuation (8-frame clips, 4 pinned overlap frames); and two references
  that are not techniques: the same interpolation from the true keyframes, and copying the first
  frame. At T = 8 only naive runs: there every technique is the stock model.
ComfyUI's Context Windows (Manual) needs ComfyUI: see bench_quality_comfy.py.

    /work/main/.venv/bin/python tests/benchmarks/bench_quality.py [--seeds 16] [--lengths 8 32 64] [--out out/quality]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from bench_common import HERE, PeakMemory, run_isolated

sys.path.insert(0, str(HERE.parent / "quality"))
import metrics
import toy_model
import toy_motion
import toy_pipeline
from pack_api import lv

LENGTHS = (8, 32, 64)
SEEDS = 16
WINDOW, STRIDE = toy_model.TRAINED_FRAMES, 4
ROWS = {
    "naive": "naive extension (stock, all frames at once)",
    "linear": "positions: linear",
    "ntk": "positions: ntk",
    "yarn": "positions: yarn",
    "block": "windows: block",
    "block+freenoise": "windows: block + FreeNoise",
    "banded": "windows: banded",
    "banded+freenoise": "windows: banded + FreeNoise",
    "keyframes": "keyframe hierarchy (8 keyframes at k x speed, then interpolation)",
    "continuation": "continuation (8-frame clips, 4 pinned overlap frames)",
    "keyframes-oracle": "reference: interpolation from the true keyframes",
    "copy-first": "reference: copy the first frame",
}
COLUMNS = ("trajectory_error", "detection_rate", "identity_drift", "flicker")


def apply_technique(pipe, row: str) -> None:
    if row in ("linear", "ntk", "yarn"):
        lv.apply_temporal_positions(pipe, lv.PositionSettings(mode=row, trained_frames=toy_model.TRAINED_FRAMES))
    elif row.startswith(("block", "banded")):
        lv.apply_windowed_attention(pipe, lv.WindowSettings(WINDOW, STRIDE, "pyramid", row.split("+")[0]))


def initial_noise(pipe, row: str, seeds, frames: int) -> torch.Tensor:
    if row.endswith("+freenoise"):
        size = toy_motion.SIZE * toy_pipeline.PIXELS_PER_LATENT
        settings = lv.FreeNoiseSettings(WINDOW, STRIDE, "shuffle")
        return torch.cat([lv.freenoise_latents(pipe, frames, size, size, settings, seed=s) for s in seeds])
    return toy_pipeline.initial_noise(seeds, frames)


def generate(row: str, frames: int, specs, seeds, weights: Path, steps: int) -> torch.Tensor:
    if row == "copy-first":
        return torch.stack([toy_motion.render(s, 1).expand(frames, -1, -1, -1) for s in specs])
    pipe = toy_pipeline.build_pipeline(toy_model.load_toy_unet(weights))
    if row.startswith("keyframes"):
        import keyframe_rows

        if frames <= toy_model.TRAINED_FRAMES:
            raise ValueError("the keyframe rows need more frames than the trained length")
        return torch.stack([keyframe_rows.keyframe_hierarchy(pipe, spec, seed, frames, row.endswith("oracle"), steps)
                            for spec, seed in zip(specs, seeds)])
    if row == "continuation":
        import continuation_rows

        return torch.stack([continuation_rows.continued_video(pipe, spec, seed, frames, steps)
                            for spec, seed in zip(specs, seeds)])
    apply_technique(pipe, row)
    return toy_pipeline.sample(pipe, specs, frames, initial_noise(pipe, row, seeds, frames), steps)


def measure_cell(row: str, frames: int, seeds: int, weights: Path, out: Path, steps: int) -> dict:
    """One cell in this process: sample, time, peak memory, scores; the samples go to out/."""
    from safetensors.torch import save_file

    torch.set_num_threads(2)
    specs = toy_motion.eval_specs(seeds)
    clip_seeds = list(range(seeds))
    with PeakMemory() as memory:
        start = time.perf_counter()
        videos = generate(row, frames, specs, clip_seeds, weights, steps)
        seconds = time.perf_counter() - start
    scores = [metrics.score_clip(v, s) for v, s in zip(videos, specs)]
    out.mkdir(parents=True, exist_ok=True)
    save_file({"latents": videos.float().contiguous()}, str(out / f"{row}_T{frames}.safetensors"))
    result = {"row": row, "frames": frames, "clips": seeds, "steps": steps, "seconds": round(seconds, 2),
              "peak_mib": round(memory.peak_bytes / 2**20, 1), "device": memory.device}
    for column in COLUMNS:
        mean, se = metrics.mean_and_standard_error(getattr(s, column) for s in scores)
        result[column], result[column + "_se"] = mean, se
    result["per_clip"] = {c: [getattr(s, c) for s in scores] for c in COLUMNS}
    return result


def applies(row: str, frames: int) -> bool:
    """Up to the trained length only the naive row and the reference are run: there every technique is
    the stock model (scale 1 positions, one window, no rescheduled noise; the equivalence tests pin it)."""
    return frames > toy_model.TRAINED_FRAMES or row in ("naive", "copy-first")


def cell_text(result: dict, column: str, scale: float = 1.0, digits: int = 2) -> str:
    return f"{result[column] * scale:.{digits}f} ± {result[column + '_se'] * scale:.{digits}f}"


def markdown_table(results: list[dict], lengths) -> str:
    lines = ["| technique | T | trajectory error (px) | disk found (%) | identity drift | flicker | seconds | peak MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row, label in ROWS.items():
        for frames in lengths:
            r = next((x for x in results if x["row"] == row and x["frames"] == frames), None)
            if r is None:
                continue
            lines.append(f"| {label} | {frames} | {cell_text(r, 'trajectory_error')} | "
                         f"{cell_text(r, 'detection_rate', 100, 0)} | {cell_text(r, 'identity_drift')} | "
                         f"{cell_text(r, 'flicker', 1, 3)} | {r['seconds']:.0f} | {r['peak_mib']:.0f} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=SEEDS)
    p.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--steps", type=int, default=toy_pipeline.STEPS, help="Euler steps (SVD's default 25)")
    p.add_argument("--weights", type=Path, default=toy_model.WEIGHTS)
    p.add_argument("--out", type=Path, default=HERE.parents[1] / "out" / "quality")
    p.add_argument("--cell", nargs=2, metavar=("ROW", "FRAMES"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.cell:
        print(json.dumps(measure_cell(args.cell[0], int(args.cell[1]), args.seeds, args.weights, args.out, args.steps)))
        return
    results_path = args.out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else []
    for frames in args.lengths:
        for row in args.rows:
            if not applies(row, frames):
                continue
            result = run_isolated(__file__, ["--cell", row, str(frames), "--seeds", str(args.seeds),
                                             "--weights", str(args.weights), "--out", str(args.out),
                                             "--steps", str(args.steps)])
            results = [r for r in results if (r["row"], r["frames"]) != (row, frames)] + [result]
            results_path.write_text(json.dumps(results, indent=1))
            print(f"{row:18s} T={frames:3d}  error {cell_text(result, 'trajectory_error')} px  found "
                  f"{cell_text(result, 'detection_rate', 100, 0)} %  identity {cell_text(result, 'identity_drift')}  "
                  f"flicker {cell_text(result, 'flicker', 1, 3)}  {result['seconds']:.0f} s  {result['peak_mib']:.0f} MiB",
                  flush=True)
    print(f"\ntoy SVD ({args.weights.name}), {args.seeds} clips per cell, mean ± standard error, device "
          f"{results[0]['device'] if results else '?'}:\n")
    print(markdown_table(results, args.lengths))


if __name__ == "__main__":
    main()
