"""Benchmark: measured quality of every long-video technique on the trained toy SVD (tests/quality).

The toy (diffusers' UNetSpatioTemporalConditionModel, trained at 8 frames on one disk moving with
known velocity on a torus, toy v2) is sampled through the stock diffusers pipeline loop at T = 8, 32
and 64 frames for the same SEEDS clips per cell (same clips and seeds in every row), and every clip
is scored against its ground truth (tests/quality/metrics.py): trajectory error (px), velocity
error (px/frame), motion alive (fraction of frames past the trained length moving at about the true
speed), disk found (%), identity drift, background flicker. Every technique is also reported as a
**paired** difference against the naive row on the same clips (mean ± standard error of the per-clip
difference). Seconds and peak memory are those of one cell (all its clips; batched where the rows
allow), each cell in a fresh process. Rows (names as --rows takes them):
  naive extension; linear / ntk / yarn positions; block and banded windows, each + FreeNoise
  (window 8 = trained length, stride 4); the keyframe hierarchy (8 keyframes at k x speed, then
  pinned interpolation) in segment mode with hint hold and first, and in whole mode; continuation
  (8-frame clips, 4 pinned overlap frames) with hold / first / last hints; and references that are
  not techniques: the same interpolations from the true keyframes (`keyframes-oracle-*`), and
  copying the first frame. At T = 8 only naive runs: there every technique is the stock model.
Per-clip scores of every cell go to tests/quality/results.json ({row: {T: {metric: [per clip]}}})
so every claim can be re-checked paired; --out holds the samples and the timing.
ComfyUI's Context Windows (Manual) needs ComfyUI: see bench_quality_comfy.py.

    .venv/bin/python tests/benchmarks/bench_quality.py [--seeds 16] [--lengths 8 32 64] [--rows naive ...]
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
    "keyframes-segment": "keyframe hierarchy, segment mode, hint hold",
    "keyframes-segment-first": "keyframe hierarchy, segment mode, hint first",
    "keyframes-whole": "keyframe hierarchy, whole mode, hint hold",
    "continuation": "continuation, hold hints",
    "continuation-first": "continuation, every frame hinted by the overlap's first frame",
    "continuation-last": "continuation, every frame hinted by the overlap's last frame",
    "keyframes-oracle-segment": "reference: true keyframes, segment mode, hint hold",
    "keyframes-oracle-segment-first": "reference: true keyframes, segment mode, hint first",
    "keyframes-oracle-whole": "reference: true keyframes, whole mode, hint hold",
    # bidirectional sampling (issue 21), each paired against its forward row
    "keyframes-segment-bidirectional": "keyframe hierarchy, segment mode, bidirectional",
    "keyframes-oracle-segment-bidirectional": "reference: true keyframes, segment mode, bidirectional",
    "keyframes-oracle-segment-hidden": "reference: true keyframes, segment mode, direction hidden (bucket 255)",
    "keyframes-oracle-segment-hidden-bidirectional": "reference: true keyframes, segment mode, direction hidden, "
                                                     "bidirectional",
    "loop-segment": "loop from one image: hierarchy + first keyframe again at the end, forward",
    "loop-segment-bidirectional": "loop from one image: hierarchy + first keyframe again at the end, bidirectional",
    "loop-oracle-segment": "loop, true keyframes + first keyframe again at the end, forward",
    "loop-oracle-segment-bidirectional": "loop, true keyframes + first keyframe again at the end, bidirectional",
    # the toy interpolation LoRA (issue 22), each paired against its untrained row
    "keyframes-segment-lora": "keyframe hierarchy, segment mode, with the toy interpolation LoRA",
    "keyframes-whole-lora": "keyframe hierarchy, whole mode, with the toy interpolation LoRA",
    "keyframes-oracle-segment-lora": "reference: true keyframes, segment mode, with the toy interpolation LoRA",
    "keyframes-oracle-whole-lora": "reference: true keyframes, whole mode, with the toy interpolation LoRA",
    "keyframes-oracle-segment-lora64": "reference: true keyframes, segment mode, with the toy LoRA trained at 64 frames",
    "keyframes-oracle-whole-lora64": "reference: true keyframes, whole mode, with the toy LoRA trained at 64 frames",
    "copy-first": "reference: copy the first frame",
}
# rows that answer "does it help?" against another row than naive: (row, its baseline)
BASELINES = {row: row.replace("-bidirectional", "").replace("-lora64", "").replace("-lora", "") for row in ROWS
             if row.endswith(("-bidirectional", "-lora", "-lora64"))}
TOY_LORAS = {"lora": HERE.parent / "quality" / "toy_interpolation_lora.safetensors",  # 36 frames, keyframes 5 apart
             "lora64": HERE.parent / "quality" / "toy_interpolation_lora_64.safetensors"}  # 64 frames, 9 apart
COLUMNS = ("trajectory_error", "velocity_error", "motion_alive", "detection_rate", "identity_drift", "flicker",
           "seam_error")
PER_CLIP = ("trajectory_error", "velocity_error", "motion_alive", "flicker")
LOOP_PER_CLIP = ("seam_error",)  # loop rows only: velocity error of the step from the last frame back to the first
PAIRED = ("trajectory_error", "velocity_error", "motion_alive")
RESULTS = HERE.parent / "quality" / "results.json"


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


def is_keyframe_row(row: str) -> bool:
    return row.startswith(("keyframes", "loop"))


def row_specs(row: str, specs, frames: int):
    """The clips a row is scored on: the evaluation clips, as the keyframe row changes them (hidden / loop)."""
    if not is_keyframe_row(row):
        return specs
    import keyframe_rows

    return [keyframe_rows.row_spec(spec, keyframe_rows.KeyframeRow.parse(row), frames) for spec in specs]


def generate(row: str, frames: int, specs, seeds, weights: Path, steps: int) -> torch.Tensor:
    if row == "copy-first":
        return torch.stack([toy_motion.render(s, 1).expand(frames, -1, -1, -1) for s in specs])
    pipe = toy_pipeline.build_pipeline(toy_model.load_toy_unet(weights))
    if is_keyframe_row(row):
        import keyframe_rows

        if frames <= toy_model.TRAINED_FRAMES:
            raise ValueError("the keyframe rows need more frames than the trained length")
        settings = keyframe_rows.KeyframeRow.parse(row)
        lora = TOY_LORAS[settings.lora] if settings.lora else None
        return torch.stack([keyframe_rows.keyframe_hierarchy(pipe, spec, seed, frames, settings, steps, lora)
                            for spec, seed in zip(specs, seeds)])
    if row.startswith("continuation"):
        import continuation_rows

        hints = row.split("-")[1] if "-" in row else "hold"
        return torch.stack([continuation_rows.continued_video(pipe, spec, seed, frames, steps, hints=hints)
                            for spec, seed in zip(specs, seeds)])
    apply_technique(pipe, row)
    return toy_pipeline.sample(pipe, specs, frames, initial_noise(pipe, row, seeds, frames), steps)


def measure_cell(row: str, frames: int, seeds: int, weights: Path, out: Path, steps: int, threads: int = 2) -> dict:
    """One cell in this process: sample, time, peak memory, scores; the samples go to out/."""
    from safetensors.torch import save_file

    torch.set_num_threads(threads)
    specs = row_specs(row, toy_motion.eval_specs(seeds), frames)
    clip_seeds = list(range(seeds))
    with PeakMemory() as memory:
        start = time.perf_counter()
        videos = generate(row, frames, specs, clip_seeds, weights, steps)
        seconds = time.perf_counter() - start
    scores = [metrics.score_clip(v, s, loop=row.startswith("loop")) for v, s in zip(videos, specs)]
    out.mkdir(parents=True, exist_ok=True)
    save_file({"latents": videos.float().contiguous()}, str(out / f"{row}_T{frames}.safetensors"))
    result = {"row": row, "frames": frames, "clips": seeds, "steps": steps, "seconds": round(seconds, 2),
              "peak_mib": round(memory.peak_bytes / 2**20, 1), "device": memory.device}
    for column in COLUMNS:
        mean, se = nan_mean_and_standard_error(getattr(s, column) for s in scores)
        result[column], result[column + "_se"] = mean, se
    result["per_clip"] = {c: [getattr(s, c) for s in scores] for c in COLUMNS}
    return result


def nan_mean_and_standard_error(values) -> tuple[float, float]:
    """Mean ± standard error over the values that exist (motion alive is nan at T <= the trained length)."""
    present = [v for v in values if v == v]
    return metrics.mean_and_standard_error(present) if present else (float("nan"), float("nan"))


def applies(row: str, frames: int) -> bool:
    """Up to the trained length only the naive row and the reference are run: there every technique is
    the stock model (scale 1 positions, one window, no rescheduled noise; the equivalence tests pin it)."""
    return frames > toy_model.TRAINED_FRAMES or row in ("naive", "copy-first")


def cell_text(mean: float, se: float, scale: float = 1.0, digits: int = 2, sign: bool = False) -> str:
    if mean != mean:
        return "-"
    return f"{mean * scale:{'+' if sign else ''}.{digits}f} ± {se * scale:.{digits}f}"


def own(result: dict, column: str, scale: float = 1.0, digits: int = 2) -> str:
    nan = float("nan")  # a column measured after the cell was (seam error) reads as not measured
    return cell_text(result.get(column, nan), result.get(column + "_se", nan), scale, digits)


def paired(result: dict, naive: dict | None, column: str, scale: float = 1.0, digits: int = 2) -> str:
    """The per-clip difference against naive on the same clips, or '-' (naive itself, or naive not run)."""
    if naive is None or result is naive:
        return "-"
    pairs = [(a, b) for a, b in zip(result["per_clip"].get(column, []), naive["per_clip"].get(column, []))
             if a == a and b == b]
    if len(pairs) < 2:
        return "-"
    mean, se = metrics.paired_difference([a for a, _ in pairs], [b for _, b in pairs])
    return cell_text(mean, se, scale, digits, sign=True)


def markdown_table(results: list[dict], lengths) -> str:
    lines = ["| technique | T | trajectory error (px) | Δ vs naive | velocity error (px/frame) | Δ vs naive | "
             "motion alive (%) | Δ vs naive | disk found (%) | identity drift | flicker | seconds | peak MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row, label in ROWS.items():
        for frames in lengths:
            r = find(results, row, frames)
            if r is None:
                continue
            naive = find(results, "naive", frames)
            lines.append(f"| {label} | {frames} | {own(r, 'trajectory_error')} | {paired(r, naive, 'trajectory_error')} | "
                         f"{own(r, 'velocity_error')} | {paired(r, naive, 'velocity_error')} | "
                         f"{own(r, 'motion_alive', 100, 0)} | {paired(r, naive, 'motion_alive', 100, 0)} | "
                         f"{own(r, 'detection_rate', 100, 0)} | {own(r, 'identity_drift')} | "
                         f"{own(r, 'flicker', 1, 3)} | {r['seconds']:.0f} | {r['peak_mib']:.0f} |")
    return "\n".join(lines)


def baseline_table(results: list[dict], lengths) -> str:
    """Rows that answer "does it help?" (bidirectional, LoRA), each paired against its own baseline row."""
    lines = ["| row | against | T | trajectory error (px) | Δ | velocity error (px/frame) | Δ | motion alive (%) | Δ | "
             "seam error (px) | Δ | seconds |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row, baseline_row in BASELINES.items():
        for frames in lengths:
            r, baseline = find(results, row, frames), find(results, baseline_row, frames)
            if r is None or baseline is None:
                continue
            cells = []
            for column, scale, digits in (("trajectory_error", 1, 2), ("velocity_error", 1, 2), ("motion_alive", 100, 0),
                                          ("seam_error", 1, 2)):
                cells += [own(r, column, scale, digits), paired(r, baseline, column, scale, digits)]
            lines.append(f"| {row} | {baseline_row} | {frames} | {' | '.join(cells)} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def find(results: list[dict], row: str, frames: int) -> dict | None:
    return next((x for x in results if x["row"] == row and x["frames"] == frames), None)


def per_clip_file(results: list[dict]) -> dict:
    """{row: {T: {metric: [per clip]}}}: what tests/quality/results.json holds (rows in table order)."""
    out: dict = {}
    for row in ROWS:
        for r in sorted((x for x in results if x["row"] == row), key=lambda x: x["frames"]):
            columns = PER_CLIP + (LOOP_PER_CLIP if row.startswith("loop") else ())
            out.setdefault(row, {})[str(r["frames"])] = {c: [round(v, 5) if v == v else None for v in r["per_clip"][c]]
                                                         for c in columns}
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=SEEDS)
    p.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--steps", type=int, default=toy_pipeline.STEPS, help="Euler steps (SVD's default 25)")
    p.add_argument("--weights", type=Path, default=toy_model.WEIGHTS)
    p.add_argument("--out", type=Path, default=HERE.parents[1] / "out" / "quality")
    p.add_argument("--per-clip", type=Path, default=RESULTS,
                   help="where the per-clip scores go (committed: tests/quality/results.json)")
    p.add_argument("--merge", type=Path, nargs="+", default=None, metavar="DIR",
                   help="measure nothing: join the results.json of several --out folders (runs split over cores), "
                        "write the per-clip file and print the table")
    p.add_argument("--threads", type=int, default=2, help="torch threads per cell (1 when the cell is pinned to one core)")
    p.add_argument("--cell", nargs=2, metavar=("ROW", "FRAMES"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.cell:
        print(json.dumps(measure_cell(args.cell[0], int(args.cell[1]), args.seeds, args.weights, args.out, args.steps,
                                      args.threads)))
        return
    if args.merge:
        results = []
        for folder in args.merge:
            for r in json.loads((folder / "results.json").read_text()):
                results = [x for x in results if (x["row"], x["frames"]) != (r["row"], r["frames"])] + [r]
        args.per_clip.write_text(json.dumps(per_clip_file(results), indent=1) + "\n")
        lengths = sorted({r["frames"] for r in results})
        print(markdown_table(results, lengths) + "\n\n" + baseline_table(results, lengths))
        return
    results_path = args.out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else []
    for frames in args.lengths:
        for row in args.rows:
            if not applies(row, frames):
                continue
            result = run_isolated(__file__, ["--cell", row, str(frames), "--seeds", str(args.seeds),
                                             "--weights", str(args.weights), "--out", str(args.out),
                                             "--steps", str(args.steps), "--threads", str(args.threads)])
            results = [r for r in results if (r["row"], r["frames"]) != (row, frames)] + [result]
            results_path.write_text(json.dumps(results, indent=1))
            if args.per_clip:
                args.per_clip.write_text(json.dumps(per_clip_file(results), indent=1) + "\n")
            print(f"{row:18s} T={frames:3d}  error {own(result, 'trajectory_error')} px  velocity "
                  f"{own(result, 'velocity_error')} px/frame  alive {own(result, 'motion_alive', 100, 0)} %  found "
                  f"{own(result, 'detection_rate', 100, 0)} %  {result['seconds']:.0f} s  {result['peak_mib']:.0f} MiB",
                  flush=True)
    print(f"\ntoy SVD ({args.weights.name}), {args.seeds} clips per cell, mean ± standard error; Δ: paired "
          f"difference against naive on the same clips (mean ± standard error of the per-clip difference), device "
          f"{results[0]['device'] if results else '?'}:\n")
    print(markdown_table(results, args.lengths) + "\n\n" + baseline_table(results, args.lengths))


if __name__ == "__main__":
    main()
