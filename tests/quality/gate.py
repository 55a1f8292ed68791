"""The gate: at the trained length (T = 8) the toy must clearly beat copying the first frame.

Pass = mean disk-centre error below half of the copy-first-frame baseline's on the same clips,
with the disk found in >= 95 % of the frames (a missed disk counts as the largest possible error).
Sampled through the stock diffusers pipeline loop (toy_pipeline), 25 Euler steps, no CFG.

    python tests/quality/gate.py [--weights tests/quality/toy_svd/diffusion_pytorch_model.safetensors]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics
import toy_model
import toy_motion
import toy_pipeline

GATE_FRAMES = 8
GATE_CLIPS = 32
GATE_SEED = 1234  # toy_motion.eval_specs' default: the same clips the quality table uses


def copy_first_frame(specs, frames: int) -> list[torch.Tensor]:
    return [toy_motion.render(s, 1).expand(frames, -1, -1, -1) for s in specs]


def summarise(scores) -> dict:
    out = {}
    for field in ("trajectory_error", "detection_rate", "identity_drift", "flicker"):
        mean, se = metrics.mean_and_standard_error(getattr(s, field) for s in scores)
        out[field] = round(mean, 4)
        out[field + "_se"] = round(se, 4)
    return out


def gate_sheet(samples, specs, path: Path, clips: int = 3) -> None:
    """Truth above the model for the first clips (white dots: true centres)."""
    from PIL import Image

    import contact_sheet

    sheets = [contact_sheet.contact_sheet([(f"truth fps {s.fps} mb {s.motion_bucket_id}", toy_motion.render(s, GATE_FRAMES)),
                                           ("toy", x)], s, GATE_FRAMES) for x, s in zip(samples[:clips], specs[:clips])]
    out = Image.new("RGB", (sheets[0].width, sum(im.height for im in sheets)), "white")
    for i, im in enumerate(sheets):
        out.paste(im, (0, sum(o.height for o in sheets[:i])))
    out.save(path)


def run_gate(unet, clips: int = GATE_CLIPS, steps: int = toy_pipeline.STEPS, batch: int = 16,
             sheet: Path | None = None) -> dict:
    specs = toy_motion.eval_specs(clips, GATE_SEED)
    pipe = toy_pipeline.build_pipeline(unet)
    start = time.time()
    samples = []
    for i in range(0, clips, batch):
        chunk = specs[i:i + batch]
        noise = toy_pipeline.initial_noise(range(i, i + len(chunk)), GATE_FRAMES)
        samples.extend(toy_pipeline.sample(pipe, chunk, GATE_FRAMES, noise, steps=steps))
    seconds = time.time() - start
    if sheet:
        gate_sheet(samples, specs, sheet)
    model = summarise([metrics.score_clip(x, s) for x, s in zip(samples, specs)])
    baseline = summarise([metrics.score_clip(x, s) for x, s in zip(copy_first_frame(specs, GATE_FRAMES), specs)])
    passed = model["trajectory_error"] < 0.5 * baseline["trajectory_error"] and model["detection_rate"] >= 0.95
    return {"frames": GATE_FRAMES, "clips": clips, "steps": steps, "seconds": round(seconds, 1),
            "model": model, "copy_first_frame": baseline, "passed": bool(passed)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=toy_model.WEIGHTS)
    p.add_argument("--clips", type=int, default=GATE_CLIPS)
    p.add_argument("--steps", type=int, default=toy_pipeline.STEPS)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sheet", type=Path, help="also write a contact sheet (truth / toy) of the first clips")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = run_gate(toy_model.load_toy_unet(args.weights), args.clips, args.steps, sheet=args.sheet)
    m, b = result["model"], result["copy_first_frame"]
    print(f"gate at T={GATE_FRAMES}, {args.clips} clips: centre error {m['trajectory_error']:.2f} "
          f"+- {m['trajectory_error_se']:.2f} px vs copy-first-frame {b['trajectory_error']:.2f} "
          f"+- {b['trajectory_error_se']:.2f} px (needs < {0.5 * b['trajectory_error']:.2f}); disk found in "
          f"{100 * m['detection_rate']:.1f} % of frames (needs >= 95 %): {'PASS' if result['passed'] else 'FAIL'}")
    print(json.dumps(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
